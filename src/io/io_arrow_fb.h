/* io_arrow_fb.h - what the Arrow IPC files share (core, no Lua): a bounds-checked flatbuffer
 * table reader, a record batch's metadata, the LZ4/ZSTD codec table. Private to io_arrow*.c.
 *
 * Why a flatbuffer reader by hand: Arrow's metadata (Message, Schema, Footer) is flatbuffers,
 * and Debian 12 ships neither an Arrow library nor a flatbuffers runtime for C (libflatbuffers
 * is C++, and its generated readers trust every offset unless a separate verifier runs first).
 * Arrow needs a dozen small tables; reading them here, every offset checked against the buffer
 * as it is followed, is shorter than a generated reader plus its verifier. */
#ifndef LUNETTE_IO_ARROW_FB_H
#define LUNETTE_IO_ARROW_FB_H
#include <string.h>
#include <lz4frame.h>
#include <zstd.h>
#include "io/io_arrow.h"

/* A flatbuffer: n bytes at p. `bad` is set by any access that would leave it; readers check it
 * once after a group of accesses (each access returns a harmless default meanwhile). */
typedef struct {
  const uint8_t *p;
  size_t n;
  int bad;
} ArBuf;

/* A table: where it starts and its vtable. */
typedef struct {
  ArBuf *b;
  size_t pos, vt;
  unsigned vtlen, tlen;
} ArTab;

/* The table at pos of b (0 with b->bad set when its header or vtable leaves b). */
static inline int ar_tab_at(ArBuf *b, size_t pos, ArTab *t) {
  /* A table that fails leaves *t empty (every field absent), so later reads stay inside b. */
  memset(t, 0, sizeof *t);
  t->b = b;
  if (pos > b->n || b->n - pos < 4) return !(b->bad = 1);
  int64_t vt = (int64_t)pos - (int32_t)io_le32(b->p + pos);
  if (vt < 0 || (uint64_t)vt > b->n - 4) return !(b->bad = 1);
  unsigned vtlen = io_le16(b->p + vt), tlen = io_le16(b->p + vt + 2);
  if (vtlen < 4 || vtlen > b->n - (size_t)vt || tlen < 4 || tlen > b->n - pos)
    return !(b->bad = 1);
  t->pos = pos;
  t->vt = (size_t)vt;
  t->vtlen = vtlen;
  t->tlen = tlen;
  return 1;
}

/* The root table of b. */
static inline int ar_root(ArBuf *b, ArTab *t) {
  memset(t, 0, sizeof *t);
  if (b->n < 4) return !(b->bad = 1);
  return ar_tab_at(b, io_le32(b->p), t);
}

/* Where field `id` of t lies (size bytes inside the table), or 0 when absent. */
static inline size_t ar_field(const ArTab *t, int id, unsigned size) {
  unsigned slot = 4 + 2 * (unsigned)id;
  if (!t->b || slot + 2 > t->vtlen) return 0;
  unsigned off = io_le16(t->b->p + t->vt + slot);
  if (!off) return 0;
  if (off + size > t->tlen) {
    t->b->bad = 1;
    return 0;
  }
  return t->pos + off;
}

/* A scalar field of `size` bytes (1, 2, 4, 8), sign-extended, or def when absent. */
static inline int64_t ar_int(const ArTab *t, int id, unsigned size, int64_t def) {
  size_t p = ar_field(t, id, size);
  if (!p) return def;
  const uint8_t *q = t->b->p + p;
  switch (size) {
  case 1: return (int8_t)q[0];
  case 2: return (int16_t)io_le16(q);
  case 4: return (int32_t)io_le32(q);
  default: return (int64_t)io_le64(q);
  }
}

/* Where the offset field `id` of t points (0 when absent or outside the buffer). */
static inline size_t ar_target(const ArTab *t, int id) {
  size_t p = ar_field(t, id, 4);
  if (!p) return 0;
  uint64_t to = (uint64_t)p + io_le32(t->b->p + p);
  if (to >= t->b->n) {
    t->b->bad = 1;
    return 0;
  }
  return (size_t)to;
}

/* The sub-table of field `id` (0 when absent). */
static inline int ar_sub(const ArTab *t, int id, ArTab *out) {
  size_t to = ar_target(t, id);
  memset(out, 0, sizeof *out);
  return to ? ar_tab_at(t->b, to, out) : 0;
}

/* A vector field of elements of `elem` bytes: *start its first element, *count of them; 0 (and
 * no elements) when absent or when the elements would leave the buffer. */
static inline int ar_vec(const ArTab *t, int id, size_t elem, size_t *start, uint32_t *count) {
  size_t to = ar_target(t, id);
  *start = 0;
  *count = 0;
  if (!to) return 0;
  if (t->b->n - to < 4) return !(t->b->bad = 1);
  uint32_t n = io_le32(t->b->p + to);
  if ((uint64_t)n * elem > t->b->n - to - 4) return !(t->b->bad = 1);
  *start = to + 4;
  *count = n;
  return 1;
}

/* Element i of a vector of tables starting at start. */
static inline int ar_vec_tab(ArBuf *b, size_t start, uint32_t i, ArTab *out) {
  size_t q = start + 4 * (size_t)i;
  uint64_t to = (uint64_t)q + io_le32(b->p + q);
  if (to >= b->n) to = b->n; /* fails in ar_tab_at, which leaves *out empty */
  return ar_tab_at(b, (size_t)to, out);
}

/* A string field: its bytes (not NUL-terminated here) and length; NULL when absent. */
static inline const char *ar_str(const ArTab *t, int id, uint32_t *len) {
  size_t start;
  if (!ar_vec(t, id, 1, &start, len)) return NULL;
  return (const char *)t->b->p + start;
}

/* ---- messages ------------------------------------------------------------------------------ */

enum { AR_MSG_END = 0, AR_MSG_SCHEMA = 1, AR_MSG_DICT = 2, AR_MSG_BATCH = 3 };

/* One message read from the source: its flatbuffer (owned: io_free(buf, cap)), its header
 * table, where its body lies. */
typedef struct {
  uint8_t *buf;
  size_t cap;
  ArBuf fb;
  int type; /* AR_MSG_*; other header types are refused */
  ArTab hdr;
  uint64_t body_off; /* in the source */
  uint64_t body_len;
  uint64_t end; /* where the next message starts */
} ArMsg;

/* Reads the message at off of s (a stream ending without an end marker counts as the end when
 * off is the size of s and allow_eof). */
LtStatus io_ar_read_msg(IoCtx *c, IoSrc *s, uint64_t off, int allow_eof, ArMsg *m);
void io_ar_msg_free(IoCtx *c, ArMsg *m);

/* A RecordBatch table's nodes and buffers, and where its body is. */
typedef struct {
  IoSrc *s;
  uint64_t body_off, body_len;
  int64_t length;
  const uint8_t *nodes; /* 16 bytes each: length, null count */
  uint32_t nnodes;
  const uint8_t *bufs; /* 16 bytes each: offset, length */
  uint32_t nbufs;
  int codec; /* -1 uncompressed, 0 LZ4_FRAME, 1 ZSTD */
} ArRB;

/* Reads the RecordBatch table t of message m into *rb (counts and sizes checked). */
LtStatus io_ar_rb(IoCtx *c, IoSrc *s, const ArMsg *m, const ArTab *t, ArRB *rb);
/* Decodes all slots of the flat node k (not a dictionary's indices: its values), laid out at
 * FieldNode fnode and buffers fbuf.. of rb, into *out. */
LtStatus io_ar_decode_flat(IoCtx *c, const ArRB *rb, const IoArFile *f, int k, int fnode, int fbuf,
                           IoArColumn *out);
/* Appends b's slots to a (same kind); frees b. */
LtStatus io_ar_append(IoCtx *c, IoArColumn *a, IoArColumn *b);

/* ---- codecs (liblz4 and libzstd by dlopen) ------------------------------------------------ */

/* The prototypes come from the libraries' headers (liblz4-dev, libzstd-dev), so the table's types
 * are checked; nothing links against the libraries. A NULL member: the library is missing. */
typedef struct {
  __typeof__(LZ4F_createDecompressionContext) *LZ4F_createDecompressionContext;
  __typeof__(LZ4F_freeDecompressionContext) *LZ4F_freeDecompressionContext;
  __typeof__(LZ4F_decompress) *LZ4F_decompress;
  __typeof__(LZ4F_isError) *LZ4F_isError;
  __typeof__(LZ4F_compressFrameBound) *LZ4F_compressFrameBound;
  __typeof__(LZ4F_compressFrame) *LZ4F_compressFrame;
  __typeof__(ZSTD_decompress) *ZSTD_decompress;
  __typeof__(ZSTD_isError) *ZSTD_isError;
  __typeof__(ZSTD_compress) *ZSTD_compress;
  __typeof__(ZSTD_compressBound) *ZSTD_compressBound;
} ArCodecs;

/* The table, loaded on the first call (thread-safe). */
const ArCodecs *io_ar_codecs(void);

#endif
