/* fuzz_arrow.c - libFuzzer harness: Arrow IPC files and streams (flatbuffer metadata, footer,
 * dictionaries, record batches, LZ4/ZSTD bodies), reading every column of every batch as
 * read_arrow does. */
#include "fuzz.h"
#include "io/io_arrow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  IoCtx c;
  IoSrc *s;
  IoArFile f;
  fuzz_ctx(&c);
  if (io_src_mem(&c, data, n, &s)) return 0;
  if (io_ar_open(&c, s, &f) == LT_OK) {
    int64_t total = 0;
    for (int b = 0; b < f.nbatches; b++) {
      FUZZ_CHECK(f.batches[b].rows >= 0);
      total += f.batches[b].rows;
      for (int j = 0; j < f.nleaves; j++) {
        IoArColumn col;
        if (io_ar_read_column(&c, s, &f, b, j, &col) != LT_OK) continue;
        FUZZ_CHECK(col.rows == f.batches[b].rows);
        FUZZ_CHECK(col.nvals >= 0);
        if (col.row_off) {
          FUZZ_CHECK(col.row_off[0] == 0 && col.row_off[col.rows] == col.nvals);
          for (int64_t r = 0; r < col.rows; r++) FUZZ_CHECK(col.row_off[r] <= col.row_off[r + 1]);
        } else {
          FUZZ_CHECK(col.nvals == col.rows);
        }
        if (col.off)
          for (int64_t i = 0; i < col.nvals; i++) FUZZ_CHECK(col.off[i] <= col.off[i + 1]);
        for (int64_t i = 0; col.codes && i < col.nvals; i++)
          FUZZ_CHECK(col.codes[i] >= -1 && col.codes[i] < col.ndict);
        FUZZ_CHECK(col.codes || col.dtype >= 0 || col.off);
        io_ar_column_free(&c, &col);
      }
    }
    FUZZ_CHECK(total == f.num_rows);
    io_ar_free(&c, &f);
  }
  io_src_close(&c, s);
  fuzz_done(&c);
  return 0;
}
