/* plot_text.c - text measurement, matplotlib's multi-line layout and alignment, Cairo drawing. */
/* Its cairo_ calls go through src/lazy.h: Cairo is loaded on first use. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "plot/plot.h"

typedef struct {
  int n; /* lines */
  char **lines;
  double *w, *x, *y;    /* width; pen origin relative to the box (y up) */
  double width, height; /* unrotated box */
  double descent;
  double baseline;   /* matplotlib's `baseline` of the last line */
  double bbox[4];    /* rotated, aligned box relative to the anchor: xmin, ymin, w, h (y up) */
  double offx, offy; /* alignment offset subtracted from rotated positions */
} Layout;

static void select_font(cairo_t *cr, const PlotFont *f) {
  cairo_select_font_face(cr, f->family && *f->family ? f->family : "DejaVu Sans",
                         f->italic ? CAIRO_FONT_SLANT_ITALIC : CAIRO_FONT_SLANT_NORMAL,
                         f->bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, f->size > 0 ? f->size : 10);
}

/* Ink height and descent of a string. matplotlib measures hinted glyphs,
 * whose vertical extents sit on whole pixels; rounding the exact extents
 * reproduces its line spacing to within a pixel. */
static void ink_metrics(cairo_t *cr, const char *s, double *w, double *h, double *d) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, s, &e);
  double ascent = round(fmax(0, -e.y_bearing)), descent = round(fmax(0, e.height + e.y_bearing));
  *w = e.x_advance;
  *h = ascent + descent;
  *d = descent;
}

static void layout_free(Layout *L) {
  for (int i = 0; i < L->n; i++) free(L->lines[i]);
  free(L->lines);
  free(L->w);
  free(L->x);
  free(L->y);
  memset(L, 0, sizeof *L);
}

/* Splits text at '\n' into L->lines (newlines + 1 of them, empty ones included); -1 when memory
 * runs out, layout_free then releasing what was made. */
static int split_lines(Layout *L, const char *text) {
  int n = 1;
  for (const char *p = text; *p; p++)
    if (*p == '\n') n++;
  L->lines = calloc((size_t)n, sizeof *L->lines);
  L->w = calloc((size_t)n, sizeof(double));
  L->x = calloc((size_t)n, sizeof(double));
  L->y = calloc((size_t)n, sizeof(double));
  if (!L->lines || !L->w || !L->x || !L->y) return -1;
  L->n = n;
  const char *start = text;
  for (int i = 0; i < n; i++) {
    const char *end = strchr(start, '\n');
    size_t len = end ? (size_t)(end - start) : strlen(start);
    if (!(L->lines[i] = malloc(len + 1))) return -1;
    memcpy(L->lines[i], start, len);
    L->lines[i][len] = 0;
    start = end ? end + 1 : start + len;
  }
  return 0;
}

/* Line positions in the unrotated box (matplotlib Text._get_layout). */
static void stack_lines(cairo_t *cr, Layout *L, double linespacing, int malign) {
  double lw, lp_h, lp_d;
  /* "lp" spans the font's ascender and descender: every line is at least that tall, and min_dy
   * keeps baselines at least linespacing times its ascent apart. */
  ink_metrics(cr, "lp", &lw, &lp_h, &lp_d);
  double min_dy = (lp_h - lp_d) * linespacing, thisy = 0, d = lp_d, width = 0;
  for (int i = 0; i < L->n; i++) {
    double w = 0, h = 0;
    d = 0;
    /* An empty line measures nothing but still takes the height of "lp", as in matplotlib. */
    if (L->lines[i][0]) ink_metrics(cr, L->lines[i], &w, &h, &d);
    h = fmax(h, lp_h);
    d = fmax(d, lp_d);
    /* y grows upwards from the box's top; thisy walks down line by line and y[i] is line i's
     * baseline. */
    L->baseline = (h - d) - thisy;
    if (i == 0)
      thisy = -(h - d);
    else
      thisy -= fmax(min_dy, (h - d) * linespacing);
    L->w[i] = w;
    L->y[i] = thisy;
    thisy -= d;
    width = fmax(width, w);
  }
  L->descent = d;
  L->width = width;
  /* The box runs from the top (y = 0) to the last baseline minus its descent. */
  L->height = -(L->y[L->n - 1] - d);
  for (int i = 0; i < L->n; i++)
    /* multialign places each line within the box's width, independently of how the box is
     * anchored. */
    L->x[i] = malign == PLOT_HA_CENTER  ? (width - L->w[i]) / 2
              : malign == PLOT_HA_RIGHT ? width - L->w[i]
                                        : 0;
}

static void rot(double c, double s, double x, double y, double *ox, double *oy) {
  *ox = c * x - s * y;
  *oy = s * x + c * y;
}

static double pick_x(PlotHAlign ha, double xmin, double xmax) {
  return ha == PLOT_HA_CENTER ? (xmin + xmax) / 2 : ha == PLOT_HA_RIGHT ? xmax : xmin;
}

/* Rotates the box and computes the alignment offset. */
static void align_box(Layout *L, const PlotTextPos *p) {
  double th = p->rotation * M_PI / 180, c = cos(th), s = sin(th);
  /* The unrotated box's corners (y up, top at 0): the rotated text's bounding box is theirs. */
  double cx[4] = {0, 0, L->width, L->width}, cy[4] = {-L->height, 0, 0, -L->height};
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (int k = 0; k < 4; k++) {
    double rx, ry;
    rot(c, s, cx[k], cy[k], &rx, &ry);
    xmin = fmin(xmin, rx);
    xmax = fmax(xmax, rx);
    ymin = fmin(ymin, ry);
    ymax = fmax(ymax, ry);
  }
  double baseline = L->baseline;
  double w = xmax - xmin, h = ymax - ymin, ox, oy;
  /* Default mode aligns the bounding box of the rotated text; "anchor" mode aligns the unrotated
   * box and rotates that offset. The baseline rule in default mode (ymin + descent) is
   * matplotlib's. */
  if (!p->anchor_mode) {
    ox = pick_x(p->ha, xmin, xmax);
    switch (p->va) {
    case PLOT_VA_CENTER: oy = (ymin + ymax) / 2; break;
    case PLOT_VA_TOP: oy = ymax; break;
    case PLOT_VA_BASELINE: oy = ymin + L->descent; break;
    case PLOT_VA_CENTER_BASELINE: oy = ymin + h - baseline / 2; break;
    default: oy = ymin; break;
    }
  } else {
    double ax = pick_x(p->ha, 0, L->width), ay;
    switch (p->va) {
    case PLOT_VA_CENTER: ay = -L->height / 2; break;
    case PLOT_VA_TOP: ay = 0; break;
    case PLOT_VA_BASELINE: ay = -baseline; break;
    case PLOT_VA_CENTER_BASELINE: ay = -baseline / 2; break;
    default: ay = -L->height; break;
    }
    rot(c, s, ax, ay, &ox, &oy);
  }
  L->offx = ox;
  L->offy = oy;
  L->bbox[0] = xmin - ox;
  L->bbox[1] = ymin - oy;
  L->bbox[2] = w;
  L->bbox[3] = h;
}

/* Splits, measures and aligns text for font f and placement p into L (plot_text_bbox,
 * plot_text_size and plot_canvas_text share it); -1 when memory runs out. */
static int do_layout(cairo_t *cr, const char *text, const PlotFont *f, const PlotTextPos *p,
                     Layout *L) {
  memset(L, 0, sizeof *L);
  if (split_lines(L, text) != 0) {
    layout_free(L);
    return -1;
  }
  select_font(cr, f);
  int malign = p->multialign >= 0 ? p->multialign : (int)p->ha;
  stack_lines(cr, L, p->linespacing > 0 ? p->linespacing : 1.2, malign);
  align_box(L, p);
  return 0;
}

/* The layout's y axis points up; the canvas's points down. */
static void to_screen_bbox(const Layout *L, const PlotTextPos *p, double bbox[4]) {
  bbox[0] = p->x + L->bbox[0];
  bbox[2] = p->x + L->bbox[0] + L->bbox[2];
  bbox[1] = p->y - (L->bbox[1] + L->bbox[3]);
  bbox[3] = p->y - L->bbox[1];
}

PlotStatus plot_text_bbox(PlotCanvas *c, const char *text, const PlotFont *f, const PlotTextPos *p,
                          double bbox[4]) {
  Layout L;
  if (!c->cr) return PLOT_EVALUE;
  cairo_save(c->cr);
  int rc = do_layout(c->cr, text, f, p, &L);
  cairo_restore(c->cr);
  if (rc != 0) return PLOT_ENOMEM;
  to_screen_bbox(&L, p, bbox);
  layout_free(&L);
  return PLOT_OK;
}

PlotStatus plot_text_size(PlotCanvas *c, const char *text, const PlotFont *f, double linespacing,
                          double *w, double *h, double *descent) {
  Layout L;
  PlotTextPos p = {
      .ha = PLOT_HA_LEFT, .va = PLOT_VA_BASELINE, .multialign = -1, .linespacing = linespacing};
  if (!c->cr) return PLOT_EVALUE;
  cairo_save(c->cr);
  int rc = do_layout(c->cr, text, f, &p, &L);
  cairo_restore(c->cr);
  if (rc != 0) return PLOT_ENOMEM;
  *w = L.width;
  *h = L.height;
  *descent = L.descent;
  layout_free(&L);
  return PLOT_OK;
}

PlotStatus plot_canvas_text(PlotCanvas *c, const char *text, const PlotFont *f,
                            const PlotTextPos *p, PlotRGBA color, double bbox[4]) {
  Layout L;
  if (!c->cr) return PLOT_EVALUE;
  /* Pixels written behind cairo's back are handed back before it draws the text. */
  if (c->direct_dirty) {
    cairo_surface_mark_dirty(c->surface);
    c->direct_dirty = 0;
  }
  cairo_save(c->cr);
  if (do_layout(c->cr, text, f, p, &L) != 0) {
    cairo_restore(c->cr);
    return PLOT_ENOMEM;
  }
  double th = p->rotation * M_PI / 180, cs = cos(th), sn = sin(th);
  cairo_set_source_rgba(c->cr, color.r, color.g, color.b, color.a);
  for (int i = 0; i < L.n; i++) {
    if (!L.lines[i][0]) continue;
    double rx, ry;
    rot(cs, sn, L.x[i], L.y[i], &rx, &ry);
    cairo_save(c->cr);
    cairo_translate(c->cr, p->x + rx - L.offx, p->y - (ry - L.offy));
    /* Each line at its own rotated pen origin; -th as the canvas's y axis points down. */
    cairo_rotate(c->cr, -th);
    cairo_move_to(c->cr, 0, 0);
    cairo_show_text(c->cr, L.lines[i]);
    cairo_restore(c->cr);
  }
  cairo_restore(c->cr);
  if (bbox) to_screen_bbox(&L, p, bbox);
  layout_free(&L);
  return cairo_status(c->cr) == CAIRO_STATUS_SUCCESS ? PLOT_OK : PLOT_ECAIRO;
}
