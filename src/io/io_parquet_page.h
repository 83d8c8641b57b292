/* io_parquet_page.h - what the Parquet chunk readers share (io_parquet.c, the general reader;
 * io_parquet_dense.c, the fast path for dense numeric columns): page headers, the RLE/bit-packed
 * hybrid, opening a page of a chunk, the reused buffers (core, no Lua; not a public interface). */
#ifndef LUNETTE_IO_PARQUET_PAGE_H
#define LUNETTE_IO_PARQUET_PAGE_H
#include "io/io_parquet.h"

/* A page header's fields the readers use (DataPageHeader, DictionaryPageHeader and
 * DataPageHeaderV2 merged; has_* tell which parts were present). */
typedef struct {
  int64_t type, usize, csize;
  int64_t nvals, enc, nnulls, nrows, def_len, rep_len;
  int compressed;
  int has_dph, has_dict, has_v2;
} PageHdr;

/* A run-length / bit-packed hybrid stream (levels, dictionary indices, RLE booleans). */
typedef struct {
  const uint8_t *p, *end;
  int bw;
  uint32_t run_val;
  uint64_t run_left; /* repeated values left in the current RLE run */
  const uint8_t *bp; /* the current bit-packed run's bytes */
  uint64_t bp_bytes; /* its length (the last run may be cut short) */
  uint64_t bp_left;  /* values left in it */
  uint64_t bitpos;   /* bit offset into bp of the next value */
} Rle;

/* Starts reading the n bytes at p as values of bw bits (bw <= 32). */
void io_pq_rle_init(Rle *r, const uint8_t *p, size_t n, int bw);
/* The next value, or -1 when the data ends early or is malformed. */
int64_t io_pq_rle_next(Rle *r);

/* One page of a chunk: its header, its v2 levels (uncompressed, lv[0..lvn)) and its values (or
 * a v1 page's levels and values) decompressed, v[0..vn). */
typedef struct {
  PageHdr h;
  const uint8_t *lv;
  size_t lvn;
  const uint8_t *v;
  size_t vn;
  int in_place; /* the values were decompressed into their place (open_page's `into`); v holds
                   only a v1 page's levels */
} Page;

/* Parses and checks the page header at buf[*at] (the chunk is buf[0..csize)) of leaf l, moves
 * *at past the page and decompresses its values into sc->page when the chunk's codec applies.
 * *use is 0 for a page the reader skips (an index page). With into (the dense reader: into_cap
 * bytes there, room bytes before it to borrow, elem bytes per value), a compressed PLAIN data
 * page is decompressed in place instead (pg->in_place; see io_pq_read_dense). */
LtStatus io_pq_open_page(IoCtx *c, IoPqScratch *sc, const IoPqLeaf *l, int codec,
                         const uint8_t *buf, size_t csize, size_t *at, Page *pg, int *use,
                         uint8_t *into, size_t into_cap, size_t room, size_t elem);
/* Makes sc's chunk (page = 0) or page buffer hold at least need bytes, contents not kept:
 * scratch buffers grow, never shrink. A failure's message lands in c. */
LtStatus io_pq_grow_scratch(IoCtx *c, IoPqScratch *sc, int page, size_t need);

#endif
