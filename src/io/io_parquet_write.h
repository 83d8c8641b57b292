/* io_parquet_write.h - an Apache Parquet writer (core, no Lua): one data page (v1) per column
 * chunk, PLAIN or dictionary (RLE_DICTIONARY) encoding, definition and repetition levels in RLE,
 * no compression, SNAPPY or ZSTD (libsnappy and libzstd loaded with dlopen on first use). */
#ifndef LUNETTE_IO_PARQUET_WRITE_H
#define LUNETTE_IO_PARQUET_WRITE_H
#include "io/io.h"

enum {
  IO_PQW_NUM,  /* t: a contiguous 1-D tensor (bool, uint8, int32, int64, float32, float64) */
  IO_PQW_LIST, /* t: a contiguous 2-D tensor [rows x width]: list<element> per row */
  IO_PQW_TEXT, /* s, len: rows strings (s[i] NULL for a null) */
  IO_PQW_DICT  /* codes: rows 1-based codes (0 null) into the nlev strings lev, lev_len */
};

typedef struct {
  const char *name;
  size_t name_len;
  int kind;
  const Tensor *t;
  const char *const *s;
  const size_t *len;
  const int64_t *codes;
  const char *const *lev;
  const size_t *lev_len;
  int64_t nlev;
} IoPqwCol;

enum { IO_PQW_NONE, IO_PQW_SNAPPY, IO_PQW_ZSTD };

typedef struct {
  int codec;          /* IO_PQW_* */
  int64_t group_rows; /* rows per row group, >= 1 */
  int dictionary;     /* text columns dictionary-encoded when their distinct values are at most
                         half the rows (else PLAIN); DICT columns always are */
  int zstd_level;     /* 1..22 */
} IoPqwOpts;

/* Writes ncols columns of rows rows as a Parquet file through w (not committed): every column
 * has rows entries; a text column with a null, or a DICT column with a code 0, is OPTIONAL, the
 * others REQUIRED; a LIST column is `required group name (LIST) { repeated group list { required
 * element } }`. Fails on a page over 2 GiB (fewer rows per group), a code out of 0..nlev, or a
 * codec that cannot be loaded. */
LtStatus io_pq_write(IoCtx *c, IoWriter *w, const IoPqwCol *cols, int ncols, int64_t rows,
                     const IoPqwOpts *o);

#endif
