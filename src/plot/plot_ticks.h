/* plot_ticks.h - axis tick locations and labels as matplotlib computes them (core, no Lua). */
#ifndef LUNETTE_PLOT_TICKS_H
#define LUNETTE_PLOT_TICKS_H
#include <stddef.h>

#define PLOT_MAX_TICKS 64

/* matplotlib.ticker.MaxNLocator.tick_values(vmin, vmax): at most nbins
 * intervals, steps from `steps` (nsteps increasing values in [1, 10]; NULL
 * means AutoLocator's {1, 2, 2.5, 5, 10}), integer-only ticks when
 * `integer`, at least min_n_ticks inside [vmin, vmax]. Ticks may extend one
 * step past the limits, as matplotlib's do. Writes up to PLOT_MAX_TICKS
 * values to out and returns how many (0 when the input is not finite). */
int plot_ticks_maxn(double vmin, double vmax, int nbins, const double *steps, int nsteps,
                    int integer, int min_n_ticks, double *out);

/* matplotlib.transforms.nonsingular(vmin, vmax, expander, tiny): widens a
 * degenerate or non-finite interval; swaps so that *vmin <= *vmax. */
void plot_nonsingular(double *vmin, double *vmax, double expander, double tiny);

/* MaxNLocator's nbins = "auto" (Axis.get_tick_space): how many labels of
 * label_size_pt * factor points fit along axis_length_pt (factor 3 on x, 2
 * on y in matplotlib), clipped to 1..9; 9 when the size is not positive. */
int plot_ticks_auto_nbins(double axis_length_pt, double label_size_pt, double factor);

/* Labels for ticks `locs` on an axis showing [vmin, vmax], following
 * ScalarFormatter (offset threshold 4, power limits -5..6, unicode minus):
 * each label is written to labels + i*label_len; *offset_text (size
 * offset_len) receives the offset/exponent string ("1e6", "+1e3", or "").
 * Returns 0, or -1 when n exceeds PLOT_MAX_TICKS. */
int plot_ticks_format(const double *locs, int n, double vmin, double vmax, char *labels,
                      size_t label_len, char *offset_text, size_t offset_len);

/* matplotlib.ticker.LogLocator (base 10, subs = 1) for [vmin, vmax] (both
 * > 0): decades, thinned to at most `numticks` by a stride. Returns count;
 * values are exact powers of ten. */
int plot_ticks_log(double vmin, double vmax, int numticks, double *out);

#endif
