/* lnn_pool.c - Lua binding for max, average and adaptive average pooling. */
#include "nn/lnn.h"
#include "nn/nn_pool.h"

/* geo = {kh, kw, sh, sw, ph, pw, dh, dw, ceil_mode, count_include_pad}, the flags as 0/1. */
static NnPool2d check_geo(lua_State *L, int arg, const char *fname) {
  NnPool2d p;
  for (int a = 0; a < 2; a++) {
    p.kernel[a] = lnn_geti(L, arg, 1 + a, fname, 1);
    p.stride[a] = lnn_geti(L, arg, 3 + a, fname, 1);
    p.pad[a] = lnn_geti(L, arg, 5 + a, fname, 0);
    p.dil[a] = lnn_geti(L, arg, 7 + a, fname, 1);
  }
  p.ceil_mode = (int)lnn_geti(L, arg, 9, fname, 0);
  p.count_include_pad = (int)lnn_geti(L, arg, 10, fname, 0);
  return p;
}

static Tensor *check_input(lua_State *L, int arg, const char *fname) {
  Tensor *x = lnn_check_float(L, arg, fname, "input");
  char b[64];
  if (x->ndim != 4)
    ltL_argerror(L, arg, fname, "input must be [B x C x H x W], got %s",
                 ltL_shape_of(x, b, sizeof b));
  return x;
}

static Tensor *push_pooled(lua_State *L, const char *fname, const NnPool2d *p, const Tensor *x) {
  int64_t shape[4] = {x->shape[0], x->shape[1], 0, 0};
  char b[64];
  for (int a = 0; a < 2; a++) {
    shape[2 + a] = nn_pool_out_size(x->shape[2 + a], p->kernel[a], p->stride[a], p->pad[a],
                                    p->dil[a], p->ceil_mode);
    if (shape[2 + a] < 1)
      ltL_argerror(L, 1, fname,
                   "input %s does not fit a %lldx%lld window with padding %lld (padding must be at "
                   "most half the window)",
                   ltL_shape_of(x, b, sizeof b), (long long)p->kernel[0], (long long)p->kernel[1],
                   (long long)p->pad[a]);
  }
  return ltL_push_new(L, x->dtype, 4, shape);
}

/* maxpool2d_forward(x, geo) -> y, idx */
static int l_maxpool2d_forward(lua_State *L) {
  const char *fname = "max_pool2d";
  Tensor *x = check_input(L, 1, fname);
  NnPool2d p = check_geo(L, 2, fname);
  Tensor *y = push_pooled(L, fname, &p, x);
  Tensor *idx = ltL_push_new(L, LT_I64, 4, y->shape);
  lnn_status(L, nn_maxpool2d_forward(&p, y, idx, x), fname);
  return 2;
}

/* maxpool2d_backward(dy, idx, x) -> dx (x gives the input shape) */
static int l_maxpool2d_backward(lua_State *L) {
  const char *fname = "max_pool2d_backward";
  Tensor *dy = lnn_check_float(L, 1, fname, "grad_output");
  Tensor *idx = ltL_check_tensor(L, 2, fname);
  Tensor *x = check_input(L, 3, fname);
  /* x gives only dx's shape; the kernel checks idx (dtype, size, every index inside its plane). */
  Tensor *dx = lnn_push_zeros(L, x->dtype, 4, x->shape);
  lnn_status(L, nn_maxpool2d_backward(dx, dy, idx), fname);
  return 1;
}

/* avgpool2d_forward(x, geo) -> y */
static int l_avgpool2d_forward(lua_State *L) {
  const char *fname = "avg_pool2d";
  Tensor *x = check_input(L, 1, fname);
  NnPool2d p = check_geo(L, 2, fname);
  Tensor *y = push_pooled(L, fname, &p, x);
  lnn_status(L, nn_avgpool2d_forward(&p, y, x), fname);
  return 1;
}

/* avgpool2d_backward(dy, x, geo) -> dx */
static int l_avgpool2d_backward(lua_State *L) {
  const char *fname = "avg_pool2d_backward";
  Tensor *dy = lnn_check_float(L, 1, fname, "grad_output");
  Tensor *x = check_input(L, 2, fname);
  NnPool2d p = check_geo(L, 3, fname);
  Tensor *dx = lnn_push_zeros(L, x->dtype, 4, x->shape);
  lnn_status(L, nn_avgpool2d_backward(&p, dx, dy), fname);
  return 1;
}

/* adaptive_avgpool2d_forward(x, oh, ow) -> y */
static int l_adaptive_forward(lua_State *L) {
  const char *fname = "adaptive_avg_pool2d";
  Tensor *x = check_input(L, 1, fname);
  int64_t shape[4] = {x->shape[0], x->shape[1], ltL_check_int(L, 2, fname, "output height"),
                      ltL_check_int(L, 3, fname, "output width")};
  if (shape[2] < 1 || shape[3] < 1)
    return ltL_argerror(L, 2, fname, "output size must be positive");
  /* The output size is the user's: checked against the tensor size limit with a message naming
   * #2. */
  Tensor *y = ltL_push_new_arg(L, 2, fname, x->dtype, 4, shape);
  lnn_status(L, nn_adaptive_avgpool2d_forward(y, x), fname);
  return 1;
}

/* adaptive_avgpool2d_backward(dy, x) -> dx */
static int l_adaptive_backward(lua_State *L) {
  const char *fname = "adaptive_avg_pool2d_backward";
  Tensor *dy = lnn_check_float(L, 1, fname, "grad_output");
  Tensor *x = check_input(L, 2, fname);
  Tensor *dx = lnn_push_zeros(L, x->dtype, 4, x->shape);
  lnn_status(L, nn_adaptive_avgpool2d_backward(dx, dy), fname);
  return 1;
}

static const luaL_Reg fns[] = {{"maxpool2d_forward", l_maxpool2d_forward},
                               {"maxpool2d_backward", l_maxpool2d_backward},
                               {"avgpool2d_forward", l_avgpool2d_forward},
                               {"avgpool2d_backward", l_avgpool2d_backward},
                               {"adaptive_avgpool2d_forward", l_adaptive_forward},
                               {"adaptive_avgpool2d_backward", l_adaptive_backward},
                               {NULL, NULL}};

/* A part of lunette._nn (src/lunette.c lists every part): the pooling kernels. */
int luaopen_lunette_nn_pool(lua_State *L);
int luaopen_lunette_nn_pool(lua_State *L) {
  luaL_newlib(L, fns);
  return 1;
}
