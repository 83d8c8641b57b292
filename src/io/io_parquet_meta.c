/* io_parquet_meta.c - the Parquet footer: FileMetaData, schema tree to leaves, row groups and
 * column chunk ranges (io_pq_open, io_pq_free). */
#include <string.h>
#include "io/io_parquet.h"
#include "io/io_thrift.h"

#define PQ_MAX_LEAVES (1 << 20)

typedef struct {
  int64_t type, type_len, rep, nchildren, converted;
  int has_type, logical; /* logical: the LogicalType union's field id, 0 when absent */
  const uint8_t *name;
  uint64_t name_n;
} SchemaEl;

static int logical_field(IoTr *t, void *ud, int id, int type) {
  int *logical = ud;
  if (!*logical) *logical = id;
  (void)t;
  (void)type;
  return 0;
}

static int schema_field(IoTr *t, void *ud, int id, int type) {
  SchemaEl *e = ud;
  if (id == 4 && type == IO_T_BINARY) {
    e->name = io_tr_binary(t, &e->name_n);
    return 1;
  }
  if (id == 10 && type == IO_T_STRUCT) {
    io_tr_struct(t, logical_field, &e->logical);
    return 1;
  }
  if (!io_tr_is_int(type)) return 0;
  int64_t v = io_tr_i32(t);
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

static int colmeta_field(IoTr *t, void *ud, int id, int type) {
  IoPqChunk *ch = ud;
  if (!io_tr_is_int(type)) return 0;
  int64_t v = io_tr_zigzag(t);
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

static int chunk_field(IoTr *t, void *ud, int id, int type) {
  ChunkTmp *ct = ud;
  if (id == 1 && type == IO_T_BINARY) {
    io_tr_bad(t, "column chunks in other files are not supported");
    return 0;
  }
  if (id == 3 && type == IO_T_STRUCT) {
    ct->has_meta = 1;
    io_tr_struct(t, colmeta_field, &ct->ch);
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

static int rg_field(IoTr *t, void *ud, int id, int type) {
  RgTmp *rg = ud;
  if (id == 3 && io_tr_is_int(type)) {
    rg->rows = io_tr_zigzag(t);
    return 1;
  }
  if (id == 1 && type == IO_T_LIST && !rg->cols) {
    int et;
    uint64_t n = io_tr_list(t, &et);
    if (t->st) return 1;
    if (et != IO_T_STRUCT || n > PQ_MAX_LEAVES) {
      io_tr_bad(t, "column chunk list");
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
      io_tr_struct(t, chunk_field, &rg->cols[i]);
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

static int meta_field(IoTr *t, void *ud, int id, int type) {
  MetaTmp *m = ud;
  int et;
  if (id == 3 && io_tr_is_int(type)) {
    m->num_rows = io_tr_zigzag(t);
    return 1;
  }
  if (id == 2 && type == IO_T_LIST && !m->schema) {
    uint64_t n = io_tr_list(t, &et);
    if (t->st) return 1;
    if (et != IO_T_STRUCT || n == 0 || n > PQ_MAX_LEAVES) {
      io_tr_bad(t, "schema list");
      return 1;
    }
    if (!(m->schema = io_calloc(m->c, n * sizeof *m->schema))) {
      t->st = LT_ENOMEM;
      return 1;
    }
    m->nschema = n;
    for (uint64_t i = 0; i < n && !t->st; i++) io_tr_struct(t, schema_field, &m->schema[i]);
    return 1;
  }
  if (id == 4 && type == IO_T_LIST && !m->rgs) {
    uint64_t n = io_tr_list(t, &et);
    if (t->st) return 1;
    if (et != IO_T_STRUCT || n > INT32_MAX) {
      io_tr_bad(t, "row group list");
      return 1;
    }
    if (!(m->rgs = io_calloc(m->c, (n ? n : 1) * sizeof *m->rgs))) {
      t->st = LT_ENOMEM;
      return 1;
    }
    m->nrg = n;
    for (uint64_t i = 0; i < n && !t->st; i++) {
      m->rgs[i].c = m->c;
      io_tr_struct(t, rg_field, &m->rgs[i]);
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
  if (depth > IO_TR_MAX_DEPTH) return io_fail(w->c, LT_EVALUE, "schema nested too deep");
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
  size_t cap = (size_t)meta_len + 2 * IO_TR_MAX_DEPTH + 8;
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
  IoTr t = {c, buf, buf + mlen, 0, LT_OK};
  st = io_tr_struct(&t, meta_field, &m);
  if (!st && !m.schema) st = io_fail(c, LT_EVALUE, "footer has no schema");
  if (!st) st = build(c, &m, mlen, size - 8 - mlen, f);
  meta_free(c, &m);
  io_free(c, buf, (size_t)mlen);
  if (st) io_pq_free(c, f);
  return st;
}
