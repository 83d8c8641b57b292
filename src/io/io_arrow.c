/* io_arrow.c - Arrow IPC record batches: body buffers and their codecs, validity bitmaps, values,
 * offsets, lists, struct nulls and dictionary indices assembled into columns. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "io/io_arrow_fb.h"

/* ---- codecs --------------------------------------------------------------------------------- */

/* liblz4 and libzstd by dlopen: only files that use them pay for loading them, and a machine
 * without them still reads uncompressed files. */
static ArCodecs codecs;
static pthread_once_t codecs_once = PTHREAD_ONCE_INIT;

static void *sym(void *h, const char *name) { return h ? dlsym(h, name) : NULL; }

static void load_codecs(void) {
  void *h = dlopen("liblz4.so.1", RTLD_NOW | RTLD_LOCAL);
  *(void **)&codecs.LZ4F_createDecompressionContext = sym(h, "LZ4F_createDecompressionContext");
  *(void **)&codecs.LZ4F_freeDecompressionContext = sym(h, "LZ4F_freeDecompressionContext");
  *(void **)&codecs.LZ4F_decompress = sym(h, "LZ4F_decompress");
  *(void **)&codecs.LZ4F_isError = sym(h, "LZ4F_isError");
  *(void **)&codecs.LZ4F_compressFrameBound = sym(h, "LZ4F_compressFrameBound");
  *(void **)&codecs.LZ4F_compressFrame = sym(h, "LZ4F_compressFrame");
  h = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
  *(void **)&codecs.ZSTD_decompress = sym(h, "ZSTD_decompress");
  *(void **)&codecs.ZSTD_isError = sym(h, "ZSTD_isError");
  *(void **)&codecs.ZSTD_compress = sym(h, "ZSTD_compress");
  *(void **)&codecs.ZSTD_compressBound = sym(h, "ZSTD_compressBound");
}

const ArCodecs *io_ar_codecs(void) {
  pthread_once(&codecs_once, load_codecs);
  return &codecs;
}

/* One LZ4 frame src[0..n) into exactly want bytes at dst. */
static LtStatus lz4_frame(IoCtx *c, const ArCodecs *z, const uint8_t *src, size_t n, uint8_t *dst,
                          size_t want) {
  if (!z->LZ4F_decompress) return io_fail(c, LT_EVALUE, "LZ4_FRAME needs liblz4-1");
  LZ4F_dctx *d;
  if (z->LZ4F_isError(z->LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
    return io_fail(c, LT_ENOMEM, "LZ4 init failed");
  size_t in = 0, out = 0, r = 1;
  while (r != 0 && in < n) {
    size_t dn = want - out, sn = n - in;
    r = z->LZ4F_decompress(d, dst + out, &dn, src + in, &sn, NULL);
    if (z->LZ4F_isError(r) || (dn == 0 && sn == 0)) break;
    in += sn;
    out += dn;
  }
  z->LZ4F_freeDecompressionContext(d);
  if (z->LZ4F_isError(r)) return io_fail(c, LT_EVALUE, "corrupt LZ4 frame");
  if (r != 0 || out != want)
    return io_fail(c, LT_EVALUE, "LZ4 buffer does not decompress to the %zu bytes its prefix says",
                   want);
  return LT_OK;
}

/* src[0..n) compressed with codec (0 LZ4_FRAME, 1 ZSTD) into exactly want bytes at dst: a
 * prefix that lies is an error, never an overrun. */
static LtStatus decompress(IoCtx *c, int codec, const uint8_t *src, size_t n, uint8_t *dst,
                           size_t want) {
  const ArCodecs *z = io_ar_codecs();
  if (codec == 0) return lz4_frame(c, z, src, n, dst, want);
  if (!z->ZSTD_decompress) return io_fail(c, LT_EVALUE, "ZSTD needs libzstd1");
  size_t r = z->ZSTD_decompress(dst, want, src, n);
  if (z->ZSTD_isError(r) || r != want)
    return io_fail(c, LT_EVALUE, "ZSTD buffer does not decompress to the %zu bytes its prefix says",
                   want);
  return LT_OK;
}

/* ---- record batches ------------------------------------------------------------------------- */

LtStatus io_ar_rb(IoCtx *c, IoSrc *s, const ArMsg *m, const ArTab *t, ArRB *rb) {
  memset(rb, 0, sizeof *rb);
  rb->s = s;
  rb->body_off = m->body_off;
  rb->body_len = m->body_len;
  rb->length = ar_int(t, 0, 8, 0);
  size_t ns, bs;
  ar_vec(t, 1, 16, &ns, &rb->nnodes);
  ar_vec(t, 2, 16, &bs, &rb->nbufs);
  rb->nodes = t->b->p + ns;
  rb->bufs = t->b->p + bs;
  rb->codec = -1;
  ArTab z;
  if (ar_sub(t, 3, &z)) {
    rb->codec = (int)ar_int(&z, 0, 1, 0);
    if (rb->codec != 0 && rb->codec != 1)
      return io_fail(c, LT_EVALUE, "compression codec %d is not supported", rb->codec);
    if (ar_int(&z, 1, 1, 0) != 0) return io_fail(c, LT_EVALUE, "compression method is not BUFFER");
  }
  if (t->b->bad) return io_fail(c, LT_EVALUE, "corrupt record batch (an offset points outside it)");
  if (rb->length < 0)
    return io_fail(c, LT_EVALUE, "negative row count %lld", (long long)rb->length);
  return LT_OK;
}

/* FieldNode i of rb: its length and null count, checked. */
static LtStatus get_node(IoCtx *c, const ArRB *rb, int i, int64_t *len, int64_t *nulls) {
  if (i < 0 || (uint32_t)i >= rb->nnodes)
    return io_fail(c, LT_EVALUE, "record batch has %u field nodes, the schema needs more",
                   rb->nnodes);
  *len = (int64_t)io_le64(rb->nodes + 16 * (size_t)i);
  *nulls = (int64_t)io_le64(rb->nodes + 16 * (size_t)i + 8);
  if (*len < 0 || *nulls < 0 || *nulls > *len)
    return io_fail(c, LT_EVALUE, "field node length %lld, null count %lld", (long long)*len,
                   (long long)*nulls);
  return LT_OK;
}

/* A buffer read from the body (decompressed): n bytes at p, cap allocated. */
typedef struct {
  uint8_t *p;
  size_t n, cap;
} Bytes;

static void bytes_free(IoCtx *c, Bytes *b) {
  io_free(c, b->p, b->cap);
  memset(b, 0, sizeof *b);
}

/* Buffer i of rb, read and decompressed; at least `need` bytes or an error naming `what`. */
static LtStatus get_buf(IoCtx *c, const ArRB *rb, int i, uint64_t need, const char *what,
                        Bytes *b) {
  memset(b, 0, sizeof *b);
  if (i < 0 || (uint32_t)i >= rb->nbufs)
    return io_fail(c, LT_EVALUE, "record batch has %u buffers, the schema needs more", rb->nbufs);
  int64_t off = (int64_t)io_le64(rb->bufs + 16 * (size_t)i);
  int64_t len = (int64_t)io_le64(rb->bufs + 16 * (size_t)i + 8);
  if (off < 0 || len < 0 || (uint64_t)off > rb->body_len ||
      (uint64_t)len > rb->body_len - (uint64_t)off)
    return io_fail(c, LT_EVALUE, "buffer %d (offset %lld, length %lld) past the body of %llu bytes",
                   i, (long long)off, (long long)len, (unsigned long long)rb->body_len);
  /* Uncompressed, a buffer shorter than it must be fails before anything is allocated. */
  if (rb->codec < 0 && (uint64_t)len < need) goto short_buf;
  if (!(b->p = io_alloc(c, (size_t)len))) return LT_ENOMEM;
  b->n = b->cap = (size_t)len;
  LtStatus st = io_src_read(c, rb->s, rb->body_off + (uint64_t)off, b->p, b->n);
  if (st) return st;
  if (rb->codec >= 0 && len > 0) {
    if (len < 8) return io_fail(c, LT_EVALUE, "compressed buffer %d shorter than its prefix", i);
    int64_t u = (int64_t)io_le64(b->p);
    if (u == -1) { /* stored uncompressed */
      memmove(b->p, b->p + 8, b->n - 8);
      b->n -= 8;
    } else {
      if (u < 0) return io_fail(c, LT_EVALUE, "negative decompressed size %lld", (long long)u);
      if ((uint64_t)u > c->max_inflate)
        return io_fail(c, LT_EVALUE, "decompressed size %lld over the %llu-byte limit",
                       (long long)u, (unsigned long long)c->max_inflate);
      if ((uint64_t)u < need) {
        len = u;
        goto short_buf;
      }
      Bytes d = {io_alloc(c, (size_t)u), (size_t)u, (size_t)u};
      if (!d.p) return LT_ENOMEM;
      st = decompress(c, rb->codec, b->p + 8, b->n - 8, d.p, d.n);
      bytes_free(c, b);
      *b = d;
      if (st) return st;
    }
  }
  if (b->n < need) {
    len = (int64_t)b->n;
    goto short_buf;
  }
  return LT_OK;
short_buf:
  return io_fail(c, LT_EVALUE, "%s buffer holds %lld bytes, %llu needed", what, (long long)len,
                 (unsigned long long)need);
}

/* n validity bits of buffer i as flags (1 = null) ORed into *null (allocated, zeroed, when NULL;
 * *cap its bytes). Nothing happens when the node has no nulls. */
static LtStatus or_validity(IoCtx *c, const ArRB *rb, int i, int64_t n, int64_t nulls,
                            uint8_t **null, size_t *cap) {
  if (!nulls) return LT_OK;
  Bytes b;
  LtStatus st = get_buf(c, rb, i, ((uint64_t)n + 7) / 8, "validity", &b);
  if (!st && !*null) {
    if (!(*null = io_calloc(c, (size_t)n))) st = LT_ENOMEM;
    *cap = (size_t)n;
  }
  for (int64_t k = 0; !st && k < n; k++)
    if (!(b.p[k >> 3] >> (k & 7) & 1)) (*null)[k] = 1;
  bytes_free(c, &b);
  return st;
}

/* Offsets buffer i of n + 1 entries (4 or 8 bytes) as int64, checked: first >= 0, never going
 * back, last <= limit. */
static LtStatus get_offsets(IoCtx *c, const ArRB *rb, int i, int64_t n, int large, int64_t limit,
                            int64_t **off, size_t *cap) {
  *off = NULL;
  *cap = 0;
  Bytes b = {0};
  size_t w = large ? 8 : 4;
  /* An empty column may leave its offsets buffer empty; else the buffer is checked first, so a
   * row count the file cannot back allocates nothing. */
  LtStatus st = n ? get_buf(c, rb, i, ((uint64_t)n + 1) * w, "offsets", &b) : LT_OK;
  if (!st) {
    *cap = ((size_t)n + 1) * sizeof **off;
    if (!(*off = io_calloc(c, *cap))) st = LT_ENOMEM;
  }
  for (int64_t k = 0; !st && n && k <= n; k++) {
    const uint8_t *q = b.p + (size_t)k * w;
    int64_t v = large ? (int64_t)io_le64(q) : (int32_t)io_le32(q);
    if (v < (k ? (*off)[k - 1] : 0) || v > limit)
      st = io_fail(c, LT_EVALUE, "offset %lld at %lld goes back or past its data (%lld)",
                   (long long)v, (long long)k, (long long)limit);
    (*off)[k] = v;
  }
  bytes_free(c, &b);
  return st;
}

/* Text values of node nd (n of them) from buffers fbuf + 1 (offsets) and fbuf + 2 (bytes). */
static LtStatus decode_text(IoCtx *c, const ArRB *rb, const IoArNode *nd, int fbuf, int64_t n,
                            IoArColumn *out) {
  Bytes data;
  LtStatus st = get_buf(c, rb, fbuf + 2, 0, "string data", &data);
  if (!st)
    st = get_offsets(c, rb, fbuf + 1, n, nd->large, (int64_t)data.n, &out->off, &out->cap_off);
  if (!st) {
    int64_t first = out->off[0], last = out->off[n];
    out->cap_bytes = (size_t)(last - first);
    if (!(out->bytes = io_alloc(c, out->cap_bytes))) st = LT_ENOMEM;
    if (!st && last > first) memcpy(out->bytes, data.p + first, out->cap_bytes);
    for (int64_t k = 0; k <= n; k++) out->off[k] -= first;
  }
  bytes_free(c, &data);
  return st;
}

static LtStatus decode_flat(IoCtx *c, const ArRB *rb, const IoArFile *f, int k, int fnode, int fbuf,
                            IoArColumn *out) {
  const IoArNode *nd = &f->nodes[k];
  memset(out, 0, sizeof *out);
  out->width = -1;
  out->dtype = nd->dtype;
  int64_t n, nulls;
  LtStatus st = get_node(c, rb, fnode, &n, &nulls);
  if (st) return st;
  out->rows = out->nvals = n;
  if ((st = or_validity(c, rb, fbuf, n, nulls, &out->null, &out->cap_null))) return st;
  Bytes b = {0};
  uint64_t need;
  switch (nd->kind) {
  case IO_AR_NUM:
    /* Stored bytes go to the end of the output, then widen in place (io_convert). */
    if (!io_mul_u64((uint64_t)n, (uint64_t)nd->width, &need))
      return io_fail(c, LT_EVALUE, "%lld values overflow", (long long)n);
    if ((st = get_buf(c, rb, fbuf + 1, need, "values", &b))) break;
    out->cap_data = (size_t)n * lt_dtype_size(nd->dtype);
    if (!(out->data = io_alloc(c, out->cap_data))) {
      st = LT_ENOMEM;
      break;
    }
    memcpy(out->data + out->cap_data - need, b.p, (size_t)need);
    io_convert((IoStype)nd->stype, 0, out->data, (uint64_t)n);
    break;
  case IO_AR_BOOL:
    if ((st = get_buf(c, rb, fbuf + 1, ((uint64_t)n + 7) / 8, "values", &b))) break;
    out->cap_data = (size_t)n;
    if (!(out->data = io_alloc(c, out->cap_data))) {
      st = LT_ENOMEM;
      break;
    }
    for (int64_t i = 0; i < n; i++) out->data[i] = b.p[i >> 3] >> (i & 7) & 1;
    break;
  case IO_AR_TEXT: st = decode_text(c, rb, nd, fbuf, n, out); break;
  case IO_AR_FIXED_TEXT:
    if (!io_mul_u64((uint64_t)n, (uint64_t)nd->width, &need))
      return io_fail(c, LT_EVALUE, "%lld values overflow", (long long)n);
    if ((st = get_buf(c, rb, fbuf + 1, need, "values", &b))) break;
    out->cap_off = ((size_t)n + 1) * sizeof *out->off;
    out->cap_bytes = (size_t)need;
    if (!(out->off = io_alloc(c, out->cap_off)) || !(out->bytes = io_alloc(c, out->cap_bytes))) {
      st = LT_ENOMEM;
      break;
    }
    for (int64_t i = 0; i <= n; i++) out->off[i] = i * nd->width;
    memcpy(out->bytes, b.p, (size_t)need);
    break;
  default: st = io_fail(c, LT_EVALUE, "type %s is not a flat type", nd->type);
  }
  bytes_free(c, &b);
  return st;
}

LtStatus io_ar_decode_flat(IoCtx *c, const ArRB *rb, const IoArFile *f, int k, int fnode, int fbuf,
                           IoArColumn *out) {
  LtStatus st = decode_flat(c, rb, f, k, fnode, fbuf, out);
  if (st) io_ar_column_free(c, out); /* nothing half-built is left to the caller */
  return st;
}

void io_ar_column_free(IoCtx *c, IoArColumn *col) {
  io_free(c, col->row_off, col->cap_rows);
  io_free(c, col->null, col->cap_null);
  io_free(c, col->data, col->cap_data);
  io_free(c, col->off, col->cap_off);
  io_free(c, col->bytes, col->cap_bytes);
  io_free(c, col->codes, col->cap_codes);
  memset(col, 0, sizeof *col);
}

/* The slots idx[0..n) of in (-1: a null slot) as a new column out of the same kind. */
static LtStatus take(IoCtx *c, const IoArColumn *in, const int64_t *idx, int64_t n,
                     IoArColumn *out) {
  memset(out, 0, sizeof *out);
  out->dtype = in->dtype;
  out->width = -1;
  out->rows = out->nvals = n;
  int any_null = 0;
  for (int64_t i = 0; i < n && !any_null; i++)
    any_null = idx[i] < 0 || (in->null && in->null[idx[i]]);
  if (any_null) {
    out->cap_null = (size_t)n;
    if (!(out->null = io_calloc(c, out->cap_null))) return LT_ENOMEM;
    for (int64_t i = 0; i < n; i++) out->null[i] = idx[i] < 0 || (in->null && in->null[idx[i]]);
  }
  if (in->dtype >= 0) {
    size_t es = lt_dtype_size((LtDtype)in->dtype);
    out->cap_data = (size_t)n * es;
    if (!(out->data = io_calloc(c, out->cap_data))) return LT_ENOMEM;
    for (int64_t i = 0; i < n; i++)
      if (idx[i] >= 0) memcpy(out->data + (size_t)i * es, in->data + (size_t)idx[i] * es, es);
    return LT_OK;
  }
  uint64_t total = 0;
  for (int64_t i = 0; i < n; i++)
    if (idx[i] >= 0 &&
        !io_add_u64(total, (uint64_t)(in->off[idx[i] + 1] - in->off[idx[i]]), &total))
      return io_fail(c, LT_EVALUE, "text too long");
  out->cap_off = ((size_t)n + 1) * sizeof *out->off;
  out->cap_bytes = (size_t)total;
  if (!(out->off = io_alloc(c, out->cap_off)) || !(out->bytes = io_alloc(c, out->cap_bytes)))
    return LT_ENOMEM;
  out->off[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t a = idx[i] >= 0 ? in->off[idx[i]] : 0, len = idx[i] >= 0 ? in->off[idx[i] + 1] - a : 0;
    if (len) memcpy(out->bytes + out->off[i], in->bytes + a, (size_t)len);
    out->off[i + 1] = out->off[i] + len;
  }
  return LT_OK;
}

LtStatus io_ar_append(IoCtx *c, IoArColumn *a, IoArColumn *b) {
  IoArColumn o = {0};
  int64_t n = a->nvals + b->nvals;
  size_t es = a->dtype >= 0 ? lt_dtype_size((LtDtype)a->dtype) : 0;
  o.dtype = a->dtype;
  o.width = -1;
  o.rows = o.nvals = n;
  o.cap_null = a->null || b->null ? (size_t)n : 0;
  o.cap_data = (size_t)n * es;
  o.cap_off = es ? 0 : ((size_t)n + 1) * sizeof *o.off;
  o.cap_bytes = es ? 0 : (size_t)(a->off[a->nvals] + b->off[b->nvals]);
  LtStatus st = LT_OK;
  if ((o.cap_null && !(o.null = io_calloc(c, o.cap_null))) ||
      (es && !(o.data = io_alloc(c, o.cap_data))) ||
      (!es && (!(o.off = io_alloc(c, o.cap_off)) || !(o.bytes = io_alloc(c, o.cap_bytes)))))
    st = LT_ENOMEM;
  const IoArColumn *part[2] = {a, b};
  for (int p = 0; p < 2 && !st; p++) {
    const IoArColumn *x = part[p];
    int64_t base = p ? a->nvals : 0;
    if (x->null) memcpy(o.null + base, x->null, (size_t)x->nvals);
    if (es && x->nvals) memcpy(o.data + (size_t)base * es, x->data, (size_t)x->nvals * es);
    if (es) continue;
    int64_t shift = p ? a->off[a->nvals] : 0;
    for (int64_t i = 0; i <= x->nvals; i++) o.off[base + i] = x->off[i] + shift;
    if (x->off[x->nvals]) memcpy(o.bytes + shift, x->bytes, (size_t)x->off[x->nvals]);
  }
  io_ar_column_free(c, b);
  if (st) {
    io_ar_column_free(c, &o);
    return st;
  }
  io_ar_column_free(c, a);
  *a = o;
  return LT_OK;
}

/* ---- columns -------------------------------------------------------------------------------- */

/* Dictionary-encoded node k (rows indices) into out: codes into text levels, or the values
 * themselves for a dictionary of numbers. */
static LtStatus decode_dict(IoCtx *c, const ArRB *rb, const IoArFile *f, int k, IoArColumn *out) {
  const IoArNode *nd = &f->nodes[k];
  const IoArDict *d = &f->dicts[nd->dict];
  if (!d->loaded)
    return io_fail(c, LT_EVALUE, "dictionary %lld has no dictionary batch", (long long)d->id);
  int64_t n, nulls;
  LtStatus st = get_node(c, rb, nd->fnode, &n, &nulls);
  uint8_t *null = NULL;
  size_t cap_null = 0, cap = 0;
  Bytes b = {0};
  int64_t *codes = NULL;
  /* n <= 2^63 and idx_width <= 8: the product fits in 64 unsigned bits. */
  if (!st) st = get_buf(c, rb, nd->fbuf + 1, (uint64_t)n * (uint64_t)nd->idx_width, "indices", &b);
  if (!st) st = or_validity(c, rb, nd->fbuf, n, nulls, &null, &cap_null);
  cap = st ? 0 : (size_t)n * sizeof(int64_t);
  if (!st && !(codes = io_alloc(c, cap))) st = LT_ENOMEM;
  for (int64_t i = 0; !st && i < n; i++) {
    const uint8_t *q = b.p + (size_t)i * (size_t)nd->idx_width;
    int64_t v;
    switch (nd->idx_width) {
    case 1: v = nd->idx_signed ? (int8_t)q[0] : q[0]; break;
    case 2: v = nd->idx_signed ? (int16_t)io_le16(q) : io_le16(q); break;
    case 4: v = nd->idx_signed ? (int32_t)io_le32(q) : (int64_t)io_le32(q); break;
    default: v = (int64_t)io_le64(q); break;
    }
    if (null && null[i])
      v = -1;
    else if (v < 0 || v >= d->vals.nvals)
      st = io_fail(c, LT_EVALUE, "dictionary index %lld out of range 0..%lld", (long long)v,
                   (long long)d->vals.nvals - 1);
    else if (d->vals.null && d->vals.null[v])
      v = -1;
    codes[i] = v;
  }
  bytes_free(c, &b);
  io_free(c, null, cap_null);
  if (!st && d->vals.dtype >= 0) { /* numbers: the values themselves */
    st = take(c, &d->vals, codes, n, out);
    io_free(c, codes, cap);
    return st;
  }
  if (st) {
    io_free(c, codes, cap);
    return st;
  }
  memset(out, 0, sizeof *out);
  out->width = -1;
  out->dtype = -1;
  out->rows = out->nvals = n;
  out->codes = codes;
  out->cap_codes = cap;
  out->ndict = d->vals.nvals;
  out->lev_off = d->vals.off;
  out->lev_bytes = d->vals.bytes;
  return LT_OK;
}

/* Marks slots null where rnull (rows flags) says the row is null: flat columns slot by slot,
 * fixed-size lists `width` slots a row. */
static LtStatus apply_rows_null(IoCtx *c, IoArColumn *o, const uint8_t *rnull, int64_t per_row) {
  if (!rnull) return LT_OK;
  if (!o->null) {
    o->cap_null = (size_t)o->nvals;
    if (!(o->null = io_calloc(c, o->cap_null))) return LT_ENOMEM;
  }
  for (int64_t r = 0; r < o->rows; r++) {
    if (!rnull[r]) continue;
    memset(o->null + r * per_row, 1, (size_t)per_row);
    if (o->codes) o->codes[r] = -1;
  }
  return LT_OK;
}

/* A List/LargeList column: rows of child slots; a null row is an empty one. */
static LtStatus read_list(IoCtx *c, const ArRB *rb, const IoArNode *L, IoArColumn *ch,
                          const uint8_t *rnull, int64_t rows, IoArColumn *out) {
  int64_t *off;
  size_t cap;
  LtStatus st = get_offsets(c, rb, L->fbuf + 1, rows, L->large, ch->nvals, &off, &cap);
  int64_t total = 0, width = -2;
  for (int64_t r = 0; !st && r < rows; r++) {
    int64_t len = rnull && rnull[r] ? 0 : off[r + 1] - off[r];
    total += len;
    width = width == -2 || width == len ? len : -1;
  }
  int64_t *idx = NULL;
  size_t icap = (size_t)total * sizeof *idx;
  if (!st && !(idx = io_alloc(c, icap))) st = LT_ENOMEM;
  int64_t *row_off = NULL;
  size_t rcap = ((size_t)rows + 1) * sizeof *row_off;
  if (!st && !(row_off = io_alloc(c, rcap))) st = LT_ENOMEM;
  if (!st) {
    int64_t at = 0;
    row_off[0] = 0;
    for (int64_t r = 0; r < rows; r++) {
      if (!(rnull && rnull[r]))
        for (int64_t i = off[r]; i < off[r + 1]; i++) idx[at++] = i;
      row_off[r + 1] = at;
    }
    st = take(c, ch, idx, total, out);
  }
  io_free(c, idx, icap);
  io_free(c, off, cap);
  if (st) {
    io_free(c, row_off, rcap);
    return st;
  }
  out->rows = rows;
  out->row_off = row_off;
  out->cap_rows = rcap;
  out->width = width == -2 ? 0 : width;
  return LT_OK;
}

/* Leaf l of the record batch rb into out. */
static LtStatus read_leaf(IoCtx *c, const ArRB *rb, const IoArFile *f, const IoArLeaf *l,
                          IoArColumn *out) {
  int top = l->list >= 0 ? l->list : l->node;
  int64_t rows = rb->length, n, nulls;
  uint8_t *rnull = NULL;
  size_t rcap = 0;
  LtStatus st = LT_OK;
  /* The node whose slots are the rows, and every struct above it: one slot a row, and a null
   * struct makes its fields null. */
  for (int a = top; a >= 0 && !st; a = f->nodes[a].parent) {
    const IoArNode *nd = &f->nodes[a];
    if ((st = get_node(c, rb, nd->fnode, &n, &nulls))) break;
    if (n != rows)
      st = io_fail(c, LT_EVALUE, "field node of %lld values in a batch of %lld rows", (long long)n,
                   (long long)rows);
    else if (a != l->node)
      st = or_validity(c, rb, nd->fbuf, n, nulls, &rnull, &rcap);
  }
  const IoArNode *v = &f->nodes[l->node];
  if (st) {
  } else if (l->list < 0 && v->dict >= 0) {
    st = decode_dict(c, rb, f, l->node, out);
    if (!st) st = apply_rows_null(c, out, rnull, 1);
  } else if (l->list < 0) {
    st = io_ar_decode_flat(c, rb, f, l->node, v->fnode, v->fbuf, out);
    if (!st) st = apply_rows_null(c, out, rnull, 1);
  } else {
    const IoArNode *L = &f->nodes[l->list];
    IoArColumn ch;
    st = io_ar_decode_flat(c, rb, f, l->node, v->fnode, v->fbuf, &ch);
    uint64_t need;
    if (st) {
    } else if (L->kind == IO_AR_LIST) {
      st = read_list(c, rb, L, &ch, rnull, rows, out);
      io_ar_column_free(c, &ch);
    } else if (!io_mul_u64((uint64_t)rows, (uint64_t)L->list_size, &need) ||
               need > (uint64_t)ch.nvals) {
      st = io_fail(c, LT_EVALUE,
                   "fixed size list child holds %lld values, %lld rows of %lld need more",
                   (long long)ch.nvals, (long long)rows, (long long)L->list_size);
      io_ar_column_free(c, &ch);
    } else {
      *out = ch;
      out->rows = rows;
      out->nvals = (int64_t)need;
      out->width = L->list_size;
      out->cap_rows = ((size_t)rows + 1) * sizeof *out->row_off;
      if (!(out->row_off = io_alloc(c, out->cap_rows))) st = LT_ENOMEM;
      for (int64_t r = 0; !st && r <= rows; r++) out->row_off[r] = r * L->list_size;
      if (!st) st = apply_rows_null(c, out, rnull, L->list_size);
    }
  }
  io_free(c, rnull, rcap);
  return st;
}

LtStatus io_ar_read_column(IoCtx *c, IoSrc *s, const IoArFile *f, int batch, int leaf,
                           IoArColumn *out) {
  memset(out, 0, sizeof *out);
  if (batch < 0 || batch >= f->nbatches || leaf < 0 || leaf >= f->nleaves)
    return io_fail(c, LT_EVALUE, "no record batch %d or column %d", batch + 1, leaf + 1);
  const IoArLeaf *l = &f->leaves[leaf];
  if (l->refuse) return io_fail(c, LT_EVALUE, "column '%s': %s", l->name, l->refuse);
  ArMsg m;
  ArRB rb;
  LtStatus st = io_ar_read_msg(c, s, f->batches[batch].meta_off, 0, &m);
  if (!st && m.type != AR_MSG_BATCH) st = io_fail(c, LT_EVALUE, "record batch message expected");
  if (!st) st = io_ar_rb(c, s, &m, &m.hdr, &rb);
  if (!st) st = read_leaf(c, &rb, f, l, out);
  io_ar_msg_free(c, &m);
  if (st) {
    io_ar_column_free(c, out);
    if (st != LT_EINTR) {
      char why[IO_MSG];
      snprintf(why, sizeof why, "%s", c->msg);
      io_fail(c, st, "column '%s' of batch %d: %s", l->name, batch + 1, why);
    }
  }
  return st;
}
