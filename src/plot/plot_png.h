/* plot_png.h - a fast PNG encoder for canvas pixels: parallel deflate of row bands (core, no Lua). */
#ifndef LUNETTE_PLOT_PNG_H
#define LUNETTE_PLOT_PNG_H
#include "io/atomic.h"

/* Encodes an image in Cairo's ARGB32 layout (premultiplied, native-endian
 * uint32 per pixel, rows `stride` bytes apart) as a PNG appended to f.
 * Fully opaque images are written as 8-bit RGB, others as RGBA (straight
 * alpha). dpi is recorded in a pHYs chunk. level 1 uses lunette's fast
 * encoder (plot_deflate.h), 2..9 zlib at that level (smaller, slower). Bands of
 * opaque != 0 promises every pixel has alpha 255 (skips the scan). Bands of
 * rows are compressed as independent deflate pieces joined by sync flushes
 * (on several threads when OpenMP has them); band boundaries do not depend
 * on the thread count, so the bytes are the same on any machine. Returns 0,
 * or -1 when memory runs out or zlib fails, -2 when a write fails (f->err
 * says why; EINTR when interrupted). */
int plot_png_write(LtAtomicFile *f, const unsigned char *pixels, int width, int height, int stride,
                   double dpi, int level, int opaque);

#endif
