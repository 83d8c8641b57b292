/* lplot_stats.c - Lua binding for plot statistics: finite ranges, histograms, boxplot summaries. */
#include <math.h>
#include <string.h>
#include "tensor/lbase.h"
#include "plot/plot_stats.h"

static Tensor *check_vec(lua_State *L, int arg, const char *fname) {
  Tensor *t = ltL_check_tensor(L, arg, fname);
  char b[64];
  if (t->dtype != LT_F64 || !lt_is_contiguous(t) || t->ndim != 1)
    ltL_argerror(L, arg, fname, "contiguous 1-d float64 tensor expected, got %s %s",
                 lt_dtype_name(t->dtype), ltL_shape_of(t, b, sizeof b));
  return t;
}

/* finite_range(t[, positive_only]) -> lo, hi, count (lo, hi nil when count is 0) */
static int l_finite_range(lua_State *L) {
  Tensor *t = check_vec(L, 1, "finite_range");
  double lo = 0, hi = 0;
  int64_t k = plot_finite_range(t->data, t->shape[0], lua_toboolean(L, 2), &lo, &hi);
  if (k) {
    lua_pushnumber(L, lo);
    lua_pushnumber(L, hi);
  } else {
    lua_pushnil(L);
    lua_pushnil(L);
  }
  lua_pushinteger(L, k);
  return 3;
}

/* histogram(values, edges[, weights]) -> counts (float64, #edges - 1) */
static int l_histogram(lua_State *L) {
  Tensor *v = check_vec(L, 1, "hist"), *e = check_vec(L, 2, "hist"), *w = NULL;
  if (!lua_isnoneornil(L, 3)) {
    w = check_vec(L, 3, "hist");
    if (w->shape[0] != v->shape[0])
      return ltL_argerror(L, 3, "hist", "%lld weights for %lld values", (long long)w->shape[0],
                          (long long)v->shape[0]);
  }
  int64_t nb = e->shape[0] - 1;
  long long ne = (long long)e->shape[0];
  if (nb < 1) return ltL_argerror(L, 2, "hist", "need 2 or more bin edges, got %lld", ne);
  if (nb > PLOT_HIST_MAX_BINS)
    return ltL_argerror(L, 2, "hist",
                        "%lld bin edges make %lld bins, more than the %d a "
                        "histogram has",
                        ne, (long long)nb, PLOT_HIST_MAX_BINS);
  Tensor *c = ltL_push_new(L, LT_F64, 1, &nb);
  if (plot_histogram(v->data, v->shape[0], w ? w->data : NULL, e->data, (int)nb, c->data) != 0)
    return ltL_argerror(L, 2, "hist", "bin edges must increase");
  return 1;
}

static void set_num(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

/* box_stats(values[, whis=1.5]) -> {mean, q1, med, q3, iqr, whislo, whishi, n, fliers = tensor} */
static int l_box_stats(lua_State *L) {
  Tensor *v = check_vec(L, 1, "boxplot");
  double whis = luaL_optnumber(L, 2, 1.5);
  if (!(whis >= 0) || !isfinite(whis))
    return ltL_argerror(L, 2, "boxplot", "whis must be a non-negative number");
  int64_t n = v->shape[0];
  Tensor *scratch = ltL_push_new(L, LT_F64, 1, &n);
  Tensor *fl = ltL_push_new(L, LT_F64, 1, &n);
  PlotBoxStats s;
  plot_box_stats(v->data, n, whis, scratch->data, fl->data, &s);
  fl->shape[0] = s.nfliers; /* a prefix of its own storage: still a valid contiguous tensor */
  lua_createtable(L, 0, 10);
  set_num(L, "mean", s.mean);
  set_num(L, "q1", s.q1);
  set_num(L, "med", s.med);
  set_num(L, "q3", s.q3);
  set_num(L, "iqr", s.iqr);
  set_num(L, "whislo", s.whislo);
  set_num(L, "whishi", s.whishi);
  lua_pushinteger(L, s.nfinite);
  lua_setfield(L, -2, "n");
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "fliers");
  return 1;
}

/* Pixel coordinates of x, y under xform {sx, ox, sy, oy, logx, logy} (a missing scale or offset
 * reads as 0). */
static void map_points(lua_State *L, int xf, const Tensor *x, const Tensor *y, double *px,
                       double *py) {
  double c[4];
  const char *keys[4] = {"sx", "ox", "sy", "oy"};
  for (int i = 0; i < 4; i++) c[i] = ltL_opt_number(L, xf, "legend", keys[i], 0);
  int lx = ltL_opt_bool(L, xf, "legend", "logx", 0);
  int ly = ltL_opt_bool(L, xf, "legend", "logy", 0);
  const double *xs = x->data, *ys = y->data;
  for (int64_t i = 0; i < x->shape[0]; i++) {
    px[i] = c[1] + c[0] * (lx ? (xs[i] > 0 ? log10(xs[i]) : NAN) : xs[i]);
    py[i] = c[3] + c[2] * (ly ? (ys[i] > 0 ? log10(ys[i]) : NAN) : ys[i]);
  }
}

/* legend_badness(x, y, xform, boxes [nb x 4], is_path) -> float64 counts per box */
static int l_legend_badness(lua_State *L) {
  Tensor *x = check_vec(L, 1, "legend"), *y = check_vec(L, 2, "legend");
  luaL_checktype(L, 3, LUA_TTABLE);
  Tensor *b = ltL_check_tensor(L, 4, "legend");
  if (b->dtype != LT_F64 || !lt_is_contiguous(b) || b->ndim != 2 || b->shape[1] != 4 ||
      b->shape[0] > 64)
    return ltL_argerror(L, 4, "legend", "[n x 4] float64 boxes expected");
  if (y->shape[0] != x->shape[0]) return ltL_argerror(L, 2, "legend", "x and y lengths differ");
  int64_t n = x->shape[0], nb = b->shape[0];
  Tensor *px = ltL_push_new(L, LT_F64, 1, &n), *py = ltL_push_new(L, LT_F64, 1, &n);
  map_points(L, 3, x, y, px->data, py->data);
  Tensor *out = ltL_push_new(L, LT_F64, 1, &nb);
  memset(out->data, 0, (size_t)nb * sizeof(double));
  /* A line also counts the boxes it crosses, not only those its points fall in. */
  if (lua_toboolean(L, 5)) {
    plot_points_in_boxes(px->data, py->data, n, b->data, (int)nb, out->data);
    plot_path_hits_boxes(px->data, py->data, n, b->data, (int)nb, out->data);
  } else {
    plot_points_in_boxes(px->data, py->data, n, b->data, (int)nb, out->data);
  }
  return 1;
}

static const luaL_Reg fns[] = {{"legend_badness", l_legend_badness},
                               {"finite_range", l_finite_range},
                               {"histogram", l_histogram},
                               {"box_stats", l_box_stats},
                               {NULL, NULL}};

/* A part of lunette._plot (src/lunette.c lists every part): the statistics functions. */
int luaopen_lunette_plot_stats(lua_State *L);
int luaopen_lunette_plot_stats(lua_State *L) {
  luaL_newlib(L, fns);
  lua_pushinteger(L, PLOT_HIST_MAX_BINS);
  lua_setfield(L, -2, "HIST_MAX_BINS");
  return 1;
}
