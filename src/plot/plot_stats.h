/* plot_stats.h - the statistics plots need: finite ranges, histograms, boxplot summaries (core, no
 * Lua). */
#ifndef LUNETTE_PLOT_STATS_H
#define LUNETTE_PLOT_STATS_H
#include <stdint.h>

/* Smallest and largest finite value of v (n); returns how many are finite
 * (0 leaves *lo and *hi untouched). With positive_only, values <= 0 are
 * ignored too (log axes). */
int64_t plot_finite_range(const double *v, int64_t n, int positive_only, double *lo, double *hi);

/* The most bins a histogram draws (one rectangle each): ax:hist refuses
 * more, whether given as a count or as edges. */
#define PLOT_HIST_MAX_BINS 1000000

/* numpy.histogram with explicit edges (nbins + 1, increasing): bin i holds
 * edges[i] <= v < edges[i+1], the last bin also its right edge; values
 * outside and non-finite values are ignored. weights may be NULL. counts
 * (nbins) is overwritten. Returns 0, or -1 if the edges are not increasing. */
int plot_histogram(const double *v, int64_t n, const double *weights, const double *edges,
                   int nbins, double *counts);

typedef struct {
  double mean, q1, med, q3, iqr, whislo, whishi;
  int64_t nfinite, nfliers;
} PlotBoxStats;

/* matplotlib.cbook.boxplot_stats for one dataset with whiskers at
 * whis * IQR (autorange off): quartiles by numpy's linear percentile,
 * whiskers at the most extreme data inside the fences, fliers beyond.
 * Non-finite values are dropped. scratch (n doubles) receives the sorted
 * finite data; the fliers are written to fliers (n doubles, low ones
 * first then high, in data order). An empty dataset gives NaN stats. */
void plot_box_stats(const double *v, int64_t n, double whis, double *scratch, double *fliers,
                    PlotBoxStats *out);

/* numpy.percentile (linear) of sorted data s (n > 0), p in [0, 100]. */
double plot_percentile_sorted(const double *s, int64_t n, double p);

/* Legend placement helpers. boxes holds nb pixel boxes (x0, y0, x1, y1).
 * Points (x[i], y[i]) are already pixels. counts[b] += number of finite
 * points inside box b (edges included). */
void plot_points_in_boxes(const double *x, const double *y, int64_t n, const double *boxes, int nb,
                          double *counts);
/* hits[b] += 1 when the polyline through the n points crosses or touches
 * box b (non-finite points break it). */
void plot_path_hits_boxes(const double *x, const double *y, int64_t n, const double *boxes, int nb,
                          double *hits);

#endif
