/* io_png.h - PNG decode (all color types, bit depths and Adam7 interlacing) on zlib, and the one
 * PNG encoder of lunette (lt.io.write_png and plot's figures) on libdeflate (core, no Lua). */
#ifndef LUNETTE_IO_PNG_H
#define LUNETTE_IO_PNG_H
#include "io/io.h"

#define IO_PNG_MAX_SIDE (1u << 24)

typedef struct {
  uint32_t w, h;
  int depth, color, interlace;
  int channels;  /* of the result: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
  LtDtype dtype; /* uint8, or int32 (0..65535) for 16-bit images */
  int npal;
  uint8_t pal[256][4]; /* palette with alpha (255 unless tRNS says otherwise) */
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

/* The compression level io_png_encode uses, and plot's fig:save unless told otherwise. */
#define IO_PNG_LEVEL 6

/* How io_png_write filters rows before compressing them (the choice changes file size and CPU,
 * never the decoded pixels; measured in io_png.c). */
typedef enum {
  IO_PNG_ADAPTIVE, /* per row, the filter leaving the least sum of |bytes| (libpng's heuristic) */
  IO_PNG_UP        /* every row minus the row above: cheapest, and as good on flat-coloured plots */
} IoPngFilter;

/* Writes row y (0-based) of an image into out[0 .. width*channels): 8-bit straight (not
 * premultiplied) samples, channels interleaved. io_png_write calls it once or twice per row, from
 * several threads at once and in no set order, so it must only read shared state. */
typedef void (*IoPngRowFn)(void *ud, int64_t y, uint8_t *out);

/* An image to encode: its size and layout, where its rows come from, and how to store it. */
typedef struct {
  int64_t width, height; /* 1 .. 2^31 - 1 each */
  int channels;          /* 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA */
  IoPngRowFn row;        /* the rows, through ud */
  void *ud;
  IoPngFilter filter;
  int level;            /* libdeflate's compression level, 1 (fast) .. 12 (small) */
  double dpi;           /* > 0: recorded in a pHYs chunk; otherwise none */
  const char *software; /* non-NULL: recorded in a tEXt "Software" chunk */
} IoPngImage;

/* Encodes img as an 8-bit PNG appended to w: signature, IHDR, then pHYs and tEXt when asked,
 * IDAT chunks of at most 1 MiB, IEND. Rows are filtered in bands on every OpenMP thread (the bytes
 * do not depend on the thread count), then the whole filtered image is compressed by one
 * libdeflate call: it holds the filtered image ((1 + width*channels) * height bytes) and its
 * compressed form in memory at once, both through io_alloc, but never a second copy of the
 * pixels. Returns LT_OK; LT_EVALUE for a size, channel count or level out of range, LT_ENOMEM
 * when memory runs out, or io_writer_write's failure (LT_EINTR when interrupted, w->err set);
 * c->msg says why. w is left open either way (the caller commits or aborts). */
LtStatus io_png_write(IoCtx *c, const IoPngImage *img, IoWriter *w);

/* Encodes a contiguous [H,W] or [H,W,C] (C = 1..4) image of uint8, or of
 * a float dtype holding [0,1] (clamped, rounded, NaN as 0), as an 8-bit
 * PNG with per-row adaptive filtering at IO_PNG_LEVEL, written to w (io_png_write). */
LtStatus io_png_encode(IoCtx *c, const Tensor *img, IoWriter *w);

#endif
