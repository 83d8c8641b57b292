/* plot_png.c - PNG encoding of ARGB32 canvases: the Up filter straight from the pixels (rows in
 * parallel), then one libdeflate call. libdeflate_* calls go through the lazy loader (src/lazy.h):
 * the library is opened the first time a figure is saved.
 *
 * Why libdeflate. Measured on the demo's figures (`make demo`, dpi 200) against the hand-written
 * fixed-Huffman encoder this file used before (plot_deflate.c, removed in issue 14) and zlib at
 * level 1 and at its default level 6, all fed the same Up-filtered rows. A harness ran the
 * encoder on the canvas pixels of each figure scripts/demo.sh saves (`OMP_NUM_THREADS=1 bench
 * DUMPS 3`) on a 2-core AMD EPYC VM at load average 6-10. Encode CPU ms (best of 3, one
 * thread) and file bytes:
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
 * than libdeflate 6 on these figures for 5-14% larger files, hence 6 as fig:save's default.
 * The zlib and hand-written encoders compressed 128-row bands on all threads (joined by sync
 * flushes); libdeflate compresses the whole filtered image, held in memory, on one thread.
 * Decoded pixels are unchanged (io.read_png of every demo figure compared equal). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "plot/plot_png.h"

#define CHUNK_MAX (1 << 20)

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

static int write_chunk(LtAtomicFile *f, const char *type, const unsigned char *data, size_t len) {
  unsigned char head[8], tail[4];
  put_be32(head, (uint32_t)len);
  memcpy(head + 4, type, 4);
  uint32_t crc = libdeflate_crc32(0, head + 4, 4);
  if (len) crc = libdeflate_crc32(crc, data, len);
  put_be32(tail, crc);
  if (lt_atomic_write(f, head, 8)) return -2;
  if (len && lt_atomic_write(f, data, len)) return -2;
  if (lt_atomic_write(f, tail, 4)) return -2;
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

/* Up-filters every row of the image into raw (height rows of 1 + width*channels bytes). */
static void filter_image(const unsigned char *pixels, int width, int height, int stride,
                         int channels, unsigned char *raw) {
  size_t rowbytes = (size_t)width * channels + 1;
  #pragma omp parallel for schedule(static)
  for (int y = 0; y < height; y++) {
    const unsigned char *cur = pixels + (size_t)y * stride;
    const unsigned char *prev = y > 0 ? cur - stride : NULL;
    unsigned char *out = raw + (size_t)y * rowbytes;
    filter_row((const uint32_t *)cur, (const uint32_t *)prev, width, channels, out);
  }
}

/* The zlib stream of raw[0..n) at libdeflate `level`, in a new malloc'd buffer of *zn bytes;
 * NULL when memory runs out. */
static unsigned char *compress_image(const unsigned char *raw, size_t n, int level, size_t *zn) {
  struct libdeflate_compressor *z = libdeflate_alloc_compressor(level);
  if (!z) return NULL;
  size_t cap = libdeflate_zlib_compress_bound(z, n);
  unsigned char *out = malloc(cap);
  *zn = out ? libdeflate_zlib_compress(z, raw, n, out, cap) : 0;
  libdeflate_free_compressor(z);
  if (*zn == 0) {
    free(out);
    return NULL;
  }
  return out;
}

static int write_header(LtAtomicFile *f, int width, int height, int channels, double dpi) {
  unsigned char ihdr[13], phys[9];
  put_be32(ihdr, (uint32_t)width);
  put_be32(ihdr + 4, (uint32_t)height);
  ihdr[8] = 8; ihdr[9] = channels == 4 ? 6 : 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
  if (lt_atomic_write(f, sig, 8)) return -2;
  int rc = write_chunk(f, "IHDR", ihdr, 13);
  uint32_t ppm = (uint32_t)(dpi / 0.0254 + 0.5);
  put_be32(phys, ppm); put_be32(phys + 4, ppm); phys[8] = 1;
  if (!rc && dpi > 0) rc = write_chunk(f, "pHYs", phys, 9);
  static const char sw[] = "Software\0lunette";
  if (!rc) rc = write_chunk(f, "tEXt", (const unsigned char *)sw, sizeof sw - 1);
  return rc;
}

/* Writes the zlib stream z[0..n) as IDAT chunks of at most CHUNK_MAX bytes. */
static int write_idat(LtAtomicFile *f, const unsigned char *z, size_t n) {
  int rc = 0;
  for (size_t off = 0; off < n && !rc; off += CHUNK_MAX)
    rc = write_chunk(f, "IDAT", z + off, n - off < CHUNK_MAX ? n - off : CHUNK_MAX);
  return rc;
}

int plot_png_write(LtAtomicFile *f, const unsigned char *pixels, int width, int height, int stride,
                   double dpi, int level, int opaque) {
  if (width <= 0 || height <= 0) return -1;
  if (level < 1 || level > 9) level = PLOT_PNG_LEVEL;
  if ((size_t)width * 4 + 1 > ((size_t)1 << 24)) return -1;
  int channels = (opaque || is_opaque(pixels, width, height, stride)) ? 3 : 4;
  size_t n = ((size_t)width * channels + 1) * (size_t)height;
  unsigned char *raw = malloc(n);
  if (!raw) return -1;
  filter_image(pixels, width, height, stride, channels, raw);
  size_t zn;
  unsigned char *z = compress_image(raw, n, level, &zn);
  free(raw);
  if (!z) return -1;
  int rc = write_header(f, width, height, channels, dpi);
  if (!rc) rc = write_idat(f, z, zn);
  if (!rc) rc = write_chunk(f, "IEND", NULL, 0);
  free(z);
  return rc;
}
