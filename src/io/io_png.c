/* io_png.c - PNG chunk validation, inflate + unfilter + expand decoding, adaptive-filter encoding. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "io/io_png.h"

static const uint8_t SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const int PASS[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};

static int file_channels(int color) { return color == 0 ? 1 : color == 2 ? 3 : color == 3 ? 1 : color == 4 ? 2 : 4; }

/* Bytes per row of a pass of width pw (without the filter byte). */
static uint64_t row_bytes(const IoPngInfo *in, uint64_t pw) {
  return (pw * (uint64_t)file_channels(in->color) * (uint64_t)in->depth + 7) / 8;
}

static void pass_dims(const IoPngInfo *in, int p, uint64_t *pw, uint64_t *ph) {
  if (!in->interlace) { *pw = in->w; *ph = in->h; return; }
  *pw = (in->w + (uint64_t)(PASS[p][2] - PASS[p][0]) - 1) / (uint64_t)PASS[p][2];
  *ph = (in->h + (uint64_t)(PASS[p][3] - PASS[p][1]) - 1) / (uint64_t)PASS[p][3];
  if (in->w <= (uint32_t)PASS[p][0]) *pw = 0;
  if (in->h <= (uint32_t)PASS[p][1]) *ph = 0;
}

static LtStatus check_ihdr(IoCtx *c, const uint8_t *d, IoPngInfo *in) {
  in->w = io_be32(d);
  in->h = io_be32(d + 4);
  in->depth = d[8];
  in->color = d[9];
  in->interlace = d[12];
  if (in->w == 0 || in->h == 0 || in->w > IO_PNG_MAX_SIDE || in->h > IO_PNG_MAX_SIDE)
    return io_fail(c, LT_ERANGE, "image size %ux%u is out of range (1 to %u per side)", in->w, in->h, IO_PNG_MAX_SIDE);
  int dep = in->depth, ok;
  switch (in->color) {
  case 0: ok = dep == 1 || dep == 2 || dep == 4 || dep == 8 || dep == 16; break;
  case 3: ok = dep == 1 || dep == 2 || dep == 4 || dep == 8; break;
  case 2: case 4: case 6: ok = dep == 8 || dep == 16; break;
  default: ok = 0;
  }
  if (!ok) return io_fail(c, LT_EVALUE, "invalid color type %d with bit depth %d", in->color, dep);
  if (d[10] != 0 || d[11] != 0 || in->interlace > 1) return io_fail(c, LT_EVALUE, "unknown compression, filter or interlace method");
  in->channels = in->color == 3 ? 3 : file_channels(in->color);
  in->dtype = dep == 16 ? LT_I32 : LT_U8;
  return LT_OK;
}

static LtStatus check_sizes(IoCtx *c, IoPngInfo *in) {
  uint64_t raw = 0, pw, ph, bound, out;
  for (int p = 0; p < (in->interlace ? 7 : 1); p++) {
    pass_dims(in, p, &pw, &ph);
    if (pw && ph) raw += ph * (1 + row_bytes(in, pw));
  }
  in->raw_bytes = raw;
  if (!io_mul_u64(in->idat_bytes, 1032, &bound) || !io_add_u64(bound, 1024, &bound)) bound = UINT64_MAX;
  if (raw > bound) return io_fail(c, LT_EVALUE, "image of %ux%u cannot come from %llu compressed bytes (truncated?)",
                                  in->w, in->h, (unsigned long long)in->idat_bytes);
  if (raw > c->max_inflate) return io_fail(c, LT_ERANGE, "image needs %llu bytes decompressed, over the %llu-byte limit",
                                          (unsigned long long)raw, (unsigned long long)c->max_inflate);
  int64_t shape[3] = {in->h, in->w, in->channels};
  LtStatus st = io_check_shape(c, "image", 3, shape, lt_dtype_size(in->dtype), NULL, &out);
  if (st == LT_OK && out > c->max_inflate) /* 1-bit palette pixels expand 32-fold */
    st = io_fail(c, LT_ERANGE, "decoded image needs %llu bytes, over the %llu-byte limit",
                 (unsigned long long)out, (unsigned long long)c->max_inflate);
  return st;
}

/* One chunk: type and data in place; walks *pos. */
static LtStatus next_chunk(IoCtx *c, const uint8_t *p, size_t n, size_t *pos, const uint8_t **type, const uint8_t **data, uint32_t *len) {
  if (n - *pos < 12) return io_fail(c, LT_EVALUE, "truncated chunk (no IEND)");
  *len = io_be32(p + *pos);
  if (*len > 0x7FFFFFFFu || n - *pos - 12 < *len) return io_fail(c, LT_EVALUE, "chunk length %u runs past the end of the file", *len);
  *type = p + *pos + 4;
  *data = p + *pos + 8;
  uint32_t want = io_be32(*data + *len);
  if ((uint32_t)crc32(0, *type, *len + 4) != want) return io_fail(c, LT_EVALUE, "CRC mismatch in chunk '%.4s'", (const char *)*type);
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
    if (first != !memcmp(type, "IHDR", 4)) return io_fail(c, LT_EVALUE, "IHDR must come first, once");
    if (first) { if (len != 13) return io_fail(c, LT_EVALUE, "bad IHDR length"); if ((st = check_ihdr(c, d, in))) return st; }
    else if (!memcmp(type, "PLTE", 4)) {
      if (len % 3 || len == 0 || len > 768 || seen_idat) return io_fail(c, LT_EVALUE, "bad PLTE chunk");
      in->npal = (int)(len / 3);
      for (int i = 0; i < in->npal; i++) { memcpy(in->pal[i], d + 3 * i, 3); in->pal[i][3] = 255; }
    } else if (!memcmp(type, "tRNS", 4) && in->color == 3) {
      if (len > (uint32_t)in->npal) return io_fail(c, LT_EVALUE, "tRNS has more entries than the palette");
      for (uint32_t i = 0; i < len; i++) in->pal[i][3] = d[i];
      in->has_trns = 1;
    } else if (is_idat) {
      if (idat_done) return io_fail(c, LT_EVALUE, "IDAT chunks are not consecutive");
      seen_idat = 1;
      in->idat_bytes += len;
    } else if (!memcmp(type, "IEND", 4)) break;
    else if (!(type[0] & 0x20)) return io_fail(c, LT_EVALUE, "unknown critical chunk '%.4s'", (const char *)type);
    if (seen_idat && !is_idat) idat_done = 1;
  }
  if (!seen_idat) return io_fail(c, LT_EVALUE, "no image data (IDAT)");
  if (in->color == 3 && !in->npal) return io_fail(c, LT_EVALUE, "palette image without PLTE");
  if (in->color == 3 && in->has_trns) in->channels = 4;
  return check_sizes(c, in);
}

/* ---- decoding ---------------------------------------------------------------- */

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
    if (!memcmp(type, "IEND", 4)) { st = io_fail(c, LT_EVALUE, "image data ends early (truncated)"); break; }
    if (memcmp(type, "IDAT", 4)) continue;
    z.next_in = (Bytef *)(uintptr_t)d;
    z.avail_in = len;
    while (z.avail_in > 0 && r != Z_STREAM_END) {
      uint64_t left = raw_n - made;
      z.next_out = left ? raw + made : &extra;
      z.avail_out = left ? (uInt)(left > (1u << 30) ? (1u << 30) : left) : 1;
      r = inflate(&z, Z_NO_FLUSH);
      if (!left && z.avail_out == 0) { st = io_fail(c, LT_EVALUE, "more image data than the header allows"); break; }
      made += (left ? (left > (1u << 30) ? (1u << 30) : left) : 1) - z.avail_out;
      if (r != Z_OK && r != Z_STREAM_END) { st = io_fail(c, LT_EVALUE, "corrupt image data (zlib: %s)", z.msg ? z.msg : "error"); break; }
    }
  }
  inflateEnd(&z);
  if (st == LT_OK && made != raw_n) st = io_fail(c, LT_EVALUE, "image data has %llu bytes, expected %llu",
                                                 (unsigned long long)made, (unsigned long long)raw_n);
  return st;
}

static int paeth(int a, int b, int c) {
  int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undoes the filters of one pass in place (rows of 1 + rb bytes). */
static LtStatus unfilter(IoCtx *c, uint8_t *rows, uint64_t ph, uint64_t rb, int bpp) {
  for (uint64_t y = 0; y < ph; y++) {
    uint8_t *row = rows + y * (rb + 1), *cur = row + 1, *prev = y ? row - rb : NULL;
    int f = row[0];
    if (f > 4) return io_fail(c, LT_EVALUE, "unknown row filter %d", f);
    for (uint64_t i = 0; i < rb; i++) {
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
  return (row[bit / 8] >> (8 - d - (int)(bit % 8))) & ((1u << d) - 1);
}

static LtStatus expand_pass(IoCtx *c, const IoPngInfo *in, int p, const uint8_t *rows, uint64_t pw, uint64_t ph, void *out) {
  int fc = file_channels(in->color), oc = in->channels;
  uint64_t rb = row_bytes(in, pw);
  uint64_t x0 = in->interlace ? (uint64_t)PASS[p][0] : 0, y0 = in->interlace ? (uint64_t)PASS[p][1] : 0;
  uint64_t dx = in->interlace ? (uint64_t)PASS[p][2] : 1, dy = in->interlace ? (uint64_t)PASS[p][3] : 1;
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
        if (in->depth == 16) ((int32_t *)out)[o + (uint64_t)k] = (int32_t)v;
        else ((uint8_t *)out)[o + (uint64_t)k] = (uint8_t)v;
      }
    }
  }
  return LT_OK;
}

LtStatus io_png_decode(IoCtx *c, const uint8_t *p, size_t n, const IoPngInfo *in, void *out) {
  uint8_t *raw = io_alloc(c, (size_t)in->raw_bytes);
  if (!raw) return LT_ENOMEM;
  LtStatus st = inflate_idat(c, p, n, raw, in->raw_bytes);
  int bpp = (file_channels(in->color) * in->depth + 7) / 8;
  uint64_t off = 0;
  for (int pass = 0; st == LT_OK && pass < (in->interlace ? 7 : 1); pass++) {
    uint64_t pw, ph;
    pass_dims(in, pass, &pw, &ph);
    if (!pw || !ph) continue;
    uint64_t rb = row_bytes(in, pw);
    st = unfilter(c, raw + off, ph, rb, bpp);
    if (st == LT_OK) st = expand_pass(c, in, pass, raw + off, pw, ph, out);
    off += ph * (rb + 1);
  }
  io_free(c, raw, (size_t)in->raw_bytes);
  return st;
}

/* ---- encoding ------------------------------------------------------------------ */

static LtStatus write_chunk(IoCtx *c, IoWriter *w, const char *type, const uint8_t *d, uint32_t len) {
  uint8_t h[8], t[4];
  io_putbe32(h, len);
  memcpy(h + 4, type, 4);
  uLong crc = crc32(crc32(0, (const Bytef *)type, 4), d ? d : (const Bytef *)"", len); /* zlib: NULL resets */
  io_putbe32(t, (uint32_t)crc);
  LtStatus st = io_writer_write(c, w, h, 8);
  if (st == LT_OK && len) st = io_writer_write(c, w, d, len);
  return st ? st : io_writer_write(c, w, t, 4);
}

/* Row y of img as bytes (floats: clamp(round(255 v)), NaN -> 0). */
static void row_u8(const Tensor *img, int64_t y, int64_t rb, uint8_t *out) {
  size_t es = lt_dtype_size(img->dtype);
  const char *src = (const char *)img->data + (size_t)(y * rb) * es;
  if (img->dtype == LT_U8) { memcpy(out, src, (size_t)rb); return; }
  for (int64_t i = 0; i < rb; i++) {
    double v = lt_get_f64(src + (size_t)i * es, img->dtype) * 255.0;
    out[i] = v != v || v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)lrint(v);
  }
}

/* Filters row cur (prev NULL for the first) with the filter whose output
 * has the least sum of absolute values (the libpng heuristic). */
static void best_filter(const uint8_t *cur, const uint8_t *prev, int64_t rb, int bpp, uint8_t *out, uint8_t *tmp) {
  long best = -1;
  for (int f = 0; f < 5; f++) {
    long sum = 0;
    for (int64_t i = 0; i < rb; i++) {
      int a = i >= bpp ? cur[i - bpp] : 0, b = prev ? prev[i] : 0, cc = prev && i >= bpp ? prev[i - bpp] : 0;
      int pred = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : paeth(a, b, cc);
      tmp[i + 1] = (uint8_t)(cur[i] - pred);
      sum += tmp[i + 1] < 128 ? tmp[i + 1] : 256 - tmp[i + 1];
    }
    if (best < 0 || sum < best) { best = sum; tmp[0] = (uint8_t)f; memcpy(out, tmp, (size_t)rb + 1); }
  }
}

LtStatus io_png_encode(IoCtx *c, const Tensor *img, IoWriter *w) {
  int64_t h = img->shape[0], wd = img->shape[1], ch = img->ndim == 3 ? img->shape[2] : 1, rb = wd * ch;
  static const int COLOR[5] = {0, 0, 4, 2, 6};
  uint64_t filtered = (uint64_t)h * (uint64_t)(rb + 1);
  uLong bound = compressBound((uLong)filtered);
  size_t scratch = (size_t)filtered + 3 * (size_t)(rb + 1) + (size_t)bound;
  uint8_t *buf = io_alloc(c, scratch);
  if (!buf) return LT_ENOMEM;
  uint8_t *rows = buf, *prev = rows + filtered, *cur = prev + rb + 1, *tmp = cur + rb + 1, *z = tmp + rb + 1;
  for (int64_t y = 0; y < h; y++) {
    row_u8(img, y, rb, cur);
    best_filter(cur, y ? prev : NULL, rb, (int)ch, rows + (size_t)y * (size_t)(rb + 1), tmp);
    memcpy(prev, cur, (size_t)rb);
  }
  uLongf zn = bound;
  LtStatus st = compress2(z, &zn, rows, (uLong)filtered, 6) == Z_OK ? LT_OK : io_fail(c, LT_ENOMEM, "zlib compression failed");
  uint8_t ihdr[13];
  io_putbe32(ihdr, (uint32_t)wd);
  io_putbe32(ihdr + 4, (uint32_t)h);
  ihdr[8] = 8; ihdr[9] = (uint8_t)COLOR[ch]; ihdr[10] = ihdr[11] = ihdr[12] = 0;
  if (st == LT_OK) st = io_writer_write(c, w, SIG, 8);
  if (st == LT_OK) st = write_chunk(c, w, "IHDR", ihdr, 13);
  for (uLongf off = 0; st == LT_OK && off < zn; off += 1u << 20)
    st = write_chunk(c, w, "IDAT", z + off, (uint32_t)(zn - off < (1u << 20) ? zn - off : (1u << 20)));
  if (st == LT_OK) st = write_chunk(c, w, "IEND", NULL, 0);
  io_free(c, buf, scratch);
  return st;
}
