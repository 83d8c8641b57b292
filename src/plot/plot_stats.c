/* plot_stats.c - finite ranges, numpy-compatible histograms and matplotlib's boxplot statistics. */
#include <math.h>
#include <stdlib.h>
#include "plot/plot_stats.h"

int64_t plot_finite_range(const double *v, int64_t n, int positive_only, double *lo, double *hi) {
  int64_t k = 0;
  double a = INFINITY, b = -INFINITY;
  for (int64_t i = 0; i < n; i++) {
    double x = v[i];
    if (!isfinite(x) || (positive_only && x <= 0)) continue;
    if (x < a) a = x;
    if (x > b) b = x;
    k++;
  }
  if (k) {
    *lo = a;
    *hi = b;
  }
  return k;
}

int plot_histogram(const double *v, int64_t n, const double *weights, const double *edges,
                   int nbins, double *counts) {
  /* Equal neighbours are allowed (numpy only refuses decreasing edges). */
  for (int i = 0; i < nbins; i++) {
    counts[i] = 0;
    if (!(edges[i + 1] >= edges[i])) return -1;
  }
  if (nbins <= 0) return -1;
  double first = edges[0], last = edges[nbins], span = last - first;
  for (int64_t k = 0; k < n; k++) {
    double x = v[k];
    if (!isfinite(x) || x < first || x > last) continue;
    /* a uniform guess, corrected against the actual edges (numpy does the same) */
    int b = span > 0 ? (int)((x - first) / span * nbins) : 0;
    /* Clamping also puts x == last into the last bin, whose right edge is closed. */
    if (b >= nbins) b = nbins - 1;
    if (b < 0) b = 0;
    while (b > 0 && x < edges[b]) b--;
    while (b < nbins - 1 && x >= edges[b + 1]) b++;
    counts[b] += weights ? weights[k] : 1;
  }
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double plot_percentile_sorted(const double *s, int64_t n, double p) {
  /* numpy's "linear" method: position p (n - 1) / 100 between the order statistics. */
  double pos = p / 100 * (double)(n - 1);
  int64_t lo = (int64_t)floor(pos);
  if (lo >= n - 1) return s[n - 1];
  if (lo < 0) return s[0];
  double frac = pos - (double)lo;
  return s[lo] + (s[lo + 1] - s[lo]) * frac;
}

void plot_box_stats(const double *v, int64_t n, double whis, double *scratch, double *fliers,
                    PlotBoxStats *out) {
  int64_t m = 0;
  double sum = 0;
  for (int64_t i = 0; i < n; i++)
    if (isfinite(v[i])) {
      scratch[m++] = v[i];
      sum += v[i];
    }
  out->nfinite = m;
  out->nfliers = 0;
  if (m == 0) {
    out->mean = out->q1 = out->med = out->q3 = out->iqr = out->whislo = out->whishi = NAN;
    return;
  }
  qsort(scratch, (size_t)m, sizeof(double), cmp_double);
  out->mean = sum / (double)m;
  out->q1 = plot_percentile_sorted(scratch, m, 25);
  out->med = plot_percentile_sorted(scratch, m, 50);
  out->q3 = plot_percentile_sorted(scratch, m, 75);
  out->iqr = out->q3 - out->q1;
  /* Whiskers at the most extreme data inside the fences, but never inside the box (matplotlib);
   * fliers are the rest, the low ones first, each side in data order. */
  double loval = out->q1 - whis * out->iqr, hival = out->q3 + whis * out->iqr;
  double hi = -INFINITY, lo = INFINITY;
  for (int64_t i = 0; i < m; i++) {
    if (scratch[i] <= hival && scratch[i] > hi) hi = scratch[i];
    if (scratch[i] >= loval && scratch[i] < lo) lo = scratch[i];
  }
  out->whishi = (hi == -INFINITY || hi < out->q3) ? out->q3 : hi;
  out->whislo = (lo == INFINITY || lo > out->q1) ? out->q1 : lo;
  for (int64_t i = 0; i < n; i++)
    if (isfinite(v[i]) && v[i] < out->whislo) fliers[out->nfliers++] = v[i];
  for (int64_t i = 0; i < n; i++)
    if (isfinite(v[i]) && v[i] > out->whishi) fliers[out->nfliers++] = v[i];
}

void plot_points_in_boxes(const double *x, const double *y, int64_t n, const double *boxes, int nb,
                          double *counts) {
  for (int b = 0; b < nb; b++) {
    const double *q = boxes + 4 * b;
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
      if (x[i] >= q[0] && x[i] <= q[2] && y[i] >= q[1] && y[i] <= q[3]) k++;
    counts[b] += (double)k;
  }
}

/* Does segment (ax, ay)-(bx, by) meet the axis-aligned box q? (Liang-Barsky clip) */
static int segment_hits(double ax, double ay, double bx, double by, const double *q) {
  double t0 = 0, t1 = 1, dx = bx - ax, dy = by - ay;
  /* p, r: the four half-plane tests (left, right, top, bottom); t0..t1 is the part of the segment
   * inside every one seen so far. */
  double p[4] = {-dx, dx, -dy, dy}, r[4] = {ax - q[0], q[2] - ax, ay - q[1], q[3] - ay};
  for (int i = 0; i < 4; i++) {
    if (p[i] == 0) {
      if (r[i] < 0) return 0;
      continue;
    }
    double t = r[i] / p[i];
    if (p[i] < 0) {
      if (t > t1) return 0;
      if (t > t0) t0 = t;
    } else {
      if (t < t0) return 0;
      if (t < t1) t1 = t;
    }
  }
  return 1;
}

void plot_path_hits_boxes(const double *x, const double *y, int64_t n, const double *boxes, int nb,
                          double *hits) {
  for (int b = 0; b < nb; b++) {
    const double *q = boxes + 4 * b;
    for (int64_t i = 0; i + 1 < n; i++) {
      if (!isfinite(x[i]) || !isfinite(y[i]) || !isfinite(x[i + 1]) || !isfinite(y[i + 1]))
        continue;
      if (segment_hits(x[i], y[i], x[i + 1], y[i + 1], q)) {
        /* Once per path, however many segments cross (as matplotlib's legend badness). */
        hits[b] += 1;
        break;
      }
    }
  }
}
