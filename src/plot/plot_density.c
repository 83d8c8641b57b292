/* plot_density.c - hexagonal binning (matplotlib's hexbin), Gaussian kernel densities
 * (violinplot) and binned point densities (scatter's density = true); see plot_fields.h. */
#include <math.h>
#include <string.h>
#include "hot.h"
#include "plot/plot_fields.h"

int64_t plot_hexbin_size(const PlotHexGrid *g) { return (g->nx + 1) * (g->ny + 1) + g->nx * g->ny; }

void plot_hexbin_centers(const PlotHexGrid *g, double *cx, double *cy) {
  double sx = (g->xmax - g->xmin) / (double)g->nx, sy = (g->ymax - g->ymin) / (double)g->ny;
  int64_t nx1 = g->nx + 1, ny1 = g->ny + 1, k = 0;
  for (int64_t a = 0; a < nx1; a++) {
    for (int64_t b = 0; b < ny1; b++, k++) {
      cx[k] = (double)a * sx + g->xmin;
      cy[k] = (double)b * sy + g->ymin;
    }
  }
  for (int64_t a = 0; a < g->nx; a++) {
    for (int64_t b = 0; b < g->ny; b++, k++) {
      cx[k] = ((double)a + 0.5) * sx + g->xmin;
      cy[k] = ((double)b + 0.5) * sy + g->ymin;
    }
  }
}

/* The hexagon of point (x, y), or -1 outside the grid: matplotlib's two lattices, the nearer
 * centre in the metric where hexagons are regular. */
static int64_t hex_index(const PlotHexGrid *g, double sx, double sy, double x, double y) {
  double ix = (x - g->xmin) / sx, iy = (y - g->ymin) / sy;
  double ix1 = nearbyint(ix), iy1 = nearbyint(iy), ix2 = floor(ix), iy2 = floor(iy);
  double d1 = (ix - ix1) * (ix - ix1) + 3.0 * (iy - iy1) * (iy - iy1);
  double d2 = (ix - ix2 - 0.5) * (ix - ix2 - 0.5) + 3.0 * (iy - iy2 - 0.5) * (iy - iy2 - 0.5);
  int64_t nx1 = g->nx + 1, ny1 = g->ny + 1;
  if (d1 < d2) {
    if (ix1 < 0 || ix1 >= (double)nx1 || iy1 < 0 || iy1 >= (double)ny1) return -1;
    return (int64_t)ix1 * ny1 + (int64_t)iy1;
  }
  if (ix2 < 0 || ix2 >= (double)g->nx || iy2 < 0 || iy2 >= (double)g->ny) return -1;
  return nx1 * ny1 + (int64_t)ix2 * g->ny + (int64_t)iy2;
}

static void reduce_into(PlotReduce r, double *acc, double v, double count) {
  if (count == 1) {
    *acc = v;
  } else if (r == PLOT_REDUCE_MAX) {
    if (v > *acc) *acc = v;
  } else if (r == PLOT_REDUCE_MIN) {
    if (v < *acc) *acc = v;
  } else {
    *acc += v;
  }
}

/* idx[i] = the hexagon of point i, -1 outside the grid, -2 for a non-finite point (or c). The
 * costly part of binning, free of shared writes: vectorised and threaded. */
LT_HOT static void hex_indices(const PlotHexGrid *g, const double *x, const double *y,
                               const double *c, int64_t n, int64_t *idx) {
  double sx = (g->xmax - g->xmin) / (double)g->nx, sy = (g->ymax - g->ymin) / (double)g->ny;
#pragma omp parallel for schedule(static) if (n >= 65536)
  for (int64_t i = 0; i < n; i++) {
    if (!isfinite(x[i]) || !isfinite(y[i]) || (c && !isfinite(c[i])))
      idx[i] = -2;
    else
      idx[i] = hex_index(g, sx, sy, x[i], y[i]);
  }
}

int64_t plot_hexbin(const PlotHexGrid *g, const double *x, const double *y, const double *c,
                    int64_t n, PlotReduce reduce, double *count, double *acc, int64_t *idx) {
  int64_t size = plot_hexbin_size(g), finite = 0;
  for (int64_t k = 0; k < size; k++) count[k] = 0;
  hex_indices(g, x, y, c, n, idx);
  /* Accumulated in point order, one pass: the reductions see the values as a serial loop would. */
  for (int64_t i = 0; i < n; i++) {
    int64_t k = idx[i];
    if (k == -2) continue;
    finite++;
    if (k < 0) continue;
    count[k] += 1;
    if (c) reduce_into(reduce, &acc[k], c[i], count[k]);
  }
  if (!c) return finite;
  for (int64_t k = 0; k < size; k++) {
    if (count[k] == 0)
      acc[k] = NAN;
    else if (reduce == PLOT_REDUCE_MEAN)
      acc[k] /= count[k];
  }
  return finite;
}

void plot_kde(const double *data, int64_t n, double var, const double *at, int64_t m, double *out) {
  double norm = 1.0 / (sqrt(2 * M_PI * var) * (double)n);
  for (int64_t a = 0; a < m; a++) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
      double d = at[a] - data[i];
      s += exp(-0.5 * d * d / var);
    }
    out[a] = s * norm;
  }
}

/* ---- point densities ------------------------------------------------------------------------ */

int64_t plot_point_density_scratch(const PlotDensityGrid *g) {
  int64_t big = g->nx > g->ny ? g->nx : g->ny;
  return (PLOT_DENSITY_CHUNKS + 1) * g->nx * g->ny + 4 * big + 2;
}

/* The cell of coordinate v on nodes lo + k * step (k = 0..n-1): *k in 0..n-2 and the fraction
 * *w in [0, 1] towards node *k + 1; values beyond the ends clamp to the border. */
static inline void node_of(double v, double lo, double step, int64_t n, int64_t *k, double *w) {
  double f = (v - lo) / step;
  if (f < 0) f = 0;
  if (f > (double)(n - 1)) f = (double)(n - 1);
  int64_t i = (int64_t)f;
  if (i > n - 2) i = n - 2;
  *k = i;
  *w = f - (double)i;
}

/* Linear binning of points [lo, hi) into part (nx*ny, zeroed here); returns the points binned. */
static int64_t bin_linear(const PlotDensityGrid *g, double dx, double dy, const double *x,
                          const double *y, int64_t lo, int64_t hi, double *part) {
  int64_t nx = g->nx, m = 0;
  for (int64_t k = 0; k < nx * g->ny; k++) part[k] = 0;
  for (int64_t i = lo; i < hi; i++) {
    if (!isfinite(x[i]) || !isfinite(y[i])) continue;
    int64_t a, b;
    double wx, wy;
    node_of(x[i], g->xmin, dx, nx, &a, &wx);
    node_of(y[i], g->ymin, dy, g->ny, &b, &wy);
    double *p = part + b * nx + a;
    p[0] += (1 - wx) * (1 - wy);
    p[1] += wx * (1 - wy);
    p[nx] += (1 - wx) * wy;
    p[nx + 1] += wx * wy;
    m++;
  }
  return m;
}

/* Normalised Gaussian taps w[-r..r] (stored from w[0]) for a standard deviation of s nodes,
 * truncated at 4 s and at the grid's length n; returns r. */
static int64_t gauss_taps(double s, int64_t n, double *w) {
  int64_t r = (int64_t)ceil(4 * s);
  if (r > n - 1) r = n - 1;
  double sum = 0;
  for (int64_t t = -r; t <= r; t++) {
    w[t + r] = exp(-0.5 * (double)(t * t) / (s * s));
    sum += w[t + r];
  }
  for (int64_t t = 0; t <= 2 * r; t++) w[t] /= sum;
  return r;
}

/* out = in convolved along x (within each row) with taps w (radius r); zero beyond the grid. */
static void conv_x(const double *in, double *out, int64_t nx, int64_t ny, const double *w,
                   int64_t r) {
#pragma omp parallel for schedule(static) if (nx * ny * (2 * r + 1) >= 1 << 18)
  for (int64_t j = 0; j < ny; j++) {
    const double *src = in + j * nx;
    double *dst = out + j * nx;
    for (int64_t i = 0; i < nx; i++) {
      int64_t t0 = i - r < 0 ? r - i : 0, t1 = i + r > nx - 1 ? r + (nx - 1 - i) : 2 * r;
      double s = 0;
      for (int64_t t = t0; t <= t1; t++) s += w[t] * src[i + t - r];
      dst[i] = s;
    }
  }
}

/* out = in convolved along y (across rows), row by row so the inner loop runs along memory. */
static void conv_y(const double *in, double *out, int64_t nx, int64_t ny, const double *w,
                   int64_t r) {
#pragma omp parallel for schedule(static) if (nx * ny * (2 * r + 1) >= 1 << 18)
  for (int64_t j = 0; j < ny; j++) {
    double *dst = out + j * nx;
    for (int64_t i = 0; i < nx; i++) dst[i] = 0;
    int64_t t0 = j - r < 0 ? r - j : 0, t1 = j + r > ny - 1 ? r + (ny - 1 - j) : 2 * r;
    for (int64_t t = t0; t <= t1; t++) {
      const double *src = in + (j + t - r) * nx;
      double wt = w[t];
      for (int64_t i = 0; i < nx; i++) dst[i] += wt * src[i];
    }
  }
}

LT_HOT int64_t plot_point_density(const PlotDensityGrid *g, const double *x, const double *y,
                                  int64_t n, double *dens, double *grid, double *scratch) {
  int64_t nx = g->nx, ny = g->ny, cells = nx * ny, big = nx > ny ? nx : ny;
  double dx = (g->xmax - g->xmin) / (double)(nx - 1), dy = (g->ymax - g->ymin) / (double)(ny - 1);
  double *tmp = scratch + PLOT_DENSITY_CHUNKS * cells, *wx = tmp + cells, *wy = wx + 2 * big + 1;
  int64_t counted[PLOT_DENSITY_CHUNKS];
#pragma omp parallel for schedule(static, 1) if (n >= 65536)
  for (int c = 0; c < PLOT_DENSITY_CHUNKS; c++) {
    int64_t lo = n * c / PLOT_DENSITY_CHUNKS, hi = n * (c + 1) / PLOT_DENSITY_CHUNKS;
    counted[c] = bin_linear(g, dx, dy, x, y, lo, hi, scratch + c * cells);
  }
  int64_t m = 0;
  for (int c = 0; c < PLOT_DENSITY_CHUNKS; c++) m += counted[c];
  /* Chunk grids summed in chunk order: the same sums whatever thread binned which chunk. */
#pragma omp parallel for schedule(static) if (cells >= 65536)
  for (int64_t k = 0; k < cells; k++) {
    double s = 0;
    for (int c = 0; c < PLOT_DENSITY_CHUNKS; c++) s += scratch[c * cells + k];
    grid[k] = s;
  }
  int64_t rx = gauss_taps(g->hx / dx, nx, wx), ry = gauss_taps(g->hy / dy, ny, wy);
  conv_x(grid, tmp, nx, ny, wx, rx);
  conv_y(tmp, grid, nx, ny, wy, ry);
  /* Each node stands for a dx * dy cell: counts per cell over m points make a density. */
  double norm = m > 0 ? 1.0 / ((double)m * dx * dy) : 0;
#pragma omp parallel for schedule(static) if (n >= 65536)
  for (int64_t i = 0; i < n; i++) {
    if (!isfinite(x[i]) || !isfinite(y[i]) || m == 0) {
      dens[i] = NAN;
      continue;
    }
    int64_t a, b;
    double fx, fy;
    node_of(x[i], g->xmin, dx, nx, &a, &fx);
    node_of(y[i], g->ymin, dy, ny, &b, &fy);
    const double *p = grid + b * nx + a;
    double v = (1 - fy) * ((1 - fx) * p[0] + fx * p[1]) + fy * ((1 - fx) * p[nx] + fx * p[nx + 1]);
    /* The smoothed grid is non-negative; rounding in the convolution may leave -1e-17. */
    dens[i] = (v > 0 ? v : 0) * norm;
  }
  return m;
}

/* One stable counting pass of the radix sort on bits [shift, shift + 11) of the keys, with the
 * digit counts already taken. */
static void radix_pass(const uint32_t *kin, const int64_t *iin, uint32_t *kout, int64_t *iout,
                       int64_t n, int shift, const int64_t *count) {
  int64_t pos[2048];
  int64_t s = 0;
  for (int d = 0; d < 2048; d++) {
    pos[d] = s;
    s += count[d];
  }
  for (int64_t i = 0; i < n; i++) {
    int d = (int)((kin[i] >> shift) & 2047);
    int64_t p = pos[d]++;
    kout[p] = kin[i];
    iout[p] = iin[i];
  }
}

void plot_order_by_key(const double *key, int64_t n, int64_t *order, uint64_t *tmp) {
  uint32_t *ka = (uint32_t *)tmp, *kb = ka + n;
  int64_t *ib = (int64_t *)(tmp + n), *ia = order;
  int64_t cnt[3][2048] = {{0}};
  for (int64_t i = 0; i < n; i++) {
    /* Keys as float32: the bits of a non-negative float order as its value does, NaN after +inf
     * (+ 0.0f turns -0.0 into +0.0). Three 11-bit digits then cover the key. */
    float v = (float)key[i] + 0.0f;
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    ka[i] = b;
    ia[i] = i;
    cnt[0][b & 2047]++;
    cnt[1][(b >> 11) & 2047]++;
    cnt[2][b >> 22]++;
  }
  for (int p = 0; p < 3; p++) {
    int shift = 11 * p;
    /* A digit all keys share moves nothing: skip the pass. */
    if (n == 0 || cnt[p][(ka[0] >> shift) & 2047] == n) continue;
    radix_pass(ka, ia, kb, ib, n, shift, cnt[p]);
    uint32_t *kt = ka;
    ka = kb;
    kb = kt;
    int64_t *it = ia;
    ia = ib;
    ib = it;
  }
  if (ia != order) memcpy(order, ia, (size_t)n * sizeof *order);
}
