/* plot_raster.c - direct drawing on raster canvases: "over" through masks, antialiased lines. */
/* Its cairo_ calls go through src/lazy.h: Cairo is loaded on first use. */
#include <math.h>
#include "hot.h"
#include "plot/plot_raster.h"

/* x / 255 rounded to nearest, without a division; exact for x up to 255 * 255 (Blinn's trick). */
static inline unsigned div255(unsigned x) {
  x += 128;
  return (x + (x >> 8)) >> 8;
}

/* v clamped to [0, 1] (NaN to 0, as fmin(fmax(v, 0), 1)) times 255, rounded to nearest even:
 * comparisons rather than fmin/fmax, which are libm calls here, and this runs per point. */
static inline unsigned channel8(double v) {
  double c = v > 0 ? (v < 1 ? v : 1) : 0;
  return (unsigned)lrint(c * 255);
}

PlotRgba8 plot_rgba8(PlotRGBA k) {
  PlotRgba8 o;
  o.r = channel8(k.r);
  o.g = channel8(k.g);
  o.b = channel8(k.b);
  o.a = channel8(k.a);
  return o;
}

int plot_raster_clip(const PlotCanvas *c, int clip[4]) {
  /* Only whole pixels inside the clip; the 1e-9 lets an edge that is an integer up to rounding
   * count as that integer. */
  clip[0] = (int)ceil(c->clip[0] - 1e-9);
  clip[1] = (int)ceil(c->clip[1] - 1e-9);
  clip[2] = (int)floor(c->clip[2] + 1e-9);
  clip[3] = (int)floor(c->clip[3] + 1e-9);
  return clip[2] > clip[0] && clip[3] > clip[1];
}

void plot_raster_begin(PlotCanvas *c) {
  /* Cairo may still hold drawing for the surface: flush it before the first direct write. The
   * pixels are handed back (mark_dirty) before cairo draws again (plot.c's sync_direct). */
  if (!c->direct_dirty) cairo_surface_flush(c->surface);
  c->direct_dirty = 1;
}

/* dst = k * e + dst * (1 - e) on premultiplied ARGB32, e in 0..255, two
 * channels per 32-bit multiply (red|blue and alpha|green lanes). */
static inline uint32_t over(uint32_t d, PlotRgba8 k, unsigned e) {
  unsigned inv = 255 - e;
  uint32_t rb = ((k.r << 16) | k.b) * e + (d & 0x00ff00ffu) * inv;
  uint32_t ag = ((255u << 16) | k.g) * e + ((d >> 8) & 0x00ff00ffu) * inv;
  rb += 0x00800080u;
  ag += 0x00800080u;
  rb = ((rb + ((rb >> 8) & 0x00ff00ffu)) >> 8) & 0x00ff00ffu;
  ag = ((ag + ((ag >> 8) & 0x00ff00ffu)) >> 8) & 0x00ff00ffu;
  return rb | (ag << 8);
}

LT_HOT void plot_raster_sprite(PlotCanvas *c, const uint8_t *fill, const uint8_t *stroke, int dim,
                        const int box[4], int x0, int y0, PlotRgba8 face, PlotRgba8 edge,
                        const int clip[4]) {
  int qa = box[0], qb = box[2], ra = box[1], rb = box[3];
  /* The sprite's box is cut to the clip once, so the pixel loop needs no bounds tests. */
  if (x0 + qa < clip[0]) qa = clip[0] - x0;
  if (x0 + qb > clip[2]) qb = clip[2] - x0;
  if (y0 + ra < clip[1]) ra = clip[1] - y0;
  if (y0 + rb > clip[3]) rb = clip[3] - y0;
  if (!face.a) fill = NULL;
  if (!edge.a) stroke = NULL;
  for (int r = ra; r < rb; r++) {
    uint32_t *row = (uint32_t *)(c->pixels + (size_t)(y0 + r) * c->stride) + x0;
    const uint8_t *fr = fill ? fill + (size_t)r * dim : NULL,
                  *sr = stroke ? stroke + (size_t)r * dim : NULL;
    for (int q = qa; q < qb; q++) {
      unsigned ef = fr ? div255(face.a * fr[q]) : 0, es = sr ? div255(edge.a * sr[q]) : 0;
      if (!(ef | es)) continue;
      uint32_t d = row[q];
      /* Face first, then edge over it, as matplotlib paints a marker. */
      if (ef) d = over(d, face, ef);
      if (es) d = over(d, edge, es);
      row[q] = d;
    }
  }
}

LT_HOT void plot_raster_mask(PlotCanvas *c, const uint8_t *mask, const uint8_t *span, int dim,
                             const int box[4], int x0, int y0, PlotRgba8 k, const int clip[4]) {
  int qlo = box[0], qhi = box[2], ra = box[1], rb = box[3];
  if (x0 + qlo < clip[0]) qlo = clip[0] - x0;
  if (x0 + qhi > clip[2]) qhi = clip[2] - x0;
  if (y0 + ra < clip[1]) ra = clip[1] - y0;
  if (y0 + rb > clip[3]) rb = clip[3] - y0;
  if (!k.a) return;
  /* Opaque and fully covered: over() would return k itself (premultiplied = straight at
   * a = 255). */
  uint32_t solid = (255u << 24) | (k.r << 16) | (k.g << 8) | k.b;
  for (int r = ra; r < rb; r++) {
    uint32_t *restrict row = (uint32_t *)(c->pixels + (size_t)(y0 + r) * c->stride) + x0;
    const uint8_t *restrict mr = mask + (size_t)r * dim;
    /* A disc's rows are shorter than its box away from the middle: only the covered columns. */
    int qa = span && span[2 * r] > qlo ? span[2 * r] : qlo;
    int qb = span && span[2 * r + 1] < qhi ? span[2 * r + 1] : qhi;
    /* Branch-free, so the x86-64-v3/v4 clones run it eight or sixteen pixels at a time: e = 0
     * leaves the pixel as it was (over() with e = 0 returns d). */
    for (int q = qa; q < qb; q++) {
      unsigned e = div255(k.a * mr[q]);
      uint32_t d = row[q];
      uint32_t blend = over(d, k, e);
      row[q] = e == 255 ? solid : blend;
    }
  }
}

/* Length of [d - half, d + half] inside the pixel [-0.5, 0.5]. */
static inline double cover(double d, double half) {
  double lo = fmax(-0.5, d - half), hi = fmin(0.5, d + half);
  return hi > lo ? hi - lo : 0;
}

static inline void plot_px(PlotCanvas *c, int x, int y, PlotRgba8 k, double cov) {
  unsigned e = (unsigned)lrint(cov * k.a);
  if (!e) return;
  uint32_t *p = (uint32_t *)(c->pixels + (size_t)y * c->stride) + x;
  *p = over(*p, k, e > 255 ? 255 : e);
}

void plot_raster_segment(PlotCanvas *c, double ax, double ay, double bx, double by, double w,
                         double ext0, double ext1, PlotRgba8 k, const int clip[4]) {
  double dx = bx - ax, dy = by - ay, len = hypot(dx, dy);
  if (!(len > 1e-9) || !(w > 0) || !k.a) return;
  /* Walk the major axis one pixel column (or row) at a time and visit across it only the pixels the
   * band can touch: reach / cos on either side of the centre line, plus half a pixel. */
  double ux = dx / len, uy = dy / len, half = w / 2, reach = half + 0.5;
  int xmajor = fabs(dx) >= fabs(dy);
  double major_slope = xmajor ? dy / dx : dx / dy;
  double cosv = xmajor ? fabs(ux) : fabs(uy), span = reach / cosv + 0.5;
  double a0 = xmajor ? fmin(ax, bx) : fmin(ay, by), a1 = xmajor ? fmax(ax, bx) : fmax(ay, by);
  double ext = fmax(ext0, ext1) + reach;
  int lo = (int)floor(a0 - ext), hi = (int)ceil(a1 + ext);
  int lim_lo = xmajor ? clip[0] : clip[1], lim_hi = xmajor ? clip[2] : clip[3];
  if (lo < lim_lo) lo = lim_lo;
  if (hi > lim_hi - 1) hi = lim_hi - 1;
  for (int i = lo; i <= hi; i++) {
    double ci = i + 0.5;
    double mc = xmajor ? ay + (ci - ax) * major_slope : ax + (ci - ay) * major_slope;
    int j0 = (int)floor(mc - span), j1 = (int)floor(mc + span);
    int jlo = xmajor ? clip[1] : clip[0], jhi = (xmajor ? clip[3] : clip[2]) - 1;
    if (j0 < jlo) j0 = jlo;
    if (j1 > jhi) j1 = jhi;
    for (int j = j0; j <= j1; j++) {
      double px = xmajor ? ci : j + 0.5, py = xmajor ? j + 0.5 : ci;
      double rx = px - ax, ry = py - ay;
      double s = rx * ux + ry * uy;
      /* s: the pixel centre's position along the segment. Half-open, so a pixel at a joint goes to
       * exactly one of the two segments meeting there. */
      if (s < -ext0 || s >= len + ext1) continue;
      /* Coverage measured across the line only (a 1-D box filter of the band): cheap, and exact for
       * axis-aligned lines. */
      double cov = cover(fabs(rx * uy - ry * ux), half);
      if (cov > 0) plot_px(c, xmajor ? i : j, xmajor ? j : i, k, cov);
    }
  }
}
