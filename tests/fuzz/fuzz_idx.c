/* fuzz_idx.c - libFuzzer harness: IDX headers, raw or through the gzip stream (multi-member,
 * trailing data), and CIFAR batches. */
#include "fuzz.h"
#include "io/io_idx.h"

static void cifar(IoCtx *c, IoSrc *s, size_t n, int lb) {
  int64_t k;
  if (io_cifar_count(c, n, lb, &k)) return;
  uint8_t *img = malloc((size_t)k * IO_CIFAR_PIXELS);
  int64_t *lab = malloc((size_t)k * 8), *co = malloc((size_t)k * 8);
  FUZZ_CHECK(img && lab && co);
  io_cifar_read(c, s, lb, k, img, lab, lb == 2 ? co : NULL);
  free(img);
  free(lab);
  free(co);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  IoCtx c;
  IoSrc *s, *d;
  IoArray a;
  fuzz_ctx(&c);
  if (io_src_mem(&c, data, n, &s)) return 0;
  int gz = n >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  d = s;
  if (gz && io_src_inflate(&c, s, 0, n, 1, IO_SIZE_UNKNOWN, &d)) {
    io_src_close(&c, s);
    fuzz_done(&c);
    return 0;
  }
  if (io_idx_parse(&c, d, &a) == LT_OK) {
    FUZZ_CHECK(a.ndim >= 1 && a.ndim <= LT_MAXDIM);
    FUZZ_CHECK(gz || a.offset + a.nbytes == n);
    fuzz_read_array(&c, d, &a);
    if (gz) io_src_expect_end(&c, d, a.offset + a.nbytes);
  }
  if (d != s) io_src_close(&c, d);
  cifar(&c, s, n, 1);
  cifar(&c, s, n, 2);
  io_src_close(&c, s);
  fuzz_done(&c);
  return 0;
}
