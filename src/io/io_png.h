/* io_png.h - PNG decode (all color types, bit depths and Adam7 interlacing) and encode, on zlib (core, no Lua). */
#ifndef LUNETTE_IO_PNG_H
#define LUNETTE_IO_PNG_H
#include "io/io.h"

#define IO_PNG_MAX_SIDE (1u << 24)

typedef struct {
  uint32_t w, h;
  int depth, color, interlace;
  int channels;               /* of the result: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
  LtDtype dtype;              /* uint8, or int32 (0..65535) for 16-bit images */
  int npal;
  uint8_t pal[256][4];        /* palette with alpha (255 unless tRNS says otherwise) */
  int has_trns;
  uint64_t idat_bytes, raw_bytes;
} IoPngInfo;

/* Validates the chunk structure of p[0..n): signature, IHDR first with a
 * legal depth/color pair and sides in 1..IO_PNG_MAX_SIDE, CRC of every
 * chunk, PLTE for palette images, consecutive IDATs, IEND, no unknown
 * critical chunk; and bounds the decompressed size by c->max_inflate and
 * by what DEFLATE can produce from the IDAT bytes (1032:1), and the decoded
 * size by c->max_inflate, before any allocation. Fills *info (bytes after IEND are ignored). */
LtStatus io_png_info(IoCtx *c, const uint8_t *p, size_t n, IoPngInfo *info);
/* Decodes into out: h*w*channels elements of info->dtype, row-major
 * [h][w][channels]. Inflates into a scratch of info->raw_bytes bytes and
 * requires exactly that much data. */
LtStatus io_png_decode(IoCtx *c, const uint8_t *p, size_t n, const IoPngInfo *info, void *out);

/* Encodes a contiguous [H,W] or [H,W,C] (C = 1..4) image of uint8, or of
 * a float dtype holding [0,1] (clamped, rounded, NaN as 0), as an 8-bit
 * PNG with per-row adaptive filtering, written to w. */
LtStatus io_png_encode(IoCtx *c, const Tensor *img, IoWriter *w);

#endif
