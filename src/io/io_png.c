/* io_png.c - PNG chunk validation, inflate + unfilter + expand decoding (zlib), and the one PNG
 * encoder of lunette: filtering, then libdeflate. In lunette's build the libdeflate_* calls go
 * through the lazy loader (src/lazy.h, forced into every object): the library is opened the first
 * time a PNG is written. Builds without lazy.h (scripts/fuzz.sh) link -ldeflate. */
#include <libdeflate.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "io/io_png.h"

static const uint8_t SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
/* Adam7 interlacing (PNG spec, 8.2): for each pass, the first column and row and the column and
 * row steps, on an 8x8 grid. */
static const int PASS[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                               {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};

/* Samples per pixel as stored, by color type: gray 0, RGB 2, palette index 3, gray+alpha 4, RGBA
 * 6. */
static int file_channels(int color) {
  return color == 0 ? 1 : color == 2 ? 3 : color == 3 ? 1 : color == 4 ? 2 : 4;
}

/* Bytes per row of a pass of width pw (without the filter byte). */
static uint64_t row_bytes(const IoPngInfo *in, uint64_t pw) {
  return (pw * (uint64_t)file_channels(in->color) * (uint64_t)in->depth + 7) / 8;
}

static void pass_dims(const IoPngInfo *in, int p, uint64_t *pw, uint64_t *ph) {
  if (!in->interlace) {
    *pw = in->w;
    *ph = in->h;
    return;
  }
  /* Columns x0, x0 + dx, ... below w: ceil((w - x0) / dx), zero when the image is narrower than
   * x0 (likewise for rows). A pass can be empty on a small image. */
  *pw = (in->w + (uint64_t)(PASS[p][2] - PASS[p][0]) - 1) / (uint64_t)PASS[p][2];
  *ph = (in->h + (uint64_t)(PASS[p][3] - PASS[p][1]) - 1) / (uint64_t)PASS[p][3];
  if (in->w <= (uint32_t)PASS[p][0]) *pw = 0;
  if (in->h <= (uint32_t)PASS[p][1]) *ph = 0;
}

/* Reads IHDR (width, height, depth, color type, compression, filter, interlace) and refuses what
 * the spec forbids (PNG spec, 11.2.2: the legal depths per color type). */
static LtStatus check_ihdr(IoCtx *c, const uint8_t *d, IoPngInfo *in) {
  in->w = io_be32(d);
  in->h = io_be32(d + 4);
  in->depth = d[8];
  in->color = d[9];
  in->interlace = d[12];
  if (in->w == 0 || in->h == 0 || in->w > IO_PNG_MAX_SIDE || in->h > IO_PNG_MAX_SIDE)
    return io_fail(c, LT_ERANGE, "image size %ux%u is out of range (1 to %u per side)", in->w,
                   in->h, IO_PNG_MAX_SIDE);
  int dep = in->depth, ok;
  switch (in->color) {
  case 0: ok = dep == 1 || dep == 2 || dep == 4 || dep == 8 || dep == 16; break;
  case 3: ok = dep == 1 || dep == 2 || dep == 4 || dep == 8; break;
  case 2:
  case 4:
  case 6: ok = dep == 8 || dep == 16; break;
  default: ok = 0;
  }
  if (!ok) return io_fail(c, LT_EVALUE, "invalid color type %d with bit depth %d", in->color, dep);
  if (d[10] != 0 || d[11] != 0 || in->interlace > 1)
    return io_fail(c, LT_EVALUE, "unknown compression, filter or interlace method");
  /* A palette image decodes to RGB; to RGBA when tRNS gives its entries alpha (set later). */
  in->channels = in->color == 3 ? 3 : file_channels(in->color);
  in->dtype = dep == 16 ? LT_I32 : LT_U8;
  return LT_OK;
}

/* Sizes the filtered data (a filter byte per row of every pass) and bounds it before anything is
 * allocated: by what the IDAT bytes can inflate to and by c->max_inflate. */
static LtStatus check_sizes(IoCtx *c, IoPngInfo *in) {
  uint64_t raw = 0, pw, ph, bound, out;
  for (int p = 0; p < (in->interlace ? 7 : 1); p++) {
    pass_dims(in, p, &pw, &ph);
    if (pw && ph) raw += ph * (1 + row_bytes(in, pw));
  }
  in->raw_bytes = raw;
  /* DEFLATE expands at most about 1032:1 (a 258-byte match can cost as little as 2 bits); 1024
   * spare bytes cover the zlib header and tiny streams. More raw data than that cannot be in the
   * file. */
  if (!io_mul_u64(in->idat_bytes, 1032, &bound) || !io_add_u64(bound, 1024, &bound))
    bound = UINT64_MAX;
  if (raw > bound)
    return io_fail(c, LT_EVALUE,
                   "image of %ux%u cannot come from %llu compressed bytes (truncated?)", in->w,
                   in->h, (unsigned long long)in->idat_bytes);
  if (raw > c->max_inflate)
    return io_fail(c, LT_ERANGE, "image needs %llu bytes decompressed, over the %llu-byte limit",
                   (unsigned long long)raw, (unsigned long long)c->max_inflate);
  int64_t shape[3] = {in->h, in->w, in->channels};
  LtStatus st = io_check_shape(c, "image", 3, shape, lt_dtype_size(in->dtype), NULL, &out);
  if (st == LT_OK && out > c->max_inflate) /* 1-bit palette pixels expand 32-fold */
    st = io_fail(c, LT_ERANGE, "decoded image needs %llu bytes, over the %llu-byte limit",
                 (unsigned long long)out, (unsigned long long)c->max_inflate);
  return st;
}

/* One chunk: type and data in place; walks *pos. */
static LtStatus next_chunk(IoCtx *c, const uint8_t *p, size_t n, size_t *pos, const uint8_t **type,
                           const uint8_t **data, uint32_t *len) {
  if (n - *pos < 12) return io_fail(c, LT_EVALUE, "truncated chunk (no IEND)");
  *len = io_be32(p + *pos);
  /* The spec caps a chunk at 2^31 - 1 bytes; the subtraction form cannot overflow. */
  if (*len > 0x7FFFFFFFu || n - *pos - 12 < *len)
    return io_fail(c, LT_EVALUE, "chunk length %u runs past the end of the file", *len);
  *type = p + *pos + 4;
  *data = p + *pos + 8;
  uint32_t want = io_be32(*data + *len);
  /* The CRC covers the type and the data, not the length. */
  if ((uint32_t)crc32(0, *type, *len + 4) != want)
    return io_fail(c, LT_EVALUE, "CRC mismatch in chunk '%.4s'", (const char *)*type);
  *pos += 12 + (size_t)*len;
  return LT_OK;
}

LtStatus io_png_info(IoCtx *c, const uint8_t *p, size_t n, IoPngInfo *in) {
  memset(in, 0, sizeof *in);
  if (n < 8 || memcmp(p, SIG, 8)) return io_fail(c, LT_EVALUE, "not a PNG file (bad signature)");
  size_t pos = 8;
  int seen_idat = 0, idat_done = 0, chunks = 0;
  for (;;) {
    const uint8_t *type, *d;
    uint32_t len;
    LtStatus st = next_chunk(c, p, n, &pos, &type, &d, &len);
    if (st) return st;
    int first = chunks++ == 0, is_idat = !memcmp(type, "IDAT", 4);
    /* IHDR first and only first. */
    if (first != !memcmp(type, "IHDR", 4))
      return io_fail(c, LT_EVALUE, "IHDR must come first, once");
    if (first) {
      if (len != 13) return io_fail(c, LT_EVALUE, "bad IHDR length");
      if ((st = check_ihdr(c, d, in))) return st;
    } else if (!memcmp(type, "PLTE", 4)) {
      if (len % 3 || len == 0 || len > 768 || seen_idat)
        return io_fail(c, LT_EVALUE, "bad PLTE chunk");
      in->npal = (int)(len / 3);
      for (int i = 0; i < in->npal; i++) {
        memcpy(in->pal[i], d + 3 * i, 3);
        in->pal[i][3] = 255;
      }
    } else if (!memcmp(type, "tRNS", 4) && in->color == 3) {
      /* An alpha per palette entry, the missing ones opaque. (For gray and RGB images tRNS names
       * one transparent color, which is ignored.) */
      if (len > (uint32_t)in->npal)
        return io_fail(c, LT_EVALUE, "tRNS has more entries than the palette");
      for (uint32_t i = 0; i < len; i++) in->pal[i][3] = d[i];
      in->has_trns = 1;
    } else if (is_idat) {
      if (idat_done) return io_fail(c, LT_EVALUE, "IDAT chunks are not consecutive");
      seen_idat = 1;
      in->idat_bytes += len;
    } else if (!memcmp(type, "IEND", 4))
      break;
    else if (!(type[0] & 0x20))
      /* Bit 5 of the first letter (lower case) marks an ancillary chunk a decoder may skip; an
       * unknown critical one (upper case) means the image cannot be read. */
      return io_fail(c, LT_EVALUE, "unknown critical chunk '%.4s'", (const char *)type);
    if (seen_idat && !is_idat) idat_done = 1;
  }
  if (!seen_idat) return io_fail(c, LT_EVALUE, "no image data (IDAT)");
  if (in->color == 3 && !in->npal) return io_fail(c, LT_EVALUE, "palette image without PLTE");
  /* Decided after the walk: tRNS may come anywhere before IDAT. */
  if (in->color == 3 && in->has_trns) in->channels = 4;
  return check_sizes(c, in);
}

/* ---- decoding ---------------------------------------------------------------- */

/* Inflates the zlib stream split over the IDAT chunks into raw (raw_n bytes): the chunk walk is
 * repeated (io_png_info validated it), feeding each IDAT in turn. Data past raw_n is an error,
 * found by offering one spare byte once raw is full. */
static LtStatus inflate_idat(IoCtx *c, const uint8_t *p, size_t n, uint8_t *raw, uint64_t raw_n) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit(&z) != Z_OK) return io_fail(c, LT_ENOMEM, "cannot start zlib");
  size_t pos = 8;
  uint64_t made = 0;
  int r = Z_OK;
  LtStatus st = LT_OK;
  uint8_t extra;
  while (st == LT_OK && r != Z_STREAM_END) {
    const uint8_t *type, *d;
    uint32_t len;
    if ((st = next_chunk(c, p, n, &pos, &type, &d, &len))) break;
    if (!memcmp(type, "IEND", 4)) {
      st = io_fail(c, LT_EVALUE, "image data ends early (truncated)");
      break;
    }
    if (memcmp(type, "IDAT", 4)) continue;
    z.next_in = (Bytef *)(uintptr_t)d;
    z.avail_in = len;
    while (z.avail_in > 0 && r != Z_STREAM_END) {
      uint64_t left = raw_n - made;
      z.next_out = left ? raw + made : &extra;
      z.avail_out = left ? (uInt)(left > (1u << 30) ? (1u << 30) : left) : 1;
      r = inflate(&z, Z_NO_FLUSH);
      if (!left && z.avail_out == 0) {
        st = io_fail(c, LT_EVALUE, "more image data than the header allows");
        break;
      }
      made += (left ? (left > (1u << 30) ? (1u << 30) : left) : 1) - z.avail_out;
      if (r != Z_OK && r != Z_STREAM_END) {
        st = io_fail(c, LT_EVALUE, "corrupt image data (zlib: %s)", z.msg ? z.msg : "error");
        break;
      }
    }
  }
  inflateEnd(&z);
  if (st == LT_OK && made != raw_n)
    st = io_fail(c, LT_EVALUE, "image data has %llu bytes, expected %llu", (unsigned long long)made,
                 (unsigned long long)raw_n);
  return st;
}

static int paeth(int a, int b, int c) {
  int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  /* Ties go to a, then b, then c, as the spec (9.4) requires. */
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undoes the filters of one pass in place (rows of 1 + rb bytes). */
static LtStatus unfilter(IoCtx *c, uint8_t *rows, uint64_t ph, uint64_t rb, int bpp) {
  for (uint64_t y = 0; y < ph; y++) {
    /* prev is the row above, already unfiltered: row - (rb + 1) is its filter byte, so its data
     * starts at row - rb. */
    uint8_t *row = rows + y * (rb + 1), *cur = row + 1, *prev = y ? row - rb : NULL;
    int f = row[0];
    if (f > 4) return io_fail(c, LT_EVALUE, "unknown row filter %d", f);
    for (uint64_t i = 0; i < rb; i++) {
      /* a: the byte bpp to the left (the same sample of the previous pixel), b: above, c: above
       * left; zero outside the image. Filters work on bytes, whatever the bit depth. */
      int a = i >= (uint64_t)bpp ? cur[i - (uint64_t)bpp] : 0, b = prev ? prev[i] : 0;
      int cc = prev && i >= (uint64_t)bpp ? prev[i - (uint64_t)bpp] : 0;
      int add = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : paeth(a, b, cc);
      cur[i] = (uint8_t)(cur[i] + add);
    }
  }
  return LT_OK;
}

/* Sample k of a row at depth d. */
static unsigned sample(const uint8_t *row, uint64_t k, int d) {
  if (d == 8) return row[k];
  if (d == 16) return (unsigned)row[2 * k] << 8 | row[2 * k + 1];
  uint64_t bit = k * (uint64_t)d;
  /* Samples below 8 bits are packed from the most significant bit down. */
  return (row[bit / 8] >> (8 - d - (int)(bit % 8))) & ((1u << d) - 1);
}

/* Writes the pixels of one unfiltered pass into their places in out: palette entries looked up,
 * gray below 8 bits scaled to 0..255, 16-bit samples as int32. */
static LtStatus expand_pass(IoCtx *c, const IoPngInfo *in, int p, const uint8_t *rows, uint64_t pw,
                            uint64_t ph, void *out) {
  int fc = file_channels(in->color), oc = in->channels;
  uint64_t rb = row_bytes(in, pw);
  uint64_t x0 = in->interlace ? (uint64_t)PASS[p][0] : 0,
           y0 = in->interlace ? (uint64_t)PASS[p][1] : 0;
  uint64_t dx = in->interlace ? (uint64_t)PASS[p][2] : 1,
           dy = in->interlace ? (uint64_t)PASS[p][3] : 1;
  /* 255 / 1, 255 / 3, 255 / 15 are exact (255, 85, 17): the same as replicating the bits.
   * Palette indices are not scaled. */
  int scale = in->color == 0 && in->depth < 8 ? 255 / ((1 << in->depth) - 1) : 1;
  for (uint64_t y = 0; y < ph; y++) {
    const uint8_t *row = rows + y * (rb + 1) + 1;
    for (uint64_t x = 0; x < pw; x++) {
      uint64_t o = ((y0 + y * dy) * in->w + x0 + x * dx) * (uint64_t)oc;
      if (in->color == 3) {
        unsigned ix = sample(row, x, in->depth);
        if ((int)ix >= in->npal) return io_fail(c, LT_EVALUE, "palette index %u out of range", ix);
        memcpy((uint8_t *)out + o, in->pal[ix], (size_t)oc);
        continue;
      }
      for (int k = 0; k < fc; k++) {
        unsigned v = sample(row, x * (uint64_t)fc + (uint64_t)k, in->depth) * (unsigned)scale;
        if (in->depth == 16)
          ((int32_t *)out)[o + (uint64_t)k] = (int32_t)v;
        else
          ((uint8_t *)out)[o + (uint64_t)k] = (uint8_t)v;
      }
    }
  }
  return LT_OK;
}

LtStatus io_png_decode(IoCtx *c, const uint8_t *p, size_t n, const IoPngInfo *in, void *out) {
  uint8_t *raw = io_alloc(c, (size_t)in->raw_bytes);
  if (!raw) return LT_ENOMEM;
  LtStatus st = inflate_idat(c, p, n, raw, in->raw_bytes);
  /* Bytes per complete pixel, at least 1 (the filters' left distance). */
  int bpp = (file_channels(in->color) * in->depth + 7) / 8;
  uint64_t off = 0;
  for (int pass = 0; st == LT_OK && pass < (in->interlace ? 7 : 1); pass++) {
    uint64_t pw, ph;
    pass_dims(in, pass, &pw, &ph);
    if (!pw || !ph) continue;
    uint64_t rb = row_bytes(in, pw);
    st = unfilter(c, raw + off, ph, rb, bpp);
    if (st == LT_OK) st = expand_pass(c, in, pass, raw + off, pw, ph, out);
    /* Passes follow one another in the data, each with its own row width. */
    off += ph * (rb + 1);
  }
  io_free(c, raw, (size_t)in->raw_bytes);
  return st;
}

/* ---- encoding ------------------------------------------------------------------ */

/* Why libdeflate, and why Up for figures. Measured on the demo's figures (`make demo`, dpi 200)
 * against the hand-written fixed-Huffman encoder plot used before (plot_deflate.c, removed in
 * issue 14) and zlib at level 1 and at its default level 6, all fed the same Up-filtered rows. A
 * harness ran the encoder on the canvas pixels of each figure scripts/demo.sh saves
 * (`OMP_NUM_THREADS=1 bench DUMPS 3`) on a 2-core AMD EPYC VM at load average 6-10. Encode CPU ms
 * (best of 3, one thread) and file bytes:
 *
 *   figure (pixels)                   hand-written    zlib level 1    zlib level 6   libdeflate 6
 *   pairwise_diffs       5569x2834   71 4,089,789   153 3,606,277   305 3,328,981   189 3,272,766
 *   hypersphere_manifold 4741x3226   61 2,532,919   120 2,426,735   262 1,974,187   166 1,973,850
 *   expert_perspectives  4213x1519   28 1,417,474    58 1,302,400   114 1,119,198    61 1,105,809
 *   anchors_only         4811x1723   30   987,241    62   979,633   134   741,751    77   723,494
 *   feature_space_vis... 5349x3553   54 1,508,991   134 1,404,366   242 1,003,661   176 1,005,700
 *   class_distribution.. 4454x2953   24   396,978    69   342,752   139   189,840    86   190,691
 *   agreement_score_a... 4453x2953   28   526,656    73   472,910   142   316,905    99   313,299
 *   sage_analysis_summ.. 3924x2912   29   795,205    68   728,856   139   554,559   106   550,065
 *   sage_sample_montage  3472x2359   15   234,293    42   193,347    83   101,214    51    96,805
 *
 * The hand-written encoder was the fastest, but libdeflate 6's files are 20-59% smaller, so it
 * did not win on both counts. zlib 1 saves 5-35% of libdeflate 6's CPU for files 10-100% larger;
 * zlib 6 matches libdeflate 6's sizes for 1.3-1.9x its CPU. libdeflate 1 took 3-40% more CPU
 * than libdeflate 6 on these figures for 5-14% larger files, hence 6 as the default level.
 * The zlib and hand-written encoders compressed 128-row bands on all threads (joined by sync
 * flushes); libdeflate compresses the whole filtered image, held in memory, on one thread.
 * Decoded pixels are unchanged (io.read_png of every demo figure compared equal).
 *
 * Filters, measured on figures of that kind (examples/gallery.lua at scale 2, dpi 200, re-encoded
 * by lt.io.write_png on one thread at libdeflate 6): adaptive filtering took 3.6-5x the CPU of Up
 * (pairwise 5562x2834: 896 ms against 247 ms) for files between 6.5% smaller and 7% larger
 * (pairwise 3,487,028 against 3,730,825 bytes; feature_space 897,125 against 839,874). Plots are
 * flat colour, where the row above predicts best, so figures use Up. lt.io.write_png keeps
 * adaptive, as it had before: its images are data and photos, usually far smaller, where the
 * other filters pay (4% smaller on a noisy 1024x1024 gradient). */

#define IDAT_MAX ((size_t)1 << 20) /* compressed bytes per IDAT chunk */

static LtStatus write_chunk(IoCtx *c, IoWriter *w, const char *type, const uint8_t *d,
                            uint32_t len) {
  uint8_t h[8], t[4];
  io_putbe32(h, len);
  memcpy(h + 4, type, 4);
  uLong crc = crc32(crc32(0, (const Bytef *)type, 4), d ? d : (const Bytef *)"",
                    len); /* zlib: NULL resets */
  io_putbe32(t, (uint32_t)crc);
  LtStatus st = io_writer_write(c, w, h, 8);
  if (st == LT_OK && len) st = io_writer_write(c, w, d, len);
  return st ? st : io_writer_write(c, w, t, 4);
}

/* Filters row cur (prev NULL for the first) with the filter whose output
 * has the least sum of absolute values (the libpng heuristic). */
static void best_filter(const uint8_t *cur, const uint8_t *prev, int64_t rb, int bpp, uint8_t *out,
                        uint8_t *tmp) {
  long best = -1;
  for (int f = 0; f < 5; f++) {
    long sum = 0;
    for (int64_t i = 0; i < rb; i++) {
      int a = i >= bpp ? cur[i - bpp] : 0, b = prev ? prev[i] : 0,
          cc = prev && i >= bpp ? prev[i - bpp] : 0;
      int pred = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : paeth(a, b, cc);
      tmp[i + 1] = (uint8_t)(cur[i] - pred);
      /* Residual bytes scored as signed (-128..127): small steps either way cost little. */
      sum += tmp[i + 1] < 128 ? tmp[i + 1] : 256 - tmp[i + 1];
    }
    if (best < 0 || sum < best) {
      best = sum;
      tmp[0] = (uint8_t)f;
      memcpy(out, tmp, (size_t)rb + 1);
    }
  }
}

/* Row cur minus row prev (NULL above the first row, read as zeros): filter 2, Up. */
static void up_filter(const uint8_t *cur, const uint8_t *prev, size_t rb, uint8_t *out) {
  out[0] = 2;
  if (!prev) {
    memcpy(out + 1, cur, rb);
    return;
  }
  for (size_t i = 0; i < rb; i++) out[i + 1] = (uint8_t)(cur[i] - prev[i]);
}

/* Filters rows y0..y1-1 into rows (1 + rb bytes each), fetching each pixel row once, plus the one
 * above y0; scratch holds 3 * (rb + 1) bytes. */
static void filter_band(const IoPngImage *img, int64_t y0, int64_t y1, uint8_t *rows,
                        uint8_t *scratch) {
  size_t rb = (size_t)img->width * (size_t)img->channels;
  uint8_t *prev = scratch;
  uint8_t *cur = prev + rb + 1;
  uint8_t *tmp = cur + rb + 1;
  if (y0 > 0) img->row(img->ud, y0 - 1, prev);
  for (int64_t y = y0; y < y1; y++) {
    img->row(img->ud, y, cur);
    uint8_t *out = rows + (size_t)y * (rb + 1);
    const uint8_t *above = y > 0 ? prev : NULL;
    if (img->filter == IO_PNG_UP)
      up_filter(cur, above, rb, out);
    else
      best_filter(cur, above, (int64_t)rb, img->channels, out, tmp);
    uint8_t *t = prev;
    prev = cur;
    cur = t;
  }
}

/* Filters the whole image into rows, one band of rows per thread. Each row's filter depends only
 * on that row and the one above, so the bytes are the same for any number of bands. */
static LtStatus filter_image(IoCtx *c, const IoPngImage *img, uint8_t *rows) {
  int64_t bands = 1;
#ifdef _OPENMP
  bands = omp_get_max_threads();
#endif
  /* Bands, not rows, per thread: each band fetches one extra row (the one above it), so fewer,
   * taller bands fetch less. */
  if (bands > img->height) bands = img->height;
  size_t per = 3 * ((size_t)img->width * (size_t)img->channels + 1);
  size_t n = per * (size_t)bands;
  uint8_t *scratch = io_alloc(c, n);
  if (!scratch) return LT_ENOMEM;
#pragma omp parallel for schedule(static, 1)
  for (int64_t b = 0; b < bands; b++) {
    int64_t y0 = img->height * b / bands;
    int64_t y1 = img->height * (b + 1) / bands;
    filter_band(img, y0, y1, rows, scratch + per * (size_t)b);
  }
  io_free(c, scratch, n);
  return LT_OK;
}

/* The zlib stream of rows[0..n) at `level`, in *z (io_alloc'ed, *zcap bytes) of *zn bytes. */
static LtStatus compress_rows(IoCtx *c, const uint8_t *rows, size_t n, int level, uint8_t **z,
                              size_t *zn, size_t *zcap) {
  struct libdeflate_compressor *comp = libdeflate_alloc_compressor(level);
  if (!comp) return io_fail(c, LT_ENOMEM, "cannot start libdeflate (out of memory)");
  *zcap = libdeflate_zlib_compress_bound(comp, n);
  *z = io_alloc(c, *zcap);
  if (!*z) {
    libdeflate_free_compressor(comp);
    return LT_ENOMEM;
  }
  *zn = libdeflate_zlib_compress(comp, rows, n, *z, *zcap);
  libdeflate_free_compressor(comp);
  if (*zn > 0) return LT_OK;
  io_free(c, *z, *zcap); /* cannot happen with the bound's room, but never write a bad stream */
  *z = NULL;
  return io_fail(c, LT_ENOMEM, "libdeflate compression failed");
}

/* Signature, IHDR, and pHYs and tEXt when img asks for them. */
static LtStatus write_header(IoCtx *c, const IoPngImage *img, IoWriter *w) {
  static const uint8_t COLOR[5] = {0, 0, 4, 2, 6};
  uint8_t ihdr[13] = {0};
  io_putbe32(ihdr, (uint32_t)img->width);
  io_putbe32(ihdr + 4, (uint32_t)img->height);
  ihdr[8] = 8;
  ihdr[9] = COLOR[img->channels];
  LtStatus st = io_writer_write(c, w, SIG, 8);
  if (st == LT_OK) st = write_chunk(c, w, "IHDR", ihdr, 13);
  if (st == LT_OK && img->dpi > 0) {
    uint8_t phys[9];
    uint32_t ppm = (uint32_t)(img->dpi / 0.0254 + 0.5); /* pixels per metre */
    io_putbe32(phys, ppm);
    io_putbe32(phys + 4, ppm);
    /* Unit 1 is the metre; PNG has no inch unit. */
    phys[8] = 1;
    st = write_chunk(c, w, "pHYs", phys, 9);
  }
  if (st == LT_OK && img->software) {
    uint8_t text[80];
    size_t n = strlen(img->software);
    /* A tEXt chunk is keyword, NUL, text; a longer text is cut to the buffer. */
    if (n > sizeof text - 9) n = sizeof text - 9;
    memcpy(text, "Software", 9); /* keyword, then its NUL separator */
    memcpy(text + 9, img->software, n);
    st = write_chunk(c, w, "tEXt", text, (uint32_t)(9 + n));
  }
  return st;
}

/* Checks what io_png_write promises to refuse; *n = bytes of the filtered image. */
static LtStatus check_image(IoCtx *c, const IoPngImage *img, size_t *n) {
  uint64_t rb;
  uint64_t total;
  /* 2^31 - 1 per side is the spec's limit for IHDR's fields. */
  if (img->width < 1 || img->height < 1 || img->width > 0x7FFFFFFF || img->height > 0x7FFFFFFF)
    return io_fail(c, LT_EVALUE, "image size %lldx%lld is out of range (1 to 2^31-1 per side)",
                   (long long)img->width, (long long)img->height);
  if (img->channels < 1 || img->channels > 4)
    return io_fail(c, LT_EVALUE, "%d channels per pixel (1 to 4 expected)", img->channels);
  if (img->level < 1 || img->level > 12)
    return io_fail(c, LT_EVALUE, "compression level %d is out of range (1 to 12)", img->level);
  rb = (uint64_t)img->width * (uint64_t)img->channels + 1;
  if (!io_mul_u64(rb, (uint64_t)img->height, &total) || total > SIZE_MAX / 2)
    return io_fail(c, LT_EVALUE, "image of %lldx%lld is too large to encode", (long long)img->width,
                   (long long)img->height);
  *n = (size_t)total;
  return LT_OK;
}

LtStatus io_png_write(IoCtx *c, const IoPngImage *img, IoWriter *w) {
  size_t n = 0;
  LtStatus st = check_image(c, img, &n);
  if (st) return st;
  uint8_t *rows = io_alloc(c, n);
  if (!rows) return LT_ENOMEM;
  uint8_t *z = NULL;
  size_t zn = 0;
  size_t zcap = 0;
  st = filter_image(c, img, rows);
  if (st == LT_OK) st = compress_rows(c, rows, n, img->level, &z, &zn, &zcap);
  io_free(c, rows, n); /* before writing: only the compressed image stays */
  if (st == LT_OK) st = write_header(c, img, w);
  for (size_t off = 0; st == LT_OK && off < zn; off += IDAT_MAX) {
    size_t len = zn - off < IDAT_MAX ? zn - off : IDAT_MAX;
    st = write_chunk(c, w, "IDAT", z + off, (uint32_t)len);
  }
  if (st == LT_OK) st = write_chunk(c, w, "IEND", NULL, 0);
  if (z) io_free(c, z, zcap);
  return st;
}

/* Row y of a contiguous uint8 or float tensor as bytes (floats: clamp(round(255 v)), NaN -> 0). */
static void tensor_row(void *ud, int64_t y, uint8_t *out) {
  const Tensor *img = ud;
  int64_t rb = img->shape[1] * (img->ndim == 3 ? img->shape[2] : 1);
  size_t es = lt_dtype_size(img->dtype);
  const char *src = (const char *)img->data + (size_t)(y * rb) * es;
  if (img->dtype == LT_U8) {
    memcpy(out, src, (size_t)rb);
    return;
  }
  for (int64_t i = 0; i < rb; i++) {
    double v = lt_get_f64(src + (size_t)i * es, img->dtype) * 255.0;
    out[i] = v != v || v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)lrint(v);
  }
}

LtStatus io_png_encode(IoCtx *c, const Tensor *img, IoWriter *w) {
  IoPngImage im = {
      .width = img->shape[1],
      .height = img->shape[0],
      .channels = img->ndim == 3 ? (int)img->shape[2] : 1,
      .row = tensor_row,
      .ud = (void *)(uintptr_t)img, /* tensor_row only reads it */
      .filter = IO_PNG_ADAPTIVE,
      .level = IO_PNG_LEVEL,
  };
  return io_png_write(c, &im, w);
}
