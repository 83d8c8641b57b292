/* plot_color.h - colours for lunette.plot: names, hex, colormaps, husl palettes (core, no Lua). */
#ifndef LUNETTE_PLOT_COLOR_H
#define LUNETTE_PLOT_COLOR_H
#include <stddef.h>
#include <stdint.h>

/* Straight (not premultiplied) colour, every channel in [0, 1]. */
typedef struct {
  double r, g, b, a;
} PlotRGBA;

/* One colormap as matplotlib samples it: n RGB rows (lut is n*3 doubles).
 * `listed` maps are qualitative tables (tab10, Set1, ...) of fewer than 256
 * colours; the lookup rule is the same for both kinds. */
typedef struct {
  const char *name;
  const double *lut;
  int n;
  int listed;
} PlotCmapData;
typedef struct {
  const char *name;
  double r, g, b;
} PlotNamedColor;

/* Generated tables (src/plot_data.c), each ended by a NULL name. */
extern const PlotCmapData plot_cmap_table[];
extern const PlotNamedColor plot_named_colors[];

/* Parses a colour spec: a CSS4/matplotlib name ("lightgray", "tab:blue",
 * "r"), "#rgb", "#rgba", "#rrggbb", "#rrggbbaa", a grey level ("0.75") or
 * "none" (transparent). Case-insensitive, ignores spaces around. Returns 0
 * and fills *out, or -1 when the spec is not a colour. */
int plot_color_parse(const char *spec, PlotRGBA *out);

/* Writes into buf (size n >= 1) a comma-separated list of up to k (at most
 * 8) known names closest to `spec` (edit distance), for error messages;
 * returns buf, empty when k <= 0. With cmaps != 0 the candidates are
 * colormap names instead of colour names. */
char *plot_name_suggest(const char *spec, int cmaps, int k, char *buf, size_t n);

/* Finds a colormap by name; a "_r" suffix selects the reversed map
 * (*reversed = 1). Returns NULL when unknown. */
const PlotCmapData *plot_cmap_find(const char *name, int *reversed);

/* Maps n values through a colormap as matplotlib's Colormap.__call__ does
 * for floats: v is first normalised by (v - vmin) / (vmax - vmin) (pass
 * vmin = 0, vmax = 1 for values already in [0, 1]); index = trunc(x * N)
 * clamped to [0, N-1]; NaN gives transparent black. out is n*4 RGBA with
 * alpha `alpha`. vmax == vmin maps everything to the lowest colour. */
void plot_cmap_map(const PlotCmapData *cm, int reversed, const double *v, int64_t n, double vmin,
                   double vmax, double alpha, double *out);
/* The same for integer indices (matplotlib's rule for int input): index i
 * (0-based) picks row i, clamped to [0, N-1]. */
void plot_cmap_index(const PlotCmapData *cm, int reversed, const int64_t *idx, int64_t n,
                     double alpha, double *out);

/* HUSL (seaborn's husl module): h in degrees [0, 360), s and l in [0, 100];
 * rgb clipped to [0, 1]. */
void plot_husl_to_rgb(double h, double s, double l, double rgb[3]);
/* seaborn.husl_palette(n, h, s, l): n evenly spaced hues; out is n*3 RGB. */
void plot_husl_palette(int n, double h, double s, double l, double *out);

#endif
