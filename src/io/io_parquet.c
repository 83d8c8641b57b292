/* io_parquet.c - Apache Parquet reader: Thrift compact footer, pages, encodings, codecs. */
#include "io/io_parquet.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <lz4.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#define TR_MAX_DEPTH  64
#define PQ_MAX_LEAVES (1 << 20)

/* ---- Thrift compact protocol ---------------------------------------------------------------- */

enum {
  T_STOP,
  T_TRUE,
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

typedef struct {
  IoCtx *c;
  const uint8_t *p, *end;
  int depth;
  LtStatus st;
} Tr;

/* Records the first error (later ones are consequences) and returns it. */
static LtStatus tr_bad(Tr *t, const char *what) {
  if (!t->st) t->st = io_fail(t->c, LT_EVALUE, "bad Thrift metadata (%s)", what);
  return t->st;
}

static uint64_t tr_varint(Tr *t) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (t->p >= t->end) {
      tr_bad(t, "truncated");
      return 0;
    }
    uint8_t b = *t->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  tr_bad(t, "varint too long");
  return 0;
}

static int64_t tr_zigzag(Tr *t) {
  uint64_t v = tr_varint(t);
  return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* An i32 field that must fit in int32 (the format's i32). */
static int64_t tr_i32(Tr *t) {
  int64_t v = tr_zigzag(t);
  if (v < INT32_MIN || v > INT32_MAX) tr_bad(t, "i32 out of range");
  return v;
}

/* A binary/string: its bytes stay in the metadata buffer. */
static const uint8_t *tr_binary(Tr *t, uint64_t *n) {
  *n = tr_varint(t);
  if (t->st) return NULL;
  if (*n > (uint64_t)(t->end - t->p)) {
    tr_bad(t, "string past the metadata");
    return NULL;
  }
  const uint8_t *p = t->p;
  t->p += *n;
  return p;
}

/* A list header: element count (checked against the bytes left, each element takes at least
 * one) and type. */
static uint64_t tr_list(Tr *t, int *etype) {
  if (t->p >= t->end) {
    tr_bad(t, "truncated");
    return 0;
  }
  uint8_t b = *t->p++;
  uint64_t n = b >> 4;
  *etype = b & 15;
  if (n == 15) n = tr_varint(t);
  if (!t->st && n > (uint64_t)(t->end - t->p)) tr_bad(t, "list longer than the metadata");
  return t->st ? 0 : n;
}

static LtStatus tr_skip(Tr *t, int type);

typedef int (*TrField)(Tr *t, void *ud, int id, int type);

/* Reads a struct, calling fn for each field; fn returns 1 when it consumed the value, 0 to skip
 * it. Nesting deeper than TR_MAX_DEPTH is refused (a hostile footer could nest 10^6 deep). */
static LtStatus tr_struct(Tr *t, TrField fn, void *ud) {
  if (++t->depth > TR_MAX_DEPTH) return tr_bad(t, "nested too deep");
  int id = 0;
  while (!t->st) {
    if (t->p >= t->end) return tr_bad(t, "truncated");
    uint8_t b = *t->p++;
    int type = b & 15;
    if (type == T_STOP) break;
    int delta = b >> 4;
    if (delta)
      id += delta;
    else
      id = (int)tr_zigzag(t);
    if (t->st) break;
    if (type > T_STRUCT) return tr_bad(t, "unknown field type");
    if (!fn || !fn(t, ud, id, type)) tr_skip(t, type);
  }
  t->depth--;
  return t->st;
}

static LtStatus tr_skip(Tr *t, int type) {
  uint64_t n;
  int et;
  switch (type) {
  case T_TRUE:
  case T_FALSE: return t->st;
  case T_BYTE:
    if (t->p >= t->end) return tr_bad(t, "truncated");
    t->p++;
    return t->st;
  case T_I16:
  case T_I32:
  case T_I64: tr_varint(t); return t->st;
  case T_DOUBLE:
    if (t->end - t->p < 8) return tr_bad(t, "truncated");
    t->p += 8;
    return t->st;
  case T_BINARY: tr_binary(t, &n); return t->st;
  case T_LIST:
  case T_SET:
    n = tr_list(t, &et);
    if (++t->depth > TR_MAX_DEPTH) return tr_bad(t, "nested too deep");
    for (uint64_t i = 0; i < n && !t->st; i++) {
      /* Booleans inside a list take a byte each. */
      if (et == T_TRUE || et == T_FALSE)
        tr_skip(t, T_BYTE);
      else
        tr_skip(t, et);
    }
    t->depth--;
    return t->st;
  case T_MAP: {
    n = tr_varint(t);
    if (t->st || n == 0) return t->st;
    if (t->p >= t->end || n > (uint64_t)(t->end - t->p)) return tr_bad(t, "truncated map");
    uint8_t kv = *t->p++;
    if (++t->depth > TR_MAX_DEPTH) return tr_bad(t, "nested too deep");
    for (uint64_t i = 0; i < n && !t->st; i++) {
      tr_skip(t, kv >> 4);
      tr_skip(t, kv & 15);
    }
    t->depth--;
    return t->st;
  }
  case T_STRUCT: return tr_struct(t, NULL, NULL);
  default: return tr_bad(t, "unknown field type");
  }
}

/* Integer fields: accepts any of the integer wire types. */
static int is_int(int type) { return type == T_I16 || type == T_I32 || type == T_I64; }

/* ---- Footer ------------------------------------------------------------------------------- */

typedef struct {
  int64_t type, type_len, rep, nchildren, converted;
  int has_type, logical; /* logical: the LogicalType union's field id, 0 when absent */
  const uint8_t *name;
  uint64_t name_n;
} SchemaEl;

static int logical_field(Tr *t, void *ud, int id, int type) {
  int *logical = ud;
  if (!*logical) *logical = id;
  (void)t;
  (void)type;
  return 0;
}

static int schema_field(Tr *t, void *ud, int id, int type) {
  SchemaEl *e = ud;
  if (id == 4 && type == T_BINARY) {
    e->name = tr_binary(t, &e->name_n);
    return 1;
  }
  if (id == 10 && type == T_STRUCT) {
    tr_struct(t, logical_field, &e->logical);
    return 1;
  }
  if (!is_int(type)) return 0;
  int64_t v = tr_i32(t);
  if (id == 1) {
    e->type = v;
    e->has_type = 1;
  } else if (id == 2) {
    e->type_len = v;
  } else if (id == 3) {
    e->rep = v;
  } else if (id == 5) {
    e->nchildren = v;
  } else if (id == 6) {
    e->converted = v;
  }
  return 1;
}

typedef struct {
  IoPqChunk ch;
  int has_meta;
} ChunkTmp;

static int colmeta_field(Tr *t, void *ud, int id, int type) {
  IoPqChunk *ch = ud;
  if (!is_int(type)) return 0;
  int64_t v = tr_zigzag(t);
  switch (id) {
  case 1: ch->type = (int)v; break;
  case 4: ch->codec = (int)v; break;
  case 5: ch->num_values = v; break;
  case 7: ch->size = v; break;
  case 9: ch->data_off = v; break;
  case 11: ch->dict_off = v; break;
  default: break;
  }
  return 1;
}

static int chunk_field(Tr *t, void *ud, int id, int type) {
  ChunkTmp *ct = ud;
  if (id == 1 && type == T_BINARY) {
    tr_bad(t, "column chunks in other files are not supported");
    return 0;
  }
  if (id == 3 && type == T_STRUCT) {
    ct->has_meta = 1;
    tr_struct(t, colmeta_field, &ct->ch);
    return 1;
  }
  return 0;
}

typedef struct {
  IoCtx *c;
  int64_t rows;
  ChunkTmp *cols;
  uint64_t ncols;
} RgTmp;

static int rg_field(Tr *t, void *ud, int id, int type) {
  RgTmp *rg = ud;
  if (id == 3 && is_int(type)) {
    rg->rows = tr_zigzag(t);
    return 1;
  }
  if (id == 1 && type == T_LIST && !rg->cols) {
    int et;
    uint64_t n = tr_list(t, &et);
    if (t->st) return 1;
    if (et != T_STRUCT || n > PQ_MAX_LEAVES) {
      tr_bad(t, "column chunk list");
      return 1;
    }
    rg->cols = io_calloc(rg->c, (n ? n : 1) * sizeof *rg->cols);
    if (!rg->cols) {
      t->st = LT_ENOMEM;
      return 1;
    }
    rg->ncols = n;
    for (uint64_t i = 0; i < n && !t->st; i++) {
      rg->cols[i].ch.dict_off = -1;
      tr_struct(t, chunk_field, &rg->cols[i]);
    }
    return 1;
  }
  return 0;
}

typedef struct {
  IoCtx *c;
  int64_t num_rows;
  SchemaEl *schema;
  uint64_t nschema;
  RgTmp *rgs;
  uint64_t nrg;
} MetaTmp;

static int meta_field(Tr *t, void *ud, int id, int type) {
  MetaTmp *m = ud;
  int et;
  if (id == 3 && is_int(type)) {
    m->num_rows = tr_zigzag(t);
    return 1;
  }
  if (id == 2 && type == T_LIST && !m->schema) {
    uint64_t n = tr_list(t, &et);
    if (t->st) return 1;
    if (et != T_STRUCT || n == 0 || n > PQ_MAX_LEAVES) {
      tr_bad(t, "schema list");
      return 1;
    }
    if (!(m->schema = io_calloc(m->c, n * sizeof *m->schema))) {
      t->st = LT_ENOMEM;
      return 1;
    }
    m->nschema = n;
    for (uint64_t i = 0; i < n && !t->st; i++) tr_struct(t, schema_field, &m->schema[i]);
    return 1;
  }
  if (id == 4 && type == T_LIST && !m->rgs) {
    uint64_t n = tr_list(t, &et);
    if (t->st) return 1;
    if (et != T_STRUCT || n > INT32_MAX) {
      tr_bad(t, "row group list");
      return 1;
    }
    if (!(m->rgs = io_calloc(m->c, (n ? n : 1) * sizeof *m->rgs))) {
      t->st = LT_ENOMEM;
      return 1;
    }
    m->nrg = n;
    for (uint64_t i = 0; i < n && !t->st; i++) {
      m->rgs[i].c = m->c;
      tr_struct(t, rg_field, &m->rgs[i]);
    }
    return 1;
  }
  return 0;
}

static void meta_free(IoCtx *c, MetaTmp *m) {
  for (uint64_t i = 0; m->rgs && i < m->nrg; i++)
    if (m->rgs[i].cols)
      io_free(c, m->rgs[i].cols, (m->rgs[i].ncols ? m->rgs[i].ncols : 1) * sizeof(ChunkTmp));
  if (m->rgs) io_free(c, m->rgs, (m->nrg ? m->nrg : 1) * sizeof *m->rgs);
  if (m->schema) io_free(c, m->schema, m->nschema * sizeof *m->schema);
}

void io_pq_free(IoCtx *c, IoPqFile *f) {
  if (f->leaves) io_free(c, f->leaves, (size_t)(f->nleaves ? f->nleaves : 1) * sizeof *f->leaves);
  if (f->names) io_free(c, f->names, f->names_size);
  if (f->rg_rows) io_free(c, f->rg_rows, (size_t)(f->nrg ? f->nrg : 1) * sizeof *f->rg_rows);
  if (f->chunks)
    io_free(c, f->chunks,
            (size_t)(f->nrg ? f->nrg : 1) * (f->nleaves ? f->nleaves : 1) * sizeof *f->chunks);
  memset(f, 0, sizeof *f);
}

/* Walks the schema tree (element i and its subtree) in depth-first order, adding leaves. `path`
 * holds the dotted name so far (plen bytes); `collapse` is set under a LIST group. */
typedef struct {
  IoCtx *c;
  const SchemaEl *el;
  uint64_t n, next;
  IoPqFile *f;
  char *path;
  size_t path_cap, names_used;
} Walk;

static LtStatus walk(Walk *w, int depth, int def, int rep, int list_def, size_t plen,
                     int collapse) {
  if (depth > TR_MAX_DEPTH) return io_fail(w->c, LT_EVALUE, "schema nested too deep");
  if (w->next >= w->n) return io_fail(w->c, LT_EVALUE, "schema has fewer elements than declared");
  const SchemaEl *e = &w->el[w->next++];
  if (e->rep == 1) def++;
  if (e->rep == 2) {
    def++;
    rep++;
    list_def = def;
  }
  if (!collapse) {
    if (plen + 1 + e->name_n + 1 > w->path_cap) return io_fail(w->c, LT_EVALUE, "name too long");
    if (plen) w->path[plen++] = '.';
    if (e->name_n) memcpy(w->path + plen, e->name, e->name_n);
    plen += e->name_n;
    w->path[plen] = 0;
  }
  if (e->converted == 3 || e->logical == 3) collapse = 1;
  if (e->nchildren > 0) {
    if ((uint64_t)e->nchildren > w->n) return io_fail(w->c, LT_EVALUE, "bad schema child count");
    for (int64_t i = 0; i < e->nchildren; i++) {
      LtStatus st = walk(w, depth + 1, def, rep, list_def, plen, collapse);
      if (st) return st;
    }
    return LT_OK;
  }
  if (!e->has_type || e->type < 0 || e->type > IO_PQ_FIXED)
    return io_fail(w->c, LT_EVALUE, "schema leaf '%s' has no valid type", w->path);
  if ((uint64_t)w->f->nleaves >= w->n) return io_fail(w->c, LT_EVALUE, "bad schema");
  IoPqLeaf *l = &w->f->leaves[w->f->nleaves++];
  l->type = (int)e->type;
  l->type_len = (int)e->type_len;
  if (l->type == IO_PQ_FIXED && (e->type_len <= 0 || e->type_len > (1 << 24)))
    return io_fail(w->c, LT_EVALUE, "column '%s' has a bad fixed length", w->path);
  l->max_def = def;
  l->max_rep = rep;
  l->list_def = list_def;
  l->float16 = l->type == IO_PQ_FIXED && e->logical == 15 && e->type_len == 2;
  l->is_unsigned = e->converted == 22;
  /* Names are stored back to back; `name` pointers are set once the buffer is final. */
  size_t need = plen + 1;
  if (w->names_used + need > w->f->names_size) {
    size_t cap = w->f->names_size ? w->f->names_size * 2 : 256;
    while (cap < w->names_used + need) cap *= 2;
    char *b = io_alloc(w->c, cap);
    if (!b) return LT_ENOMEM;
    if (w->f->names) {
      memcpy(b, w->f->names, w->names_used);
      io_free(w->c, w->f->names, w->f->names_size);
    }
    w->f->names = b;
    w->f->names_size = cap;
  }
  memcpy(w->f->names + w->names_used, w->path, need);
  l->name = (char *)(uintptr_t)w->names_used;
  w->names_used += need;
  return LT_OK;
}

static LtStatus build(IoCtx *c, const MetaTmp *m, uint64_t meta_len, uint64_t fsize, IoPqFile *f) {
  if (m->nschema == 0) return io_fail(c, LT_EVALUE, "no schema");
  if (m->num_rows < 0) return io_fail(c, LT_EVALUE, "negative row count");
  /* A path is at most every name of the metadata plus a dot per level. */
  size_t cap = (size_t)meta_len + 2 * TR_MAX_DEPTH + 8;
  Walk w = {c, m->schema, m->nschema, 0, f, NULL, cap, 0};
  f->leaves = io_calloc(c, m->nschema * sizeof *f->leaves);
  w.path = io_alloc(c, cap);
  LtStatus st = LT_OK;
  if (!f->leaves || !w.path) {
    st = LT_ENOMEM;
  } else {
    /* The root contributes neither a name nor a level. */
    const SchemaEl *root = &m->schema[0];
    w.next = 1;
    for (int64_t i = 0; i < root->nchildren && !st; i++) st = walk(&w, 1, 0, 0, 0, 0, 0);
    if (!st && w.next != m->nschema) st = io_fail(c, LT_EVALUE, "schema element count mismatch");
    if (!st && f->nleaves == 0) st = io_fail(c, LT_EVALUE, "schema has no columns");
  }
  if (w.path) io_free(c, w.path, cap);
  if (st) {
    if (f->leaves) io_free(c, f->leaves, m->nschema * sizeof *f->leaves);
    f->leaves = NULL;
    return st;
  }
  /* io_pq_free frees nleaves entries: the array is copied to its exact size. */
  IoPqLeaf *exact = io_alloc(c, (size_t)f->nleaves * sizeof *exact);
  if (!exact) return LT_ENOMEM;
  memcpy(exact, f->leaves, (size_t)f->nleaves * sizeof *exact);
  io_free(c, f->leaves, m->nschema * sizeof *f->leaves);
  f->leaves = exact;
  for (int i = 0; i < f->nleaves; i++) f->leaves[i].name = f->names + (uintptr_t)f->leaves[i].name;

  f->num_rows = m->num_rows;
  f->nrg = (int)m->nrg;
  f->rg_rows = io_calloc(c, (m->nrg ? m->nrg : 1) * sizeof *f->rg_rows);
  uint64_t nch;
  if (!io_mul_u64(m->nrg ? m->nrg : 1, (uint64_t)f->nleaves, &nch) ||
      nch > SIZE_MAX / sizeof *f->chunks)
    return io_fail(c, LT_EOVERFLOW, "too many column chunks");
  f->chunks = io_calloc(c, (size_t)nch * sizeof *f->chunks);
  if (!f->rg_rows || !f->chunks) return LT_ENOMEM;
  int64_t total = 0;
  for (uint64_t g = 0; g < m->nrg; g++) {
    const RgTmp *rg = &m->rgs[g];
    if (rg->ncols != (uint64_t)f->nleaves)
      return io_fail(c, LT_EVALUE, "row group %d has %llu column chunks for %d columns", (int)g + 1,
                     (unsigned long long)rg->ncols, f->nleaves);
    if (rg->rows < 0 || rg->rows > INT64_MAX - total)
      return io_fail(c, LT_EVALUE, "row group %d has a bad row count", (int)g + 1);
    total += rg->rows;
    f->rg_rows[g] = rg->rows;
    for (int j = 0; j < f->nleaves; j++) {
      IoPqChunk ch = rg->cols[j].ch;
      const IoPqLeaf *l = &f->leaves[j];
      if (!rg->cols[j].has_meta)
        return io_fail(c, LT_EVALUE, "column '%s' has no chunk metadata", l->name);
      if (ch.type != l->type)
        return io_fail(c, LT_EVALUE, "column '%s': chunk type differs from the schema", l->name);
      /* A chunk starts at its dictionary page when there is one. */
      int64_t start = ch.data_off;
      if (ch.dict_off > 0 && ch.dict_off < start) start = ch.dict_off;
      if (ch.size < 0 || start < 4 || (uint64_t)ch.size > fsize ||
          (uint64_t)start > fsize - (uint64_t)ch.size || ch.num_values < 0)
        return io_fail(c, LT_EVALUE, "column '%s': chunk in row group %d lies past the file",
                       l->name, (int)g + 1);
      ch.data_off = start;
      f->chunks[g * (uint64_t)f->nleaves + (uint64_t)j] = ch;
    }
  }
  if (total != m->num_rows)
    return io_fail(c, LT_EVALUE, "row groups hold %lld rows, the footer says %lld",
                   (long long)total, (long long)m->num_rows);
  return LT_OK;
}

LtStatus io_pq_open(IoCtx *c, IoSrc *s, IoPqFile *f) {
  memset(f, 0, sizeof *f);
  uint64_t size = io_src_size(s);
  uint8_t tail[8], head[4];
  if (size < 12) return io_fail(c, LT_EVALUE, "not a Parquet file (too short)");
  LtStatus st;
  if ((st = io_src_read(c, s, 0, head, 4)) || (st = io_src_read(c, s, size - 8, tail, 8)))
    return st;
  if (memcmp(head, "PAR1", 4) || memcmp(tail + 4, "PAR1", 4))
    return io_fail(c, LT_EVALUE, "not a Parquet file (no PAR1 magic)");
  uint64_t mlen = io_le32(tail);
  if (mlen == 0 || mlen > size - 12)
    return io_fail(c, LT_EVALUE, "footer length %llu past the file", (unsigned long long)mlen);
  uint8_t *buf = io_alloc(c, (size_t)mlen);
  if (!buf) return LT_ENOMEM;
  if ((st = io_src_read(c, s, size - 8 - mlen, buf, (size_t)mlen))) {
    io_free(c, buf, (size_t)mlen);
    return st;
  }
  MetaTmp m = {c, -1, NULL, 0, NULL, 0};
  Tr t = {c, buf, buf + mlen, 0, LT_OK};
  st = tr_struct(&t, meta_field, &m);
  if (!st && !m.schema) st = io_fail(c, LT_EVALUE, "footer has no schema");
  if (!st) st = build(c, &m, mlen, size - 8 - mlen, f);
  meta_free(c, &m);
  io_free(c, buf, (size_t)mlen);
  if (st) io_pq_free(c, f);
  return st;
}

/* ---- Codecs ------------------------------------------------------------------------------- */

/* libsnappy, libzstd and liblz4 by dlopen: only files that use them pay for loading them, and a
 * machine without them still reads uncompressed and GZIP files. */
/* The prototypes come from the libraries' headers (libsnappy-dev, libzstd-dev, liblz4-dev), so
 * the table's types are checked; nothing links against the libraries. */
typedef struct {
  __typeof__(snappy_uncompressed_length) *snappy_uncompressed_length;
  __typeof__(snappy_uncompress) *snappy_uncompress;
  __typeof__(ZSTD_decompress) *ZSTD_decompress;
  __typeof__(ZSTD_isError) *ZSTD_isError;
  __typeof__(LZ4_decompress_safe) *LZ4_decompress_safe;
} Codecs;
static Codecs codecs;
static pthread_once_t codecs_once = PTHREAD_ONCE_INIT;

static void *sym(void *h, const char *name) { return h ? dlsym(h, name) : NULL; }

static void load_codecs(void) {
  void *h = dlopen("libsnappy.so.1", RTLD_NOW | RTLD_LOCAL);
  *(void **)&codecs.snappy_uncompressed_length = sym(h, "snappy_uncompressed_length");
  *(void **)&codecs.snappy_uncompress = sym(h, "snappy_uncompress");
  h = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
  *(void **)&codecs.ZSTD_decompress = sym(h, "ZSTD_decompress");
  *(void **)&codecs.ZSTD_isError = sym(h, "ZSTD_isError");
  h = dlopen("liblz4.so.1", RTLD_NOW | RTLD_LOCAL);
  *(void **)&codecs.LZ4_decompress_safe = sym(h, "LZ4_decompress_safe");
}

static const char *CODEC_NAME[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                   "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};

/* Decompresses src[0..n) into dst, which must come out exactly `want` bytes (the page header's
 * size: a lying one is an error, never an overrun). */
static LtStatus decompress(IoCtx *c, int codec, const uint8_t *src, size_t n, uint8_t *dst,
                           size_t want) {
  pthread_once(&codecs_once, load_codecs);
  size_t got = 0;
  if (codec == 1) {
    if (!codecs.snappy_uncompress) return io_fail(c, LT_EVALUE, "SNAPPY needs libsnappy1v5");
    size_t len;
    if (codecs.snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK || len != want)
      return io_fail(c, LT_EVALUE, "SNAPPY page size differs from its header");
    got = want;
    if (codecs.snappy_uncompress((const char *)src, n, (char *)dst, &got) != SNAPPY_OK)
      return io_fail(c, LT_EVALUE, "corrupt SNAPPY page");
  } else if (codec == 2) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) return io_fail(c, LT_ENOMEM, "zlib init failed");
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)n;
    z.next_out = dst;
    z.avail_out = (uInt)want;
    int r = inflate(&z, Z_FINISH);
    got = z.total_out;
    inflateEnd(&z);
    if (r != Z_STREAM_END) return io_fail(c, LT_EVALUE, "corrupt or lying GZIP page");
  } else if (codec == 6) {
    if (!codecs.ZSTD_decompress) return io_fail(c, LT_EVALUE, "ZSTD needs libzstd1");
    size_t r = codecs.ZSTD_decompress(dst, want, src, n);
    if (codecs.ZSTD_isError(r)) return io_fail(c, LT_EVALUE, "corrupt or lying ZSTD page");
    got = r;
  } else if (codec == 7) {
    if (!codecs.LZ4_decompress_safe) return io_fail(c, LT_EVALUE, "LZ4_RAW needs liblz4-1");
    if (n > INT32_MAX || want > INT32_MAX) return io_fail(c, LT_EVALUE, "LZ4 page too large");
    int r = codecs.LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)want);
    if (r < 0) return io_fail(c, LT_EVALUE, "corrupt or lying LZ4_RAW page");
    got = (size_t)r;
  } else {
    return io_fail(c, LT_EVALUE, "compression %s is not supported",
                   codec >= 0 && codec < 8 ? CODEC_NAME[codec] : "(unknown)");
  }
  if (got != want)
    return io_fail(c, LT_EVALUE, "page decompressed to a size other than its header's");
  return LT_OK;
}

/* ---- Page headers ------------------------------------------------------------------------- */

typedef struct {
  int64_t type, usize, csize;
  int64_t nvals, enc, nnulls, nrows, def_len, rep_len;
  int compressed;
  int has_dph, has_dict, has_v2;
} PageHdr;

static int dph_field(Tr *t, void *ud, int id, int type) {
  PageHdr *h = ud;
  if (!is_int(type)) return 0;
  int64_t v = tr_i32(t);
  if (id == 1) h->nvals = v;
  if (id == 2) h->enc = v;
  return 1;
}

static int v2_field(Tr *t, void *ud, int id, int type) {
  PageHdr *h = ud;
  if (id == 7 && (type == T_TRUE || type == T_FALSE)) {
    h->compressed = type == T_TRUE;
    return 1;
  }
  if (!is_int(type)) return 0;
  int64_t v = tr_i32(t);
  switch (id) {
  case 1: h->nvals = v; break;
  case 2: h->nnulls = v; break;
  case 3: h->nrows = v; break;
  case 4: h->enc = v; break;
  case 5: h->def_len = v; break;
  case 6: h->rep_len = v; break;
  default: break;
  }
  return 1;
}

static int page_field(Tr *t, void *ud, int id, int type) {
  PageHdr *h = ud;
  if (type == T_STRUCT) {
    if (id == 5) {
      h->has_dph = 1;
      tr_struct(t, dph_field, h);
    } else if (id == 7) {
      h->has_dict = 1;
      tr_struct(t, dph_field, h);
    } else if (id == 8) {
      h->has_v2 = 1;
      tr_struct(t, v2_field, h);
    } else {
      return 0;
    }
    return 1;
  }
  if (!is_int(type)) return 0;
  int64_t v = tr_i32(t);
  if (id == 1) h->type = v;
  if (id == 2) h->usize = v;
  if (id == 3) h->csize = v;
  return 1;
}

/* ---- RLE / bit-packed hybrid -------------------------------------------------------------- */

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

static void rle_init(Rle *r, const uint8_t *p, size_t n, int bw) {
  memset(r, 0, sizeof *r);
  r->p = p;
  r->end = p + n;
  r->bw = bw;
}

/* The next value, or -1 when the data ends early or is malformed. */
static int64_t rle_next(Rle *r) {
  while (!r->run_left && !r->bp_left) {
    uint64_t h = 0;
    int shift = 0;
    for (;;) {
      if (r->p >= r->end || shift > 56) return -1;
      uint8_t b = *r->p++;
      h |= (uint64_t)(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    uint64_t left = (uint64_t)(r->end - r->p);
    if (h & 1) {
      /* Groups of 8 values, bw bytes each; writers may cut the last run short, so only the
       * values whose bits are present are readable. */
      uint64_t groups = h >> 1;
      uint64_t bytes = groups > left ? left : groups * (uint64_t)r->bw;
      if (bytes > left) bytes = left;
      uint64_t nvals = r->bw ? bytes * 8 / (uint64_t)r->bw : groups * 8;
      if (nvals > groups * 8) nvals = groups * 8;
      r->bp = r->p;
      r->bp_bytes = bytes;
      r->bp_left = nvals;
      r->bitpos = 0;
      r->p += bytes;
      if (!nvals && groups) return -1;
    } else {
      int nb = (r->bw + 7) / 8;
      if ((uint64_t)nb > left) return -1;
      uint32_t v = 0;
      for (int i = 0; i < nb; i++) v |= (uint32_t)r->p[i] << (8 * i);
      r->p += nb;
      r->run_val = v;
      r->run_left = h >> 1;
    }
  }
  if (r->run_left) {
    r->run_left--;
    return r->run_val;
  }
  uint32_t v = 0;
  for (int i = 0; i < r->bw; i++) {
    uint64_t bit = r->bitpos + (uint64_t)i;
    v |= (uint32_t)((r->bp[bit >> 3] >> (bit & 7)) & 1) << i;
  }
  r->bitpos += (uint64_t)r->bw;
  r->bp_left--;
  return v;
}

/* Decodes n levels (at most maxv each) into out. */
static LtStatus read_levels(IoCtx *c, const uint8_t *p, size_t len, int64_t n, int maxv,
                            int16_t *out, const char *what) {
  int bw = 0;
  while ((1 << bw) <= maxv) bw++;
  Rle r;
  rle_init(&r, p, len, bw);
  for (int64_t i = 0; i < n; i++) {
    int64_t v = rle_next(&r);
    if (v < 0) return io_fail(c, LT_EVALUE, "%s levels end early", what);
    if (v > maxv)
      return io_fail(c, LT_EVALUE, "%s level %lld over its maximum %d", what, (long long)v, maxv);
    out[i] = (int16_t)v;
  }
  return LT_OK;
}

/* ---- Column chunks ------------------------------------------------------------------------ */

void io_pq_column_free(IoCtx *c, IoPqColumn *col) {
  if (col->row_off) io_free(c, col->row_off, col->cap_rows);
  if (col->null) io_free(c, col->null, col->cap_vals);
  if (col->data) io_free(c, col->data, col->cap_vals * col->elem);
  if (col->off) io_free(c, col->off, (col->cap_vals + 1) * sizeof(int64_t));
  if (col->bytes) io_free(c, col->bytes, col->cap_bytes);
  if (col->codes) io_free(c, col->codes, col->cap_vals * sizeof(int32_t));
  if (col->dict_off) io_free(c, col->dict_off, col->cap_dict);
  if (col->dict_bytes) io_free(c, col->dict_bytes, col->cap_dict_bytes);
  memset(col, 0, sizeof *col);
}

/* Grows col->bytes to hold at least `need` bytes. */
static LtStatus grow_bytes(IoCtx *c, IoPqColumn *col, uint64_t need) {
  if (need <= col->cap_bytes) return LT_OK;
  uint64_t cap = col->cap_bytes ? col->cap_bytes : 256;
  while (cap < need) {
    if (cap > UINT64_MAX / 2) return io_fail(c, LT_EOVERFLOW, "strings too large");
    cap *= 2;
  }
  if (cap > SIZE_MAX) return io_fail(c, LT_EOVERFLOW, "strings too large");
  uint8_t *b = io_alloc(c, (size_t)cap);
  if (!b) return LT_ENOMEM;
  if (col->bytes) {
    memcpy(b, col->bytes, col->cap_bytes);
    io_free(c, col->bytes, col->cap_bytes);
  }
  col->bytes = b;
  col->cap_bytes = (size_t)cap;
  return LT_OK;
}

/* State of one chunk's decoding. */
typedef struct {
  IoCtx *c;
  const IoPqLeaf *l;
  IoPqColumn *col;
  int16_t *def, *rep; /* chunk-wide levels */
  int64_t slot;       /* level slots decoded so far */
  int64_t nslots;
  /* dictionary */
  int has_dict;
  int64_t ndict;
  uint8_t *dict; /* fixed-width: ndict * elem bytes */
  size_t dict_size;
  int all_dict;
  size_t elem;
} Dec;

/* Decodes the PLAIN values of a dictionary page into the dictionary. */
static LtStatus read_dict(Dec *d, const uint8_t *p, size_t n, int64_t count) {
  IoCtx *c = d->c;
  IoPqColumn *col = d->col;
  if (d->has_dict) return io_fail(c, LT_EVALUE, "column '%s' has two dictionaries", d->l->name);
  if (count < 0) return io_fail(c, LT_EVALUE, "negative dictionary size");
  d->has_dict = 1;
  d->ndict = count;
  if (d->l->type == IO_PQ_BYTE_ARRAY) {
    /* Each entry takes at least its 4-byte length. */
    if ((uint64_t)count > n / 4)
      return io_fail(c, LT_EVALUE, "column '%s': dictionary past its page", d->l->name);
    col->cap_dict = ((size_t)count + 1) * sizeof(int64_t);
    col->cap_dict_bytes = n ? n : 1;
    if (!(col->dict_off = io_alloc(c, col->cap_dict)) ||
        !(col->dict_bytes = io_alloc(c, col->cap_dict_bytes)))
      return LT_ENOMEM;
    size_t pos = 0, out = 0;
    col->dict_off[0] = 0;
    for (int64_t i = 0; i < count; i++) {
      if (n - pos < 4)
        return io_fail(c, LT_EVALUE, "column '%s': string past its page", d->l->name);
      uint32_t len = io_le32(p + pos);
      pos += 4;
      if (len > n - pos)
        return io_fail(c, LT_EVALUE, "column '%s': string past its page", d->l->name);
      memcpy(col->dict_bytes + out, p + pos, len);
      pos += len;
      out += len;
      col->dict_off[i + 1] = (int64_t)out;
    }
    col->ndict = count;
    return LT_OK;
  }
  size_t elem = d->l->type == IO_PQ_FIXED ? (size_t)d->l->type_len : d->elem;
  if (d->l->type == IO_PQ_BOOLEAN) return io_fail(c, LT_EVALUE, "boolean dictionary");
  if ((uint64_t)count > n / elem)
    return io_fail(c, LT_EVALUE, "column '%s': dictionary past its page", d->l->name);
  d->dict_size = (size_t)count * elem;
  if (!(d->dict = io_alloc(c, d->dict_size ? d->dict_size : 1))) return LT_ENOMEM;
  memcpy(d->dict, p, d->dict_size);
  return LT_OK;
}

/* Stores string value (p, len) in slot i. */
static LtStatus put_string(Dec *d, int64_t i, const uint8_t *p, size_t len) {
  IoPqColumn *col = d->col;
  uint64_t at = (uint64_t)col->off[i];
  LtStatus st = grow_bytes(d->c, col, at + len);
  if (st) return st;
  if (len) memcpy(col->bytes + at, p, len);
  col->off[i + 1] = (int64_t)(at + len);
  return LT_OK;
}

/* Decodes one data page's values (v[0..n)) for slots [first, first+count). */
static LtStatus read_values(Dec *d, const uint8_t *v, size_t n, int64_t enc, int64_t first,
                            int64_t count) {
  IoCtx *c = d->c;
  IoPqColumn *col = d->col;
  const IoPqLeaf *l = d->l;
  int dict = enc == 2 || enc == 8;
  Rle r;
  uint64_t nnon = 0;
  for (int64_t i = first; i < first + count; i++)
    if (!d->def || d->def[i] == l->max_def) nnon++;
  if (dict) {
    if (!d->has_dict) return io_fail(c, LT_EVALUE, "column '%s': dictionary page missing", l->name);
    if (n < 1) return io_fail(c, LT_EVALUE, "column '%s': empty dictionary indices", l->name);
    if (v[0] > 32) return io_fail(c, LT_EVALUE, "column '%s': bad index width", l->name);
    rle_init(&r, v + 1, n - 1, v[0]);
  } else {
    d->all_dict = 0;
    if (enc == 3 && l->type == IO_PQ_BOOLEAN) {
      /* RLE booleans (v2 pages): a 4-byte length, then the hybrid with width 1. */
      if (n < 4 || io_le32(v) > n - 4)
        return io_fail(c, LT_EVALUE, "column '%s': boolean run length past the page", l->name);
      rle_init(&r, v + 4, io_le32(v), 1);
    } else if (enc != 0) {
      return io_fail(c, LT_EVALUE, "column '%s': encoding %lld is not supported", l->name,
                     (long long)enc);
    }
  }
  size_t elem = d->elem;
  if (!dict && enc == 0 && l->type != IO_PQ_BYTE_ARRAY) {
    /* PLAIN fixed width: the page must hold every non-null value. */
    uint64_t need = l->type == IO_PQ_BOOLEAN ? (nnon + 7) / 8 : nnon * elem;
    if (nnon > n * 8 || need > n)
      return io_fail(c, LT_EVALUE, "column '%s': values past the page", l->name);
  }
  if (!dict && enc == 0 && elem && l->type != IO_PQ_BOOLEAN && nnon == (uint64_t)count) {
    /* No null in the page: the values are the slots, one copy (an embedding column's rows). */
    memcpy(col->data + (size_t)first * elem, v, (size_t)nnon * elem);
    return LT_OK;
  }
  size_t pos = 0;
  uint64_t k = 0;
  for (int64_t i = first; i < first + count; i++) {
    int is_null = d->def && d->def[i] < l->max_def;
    /* Only slots that hold an element (or a null element) become values; list slots below
     * list_def are empty or null lists (handled by the assembly). */
    if (is_null) {
      if (col->off) col->off[i + 1] = col->off[i];
      if (col->codes) col->codes[i] = -1;
      continue;
    }
    if (dict) {
      int64_t ix = rle_next(&r);
      if (ix < 0)
        return io_fail(c, LT_EVALUE, "column '%s': dictionary indices end early", l->name);
      if (ix >= d->ndict)
        return io_fail(c, LT_EVALUE,
                       "column '%s': dictionary index %lld out of range (%lld entries)", l->name,
                       (long long)ix, (long long)d->ndict);
      if (l->type == IO_PQ_BYTE_ARRAY) {
        if (col->codes) col->codes[i] = (int32_t)ix;
        LtStatus st = put_string(d, i, col->dict_bytes + col->dict_off[ix],
                                 (size_t)(col->dict_off[ix + 1] - col->dict_off[ix]));
        if (st) return st;
      } else {
        memcpy(col->data + (size_t)i * elem, d->dict + (size_t)ix * elem, elem);
      }
    } else if (l->type == IO_PQ_BOOLEAN) {
      int64_t b;
      if (enc == 3) {
        b = rle_next(&r);
        if (b < 0) return io_fail(c, LT_EVALUE, "column '%s': booleans end early", l->name);
      } else {
        b = (v[k >> 3] >> (k & 7)) & 1;
      }
      col->data[i] = (uint8_t)b;
    } else if (l->type == IO_PQ_BYTE_ARRAY) {
      if (n - pos < 4) return io_fail(c, LT_EVALUE, "column '%s': string past the page", l->name);
      uint32_t len = io_le32(v + pos);
      pos += 4;
      if (len > n - pos) return io_fail(c, LT_EVALUE, "column '%s': string past the page", l->name);
      LtStatus st = put_string(d, i, v + pos, len);
      if (st) return st;
      pos += len;
    } else {
      memcpy(col->data + (size_t)i * elem, v + k * elem, elem);
    }
    k++;
  }
  return LT_OK;
}

/* ---- DELTA_* and BYTE_STREAM_SPLIT, rewritten to PLAIN ------------------------------------ */

static int uvarint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*p >= end) return -1;
    uint8_t b = *(*p)++;
    *v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return 0;
  }
  return -1;
}

/* Decodes n values of a DELTA_BINARY_PACKED stream at *p into out and moves *p past the
 * miniblocks it used (a DELTA_LENGTH_BYTE_ARRAY's bytes follow them). */
static LtStatus dbp_decode(IoCtx *c, const uint8_t **p, const uint8_t *end, uint64_t n,
                           int64_t *out) {
  uint64_t bsize, nmini, total, zz;
  if (uvarint(p, end, &bsize) || uvarint(p, end, &nmini) || uvarint(p, end, &total) ||
      uvarint(p, end, &zz))
    return io_fail(c, LT_EVALUE, "DELTA_BINARY_PACKED header past the page");
  if (bsize == 0 || bsize % 128 || nmini == 0 || bsize % nmini || (bsize / nmini) % 32 ||
      bsize > (1u << 20))
    return io_fail(c, LT_EVALUE, "bad DELTA_BINARY_PACKED block size");
  if (total < n) return io_fail(c, LT_EVALUE, "DELTA_BINARY_PACKED holds too few values");
  uint64_t vpm = bsize / nmini;
  uint64_t v = (zz >> 1) ^ -(zz & 1);
  uint64_t got = 0;
  if (n) out[got++] = (int64_t)v;
  while (got < n) {
    uint64_t mz;
    if (uvarint(p, end, &mz)) return io_fail(c, LT_EVALUE, "DELTA_BINARY_PACKED past the page");
    uint64_t min_delta = (mz >> 1) ^ -(mz & 1);
    if ((uint64_t)(end - *p) < nmini)
      return io_fail(c, LT_EVALUE, "DELTA_BINARY_PACKED past the page");
    const uint8_t *widths = *p;
    *p += nmini;
    for (uint64_t m = 0; m < nmini && got < n; m++) {
      int bw = widths[m];
      if (bw > 64) return io_fail(c, LT_EVALUE, "DELTA_BINARY_PACKED bit width over 64");
      uint64_t bytes = vpm * (uint64_t)bw / 8;
      if ((uint64_t)(end - *p) < bytes)
        return io_fail(c, LT_EVALUE, "DELTA_BINARY_PACKED miniblock past the page");
      const uint8_t *mb = *p;
      for (uint64_t k = 0; k < vpm && got < n; k++) {
        uint64_t d = 0;
        for (int b = 0; b < bw; b++) {
          uint64_t bit = k * (uint64_t)bw + (uint64_t)b;
          d |= (uint64_t)((mb[bit >> 3] >> (bit & 7)) & 1) << b;
        }
        v += min_delta + d; /* wraps as the format intends */
        out[got++] = (int64_t)v;
      }
      *p += bytes;
    }
  }
  return LT_OK;
}

/* Rewrites `nnon` values of encoding enc (DELTA_BINARY_PACKED 5, DELTA_LENGTH_BYTE_ARRAY 6,
 * DELTA_BYTE_ARRAY 7, BYTE_STREAM_SPLIT 9) as PLAIN into a fresh buffer *out of *outn bytes. */
static LtStatus to_plain(Dec *d, const uint8_t *v, size_t n, int64_t enc, uint64_t nnon,
                         uint8_t **out, size_t *outn) {
  IoCtx *c = d->c;
  const IoPqLeaf *l = d->l;
  const uint8_t *p = v, *end = v + n;
  size_t elem = d->elem;
  int bytes_type = l->type == IO_PQ_BYTE_ARRAY || (l->type == IO_PQ_FIXED && enc == 7);
  LtStatus st = LT_OK;
  *out = NULL;
  if (enc == 9) {
    if (!elem || l->type == IO_PQ_BOOLEAN || nnon > n / elem)
      return io_fail(c, LT_EVALUE, "column '%s': bad BYTE_STREAM_SPLIT page", l->name);
    *outn = (size_t)nnon * elem;
    if (!(*out = io_alloc(c, *outn ? *outn : 1))) return LT_ENOMEM;
    for (uint64_t i = 0; i < nnon; i++)
      for (size_t b = 0; b < elem; b++) (*out)[i * elem + b] = v[b * nnon + i];
    return LT_OK;
  }
  if (enc == 5 && (l->type == IO_PQ_INT32 || l->type == IO_PQ_INT64)) {
    size_t tn = (size_t)(nnon ? nnon : 1) * sizeof(int64_t);
    int64_t *t = io_alloc(c, tn);
    if (!t) return LT_ENOMEM;
    st = dbp_decode(c, &p, end, nnon, t);
    *outn = (size_t)nnon * elem;
    if (!st && !(*out = io_alloc(c, *outn ? *outn : 1))) st = LT_ENOMEM;
    for (uint64_t i = 0; !st && i < nnon; i++) {
      if (elem == 4) {
        int32_t x = (int32_t)(uint32_t)(uint64_t)t[i];
        memcpy(*out + i * 4, &x, 4);
      } else {
        memcpy(*out + i * 8, &t[i], 8);
      }
    }
    io_free(c, t, tn);
    return st;
  }
  if ((enc != 6 && enc != 7) || !bytes_type)
    return io_fail(c, LT_EVALUE, "column '%s': encoding %lld is not supported for its type",
                   l->name, (long long)enc);
  size_t tn = (size_t)(nnon ? nnon : 1) * sizeof(int64_t);
  int64_t *pre = NULL, *len = io_alloc(c, tn);
  if (!len) return LT_ENOMEM;
  if (enc == 7) {
    if (!(pre = io_alloc(c, tn))) st = LT_ENOMEM;
    if (!st) st = dbp_decode(c, &p, end, nnon, pre);
  }
  if (!st) st = dbp_decode(c, &p, end, nnon, len);
  /* Sizes first: every suffix inside the page, every prefix within the previous value, and the
   * rebuilt total within the inflate limit (shared prefixes can multiply the page's size). */
  uint64_t sum = 0, suf = 0, prev = 0;
  for (uint64_t i = 0; !st && i < nnon; i++) {
    uint64_t pl = pre ? (uint64_t)pre[i] : 0, sl = (uint64_t)len[i];
    if (pl > prev || sl > n)
      st = io_fail(c, LT_EVALUE, "column '%s': bad string lengths", l->name);
    else if (l->type == IO_PQ_FIXED && pl + sl != (uint64_t)l->type_len)
      st = io_fail(c, LT_EVALUE, "column '%s': value of the wrong width", l->name);
    suf += sl;
    prev = pl + sl;
    sum += prev + (l->type == IO_PQ_FIXED ? 0 : 4);
    if (!st && (suf > (uint64_t)(end - p) || sum > c->max_inflate))
      st = io_fail(c, LT_EVALUE, "column '%s': strings past the page", l->name);
  }
  *outn = (size_t)sum;
  if (!st && !(*out = io_alloc(c, *outn ? *outn : 1))) st = LT_ENOMEM;
  size_t o = 0, last = 0;
  for (uint64_t i = 0; !st && i < nnon; i++) {
    size_t pl = pre ? (size_t)pre[i] : 0, sl = (size_t)len[i];
    if (l->type != IO_PQ_FIXED) {
      io_put32(*out + o, (uint32_t)(pl + sl));
      o += 4;
    }
    /* The previous value starts at `last`: its first pl bytes are this value's prefix. */
    if (pl) memmove(*out + o, *out + last, pl);
    memcpy(*out + o + pl, p, sl);
    p += sl;
    last = o;
    o += pl + sl;
  }
  io_free(c, len, tn);
  if (pre) io_free(c, pre, tn);
  if (st && *out) {
    io_free(c, *out, *outn ? *outn : 1);
    *out = NULL;
  }
  return st;
}

/* Decodes one data page (v1 or v2) from its decompressed parts. */
static LtStatus data_page(Dec *d, const PageHdr *h, const uint8_t *lv, size_t lvn, const uint8_t *v,
                          size_t vn) {
  IoCtx *c = d->c;
  const IoPqLeaf *l = d->l;
  int64_t n = h->nvals;
  if (n < 0 || n > d->nslots - d->slot)
    return io_fail(c, LT_EVALUE, "column '%s': pages hold more values than the chunk", l->name);
  LtStatus st;
  if (h->has_v2) {
    /* v2: repetition then definition levels, uncompressed, with no length prefixes. */
    if (h->rep_len < 0 || h->def_len < 0 || (uint64_t)h->rep_len + (uint64_t)h->def_len > lvn)
      return io_fail(c, LT_EVALUE, "column '%s': level lengths past the page", l->name);
    if (l->max_rep && (st = read_levels(c, lv, (size_t)h->rep_len, n, l->max_rep, d->rep + d->slot,
                                        "repetition")))
      return st;
    if (l->max_def && (st = read_levels(c, lv + h->rep_len, (size_t)h->def_len, n, l->max_def,
                                        d->def + d->slot, "definition")))
      return st;
  } else {
    /* v1: each level stream has a 4-byte length prefix, inside the compressed data. */
    size_t pos = 0;
    for (int pass = 0; pass < 2; pass++) {
      int maxv = pass == 0 ? l->max_rep : l->max_def;
      if (!maxv) continue;
      if (vn - pos < 4) return io_fail(c, LT_EVALUE, "column '%s': levels past the page", l->name);
      uint32_t len = io_le32(v + pos);
      pos += 4;
      if (len > vn - pos)
        return io_fail(c, LT_EVALUE, "column '%s': levels past the page", l->name);
      int16_t *out = pass == 0 ? d->rep + d->slot : d->def + d->slot;
      if ((st =
               read_levels(c, v + pos, len, n, maxv, out, pass == 0 ? "repetition" : "definition")))
        return st;
      pos += len;
    }
    v += pos;
    vn -= pos;
  }
  if (d->rep && d->slot == 0 && n > 0 && d->rep[0] != 0)
    return io_fail(c, LT_EVALUE, "column '%s': first repetition level is not 0", l->name);
  if (h->enc == 5 || h->enc == 6 || h->enc == 7 || h->enc == 9) {
    uint64_t nnon = 0;
    for (int64_t i = d->slot; i < d->slot + n; i++)
      if (!d->def || d->def[i] == l->max_def) nnon++;
    uint8_t *plain = NULL;
    size_t pn = 0;
    if ((st = to_plain(d, v, vn, h->enc, nnon, &plain, &pn))) return st;
    st = read_values(d, plain, pn, 0, d->slot, n);
    io_free(c, plain, pn ? pn : 1);
  } else {
    st = read_values(d, v, vn, h->enc, d->slot, n);
  }
  d->slot += n;
  return st;
}

/* Turns the levels of a list column into rows: value slots are those at or past list_def; rows
 * start at repetition level 0. Compacts the value arrays in place. */
static LtStatus assemble_list(Dec *d, int64_t rows) {
  IoCtx *c = d->c;
  IoPqColumn *col = d->col;
  const IoPqLeaf *l = d->l;
  if (l->max_rep > 1)
    return io_fail(c, LT_EVALUE, "column '%s': nested lists are not supported", l->name);
  col->cap_rows = ((size_t)rows + 1) * sizeof(int64_t);
  if (!(col->row_off = io_alloc(c, col->cap_rows))) return LT_ENOMEM;
  int64_t r = -1, nv = 0;
  for (int64_t i = 0; i < d->nslots; i++) {
    if (d->rep[i] == 0) {
      if (++r >= rows) return io_fail(c, LT_EVALUE, "column '%s': more lists than rows", l->name);
      col->row_off[r] = nv;
    }
    if (d->def[i] < l->list_def) continue; /* an empty or null list */
    /* Slot i becomes value nv (nv <= i, so moving forward never overwrites unread slots). */
    if (col->data && nv != i)
      memmove(col->data + nv * (int64_t)col->elem, col->data + i * (int64_t)col->elem, col->elem);
    if (col->off) {
      int64_t len = col->off[i + 1] - col->off[i];
      memmove(col->bytes + col->off[nv], col->bytes + col->off[i], (size_t)len);
      col->off[nv + 1] = col->off[nv] + len;
    }
    if (col->codes) col->codes[nv] = col->codes[i];
    int is_null = d->def[i] < l->max_def;
    if (col->null) col->null[nv] = (uint8_t)is_null;
    nv++;
  }
  if (r + 1 != rows)
    return io_fail(c, LT_EVALUE, "column '%s': %lld lists for %lld rows", l->name,
                   (long long)(r + 1), (long long)rows);
  col->row_off[rows] = nv;
  col->nvals = nv;
  col->nnull = 0;
  for (int64_t i = 0; col->null && i < nv; i++) col->nnull += col->null[i];
  int64_t w = rows ? col->row_off[1] - col->row_off[0] : 0;
  for (int64_t i = 0; i < rows && w >= 0; i++)
    if (col->row_off[i + 1] - col->row_off[i] != w) w = -1;
  col->width = w;
  return LT_OK;
}

static LtStatus read_chunk(Dec *d, IoSrc *s, const IoPqChunk *ch, int64_t rows) {
  IoCtx *c = d->c;
  IoPqColumn *col = d->col;
  const IoPqLeaf *l = d->l;
  LtStatus st;
  int64_t nslots = ch->num_values;
  if (l->max_rep == 0 && nslots != rows)
    return io_fail(c, LT_EVALUE, "column '%s': %lld values for %lld rows", l->name,
                   (long long)nslots, (long long)rows);
  d->nslots = nslots;
  d->all_dict = 1;
  size_t ns = (size_t)nslots;
  uint64_t lvbytes;
  if (!io_mul_u64((uint64_t)nslots, 2, &lvbytes) || lvbytes > SIZE_MAX / 4)
    return io_fail(c, LT_EOVERFLOW, "column '%s': too many values", l->name);
  switch (l->type) {
  case IO_PQ_BOOLEAN: d->elem = 1; break;
  case IO_PQ_INT32:
  case IO_PQ_FLOAT: d->elem = 4; break;
  case IO_PQ_INT64:
  case IO_PQ_DOUBLE: d->elem = 8; break;
  case IO_PQ_FIXED: d->elem = (size_t)l->type_len; break;
  case IO_PQ_BYTE_ARRAY: d->elem = 0; break;
  default: return io_fail(c, LT_EVALUE, "column '%s': INT96 is not supported", l->name);
  }
  col->elem = d->elem;
  col->cap_vals = ns ? ns : 1;
  uint64_t dbytes;
  if (!io_mul_u64(col->cap_vals, d->elem ? d->elem : 1, &dbytes) || dbytes > SIZE_MAX / 2)
    return io_fail(c, LT_EOVERFLOW, "column '%s': too many values", l->name);
  if (l->max_def && !(d->def = io_alloc(c, col->cap_vals * 2))) return LT_ENOMEM;
  if (l->max_rep && !(d->rep = io_alloc(c, col->cap_vals * 2))) return LT_ENOMEM;
  if (d->elem) {
    if (!(col->data = io_calloc(c, col->cap_vals * d->elem))) return LT_ENOMEM;
  } else {
    if (!(col->off = io_calloc(c, (col->cap_vals + 1) * sizeof(int64_t)))) return LT_ENOMEM;
    if (!(col->codes = io_alloc(c, col->cap_vals * sizeof(int32_t)))) return LT_ENOMEM;
  }
  /* The chunk's bytes, read at once: its size was checked against the file by io_pq_open. */
  size_t csize = (size_t)ch->size;
  uint8_t *buf = io_alloc(c, csize ? csize : 1);
  if (!buf) return LT_ENOMEM;
  st = io_src_read(c, s, (uint64_t)ch->data_off, buf, csize);
  size_t pos = 0;
  while (!st && d->slot < nslots) {
    if (pos >= csize) {
      st = io_fail(c, LT_EVALUE, "column '%s': chunk ends after %lld of %lld values", l->name,
                   (long long)d->slot, (long long)nslots);
      break;
    }
    PageHdr h;
    memset(&h, 0, sizeof h);
    h.compressed = 1;
    Tr t = {c, buf + pos, buf + csize, 0, LT_OK};
    if ((st = tr_struct(&t, page_field, &h))) break;
    pos = (size_t)(t.p - buf);
    if (h.csize < 0 || h.usize < 0 || (uint64_t)h.csize > csize - pos) {
      st = io_fail(c, LT_EVALUE, "column '%s': page size past the chunk", l->name);
      break;
    }
    if ((uint64_t)h.usize > c->max_inflate) {
      st = io_fail(c, LT_EVALUE, "column '%s': page of %lld bytes over the %llu-byte limit",
                   l->name, (long long)h.usize, (unsigned long long)c->max_inflate);
      break;
    }
    const uint8_t *src = buf + pos;
    size_t sn = (size_t)h.csize;
    pos += sn;
    if (h.type == 1) continue; /* index page: not needed */
    if (h.type != 0 && h.type != 2 && h.type != 3) {
      st = io_fail(c, LT_EVALUE, "column '%s': unknown page type %lld", l->name, (long long)h.type);
      break;
    }
    /* v2 pages keep their levels uncompressed in front of the (maybe compressed) values. */
    size_t lvn = 0;
    if (h.type == 3) {
      if (!h.has_v2 || h.rep_len < 0 || h.def_len < 0 ||
          (uint64_t)h.rep_len + (uint64_t)h.def_len > sn ||
          (uint64_t)h.rep_len + (uint64_t)h.def_len > (uint64_t)h.usize) {
        st = io_fail(c, LT_EVALUE, "column '%s': bad v2 page header", l->name);
        break;
      }
      lvn = (size_t)(h.rep_len + h.def_len);
    } else if ((h.type == 0 && !h.has_dph) || (h.type == 2 && !h.has_dict)) {
      st = io_fail(c, LT_EVALUE, "column '%s': page header lacks its type's part", l->name);
      break;
    }
    size_t want = (size_t)h.usize - lvn;
    const uint8_t *vals = src + lvn;
    size_t vn = sn - lvn;
    uint8_t *page = NULL;
    if (ch->codec != 0 && (h.type != 3 || h.compressed)) {
      if (!(page = io_alloc(c, want ? want : 1))) {
        st = LT_ENOMEM;
        break;
      }
      if ((st = decompress(c, ch->codec, vals, vn, page, want))) {
        io_free(c, page, want ? want : 1);
        break;
      }
      vals = page;
      vn = want;
    }
    if (h.type == 2)
      st = read_dict(d, vals, vn, h.nvals);
    else
      st = data_page(d, &h, src, lvn, vals, vn);
    if (page) io_free(c, page, want ? want : 1);
  }
  io_free(c, buf, csize ? csize : 1);
  if (st) return st;
  /* Null flags from the definition levels (flat columns: every slot is a value). */
  if (l->max_def) {
    int64_t nn = 0;
    for (int64_t i = 0; i < nslots; i++) nn += d->def[i] < l->max_def;
    if (nn) {
      if (!(col->null = io_alloc(c, col->cap_vals))) return LT_ENOMEM;
      for (int64_t i = 0; i < nslots; i++) col->null[i] = d->def[i] < l->max_def;
    }
    col->nnull = nn;
  }
  col->rows = rows;
  col->nvals = nslots;
  col->width = -1;
  if (l->max_rep) {
    if ((st = assemble_list(d, rows))) return st;
  }
  if (col->codes && !(d->all_dict && d->has_dict)) {
    io_free(c, col->codes, col->cap_vals * sizeof(int32_t));
    col->codes = NULL;
  }
  if (col->codes) col->ndict = d->ndict;
  return LT_OK;
}

LtStatus io_pq_read_column(IoCtx *c, IoSrc *s, const IoPqFile *f, int rg, int leaf,
                           IoPqColumn *out) {
  memset(out, 0, sizeof *out);
  if (rg < 0 || rg >= f->nrg || leaf < 0 || leaf >= f->nleaves)
    return io_fail(c, LT_ERANGE, "row group or column out of range");
  Dec d;
  memset(&d, 0, sizeof d);
  d.c = c;
  d.l = &f->leaves[leaf];
  d.col = out;
  LtStatus st =
      read_chunk(&d, s, &f->chunks[(size_t)rg * (size_t)f->nleaves + (size_t)leaf], f->rg_rows[rg]);
  if (d.def) io_free(c, d.def, out->cap_vals * 2);
  if (d.rep) io_free(c, d.rep, out->cap_vals * 2);
  if (d.dict) io_free(c, d.dict, d.dict_size ? d.dict_size : 1);
  if (st) io_pq_column_free(c, out);
  return st;
}
