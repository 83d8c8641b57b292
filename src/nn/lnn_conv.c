/* lnn_conv.c - Lua binding for 2-d convolution: forward, backward (per-sample too), reference. */
#include "nn/lnn.h"
#include "nn/nn_conv.h"

/* geo = {stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups} */
static NnConv2d check_geo(lua_State *L, int arg, const char *fname) {
  NnConv2d c;
  c.stride[0] = lnn_geti(L, arg, 1, fname, 1);
  c.stride[1] = lnn_geti(L, arg, 2, fname, 1);
  c.pad[0] = lnn_geti(L, arg, 3, fname, 0);
  c.pad[1] = lnn_geti(L, arg, 4, fname, 0);
  c.dil[0] = lnn_geti(L, arg, 5, fname, 1);
  c.dil[1] = lnn_geti(L, arg, 6, fname, 1);
  c.groups = lnn_geti(L, arg, 7, fname, 1);
  return c;
}

/* Raises a message with the shapes when x, w, b do not make a convolution. */
static void check_args(lua_State *L, const char *fname, const NnConv2d *c, const Tensor *x,
                       const Tensor *w, const Tensor *b) {
  char b1[64], b2[64];
  if (x->ndim != 4)
    ltL_argerror(L, 1, fname, "input must be [B x C x H x W], got %s",
                 ltL_shape_of(x, b1, sizeof b1));
  if (w->ndim != 4)
    ltL_argerror(L, 2, fname, "weight must be [O x C/groups x KH x KW], got %s",
                 ltL_shape_of(w, b1, sizeof b1));
  lnn_check_dtype(L, 2, fname, "weight", w, x->dtype);
  if (x->shape[1] % c->groups || w->shape[0] % c->groups || w->shape[1] * c->groups != x->shape[1])
    ltL_argerror(L, 1, fname, "input %s has %lld channels, weight %s with %lld groups expects %lld",
                 ltL_shape_of(x, b1, sizeof b1), (long long)x->shape[1],
                 ltL_shape_of(w, b2, sizeof b2), (long long)c->groups,
                 (long long)(w->shape[1] * c->groups));
  for (int a = 0; a < 2; a++)
    if (nn_conv2d_out_size(x->shape[2 + a], w->shape[2 + a], c->stride[a], c->pad[a], c->dil[a]) <
        1)
      ltL_argerror(L, 1, fname,
                   "input %s is smaller than the kernel %s (padding %lld, dilation %lld)",
                   ltL_shape_of(x, b1, sizeof b1), ltL_shape_of(w, b2, sizeof b2),
                   (long long)c->pad[a], (long long)c->dil[a]);
  if (b) {
    lnn_check_dtype(L, 3, fname, "bias", b, x->dtype);
    lnn_check_numel(L, 3, fname, "bias", b, w->shape[0]);
  }
}

/* y's size from nn_conv2d_out_size, the function the kernel checks y against. */
static Tensor *push_output(lua_State *L, const NnConv2d *c, const Tensor *x, const Tensor *w) {
  int64_t shape[4] = {
      x->shape[0], w->shape[0],
      nn_conv2d_out_size(x->shape[2], w->shape[2], c->stride[0], c->pad[0], c->dil[0]),
      nn_conv2d_out_size(x->shape[3], w->shape[3], c->stride[1], c->pad[1], c->dil[1])};
  return ltL_push_new(L, x->dtype, 4, shape);
}

/* conv2d_forward(x, w, b|nil, geo) -> y */
static int l_conv2d_forward(lua_State *L) {
  const char *fname = "conv2d";
  Tensor *x = lnn_check_float(L, 1, fname, "input");
  Tensor *w = lnn_check_float(L, 2, fname, "weight");
  Tensor *b = lnn_opt_float(L, 3, fname, "bias");
  NnConv2d c = check_geo(L, 4, fname);
  check_args(L, fname, &c, x, w, b);
  Tensor *y = push_output(L, &c, x, w);
  /* Enough scratch for a chunk of samples within the budget; the kernel walks the batch through
   * it. */
  NnScratch s =
      lnn_scratch(L, lnn_chunk_bytes(x->shape[0], nn_conv2d_scratch_per_sample(&c, x, w)));
  lnn_status(L, nn_conv2d_forward(&c, y, x, w, b, &s), fname);
  return 1;
}

/* conv2d_backward(dy, x, w, geo, gw|nil, gb|nil, need_dx, psg|nil, woff|nil, boff|nil) -> dx|nil */
static int l_conv2d_backward(lua_State *L) {
  const char *fname = "conv2d_backward";
  Tensor *dy = lnn_check_float(L, 1, fname, "grad_output");
  Tensor *x = lnn_check_float(L, 2, fname, "input");
  Tensor *w = lnn_check_float(L, 3, fname, "weight");
  NnConv2d c = check_geo(L, 4, fname);
  Tensor *gw = lnn_opt_float_out(L, 5, fname, "weight grad");
  Tensor *gb = lnn_opt_float_out(L, 6, fname, "bias grad");
  int need_dx = lua_toboolean(L, 7);
  check_args(L, fname, &c, x, w, NULL);
  if (gw) {
    lnn_check_dtype(L, 5, fname, "weight grad", gw, x->dtype);
    lnn_check_numel(L, 5, fname, "weight grad", gw, lt_numel(w));
  }
  if (gb) {
    lnn_check_dtype(L, 6, fname, "bias grad", gb, x->dtype);
    lnn_check_numel(L, 6, fname, "bias grad", gb, w->shape[0]);
  }
  NnPsg ps;
  NnPsg *p = lnn_check_psg(L, 8, fname, &ps, x->shape[0], x->dtype);
  NnPsgOffsets off = lnn_check_offsets(L, 9, 10, fname);
  Tensor gwv, *gwp = NULL;
  /* gw may be any shape with w's numel: the kernel sees it as a view of w's shape. */
  if (gw) {
    gwv = *gw;
    gwv.ndim = 4;
    for (int d = 0; d < 4; d++) gwv.shape[d] = w->shape[d];
    lt_contiguous_strides(4, gwv.shape, gwv.stride);
    gwp = &gwv;
  }
  Tensor *dx = need_dx ? lnn_push_zeros(L, x->dtype, 4, x->shape) : NULL;
  /* Scratch: the per-sample pass's fixed bytes (ghost Grams) once, then chunks of the forward's
   * and the per-sample pass's bytes. */
  size_t fixed = 0, per = nn_conv2d_scratch_per_sample(&c, x, w) +
                          (p ? nn_conv2d_psg_scratch(&c, p, x, w, off, &fixed) : 0);
  NnScratch s = lnn_scratch(L, fixed + lnn_chunk_bytes(x->shape[0], per));
  LtStatus st = nn_conv2d_backward(&c, dx, gwp, gb, dy, x, w, &s, p, off);
  /* x and w passed check_args, so a shape error now can only be dy's. */
  if (st == LT_ESHAPE) {
    char b1[64], b2[64];
    ltL_argerror(L, 1, fname, "grad_output %s does not match the output of input %s",
                 ltL_shape_of(dy, b1, sizeof b1), ltL_shape_of(x, b2, sizeof b2));
  }
  lnn_status(L, st, fname);
  if (!dx) lua_pushnil(L);
  return 1;
}

/* conv2d_forward_ref(x, w, b|nil, geo) -> y (float64 only) */
static int l_conv2d_forward_ref(lua_State *L) {
  const char *fname = "conv2d_ref";
  Tensor *x = lnn_check_float(L, 1, fname, "input");
  Tensor *w = lnn_check_float(L, 2, fname, "weight");
  Tensor *b = lnn_opt_float(L, 3, fname, "bias");
  NnConv2d c = check_geo(L, 4, fname);
  check_args(L, fname, &c, x, w, b);
  lnn_check_dtype(L, 1, fname, "input", x, LT_F64);
  Tensor *y = push_output(L, &c, x, w);
  lnn_status(L, nn_conv2d_forward_ref(&c, y, x, w, b), fname);
  return 1;
}

/* conv2d_backward_ref(dy, x, w, geo, gw|nil, gb|nil) -> dx */
static int l_conv2d_backward_ref(lua_State *L) {
  const char *fname = "conv2d_backward_ref";
  Tensor *dy = lnn_check_float(L, 1, fname, "grad_output");
  Tensor *x = lnn_check_float(L, 2, fname, "input");
  Tensor *w = lnn_check_float(L, 3, fname, "weight");
  NnConv2d c = check_geo(L, 4, fname);
  Tensor *gw = lnn_opt_float_out(L, 5, fname, "weight grad");
  Tensor *gb = lnn_opt_float_out(L, 6, fname, "bias grad");
  check_args(L, fname, &c, x, w, NULL);
  lnn_check_dtype(L, 2, fname, "input", x, LT_F64);
  Tensor *dx = lnn_push_zeros(L, x->dtype, 4, x->shape);
  lnn_status(L, nn_conv2d_backward_ref(&c, dx, gw, gb, dy, x, w), fname);
  return 1;
}

static const luaL_Reg fns[] = {{"conv2d_forward", l_conv2d_forward},
                               {"conv2d_backward", l_conv2d_backward},
                               {"conv2d_forward_ref", l_conv2d_forward_ref},
                               {"conv2d_backward_ref", l_conv2d_backward_ref},
                               {NULL, NULL}};

/* A part of lunette._nn (src/lunette.c lists every part): the convolution kernels. */
int luaopen_lunette_nn_conv(lua_State *L);
int luaopen_lunette_nn_conv(lua_State *L) {
  luaL_newlib(L, fns);
  return 1;
}
