/* plot.h - the drawing canvas of lunette.plot: Cairo surfaces (PNG/PDF/SVG), paths, markers,
 * images, text (core, no Lua). */
#ifndef LUNETTE_PLOT_H
#define LUNETTE_PLOT_H
#include <stdint.h>
#include <stdio.h>
#include <cairo.h>
#include "io/atomic.h"
#include "plot/plot_color.h"

/* PLOT_EINTR: Ctrl-C or SIGTERM stopped a save (atomic.h); nothing was written. */
typedef enum {
  PLOT_OK = 0,
  PLOT_ENOMEM,
  PLOT_EIO,
  PLOT_EVALUE,
  PLOT_ECAIRO,
  PLOT_EINTR
} PlotStatus;
typedef enum { PLOT_FMT_PNG = 0, PLOT_FMT_PDF, PLOT_FMT_SVG, PLOT_FMT_MEASURE } PlotFormat;

typedef struct PlotSpriteCache PlotSpriteCache;

/* A canvas is one figure being drawn. Coordinates everywhere are figure
 * pixels at the canvas dpi, y pointing down; `origin` is added to them
 * (save with a tight bounding box crops by shifting the origin). PNG
 * canvases draw into `pixels`, an ARGB32 premultiplied buffer of
 * plot_canvas_bytes() bytes that the caller owns and keeps alive until
 * plot_canvas_close(); PDF and SVG canvases stream into a temporary file
 * beside the destination (atomic.h: fsync'd, renamed into place by
 * plot_canvas_commit()); a PNG goes through the same writer at commit. */
typedef struct {
  PlotFormat fmt;
  int width, height;
  double dpi;
  cairo_surface_t *surface;
  cairo_t *cr;
  unsigned char *pixels;
  int stride;
  double ox, oy;
  double clip[4];   /* x0, y0, x1, y1 in device pixels (origin applied) */
  int direct_dirty; /* pixels written behind cairo's back */
  int opaque;       /* filled with an opaque colour: every pixel stays opaque */
  LtAtomicFile out; /* the file being written (live from open for PDF/SVG) */
  PlotSpriteCache *sprites;
} PlotCanvas;

/* px = o + s * x, or o + s * log10(x) on a log axis. */
typedef struct {
  double sx, ox, sy, oy;
  int logx, logy;
} PlotXform;

typedef enum { PLOT_CAP_BUTT = 0, PLOT_CAP_ROUND, PLOT_CAP_SQUARE } PlotCap;
typedef enum { PLOT_JOIN_MITER = 0, PLOT_JOIN_ROUND, PLOT_JOIN_BEVEL } PlotJoin;

/* A stroke: width <= 0 or alpha 0 draws nothing. dash lengths are pixels. */
typedef struct {
  double width;
  PlotRGBA color;
  const double *dash;
  int ndash;
  double dash_offset;
  PlotCap cap;
  PlotJoin join;
} PlotStroke;

/* ---- lifecycle ------------------------------------------------------------- */

/* Bytes of the pixel buffer a PNG canvas of w x h needs (0 on overflow). */
size_t plot_canvas_bytes(int width, int height);
/* Opens a canvas. PNG: `pixels` (plot_canvas_bytes, zeroed) is drawn into.
 * PDF/SVG: `path` is the final destination; a temporary file is created in
 * its directory now, so an unwritable destination fails here (PLOT_EIO with
 * the cause in err). MEASURE: a 1x1 surface used only to measure text.
 * The canvas must be closed with plot_canvas_close() even on failure. */
PlotStatus plot_canvas_open(PlotCanvas *c, PlotFormat fmt, int width, int height, double dpi,
                            unsigned char *pixels, const char *path, char *err, size_t errlen);
/* Writes the finished figure to `path` through a temporary name, fsync and
 * a rename (PNG is encoded here by plot_png_write at libdeflate level
 * `level`, 1..9). Never leaves a partial file; on failure err names the file
 * and the cause (PLOT_EINTR when Ctrl-C or SIGTERM stopped it). */
PlotStatus plot_canvas_commit(PlotCanvas *c, const char *path, int level, char *err, size_t errlen);
/* Releases everything; idempotent. Removes an uncommitted temporary file. */
void plot_canvas_close(PlotCanvas *c);

/* Sets the offset (figure px) added to every coordinate drawn from now on;
 * saving with a tight bounding box crops by shifting it. */
void plot_canvas_set_origin(PlotCanvas *c, double ox, double oy);
/* Restricts drawing to the rectangle (figure px); unclip lifts it. */
void plot_canvas_clip(PlotCanvas *c, double x, double y, double w, double h);
void plot_canvas_unclip(PlotCanvas *c);
/* Paints the whole canvas with a colour (replacing what is there). */
void plot_canvas_fill(PlotCanvas *c, PlotRGBA color);
/* The pixel at column x, row y of a PNG canvas as straight bytes R, G, B,
 * alpha in rgba[0..3], as plot_png_write would store it (for tests and
 * checks). PLOT_EVALUE for another format or a pixel outside the canvas. */
PlotStatus plot_canvas_pixel(PlotCanvas *c, int x, int y, uint8_t rgba[4]);

/* ---- shapes ---------------------------------------------------------------- */

/* The drawing calls below return PLOT_OK, PLOT_EVALUE (a closed canvas or a
 * bad argument) or PLOT_ECAIRO (cairo failed; its error is sticky, so the
 * canvas draws nothing more); images and text may also give PLOT_ENOMEM. */

/* A polyline through n points (x[i], y[i]) mapped by xf (NULL: already
 * pixels). A non-finite point ends the current piece, so NaN gaps break a
 * line as in matplotlib. closed joins the last point to the first and fill
 * (may be NULL) fills the polygon. snap rounds coordinates to the pixel
 * grid (crisp axis-aligned lines on PNG). */
PlotStatus plot_canvas_path(PlotCanvas *c, const double *x, const double *y, int64_t n,
                            const PlotXform *xf, int closed, const PlotRGBA *fill,
                            const PlotStroke *stroke, int snap);
/* n rectangles with corners (x0[i], y0[i]) and (x1[i], y1[i]) in data
 * coordinates (xf) or pixels (xf NULL). fills holds nfill colours (1 or
 * n); edge may be NULL. Non-finite rectangles are skipped. */
PlotStatus plot_canvas_rects(PlotCanvas *c, const double *x0, const double *y0, const double *x1,
                             const double *y1, int64_t n, const PlotXform *xf,
                             const PlotRGBA *fills, int64_t nfill, const PlotStroke *edge,
                             int snap);
/* n separate polylines of `len` points each (pts is n*len*2 pixels,
 * x0 y0 x1 y1 ...), drawn in order, colours (ncolor = 1 or n) and one
 * width; used for 3-D lines, wireframes and grids. */
PlotStatus plot_canvas_polylines(PlotCanvas *c, const double *pts, int64_t n, int len,
                                 const PlotRGBA *colors, int64_t ncolor, double width, PlotCap cap);
/* A rounded rectangle (radius r px) for text boxes and legends. */
PlotStatus plot_canvas_round_rect(PlotCanvas *c, double x0, double y0, double x1, double y1,
                                  double r, const PlotRGBA *fill, const PlotStroke *stroke);

/* ---- markers ---------------------------------------------------------------- */

typedef enum {
  PLOT_M_CIRCLE = 0,
  PLOT_M_POINT,
  PLOT_M_PIXEL,
  PLOT_M_TRI_UP,
  PLOT_M_TRI_DOWN,
  PLOT_M_TRI_LEFT,
  PLOT_M_TRI_RIGHT,
  PLOT_M_SQUARE,
  PLOT_M_DIAMOND,
  PLOT_M_THIN_DIAMOND,
  PLOT_M_PENTAGON,
  PLOT_M_HEXAGON,
  PLOT_M_OCTAGON,
  PLOT_M_STAR,
  PLOT_M_PLUS,
  PLOT_M_X,
  PLOT_M_VLINE,
  PLOT_M_HLINE,
  PLOT_M_COUNT
} PlotMarker;

/* Looks a matplotlib marker code up ("o", ".", "^", "s", "x", ...);
 * returns -1 if unknown. *filled is 0 for line-only markers (+ x | _). */
int plot_marker_from_name(const char *name, int *filled);

/* A batch of markers (scatter). Positions x, y (n) are mapped by xf;
 * points with a non-finite coordinate or size are skipped. size holds
 * nsize (1 or n) marker sizes in pixels (matplotlib's markersize: the
 * circle's diameter). face/edge hold nface/nedge (0, 1 or n) RGBA rows;
 * 0 means not drawn. Each point paints its face then its edge (width
 * edge_width px) before the next point, in the order given by `order`
 * (n indices, NULL for 0..n-1). Raster canvases blit cached antialiased
 * sprites centred on pixel centres (floor(p + 0.5) + 0.5, as matplotlib's
 * Agg snaps marker offsets); vector canvases get exact paths. */
typedef struct {
  PlotMarker marker;
  int64_t n;
  const double *x, *y;
  const PlotXform *xf;
  const double *size;
  int64_t nsize;
  const PlotRGBA *face;
  int64_t nface;
  const PlotRGBA *edge;
  int64_t nedge;
  double edge_width;
  const int64_t *order;
} PlotMarkers;

/* Draws the batch m describes. PLOT_EVALUE also for a negative n, nsize < 1
 * or an unknown marker; PLOT_ENOMEM when a sprite cannot be made. */
PlotStatus plot_canvas_markers(PlotCanvas *c, const PlotMarkers *m);
/* Frees a canvas's sprite cache (NULL is fine); plot_canvas_close calls it. */
void plot_sprites_free(PlotSpriteCache *s);

/* ---- images ------------------------------------------------------------------ */

/* Draws an iw x ih image of straight RGBA bytes (row-major, 4 per pixel)
 * into the pixel rectangle (x, y, w, h) with extra opacity alpha. smooth
 * selects bilinear filtering, otherwise nearest neighbour. */
PlotStatus plot_canvas_image(PlotCanvas *c, const uint8_t *rgba, int iw, int ih, double x, double y,
                             double w, double h, int smooth, double alpha);

/* Converts a float image (h, w, channels 1/3/4 as doubles in [0, 1],
 * clipped) to straight RGBA bytes; out is h*w*4. */
void plot_image_to_rgba8(const double *src, int64_t npix, int channels, uint8_t *out);

/* ---- text -------------------------------------------------------------------- */

typedef enum { PLOT_HA_LEFT = 0, PLOT_HA_CENTER, PLOT_HA_RIGHT } PlotHAlign;
typedef enum {
  PLOT_VA_BASELINE = 0,
  PLOT_VA_BOTTOM,
  PLOT_VA_CENTER,
  PLOT_VA_TOP,
  PLOT_VA_CENTER_BASELINE
} PlotVAlign;

typedef struct {
  const char *family; /* NULL: DejaVu Sans */
  double size;        /* em size in pixels (points * dpi / 72) */
  int bold, italic;
} PlotFont;

/* Where and how a text is placed: anchor (x, y), rotation in degrees
 * counter-clockwise, alignment of the (rotated) text box to the anchor as
 * matplotlib does; anchor_mode aligns the unrotated box and rotates about
 * the anchor (rotation_mode="anchor"). linespacing 1.2 is matplotlib's. */
typedef struct {
  double x, y, rotation;
  PlotHAlign ha;
  PlotVAlign va;
  int multialign; /* -1 follows ha */
  double linespacing;
  int anchor_mode;
} PlotTextPos;

/* The bounding box (x0, y0, x1, y1, figure px) text would occupy. Text is
 * UTF-8; lines split at '\n'. */
PlotStatus plot_text_bbox(PlotCanvas *c, const char *text, const PlotFont *f, const PlotTextPos *p,
                          double bbox[4]);
/* Draws text; fills bbox as plot_text_bbox (bbox may be NULL). */
PlotStatus plot_canvas_text(PlotCanvas *c, const char *text, const PlotFont *f,
                            const PlotTextPos *p, PlotRGBA color, double bbox[4]);
/* Width, height (ascent + descent, matplotlib's "lp"-padded metrics) and
 * descent of unrotated text. */
PlotStatus plot_text_size(PlotCanvas *c, const char *text, const PlotFont *f, double linespacing,
                          double *w, double *h, double *descent);

#endif
