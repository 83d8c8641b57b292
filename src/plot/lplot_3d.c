/* lplot_3d.c - Lua binding for the 3-D projection: matrix, points, depth order and shading. */
#include <math.h>
#include "tensor/lbase.h"
#include "plot/plot_3d.h"

static Tensor *check_vec(lua_State *L, int arg, const char *fname) {
  Tensor *t = ltL_check_tensor(L, arg, fname);
  char b[64];
  if (t->dtype != LT_F64 || !lt_is_contiguous(t) || t->ndim != 1)
    ltL_argerror(L, arg, fname, "contiguous 1-d float64 tensor expected, got %s %s",
                 lt_dtype_name(t->dtype), ltL_shape_of(t, b, sizeof b));
  return t;
}

/* Entry i of the table at t as a number (0 when missing or not a number): the façade builds these
 * tables itself. */
static double num_at(lua_State *L, int t, int i) {
  lua_rawgeti(L, t, i);
  double v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return v;
}

/* proj_matrix({lims={6}, aspect={3}, elev=, azim=, roll=, dist=, focal=}) -> {16 numbers} */
static int l_proj_matrix(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  Plot3DView v;
  lua_getfield(L, 1, "lims");
  luaL_argexpected(L, lua_istable(L, -1), 1, "table with lims");
  for (int i = 0; i < 6; i++) v.lims[i] = num_at(L, lua_gettop(L), i + 1);
  lua_pop(L, 1);
  lua_getfield(L, 1, "aspect");
  luaL_argexpected(L, lua_istable(L, -1), 1, "table with aspect");
  for (int i = 0; i < 3; i++) v.box_aspect[i] = num_at(L, lua_gettop(L), i + 1);
  lua_pop(L, 1);
  v.elev = ltL_opt_number(L, 1, "proj_matrix", "elev", 30);
  v.azim = ltL_opt_number(L, 1, "proj_matrix", "azim", -60);
  v.roll = ltL_opt_number(L, 1, "proj_matrix", "roll", 0);
  v.dist = ltL_opt_number(L, 1, "proj_matrix", "dist", 10);
  /* focal <= 0 or inf selects the orthographic projection (plot3d_matrix). */
  v.focal_length = ltL_opt_number(L, 1, "proj_matrix", "focal", 1);
  double M[16];
  if (plot3d_matrix(&v, M) != 0)
    return ltL_argerror(L, 1, "proj_matrix", "axis limits must be finite and not empty");
  lua_createtable(L, 16, 0);
  for (int i = 0; i < 16; i++) {
    lua_pushnumber(L, M[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* project(M, x, y, z) -> vx, vy, vz (float64 tensors) */
static int l_project(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  double M[16];
  for (int i = 0; i < 16; i++) M[i] = num_at(L, 1, i + 1);
  Tensor *x = check_vec(L, 2, "project"), *y = check_vec(L, 3, "project"),
         *z = check_vec(L, 4, "project");
  int64_t n = x->shape[0];
  if (y->shape[0] != n || z->shape[0] != n)
    return ltL_argerror(L, 3, "project", "x, y and z lengths differ (%lld, %lld, %lld)",
                        (long long)n, (long long)y->shape[0], (long long)z->shape[0]);
  Tensor *vx = ltL_push_new(L, LT_F64, 1, &n), *vy = ltL_push_new(L, LT_F64, 1, &n),
         *vz = ltL_push_new(L, LT_F64, 1, &n);
  plot3d_project(M, x->data, y->data, z->data, n, vx->data, vy->data, vz->data);
  return 3;
}

/* depth_order(vz) -> int64 tensor of 0-based indices, farthest first (for canvas:markers) */
static int l_depth_order(lua_State *L) {
  Tensor *vz = check_vec(L, 1, "depth_order");
  int64_t n = vz->shape[0];
  Tensor *o = ltL_push_new(L, LT_I64, 1, &n);
  if (plot3d_depth_order(vz->data, n, o->data) != 0)
    return luaL_error(L, "depth_order: not enough memory");
  return 1;
}

/* depth_shade(vz, rgba [n x 4] float64): scales alphas in place */
static int l_depth_shade(lua_State *L) {
  Tensor *vz = check_vec(L, 1, "depth_shade");
  Tensor *c = ltL_check_tensor(L, 2, "depth_shade");
  if (c->dtype != LT_F64 || !lt_is_contiguous(c) || c->ndim != 2 || c->shape[1] != 4 ||
      c->shape[0] != vz->shape[0])
    return ltL_argerror(L, 2, "depth_shade", "contiguous float64 [%lldx4] tensor expected",
                        (long long)vz->shape[0]);
  plot3d_depth_shade(vz->data, vz->shape[0], c->data);
  return 0;
}

static const luaL_Reg fns[] = {{"proj_matrix", l_proj_matrix},
                               {"project", l_project},
                               {"depth_order", l_depth_order},
                               {"depth_shade", l_depth_shade},
                               {NULL, NULL}};

/* A part of lunette._plot (src/lunette.c lists every part): the 3-D projection functions. */
int luaopen_lunette_plot_3d(lua_State *L);
int luaopen_lunette_plot_3d(lua_State *L) {
  luaL_newlib(L, fns);
  return 1;
}
