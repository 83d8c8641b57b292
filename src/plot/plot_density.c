/* plot_density.c - hexagonal binning (matplotlib's hexbin) and Gaussian kernel densities
 * (violinplot); see plot_fields.h. */
#include <math.h>
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

void plot_hexbin(const PlotHexGrid *g, const double *x, const double *y, const double *c, int64_t n,
                 PlotReduce reduce, double *count, double *acc) {
  int64_t size = plot_hexbin_size(g);
  double sx = (g->xmax - g->xmin) / (double)g->nx, sy = (g->ymax - g->ymin) / (double)g->ny;
  for (int64_t k = 0; k < size; k++) count[k] = 0;
  for (int64_t i = 0; i < n; i++) {
    if (!isfinite(x[i]) || !isfinite(y[i]) || (c && !isfinite(c[i]))) continue;
    int64_t k = hex_index(g, sx, sy, x[i], y[i]);
    if (k < 0) continue;
    count[k] += 1;
    if (c) reduce_into(reduce, &acc[k], c[i], count[k]);
  }
  if (!c) return;
  for (int64_t k = 0; k < size; k++) {
    if (count[k] == 0)
      acc[k] = NAN;
    else if (reduce == PLOT_REDUCE_MEAN)
      acc[k] /= count[k];
  }
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
