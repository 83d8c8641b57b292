/* plot_marker.c - scatter markers: matplotlib's shapes, a sprite cache, raster blitting. */
/* Its cairo_ calls go through src/lazy.h: Cairo is loaded on first use. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "plot/plot.h"
#include "plot/plot_raster.h"

/* ---- shapes ---------------------------------------------------------------- */

typedef struct {
  const char *name;
  PlotMarker m;
  int filled;
} MarkerName;

static const MarkerName marker_names[] = {{"o", PLOT_M_CIRCLE, 1},
                                          {".", PLOT_M_POINT, 1},
                                          {",", PLOT_M_PIXEL, 1},
                                          {"^", PLOT_M_TRI_UP, 1},
                                          {"v", PLOT_M_TRI_DOWN, 1},
                                          {"<", PLOT_M_TRI_LEFT, 1},
                                          {">", PLOT_M_TRI_RIGHT, 1},
                                          {"s", PLOT_M_SQUARE, 1},
                                          {"D", PLOT_M_DIAMOND, 1},
                                          {"d", PLOT_M_THIN_DIAMOND, 1},
                                          {"p", PLOT_M_PENTAGON, 1},
                                          {"h", PLOT_M_HEXAGON, 1},
                                          {"8", PLOT_M_OCTAGON, 1},
                                          {"*", PLOT_M_STAR, 1},
                                          {"+", PLOT_M_PLUS, 0},
                                          {"x", PLOT_M_X, 0},
                                          {"|", PLOT_M_VLINE, 0},
                                          {"_", PLOT_M_HLINE, 0},
                                          {NULL, 0, 0}};

int plot_marker_from_name(const char *name, int *filled) {
  for (const MarkerName *m = marker_names; m->name; m++)
    if (strcmp(m->name, name) == 0) {
      *filled = m->filled;
      return (int)m->m;
    }
  return -1;
}

/* Vertices of a regular polygon or star of radius r, first vertex up. */
/* With inner > 0, a star: 2n vertices alternating the outer radius and inner * r. */
static void polygon_path(cairo_t *cr, double cx, double cy, int n, double r, double inner) {
  int nv = inner > 0 ? 2 * n : n;
  for (int i = 0; i < nv; i++) {
    double th = 2 * M_PI * i / nv + M_PI / 2, rr = (inner > 0 && i % 2) ? r * inner : r;
    double px = cx + rr * cos(th), py = cy - rr * sin(th);
    if (i == 0)
      cairo_move_to(cr, px, py);
    else
      cairo_line_to(cr, px, py);
  }
  cairo_close_path(cr);
}

static void poly3(cairo_t *cr, double cx, double cy, double s, const double v[6]) {
  cairo_move_to(cr, cx + v[0] * s, cy + v[1] * s);
  cairo_line_to(cr, cx + v[2] * s, cy + v[3] * s);
  cairo_line_to(cr, cx + v[4] * s, cy + v[5] * s);
  cairo_close_path(cr);
}

static void segment(cairo_t *cr, double x0, double y0, double x1, double y1) {
  cairo_move_to(cr, x0, y0);
  cairo_line_to(cr, x1, y1);
}

/* Appends marker m of size s (matplotlib markersize, px) centred at (cx, cy). Sizes as
 * matplotlib's MarkerStyle: s is the circle's diameter and the side of the square and triangles;
 * the diamond is that square turned 45 degrees (half-diagonal s / sqrt 2), the thin one squeezed
 * to 0.6 of its width; the point is a circle half as wide. */
static void marker_path(cairo_t *cr, PlotMarker m, double cx, double cy, double s) {
  static const double up[6] = {0, -0.5, -0.5, 0.5, 0.5, 0.5},
                      down[6] = {0, 0.5, -0.5, -0.5, 0.5, -0.5};
  static const double left[6] = {-0.5, 0, 0.5, -0.5, 0.5, 0.5},
                      right[6] = {0.5, 0, -0.5, -0.5, -0.5, 0.5};
  double h = s / 2, d = s * M_SQRT1_2;
  switch (m) {
  case PLOT_M_CIRCLE:
    cairo_new_sub_path(cr);
    cairo_arc(cr, cx, cy, h, 0, 2 * M_PI);
    break;
  case PLOT_M_POINT:
    cairo_new_sub_path(cr);
    cairo_arc(cr, cx, cy, h / 2, 0, 2 * M_PI);
    break;
  case PLOT_M_PIXEL: cairo_rectangle(cr, cx - 0.5, cy - 0.5, 1, 1); break;
  case PLOT_M_TRI_UP: poly3(cr, cx, cy, s, up); break;
  case PLOT_M_TRI_DOWN: poly3(cr, cx, cy, s, down); break;
  case PLOT_M_TRI_LEFT: poly3(cr, cx, cy, s, left); break;
  case PLOT_M_TRI_RIGHT: poly3(cr, cx, cy, s, right); break;
  case PLOT_M_SQUARE: cairo_rectangle(cr, cx - h, cy - h, s, s); break;
  case PLOT_M_DIAMOND:
  case PLOT_M_THIN_DIAMOND: {
    double dx = m == PLOT_M_DIAMOND ? d : 0.6 * d;
    cairo_move_to(cr, cx, cy - d);
    cairo_line_to(cr, cx + dx, cy);
    cairo_line_to(cr, cx, cy + d);
    cairo_line_to(cr, cx - dx, cy);
    cairo_close_path(cr);
    break;
  }
  case PLOT_M_PENTAGON: polygon_path(cr, cx, cy, 5, h, 0); break;
  case PLOT_M_HEXAGON: polygon_path(cr, cx, cy, 6, h, 0); break;
  case PLOT_M_OCTAGON: {
    for (int i = 0; i < 8; i++) {
      /* Turned by 22.5 degrees, as matplotlib, so that the octagon has flat top and sides. */
      double th = 2 * M_PI * i / 8 + M_PI / 2 + M_PI / 8;
      if (i == 0)
        cairo_move_to(cr, cx + h * cos(th), cy - h * sin(th));
      else
        cairo_line_to(cr, cx + h * cos(th), cy - h * sin(th));
    }
    cairo_close_path(cr);
    break;
  }
  /* 0.381966: matplotlib's inner radius of the star (a regular pentagram's). */
  case PLOT_M_STAR: polygon_path(cr, cx, cy, 5, h, 0.381966); break;
  case PLOT_M_PLUS:
    segment(cr, cx - h, cy, cx + h, cy);
    segment(cr, cx, cy - h, cx, cy + h);
    break;
  case PLOT_M_X:
    segment(cr, cx - h, cy - h, cx + h, cy + h);
    segment(cr, cx - h, cy + h, cx + h, cy - h);
    break;
  case PLOT_M_VLINE: segment(cr, cx, cy - h, cx, cy + h); break;
  case PLOT_M_HLINE: segment(cr, cx - h, cy, cx + h, cy); break;
  default: break;
  }
}

/* The line-only markers (+ x | _) come last in PlotMarker. */
static int marker_fillable(PlotMarker m) { return m < PLOT_M_PLUS; }

/* ---- sprite cache ------------------------------------------------------------- */

typedef struct {
  uint64_t key; /* 0 = empty slot */
  int dim;      /* sprite is dim x dim pixels */
  int half;     /* marker centre sits at (half + phase/4) */
  uint8_t *fill, *stroke;
  /* Face then edge in one opaque colour cover 1 - (1 - fill)(1 - stroke): one mask to paint when
   * both exist (NULL otherwise; the one mask that exists is then the union). */
  uint8_t *both;
  uint8_t *span; /* per row, the columns either mask covers: [span[2r], span[2r + 1]) */
  int box[4]; /* non-empty pixels: [box0, box2) x [box1, box3) */
} Sprite;

struct PlotSpriteCache {
  Sprite *slots;
  size_t cap, used;
};

void plot_sprites_free(PlotSpriteCache *s) {
  if (!s) return;
  for (size_t i = 0; i < s->cap; i++) {
    free(s->slots[i].fill);
    free(s->slots[i].stroke);
    free(s->slots[i].both);
    free(s->slots[i].span);
  }
  free(s->slots);
  free(s);
}

/* Size and edge width quantised to 1/16 px: markers closer than that share a sprite. Bit 0 is
 * always set, so no key is 0 (the empty-slot mark). */
static uint64_t sprite_key(PlotMarker m, double size, double lw, int phx, int phy) {
  uint64_t sq = (uint64_t)lround(size * 16) & 0xfffff, lq = (uint64_t)lround(lw * 16) & 0xffff;
  return 1 | ((uint64_t)m << 1) | ((uint64_t)phx << 6) | ((uint64_t)phy << 8) | (sq << 10) |
         (lq << 30);
}

/* MurmurHash3's 64-bit finaliser: spreads the packed fields over the bits the table index uses. */
static uint64_t mix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

/* Open addressing with linear probing: the capacity stays a power of two, and sprite_get grows the
 * table before it is half full. */
static int cache_grow(PlotSpriteCache *s) {
  size_t ncap = s->cap ? s->cap * 2 : 256;
  Sprite *ns = calloc(ncap, sizeof *ns);
  if (!ns) return -1;
  for (size_t i = 0; i < s->cap; i++) {
    if (!s->slots[i].key) continue;
    size_t j = mix(s->slots[i].key) & (ncap - 1);
    while (ns[j].key) j = (j + 1) & (ncap - 1);
    ns[j] = s->slots[i];
  }
  free(s->slots);
  s->slots = ns;
  s->cap = ncap;
  return 0;
}

/* Renders one coverage mask (fill or stroke) of a sprite with cairo. */
static uint8_t *render_mask(PlotMarker m, double size, double lw, double cx, double cy, int dim,
                            int stroke) {
  /* An A8 surface is a coverage mask: alpha only, one byte per pixel. */
  cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_A8, dim, dim);
  cairo_t *cr = cairo_create(surf);
  marker_path(cr, m, cx, cy, size);
  if (stroke) {
    cairo_set_line_width(cr, lw);
    /* Round joins and butt caps: markers_vector strokes with the same settings. */
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    cairo_stroke(cr);
  } else {
    cairo_fill(cr);
  }
  cairo_surface_flush(surf);
  uint8_t *out = NULL;
  if (cairo_status(cr) == CAIRO_STATUS_SUCCESS && (out = malloc((size_t)dim * dim))) {
    const unsigned char *data = cairo_image_surface_get_data(surf);
    int stride = cairo_image_surface_get_stride(surf);
    for (int r = 0; r < dim; r++)
      /* Copied out without cairo's row padding, so a mask is plain dim x dim bytes. */
      memcpy(out + (size_t)r * dim, data + (size_t)r * stride, (size_t)dim);
  }
  cairo_destroy(cr);
  cairo_surface_destroy(surf);
  return out;
}

/* The smallest box holding every non-zero coverage of either mask, and each row's covered
 * columns in sp->span when it exists (2 * dim bytes; an empty row gets [0, 0)). */
static void sprite_box(Sprite *sp) {
  int x0 = sp->dim, y0 = sp->dim, x1 = 0, y1 = 0;
  for (int r = 0; r < sp->dim; r++) {
    int lo = sp->dim, hi = 0;
    for (int q = 0; q < sp->dim; q++) {
      size_t k = (size_t)r * sp->dim + q;
      if ((sp->fill && sp->fill[k]) || (sp->stroke && sp->stroke[k])) {
        if (q < lo) lo = q;
        hi = q + 1;
      }
    }
    if (sp->span) {
      sp->span[2 * r] = (uint8_t)(hi > lo ? lo : 0);
      sp->span[2 * r + 1] = (uint8_t)(hi > lo ? hi : 0);
    }
    if (hi <= lo) continue;
    if (lo < x0) x0 = lo;
    if (hi > x1) x1 = hi;
    if (r < y0) y0 = r;
    y1 = r + 1;
  }
  /* An empty sprite (nothing visible at this size) gets an empty box. */
  if (x1 <= x0) x0 = y0 = x1 = y1 = 0;
  sp->box[0] = x0;
  sp->box[1] = y0;
  sp->box[2] = x1;
  sp->box[3] = y1;
}

/* The sprite for (marker, size, width, phase), rendered on first use; NULL when memory runs out.
 * The pointer stays valid until the next call (growing moves the slots). */
static const Sprite *sprite_get(PlotSpriteCache *s, PlotMarker m, double size, double lw, int phx,
                                int phy) {
  uint64_t key = sprite_key(m, size, lw, phx, phy);
  if (s->cap) {
    size_t j = mix(key) & (s->cap - 1);
    while (s->slots[j].key) {
      if (s->slots[j].key == key) return &s->slots[j];
      j = (j + 1) & (s->cap - 1);
    }
  }
  /* Not found: grow first (load at most one half), then render and insert. */
  if ((s->used + 1) * 2 > s->cap && cache_grow(s) != 0) return NULL;
  Sprite sp = {.key = key};
  /* The widest marker, the diamond, reaches size / sqrt 2 (about 0.707 size) from its centre; then
   * half the edge and a pixel of antialiasing. */
  double ext = size * 0.72 + lw / 2 + 1;
  sp.half = (int)ceil(ext) + 1;
  sp.dim = 2 * sp.half + 1;
  /* The phase (in quarter pixels) places the marker's centre within its pixel. */
  double cx = sp.half + phx / 4.0, cy = sp.half + phy / 4.0;
  sp.fill = marker_fillable(m) ? render_mask(m, size, lw, cx, cy, sp.dim, 0) : NULL;
  sp.stroke = lw > 0 ? render_mask(m, size, lw, cx, cy, sp.dim, 1) : NULL;
  if ((marker_fillable(m) && !sp.fill) || (lw > 0 && !sp.stroke)) {
    free(sp.fill);
    free(sp.stroke);
    return NULL;
  }
  /* Spans are bytes: a sprite wider than 255 pixels paints its box's columns instead. */
  sp.span = sp.dim <= 255 ? malloc((size_t)sp.dim * 2) : NULL;
  if (sp.dim <= 255 && !sp.span) {
    free(sp.fill);
    free(sp.stroke);
    return NULL;
  }
  if (sp.fill && sp.stroke) {
    size_t area = (size_t)sp.dim * sp.dim;
    if (!(sp.both = malloc(area))) {
      free(sp.fill);
      free(sp.stroke);
      free(sp.span);
      return NULL;
    }
    for (size_t k = 0; k < area; k++) {
      /* Rounded as over() rounds: 255 - (255 - f)(255 - s) / 255. */
      unsigned rest = (255u - sp.fill[k]) * (255u - sp.stroke[k]) + 128;
      sp.both[k] = (uint8_t)(255 - ((rest + (rest >> 8)) >> 8));
    }
  }
  sprite_box(&sp);
  size_t j = mix(key) & (s->cap - 1);
  while (s->slots[j].key) j = (j + 1) & (s->cap - 1);
  s->slots[j] = sp;
  s->used++;
  return &s->slots[j];
}

/* ---- blitting --------------------------------------------------------------------- */

static void map_xy(const PlotXform *xf, double x, double y, double *px, double *py) {
  if (!xf) {
    *px = x;
    *py = y;
    return;
  }
  *px = xf->ox + xf->sx * (xf->logx ? (x > 0 ? log10(x) : NAN) : x);
  *py = xf->oy + xf->sy * (xf->logy ? (y > 0 ? log10(y) : NAN) : y);
}

/* The 8-bit colour of point i from k (nk rows: 0 none, 1 shared, or one per point). */
static PlotRgba8 color_of(const PlotRGBA *k, int64_t nk, int64_t i) {
  PlotRgba8 none = {0, 0, 0, 0};
  return nk ? plot_rgba8(k[nk == 1 ? 0 : i]) : none;
}

/* Paints sprite sp with its pixel centre at (ix, iy) within clip, face colour f and edge colour e
 * (alpha 0: not painted): one mask when face and edge are one opaque colour or only one of them
 * shows, otherwise face then edge. */
static void paint_sprite(PlotCanvas *c, const Sprite *sp, int ix, int iy, PlotRgba8 f,
                         PlotRgba8 e, const int clip[4]) {
  int x0 = ix - sp->half, y0 = iy - sp->half;
  if (!sp->fill) f.a = 0;
  if (!sp->stroke) e.a = 0;
  if (!f.a && !e.a) return;
  if (!e.a) {
    plot_raster_mask(c, sp->fill, sp->span, sp->dim, sp->box, x0, y0, f, clip);
  } else if (!f.a) {
    plot_raster_mask(c, sp->stroke, sp->span, sp->dim, sp->box, x0, y0, e, clip);
  } else if (sp->both && f.a == 255 && e.a == 255 && f.r == e.r && f.g == e.g && f.b == e.b) {
    plot_raster_mask(c, sp->both, sp->span, sp->dim, sp->box, x0, y0, f, clip);
  } else {
    plot_raster_sprite(c, sp->fill, sp->stroke, sp->dim, sp->box, x0, y0, f, e, clip);
  }
}

/* The pixel whose centre a marker of point i sits on: matplotlib's Agg snaps marker offsets to
 * pixel centres, floor(p + 0.5) + 0.5. 0 for a point off any canvas (or non-finite). */
static int marker_pixel(const PlotCanvas *c, const PlotMarkers *m, int64_t i, int *ix, int *iy) {
  double px, py;
  map_xy(m->xf, m->x[i], m->y[i], &px, &py);
  px += c->ox;
  py += c->oy;
  /* The bound keeps the int conversion defined; such a point is off any canvas. */
  if (!(fabs(px) < 1e9) || !(fabs(py) < 1e9)) return 0;
  *ix = (int)floor(px + 0.5);
  *iy = (int)floor(py + 0.5);
  return 1;
}

/* One point of a batch in drawing order: its pixel and colours packed as 0xAARRGGBB (straight). */
typedef struct {
  int32_t x, y;
  uint32_t face, edge;
} Blit;

static uint32_t pack8(PlotRgba8 k) { return (k.a << 24) | (k.r << 16) | (k.g << 8) | k.b; }

static PlotRgba8 unpack8(uint32_t v) {
  PlotRgba8 k = {(v >> 16) & 255, (v >> 8) & 255, v & 255, v >> 24};
  return k;
}

/* Fills b (n) with the points of m in drawing order; a point off the canvas or not drawn gets
 * x = INT32_MIN. inv (n, scratch) is used when m has an order: the points are read in input
 * order and written to their place in drawing order, as scattered writes stall the processor less
 * than scattered reads of x, y and the colours would. */
static void blits_gather(const PlotCanvas *c, const PlotMarkers *m, const int clip[4],
                         const Sprite *sp, Blit *b, int64_t *inv) {
  if (m->order) {
    for (int64_t k = 0; k < m->n; k++) b[k].x = INT32_MIN;
    for (int64_t k = 0; k < m->n; k++)
      if (m->order[k] >= 0 && m->order[k] < m->n) inv[m->order[k]] = k;
  }
#pragma omp parallel for schedule(static) if (m->n >= 20000)
  for (int64_t i = 0; i < m->n; i++) {
    int64_t k = m->order ? inv[i] : i;
    int ix, iy;
    if (k < 0) continue;
    b[k].x = INT32_MIN;
    if (!marker_pixel(c, m, i, &ix, &iy)) continue;
    int x0 = ix - sp->half, y0 = iy - sp->half;
    if (y0 + sp->box[3] <= clip[1] || y0 + sp->box[1] >= clip[3] ||
        x0 + sp->box[2] <= clip[0] || x0 + sp->box[0] >= clip[2])
      continue;
    b[k].x = ix;
    b[k].y = iy;
    b[k].face = pack8(color_of(m->face, m->nface, i));
    /* edge = "face" hands the same colours twice: convert them once. */
    if (m->edge == m->face && m->nedge == m->nface)
      b[k].edge = b[k].face;
    else
      b[k].edge = pack8(color_of(m->edge, m->nedge, i));
  }
}

/* Raster markers with one sprite for all: gathered once, then the canvas is cut into bands of
 * rows painted in parallel, each walking every point in order (a pixel belongs to one band, so
 * it sees the points in order and the pixels equal one pass's). */
static PlotStatus markers_shared(PlotCanvas *c, const PlotMarkers *m, const Sprite *sp,
                                 const int clip[4]) {
  Blit *b = malloc((size_t)m->n * sizeof *b);
  int64_t *inv = m->order ? malloc((size_t)m->n * sizeof *inv) : NULL;
  if (!b || (m->order && !inv)) {
    free(b);
    free(inv);
    return PLOT_ENOMEM;
  }
  /* An index the order lacks (a bad order) stays -1 and is not drawn. */
  if (inv)
    for (int64_t i = 0; i < m->n; i++) inv[i] = -1;
  blits_gather(c, m, clip, sp, b, inv);
  free(inv);
  int rows = clip[3] - clip[1];
  /* Several bands per thread even out dense and empty stretches of rows; small batches stay on
   * one thread, where walking the points per band would cost more than it saves. */
  int nb = m->n >= 20000 ? 4 * omp_get_max_threads() : 1;
  if (nb > rows) nb = rows;
#pragma omp parallel for schedule(dynamic, 1) if (nb > 1)
  for (int t = 0; t < nb; t++) {
    int band[4] = {clip[0], clip[1] + (int)((int64_t)rows * t / nb), clip[2],
                   clip[1] + (int)((int64_t)rows * (t + 1) / nb)};
    for (int64_t k = 0; k < m->n; k++) {
      if (b[k].x == INT32_MIN) continue;
      int y0 = b[k].y - sp->half;
      if (y0 + sp->box[3] <= band[1] || y0 + sp->box[1] >= band[3]) continue;
      paint_sprite(c, sp, b[k].x, b[k].y, unpack8(b[k].face), unpack8(b[k].edge), band);
    }
  }
  free(b);
  return PLOT_OK;
}

/* Raster markers: one cached sprite per (marker, size, width), blitted with "over" straight into
 * the pixels, in the order given. */
static PlotStatus markers_raster(PlotCanvas *c, const PlotMarkers *m) {
  /* The sprite cache lives with the canvas: a scatter of many equal markers renders one sprite. */
  if (!c->sprites && !(c->sprites = calloc(1, sizeof *c->sprites))) return PLOT_ENOMEM;
  int clip[4];
  if (!plot_raster_clip(c, clip)) return PLOT_OK;
  plot_raster_begin(c);
  if (m->nsize == 1) {
    double size = m->size[0];
    if (!(size > 0) || !isfinite(size)) return PLOT_OK;
    /* Phase 2 (half a pixel): the sprite's centre sits on the pixel centre ix + 0.5. */
    const Sprite *sp = sprite_get(c->sprites, m->marker, size, m->edge_width, 2, 2);
    if (!sp) return PLOT_ENOMEM;
    return markers_shared(c, m, sp, clip);
  }
  for (int64_t k = 0; k < m->n; k++) {
    int64_t i = m->order ? m->order[k] : k;
    int ix, iy;
    if (i < 0 || i >= m->n || !marker_pixel(c, m, i, &ix, &iy)) continue;
    double size = m->size[i];
    if (!(size > 0) || !isfinite(size)) continue;
    /* Points far outside the clip are skipped before the sprite lookup. */
    double reach = 4 * size + m->edge_width;
    if (ix < clip[0] - reach || ix > clip[2] + reach || iy < clip[1] - reach ||
        iy > clip[3] + reach)
      continue;
    const Sprite *sp = sprite_get(c->sprites, m->marker, size, m->edge_width, 2, 2);
    if (!sp) return PLOT_ENOMEM;
    PlotRgba8 f = color_of(m->face, m->nface, i), e = color_of(m->edge, m->nedge, i);
    paint_sprite(c, sp, ix, iy, f, e, clip);
  }
  return PLOT_OK;
}

/* Vector markers: one path per point, face then edge before the next point, so overlapping markers
 * stack as matplotlib draws them. */
static PlotStatus markers_vector(PlotCanvas *c, const PlotMarkers *m) {
  cairo_t *cr = c->cr;
  cairo_set_line_width(cr, m->edge_width);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
  cairo_set_dash(cr, NULL, 0, 0);
  for (int64_t k = 0; k < m->n; k++) {
    int64_t i = m->order ? m->order[k] : k;
    if (i < 0 || i >= m->n) continue;
    double px, py, size = m->size[m->nsize == 1 ? 0 : i];
    map_xy(m->xf, m->x[i], m->y[i], &px, &py);
    if (!isfinite(px) || !isfinite(py) || !(size > 0) || !isfinite(size)) continue;
    cairo_new_path(cr);
    marker_path(cr, m->marker, px, py, size);
    if (marker_fillable(m->marker) && m->nface) {
      PlotRGBA f = m->face[m->nface == 1 ? 0 : i];
      if (f.a > 0) {
        cairo_set_source_rgba(cr, f.r, f.g, f.b, f.a);
        cairo_fill_preserve(cr);
      }
    }
    if (m->edge_width > 0 && m->nedge) {
      PlotRGBA e = m->edge[m->nedge == 1 ? 0 : i];
      if (e.a > 0) {
        cairo_set_source_rgba(cr, e.r, e.g, e.b, e.a);
        cairo_stroke_preserve(cr);
      }
    }
    cairo_new_path(cr);
  }
  return cairo_status(cr) == CAIRO_STATUS_SUCCESS ? PLOT_OK : PLOT_ECAIRO;
}

PlotStatus plot_canvas_markers(PlotCanvas *c, const PlotMarkers *m) {
  if (!c->cr || m->n < 0 || m->nsize < 1 || (int)m->marker < 0 || m->marker >= PLOT_M_COUNT)
    return PLOT_EVALUE;
  if (m->n == 0) return PLOT_OK;
  if (c->fmt == PLOT_FMT_PNG) return markers_raster(c, m);
  return markers_vector(c, m);
}
