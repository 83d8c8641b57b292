/* plot_contour.c - contour lines and filled contour bands of a structured grid by marching
 * triangles (each cell cut into four triangles at its centre); see plot_fields.h. */
#include <math.h>
#include "plot/plot_fields.h"

typedef struct {
  double x, y, v;
} Vert;

static Vert node(const PlotGrid *g, int64_t j, int64_t i) {
  int64_t k = j * g->nx + i;
  Vert p = {g->x[k], g->y[k], g->z[k]};
  return p;
}

static int cell_ok(const PlotGrid *g, int64_t j, int64_t i) {
  if (j < 0 || i < 0 || j >= g->ny - 1 || i >= g->nx - 1) return 0;
  for (int d = 0; d < 4; d++) {
    Vert p = node(g, j + (d >> 1), i + (d & 1));
    if (!isfinite(p.x) || !isfinite(p.y) || !isfinite(p.v)) return 0;
  }
  return 1;
}

/* The cell's corners counter-clockwise in index space: (j,i) (j,i+1) (j+1,i+1) (j+1,i). */
static void corners(const PlotGrid *g, int64_t j, int64_t i, Vert c[4]) {
  c[0] = node(g, j, i);
  c[1] = node(g, j, i + 1);
  c[2] = node(g, j + 1, i + 1);
  c[3] = node(g, j + 1, i);
}

static Vert centre(const Vert c[4]) {
  Vert m = {(c[0].x + c[1].x + c[2].x + c[3].x) / 4, (c[0].y + c[1].y + c[2].y + c[3].y) / 4,
            (c[0].v + c[1].v + c[2].v + c[3].v) / 4};
  return m;
}

/* Triangle k of a cell: corner k, corner k+1, centre (counter-clockwise). */
static void triangle(const PlotGrid *g, int64_t t, Vert tri[3]) {
  int64_t cell = t / 4, w = g->nx - 1;
  int k = (int)(t % 4);
  Vert c[4];
  corners(g, cell / w, cell % w, c);
  tri[0] = c[k];
  tri[1] = c[(k + 1) % 4];
  tri[2] = centre(c);
}

/* The triangle across edge e (0: the grid edge, 1: corner k+1 to centre, 2: centre to corner k)
 * of triangle t, or -1 at the grid's border or a skipped cell. */
static int64_t neighbour(const PlotGrid *g, int64_t t, int e) {
  int64_t cell = t / 4, w = g->nx - 1;
  int k = (int)(t % 4);
  if (e == 1) return cell * 4 + (k + 1) % 4;
  if (e == 2) return cell * 4 + (k + 3) % 4;
  static const int dj[4] = {-1, 0, 1, 0}, di[4] = {0, 1, 0, -1};
  int64_t j = cell / w + dj[k], i = cell % w + di[k];
  if (!cell_ok(g, j, i)) return -1;
  return (j * w + i) * 4 + (k + 2) % 4;
}

/* The crossed edge of tri whose tail is on side `tail_above` and head on the other, or -1. */
static int crossed_edge(const Vert tri[3], double level, int tail_above) {
  for (int e = 0; e < 3; e++) {
    int a = tri[e].v > level, b = tri[(e + 1) % 3].v > level;
    if (a == tail_above && b != tail_above) return e;
  }
  return -1;
}

static void edge_point(const Vert tri[3], int e, double level, double *x, double *y) {
  Vert p = tri[e], q = tri[(e + 1) % 3];
  double f = (level - p.v) / (q.v - p.v);
  *x = p.x + f * (q.x - p.x);
  *y = p.y + f * (q.y - p.y);
}

int64_t plot_contour_crossings(const PlotGrid *g, double level) {
  int64_t n = 0;
  for (int64_t j = 0; j < g->ny - 1; j++) {
    for (int64_t i = 0; i < g->nx - 1; i++) {
      if (!cell_ok(g, j, i)) continue;
      for (int k = 0; k < 4; k++) {
        Vert tri[3];
        triangle(g, (j * (g->nx - 1) + i) * 4 + k, tri);
        if (crossed_edge(tri, level, 0) >= 0) n++;
      }
    }
  }
  return n;
}

/* The first triangle of the chain through t: walk back across entry edges until the border or
 * back at t (a closed loop starts anywhere, so at t). */
static int64_t chain_start(const PlotGrid *g, int64_t t, double level) {
  int64_t s = t;
  for (;;) {
    Vert tri[3];
    triangle(g, s, tri);
    int64_t p = neighbour(g, s, crossed_edge(tri, level, 1));
    if (p < 0 || p == t) return s;
    s = p;
  }
}

/* Emits the chain starting at s (entry point, then each triangle's exit point), marking its
 * triangles; returns the new output length or -1 when cap is reached. */
static int64_t emit_chain(const PlotGrid *g, int64_t s, double level, uint8_t *visited, double *ox,
                          double *oy, int64_t n, int64_t cap) {
  Vert tri[3];
  triangle(g, s, tri);
  if (n + 1 > cap) return -1;
  edge_point(tri, crossed_edge(tri, level, 1), level, &ox[n], &oy[n]);
  n++;
  int64_t t = s;
  for (;;) {
    visited[t] = 1;
    int e = crossed_edge(tri, level, 0);
    if (n + 2 > cap) return -1;
    edge_point(tri, e, level, &ox[n], &oy[n]);
    n++;
    t = neighbour(g, t, e);
    if (t < 0 || t == s || visited[t]) break;
    triangle(g, t, tri);
  }
  ox[n] = NAN;
  oy[n] = NAN;
  return n + 1;
}

int64_t plot_contour_lines(const PlotGrid *g, double level, uint8_t *visited, double *ox,
                           double *oy, int64_t cap) {
  int64_t n = 0, ntri = (g->nx - 1) * (g->ny - 1) * 4;
  for (int64_t t = 0; t < ntri; t++) {
    if (visited[t]) continue;
    int64_t cell = t / 4;
    if (t % 4 == 0 && !cell_ok(g, cell / (g->nx - 1), cell % (g->nx - 1))) {
      t += 3;
      continue;
    }
    Vert tri[3];
    triangle(g, t, tri);
    if (crossed_edge(tri, level, 0) < 0) continue;
    n = emit_chain(g, chain_start(g, t, level), level, visited, ox, oy, n, cap);
    if (n < 0) return -1;
  }
  return n;
}

/* Clips polygon p (np vertices) to the side v >= level (keep_above) or v <= level (otherwise),
 * Sutherland-Hodgman style with the value interpolated along each edge; returns the count. */
static int clip(const Vert *p, int np, double level, int keep_above, Vert *out) {
  int n = 0;
  for (int a = 0; a < np; a++) {
    Vert s = p[a], e = p[(a + 1) % np];
    int sin = keep_above ? s.v >= level : s.v <= level;
    int ein = keep_above ? e.v >= level : e.v <= level;
    if (sin) out[n++] = s;
    if (sin != ein) {
      double f = (level - s.v) / (e.v - s.v);
      Vert m = {s.x + f * (e.x - s.x), s.y + f * (e.y - s.y), level};
      out[n++] = m;
    }
  }
  return n;
}

/* Appends polygon p and a NaN separator (or only counts them when ox is NULL). */
static int64_t put_polygon(const Vert *p, int np, double *ox, double *oy, int64_t n, int64_t cap) {
  if (np < 3) return n;
  if (ox) {
    if (n + np + 1 > cap) return -1;
    for (int a = 0; a < np; a++) {
      ox[n + a] = p[a].x;
      oy[n + a] = p[a].y;
    }
    ox[n + np] = NAN;
    oy[n + np] = NAN;
  }
  return n + np + 1;
}

/* The band's pieces in one cell: the whole quad when every corner is inside (the centre, their
 * mean, is too), else each triangle clipped to lo <= v <= hi. */
static int64_t band_cell(const PlotGrid *g, int64_t j, int64_t i, double lo, double hi, double *ox,
                         double *oy, int64_t n, int64_t cap) {
  Vert c[4];
  corners(g, j, i, c);
  int inside = 0, below = 0, above = 0;
  for (int d = 0; d < 4; d++) {
    inside += c[d].v >= lo && c[d].v <= hi;
    below += c[d].v < lo;
    above += c[d].v > hi;
  }
  if (inside == 4) return put_polygon(c, 4, ox, oy, n, cap);
  if (below == 4 || above == 4) return n;
  Vert m = centre(c);
  for (int k = 0; k < 4 && n >= 0; k++) {
    Vert tri[3] = {c[k], c[(k + 1) % 4], m}, a[5], b[7];
    int na = clip(tri, 3, lo, 1, a);
    int nb = clip(a, na, hi, 0, b);
    n = put_polygon(b, nb, ox, oy, n, cap);
  }
  return n;
}

int64_t plot_contour_band(const PlotGrid *g, double lo, double hi, double *ox, double *oy,
                          int64_t cap) {
  int64_t n = 0;
  for (int64_t j = 0; j < g->ny - 1 && n >= 0; j++) {
    for (int64_t i = 0; i < g->nx - 1 && n >= 0; i++) {
      if (cell_ok(g, j, i)) n = band_cell(g, j, i, lo, hi, ox, oy, n, cap);
    }
  }
  return n;
}
