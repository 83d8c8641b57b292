/* plot_raster.h - direct drawing on a PNG canvas's ARGB32 pixels: masks and antialiased segments
 * (core, no Lua). */
#ifndef LUNETTE_PLOT_RASTER_H
#define LUNETTE_PLOT_RASTER_H
#include <stdint.h>
#include "plot/plot.h"

/* A colour as 8-bit straight channels. */
typedef struct {
  unsigned r, g, b, a;
} PlotRgba8;

/* k with each channel clamped to [0, 1] and rounded to 0..255. */
PlotRgba8 plot_rgba8(PlotRGBA k);

/* The canvas clip as whole device pixels [x0, x1) x [y0, y1); returns 0
 * when it is empty. Call plot_raster_begin() before writing pixels. */
int plot_raster_clip(const PlotCanvas *c, int clip[4]);
/* Flushes cairo's pending drawing and marks the pixels as written directly;
 * plot.c hands them back to cairo (mark_dirty) before it draws again. */
void plot_raster_begin(PlotCanvas *c);

/* Paints a marker sprite: face through `fill` then edge through `stroke`
 * (either may be NULL or have alpha 0), pixel by pixel, over the sprite's
 * non-empty box (bx0, by0)-(bx1, by1) of a dim x dim sprite placed with its
 * top-left pixel at (x0, y0). */
void plot_raster_sprite(PlotCanvas *c, const uint8_t *fill, const uint8_t *stroke, int dim,
                        const int box[4], int x0, int y0, PlotRgba8 face, PlotRgba8 edge,
                        const int clip[4]);

/* Paints one coverage mask in colour k: plot_raster_sprite with a single mask, and pixels the
 * mask covers fully in an opaque colour are stored, not blended. span (2 * dim bytes, or NULL
 * for the box's columns) gives each row's covered columns [span[2r], span[2r + 1]). */
void plot_raster_mask(PlotCanvas *c, const uint8_t *mask, const uint8_t *span, int dim,
                      const int box[4], int x0, int y0, PlotRgba8 k, const int clip[4]);

/* An antialiased straight segment (device pixels) of width w: pixels whose
 * projection falls in [-ext0, len + ext1) along it are painted with the
 * coverage of a box of width w across the line, so consecutive segments of
 * a polyline do not paint their shared end twice. */
void plot_raster_segment(PlotCanvas *c, double ax, double ay, double bx, double by, double w,
                         double ext0, double ext1, PlotRgba8 k, const int clip[4]);

#endif
