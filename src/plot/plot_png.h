/* plot_png.h - canvas pixels (premultiplied ARGB32) to straight RGBA, and saving a canvas as PNG
 * through io's encoder (core, no Lua). */
#ifndef LUNETTE_PLOT_PNG_H
#define LUNETTE_PLOT_PNG_H
#include <stdint.h>
#include "io/atomic.h"
#include "io/io_png.h"

/* fig:save's compression level when none is given: io's, libdeflate's own default. */
#define PLOT_PNG_LEVEL IO_PNG_LEVEL

/* Encodes an image in Cairo's ARGB32 layout (premultiplied, native-endian
 * uint32 per pixel, rows `stride` bytes apart) as a PNG appended to f.
 * Fully opaque images are written as 8-bit RGB, others as RGBA (straight
 * alpha). dpi is recorded in a pHYs chunk. io_png_write encodes it: rows
 * Up-filtered (on several threads when OpenMP has them) and compressed by
 * libdeflate at `level` (1..9, smaller and slower as it grows; anything else
 * means PLOT_PNG_LEVEL); the bytes do not depend on the thread count. opaque
 * != 0 promises every pixel has alpha 255 (skips the scan). Holds the
 * filtered image and its compressed form in memory while it works, no
 * converted copy of the pixels. Returns 0, or -1 when memory runs out, -2
 * when a write fails (f->err says why; EINTR when interrupted). */
int plot_png_write(LtAtomicFile *f, const unsigned char *pixels, int width, int height, int stride,
                   double dpi, int level, int opaque);

/* One pixel of Cairo's ARGB32 layout (premultiplied, native-endian) as
 * straight bytes: o[0..2] = R, G, B, and o[3] = alpha when channels is 4
 * (3 drops alpha: opaque images). Colour is rounded to nearest; a fully
 * transparent pixel reads as black. The PNG writer and
 * plot_canvas_pixel both use it, so a canvas and its saved file agree. */
static inline void plot_unpremultiply(uint32_t p, unsigned char *o, int channels) {
  unsigned a = p >> 24;
  unsigned r = (p >> 16) & 0xff;
  unsigned g = (p >> 8) & 0xff;
  unsigned b = p & 0xff;
  if (channels == 4 && a != 0xff && a != 0) {
    r = (r * 255 + a / 2) / a;
    g = (g * 255 + a / 2) / a;
    b = (b * 255 + a / 2) / a;
  }
  o[0] = (unsigned char)r;
  o[1] = (unsigned char)g;
  o[2] = (unsigned char)b;
  if (channels == 4) o[3] = (unsigned char)a;
}

#endif
