/* io_src.h - random-access byte sources every reader parses from: memory, files, windows, inflate
 * streams; reading arrays into caller memory (core, no Lua). */
#ifndef LUNETTE_IO_SRC_H
#define LUNETTE_IO_SRC_H
#include "io/io.h"

/* A readable byte range. Readers never see file descriptors or zlib: they
 * ask for exactly n bytes at an offset and get them or an error naming the
 * problem ("file ends after N bytes", "corrupt deflate data", ...).
 *
 *  MEM      bytes owned by the caller (fuzz harnesses, in-memory strings)
 *  FILE     a regular file opened by path (directories, FIFOs and devices
 *           are refused so a reader can never hang on /dev/zero or a pipe)
 *  WINDOW   [base, base+size) of a parent (a stored zip member)
 *  INFLATE  the decompressed bytes of [base, base+len) of a parent, raw
 *           DEFLATE (zip) or gzip (with concatenated members); forward
 *           reads stream, a backward read restarts the stream. Output past
 *           the declared size, or past c->max_inflate, is an error.
 *
 * WINDOW and INFLATE sources can check a CRC-32 of their content: it is
 * accumulated over sequential reads from offset 0 and compared when the
 * last byte is read (a read that jumps around disables the check). */
typedef struct IoSrc IoSrc;

#define IO_SIZE_UNKNOWN UINT64_MAX

/* A source over the caller's p[0..n): nothing is copied, so p must outlive it. LT_ENOMEM only. */
LtStatus io_src_mem(IoCtx *c, const void *p, size_t n, IoSrc **out);
/* Opens path for reading; LT_EVALUE with strerror's text, or "not a regular file", when it
 * cannot. The size is taken now: reads past a later shrink fail with a message. */
LtStatus io_src_file(IoCtx *c, const char *path, IoSrc **out);
/* The child borrows the parent, which must outlive it. */
LtStatus io_src_window(IoCtx *c, IoSrc *parent, uint64_t base, uint64_t size, IoSrc **out);
/* out_size is the exact decompressed size, or IO_SIZE_UNKNOWN (gzip). */
LtStatus io_src_inflate(IoCtx *c, IoSrc *parent, uint64_t base, uint64_t len, int gzip,
                        uint64_t out_size, IoSrc **out);
/* Arms the CRC-32 check described above (WINDOW and INFLATE sources; on others it does nothing):
 * a read that completes one sequential pass over s fails on a mismatch. */
void io_src_check_crc(IoSrc *s, uint32_t crc);
/* Frees s (not its parent); NULL is fine. */
void io_src_close(IoCtx *c, IoSrc *s);

/* Bytes in s (IO_SIZE_UNKNOWN for gzip streams). */
uint64_t io_src_size(const IoSrc *s);
/* Reads exactly n bytes at off into dst. */
LtStatus io_src_read(IoCtx *c, IoSrc *s, uint64_t off, void *dst, size_t n);
/* LT_OK when s has no byte at or after off ("trailing data" otherwise). */
LtStatus io_src_expect_end(IoCtx *c, IoSrc *s, uint64_t off);
/* Reads the whole of a source of known size into a new io_alloc'd buffer
 * of *n bytes (plus a NUL, not counted), refusing sources above cap. */
LtStatus io_src_slurp(IoCtx *c, IoSrc *s, uint64_t cap, uint8_t **buf, size_t *n);

/* An array as a file stores it: element type and byte order, shape, where
 * its bytes are. Fortran-order arrays hold the C-order bytes of the
 * reversed shape; readers return them as a transposed view. */
typedef struct {
  IoStype st;
  int swap; /* stored big-endian */
  int fortran;
  int ndim;
  int64_t shape[LT_MAXDIM];
  uint64_t offset; /* of the first element in the source */
  uint64_t nbytes; /* stored bytes: numel * io_stype_size(st) */
  /* Text arrays (.npy '<U8', '|S8'): 'U' (UTF-32 code units, st IO_U4) or 'S' (bytes, st IO_U1),
   * else 0. The characters of each string are the last dimension of shape (text_len of them),
   * so sizes are checked as for numbers; readers turn them into Lua strings. */
  char text;
  int64_t text_len;
} IoArray;

/* Reads `count` rows (elements along dim 0, each the product of the other
 * dims) starting at row `first` of a C-order array into dst, converting to
 * the lunette dtype. dst holds count*rowsize*size(dtype) bytes. A 0-d array
 * has one row. Polls for Ctrl-C between chunks (LT_EINTR). */
LtStatus io_array_read_rows(IoCtx *c, IoSrc *s, const IoArray *a, int64_t first, int64_t count,
                            void *dst);
/* The whole array (any order) into dst (numel * size(dtype) bytes). */
LtStatus io_array_read(IoCtx *c, IoSrc *s, const IoArray *a, void *dst);
/* The whole array as float32 times scale, in one pass (images straight to
 * [0,1]); stored types of at most 4 bytes (LT_EDTYPE otherwise). */
LtStatus io_array_read_f32(IoCtx *c, IoSrc *s, const IoArray *a, float *dst, float scale);

#endif
