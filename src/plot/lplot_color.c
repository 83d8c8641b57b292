/* lplot_color.c - Lua binding for colours: parsing and suggestions, colormaps, husl palettes. */
#include <string.h>
#include "tensor/lbase.h"
#include "plot/plot_color.h"

static Tensor *check_vec(lua_State *L, int arg, const char *fname, LtDtype dt) {
  Tensor *t = ltL_check_tensor(L, arg, fname);
  char b[64];
  if (t->dtype != dt || !lt_is_contiguous(t) || t->ndim != 1)
    ltL_argerror(L, arg, fname, "contiguous 1-d %s tensor expected, got %s %s", lt_dtype_name(dt),
                 lt_dtype_name(t->dtype), ltL_shape_of(t, b, sizeof b));
  return t;
}

/* parse_color(spec) -> r, g, b, a | nil, "close, matches" */
static int l_parse_color(lua_State *L) {
  const char *s = luaL_checkstring(L, 1);
  PlotRGBA c;
  if (plot_color_parse(s, &c) == 0) {
    lua_pushnumber(L, c.r);
    lua_pushnumber(L, c.g);
    lua_pushnumber(L, c.b);
    lua_pushnumber(L, c.a);
    return 4;
  }
  char buf[256];
  lua_pushnil(L);
  lua_pushstring(L, plot_name_suggest(s, 0, 4, buf, sizeof buf));
  return 2;
}

static const PlotCmapData *check_cmap(lua_State *L, int arg, const char *fname, int *rev) {
  const char *name = luaL_checkstring(L, arg);
  const PlotCmapData *cm = plot_cmap_find(name, rev);
  if (!cm) {
    char buf[256];
    plot_name_suggest(name, 1, 4, buf, sizeof buf);
    ltL_argerror(L, arg, fname, "unknown colormap '%s'%s%s", name, buf[0] ? "; did you mean " : "",
                 buf);
  }
  return cm;
}

/* cmap_info(name) -> N, listed | nil, suggestions */
static int l_cmap_info(lua_State *L) {
  int rev;
  const char *name = luaL_checkstring(L, 1);
  const PlotCmapData *cm = plot_cmap_find(name, &rev);
  if (!cm) {
    char buf[256];
    lua_pushnil(L);
    lua_pushstring(L, plot_name_suggest(name, 1, 4, buf, sizeof buf));
    return 2;
  }
  lua_pushinteger(L, cm->n);
  lua_pushboolean(L, cm->listed);
  return 2;
}

/* cmap_map(name, values f64, vmin, vmax, alpha) -> [n x 4] float64 */
static int l_cmap_map(lua_State *L) {
  int rev;
  const PlotCmapData *cm = check_cmap(L, 1, "cmap", &rev);
  Tensor *v = check_vec(L, 2, "cmap", LT_F64);
  double vmin = luaL_optnumber(L, 3, 0), vmax = luaL_optnumber(L, 4, 1),
         alpha = luaL_optnumber(L, 5, 1);
  int64_t shape[2] = {v->shape[0], 4};
  Tensor *o = ltL_push_new(L, LT_F64, 2, shape);
  plot_cmap_map(cm, rev, v->data, v->shape[0], vmin, vmax, alpha, o->data);
  return 1;
}

/* cmap_index(name, idx int64 (1-based), alpha) -> [n x 4] float64 */
static int l_cmap_index(lua_State *L) {
  int rev;
  const PlotCmapData *cm = check_cmap(L, 1, "cmap", &rev);
  Tensor *v = check_vec(L, 2, "cmap", LT_I64);
  double alpha = luaL_optnumber(L, 3, 1);
  int64_t n = v->shape[0], shape[2] = {n, 4};
  Tensor *o = ltL_push_new(L, LT_F64, 2, shape);
  double *out = o->data;
  const int64_t *idx = v->data;
  for (int64_t i = 0; i < n; i++) {
    int64_t k = idx[i] - 1;
    /* One at a time, so the 1-based indices need no converted copy. */
    plot_cmap_index(cm, rev, &k, 1, alpha, out + 4 * i);
  }
  return 1;
}

/* cmap_lut(name) -> [N x 3] float64 */
static int l_cmap_lut(lua_State *L) {
  int rev;
  const PlotCmapData *cm = check_cmap(L, 1, "cmap", &rev);
  int64_t shape[2] = {cm->n, 3};
  Tensor *o = ltL_push_new(L, LT_F64, 2, shape);
  double *out = o->data;
  for (int i = 0; i < cm->n; i++)
    memcpy(out + 3 * i, cm->lut + 3 * (rev ? cm->n - 1 - i : i), 3 * sizeof(double));
  return 1;
}

/* cmap_names() -> {name, ...} */
static int l_cmap_names(lua_State *L) {
  lua_newtable(L);
  for (int i = 0; plot_cmap_table[i].name; i++) {
    lua_pushstring(L, plot_cmap_table[i].name);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* husl(n, h, s, l) -> [n x 3] float64 (seaborn.husl_palette) */
static int l_husl(lua_State *L) {
  int64_t n = ltL_check_int(L, 1, "husl", "number of colours");
  if (n < 1 || n > 4096)
    return ltL_argerror(L, 1, "husl", "number of colours must be 1..4096, got %lld", (long long)n);
  /* seaborn.husl_palette's defaults. */
  double h = luaL_optnumber(L, 2, 0.01), s = luaL_optnumber(L, 3, 0.9),
         l = luaL_optnumber(L, 4, 0.65);
  int64_t shape[2] = {n, 3};
  Tensor *o = ltL_push_new(L, LT_F64, 2, shape);
  plot_husl_palette((int)n, h, s, l, o->data);
  return 1;
}

static const luaL_Reg color_fns[] = {{"parse_color", l_parse_color},
                                     {"cmap_info", l_cmap_info},
                                     {"cmap_map", l_cmap_map},
                                     {"cmap_index", l_cmap_index},
                                     {"cmap_lut", l_cmap_lut},
                                     {"cmap_names", l_cmap_names},
                                     {"husl", l_husl},
                                     {NULL, NULL}};

/* A part of lunette._plot (src/lunette.c lists every part): the colour functions. */
int luaopen_lunette_plot_color(lua_State *L);
int luaopen_lunette_plot_color(lua_State *L) {
  luaL_newlib(L, color_fns);
  return 1;
}
