/* fuzz_parquet.c - libFuzzer harness: the Parquet footer (Thrift compact), pages, encodings and
 * codecs, reading every column of every row group as read_parquet does. */
#include "fuzz.h"
#include "io/io_parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  IoCtx c;
  IoSrc *s;
  IoPqFile f;
  fuzz_ctx(&c);
  if (io_src_mem(&c, data, n, &s)) return 0;
  if (io_pq_open(&c, s, &f) == LT_OK) {
    FUZZ_CHECK(f.nleaves > 0);
    for (int g = 0; g < f.nrg; g++) {
      for (int j = 0; j < f.nleaves; j++) {
        IoPqColumn col;
        if (io_pq_read_column(&c, s, &f, g, j, &col) != LT_OK) continue;
        FUZZ_CHECK(col.rows == f.rg_rows[g]);
        FUZZ_CHECK(col.nnull <= col.nvals);
        if (col.row_off) FUZZ_CHECK(col.row_off[col.rows] == col.nvals);
        if (col.off)
          for (int64_t i = 0; i < col.nvals; i++) FUZZ_CHECK(col.off[i] <= col.off[i + 1]);
        for (int64_t i = 0; col.codes && i < col.nvals; i++)
          FUZZ_CHECK(col.codes[i] >= -1 && col.codes[i] < col.ndict);
        io_pq_column_free(&c, &col);
      }
    }
    io_pq_free(&c, &f);
  }
  io_src_close(&c, s);
  fuzz_done(&c);
  return 0;
}
