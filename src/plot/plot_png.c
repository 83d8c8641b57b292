/* plot_png.c - what is plot's own in saving a canvas as PNG: reading Cairo's premultiplied ARGB32
 * pixels as straight RGB or RGBA rows, and choosing RGB when every pixel is opaque. The encoding
 * (filtering, libdeflate, chunks) is io's one encoder, io_png_write in src/io/io_png.c, where the
 * measurements behind its choices are. */
#include <stdint.h>
#include <string.h>
#include "io/io_png.h"
#include "plot/plot_png.h"

/* The canvas as io_png_write reads it. */
typedef struct {
  const unsigned char *pixels;
  int width;
  int stride;
  int channels;
} CanvasRows;

/* Whether every pixel has alpha 255: then the PNG is written as RGB, a quarter fewer bytes to
 * filter and compress. */
static int is_opaque(const unsigned char *pixels, int width, int height, int stride) {
  for (int y = 0; y < height; y++) {
    const uint32_t *row = (const uint32_t *)(pixels + (size_t)y * stride);
    for (int x = 0; x < width; x++)
      if ((row[x] >> 24) != 0xff) return 0;
  }
  return 1;
}

/* Row y of the canvas as straight bytes (an IoPngRowFn: reads the pixels only). */
static void canvas_row(void *ud, int64_t y, uint8_t *out) {
  const CanvasRows *c = ud;
  const uint32_t *row = (const uint32_t *)(c->pixels + (size_t)y * (size_t)c->stride);
  for (int x = 0; x < c->width; x++) {
    plot_unpremultiply(row[x], out + (size_t)x * (size_t)c->channels, c->channels);
  }
}

int plot_png_write(LtAtomicFile *f, const unsigned char *pixels, int width, int height, int stride,
                   double dpi, int level, int opaque) {
  if (width <= 0 || height <= 0) return -1;
  if (level < 1 || level > 9) level = PLOT_PNG_LEVEL;
  if ((size_t)width * 4 + 1 > ((size_t)1 << 24)) return -1;
  CanvasRows rows = {pixels, width, stride, 3};
  if (!opaque && !is_opaque(pixels, width, height, stride)) rows.channels = 4;
  IoPngImage img = {
      .width = width,
      .height = height,
      .channels = rows.channels,
      .row = canvas_row,
      .ud = &rows,
      .filter = IO_PNG_UP,
      .level = level,
      .dpi = dpi,
      .software = "lunette",
  };
  IoCtx c;
  io_ctx_init(&c);
  if (io_png_write(&c, &img, f) == LT_OK) return 0;
  return f->err ? -2 : -1; /* a failed write left its errno in f; otherwise memory ran out */
}
