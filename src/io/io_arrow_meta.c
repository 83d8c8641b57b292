/* io_arrow_meta.c - Arrow IPC metadata: messages, the schema tree to columns, the file footer or
 * the stream's message sequence, dictionary batches (io_ar_open, io_ar_free). */
#include <stdio.h>
#include <string.h>
#include "io/io_arrow_fb.h"

#define AR_MAX_DEPTH 64
#define AR_MAX_NODES 65536

static const uint8_t MAGIC[6] = {'A', 'R', 'R', 'O', 'W', '1'};

/* ---- messages ------------------------------------------------------------------------------ */

void io_ar_msg_free(IoCtx *c, ArMsg *m) {
  io_free(c, m->buf, m->cap);
  memset(m, 0, sizeof *m);
}

LtStatus io_ar_read_msg(IoCtx *c, IoSrc *s, uint64_t off, int allow_eof, ArMsg *m) {
  memset(m, 0, sizeof *m);
  uint64_t size = io_src_size(s);
  if (allow_eof && off == size) return LT_OK; /* AR_MSG_END */
  if (off > size || size - off < 8)
    return io_fail(c, LT_EVALUE, "message at byte %llu past the end of the file",
                   (unsigned long long)off);
  uint8_t h[8];
  LtStatus st = io_src_read(c, s, off, h, 8);
  if (st) return st;
  /* Since format 0.15 every message starts with 0xFFFFFFFF; older streams are not read. */
  if (io_le32(h) != 0xFFFFFFFFu)
    return io_fail(c, LT_EVALUE, "no message at byte %llu (continuation marker missing)",
                   (unsigned long long)off);
  int32_t len = (int32_t)io_le32(h + 4);
  m->end = off + 8;
  if (len == 0) return LT_OK; /* the end-of-stream marker */
  if (len < 0 || (uint64_t)len > size - off - 8)
    return io_fail(c, LT_EVALUE, "metadata length %d at byte %llu past the end of the file", len,
                   (unsigned long long)off);
  if (!(m->buf = io_alloc(c, (size_t)len))) return LT_ENOMEM;
  m->cap = (size_t)len;
  if ((st = io_src_read(c, s, off + 8, m->buf, (size_t)len))) return st;
  m->fb = (ArBuf){m->buf, (size_t)len, 0};
  ArTab root;
  ar_root(&m->fb, &root);
  int64_t version = ar_int(&root, 0, 2, 0);
  int type = (int)(ar_int(&root, 1, 1, 0) & 0xff);
  int64_t body = ar_int(&root, 3, 8, 0);
  int has_hdr = ar_sub(&root, 2, &m->hdr);
  if (m->fb.bad)
    return io_fail(c, LT_EVALUE, "corrupt message metadata (an offset points outside it)");
  if (version < 3)
    return io_fail(c, LT_EVALUE, "Arrow IPC metadata version V%d is too old (V4 or later)",
                   (int)version + 1);
  if (type < AR_MSG_SCHEMA || type > AR_MSG_BATCH)
    return io_fail(c, LT_EVALUE, "message type %d is not supported (Tensor, SparseTensor)", type);
  if (!has_hdr) return io_fail(c, LT_EVALUE, "message without its header");
  m->body_off = off + 8 + (uint64_t)len;
  if (body < 0 || (uint64_t)body > size - m->body_off)
    return io_fail(c, LT_EVALUE, "body length %lld past the end of the file", (long long)body);
  m->type = type;
  m->body_len = (uint64_t)body;
  m->end = m->body_off + m->body_len;
  return LT_OK;
}

/* ---- the schema ---------------------------------------------------------------------------- */

/* A new node at the end of f->nodes (index in *k). */
static LtStatus new_node(IoCtx *c, IoArFile *f, int *k) {
  if (f->nnodes >= AR_MAX_NODES)
    return io_fail(c, LT_EVALUE, "the schema has more than %d fields", AR_MAX_NODES);
  if ((size_t)f->nnodes == f->cap_nodes) {
    size_t cap = f->cap_nodes ? 2 * f->cap_nodes : 16;
    IoArNode *p = io_calloc(c, cap * sizeof *p);
    if (!p) return LT_ENOMEM;
    if (f->nnodes) memcpy(p, f->nodes, (size_t)f->nnodes * sizeof *p);
    io_free(c, f->nodes, f->cap_nodes * sizeof *p);
    f->nodes = p;
    f->cap_nodes = cap;
  }
  *k = f->nnodes++;
  IoArNode *nd = &f->nodes[*k];
  memset(nd, 0, sizeof *nd);
  nd->dict = -1;
  nd->dtype = -1;
  return LT_OK;
}

static const IoStype INT_STYPE[2][4] = {{IO_U1, IO_U2, IO_U4, IO_NSTYPES},
                                        {IO_I1, IO_I2, IO_I4, IO_I8}};
static const char *INT_NAME[2][4] = {{"uint8", "uint16", "uint32", "uint64"},
                                     {"int8", "int16", "int32", "int64"}};

static void set_num(IoArNode *nd, IoStype st, const char *name) {
  nd->kind = IO_AR_NUM;
  nd->stype = st;
  nd->dtype = io_stype_dtype(st);
  nd->width = (int)io_stype_size(st);
  nd->nbuf = 2;
  nd->type = name;
}

static void set_other(IoArNode *nd, int nbuf, const char *name, const char *why) {
  nd->kind = IO_AR_OTHER;
  nd->nbuf = nbuf;
  nd->type = name;
  nd->refuse = why;
}

/* The Int type table t into nd. */
static LtStatus int_type(IoCtx *c, const ArTab *t, IoArNode *nd) {
  int64_t bw = ar_int(t, 0, 4, 0);
  int sgn = ar_int(t, 1, 1, 0) != 0;
  int i = bw == 8 ? 0 : bw == 16 ? 1 : bw == 32 ? 2 : bw == 64 ? 3 : -1;
  if (i < 0) return io_fail(c, LT_EVALUE, "integer bit width %lld", (long long)bw);
  if (!sgn && i == 3)
    set_other(nd, 2, "uint64", "uint64 is not supported (lunette has no uint64)");
  else
    set_num(nd, INT_STYPE[sgn][i], INT_NAME[sgn][i]);
  return LT_OK;
}

static const IoStype FLOAT_STYPE[3] = {IO_F2, IO_F4, IO_F8};
static const char *FLOAT_NAME[3] = {"float16", "float32", "float64"};

/* Text, bytes and fixed-width bytes (Binary 4, Utf8 5, Decimal 7, FixedSizeBinary 15,
 * LargeBinary 19, LargeUtf8 20) into nd. */
static LtStatus bytes_type(IoCtx *c, int type, const ArTab *t, IoArNode *nd) {
  if (type == 7 || type == 15) {
    int64_t v = type == 7 ? ar_int(t, 2, 4, 128) / 8 : ar_int(t, 0, 4, 0);
    if (v < 1 || v > (1 << 20))
      return io_fail(c, LT_EVALUE, "fixed width %lld bytes", (long long)v);
    nd->kind = IO_AR_FIXED_TEXT;
    nd->width = (int)v;
    nd->nbuf = 2;
    nd->type = type == 7 ? "decimal" : "fixed_size_binary";
    return LT_OK;
  }
  nd->kind = IO_AR_TEXT;
  nd->large = type >= 19;
  nd->nbuf = 3;
  if (type == 4) nd->type = "binary";
  if (type == 5) nd->type = "utf8";
  if (type == 19) nd->type = "large_binary";
  if (type == 20) nd->type = "large_utf8";
  return LT_OK;
}

/* List 12, Struct_ 13, FixedSizeList 16, LargeList 21 into nd. */
static LtStatus nested_type(IoCtx *c, int type, const ArTab *t, IoArNode *nd) {
  nd->kind = type == 13 ? IO_AR_STRUCT : type == 16 ? IO_AR_FIXED_LIST : IO_AR_LIST;
  nd->large = type == 21;
  nd->nbuf = type == 12 || type == 21 ? 2 : 1; /* lists: validity, offsets */
  nd->type = type == 12   ? "list"
             : type == 13 ? "struct"
             : type == 16 ? "fixed_size_list"
                          : "large_list";
  if (type != 16) return LT_OK;
  nd->list_size = ar_int(t, 0, 4, 0);
  /* Size 0 is refused: rows would then cost memory without any buffer backing them. */
  if (nd->list_size < 1)
    return io_fail(c, LT_EVALUE, "fixed size list of %lld values", (long long)nd->list_size);
  return LT_OK;
}

/* Field type `type` (the Type union's tag) with table t into nd: kind, widths, buffers. */
static LtStatus field_type(IoCtx *c, int type, const ArTab *t, IoArNode *nd) {
  int64_t v;
  switch (type) {
  case 1: set_other(nd, 0, "null", "type Null is not supported"); return LT_OK;
  case 2: return int_type(c, t, nd);
  case 3:
    v = ar_int(t, 0, 2, 0);
    if (v < 0 || v > 2) return io_fail(c, LT_EVALUE, "floating point precision %lld", (long long)v);
    set_num(nd, FLOAT_STYPE[v], FLOAT_NAME[v]);
    return LT_OK;
  case 4:
  case 5:
  case 7:
  case 15:
  case 19:
  case 20: return bytes_type(c, type, t, nd);
  case 6:
    nd->kind = IO_AR_BOOL;
    nd->dtype = LT_BOOL;
    nd->nbuf = 2;
    nd->type = "bool";
    return LT_OK;
  case 8: /* Date: DAY (int32) or MILLISECOND (int64, the default) */
    v = ar_int(t, 0, 2, 1);
    set_num(nd, v == 0 ? IO_I4 : IO_I8, v == 0 ? "date32" : "date64");
    return LT_OK;
  case 9: /* Time: 32 or 64 bits */
    v = ar_int(t, 1, 4, 32);
    set_num(nd, v == 64 ? IO_I8 : IO_I4, v == 64 ? "time64" : "time32");
    return LT_OK;
  case 10: set_num(nd, IO_I8, "timestamp"); return LT_OK;
  case 18: set_num(nd, IO_I8, "duration"); return LT_OK;
  case 11: set_other(nd, 2, "interval", "type Interval is not supported"); return LT_OK;
  case 12:
  case 13:
  case 16:
  case 21: return nested_type(c, type, t, nd);
  case 14:
    /* Union: type ids, plus offsets when dense; no validity bitmap since format 1.0. */
    set_other(nd, ar_int(t, 0, 2, 0) == 1 ? 2 : 1, "union", "type Union is not supported");
    return LT_OK;
  case 17: set_other(nd, 2, "map", "type Map is not supported"); return LT_OK;
  case 22: set_other(nd, 0, "run_end_encoded", "type RunEndEncoded is not supported"); return LT_OK;
  case 23:
  case 24:
  case 25:
  case 26:
    /* Views take a per-batch number of data buffers, so no later column could be found. */
    return io_fail(c, LT_EVALUE, "view types (Utf8View, BinaryView, ListView) are not supported");
  default: return io_fail(c, LT_EVALUE, "unknown type %d", type);
  }
}

/* The dictionary of id for node k: an existing entry (same value type) or a new one. */
static LtStatus use_dict(IoCtx *c, IoArFile *f, int64_t id, int k) {
  for (int i = 0; i < f->ndicts; i++) {
    if (f->dicts[i].id != id) continue;
    const IoArNode *o = &f->nodes[f->dicts[i].node], *n = &f->nodes[k];
    if (o->kind != n->kind || o->stype != n->stype || o->width != n->width || o->large != n->large)
      return io_fail(c, LT_EVALUE, "dictionary %lld serves fields of different types",
                     (long long)id);
    f->nodes[k].dict = i;
    return LT_OK;
  }
  IoArDict *p = io_calloc(c, (size_t)(f->ndicts + 1) * sizeof *p);
  if (!p) return LT_ENOMEM;
  if (f->ndicts) memcpy(p, f->dicts, (size_t)f->ndicts * sizeof *p);
  io_free(c, f->dicts, (size_t)f->ndicts * sizeof *p);
  f->dicts = p;
  p[f->ndicts].id = id;
  p[f->ndicts].node = k;
  f->nodes[k].dict = f->ndicts++;
  return LT_OK;
}

/* A Field's dictionary encoding de into node k: its indices take the record batch's buffers. */
static LtStatus field_dict(IoCtx *c, IoArFile *f, const ArTab *de, int k) {
  IoArNode *nd = &f->nodes[k];
  ArTab it;
  int64_t bw = 32, sgn = 1;
  if (ar_sub(de, 1, &it)) {
    bw = ar_int(&it, 0, 4, 0);
    sgn = ar_int(&it, 1, 1, 0) != 0;
  }
  if (bw != 8 && bw != 16 && bw != 32 && bw != 64)
    return io_fail(c, LT_EVALUE, "dictionary index bit width %lld", (long long)bw);
  nd->idx_width = (int)(bw / 8);
  nd->idx_signed = (int)sgn;
  nd->nbuf = 2; /* validity, indices: the values come in dictionary batches */
  if (nd->kind > IO_AR_FIXED_TEXT && nd->kind != IO_AR_OTHER)
    nd->refuse = "dictionary-encoded nested values are not supported";
  if (nd->kind == IO_AR_OTHER) return LT_OK;
  return use_dict(c, f, ar_int(de, 0, 8, 0), k);
}

/* Copies a flatbuffer string into a new NUL-terminated allocation of strlen + 1 bytes (cut at an
 * embedded NUL, so io_free's size is always strlen + 1). */
static char *dup_str(IoCtx *c, const char *s, size_t n) {
  const char *z = n ? memchr(s, 0, n) : NULL;
  if (z) n = (size_t)(z - s);
  char *p = io_alloc(c, n + 1);
  if (!p) return NULL;
  if (n) memcpy(p, s, n);
  p[n] = 0;
  return p;
}

/* Field table fld (and its children, depth first) as nodes, laid out in record batch order. */
static LtStatus parse_field(IoCtx *c, IoArFile *f, const ArTab *fld, int parent, int depth) {
  if (depth > AR_MAX_DEPTH)
    return io_fail(c, LT_EVALUE, "fields nested more than %d deep", AR_MAX_DEPTH);
  int k = 0;
  LtStatus st = new_node(c, f, &k);
  if (st) return st;
  uint32_t nlen;
  const char *name = ar_str(fld, 0, &nlen);
  if (!(f->nodes[k].name = dup_str(c, name ? name : "", name ? nlen : 0))) return LT_ENOMEM;
  f->nodes[k].parent = parent;
  f->nodes[k].nullable = ar_int(fld, 1, 1, 0) != 0;
  ArTab t, de;
  ar_sub(fld, 3, &t);
  int type = (int)(ar_int(fld, 2, 1, 0) & 0xff);
  if (fld->b->bad) return io_fail(c, LT_EVALUE, "corrupt schema (an offset points outside it)");
  if ((st = field_type(c, type, &t, &f->nodes[k]))) return st;
  int is_dict = ar_sub(fld, 4, &de);
  if (is_dict && (st = field_dict(c, f, &de, k))) return st;
  f->nodes[k].fnode = f->nfnodes++;
  f->nodes[k].fbuf = f->nbufs;
  f->nbufs += f->nodes[k].nbuf;
  int kind = f->nodes[k].kind;
  int nested = kind >= IO_AR_LIST || type == 17 || type == 14 || type == 22;
  if (nested && !is_dict) {
    size_t start;
    uint32_t n;
    ar_vec(fld, 5, 4, &start, &n);
    int want = kind == IO_AR_LIST || kind == IO_AR_FIXED_LIST || type == 17 ? 1
               : type == 22                                                 ? 2
                                                                            : -1;
    if (want >= 0 && (int64_t)n != want)
      return io_fail(c, LT_EVALUE, "field '%s' (%s) has %u children, not %d", f->nodes[k].name,
                     f->nodes[k].type, n, want);
    for (uint32_t i = 0; i < n; i++) {
      ArTab ch;
      ar_vec_tab(fld->b, start, i, &ch);
      if (fld->b->bad) return io_fail(c, LT_EVALUE, "corrupt schema (an offset points outside it)");
      if ((st = parse_field(c, f, &ch, k, depth + 1))) return st;
    }
  }
  f->nodes[k].end = f->nnodes;
  return LT_OK;
}

/* One leaf for node k named prefix + its name (struct fields recurse). */
static LtStatus add_leaves(IoCtx *c, IoArFile *f, int k, const char *prefix) {
  const IoArNode *nd = &f->nodes[k];
  size_t pl = strlen(prefix), nl = strlen(nd->name);
  int is_struct = nd->kind == IO_AR_STRUCT && nd->dict < 0;
  /* A leaf's name is freed as strlen + 1 bytes; a struct's prefix has room for the dot. */
  size_t size = pl + nl + (is_struct ? 2 : 1);
  char *name = io_alloc(c, size);
  if (!name) return LT_ENOMEM;
  memcpy(name, prefix, pl);
  memcpy(name + pl, nd->name, nl + 1);
  if (is_struct) {
    memcpy(name + pl + nl, ".", 2);
    LtStatus st = LT_OK;
    for (int ch = k + 1; ch < nd->end && !st; ch = f->nodes[ch].end)
      st = add_leaves(c, f, ch, name);
    io_free(c, name, size);
    return st;
  }
  IoArLeaf *l = &f->leaves[f->nleaves++];
  l->name = name;
  l->node = k;
  l->list = -1;
  l->nullable = nd->nullable;
  l->refuse = nd->refuse;
  if ((nd->kind == IO_AR_LIST || nd->kind == IO_AR_FIXED_LIST) && nd->dict < 0) {
    const IoArNode *v = &f->nodes[k + 1];
    l->node = k + 1;
    l->list = k;
    if (v->refuse)
      l->refuse = v->refuse;
    else if (v->kind >= IO_AR_LIST)
      l->refuse = "lists of lists or of structs are not supported";
    else if (v->dict >= 0)
      l->refuse = "lists of dictionary-encoded values are not supported";
  }
  return LT_OK;
}

/* The Schema table t into f: nodes, then one leaf per column. */
static LtStatus parse_schema(IoCtx *c, IoArFile *f, const ArTab *t) {
  if (ar_int(t, 0, 2, 0) != 0)
    return io_fail(c, LT_EVALUE, "big-endian Arrow data is not supported");
  size_t start;
  uint32_t n;
  ar_vec(t, 1, 4, &start, &n);
  if (t->b->bad) return io_fail(c, LT_EVALUE, "corrupt schema (an offset points outside it)");
  for (uint32_t i = 0; i < n; i++) {
    ArTab fld;
    ar_vec_tab(t->b, start, i, &fld);
    if (t->b->bad) return io_fail(c, LT_EVALUE, "corrupt schema (an offset points outside it)");
    LtStatus st = parse_field(c, f, &fld, -1, 0);
    if (st) return st;
  }
  if (!(f->leaves = io_calloc(c, (size_t)(f->nnodes ? f->nnodes : 1) * sizeof *f->leaves)))
    return LT_ENOMEM;
  for (int k = 0; k < f->nnodes; k = f->nodes[k].end) {
    LtStatus st = add_leaves(c, f, k, "");
    if (st) return st;
  }
  return LT_OK;
}

/* ---- dictionaries and batches ------------------------------------------------------------- */

/* Decodes the DictionaryBatch of message m into its dictionary (a delta is appended). */
static LtStatus apply_dict(IoCtx *c, IoSrc *s, IoArFile *f, const ArMsg *m) {
  int64_t id = ar_int(&m->hdr, 0, 8, 0);
  int delta = ar_int(&m->hdr, 2, 1, 0) != 0;
  ArTab data;
  int has = ar_sub(&m->hdr, 1, &data);
  if (m->hdr.b->bad || !has) return io_fail(c, LT_EVALUE, "corrupt dictionary batch");
  IoArDict *d = NULL;
  for (int i = 0; i < f->ndicts && !d; i++)
    if (f->dicts[i].id == id) d = &f->dicts[i];
  if (!d) return io_fail(c, LT_EVALUE, "dictionary batch for unknown id %lld", (long long)id);
  if (d->loaded && !delta)
    return io_fail(c, LT_EVALUE,
                   "dictionary %lld is replaced (only delta dictionaries are "
                   "supported)",
                   (long long)id);
  ArRB rb;
  LtStatus st = io_ar_rb(c, s, m, &data, &rb);
  if (st) return st;
  IoArColumn v;
  if ((st = io_ar_decode_flat(c, &rb, f, d->node, 0, 0, &v))) {
    char why[IO_MSG];
    snprintf(why, sizeof why, "%s", c->msg);
    return io_fail(c, st, "dictionary %lld: %s", (long long)id, why);
  }
  if (!d->loaded) {
    d->vals = v;
    d->loaded = 1;
    return LT_OK;
  }
  return io_ar_append(c, &d->vals, &v);
}

/* Records the record batch of message m (at off). */
static LtStatus add_batch(IoCtx *c, IoSrc *s, IoArFile *f, const ArMsg *m, uint64_t off) {
  ArRB rb;
  LtStatus st = io_ar_rb(c, s, m, &m->hdr, &rb);
  if (st) return st;
  if ((size_t)f->nbatches == f->cap_batches) {
    size_t cap = f->cap_batches ? 2 * f->cap_batches : 8;
    IoArBatch *p = io_alloc(c, cap * sizeof *p);
    if (!p) return LT_ENOMEM;
    if (f->nbatches) memcpy(p, f->batches, (size_t)f->nbatches * sizeof *p);
    io_free(c, f->batches, f->cap_batches * sizeof *p);
    f->batches = p;
    f->cap_batches = cap;
  }
  if (rb.length > INT64_MAX - f->num_rows) return io_fail(c, LT_EVALUE, "row count overflows");
  f->batches[f->nbatches++] = (IoArBatch){off, rb.length};
  f->num_rows += rb.length;
  return LT_OK;
}

/* The stream format: a Schema message, then dictionary and record batches up to the end marker
 * (or the end of the file). */
static LtStatus open_stream(IoCtx *c, IoSrc *s, IoArFile *f) {
  ArMsg m;
  LtStatus st = io_ar_read_msg(c, s, 0, 0, &m);
  if (!st && m.type != AR_MSG_SCHEMA)
    st = io_fail(c, LT_EVALUE, "the stream does not start with a schema");
  if (!st) st = parse_schema(c, f, &m.hdr);
  uint64_t off = m.end;
  io_ar_msg_free(c, &m);
  f->stream = 1;
  while (!st) {
    if ((st = io_ar_read_msg(c, s, off, 1, &m))) break;
    if (m.type == AR_MSG_END) break;
    if (m.type == AR_MSG_SCHEMA)
      st = io_fail(c, LT_EVALUE, "a second schema at byte %llu", (unsigned long long)off);
    else if (m.type == AR_MSG_DICT)
      st = apply_dict(c, s, f, &m);
    else
      st = add_batch(c, s, f, &m, off);
    uint64_t next = m.end;
    io_ar_msg_free(c, &m);
    off = next;
  }
  io_ar_msg_free(c, &m);
  return st;
}

/* The message a footer Block (24 bytes at p: offset, metadata length, body length) points at. */
static LtStatus block_msg(IoCtx *c, IoSrc *s, const uint8_t *p, int want, ArMsg *m) {
  memset(m, 0, sizeof *m); /* freed by the caller whatever happens */
  int64_t off = (int64_t)io_le64(p);
  if (off < 8 || (uint64_t)off >= io_src_size(s))
    return io_fail(c, LT_EVALUE, "footer block offset %lld outside the file", (long long)off);
  LtStatus st = io_ar_read_msg(c, s, (uint64_t)off, 0, m);
  if (!st && m->type != want)
    st = io_fail(c, LT_EVALUE, "footer block at byte %lld holds no %s", (long long)off,
                 want == AR_MSG_DICT ? "dictionary batch" : "record batch");
  return st;
}

/* The file format: magic, footer (schema, dictionary blocks, record batch blocks), magic. */
static LtStatus open_file(IoCtx *c, IoSrc *s, IoArFile *f) {
  uint64_t size = io_src_size(s);
  uint8_t tail[10];
  if (size < 8 + 10) return io_fail(c, LT_EVALUE, "not an Arrow file (too short for a footer)");
  LtStatus st = io_src_read(c, s, size - 10, tail, 10);
  if (st) return st;
  if (memcmp(tail + 4, MAGIC, 6))
    return io_fail(c, LT_EVALUE, "not an Arrow file (no ARROW1 at the end: truncated?)");
  int32_t flen = (int32_t)io_le32(tail);
  if (flen <= 0 || (uint64_t)flen > size - 18)
    return io_fail(c, LT_EVALUE, "footer length %d past the file", flen);
  ArMsg m = {0};
  if (!(m.buf = io_alloc(c, (size_t)flen))) return LT_ENOMEM;
  m.cap = (size_t)flen;
  if ((st = io_src_read(c, s, size - 10 - (uint64_t)flen, m.buf, m.cap))) goto done;
  ArBuf b = {m.buf, m.cap, 0};
  ArTab root, schema;
  ar_root(&b, &root);
  int has_schema = ar_sub(&root, 1, &schema);
  size_t dstart, bstart;
  uint32_t nd, nb;
  ar_vec(&root, 2, 24, &dstart, &nd);
  ar_vec(&root, 3, 24, &bstart, &nb);
  if (b.bad || !has_schema) {
    st = io_fail(c, LT_EVALUE, "corrupt footer (an offset points outside it)");
    goto done;
  }
  if ((st = parse_schema(c, f, &schema))) goto done;
  for (uint32_t i = 0; i < nd && !st; i++) {
    ArMsg dm;
    if (!(st = block_msg(c, s, b.p + dstart + 24 * (size_t)i, AR_MSG_DICT, &dm)))
      st = apply_dict(c, s, f, &dm);
    io_ar_msg_free(c, &dm);
  }
  for (uint32_t i = 0; i < nb && !st; i++) {
    const uint8_t *p = b.p + bstart + 24 * (size_t)i;
    ArMsg bm;
    if (!(st = block_msg(c, s, p, AR_MSG_BATCH, &bm))) st = add_batch(c, s, f, &bm, io_le64(p));
    io_ar_msg_free(c, &bm);
  }
done:
  io_ar_msg_free(c, &m);
  return st;
}

LtStatus io_ar_open(IoCtx *c, IoSrc *s, IoArFile *f) {
  memset(f, 0, sizeof *f);
  uint8_t head[8];
  uint64_t size = io_src_size(s);
  if (size < 8) return io_fail(c, LT_EVALUE, "not an Arrow file or stream (too short)");
  LtStatus st = io_src_read(c, s, 0, head, 8);
  if (st) return st;
  if (!memcmp(head, MAGIC, 6))
    st = open_file(c, s, f);
  else if (io_le32(head) == 0xFFFFFFFFu)
    st = open_stream(c, s, f);
  else if (!memcmp(head, "FEA1", 4))
    st = io_fail(c, LT_EVALUE,
                 "a Feather v1 file (not Arrow IPC); pyarrow's "
                 "feather.write_feather writes v2 by default");
  else
    st = io_fail(c, LT_EVALUE, "not an Arrow file or stream (no ARROW1 magic, no message)");
  if (st) io_ar_free(c, f);
  return st;
}

void io_ar_free(IoCtx *c, IoArFile *f) {
  for (int i = 0; i < f->nleaves; i++) io_free(c, f->leaves[i].name, strlen(f->leaves[i].name) + 1);
  io_free(c, f->leaves, (size_t)(f->nnodes ? f->nnodes : 1) * sizeof *f->leaves);
  for (int i = 0; i < f->nnodes; i++)
    if (f->nodes[i].name) io_free(c, f->nodes[i].name, strlen(f->nodes[i].name) + 1);
  io_free(c, f->nodes, f->cap_nodes * sizeof *f->nodes);
  for (int i = 0; i < f->ndicts; i++) io_ar_column_free(c, &f->dicts[i].vals);
  io_free(c, f->dicts, (size_t)f->ndicts * sizeof *f->dicts);
  io_free(c, f->batches, f->cap_batches * sizeof *f->batches);
  memset(f, 0, sizeof *f);
}
