/* fuzz_npy.c - libFuzzer harness: .npy header grammar and array reads. */
#include "fuzz.h"
#include "io/io_npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  IoCtx c;
  IoSrc *s;
  IoArray a;
  fuzz_ctx(&c);
  if (io_src_mem(&c, data, n, &s)) return 0;
  if (io_npy_parse(&c, s, 1, &a) == LT_OK) {
    FUZZ_CHECK(a.offset + a.nbytes == n);
    FUZZ_CHECK(a.ndim >= 0 && a.ndim <= LT_MAXDIM);
    fuzz_read_array(&c, s, &a);
  }
  io_src_close(&c, s);
  fuzz_done(&c);
  return 0;
}
