/* io_idx.c - IDX header validation and CIFAR batch reading. */
#include <string.h>
#include "interrupt.h"
#include "io/io_idx.h"

LtStatus io_idx_parse(IoCtx *c, IoSrc *s, IoArray *a) {
  /* The format (LeCun's MNIST page): two zero bytes, a type code, a dim count, then each dim as
   * a big-endian u32, then the data, big-endian too. */
  uint8_t h[4 + 4 * LT_MAXDIM];
  uint64_t size = io_src_size(s);
  memset(a, 0, sizeof *a);
  if (size != IO_SIZE_UNKNOWN && size < 4)
    return io_fail(c, LT_EVALUE, "too short to be an IDX file");
  LtStatus st = io_src_read(c, s, 0, h, 4);
  if (st) return st;
  if (h[0] || h[1])
    return io_fail(c, LT_EVALUE, "not an IDX file (bad magic %02x %02x)", h[0], h[1]);
  switch (h[2]) {
  case 0x08: a->st = IO_U1; break;
  case 0x09: a->st = IO_I1; break;
  case 0x0B: a->st = IO_I2; break;
  case 0x0C: a->st = IO_I4; break;
  case 0x0D: a->st = IO_F4; break;
  case 0x0E: a->st = IO_F8; break;
  default: return io_fail(c, LT_EVALUE, "unknown IDX type code 0x%02x", h[2]);
  }
  /* Multi-byte elements are big-endian: swapped on a little-endian host. */
  a->swap = io_stype_size(a->st) > 1;
  a->ndim = h[3];
  if (a->ndim < 1 || a->ndim > LT_MAXDIM)
    return io_fail(c, LT_ERANGE, "IDX file has %d dims (1 to %d supported)", a->ndim, LT_MAXDIM);
  if ((st = io_src_read(c, s, 4, h + 4, 4 * (size_t)a->ndim))) return st;
  for (int i = 0; i < a->ndim; i++) a->shape[i] = io_be32(h + 4 + 4 * i);
  if ((st = io_check_shape(c, "IDX shape", a->ndim, a->shape, io_stype_size(a->st), NULL,
                           &a->nbytes)))
    return st;
  a->offset = 4 + 4 * (uint64_t)a->ndim;
  /* A gzip stream has no known size: its data is bounded by the decompression cap here, and the
   * caller checks that the stream ends where the data does (io_src_expect_end). */
  if (size == IO_SIZE_UNKNOWN) {
    if (a->nbytes > c->max_inflate)
      return io_fail(c, LT_ERANGE,
                     "IDX header declares %llu bytes, over the %llu-byte decompression limit",
                     (unsigned long long)a->nbytes, (unsigned long long)c->max_inflate);
    return LT_OK;
  }
  if (size - a->offset != a->nbytes)
    return io_fail(c, LT_EVALUE, "IDX header declares %llu data bytes but the file holds %llu (%s)",
                   (unsigned long long)a->nbytes, (unsigned long long)(size - a->offset),
                   size - a->offset < a->nbytes ? "truncated" : "trailing bytes");
  return LT_OK;
}

LtStatus io_cifar_count(IoCtx *c, uint64_t size, int label_bytes, int64_t *n) {
  uint64_t rec = (uint64_t)label_bytes + IO_CIFAR_PIXELS;
  if (size == 0 || size % rec)
    return io_fail(
        c, LT_EVALUE,
        "a CIFAR-%d batch is a whole number of %llu-byte records; this file has %llu bytes",
        label_bytes == 1 ? 10 : 100, (unsigned long long)rec, (unsigned long long)size);
  *n = (int64_t)(size / rec);
  return LT_OK;
}

/* Records read per io_src_read: about 3 MiB, large enough to stream, small enough that Ctrl-C is
 * polled often. */
#define RECS 1024

LtStatus io_cifar_read(IoCtx *c, IoSrc *s, int label_bytes, int64_t n, uint8_t *images,
                       int64_t *labels, int64_t *coarse) {
  size_t rec = (size_t)label_bytes + IO_CIFAR_PIXELS;
  uint8_t *buf = io_alloc(c, rec * RECS);
  if (!buf) return LT_ENOMEM;
  LtStatus st = LT_OK;
  for (int64_t i = 0; i < n && st == LT_OK; i += RECS) {
    int64_t k = n - i < RECS ? n - i : RECS;
    if ((st = io_src_read(c, s, (uint64_t)i * rec, buf, (size_t)k * rec))) break;
    for (int64_t j = 0; j < k; j++) {
      const uint8_t *r = buf + (size_t)j * rec;
      /* CIFAR-100 stores the coarse label first, then the fine one; CIFAR-10 has one label byte. */
      int fine = r[label_bytes - 1], top = label_bytes == 2 ? r[0] : 0;
      if (fine >= (label_bytes == 1 ? 10 : 100) || top >= 20) {
        st = io_fail(c, LT_EVALUE, "record %lld has label %d, out of range", (long long)(i + j + 1),
                     fine >= (label_bytes == 1 ? 10 : 100) ? fine : top);
        break;
      }
      labels[i + j] = fine;
      if (coarse) coarse[i + j] = top;
      memcpy(images + (size_t)(i + j) * IO_CIFAR_PIXELS, r + label_bytes, IO_CIFAR_PIXELS);
    }
    if (st == LT_OK && lt_interrupt_pending()) st = io_fail(c, LT_EINTR, "interrupted");
  }
  io_free(c, buf, rec * RECS);
  return st;
}
