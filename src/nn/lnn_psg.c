/* lnn_psg.c - Lua binding for per-sample targets: validation, and handing gradients to one. */
#include "nn/lnn.h"
#include "nn/nn_psg.h"

/* psg_check(target, batch, dtype) -> true: validates a target table early. */
static int l_psg_check(lua_State *L) {
  NnPsg ps;
  int64_t batch = ltL_check_int(L, 2, "per_sample", "batch size");
  LtDtype dt = ltL_check_dtype(L, 3, "per_sample");
  lnn_check_psg(L, 1, "per_sample", &ps, batch, dt);
  lua_pushboolean(L, 1);
  return 1;
}

/* psg_emit(target, offset, g [B x n]): hands per-sample gradients computed
 * elsewhere (a Lua-level layer) to the target at column offset. */
static int l_psg_emit(lua_State *L) {
  const char *fname = "psg_emit";
  Tensor *g = lnn_check_float(L, 3, fname, "gradients");
  char b[64];
  if (g->ndim != 2)
    return ltL_argerror(L, 3, fname, "gradients must be [B x n], got %s",
                        ltL_shape_of(g, b, sizeof b));
  NnPsg ps;
  lnn_check_psg(L, 1, fname, &ps, g->shape[0], g->dtype);
  int64_t off = ltL_check_int(L, 2, fname, "offset");
  if (off < 0 || off + g->shape[1] > ps.dim)
    return ltL_argerror(L, 2, fname, "offset %lld out of range", (long long)off);
  /* ldg = n: lnn_check_float made g contiguous. */
  nn_psg_emit(&ps, off, g->shape[1], g->data, g->shape[1], 0, g->shape[0]);
  return 0;
}

static const luaL_Reg fns[] = {{"psg_check", l_psg_check}, {"psg_emit", l_psg_emit}, {NULL, NULL}};

/* A part of lunette._nn (src/lunette.c lists every part): the per-sample target helpers. */
int luaopen_lunette_nn_psg(lua_State *L);
int luaopen_lunette_nn_psg(lua_State *L) {
  luaL_newlib(L, fns);
  return 1;
}
