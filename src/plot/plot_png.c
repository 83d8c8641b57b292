/* plot_png.c - PNG encoding of ARGB32 canvases: Up filter straight from the pixels, banded parallel deflate. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "plot/plot_png.h"
#include "plot/plot_deflate.h"

#define BAND_ROWS 128
#define CHUNK_MAX (1 << 20)

typedef struct {
  unsigned char *out;
  size_t len;
  uLong adler;
  uLong raw_len;
  int failed;
} Band;

/* Per-thread scratch, allocated once per encode. */
typedef struct {
  unsigned char *raw, *out;
  int32_t *hash;
} Scratch;

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

static int write_chunk(FILE *f, const char *type, const unsigned char *data, size_t len) {
  unsigned char head[8], tail[4];
  put_be32(head, (uint32_t)len);
  memcpy(head + 4, type, 4);
  uLong crc = crc32(0, head + 4, 4);
  if (len) crc = crc32(crc, data, (uInt)len);
  put_be32(tail, (uint32_t)crc);
  if (fwrite(head, 1, 8, f) != 8) return -2;
  if (len && fwrite(data, 1, len, f) != len) return -2;
  if (fwrite(tail, 1, 4, f) != 4) return -2;
  return 0;
}

static int is_opaque(const unsigned char *pixels, int width, int height, int stride) {
  for (int y = 0; y < height; y++) {
    const uint32_t *row = (const uint32_t *)(pixels + (size_t)y * stride);
    for (int x = 0; x < width; x++) if ((row[x] >> 24) != 0xff) return 0;
  }
  return 1;
}

/* One Up-filtered scanline (filter byte first) from the pixel rows cur and
 * prev (NULL for the first row). Equal pixels, the common case in plots,
 * filter to zeros without unpacking. */
static void filter_row(const uint32_t *cur, const uint32_t *prev, int width, int channels, unsigned char *f) {
  f[0] = 2;
  f++;
  int x = 0;
  while (x < width) {
    if (prev) { /* a run of pixels equal to the row above filters to zeros */
      int e = x;
      while (e < width && cur[e] == prev[e]) e++;
      if (e > x) {
        memset(f + (size_t)x * channels, 0, (size_t)(e - x) * channels);
        x = e;
        continue;
      }
    }
    unsigned char a[4], b[4] = {0, 0, 0, 0}, *o = f + (size_t)x * channels;
    plot_unpremultiply(cur[x], a, channels);
    if (prev) plot_unpremultiply(prev[x], b, channels);
    for (int k = 0; k < channels; k++) o[k] = (unsigned char)(a[k] - b[k]);
    x++;
  }
}

/* zlib at a chosen level, for callers who prefer size over speed. */
static int deflate_zlib(const unsigned char *raw, size_t n, int last, int level, Band *b) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
  size_t cap = deflateBound(&zs, n) + 64;
  if (!(b->out = malloc(cap))) { deflateEnd(&zs); return -1; }
  zs.next_in = (unsigned char *)raw;
  zs.avail_in = (uInt)n;
  zs.next_out = b->out;
  zs.avail_out = (uInt)cap;
  int rc = deflate(&zs, last ? Z_FINISH : Z_SYNC_FLUSH);
  b->len = cap - zs.avail_out;
  deflateEnd(&zs);
  b->adler = adler32(adler32(0, NULL, 0), raw, (uInt)n);
  return (rc == Z_STREAM_ERROR || zs.avail_in != 0) ? -1 : 0;
}

/* Compresses rows [r0, r1) into b (raw deflate; the last band finishes the stream). */
static void compress_band(const unsigned char *pixels, int width, int stride, int channels,
                          int r0, int r1, int last, int level, Scratch *s, Band *b) {
  size_t rowbytes = (size_t)width * channels + 1;
  b->raw_len = (uLong)rowbytes * (uLong)(r1 - r0);
  for (int y = r0; y < r1; y++)
    filter_row((const uint32_t *)(pixels + (size_t)y * stride),
               y > 0 ? (const uint32_t *)(pixels + (size_t)(y - 1) * stride) : NULL, width, channels,
               s->raw + (size_t)(y - r0) * rowbytes);
  if (level > 1) {
    if (deflate_zlib(s->raw, b->raw_len, last, level, b) != 0) b->failed = 1;
    return;
  }
  uint32_t adler;
  size_t len = plot_deflate_fixed(s->raw, b->raw_len, last, s->out, s->hash, &adler);
  b->adler = adler;
  b->len = len;
  if (!(b->out = malloc(len ? len : 1))) { b->failed = 1; return; }
  memcpy(b->out, s->out, len);
}

static int write_header(FILE *f, int width, int height, int channels, double dpi) {
  unsigned char ihdr[13], phys[9];
  put_be32(ihdr, (uint32_t)width);
  put_be32(ihdr + 4, (uint32_t)height);
  ihdr[8] = 8; ihdr[9] = channels == 4 ? 6 : 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
  if (fwrite(sig, 1, 8, f) != 8) return -2;
  int rc = write_chunk(f, "IHDR", ihdr, 13);
  uint32_t ppm = (uint32_t)(dpi / 0.0254 + 0.5);
  put_be32(phys, ppm); put_be32(phys + 4, ppm); phys[8] = 1;
  if (!rc && dpi > 0) rc = write_chunk(f, "pHYs", phys, 9);
  static const char sw[] = "Software\0lunette";
  if (!rc) rc = write_chunk(f, "tEXt", (const unsigned char *)sw, sizeof sw - 1);
  return rc;
}

/* Joins the bands into one zlib stream and writes it as IDAT chunks. */
static int write_idat(FILE *f, Band *bands, int nb) {
  size_t total = 2 + 4;
  for (int i = 0; i < nb; i++) total += bands[i].len;
  unsigned char *z = malloc(total);
  if (!z) return -1;
  size_t k = 0;
  z[k++] = 0x78; z[k++] = 0x01;
  uLong adler = adler32(0, NULL, 0);
  for (int i = 0; i < nb; i++) {
    memcpy(z + k, bands[i].out, bands[i].len);
    k += bands[i].len;
    adler = adler32_combine(adler, bands[i].adler, (z_off_t)bands[i].raw_len);
  }
  put_be32(z + k, (uint32_t)adler);
  k += 4;
  int rc = 0;
  for (size_t off = 0; off < k && !rc; off += CHUNK_MAX)
    rc = write_chunk(f, "IDAT", z + off, k - off < CHUNK_MAX ? k - off : CHUNK_MAX);
  free(z);
  return rc;
}

static void encode_bands(const unsigned char *pixels, int width, int height, int stride, int channels,
                         int level, Band *bands, int nb) {
  size_t maxraw = ((size_t)width * channels + 1) * BAND_ROWS;
  #pragma omp parallel
  {
    Scratch s = {malloc(maxraw), level > 1 ? NULL : malloc(plot_deflate_bound(maxraw)),
                 level > 1 ? NULL : malloc(sizeof(int32_t) * PLOT_DEFLATE_HASH)};
    int ok = s.raw && (level > 1 || (s.out && s.hash));
    #pragma omp for schedule(dynamic, 1)
    for (int i = 0; i < nb; i++) {
      int r0 = i * BAND_ROWS, r1 = r0 + BAND_ROWS < height ? r0 + BAND_ROWS : height;
      if (ok) compress_band(pixels, width, stride, channels, r0, r1, i == nb - 1, level, &s, &bands[i]);
      else bands[i].failed = 1;
    }
    free(s.raw); free(s.out); free(s.hash);
  }
}

int plot_png_write(FILE *f, const unsigned char *pixels, int width, int height, int stride,
                   double dpi, int level, int opaque) {
  if (width <= 0 || height <= 0) return -1;
  if (level < 1 || level > 9) level = 1;
  if ((size_t)width * 4 + 1 > ((size_t)1 << 24)) return -1;
  int channels = (opaque || is_opaque(pixels, width, height, stride)) ? 3 : 4;
  int nb = (height + BAND_ROWS - 1) / BAND_ROWS;
  Band *bands = calloc((size_t)nb, sizeof *bands);
  if (!bands) return -1;
  encode_bands(pixels, width, height, stride, channels, level, bands, nb);
  int rc = 0;
  for (int i = 0; i < nb; i++) if (bands[i].failed) rc = -1;
  if (!rc) rc = write_header(f, width, height, channels, dpi);
  if (!rc) rc = write_idat(f, bands, nb);
  if (!rc) rc = write_chunk(f, "IEND", NULL, 0);
  for (int i = 0; i < nb; i++) free(bands[i].out);
  free(bands);
  return rc;
}
