/* plot.c - canvas lifecycle (PNG/PDF/SVG via atomic.h), clipping, paths, rectangles, images. */
/* Its cairo_ calls go through src/lazy.h: Cairo is loaded on first use. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include "plot/plot.h"
#include "plot/plot_png.h"
#include "plot/plot_raster.h"

/* ---- the output file ---------------------------------------------------------- */

static void set_err(char *err, size_t n, const char *path, const char *cause) {
  if (err && n) snprintf(err, n, "cannot write '%s': %s", path, cause);
}

/* Removes the output file's temporary; the status and message of its failure. */
static PlotStatus out_failed(PlotCanvas *c, const char *path, char *err, size_t errlen) {
  int e = c->out.err ? c->out.err : EIO;
  lt_atomic_abort(&c->out);
  set_err(err, errlen, path, e == EINTR ? "interrupted" : strerror(e));
  return e == EINTR ? PLOT_EINTR : PLOT_EIO;
}

/* Cairo's stream callback: every PDF/SVG byte goes straight to the atomic temporary file. */
static cairo_status_t write_stream(void *closure, const unsigned char *data, unsigned int len) {
  PlotCanvas *c = closure;
  if (lt_atomic_write(&c->out, data, len)) return CAIRO_STATUS_WRITE_ERROR;
  return CAIRO_STATUS_SUCCESS;
}

/* ---- lifecycle --------------------------------------------------------------- */

size_t plot_canvas_bytes(int width, int height) {
  /* 32767: the largest side Cairo allows an image surface. */
  if (width <= 0 || height <= 0 || width > 32767 || height > 32767) return 0;
  int stride = cairo_format_stride_for_width(CAIRO_FORMAT_ARGB32, width);
  if (stride <= 0) return 0;
  return (size_t)stride * (size_t)height;
}

/* PDF and SVG are measured in points: scaling by 72/dpi lets all drawing code work in figure
 * pixels whatever the format. The origin shift comes after, in pixels. */
static void apply_ctm(PlotCanvas *c) {
  double s = (c->fmt == PLOT_FMT_PDF || c->fmt == PLOT_FMT_SVG) ? 72.0 / c->dpi : 1.0;
  cairo_identity_matrix(c->cr);
  cairo_scale(c->cr, s, s);
  cairo_translate(c->cr, c->ox, c->oy);
}

/* Grey antialiasing (subpixel colour fringes would suit one screen only) and unhinted metrics,
 * so that text widths scale in proportion to the font size. */
static void set_font_options(PlotCanvas *c) {
  cairo_font_options_t *fo = cairo_font_options_create();
  cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
  cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_SLIGHT);
  cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
  cairo_set_font_options(c->cr, fo);
  cairo_font_options_destroy(fo);
}

/* The surface for the format: PNG draws into the caller's pixels, MEASURE into a 1x1 image, and
 * PDF/SVG stream into the destination's temporary file, opened here so that an unwritable
 * destination fails before any drawing. */
static cairo_surface_t *create_surface(PlotCanvas *c, const char *path, char *err, size_t errlen) {
  double wpt = c->width * 72.0 / c->dpi, hpt = c->height * 72.0 / c->dpi;
  switch (c->fmt) {
  case PLOT_FMT_PNG:
    c->stride = cairo_format_stride_for_width(CAIRO_FORMAT_ARGB32, c->width);
    return cairo_image_surface_create_for_data(c->pixels, CAIRO_FORMAT_ARGB32, c->width, c->height,
                                               c->stride);
  case PLOT_FMT_MEASURE: return cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
  default:
    if (lt_atomic_open(&c->out, path)) {
      out_failed(c, path, err, errlen);
      return NULL;
    }
    if (c->fmt == PLOT_FMT_PDF)
      return cairo_pdf_surface_create_for_stream(write_stream, c, wpt, hpt);
    return cairo_svg_surface_create_for_stream(write_stream, c, wpt, hpt);
  }
}

PlotStatus plot_canvas_open(PlotCanvas *c, PlotFormat fmt, int width, int height, double dpi,
                            unsigned char *pixels, const char *path, char *err, size_t errlen) {
  memset(c, 0, sizeof *c);
  c->fmt = fmt;
  c->width = fmt == PLOT_FMT_MEASURE ? 1 : width;
  c->height = fmt == PLOT_FMT_MEASURE ? 1 : height;
  c->dpi = dpi > 0 ? dpi : 72;
  c->pixels = pixels;
  /* Every early return leaves c in a state plot_canvas_close can release. */
  if (fmt != PLOT_FMT_MEASURE && plot_canvas_bytes(width, height) == 0) return PLOT_EVALUE;
  if (fmt == PLOT_FMT_PNG && !pixels) return PLOT_EVALUE;
  c->surface = create_surface(c, path, err, errlen);
  if (!c->surface) return c->out.err == EINTR ? PLOT_EINTR : PLOT_EIO;
  if (cairo_surface_status(c->surface) != CAIRO_STATUS_SUCCESS) return PLOT_ECAIRO;
  c->cr = cairo_create(c->surface);
  if (cairo_status(c->cr) != CAIRO_STATUS_SUCCESS) return PLOT_ENOMEM;
  set_font_options(c);
  apply_ctm(c);
  plot_canvas_unclip(c);
  return PLOT_OK;
}

/* Hands pixels written directly back to cairo before it draws again. */
static void sync_direct(PlotCanvas *c) {
  if (c->direct_dirty) {
    cairo_surface_mark_dirty(c->surface);
    c->direct_dirty = 0;
  }
}

/* Encodes the pixels into the destination's temporary file and renames it into place. */
static PlotStatus commit_png(PlotCanvas *c, const char *path, int level, char *err, size_t errlen) {
  sync_direct(c);
  cairo_surface_flush(c->surface);
  if (lt_atomic_open(&c->out, path)) return out_failed(c, path, err, errlen);
  int rc =
      plot_png_write(&c->out, c->pixels, c->width, c->height, c->stride, c->dpi, level, c->opaque);
  /* -1: memory ran out, nothing of the file is kept; -2: a write failed, and out_failed reports the
   * errno it left. */
  if (rc == -1) {
    lt_atomic_abort(&c->out);
    set_err(err, errlen, path, "out of memory while encoding");
    return PLOT_ENOMEM;
  }
  if (rc == 0 && lt_atomic_commit(&c->out) == 0) return PLOT_OK;
  return out_failed(c, path, err, errlen);
}

/* Finishes the PDF/SVG stream (cairo writes its trailer now) and renames the file into place. A
 * cairo error that is not a failed write is reported by its own name. */
static PlotStatus commit_vector(PlotCanvas *c, const char *path, char *err, size_t errlen) {
  /* The context goes first: a finished surface takes no more drawing, and with cr NULL every later
   * call reports a closed canvas instead. */
  cairo_destroy(c->cr);
  c->cr = NULL;
  cairo_surface_finish(c->surface);
  cairo_status_t st = cairo_surface_status(c->surface);
  /* A failed write also shows as a cairo error; then out_failed reports the write's own errno. */
  if (st != CAIRO_STATUS_SUCCESS && !c->out.err) {
    lt_atomic_abort(&c->out);
    set_err(err, errlen, path, cairo_status_to_string(st));
    return PLOT_EIO;
  }
  if (st == CAIRO_STATUS_SUCCESS && lt_atomic_commit(&c->out) == 0) return PLOT_OK;
  return out_failed(c, path, err, errlen);
}

PlotStatus plot_canvas_commit(PlotCanvas *c, const char *path, int level, char *err,
                              size_t errlen) {
  if (!c->surface) return PLOT_EVALUE;
  if (c->fmt == PLOT_FMT_PNG) return commit_png(c, path, level, err, errlen);
  /* A PNG may be saved again after more drawing; a PDF or SVG is finished by its one commit. */
  if (c->fmt == PLOT_FMT_MEASURE || !c->out.live) return PLOT_EVALUE;
  return commit_vector(c, path, err, errlen);
}

void plot_canvas_close(PlotCanvas *c) {
  if (c->cr) cairo_destroy(c->cr);
  c->cr = NULL;
  if (c->surface) {
    /* Finished before destroyed, so cairo has stopped writing before lt_atomic_abort removes the
     * temporary file. */
    if (c->out.live) cairo_surface_finish(c->surface);
    cairo_surface_destroy(c->surface);
  }
  c->surface = NULL;
  lt_atomic_abort(&c->out);
  plot_sprites_free(c->sprites);
  c->sprites = NULL;
  c->pixels = NULL;
}

/* ---- state ------------------------------------------------------------------- */

void plot_canvas_set_origin(PlotCanvas *c, double ox, double oy) {
  c->ox = ox;
  c->oy = oy;
  if (c->cr) apply_ctm(c);
}

void plot_canvas_clip(PlotCanvas *c, double x, double y, double w, double h) {
  if (!c->cr) return;
  cairo_reset_clip(c->cr);
  cairo_rectangle(c->cr, x, y, w, h);
  cairo_clip(c->cr);
  /* A device-pixel copy for the direct pixel paths (markers, raster lines), which bypass cairo's
   * clip. */
  c->clip[0] = fmax(0, x + c->ox);
  c->clip[1] = fmax(0, y + c->oy);
  c->clip[2] = fmin(c->width, x + w + c->ox);
  c->clip[3] = fmin(c->height, y + h + c->oy);
}

void plot_canvas_unclip(PlotCanvas *c) {
  if (c->cr) cairo_reset_clip(c->cr);
  c->clip[0] = 0;
  c->clip[1] = 0;
  c->clip[2] = c->width;
  c->clip[3] = c->height;
}

static void set_rgba(cairo_t *cr, PlotRGBA k) { cairo_set_source_rgba(cr, k.r, k.g, k.b, k.a); }

void plot_canvas_fill(PlotCanvas *c, PlotRGBA color) {
  if (!c->cr) return;
  sync_direct(c);
  cairo_save(c->cr);
  cairo_reset_clip(c->cr);
  cairo_set_operator(c->cr, CAIRO_OPERATOR_SOURCE);
  set_rgba(c->cr, color);
  cairo_paint(c->cr);
  cairo_restore(c->cr);
  c->opaque = color.a >= 1; /* "over" on opaque pixels keeps them opaque */
}

PlotStatus plot_canvas_pixel(PlotCanvas *c, int x, int y, uint8_t rgba[4]) {
  if (c->fmt != PLOT_FMT_PNG || !c->surface || !c->pixels) return PLOT_EVALUE;
  if (x < 0 || y < 0 || x >= c->width || y >= c->height) return PLOT_EVALUE;
  cairo_surface_flush(c->surface); /* drawing cairo still holds reaches the pixels */
  const uint32_t *row = (const uint32_t *)(c->pixels + (size_t)y * (size_t)c->stride);
  plot_unpremultiply(row[x], rgba, 4);
  return PLOT_OK;
}

/* ---- shapes -------------------------------------------------------------------- */

static int stroke_visible(const PlotStroke *s) { return s && s->width > 0 && s->color.a > 0; }

static void apply_stroke(cairo_t *cr, const PlotStroke *s) {
  static const cairo_line_cap_t caps[] = {CAIRO_LINE_CAP_BUTT, CAIRO_LINE_CAP_ROUND,
                                          CAIRO_LINE_CAP_SQUARE};
  static const cairo_line_join_t joins[] = {CAIRO_LINE_JOIN_MITER, CAIRO_LINE_JOIN_ROUND,
                                            CAIRO_LINE_JOIN_BEVEL};
  cairo_set_line_width(cr, s->width);
  /* An out-of-range cap or join falls back to the first entry instead of reading past the table. */
  cairo_set_line_cap(cr, caps[s->cap <= PLOT_CAP_SQUARE ? s->cap : 0]);
  cairo_set_line_join(cr, joins[s->join <= PLOT_JOIN_BEVEL ? s->join : 0]);
  cairo_set_dash(cr, s->dash, s->dash ? s->ndash : 0, s->dash_offset);
  set_rgba(cr, s->color);
}

/* Snaps a user coordinate so the device pixel edge (or centre, for odd
 * stroke widths) falls on the grid, as Agg's PathSnapper does. */
static double snap_coord(double v, double origin, double half) {
  return floor(v + origin + 0.5) + half - origin;
}

/* One coordinate to pixels. On a log axis a value <= 0 is clipped, as matplotlib's default
 * nonpositive="clip": it maps to 1e-1000, far outside the axes, so a bar from 0 or a line down to
 * 0 runs off the bottom edge (the axes clip it) instead of vanishing; the pixel is kept within
 * +-2^22, where cairo's 24.8 fixed point still holds it. NaN stays NaN (a gap). */
static double map_coord(double v, double o, double s, int logscale) {
  if (!logscale) return o + s * v;
  if (v > 0) return o + s * log10(v);
  if (!(v <= 0)) return NAN;
  return fmax(-4194304.0, fmin(4194304.0, o + s * -1000.0));
}

static void map_point(const PlotXform *xf, double x, double y, double *px, double *py) {
  if (!xf) {
    *px = x;
    *py = y;
    return;
  }
  *px = map_coord(x, xf->ox, xf->sx, xf->logx);
  *py = map_coord(y, xf->oy, xf->sy, xf->logy);
}

PlotStatus plot_canvas_path(PlotCanvas *c, const double *x, const double *y, int64_t n,
                            const PlotXform *xf, int closed, const PlotRGBA *fill,
                            const PlotStroke *stroke, int snap) {
  if (!c->cr) return PLOT_EVALUE;
  int do_snap = snap && c->fmt == PLOT_FMT_PNG;
  /* An odd stroke width is snapped to pixel centres, an even one to pixel edges: either way the
   * stroke covers whole pixels. */
  double half = do_snap && stroke_visible(stroke) && ((int)lround(stroke->width) % 2) ? 0.5 : 0.0;
  sync_direct(c);
  cairo_new_path(c->cr);
  /* pen is 0 after a gap: the next finite point starts a new piece (move_to). */
  int pen = 0;
  for (int64_t i = 0; i < n; i++) {
    double px, py;
    map_point(xf, x[i], y[i], &px, &py);
    if (!isfinite(px) || !isfinite(py)) {
      pen = 0;
      continue;
    }
    if (do_snap) {
      px = snap_coord(px, c->ox, half);
      py = snap_coord(py, c->oy, half);
    }
    if (pen)
      cairo_line_to(c->cr, px, py);
    else
      cairo_move_to(c->cr, px, py);
    pen = 1;
  }
  if (closed) cairo_close_path(c->cr);
  if (fill && fill->a > 0) {
    set_rgba(c->cr, *fill);
    cairo_fill_preserve(c->cr);
  }
  if (stroke_visible(stroke)) {
    apply_stroke(c->cr, stroke);
    cairo_stroke_preserve(c->cr);
  }
  cairo_new_path(c->cr);
  return cairo_status(c->cr) == CAIRO_STATUS_SUCCESS ? PLOT_OK : PLOT_ECAIRO;
}

PlotStatus plot_canvas_rects(PlotCanvas *c, const double *x0, const double *y0, const double *x1,
                             const double *y1, int64_t n, const PlotXform *xf,
                             const PlotRGBA *fills, int64_t nfill, const PlotStroke *edge,
                             int snap) {
  if (!c->cr) return PLOT_EVALUE;
  int do_snap = snap && c->fmt == PLOT_FMT_PNG;
  double half = do_snap && stroke_visible(edge) && ((int)lround(edge->width) % 2) ? 0.5 : 0.0;
  sync_direct(c);
  for (int64_t i = 0; i < n; i++) {
    double ax, ay, bx, by;
    map_point(xf, x0[i], y0[i], &ax, &ay);
    map_point(xf, x1[i], y1[i], &bx, &by);
    if (!isfinite(ax) || !isfinite(ay) || !isfinite(bx) || !isfinite(by)) continue;
    if (do_snap) {
      double sax = snap_coord(ax, c->ox, half), sbx = snap_coord(bx, c->ox, half);
      double say = snap_coord(ay, c->oy, half), sby = snap_coord(by, c->oy, half);
      /* Snap an edge pair only when it stays at least a pixel apart: a thin bar must not vanish. */
      if (fabs(sbx - sax) >= 1) {
        ax = sax;
        bx = sbx;
      }
      if (fabs(sby - say) >= 1) {
        ay = say;
        by = sby;
      }
    }
    cairo_new_path(c->cr);
    cairo_rectangle(c->cr, fmin(ax, bx), fmin(ay, by), fabs(bx - ax), fabs(by - ay));
    if (fills && nfill > 0) {
      PlotRGBA f = fills[nfill == 1 ? 0 : i];
      if (f.a > 0) {
        set_rgba(c->cr, f);
        cairo_fill_preserve(c->cr);
      }
    }
    if (stroke_visible(edge)) {
      apply_stroke(c->cr, edge);
      cairo_stroke_preserve(c->cr);
    }
    cairo_new_path(c->cr);
  }
  return cairo_status(c->cr) == CAIRO_STATUS_SUCCESS ? PLOT_OK : PLOT_ECAIRO;
}

/* Raster polylines: segments painted directly (cairo's stroker composites a
 * mask the size of each line's bounding box, far slower for long thin lines). */
static void polylines_raster(PlotCanvas *c, const double *pts, int64_t n, int len,
                             const PlotRGBA *colors, int64_t ncolor, double width, PlotCap cap) {
  int clip[4];
  if (!plot_raster_clip(c, clip)) return;
  plot_raster_begin(c);
  /* Segments are half-open along their length, so a joint is painted by one segment only; caps
   * extend the two ends of each finite piece, and the last end gets 1e-9 so the final point itself
   * is included. */
  double capext = cap == PLOT_CAP_BUTT ? 0 : width / 2;
  for (int64_t i = 0; i < n; i++) {
    PlotRgba8 k = plot_rgba8(colors[ncolor == 1 ? 0 : i]);
    if (!k.a) continue;
    const double *p = pts + (size_t)i * (size_t)len * 2;
    for (int s = 0; s + 1 < len; s++) {
      double ax = p[2 * s] + c->ox, ay = p[2 * s + 1] + c->oy, bx = p[2 * s + 2] + c->ox,
             by = p[2 * s + 3] + c->oy;
      if (!isfinite(ax) || !isfinite(ay) || !isfinite(bx) || !isfinite(by)) continue;
      int first = s == 0 || !isfinite(p[2 * s - 2]) || !isfinite(p[2 * s - 1]);
      int last = s + 2 == len || !isfinite(p[2 * s + 4]) || !isfinite(p[2 * s + 5]);
      plot_raster_segment(c, ax, ay, bx, by, width, first ? capext : 0, last ? capext + 1e-9 : 0, k,
                          clip);
    }
  }
}

PlotStatus plot_canvas_polylines(PlotCanvas *c, const double *pts, int64_t n, int len,
                                 const PlotRGBA *colors, int64_t ncolor, double width,
                                 PlotCap cap) {
  if (!c->cr) return PLOT_EVALUE;
  if (width <= 0 || ncolor <= 0) return PLOT_OK;
  if (c->fmt == PLOT_FMT_PNG) {
    polylines_raster(c, pts, n, len, colors, ncolor, width, cap);
    return PLOT_OK;
  }
  PlotStroke s = {.width = width, .cap = cap, .join = PLOT_JOIN_ROUND};
  for (int64_t i = 0; i < n; i++) {
    s.color = colors[ncolor == 1 ? 0 : i];
    if (s.color.a <= 0) continue;
    const double *p = pts + (size_t)i * (size_t)len * 2;
    cairo_new_path(c->cr);
    int pen = 0;
    for (int k = 0; k < len; k++) {
      double px = p[2 * k], py = p[2 * k + 1];
      if (!isfinite(px) || !isfinite(py)) {
        pen = 0;
        continue;
      }
      if (pen)
        cairo_line_to(c->cr, px, py);
      else
        cairo_move_to(c->cr, px, py);
      pen = 1;
    }
    apply_stroke(c->cr, &s);
    cairo_stroke(c->cr);
  }
  return cairo_status(c->cr) == CAIRO_STATUS_SUCCESS ? PLOT_OK : PLOT_ECAIRO;
}

PlotStatus plot_canvas_round_rect(PlotCanvas *c, double x0, double y0, double x1, double y1,
                                  double r, const PlotRGBA *fill, const PlotStroke *stroke) {
  if (!c->cr) return PLOT_EVALUE;
  double w = x1 - x0, h = y1 - y0;
  if (!(w >= 0 && h >= 0) || !isfinite(r)) return PLOT_EVALUE;
  /* The radius is capped at half the shorter side, so the corner arcs meet at most. */
  r = fmax(0, fmin(r, fmin(w, h) / 2));
  sync_direct(c);
  cairo_new_path(c->cr);
  if (r > 0) {
    cairo_arc(c->cr, x1 - r, y0 + r, r, -M_PI / 2, 0);
    cairo_arc(c->cr, x1 - r, y1 - r, r, 0, M_PI / 2);
    cairo_arc(c->cr, x0 + r, y1 - r, r, M_PI / 2, M_PI);
    cairo_arc(c->cr, x0 + r, y0 + r, r, M_PI, 3 * M_PI / 2);
    cairo_close_path(c->cr);
  } else {
    cairo_rectangle(c->cr, x0, y0, w, h);
  }
  if (fill && fill->a > 0) {
    set_rgba(c->cr, *fill);
    cairo_fill_preserve(c->cr);
  }
  if (stroke_visible(stroke)) {
    apply_stroke(c->cr, stroke);
    cairo_stroke_preserve(c->cr);
  }
  cairo_new_path(c->cr);
  return cairo_status(c->cr) == CAIRO_STATUS_SUCCESS ? PLOT_OK : PLOT_ECAIRO;
}

/* ---- images -------------------------------------------------------------------- */

void plot_image_to_rgba8(const double *src, int64_t npix, int channels, uint8_t *out) {
  for (int64_t i = 0; i < npix; i++) {
    const double *s = src + i * channels;
    double v[4] = {0, 0, 0, 1};
    if (channels == 1)
      v[0] = v[1] = v[2] = s[0];
    else
      for (int k = 0; k < channels && k < 4; k++) v[k] = s[k];
    for (int k = 0; k < 4; k++) {
      /* NaN maps to 0 (lrint of NaN is undefined); the rest is clipped to [0, 1]. */
      double x = v[k] != v[k] ? 0 : v[k] < 0 ? 0 : v[k] > 1 ? 1 : v[k];
      out[4 * i + k] = (uint8_t)lrint(x * 255);
    }
  }
}

PlotStatus plot_canvas_image(PlotCanvas *c, const uint8_t *rgba, int iw, int ih, double x, double y,
                             double w, double h, int smooth, double alpha) {
  if (!c->cr) return PLOT_EVALUE;
  if (iw <= 0 || ih <= 0 || !(w > 0) || !(h > 0)) return PLOT_EVALUE;
  cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, iw, ih);
  if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(img);
    return PLOT_ENOMEM;
  }
  unsigned char *data = cairo_image_surface_get_data(img);
  int stride = cairo_image_surface_get_stride(img);
  for (int r = 0; r < ih; r++) {
    uint32_t *row = (uint32_t *)(data + (size_t)r * stride);
    for (int k = 0; k < iw; k++) {
      const uint8_t *p = rgba + ((size_t)r * iw + k) * 4;
      unsigned a = p[3];
      /* Cairo wants premultiplied ARGB32: premultiply with rounding. */
      unsigned rr = (p[0] * a + 127) / 255, gg = (p[1] * a + 127) / 255,
               bb = (p[2] * a + 127) / 255;
      row[k] = (a << 24) | (rr << 16) | (gg << 8) | bb;
    }
  }
  cairo_surface_mark_dirty(img);
  sync_direct(c);
  cairo_save(c->cr);
  /* Clipped to the destination: EXTEND_PAD keeps bilinear filtering from fading the border to
   * transparent, and the clip keeps the padding from spreading beyond the image. */
  cairo_rectangle(c->cr, x, y, w, h);
  cairo_clip(c->cr);
  cairo_translate(c->cr, x, y);
  cairo_scale(c->cr, w / iw, h / ih);
  cairo_set_source_surface(c->cr, img, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(c->cr),
                           smooth ? CAIRO_FILTER_BILINEAR : CAIRO_FILTER_NEAREST);
  cairo_pattern_set_extend(cairo_get_source(c->cr), CAIRO_EXTEND_PAD);
  cairo_paint_with_alpha(c->cr, alpha);
  cairo_restore(c->cr);
  cairo_surface_destroy(img);
  return cairo_status(c->cr) == CAIRO_STATUS_SUCCESS ? PLOT_OK : PLOT_ECAIRO;
}
