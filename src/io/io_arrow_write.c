/* io_arrow_write.c - the Arrow IPC writer (see io_arrow_write.h): flatbuffer metadata built front
 * to back by hand (io_arrow_fb.h says why there is no library), record batch bodies built in
 * memory one batch at a time, compressed per buffer, written through the atomic writer. */
#include <string.h>
#include "io/io_arrow_write.h"
#include "io/io_arrow_fb.h"

/* ---- a growing byte buffer (io_alloc accounting) ---- */

typedef struct {
  IoCtx *c;
  uint8_t *p;
  size_t n, cap;
  LtStatus st; /* the first failure sticks; later appends do nothing */
} Buf;

static int reserve(Buf *b, size_t more) {
  if (b->st) return 0;
  if (more <= b->cap - b->n) return 1;
  size_t cap = b->cap ? b->cap : 512;
  while (cap - b->n < more) {
    if (cap > SIZE_MAX / 4) {
      b->st = io_fail(b->c, LT_ENOMEM, "record batch too large");
      return 0;
    }
    cap *= 2;
  }
  uint8_t *p = io_alloc(b->c, cap);
  if (!p) {
    b->st = LT_ENOMEM;
    return 0;
  }
  if (b->n) memcpy(p, b->p, b->n);
  io_free(b->c, b->p, b->cap);
  b->p = p;
  b->cap = cap;
  return 1;
}

static void put(Buf *b, const void *src, size_t k) {
  if (!reserve(b, k)) return;
  if (k) memcpy(b->p + b->n, src, k);
  b->n += k;
}

/* Zeros until the length is `extra` past a multiple of align. */
static void pad(Buf *b, size_t align, size_t extra) {
  static const uint8_t zero[8];
  while (!b->st && b->n % align != extra) put(b, zero, 1);
}

static void put32(Buf *b, uint32_t v) {
  uint8_t q[4];
  io_put32(q, v);
  put(b, q, 4);
}

static void buf_free(Buf *b) {
  io_free(b->c, b->p, b->cap);
  b->p = NULL;
  b->n = b->cap = 0;
}

/* ---- flatbuffers, front to back ---- */

/* A table field: a scalar of size 1, 2, 4 or 8 bytes, or (size 0) a 4-byte offset to an object
 * written later and patched in with fb_patch: a flatbuffer offset is unsigned, so whatever a
 * table points at must come after it. */
typedef struct {
  int id;
  int size;
  uint64_t v;
} FbField;

/* Writes a vtable, then the table (at an offset that aligns its 8-byte fields); returns where the
 * table starts and, in slot[i], where the i-th offset field lies. */
static size_t fb_table(Buf *b, const FbField *f, int n, size_t *slot) {
  int maxid = -1, has8 = 0;
  for (int i = 0; i < n; i++) {
    maxid = f[i].id > maxid ? f[i].id : maxid;
    has8 |= f[i].size == 8;
  }
  uint16_t off[32] = {0};
  unsigned at = 4;
  for (int size = 8; size >= 1; size /= 2) /* biggest first: no padding inside the table */
    for (int i = 0; i < n; i++)
      if ((f[i].size ? f[i].size : 4) == size) {
        off[f[i].id] = (uint16_t)at;
        at += (unsigned)size;
      }
  pad(b, 2, 0);
  size_t vt = b->n;
  uint8_t q[2];
  io_put16(q, (uint16_t)(4 + 2 * (maxid + 1)));
  put(b, q, 2);
  io_put16(q, (uint16_t)at);
  put(b, q, 2);
  for (int i = 0; i <= maxid; i++) {
    io_put16(q, off[i]);
    put(b, q, 2);
  }
  pad(b, has8 ? 8 : 4, has8 ? 4 : 0);
  size_t t = b->n;
  put32(b, (uint32_t)(t - vt));
  if (!reserve(b, at - 4)) return t;
  memset(b->p + b->n, 0, at - 4);
  for (int i = 0, k = 0; i < n; i++) {
    uint8_t *dst = b->p + t + off[f[i].id];
    if (f[i].size == 0)
      slot[k++] = t + off[f[i].id];
    else if (f[i].size == 1)
      dst[0] = (uint8_t)f[i].v;
    else if (f[i].size == 2)
      io_put16(dst, (uint16_t)f[i].v);
    else if (f[i].size == 4)
      io_put32(dst, (uint32_t)f[i].v);
    else
      io_put64(dst, f[i].v);
  }
  b->n += at - 4;
  return t;
}

/* Points the offset at slot to target (which comes after it). */
static void fb_patch(Buf *b, size_t slot, size_t target) {
  if (!b->st) io_put32(b->p + slot, (uint32_t)(target - slot));
}

/* A vector of count structs of elem bytes (8-byte aligned), or of count offsets (elem 0: their
 * slots are the returned position + 4 + 4 i). Returns the position of its length. */
static size_t fb_vec(Buf *b, const void *data, uint32_t count, size_t elem) {
  pad(b, elem ? 8 : 4, elem ? 4 : 0);
  size_t at = b->n;
  put32(b, count);
  if (elem)
    put(b, data, count * elem);
  else
    for (uint32_t i = 0; i < count; i++) put32(b, 0);
  return at;
}

static size_t fb_string(Buf *b, const char *s, size_t len) {
  pad(b, 4, 0);
  size_t at = b->n;
  put32(b, (uint32_t)len);
  put(b, s, len);
  put(b, "", 1);
  return at;
}

/* ---- schema ---- */

/* The Type union's tag for values of dt (-1: text). */
static int type_tag(LtDtype dt, int text_large) {
  if (dt == (LtDtype)-1) return text_large ? 20 : 5; /* LargeUtf8, Utf8 */
  if (dt == LT_BOOL) return 6;
  if (dt == LT_F16 || dt == LT_F32 || dt == LT_F64) return 3; /* FloatingPoint */
  return 2;                                                   /* Int */
}

/* The Type table for values of dt (-1: text). */
static size_t put_type(Buf *b, LtDtype dt) {
  size_t none[1];
  int tag = type_tag(dt, 0);
  if (tag == 3) {
    FbField f[] = {{0, 2, dt == LT_F16 ? 0 : dt == LT_F32 ? 1 : 2}};
    return fb_table(b, f, 1, none);
  }
  if (tag == 2) {
    FbField f[] = {{0, 4, dt == LT_U8 ? 8 : dt == LT_I32 ? 32 : 64}, {1, 1, dt != LT_U8}};
    return fb_table(b, f, 2, none);
  }
  return fb_table(b, NULL, 0, none); /* Utf8, LargeUtf8, Bool: empty tables */
}

/* A Field table: name, nullable, the type of dt (-1 text), an optional dictionary, an optional
 * single child (fixed-size lists: list_size > 0, the child holds dt). */
static size_t put_field(Buf *b, const char *name, size_t name_len, LtDtype dt, int large,
                        int64_t dict_id, int64_t list_size) {
  FbField f[] = {{0, 0, 0}, {1, 1, 1}, {2, 1, 0}, {3, 0, 0}, {5, 0, 0}, {4, 0, 0}};
  int n = dict_id >= 0 ? 6 : 5;
  f[2].v = list_size > 0 ? 16 : (uint64_t)type_tag(dt, large); /* 16: FixedSizeList */
  size_t slot[4];
  size_t t = fb_table(b, f, n, slot);
  fb_patch(b, slot[0], fb_string(b, name, name_len));
  if (list_size > 0) {
    FbField ls[] = {{0, 4, (uint64_t)list_size}};
    size_t none[1];
    fb_patch(b, slot[1], fb_table(b, ls, 1, none));
    size_t v = fb_vec(b, NULL, 1, 0);
    fb_patch(b, slot[2], v);
    fb_patch(b, v + 4, put_field(b, "item", 4, dt, large, -1, 0));
  } else {
    fb_patch(b, slot[1], put_type(b, dt));
    fb_patch(b, slot[2], fb_vec(b, NULL, 0, 0));
  }
  if (dict_id >= 0) {
    size_t s2[1], none[1];
    FbField de[] = {{0, 8, (uint64_t)dict_id}, {1, 0, 0}};
    fb_patch(b, slot[3], fb_table(b, de, 2, s2));
    FbField it[] = {{0, 4, 32}, {1, 1, 1}};
    fb_patch(b, s2[0], fb_table(b, it, 2, none));
  }
  return t;
}

/* Whether text column j needs 64-bit offsets (over 2 GiB of text). */
static int text_large(const IoPqwCol *col, int64_t rows) {
  uint64_t total = 0;
  int64_t n = col->kind == IO_PQW_DICT ? col->nlev : rows;
  const size_t *len = col->kind == IO_PQW_DICT ? col->lev_len : col->len;
  for (int64_t i = 0; i < n; i++) total += len[i];
  return total > INT32_MAX;
}

static LtDtype col_dtype(const IoPqwCol *col) {
  return col->kind == IO_PQW_NUM || col->kind == IO_PQW_LIST ? col->t->dtype : (LtDtype)-1;
}

static size_t put_schema(Buf *b, const IoPqwCol *cols, int ncols, int64_t rows) {
  size_t slot[1];
  FbField f[] = {{1, 0, 0}};
  size_t t = fb_table(b, f, 1, slot);
  size_t v = fb_vec(b, NULL, (uint32_t)ncols, 0);
  fb_patch(b, slot[0], v);
  for (int j = 0; j < ncols; j++) {
    const IoPqwCol *col = &cols[j];
    int large = col->kind == IO_PQW_TEXT || col->kind == IO_PQW_DICT ? text_large(col, rows) : 0;
    int64_t list = col->kind == IO_PQW_LIST ? col->t->shape[1] : 0;
    size_t ft = put_field(b, col->name, col->name_len, col_dtype(col), large,
                          col->kind == IO_PQW_DICT ? j : -1, list);
    fb_patch(b, v + 4 + 4 * (size_t)j, ft);
  }
  return t;
}

/* ---- bodies ---- */

typedef struct {
  IoCtx *c;
  const IoArwOpts *o;
  Buf body;
  Buf nodes; /* 16 bytes each */
  Buf bufs;  /* 16 bytes each */
  Buf tmp;   /* scratch: bitmaps, offsets, indices */
} Batch;

static void put_pair(Buf *b, int64_t x, int64_t y) {
  uint8_t q[16];
  io_put64(q, (uint64_t)x);
  io_put64(q + 8, (uint64_t)y);
  put(b, q, 16);
}

/* Appends one buffer to the body, compressed when asked (8-byte uncompressed length first, or -1
 * and the bytes as they are when compression would not make them smaller), padded to 8. */
static void add_buf(Batch *bt, const void *p, size_t n) {
  Buf *b = &bt->body;
  size_t start = b->n;
  if (bt->o->codec == IO_ARW_NONE || n == 0) {
    put(b, p, n);
  } else {
    const ArCodecs *z = io_ar_codecs();
    int lz4 = bt->o->codec == IO_ARW_LZ4;
    if (lz4 ? !z->LZ4F_compressFrame : !z->ZSTD_compress) {
      if (!b->st)
        b->st = io_fail(bt->c, LT_EVALUE, lz4 ? "LZ4 needs liblz4-1" : "ZSTD needs libzstd1");
      return;
    }
    size_t bound = lz4 ? z->LZ4F_compressFrameBound(n, NULL) : z->ZSTD_compressBound(n);
    if (!reserve(b, 8 + (bound > n ? bound : n))) return;
    size_t got = lz4 ? z->LZ4F_compressFrame(b->p + b->n + 8, bound, p, n, NULL)
                     : z->ZSTD_compress(b->p + b->n + 8, bound, p, n, bt->o->zstd_level);
    int failed = lz4 ? z->LZ4F_isError(got) : z->ZSTD_isError(got);
    if (failed || got >= n) {
      io_put64(b->p + b->n, (uint64_t)-1);
      memcpy(b->p + b->n + 8, p, n);
      got = n;
    } else {
      io_put64(b->p + b->n, (uint64_t)n);
    }
    b->n += 8 + got;
  }
  put_pair(&bt->bufs, (int64_t)start, (int64_t)(b->n - start));
  pad(b, 8, 0);
}

/* The validity bitmap of n slots, null where isnull(i): an empty buffer when none is. */
static void add_validity(Batch *bt, const uint8_t *nullflag, int64_t n) {
  bt->tmp.n = 0;
  int64_t nulls = 0;
  for (int64_t i = 0; nullflag && i < n; i++) nulls += nullflag[i];
  if (!nulls) {
    add_buf(bt, NULL, 0);
    return;
  }
  size_t k = ((size_t)n + 7) / 8;
  if (!reserve(&bt->tmp, k)) return;
  memset(bt->tmp.p, 0, k);
  for (int64_t i = 0; i < n; i++)
    if (!nullflag[i]) bt->tmp.p[i >> 3] |= (uint8_t)(1 << (i & 7));
  add_buf(bt, bt->tmp.p, k);
}

/* Values of a tensor's rows [r0, r0 + n) (elements per row `per`): bit-packed for bool. */
static void add_tensor(Batch *bt, const Tensor *t, int64_t r0, int64_t n, int64_t per) {
  size_t es = lt_dtype_size(t->dtype);
  const uint8_t *p = (const uint8_t *)t->data + (size_t)(r0 * per) * es;
  int64_t k = n * per;
  if (t->dtype != LT_BOOL) {
    add_buf(bt, p, (size_t)k * es);
    return;
  }
  size_t nb = ((size_t)k + 7) / 8;
  bt->tmp.n = 0;
  if (!reserve(&bt->tmp, nb)) return;
  memset(bt->tmp.p, 0, nb);
  for (int64_t i = 0; i < k; i++)
    if (p[i]) bt->tmp.p[i >> 3] |= (uint8_t)(1 << (i & 7));
  add_buf(bt, bt->tmp.p, nb);
}

/* Offsets and bytes of n strings s[i] (len[i]; NULL a null, empty). */
static void add_text(Batch *bt, const char *const *s, const size_t *len, int64_t n, int large) {
  size_t w = large ? 8 : 4;
  bt->tmp.n = 0;
  if (!reserve(&bt->tmp, ((size_t)n + 1) * w)) return;
  uint64_t at = 0;
  for (int64_t i = 0; i <= n; i++) {
    if (large)
      io_put64(bt->tmp.p + (size_t)i * w, at);
    else
      io_put32(bt->tmp.p + (size_t)i * w, (uint32_t)at);
    if (i < n && s[i]) at += len[i];
  }
  add_buf(bt, bt->tmp.p, ((size_t)n + 1) * w);
  /* the bytes: copied back to back into the scratch buffer */
  bt->tmp.n = 0;
  if (!reserve(&bt->tmp, (size_t)at)) return;
  for (int64_t i = 0; i < n; i++)
    if (s[i]) put(&bt->tmp, s[i], len[i]);
  add_buf(bt, bt->tmp.p, bt->tmp.n);
}

/* Null flags for rows [r0, r0 + n) of a text or dictionary column, in scratch memory (NULL when
 * the column cannot hold nulls). */
static LtStatus null_flags(IoCtx *c, const IoPqwCol *col, int64_t r0, int64_t n, uint8_t **out,
                           size_t *cap) {
  *out = NULL;
  *cap = 0;
  if (col->kind != IO_PQW_TEXT && col->kind != IO_PQW_DICT) return LT_OK;
  *cap = (size_t)n ? (size_t)n : 1;
  if (!(*out = io_alloc(c, *cap))) return LT_ENOMEM;
  for (int64_t i = 0; i < n; i++)
    (*out)[i] = col->kind == IO_PQW_TEXT ? !col->s[r0 + i] : col->codes[r0 + i] == 0;
  return LT_OK;
}

/* Column col's rows [r0, r0 + n) into the batch: field nodes, buffers. */
static LtStatus add_column(Batch *bt, const IoPqwCol *col, int64_t r0, int64_t n, int64_t rows) {
  uint8_t *nf;
  size_t cap;
  LtStatus st = null_flags(bt->c, col, r0, n, &nf, &cap);
  if (st) return st;
  int64_t nulls = 0;
  for (int64_t i = 0; nf && i < n; i++) nulls += nf[i];
  put_pair(&bt->nodes, n, nulls);
  add_validity(bt, nf, n);
  if (col->kind == IO_PQW_NUM) {
    add_tensor(bt, col->t, r0, n, 1);
  } else if (col->kind == IO_PQW_LIST) {
    int64_t d = col->t->shape[1];
    put_pair(&bt->nodes, n * d, 0);
    add_buf(bt, NULL, 0);
    add_tensor(bt, col->t, r0, n, d);
  } else if (col->kind == IO_PQW_TEXT) {
    add_text(bt, col->s + r0, col->len + r0, n, text_large(col, rows));
  } else {
    bt->tmp.n = 0;
    if (reserve(&bt->tmp, (size_t)n * 4)) {
      for (int64_t i = 0; i < n; i++) {
        int64_t code = col->codes[r0 + i];
        if (code < 0 || code > col->nlev) {
          st = io_fail(bt->c, LT_EVALUE, "column '%s': code %lld out of 0..%lld", col->name,
                       (long long)code, (long long)col->nlev);
          break;
        }
        io_put32(bt->tmp.p + 4 * (size_t)i, (uint32_t)(code ? code - 1 : 0));
      }
      if (!st) add_buf(bt, bt->tmp.p, (size_t)n * 4);
    }
  }
  io_free(bt->c, nf, cap);
  return st;
}

/* ---- messages ---- */

typedef struct {
  int64_t off, body;
  int32_t meta;
} Block;

/* Writes one message: continuation marker, metadata length (padded so the body starts 8-byte
 * aligned), the flatbuffer, the body. */
static LtStatus write_msg(IoCtx *c, IoWriter *w, Buf *meta, const Buf *body, Block *blk) {
  pad(meta, 8, 0);
  if (meta->st) return meta->st;
  if (meta->n > INT32_MAX) return io_fail(c, LT_EVALUE, "metadata over 2 GiB");
  uint8_t h[8];
  io_put32(h, 0xFFFFFFFFu);
  io_put32(h + 4, (uint32_t)meta->n);
  if (blk) *blk = (Block){(int64_t)w->pos, body ? (int64_t)body->n : 0, (int32_t)(8 + meta->n)};
  LtStatus st = io_writer_write(c, w, h, 8);
  if (!st) st = io_writer_write(c, w, meta->p, meta->n);
  if (!st && body && body->n) st = io_writer_write(c, w, body->p, body->n);
  return st;
}

/* A Message table (version V5) with header type `type`; returns the slot of its header. */
static size_t put_message(Buf *m, int type, int64_t body_len) {
  put32(m, 0); /* the root offset, patched to the table */
  size_t slot[1];
  FbField f[] = {{0, 2, 4}, {1, 1, (uint64_t)type}, {2, 0, 0}, {3, 8, (uint64_t)body_len}};
  size_t t = fb_table(m, f, 4, slot);
  fb_patch(m, 0, t);
  return slot[0];
}

/* A RecordBatch table for the batch bt of `length` rows. */
static size_t put_record_batch(Buf *m, const Batch *bt, int64_t length) {
  size_t slot[3];
  int z = bt->o->codec != IO_ARW_NONE;
  FbField f[] = {{0, 8, (uint64_t)length}, {1, 0, 0}, {2, 0, 0}, {3, 0, 0}};
  size_t t = fb_table(m, f, z ? 4 : 3, slot);
  fb_patch(m, slot[0], fb_vec(m, bt->nodes.p, (uint32_t)(bt->nodes.n / 16), 16));
  fb_patch(m, slot[1], fb_vec(m, bt->bufs.p, (uint32_t)(bt->bufs.n / 16), 16));
  if (z) {
    size_t none[1];
    FbField bc[] = {{0, 1, (uint64_t)bt->o->codec}, {1, 1, 0}};
    fb_patch(m, slot[2], fb_table(m, bc, 2, none));
  }
  return t;
}

static void batch_reset(Batch *bt) { bt->body.n = bt->nodes.n = bt->bufs.n = 0; }

/* The dictionary batch of DICT column j: its levels as text. */
static LtStatus write_dict(Batch *bt, IoWriter *w, const IoPqwCol *col, int j, Block *blk) {
  batch_reset(bt);
  put_pair(&bt->nodes, col->nlev, 0);
  add_buf(bt, NULL, 0);
  add_text(bt, col->lev, col->lev_len, col->nlev, text_large(col, 0));
  if (bt->body.st || bt->tmp.st) return bt->body.st ? bt->body.st : bt->tmp.st;
  Buf m = {bt->c, NULL, 0, 0, 0};
  size_t hs = put_message(&m, AR_MSG_DICT, (int64_t)bt->body.n);
  size_t slot[1];
  FbField f[] = {{0, 8, (uint64_t)j}, {1, 0, 0}, {2, 1, 0}};
  fb_patch(&m, hs, fb_table(&m, f, 3, slot));
  fb_patch(&m, slot[0], put_record_batch(&m, bt, col->nlev));
  LtStatus st = write_msg(bt->c, w, &m, &bt->body, blk);
  buf_free(&m);
  return st;
}

static LtStatus write_batch(Batch *bt, IoWriter *w, const IoPqwCol *cols, int ncols, int64_t r0,
                            int64_t n, int64_t rows, Block *blk) {
  batch_reset(bt);
  for (int j = 0; j < ncols; j++) {
    LtStatus st = add_column(bt, &cols[j], r0, n, rows);
    if (st) return st;
  }
  Buf *bs[] = {&bt->body, &bt->nodes, &bt->bufs, &bt->tmp};
  for (int i = 0; i < 4; i++)
    if (bs[i]->st) return bs[i]->st;
  Buf m = {bt->c, NULL, 0, 0, 0};
  size_t hs = put_message(&m, AR_MSG_BATCH, (int64_t)bt->body.n);
  fb_patch(&m, hs, put_record_batch(&m, bt, n));
  LtStatus st = write_msg(bt->c, w, &m, &bt->body, blk);
  buf_free(&m);
  return st;
}

/* The footer: schema, dictionary blocks, record batch blocks; its length; the magic. */
static LtStatus write_footer(IoCtx *c, IoWriter *w, const IoPqwCol *cols, int ncols, int64_t rows,
                             const Block *blk, int ndict, int nbatch) {
  Buf m = {c, NULL, 0, 0, 0};
  put32(&m, 0);
  size_t slot[3];
  FbField f[] = {{0, 2, 4}, {1, 0, 0}, {2, 0, 0}, {3, 0, 0}};
  fb_patch(&m, 0, fb_table(&m, f, 4, slot));
  fb_patch(&m, slot[0], put_schema(&m, cols, ncols, rows));
  for (int part = 0; part < 2; part++) {
    int k0 = part ? ndict : 0, k = part ? nbatch : ndict;
    Buf v = {c, NULL, 0, 0, 0};
    for (int i = 0; i < k; i++) {
      uint8_t q[24] = {0};
      io_put64(q, (uint64_t)blk[k0 + i].off);
      io_put32(q + 8, (uint32_t)blk[k0 + i].meta);
      io_put64(q + 16, (uint64_t)blk[k0 + i].body);
      put(&v, q, 24);
    }
    if (v.st && !m.st) m.st = v.st;
    fb_patch(&m, slot[1 + part], fb_vec(&m, v.p, (uint32_t)k, 24));
    buf_free(&v);
  }
  LtStatus st = m.st;
  uint8_t tail[10];
  io_put32(tail, (uint32_t)m.n);
  memcpy(tail + 4, "ARROW1", 6);
  if (!st) st = io_writer_write(c, w, m.p, m.n);
  if (!st) st = io_writer_write(c, w, tail, 10);
  buf_free(&m);
  return st;
}

LtStatus io_ar_write(IoCtx *c, IoWriter *w, const IoPqwCol *cols, int ncols, int64_t rows,
                     const IoArwOpts *o) {
  for (int j = 0; j < ncols; j++) {
    LtDtype dt = col_dtype(&cols[j]);
    if (dt != (LtDtype)-1 && dt != LT_BOOL && dt != LT_U8 && dt != LT_I32 && dt != LT_I64 &&
        dt != LT_F16 && dt != LT_F32 && dt != LT_F64)
      return io_fail(c, LT_EVALUE, "column '%s': dtype %s is not written", cols[j].name,
                     lt_dtype_name(dt));
  }
  int ndict = 0, nbatch = rows ? (int)((rows + o->batch_rows - 1) / o->batch_rows) : 0;
  for (int j = 0; j < ncols; j++) ndict += cols[j].kind == IO_PQW_DICT;
  if ((int64_t)nbatch * o->batch_rows < rows) return io_fail(c, LT_EVALUE, "too many batches");
  size_t bcap = ((size_t)ndict + (size_t)nbatch + 1) * sizeof(Block);
  Block *blk = io_alloc(c, bcap);
  if (!blk) return LT_ENOMEM;
  Batch bt = {c, o, {c, NULL, 0, 0, 0}, {c, NULL, 0, 0, 0}, {c, NULL, 0, 0, 0}, {c, NULL, 0, 0, 0}};
  LtStatus st = LT_OK;
  if (!o->stream) st = io_writer_write(c, w, "ARROW1\0\0", 8);
  Buf m = {c, NULL, 0, 0, 0};
  if (!st) {
    /* Two statements: the message table must come first (offsets point forward), and C leaves
     * the order of a call's arguments open. */
    size_t hs = put_message(&m, AR_MSG_SCHEMA, 0);
    fb_patch(&m, hs, put_schema(&m, cols, ncols, rows));
    st = write_msg(c, w, &m, NULL, NULL);
  }
  buf_free(&m);
  for (int j = 0, d = 0; j < ncols && !st; j++)
    if (cols[j].kind == IO_PQW_DICT) st = write_dict(&bt, w, &cols[j], j, &blk[d++]);
  for (int b = 0; b < nbatch && !st; b++) {
    int64_t r0 = (int64_t)b * o->batch_rows;
    int64_t n = rows - r0 < o->batch_rows ? rows - r0 : o->batch_rows;
    st = write_batch(&bt, w, cols, ncols, r0, n, rows, &blk[ndict + b]);
  }
  if (!st) {
    uint8_t eos[8];
    io_put32(eos, 0xFFFFFFFFu);
    io_put32(eos + 4, 0);
    st = io_writer_write(c, w, eos, 8);
  }
  if (!st && !o->stream) st = write_footer(c, w, cols, ncols, rows, blk, ndict, nbatch);
  buf_free(&bt.body);
  buf_free(&bt.nodes);
  buf_free(&bt.bufs);
  buf_free(&bt.tmp);
  io_free(c, blk, bcap);
  return st;
}
