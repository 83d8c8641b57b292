/* io_parquet_write.c - the Parquet writer (see io_parquet_write.h): pages built in memory a row
 * group at a time, compressed, written through the atomic writer; the footer (Thrift compact
 * protocol) last. */
#include <dlfcn.h>
#include <snappy-c.h>
#include <string.h>
#include <zstd.h>
#include "io/io_parquet_write.h"

/* ---- compression by dlopen (as the reader loads its codecs) ---- */

static struct {
  int tried;
  __typeof__(snappy_max_compressed_length) *snappy_max_compressed_length;
  __typeof__(snappy_compress) *snappy_compress;
  __typeof__(ZSTD_compressBound) *ZSTD_compressBound;
  __typeof__(ZSTD_compress) *ZSTD_compress;
  __typeof__(ZSTD_isError) *ZSTD_isError;
} cz;

static void *sym(void *h, const char *name) { return h ? dlsym(h, name) : NULL; }

static void load_codecs(void) {
  if (cz.tried) return;
  cz.tried = 1;
  void *h = dlopen("libsnappy.so.1", RTLD_NOW | RTLD_LOCAL);
  *(void **)&cz.snappy_max_compressed_length = sym(h, "snappy_max_compressed_length");
  *(void **)&cz.snappy_compress = sym(h, "snappy_compress");
  h = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
  *(void **)&cz.ZSTD_compressBound = sym(h, "ZSTD_compressBound");
  *(void **)&cz.ZSTD_compress = sym(h, "ZSTD_compress");
  *(void **)&cz.ZSTD_isError = sym(h, "ZSTD_isError");
}

/* ---- a growing byte buffer (io_alloc accounting) ---- */

typedef struct {
  IoCtx *c;
  uint8_t *p;
  size_t n, cap;
  LtStatus st; /* the first failure sticks; later appends do nothing */
} Buf;

static int buf_reserve(Buf *b, size_t more) {
  if (b->st) return 0;
  if (b->n + more <= b->cap) return 1;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->n + more) {
    if (cap > SIZE_MAX / 2) {
      b->st = io_fail(b->c, LT_ENOMEM, "Parquet page too large");
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

static void put(Buf *b, const void *s, size_t n) {
  if (!n || !buf_reserve(b, n)) return;
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

static void put_u8(Buf *b, uint8_t v) { put(b, &v, 1); }

static void put_varint(Buf *b, uint64_t v) {
  uint8_t t[10];
  int k = 0;
  while (v >= 0x80) {
    t[k++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  t[k++] = (uint8_t)v;
  put(b, t, (size_t)k);
}

static void put_le32(Buf *b, uint32_t v) {
  uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  put(b, t, 4);
}

static void buf_free(Buf *b) {
  io_free(b->c, b->p, b->cap);
  b->p = NULL;
  b->n = b->cap = 0;
}

/* ---- Thrift compact protocol writer ---- */

enum {
  T_TRUE = 1,
  T_FALSE,
  T_BYTE,
  T_I16,
  T_I32,
  T_I64,
  T_DOUBLE,
  T_BINARY,
  T_LIST,
  T_SET,
  T_MAP,
  T_STRUCT
};

/* The last field id of each open struct (the protocol writes ids as deltas). */
typedef struct {
  Buf *b;
  int16_t last[16];
  int depth;
} Tw;

static void tw_field(Tw *t, int id, int type) {
  int d = id - t->last[t->depth];
  if (d > 0 && d <= 15) {
    put_u8(t->b, (uint8_t)(d << 4 | type));
  } else {
    put_u8(t->b, (uint8_t)type);
    put_varint(t->b, (uint64_t)(((int64_t)id << 1) ^ ((int64_t)id >> 63)));
  }
  t->last[t->depth] = (int16_t)id;
}

static void tw_i64(Tw *t, int id, int64_t v) {
  tw_field(t, id, T_I64);
  put_varint(t->b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void tw_i32(Tw *t, int id, int64_t v) {
  tw_field(t, id, T_I32);
  put_varint(t->b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void tw_bin(Tw *t, int id, const void *s, size_t n) {
  tw_field(t, id, T_BINARY);
  put_varint(t->b, n);
  put(t->b, s, n);
}

/* A struct field (id > 0) or a list element (id 0): opens a nested id scope. */
static void tw_begin(Tw *t, int id) {
  if (id) tw_field(t, id, T_STRUCT);
  t->last[++t->depth] = 0; /* depth stays below 16: the schema is at most 4 deep */
}

static void tw_end(Tw *t) {
  put_u8(t->b, 0);
  t->depth--;
}

static void tw_list(Tw *t, int id, int etype, uint64_t n) {
  tw_field(t, id, T_LIST);
  if (n < 15) {
    put_u8(t->b, (uint8_t)(n << 4 | etype));
  } else {
    put_u8(t->b, (uint8_t)(0xF0 | etype));
    put_varint(t->b, n);
  }
}

/* ---- levels and dictionary indices (RLE / bit-packed hybrid) ---- */

/* Appends the RLE run `count` x `value` (bit width <= 8). */
static void rle_run(Buf *b, int64_t count, int value, int width) {
  put_varint(b, (uint64_t)count << 1);
  if (width > 0) put_u8(b, (uint8_t)value);
}

/* Levels of n values, given by lv(i), as 4-byte length + RLE runs (data page v1). */
typedef int (*LevelFn)(const void *ud, int64_t i);
static void put_levels(Buf *b, int64_t n, int width, LevelFn lv, const void *ud) {
  size_t at = b->n;
  put_le32(b, 0);
  for (int64_t i = 0; i < n;) {
    int v = lv(ud, i);
    int64_t j = i + 1;
    while (j < n && lv(ud, j) == v) j++;
    rle_run(b, j - i, v, width);
    i = j;
  }
  if (!b->st) {
    uint32_t len = (uint32_t)(b->n - at - 4);
    uint8_t t[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
    memcpy(b->p + at, t, 4);
  }
}

/* Bit width of values up to maxv. */
static int width_of(uint64_t maxv) {
  int w = 0;
  while (maxv) {
    w++;
    maxv >>= 1;
  }
  return w;
}

/* n dictionary indices, bit-packed in groups of 8 (the last group padded with zeros, which the
 * reader ignores past the page's value count), after their bit-width byte. */
static void put_indices(Buf *b, const uint32_t *idx, int64_t n, int width) {
  put_u8(b, (uint8_t)width);
  if (!n) return;
  int64_t groups = (n + 7) / 8;
  put_varint(b, (uint64_t)groups << 1 | 1);
  if (!width) return;
  for (int64_t g = 0; g < groups; g++) {
    uint8_t out[32] = {0}; /* 8 values x at most 32 bits */
    int bit = 0;
    for (int k = 0; k < 8; k++, bit += width) {
      int64_t i = g * 8 + k;
      uint64_t v = i < n ? idx[i] : 0;
      for (int q = 0; q < width; q++)
        if (v >> q & 1) out[(bit + q) / 8] |= (uint8_t)(1u << ((bit + q) % 8));
    }
    put(b, out, (size_t)width);
  }
}

/* ---- columns ---- */

enum { PQ_BOOLEAN, PQ_INT32, PQ_INT64, PQ_INT96, PQ_FLOAT, PQ_DOUBLE, PQ_BYTE_ARRAY };
enum { E_PLAIN = 0, E_RLE = 3, E_RLE_DICTIONARY = 8 };
#define NULL_IDX UINT32_MAX

/* What the writer decided for one column. */
typedef struct {
  int phys;          /* PQ_* of the values (of the elements, for a list) */
  int optional;      /* a null value exists: definition levels are written */
  int dict;          /* dictionary-encoded */
  uint32_t *idx;     /* dict: rows indices into the dictionary, NULL_IDX for null */
  int64_t ndict;     /* dict: entries */
  const char **dstr; /* dict: the entries (TEXT columns: pointers into the caller's strings) */
  size_t *dlen;
  size_t cap_idx, cap_dict; /* allocation sizes */
} Plan;

static int phys_of(LtDtype dt) {
  switch (dt) {
  case LT_F32: return PQ_FLOAT;
  case LT_F64: return PQ_DOUBLE;
  case LT_I64: return PQ_INT64;
  case LT_BOOL: return PQ_BOOLEAN;
  default: return PQ_INT32; /* int32, uint8 (widened) */
  }
}

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
  return h;
}

static void plan_free(IoCtx *c, Plan *p) {
  io_free(c, p->idx, p->cap_idx);
  if (p->cap_dict) { /* a DICT column's entries are the caller's (borrowed) */
    io_free(c, (void *)p->dstr, p->cap_dict * sizeof *p->dstr);
    io_free(c, p->dlen, p->cap_dict * sizeof *p->dlen);
  }
  memset(p, 0, sizeof *p);
}

/* Builds a text column's dictionary (first-appearance order) with an open-addressing table;
 * gives up (p->dict = 0) when the distinct values pass half the rows, where PLAIN is smaller. */
static LtStatus plan_text_dict(IoCtx *c, const IoPqwCol *k, int64_t rows, Plan *p) {
  size_t slots = 16;
  while (slots < (size_t)rows * 2) slots *= 2;
  int64_t *tab = io_alloc(c, slots * sizeof *tab);
  p->cap_idx = (size_t)rows * sizeof *p->idx;
  p->cap_dict = (size_t)(rows / 2 + 1);
  p->idx = io_alloc(c, p->cap_idx);
  p->dstr = io_alloc(c, p->cap_dict * sizeof *p->dstr);
  p->dlen = io_alloc(c, p->cap_dict * sizeof *p->dlen);
  if (!tab || !p->idx || !p->dstr || !p->dlen) {
    io_free(c, tab, slots * sizeof *tab);
    return LT_ENOMEM;
  }
  for (size_t i = 0; i < slots; i++) tab[i] = -1;
  p->dict = 1;
  for (int64_t i = 0; i < rows && p->dict; i++) {
    if (!k->s[i]) {
      p->idx[i] = NULL_IDX;
      continue;
    }
    size_t h = (size_t)hash_bytes(k->s[i], k->len[i]) & (slots - 1);
    while (tab[h] >= 0 &&
           !(p->dlen[tab[h]] == k->len[i] && !memcmp(p->dstr[tab[h]], k->s[i], k->len[i])))
      h = (h + 1) & (slots - 1);
    if (tab[h] < 0) {
      if ((size_t)p->ndict + 1 > p->cap_dict) {
        p->dict = 0; /* too many distinct values: PLAIN */
        break;
      }
      p->dstr[p->ndict] = k->s[i];
      p->dlen[p->ndict] = k->len[i];
      tab[h] = p->ndict++;
    }
    p->idx[i] = (uint32_t)tab[h];
  }
  io_free(c, tab, slots * sizeof *tab);
  if (!p->dict) {
    int optional = p->optional;
    plan_free(c, p); /* zeroes the plan: the type and nulls are set again */
    p->phys = PQ_BYTE_ARRAY;
    p->optional = optional;
  }
  return LT_OK;
}

static LtStatus plan_column(IoCtx *c, const IoPqwCol *k, int64_t rows, const IoPqwOpts *o,
                            Plan *p) {
  memset(p, 0, sizeof *p);
  if (k->kind == IO_PQW_NUM || k->kind == IO_PQW_LIST) {
    p->phys = phys_of(k->t->dtype);
    return LT_OK;
  }
  p->phys = PQ_BYTE_ARRAY;
  if (k->kind == IO_PQW_TEXT) {
    for (int64_t i = 0; i < rows && !p->optional; i++) p->optional = k->s[i] == NULL;
    if (!o->dictionary || rows == 0) return LT_OK;
    return plan_text_dict(c, k, rows, p);
  }
  /* DICT: the caller's levels are the dictionary. */
  if (k->nlev > UINT32_MAX - 1)
    return io_fail(c, LT_EVALUE, "column '%.*s': too many levels", (int)k->name_len, k->name);
  p->cap_idx = (size_t)rows * sizeof *p->idx;
  if (!(p->idx = io_alloc(c, p->cap_idx))) return LT_ENOMEM;
  for (int64_t i = 0; i < rows; i++) {
    int64_t v = k->codes[i];
    if (v < 0 || v > k->nlev) {
      plan_free(c, p);
      return io_fail(c, LT_EVALUE, "column '%.*s': code %lld at row %lld is not in 0..%lld",
                     (int)k->name_len, k->name, (long long)v, (long long)i + 1, (long long)k->nlev);
    }
    p->optional |= v == 0;
    p->idx[i] = v ? (uint32_t)(v - 1) : NULL_IDX;
  }
  p->dict = 1;
  p->ndict = k->nlev;
  p->dstr = (const char **)k->lev; /* borrowed: cap_dict stays 0 */
  p->dlen = (size_t *)k->lev_len;
  return LT_OK;
}

/* ---- pages ---- */

/* Where one column chunk went, for the footer. */
typedef struct {
  int64_t start, data_off, dict_off, num_values, usize, csize;
} Chunk;

typedef struct {
  IoCtx *c;
  IoWriter *w;
  const IoPqwOpts *o;
  uint64_t pos; /* bytes written so far */
  Buf body, packed, head;
  LtStatus st;
} Wr;

static LtStatus emit(Wr *wr, const void *p, size_t n) {
  LtStatus st = io_writer_write(wr->c, wr->w, p, n);
  wr->pos += n;
  return st;
}

/* Compresses wr->body into wr->packed (or points at it for no codec). */
static LtStatus compress_body(Wr *wr, const uint8_t **out, size_t *n) {
  Buf *b = &wr->body, *z = &wr->packed;
  if (b->st) return b->st;
  if (wr->o->codec == IO_PQW_NONE) {
    *out = b->p;
    *n = b->n;
    return LT_OK;
  }
  load_codecs();
  z->n = 0;
  if (wr->o->codec == IO_PQW_SNAPPY) {
    if (!cz.snappy_compress) return io_fail(wr->c, LT_EVALUE, "SNAPPY needs libsnappy1v5");
    size_t cap = cz.snappy_max_compressed_length(b->n);
    if (!buf_reserve(z, cap)) return z->st;
    size_t got = cap;
    if (cz.snappy_compress((const char *)b->p, b->n, (char *)z->p, &got) != SNAPPY_OK)
      return io_fail(wr->c, LT_EVALUE, "SNAPPY compression failed");
    z->n = got;
  } else {
    if (!cz.ZSTD_compress) return io_fail(wr->c, LT_EVALUE, "ZSTD needs libzstd1");
    size_t cap = cz.ZSTD_compressBound(b->n);
    if (!buf_reserve(z, cap)) return z->st;
    size_t r = cz.ZSTD_compress(z->p, cap, b->p, b->n, wr->o->zstd_level);
    if (cz.ZSTD_isError(r)) return io_fail(wr->c, LT_EVALUE, "ZSTD compression failed");
    z->n = r;
  }
  *out = z->p;
  *n = z->n;
  return LT_OK;
}

/* Writes wr->body as one page: type 0 (data, with its value count and encoding) or 2
 * (dictionary). Adds its bytes to ch. */
static LtStatus write_page(Wr *wr, int type, int64_t nvals, int enc, Chunk *ch) {
  const uint8_t *z = NULL;
  size_t zn = 0;
  LtStatus st = compress_body(wr, &z, &zn);
  if (st) return st;
  if (wr->body.n > INT32_MAX || zn > INT32_MAX)
    return io_fail(wr->c, LT_EVALUE, "a page over 2 GiB (write fewer rows per row group)");
  Buf *h = &wr->head;
  h->n = 0;
  Tw t = {h, {0}, 0};
  tw_i32(&t, 1, type);
  tw_i32(&t, 2, (int64_t)wr->body.n);
  tw_i32(&t, 3, (int64_t)zn);
  tw_begin(&t, type == 0 ? 5 : 7);
  tw_i32(&t, 1, nvals);
  tw_i32(&t, 2, enc);
  if (type == 0) {
    tw_i32(&t, 3, E_RLE);
    tw_i32(&t, 4, E_RLE);
  }
  tw_end(&t);
  put_u8(h, 0);
  if (h->st) return h->st;
  ch->usize += (int64_t)(h->n + wr->body.n);
  ch->csize += (int64_t)(h->n + zn);
  if ((st = emit(wr, h->p, h->n))) return st;
  return emit(wr, z, zn);
}

/* Level callbacks: the ud is the column (and the plan). */
typedef struct {
  const IoPqwCol *k;
  const Plan *p;
  int64_t r0, width;
} Lv;

static int def_flat(const void *ud, int64_t i) {
  const Lv *l = ud;
  if (l->p->dict) return l->p->idx[l->r0 + i] != NULL_IDX;
  return l->k->s[l->r0 + i] != NULL;
}
static int rep_list(const void *ud, int64_t i) {
  const Lv *l = ud;
  return l->width ? i % l->width != 0 : 0;
}
static int def_list(const void *ud, int64_t i) {
  (void)i;
  return ((const Lv *)ud)->width > 0;
}

/* PLAIN values of a numeric tensor's elements [a, b) (flat indices). */
static void plain_numbers(Buf *b, const Tensor *t, int64_t a, int64_t bnd) {
  size_t es = lt_dtype_size(t->dtype);
  const uint8_t *src = (const uint8_t *)t->data;
  if (t->dtype == LT_BOOL) {
    /* Bit-packed, LSB first. */
    for (int64_t i = a; i < bnd; i += 8) {
      uint8_t v = 0;
      for (int k = 0; k < 8 && i + k < bnd; k++) v |= (uint8_t)((src[i + k] != 0) << k);
      put_u8(b, v);
    }
  } else if (t->dtype == LT_U8) {
    for (int64_t i = a; i < bnd; i++) put_le32(b, src[i]);
  } else {
    put(b, src + (size_t)a * es, (size_t)(bnd - a) * es); /* little-endian already */
  }
}

/* One column chunk of rows [r0, r1). */
static LtStatus write_chunk(Wr *wr, const IoPqwCol *k, const Plan *p, int64_t r0, int64_t r1,
                            Chunk *ch) {
  memset(ch, 0, sizeof *ch);
  ch->start = (int64_t)wr->pos;
  ch->dict_off = -1;
  LtStatus st;
  Buf *b = &wr->body;
  if (p->dict) {
    b->n = 0;
    for (int64_t j = 0; j < p->ndict; j++) {
      put_le32(b, (uint32_t)p->dlen[j]);
      put(b, p->dstr[j], p->dlen[j]);
    }
    ch->dict_off = (int64_t)wr->pos;
    if ((st = write_page(wr, 2, p->ndict, E_PLAIN, ch))) return st;
  }
  ch->data_off = (int64_t)wr->pos;
  b->n = 0;
  int64_t rows = r1 - r0, nvals = rows;
  Lv l = {k, p, r0, 0};
  if (k->kind == IO_PQW_LIST) {
    l.width = k->t->shape[1];
    nvals = l.width ? rows * l.width : rows; /* an empty list is one level entry */
    put_levels(b, nvals, 1, rep_list, &l);
    put_levels(b, nvals, 1, def_list, &l);
    plain_numbers(b, k->t, r0 * l.width, r1 * l.width);
  } else if (k->kind == IO_PQW_NUM) {
    plain_numbers(b, k->t, r0, r1);
  } else {
    if (p->optional) put_levels(b, rows, 1, def_flat, &l);
    if (p->dict) {
      /* Non-null indices, packed. */
      uint32_t *tmp = io_alloc(wr->c, (size_t)(rows ? rows : 1) * sizeof *tmp);
      if (!tmp) return LT_ENOMEM;
      int64_t m = 0;
      for (int64_t i = r0; i < r1; i++)
        if (p->idx[i] != NULL_IDX) tmp[m++] = p->idx[i];
      put_indices(b, tmp, m, width_of(p->ndict ? (uint64_t)p->ndict - 1 : 0));
      io_free(wr->c, tmp, (size_t)(rows ? rows : 1) * sizeof *tmp);
    } else {
      for (int64_t i = r0; i < r1; i++)
        if (k->s[i]) {
          if (k->len[i] > UINT32_MAX)
            return io_fail(wr->c, LT_EVALUE, "a string over 4 GiB in column '%.*s'",
                           (int)k->name_len, k->name);
          put_le32(b, (uint32_t)k->len[i]);
          put(b, k->s[i], k->len[i]);
        }
    }
  }
  ch->num_values = nvals;
  return write_page(wr, 0, nvals, p->dict ? E_RLE_DICTIONARY : E_PLAIN, ch);
}

/* ---- footer ---- */

static void schema_element(Tw *t, const IoPqwCol *k, const Plan *p) {
  if (k->kind == IO_PQW_LIST) {
    tw_begin(t, 0);
    tw_i32(t, 3, 0); /* REQUIRED */
    tw_bin(t, 4, k->name, k->name_len);
    tw_i32(t, 5, 1);
    tw_i32(t, 6, 3); /* converted LIST */
    tw_begin(t, 10); /* logicalType: LIST */
    tw_begin(t, 3);
    tw_end(t);
    tw_end(t);
    tw_end(t);
    tw_begin(t, 0);
    tw_i32(t, 3, 2); /* REPEATED */
    tw_bin(t, 4, "list", 4);
    tw_i32(t, 5, 1);
    tw_end(t);
    tw_begin(t, 0);
    tw_i32(t, 1, p->phys);
    tw_i32(t, 3, 0);
    tw_bin(t, 4, "element", 7);
    tw_end(t);
    return;
  }
  tw_begin(t, 0);
  tw_i32(t, 1, p->phys);
  tw_i32(t, 3, p->optional ? 1 : 0);
  tw_bin(t, 4, k->name, k->name_len);
  if (p->phys == PQ_BYTE_ARRAY) {
    tw_i32(t, 6, 0); /* converted UTF8 */
    tw_begin(t, 10); /* logicalType: STRING */
    tw_begin(t, 1);
    tw_end(t);
    tw_end(t);
  }
  tw_end(t);
}

static void column_chunk(Tw *t, const IoPqwCol *k, const Plan *p, const Chunk *ch, int codec) {
  static const int CODEC[] = {0, 1, 6}; /* UNCOMPRESSED, SNAPPY, ZSTD */
  tw_begin(t, 0);
  tw_i64(t, 2, ch->start);
  tw_begin(t, 3);
  tw_i32(t, 1, p->phys);
  int levels = k->kind == IO_PQW_LIST || p->optional;
  tw_list(t, 2, T_I32, (uint64_t)(1 + levels + p->dict));
  put_varint(t->b, p->dict ? (uint64_t)E_PLAIN << 1 : 0); /* zigzag of PLAIN (0) */
  if (levels) put_varint(t->b, (uint64_t)E_RLE << 1);
  if (p->dict) put_varint(t->b, (uint64_t)E_RLE_DICTIONARY << 1);
  if (k->kind == IO_PQW_LIST) {
    tw_list(t, 3, T_BINARY, 3);
    put_varint(t->b, k->name_len);
    put(t->b, k->name, k->name_len);
    put_varint(t->b, 4);
    put(t->b, "list", 4);
    put_varint(t->b, 7);
    put(t->b, "element", 7);
  } else {
    tw_list(t, 3, T_BINARY, 1);
    put_varint(t->b, k->name_len);
    put(t->b, k->name, k->name_len);
  }
  tw_i32(t, 4, CODEC[codec]);
  tw_i64(t, 5, ch->num_values);
  tw_i64(t, 6, ch->usize);
  tw_i64(t, 7, ch->csize);
  tw_i64(t, 9, ch->data_off);
  if (ch->dict_off >= 0) tw_i64(t, 11, ch->dict_off);
  tw_end(t);
  tw_end(t);
}

static LtStatus write_footer(Wr *wr, const IoPqwCol *cols, const Plan *plans, int ncols,
                             int64_t rows, const Chunk *chunks, int64_t ngroups) {
  Buf *b = &wr->head;
  b->n = 0;
  Tw t = {b, {0}, 0};
  tw_i32(&t, 1, 1);
  int64_t nschema = 1;
  for (int j = 0; j < ncols; j++) nschema += cols[j].kind == IO_PQW_LIST ? 3 : 1;
  tw_list(&t, 2, T_STRUCT, (uint64_t)nschema);
  tw_begin(&t, 0);
  tw_bin(&t, 4, "schema", 6);
  tw_i32(&t, 5, ncols);
  tw_end(&t);
  for (int j = 0; j < ncols; j++) schema_element(&t, &cols[j], &plans[j]);
  tw_i64(&t, 3, rows);
  tw_list(&t, 4, T_STRUCT, (uint64_t)ngroups);
  for (int64_t g = 0; g < ngroups; g++) {
    int64_t g0 = g * wr->o->group_rows;
    int64_t gn = rows - g0 < wr->o->group_rows ? rows - g0 : wr->o->group_rows;
    const Chunk *row = chunks + g * ncols;
    int64_t total = 0;
    for (int j = 0; j < ncols; j++) total += row[j].usize;
    tw_begin(&t, 0);
    tw_list(&t, 1, T_STRUCT, (uint64_t)ncols);
    for (int j = 0; j < ncols; j++) column_chunk(&t, &cols[j], &plans[j], &row[j], wr->o->codec);
    tw_i64(&t, 2, total);
    tw_i64(&t, 3, gn);
    tw_end(&t);
  }
  tw_bin(&t, 6, "lunette", 7);
  put_u8(b, 0);
  if (b->st) return b->st;
  if (b->n > INT32_MAX) return io_fail(wr->c, LT_EVALUE, "Parquet metadata over 2 GiB");
  LtStatus st = emit(wr, b->p, b->n);
  uint8_t tail[8] = {(uint8_t)b->n,
                     (uint8_t)(b->n >> 8),
                     (uint8_t)(b->n >> 16),
                     (uint8_t)(b->n >> 24),
                     'P',
                     'A',
                     'R',
                     '1'};
  if (!st) st = emit(wr, tail, 8);
  return st;
}

LtStatus io_pq_write(IoCtx *c, IoWriter *w, const IoPqwCol *cols, int ncols, int64_t rows,
                     const IoPqwOpts *o) {
  int64_t ngroups = rows ? (rows + o->group_rows - 1) / o->group_rows : 0;
  size_t nplans = (size_t)(ncols ? ncols : 1);
  size_t nchunks = (size_t)(ngroups > 0 && ncols > 0 ? ngroups * ncols : 1);
  Plan *plans = io_calloc(c, nplans * sizeof *plans);
  Chunk *chunks = io_calloc(c, nchunks * sizeof *chunks);
  Wr wr = {c,    w, o, 0, {c, NULL, 0, 0, LT_OK}, {c, NULL, 0, 0, LT_OK}, {c, NULL, 0, 0, LT_OK},
           LT_OK};
  LtStatus st = plans && chunks ? LT_OK : LT_ENOMEM;
  for (int j = 0; j < ncols && !st; j++) st = plan_column(c, &cols[j], rows, o, &plans[j]);
  if (!st) st = emit(&wr, "PAR1", 4);
  for (int64_t g = 0; g < ngroups && !st; g++) {
    int64_t r0 = g * o->group_rows, r1 = r0 + o->group_rows < rows ? r0 + o->group_rows : rows;
    for (int j = 0; j < ncols && !st; j++)
      st = write_chunk(&wr, &cols[j], &plans[j], r0, r1, &chunks[g * ncols + j]);
  }
  if (!st) st = write_footer(&wr, cols, plans, ncols, rows, chunks, ngroups);
  for (int j = 0; plans && j < ncols; j++) plan_free(c, &plans[j]);
  io_free(c, plans, nplans * sizeof *plans);
  io_free(c, chunks, nchunks * sizeof *chunks);
  buf_free(&wr.body);
  buf_free(&wr.packed);
  buf_free(&wr.head);
  return st;
}
