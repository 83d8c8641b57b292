/* lplot_fields.c - Lua binding for scalar fields and densities: contour lines and bands, hexbin,
 * kernel densities (lunette._plot; the façade is lunette.plot_fields). */
#include <math.h>
#include <string.h>
#include "tensor/lbase.h"
#include "plot/plot_fields.h"

static Tensor *check_f64(lua_State *L, int arg, const char *fname, int ndim) {
  Tensor *t = ltL_check_tensor(L, arg, fname);
  char b[64];
  if (t->dtype != LT_F64 || !lt_is_contiguous(t) || t->ndim != ndim)
    ltL_argerror(L, arg, fname, "contiguous %d-d float64 tensor expected, got %s %s", ndim,
                 lt_dtype_name(t->dtype), ltL_shape_of(t, b, sizeof b));
  return t;
}

/* z, x, y at 1..3: three [ny x nx] grids of one shape, at least 2 x 2. */
static PlotGrid check_grid(lua_State *L, const char *fname) {
  Tensor *z = check_f64(L, 1, fname, 2), *x = check_f64(L, 2, fname, 2);
  Tensor *y = check_f64(L, 3, fname, 2);
  for (int d = 0; d < 2; d++)
    if (x->shape[d] != z->shape[d] || y->shape[d] != z->shape[d])
      ltL_argerror(L, 2, fname, "x, y and z grids differ in shape");
  if (z->shape[0] < 2 || z->shape[1] < 2) ltL_argerror(L, 1, fname, "z must be at least 2 x 2");
  PlotGrid g = {z->data, x->data, y->data, z->shape[1], z->shape[0], 0};
  g.rectilinear = plot_grid_rectilinear(&g);
  return g;
}

/* Pushes the first n values of two scratch tensors as fresh 1-d tensors (the scratch is popped). */
static int push_xy(lua_State *L, int64_t n) {
  int64_t len = n;
  int sx = lua_gettop(L) - 1;
  Tensor *a = ltL_push_new(L, LT_F64, 1, &len);
  Tensor *b = ltL_push_new(L, LT_F64, 1, &len);
  memcpy(a->data, ltL_totensor(L, sx)->data, (size_t)len * sizeof(double));
  memcpy(b->data, ltL_totensor(L, sx + 1)->data, (size_t)len * sizeof(double));
  return 2;
}

/* contour_lines(z, x, y, level) -> xs, ys: polylines separated by NaN points */
static int l_contour_lines(lua_State *L) {
  PlotGrid g = check_grid(L, "contour");
  double level = luaL_checknumber(L, 4);
  int64_t cap = 3 * plot_contour_crossings(&g, level) + 1;
  int64_t ntri = (g.nx - 1) * (g.ny - 1) * 4;
  Tensor *vis = ltL_push_new(L, LT_U8, 1, &ntri);
  memset(vis->data, 0, (size_t)ntri);
  Tensor *ox = ltL_push_new(L, LT_F64, 1, &cap), *oy = ltL_push_new(L, LT_F64, 1, &cap);
  int64_t n = plot_contour_lines(&g, level, vis->data, ox->data, oy->data, cap);
  if (n < 0) return luaL_error(L, "contour: line buffer too small (a bug)");
  return push_xy(L, n);
}

/* contour_band(z, x, y, lo, hi) -> xs, ys: polygons separated by NaN points */
static int l_contour_band(lua_State *L) {
  PlotGrid g = check_grid(L, "contourf");
  double lo = luaL_checknumber(L, 4), hi = luaL_checknumber(L, 5);
  int64_t cap = plot_contour_band(&g, lo, hi, NULL, NULL, 0);
  int64_t len = cap > 0 ? cap : 1;
  Tensor *ox = ltL_push_new(L, LT_F64, 1, &len), *oy = ltL_push_new(L, LT_F64, 1, &len);
  int64_t n = plot_contour_band(&g, lo, hi, ox->data, oy->data, cap);
  if (n < 0) return luaL_error(L, "contourf: band buffer too small (a bug)");
  return push_xy(L, n);
}

/* hexbin(x, y, c|nil, nx, ny, xmin, xmax, ymin, ymax[, reduce]) -> counts, acc|nil, cx, cy,
 * finite (the points with finite coordinates and C) */
static int l_hexbin(lua_State *L) {
  static const char *const reds[] = {"mean", "sum", "max", "min", NULL};
  Tensor *x = check_f64(L, 1, "hexbin", 1), *y = check_f64(L, 2, "hexbin", 1), *c = NULL;
  if (!lua_isnil(L, 3)) c = check_f64(L, 3, "hexbin", 1);
  if (y->shape[0] != x->shape[0] || (c && c->shape[0] != x->shape[0]))
    return ltL_argerror(L, 2, "hexbin", "x, y and C must be the same length");
  PlotHexGrid g = {.nx = ltL_check_int(L, 4, "hexbin", "nx"),
                   .ny = ltL_check_int(L, 5, "hexbin", "ny"),
                   .xmin = luaL_checknumber(L, 6),
                   .xmax = luaL_checknumber(L, 7),
                   .ymin = luaL_checknumber(L, 8),
                   .ymax = luaL_checknumber(L, 9)};
  int red = luaL_checkoption(L, 10, "mean", reds);
  if (g.nx < 1 || g.ny < 1 || g.nx > 10000 || g.ny > 10000)
    return ltL_argerror(L, 4, "hexbin", "gridsize must be in 1..10000");
  if (!(g.xmax > g.xmin) || !(g.ymax > g.ymin) || !isfinite(g.xmax - g.xmin) ||
      !isfinite(g.ymax - g.ymin))
    return ltL_argerror(L, 6, "hexbin", "extent must be finite with xmin < xmax, ymin < ymax");
  int64_t size = plot_hexbin_size(&g);
  Tensor *count = ltL_push_new(L, LT_F64, 1, &size);
  Tensor *acc = NULL;
  if (c)
    acc = ltL_push_new(L, LT_F64, 1, &size);
  else
    lua_pushnil(L);
  Tensor *cx = ltL_push_new(L, LT_F64, 1, &size), *cy = ltL_push_new(L, LT_F64, 1, &size);
  Tensor *idx = ltL_push_new(L, LT_I64, 1, &x->shape[0]);
  int64_t finite = plot_hexbin(&g, x->data, y->data, c ? c->data : NULL, x->shape[0],
                               (PlotReduce)red, count->data, acc ? acc->data : NULL, idx->data);
  plot_hexbin_centers(&g, cx->data, cy->data);
  lua_pop(L, 1);
  lua_pushinteger(L, finite);
  return 5;
}

/* kde(data, var, at) -> densities at `at` (data finite, var > 0) */
static int l_kde(lua_State *L) {
  Tensor *d = check_f64(L, 1, "violinplot", 1);
  double var = luaL_checknumber(L, 2);
  Tensor *at = check_f64(L, 3, "violinplot", 1);
  if (!(var > 0) || !isfinite(var))
    return ltL_argerror(L, 2, "violinplot", "kernel variance must be positive and finite");
  if (d->shape[0] < 1) return ltL_argerror(L, 1, "violinplot", "no data");
  Tensor *out = ltL_push_new(L, LT_F64, 1, &at->shape[0]);
  plot_kde(d->data, d->shape[0], var, at->data, at->shape[0], out->data);
  return 1;
}

/* point_density(x, y, nx, ny, xmin, xmax, ymin, ymax, hx, hy) -> dens, order, grid, counted:
 * each point's binned kernel density, the 0-based draw order (ascending density, as the
 * markers' order option takes it), the smoothed [ny x nx] grid and the points counted. */
static int l_point_density(lua_State *L) {
  Tensor *x = check_f64(L, 1, "scatter", 1), *y = check_f64(L, 2, "scatter", 1);
  if (y->shape[0] != x->shape[0]) return ltL_argerror(L, 2, "scatter", "x and y differ in length");
  PlotDensityGrid g = {.nx = ltL_check_int(L, 3, "scatter", "nx"),
                       .ny = ltL_check_int(L, 4, "scatter", "ny"),
                       .xmin = luaL_checknumber(L, 5),
                       .xmax = luaL_checknumber(L, 6),
                       .ymin = luaL_checknumber(L, 7),
                       .ymax = luaL_checknumber(L, 8),
                       .hx = luaL_checknumber(L, 9),
                       .hy = luaL_checknumber(L, 10)};
  if (g.nx < 2 || g.ny < 2 || g.nx > PLOT_DENSITY_MAX_GRID || g.ny > PLOT_DENSITY_MAX_GRID)
    return ltL_argerror(L, 3, "scatter", "density gridsize must be in 2..%d",
                        PLOT_DENSITY_MAX_GRID);
  if (!(g.xmax > g.xmin) || !(g.ymax > g.ymin) || !isfinite(g.xmax - g.xmin) ||
      !isfinite(g.ymax - g.ymin))
    return ltL_argerror(L, 5, "scatter", "density grid span must be finite and non-empty");
  if (!(g.hx > 0) || !(g.hy > 0) || !isfinite(g.hx) || !isfinite(g.hy))
    return ltL_argerror(L, 9, "scatter", "density bandwidth must be positive and finite");
  int64_t n = x->shape[0], shape[2] = {g.ny, g.nx};
  int64_t nscratch = plot_point_density_scratch(&g), ntmp = 2 * n;
  Tensor *dens = ltL_push_new(L, LT_F64, 1, &n);
  Tensor *order = ltL_push_new(L, LT_I64, 1, &n);
  Tensor *grid = ltL_push_new(L, LT_F64, 2, shape);
  Tensor *scratch = ltL_push_new(L, LT_F64, 1, &nscratch);
  Tensor *tmp = ltL_push_new(L, LT_I64, 1, &ntmp);
  int64_t m = plot_point_density(&g, x->data, y->data, n, dens->data, grid->data, scratch->data);
  plot_order_by_key(dens->data, n, order->data, tmp->data);
  lua_pop(L, 2);
  lua_pushinteger(L, m);
  return 4;
}

static const luaL_Reg fns[] = {{"contour_lines", l_contour_lines},
                               {"contour_band", l_contour_band},
                               {"hexbin", l_hexbin},
                               {"kde", l_kde},
                               {"point_density", l_point_density},
                               {NULL, NULL}};

/* A part of lunette._plot (src/lunette.c lists every part): contours, hexbin, densities. */
int luaopen_lunette_plot_fields(lua_State *L);
int luaopen_lunette_plot_fields(lua_State *L) {
  luaL_newlib(L, fns);
  return 1;
}
