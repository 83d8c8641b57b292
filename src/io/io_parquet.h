/* io_parquet.h - Apache Parquet reader (core, no Lua): the footer (Thrift compact protocol), row
 * groups, column chunks, data pages v1/v2 and dictionary pages; PLAIN, RLE/bit-packed hybrid and
 * dictionary encodings; no compression, SNAPPY, GZIP, ZSTD and LZ4_RAW (libsnappy, libzstd and
 * liblz4 are loaded with dlopen on the first compressed page that needs them). */
#ifndef LUNETTE_IO_PARQUET_H
#define LUNETTE_IO_PARQUET_H
#include "io/io.h"
#include "io/io_src.h"

/* Physical types, as the format numbers them. */
enum {
  IO_PQ_BOOLEAN,
  IO_PQ_INT32,
  IO_PQ_INT64,
  IO_PQ_INT96,
  IO_PQ_FLOAT,
  IO_PQ_DOUBLE,
  IO_PQ_BYTE_ARRAY,
  IO_PQ_FIXED
};

/* One leaf column of the schema. */
typedef struct {
  char *name;      /* dotted path; a LIST group's inner levels are left out ("emb", not
                      "emb.list.element"); NUL-terminated, owned by the file */
  int type;        /* IO_PQ_* */
  int type_len;    /* width of a FIXED_LEN_BYTE_ARRAY */
  int max_def;     /* definition levels: 0 when no ancestor is optional or repeated */
  int max_rep;     /* repetition levels: 1 for list<primitive> */
  int list_def;    /* definition level at which the repeated ancestor holds an element */
  int float16;     /* FIXED_LEN_BYTE_ARRAY(2) annotated FLOAT16 */
  int is_unsigned; /* INT32 annotated UINT_32/UINT(32) */
} IoPqLeaf;

/* Where one leaf's values lie in one row group. */
typedef struct {
  int type, codec;
  int64_t num_values, data_off, dict_off, size;
} IoPqChunk;

typedef struct {
  int nleaves;
  IoPqLeaf *leaves;
  int64_t num_rows;
  int nrg;
  int64_t *rg_rows;  /* nrg entries */
  IoPqChunk *chunks; /* nrg * nleaves, row group major */
  char *names;       /* the leaves' names, back to back */
  size_t names_size;
} IoPqFile;

/* Reads and checks the footer of the Parquet file s: magic numbers, metadata length, the Thrift
 * structures (unknown fields skipped, nesting at most 64 deep), a schema whose leaves match every
 * row group's column chunks, and chunk ranges inside the file. Fills *f (zeroed on failure). */
LtStatus io_pq_open(IoCtx *c, IoSrc *s, IoPqFile *f);
/* Frees what io_pq_open allocated; idempotent. */
void io_pq_free(IoCtx *c, IoPqFile *f);

/* One leaf of one row group, decoded and assembled into rows. Every value slot is present: a null
 * one has null[i] = 1 and zero bytes. */
typedef struct {
  int64_t rows;     /* rows of the row group */
  int64_t width;    /* list columns whose rows all hold `width` values: the width; else -1 */
  int64_t *row_off; /* ragged lists: rows + 1 offsets into the value slots; else NULL */
  int64_t nvals;    /* value slots (the rows of a flat column; the list elements otherwise) */
  uint8_t *null;    /* nvals flags, or NULL when no slot is null */
  int64_t nnull;
  size_t elem;   /* bytes per slot of a fixed-width type (booleans: 1 byte, 0 or 1) */
  uint8_t *data; /* nvals * elem bytes (fixed-width types) */
  int64_t *off;  /* byte arrays: nvals + 1 offsets into bytes */
  uint8_t *bytes;
  /* Byte arrays whose every data page is dictionary-encoded: nvals codes (0-based, -1 for null)
   * into the ndict entries dict_off/dict_bytes. */
  int32_t *codes;
  int64_t ndict;
  int64_t *dict_off;
  uint8_t *dict_bytes;
  /* Sizes of the allocations above, for io_free. */
  size_t cap_rows, cap_vals, cap_bytes, cap_dict_bytes, cap_dict;
} IoPqColumn;

/* Buffers a reader reuses from chunk to chunk and page to page (a column chunk's bytes, one
 * decompressed page), so reading a file of many row groups allocates and faults in fresh memory
 * once, not per chunk. Zero it before first use. The buffers are allocated and freed through c
 * when it is set (an open file's context, so they outlive each read's own), else through the
 * context of the call that grows or frees them. Their sizes are bounded by the file's chunk
 * sizes and the calls' max_inflate, both checked before they grow. */
typedef struct {
  IoCtx *c;
  uint8_t *chunk;
  size_t chunk_cap;
  uint8_t *page;
  size_t page_cap;
} IoPqScratch;
/* Frees the buffers of sc (keeping sc->c); idempotent. */
void io_pq_scratch_free(IoCtx *c, IoPqScratch *sc);

/* Decodes leaf `leaf` of row group `rg` (0-based) of f into *out (zeroed on failure). Every size
 * read from the file is checked against the chunk and the limits of c before it is allocated;
 * a lying decompressed size, a dictionary index out of range, levels past their maximum, or a
 * value count that disagrees with the metadata is an error naming the column. sc (NULL: buffers
 * of this call only) holds the chunk and page buffers between calls. */
LtStatus io_pq_read_column(IoCtx *c, IoSrc *s, const IoPqFile *f, int rg, int leaf,
                           IoPqScratch *sc, IoPqColumn *out);
/* Frees what io_pq_read_column allocated; idempotent. */
void io_pq_column_free(IoCtx *c, IoPqColumn *col);

/* The fast path for numeric columns without nulls: a flat column, or a list column whose rows
 * all hold the same number of values (an embedding column), decoded straight into the caller's
 * memory with no level or value arrays in between.
 *
 * io_pq_dense_elem: bytes per value when leaf's values are stored as the tensor holds them
 * (int32, int64, float, double, float16) and it is flat or a list of one level; else 0.
 * io_pq_dense_width: the values per row leaf would have in row group rg if it is dense: 1 for a
 * flat column; num_values / rows for a list column when that divides evenly; else -1 (also for
 * a row group of no rows, whose width the metadata cannot tell). */
size_t io_pq_dense_elem(const IoPqLeaf *l);
int64_t io_pq_dense_width(const IoPqFile *f, int rg, int leaf);
/* Decodes leaf `leaf` of row group rg into dst (rows * width * io_pq_dense_elem bytes, width
 * from io_pq_dense_width): *dense = 1 when every slot held a value and every list `width` of
 * them, with all the checks io_pq_read_column makes. Anything else (a null, a ragged row, an
 * unsupported encoding, a damaged page) gives *dense = 0 and LT_OK with dst partly written: the
 * caller then reads the chunk with io_pq_read_column, which accepts it or reports the error.
 * Only LT_ENOMEM (buffers) is returned as a failure. A compressed PLAIN page is decompressed
 * where its values belong; the levels a v1 page holds in front of them land, for a moment, in
 * the bytes before: the room bytes before dst may be borrowed that way (they are put back before
 * this returns, so no other thread may be writing them meanwhile), and the page's own earlier
 * pages' values are. With room 0 the first page goes through sc->page. */
LtStatus io_pq_read_dense(IoCtx *c, IoSrc *s, const IoPqFile *f, int rg, int leaf,
                          IoPqScratch *sc, void *dst, size_t room, int64_t width, int *dense);

#endif
