/* fuzz_csv.c - libFuzzer harness: CSV scanning (quotes, CRLF, ragged rows), number parsing, and
 * the frame-mode walk (type inference, number parsing per field, quote decoding). */
#include "fuzz.h"
#include "io/io_csv.h"

/* The frame walk's checks: a field's kind agrees with io_csv_number, and decoding never grows
 * a field. */
typedef struct {
  int64_t rows, cols, seen;
  char *scratch;
} Walk;

static const char *visit(void *ud, int64_t row, int64_t col, const char *s, size_t n,
                         int quoted) {
  Walk *w = ud;
  FUZZ_CHECK(row >= 0 && row < w->rows && col >= 0 && col < w->cols);
  w->seen++;
  int k = io_csv_kind(s, n);
  int64_t i;
  double d;
  FUZZ_CHECK((k == IO_CSV_INT) == (io_csv_number(s, n, LT_I64, &i) == NULL));
  if (k == IO_CSV_FLOAT) FUZZ_CHECK(io_csv_number(s, n, LT_F64, &d) == NULL);
  FUZZ_CHECK(io_csv_unquote(s, n, quoted, w->scratch) <= n);
  /* Stop on some field, as a visitor reporting a bad cell does. */
  return (n == 3 && s[0] == '!') ? "stop" : NULL;
}

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
    Walk w = {info.rows, info.cols, 0, malloc(n + 1)};
    FUZZ_CHECK(w.scratch != NULL);
    if (io_csv_each(&c, (const char *)data, n, &info, ',', visit, &w) == LT_OK)
      FUZZ_CHECK(w.seen == info.rows * info.cols);
    free(w.scratch);
    io_csv_free(&c, &info);
  }
  fuzz_done(&c);
  return 0;
}
