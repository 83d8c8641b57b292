/* lnn_act.c - Lua binding for activations and softmax: forward and backward. */
#include <string.h>
#include "nn/lnn.h"
#include "nn/nn_act.h"

/* By name, against nn_act_name's table: the one list of activations. */
static NnAct check_act(lua_State *L, int arg, const char *fname) {
  const char *name = luaL_checkstring(L, arg);
  for (int a = 0; a < NN_NACT; a++)
    if (strcmp(name, nn_act_name((NnAct)a)) == 0) return (NnAct)a;
  ltL_argerror(L, arg, fname, "unknown activation '%s'", name);
  return NN_NACT;
}

/* act_forward(name, x) -> y */
static int l_act_forward(lua_State *L) {
  NnAct a = check_act(L, 1, "activation");
  Tensor *x = lnn_check_float(L, 2, nn_act_name(a), "input");
  Tensor *y = ltL_push_new(L, x->dtype, x->ndim, x->shape);
  lnn_status(L, nn_act_forward(a, y, x), nn_act_name(a));
  return 1;
}

/* act_backward(name, dy, x, y) -> dx */
static int l_act_backward(lua_State *L) {
  NnAct a = check_act(L, 1, "activation_backward");
  const char *fname = nn_act_name(a);
  Tensor *dy = lnn_check_float(L, 2, fname, "grad_output");
  Tensor *x = lnn_check_float(L, 3, fname, "input");
  Tensor *y = lnn_check_float(L, 4, fname, "output");
  lnn_check_numel(L, 2, fname, "grad_output", dy, lt_numel(x));
  lnn_check_dtype(L, 2, fname, "grad_output", dy, x->dtype);
  Tensor *dx = ltL_push_new(L, x->dtype, x->ndim, x->shape);
  lnn_status(L, nn_act_backward(a, dx, dy, x, y, 0), fname);
  return 1;
}

/* Softmax runs over the last dim: any tensor as [numel / C x C] rows (none when C = 0). */
static Tensor rows_of(const Tensor *t) {
  Tensor v = *t;
  int64_t c = t->ndim ? t->shape[t->ndim - 1] : 1;
  v.ndim = 2;
  v.shape[1] = c;
  v.shape[0] = c ? lt_numel(t) / c : 0;
  lt_contiguous_strides(2, v.shape, v.stride);
  return v;
}

/* softmax_forward(x, log) -> y over the last dim */
static int l_softmax_forward(lua_State *L) {
  int logmode = lua_toboolean(L, 2);
  const char *fname = logmode ? "log_softmax" : "softmax";
  Tensor *x = lnn_check_float(L, 1, fname, "input");
  if (x->ndim < 1) return ltL_argerror(L, 1, fname, "input must have at least 1 dim");
  Tensor *y = ltL_push_new(L, x->dtype, x->ndim, x->shape);
  Tensor xv = rows_of(x), yv = rows_of(y);
  lnn_status(L, nn_softmax_forward(&yv, &xv, logmode), fname);
  return 1;
}

/* softmax_backward(dy, y, log) -> dx */
static int l_softmax_backward(lua_State *L) {
  int logmode = lua_toboolean(L, 3);
  const char *fname = logmode ? "log_softmax_backward" : "softmax_backward";
  Tensor *dy = lnn_check_float(L, 1, fname, "grad_output");
  Tensor *y = lnn_check_float(L, 2, fname, "output");
  lnn_check_numel(L, 1, fname, "grad_output", dy, lt_numel(y));
  lnn_check_dtype(L, 1, fname, "grad_output", dy, y->dtype);
  if (y->ndim < 1) return ltL_argerror(L, 2, fname, "output must have at least 1 dim");
  Tensor *dx = ltL_push_new(L, y->dtype, y->ndim, y->shape);
  Tensor dyv = rows_of(dy), yv = rows_of(y), dxv = rows_of(dx);
  lnn_status(L, nn_softmax_backward(&dxv, &dyv, &yv, logmode, 0), fname);
  return 1;
}

static const luaL_Reg fns[] = {{"act_forward", l_act_forward},
                               {"act_backward", l_act_backward},
                               {"softmax_forward", l_softmax_forward},
                               {"softmax_backward", l_softmax_backward},
                               {NULL, NULL}};

/* A part of lunette._nn (src/lunette.c lists every part): the activation kernels. */
int luaopen_lunette_nn_act(lua_State *L);
int luaopen_lunette_nn_act(lua_State *L) {
  luaL_newlib(L, fns);
  return 1;
}
