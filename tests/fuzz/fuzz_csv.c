/* fuzz_csv.c - libFuzzer harness: CSV scanning (quotes, CRLF, ragged rows) and number parsing. */
#include "fuzz.h"
#include "io/io_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  IoCtx c;
  IoCsv info;
  fuzz_ctx(&c);
  int header = n > 0 && (data[0] & 1);
  if (io_csv_scan(&c, (const char *)data, n, header, ',', &info) == LT_OK) {
    FUZZ_CHECK(info.rows >= 0 && info.cols >= 0 &&
               (uint64_t)info.rows * (uint64_t)info.cols <= n + 1);
    Tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = (n > 1 && (data[1] & 1)) ? LT_I64 : LT_F64;
    t.ndim = 2;
    t.shape[0] = info.rows;
    t.shape[1] = info.cols;
    lt_contiguous_strides(2, t.shape, t.stride);
    t.data = malloc((size_t)(info.rows * info.cols) * 8 + 8);
    FUZZ_CHECK(t.data != NULL);
    io_csv_parse(&c, (const char *)data, n, &info, ',', &t);
    free(t.data);
    io_csv_free(&c, &info);
  }
  fuzz_done(&c);
  return 0;
}
