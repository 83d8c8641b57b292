/* fuzz_parquet.c - libFuzzer harness: the Parquet footer (Thrift compact), pages, encodings and
 * codecs, reading every column of every row group as read_parquet does (one set of reused chunk
 * and page buffers, as an open file has). Where the dense fast path accepts a chunk, its values
 * must be the general reader's, byte for byte. */
#include <string.h>
#include "fuzz.h"
#include "io/io_parquet.h"

/* The dense path on leaf j of row group g must agree with col, the general reader's result. */
static void check_dense(IoCtx *c, IoSrc *s, const IoPqFile *f, int g, int j, IoPqScratch *sc,
                        const IoPqColumn *col) {
  size_t elem = io_pq_dense_elem(&f->leaves[j]);
  int64_t w = io_pq_dense_width(f, g, j);
  if (!elem || w < 1) return;
  size_t nb = (size_t)f->rg_rows[g] * (size_t)w * elem;
  if (nb > ((size_t)64 << 20)) return;
  /* ROOM bytes before the values the reader may borrow for a moment: they must come back. */
  enum { ROOM = 4096 };
  uint8_t *buf = io_alloc(c, ROOM + nb), *dst = buf + ROOM;
  if (!buf) return;
  for (int i = 0; i < ROOM; i++) buf[i] = (uint8_t)(i * 7 + 1);
  int dense = 0;
  LtStatus st = io_pq_read_dense(c, s, f, g, j, sc, dst, ROOM, w, &dense);
  for (int i = 0; i < ROOM; i++) FUZZ_CHECK(buf[i] == (uint8_t)(i * 7 + 1));
  if (st == LT_OK && dense) {
    /* Dense means: no null, every row `w` values, and the general reader's very bytes. */
    FUZZ_CHECK(col->nnull == 0 && !col->null);
    FUZZ_CHECK(col->nvals == f->rg_rows[g] * w);
    FUZZ_CHECK(col->elem == elem);
    if (f->leaves[j].max_rep) FUZZ_CHECK(col->width == w);
    FUZZ_CHECK(memcmp(dst, col->data, nb) == 0);
  }
  io_free(c, buf, ROOM + nb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  IoCtx c;
  IoSrc *s;
  IoPqFile f;
  IoPqScratch sc;
  memset(&sc, 0, sizeof sc);
  fuzz_ctx(&c);
  if (io_src_mem(&c, data, n, &s)) return 0;
  if (io_pq_open(&c, s, &f) == LT_OK) {
    FUZZ_CHECK(f.nleaves > 0);
    for (int g = 0; g < f.nrg; g++) {
      for (int j = 0; j < f.nleaves; j++) {
        IoPqColumn col;
        LtStatus st = io_pq_read_column(&c, s, &f, g, j, &sc, &col);
        if (st != LT_OK) {
          /* A chunk the general reader refuses is never dense (unless it ran out of the memory
           * budget, which the dense path, needing less, may not). */
          size_t elem = io_pq_dense_elem(&f.leaves[j]);
          int64_t w = io_pq_dense_width(&f, g, j);
          size_t nb = elem && w > 0 ? (size_t)f.rg_rows[g] * (size_t)w * elem : 0;
          int try_dense = st != LT_ENOMEM && nb && nb <= ((size_t)64 << 20);
          uint8_t *dst = try_dense ? io_alloc(&c, nb) : NULL;
          int dense = 0;
          if (dst && io_pq_read_dense(&c, s, &f, g, j, &sc, dst, 0, w, &dense) == LT_OK)
            FUZZ_CHECK(!dense);
          if (dst) io_free(&c, dst, nb);
          continue;
        }
        FUZZ_CHECK(col.rows == f.rg_rows[g]);
        FUZZ_CHECK(col.nnull <= col.nvals);
        if (col.row_off) FUZZ_CHECK(col.row_off[col.rows] == col.nvals);
        if (col.off)
          for (int64_t i = 0; i < col.nvals; i++) FUZZ_CHECK(col.off[i] <= col.off[i + 1]);
        for (int64_t i = 0; col.codes && i < col.nvals; i++)
          FUZZ_CHECK(col.codes[i] >= -1 && col.codes[i] < col.ndict);
        check_dense(&c, s, &f, g, j, &sc, &col);
        io_pq_column_free(&c, &col);
      }
    }
    io_pq_free(&c, &f);
  }
  io_pq_scratch_free(&c, &sc);
  io_src_close(&c, s);
  fuzz_done(&c);
  return 0;
}
