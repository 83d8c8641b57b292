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

/* Whether the level may cross the cell: its corners are not all on one side (the centre, their
 * mean, is then on that side too). A quick reject before the triangles are built. */
static int straddles(const PlotGrid *g, int64_t j, int64_t i, double level) {
  const double *z = g->z + j * g->nx + i;
  int above = (z[0] > level) + (z[1] > level) + (z[g->nx] > level) + (z[g->nx + 1] > level);
  return above > 0 && above < 4;
}

int64_t plot_contour_crossings(const PlotGrid *g, double level) {
  int64_t n = 0;
  for (int64_t j = 0; j < g->ny - 1; j++) {
    for (int64_t i = 0; i < g->nx - 1; i++) {
      if (!straddles(g, j, i, level) || !cell_ok(g, j, i)) continue;
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
  int64_t n = 0, w = g->nx - 1;
  for (int64_t j = 0; j < g->ny - 1; j++) {
    for (int64_t i = 0; i < w; i++) {
      if (!straddles(g, j, i, level) || !cell_ok(g, j, i)) continue;
      for (int64_t t = (j * w + i) * 4; t < (j * w + i) * 4 + 4; t++) {
        Vert tri[3];
        if (visited[t]) continue;
        triangle(g, t, tri);
        if (crossed_edge(tri, level, 0) < 0) continue;
        n = emit_chain(g, chain_start(g, t, level), level, visited, ox, oy, n, cap);
        if (n < 0) return -1;
      }
    }
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

int plot_grid_rectilinear(const PlotGrid *g) {
  for (int64_t j = 1; j < g->ny; j++)
    for (int64_t i = 0; i < g->nx; i++)
      if (g->x[j * g->nx + i] != g->x[i]) return 0;
  for (int64_t j = 0; j < g->ny; j++)
    for (int64_t i = 1; i < g->nx; i++)
      if (g->y[j * g->nx + i] != g->y[j * g->nx]) return 0;
  return 1;
}

/* 1 when the cell lies wholly in the band, 0 when wholly outside, -1 when the band cuts it. */
static int cell_in_band(const PlotGrid *g, int64_t j, int64_t i, double lo, double hi) {
  int inside = 0, below = 0, above = 0;
  for (int d = 0; d < 4; d++) {
    double v = g->z[(j + (d >> 1)) * g->nx + i + (d & 1)];
    inside += v >= lo && v <= hi;
    below += v < lo;
    above += v > hi;
  }
  if (inside == 4) return 1;
  return below == 4 || above == 4 ? 0 : -1;
}

/* Whole cells i0..i1 of row j as one polygon: along the row's lower nodes, back along its upper
 * ones (only the four corners on a rectilinear grid, where the inner nodes are collinear). */
static int64_t put_run(const PlotGrid *g, int64_t j, int64_t i0, int64_t i1, double *ox, double *oy,
                       int64_t n, int64_t cap) {
  int64_t step = g->rectilinear ? i1 + 1 - i0 : 1, np = 0;
  int64_t need = g->rectilinear ? 5 : 2 * (i1 + 2 - i0) + 1;
  if (!ox) return n + need;
  if (n + need > cap) return -1;
  for (int64_t i = i0; i <= i1 + 1; i += step, np++) {
    ox[n + np] = g->x[j * g->nx + i];
    oy[n + np] = g->y[j * g->nx + i];
  }
  for (int64_t i = i1 + 1; i >= i0; i -= step, np++) {
    ox[n + np] = g->x[(j + 1) * g->nx + i];
    oy[n + np] = g->y[(j + 1) * g->nx + i];
  }
  ox[n + np] = NAN;
  oy[n + np] = NAN;
  return n + np + 1;
}

/* The band's pieces in a cell the band cuts: each triangle clipped to lo <= v <= hi. */
static int64_t band_cell(const PlotGrid *g, int64_t j, int64_t i, double lo, double hi, double *ox,
                         double *oy, int64_t n, int64_t cap) {
  Vert c[4];
  corners(g, j, i, c);
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
    int64_t run = -1; /* first cell of the current run of whole cells, or -1 */
    for (int64_t i = 0; i < g->nx - 1 && n >= 0; i++) {
      int in = cell_in_band(g, j, i, lo, hi);
      if (in != 0 && !cell_ok(g, j, i)) in = 0;
      if (in == 1) {
        if (run < 0) run = i;
        continue;
      }
      if (run >= 0) n = put_run(g, j, run, i - 1, ox, oy, n, cap);
      run = -1;
      if (in < 0 && n >= 0) n = band_cell(g, j, i, lo, hi, ox, oy, n, cap);
    }
    if (run >= 0 && n >= 0) n = put_run(g, j, run, g->nx - 2, ox, oy, n, cap);
  }
  return n;
}
