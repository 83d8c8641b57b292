/* fuzz_png.c - libFuzzer harness: PNG chunk validation and decoding (filters, bit depths, palettes,
 * Adam7). */
#include "fuzz.h"
#include "io/io_png.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  IoCtx c;
  IoPngInfo info;
  fuzz_ctx(&c);
  if (io_png_info(&c, data, n, &info) == LT_OK) {
    size_t out = (size_t)info.w * info.h * (size_t)info.channels * lt_dtype_size(info.dtype);
    FUZZ_CHECK(out <= c.max_inflate);
    FUZZ_CHECK(info.raw_bytes <= info.idat_bytes * 1032 + 1024);
    void *dst = malloc(out);
    FUZZ_CHECK(dst != NULL);
    io_png_decode(&c, data, n, &info, dst);
    free(dst);
  }
  fuzz_done(&c);
  return 0;
}
