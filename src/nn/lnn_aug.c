/* lnn_aug.c - Lua binding for crop-with-padding and horizontal-flip of image batches. */
#include "nn/lnn.h"
#include "nn/nn_aug.h"

/* The 1-d tensor at arg as a contiguous int64 copy of n values: offsets may come as any integer
 * or float tensor, or a view, and the kernel reads dense int64. */
static Tensor *push_i64(lua_State *L, int arg, const char *fname, const char *what, int64_t n) {
  Tensor *t = ltL_check_tensor(L, arg, fname);
  if (t->ndim != 1 || t->shape[0] != n)
    ltL_argerror(L, arg, fname, "%s must hold %lld values", what, (long long)n);
  Tensor *c = ltL_push_new(L, LT_I64, 1, &n);
  ltL_check_status(L, lt_copy(c, t), fname);
  return c;
}

/* augment_crop_flip(x, pad, oy, ox, flip|nil) -> y; offsets 0..2*pad */
static int l_augment_crop_flip(lua_State *L) {
  const char *fname = "augment";
  Tensor *x = ltL_check_tensor(L, 1, fname);
  char b[64];
  if (x->ndim != 4)
    return ltL_argerror(L, 1, fname, "images must be [B x C x H x W], got %s",
                        ltL_shape_of(x, b, sizeof b));
  if (!lt_is_contiguous(x)) {
    ltL_push_contiguous(L, 1);
    lua_replace(L, 1);
    x = ltL_totensor(L, 1);
  }
  int64_t pad = ltL_check_int(L, 2, fname, "padding"), B = x->shape[0];
  if (pad < 0) return ltL_argerror(L, 2, fname, "padding must be >= 0");
  Tensor *oy = push_i64(L, 3, fname, "row offsets", B);
  Tensor *ox = push_i64(L, 4, fname, "column offsets", B);
  Tensor *fl = NULL;
  if (!lua_isnoneornil(L, 5)) {
    Tensor *f = ltL_check_tensor(L, 5, fname);
    if (f->ndim != 1 || f->shape[0] != B)
      return ltL_argerror(L, 5, fname, "flips must hold %lld values", (long long)B);
    /* Any dtype of flags works: copied to uint8, nonzero means flip. */
    fl = ltL_push_new(L, LT_U8, 1, &B);
    ltL_check_status(L, lt_copy(fl, f), fname);
  }
  Tensor *y = ltL_push_new(L, x->dtype, 4, x->shape);
  LtStatus st = nn_augment_crop_flip(y, x, pad, oy->data, ox->data, fl ? fl->data : NULL);
  /* An offset out of range is an error of the offsets (#3), not of the images. */
  if (st == LT_ERANGE)
    return ltL_argerror(L, 3, fname, "offsets must be in 0..%lld", (long long)(2 * pad));
  lnn_status(L, st, fname);
  return 1;
}

static const luaL_Reg fns[] = {{"augment_crop_flip", l_augment_crop_flip}, {NULL, NULL}};

/* A part of lunette._nn (src/lunette.c lists every part): the augmentation kernels. */
int luaopen_lunette_nn_aug(lua_State *L);
int luaopen_lunette_nn_aug(lua_State *L) {
  luaL_newlib(L, fns);
  return 1;
}
