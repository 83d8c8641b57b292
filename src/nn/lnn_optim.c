/* lnn_optim.c - Lua binding for the fused SGD and Adam/AdamW updates. */
#include "nn/lnn.h"
#include "nn/nn_optim.h"

static void check_like(lua_State *L, int arg, const char *fname, const char *what, const Tensor *t,
                       const Tensor *p) {
  if (!t) return;
  lnn_check_dtype(L, arg, fname, what, t, p->dtype);
  lnn_check_numel(L, arg, fname, what, t, lt_numel(p));
}

/* sgd_step(p, g, buf|nil, first, lr, momentum, dampening, weight_decay, nesterov) */
static int l_sgd_step(lua_State *L) {
  const char *fname = "sgd_step";
  Tensor *p = lnn_check_float_out(L, 1, fname, "parameter");
  Tensor *g = lnn_check_float(L, 2, fname, "gradient");
  Tensor *buf = lnn_opt_float_out(L, 3, fname, "momentum buffer");
  int first = lua_toboolean(L, 4);
  NnSgd o = {luaL_checknumber(L, 5), luaL_optnumber(L, 6, 0), luaL_optnumber(L, 7, 0),
             luaL_optnumber(L, 8, 0), lua_toboolean(L, 9)};
  check_like(L, 2, fname, "gradient", g, p);
  check_like(L, 3, fname, "momentum buffer", buf, p);
  /* At momentum 0 a buffer is ignored: torch keeps none then. */
  if (o.momentum != 0 && !buf) return ltL_argerror(L, 3, fname, "momentum needs a buffer");
  lnn_status(L, nn_sgd_step(&o, p, g, buf, first), fname);
  return 0;
}

/* adam_step(p, g, m, v, step, lr, beta1, beta2, eps, weight_decay, decoupled) */
static int l_adam_step(lua_State *L) {
  const char *fname = "adam_step";
  Tensor *p = lnn_check_float_out(L, 1, fname, "parameter");
  Tensor *g = lnn_check_float(L, 2, fname, "gradient");
  Tensor *m = lnn_check_float_out(L, 3, fname, "first moment");
  Tensor *v = lnn_check_float_out(L, 4, fname, "second moment");
  int64_t step = ltL_check_int(L, 5, fname, "step");
  NnAdam o = {luaL_checknumber(L, 6), luaL_checknumber(L, 7),   luaL_checknumber(L, 8),
              luaL_checknumber(L, 9), luaL_optnumber(L, 10, 0), lua_toboolean(L, 11)};
  check_like(L, 2, fname, "gradient", g, p);
  check_like(L, 3, fname, "first moment", m, p);
  check_like(L, 4, fname, "second moment", v, p);
  /* step 0 would make the bias correction 1 - beta^0 = 0 and divide by it; the kernel refuses it
   * too. */
  if (step < 1) return ltL_argerror(L, 5, fname, "step must be >= 1, got %lld", (long long)step);
  lnn_status(L, nn_adam_step(&o, p, g, m, v, step), fname);
  return 0;
}

static const luaL_Reg fns[] = {{"sgd_step", l_sgd_step}, {"adam_step", l_adam_step}, {NULL, NULL}};

/* A part of lunette._nn (src/lunette.c lists every part): the optimiser updates. */
int luaopen_lunette_nn_optim(lua_State *L);
int luaopen_lunette_nn_optim(lua_State *L) {
  luaL_newlib(L, fns);
  return 1;
}
