/* lio_parquet.c - Lua binding for Parquet: parquet_meta and parquet_read (the reader),
 * parquet_write (the writer). */
#include <math.h>
#include <omp.h>
#include <string.h>
#include "tensor/lbase.h"
#include "io/lio.h"
#include "io/io_parquet.h"
#include "io/io_parquet_write.h"
#include "io/lio_cols.h"

#define PQ_MT "lunette.ParquetFileHandle"

static void free_file(IoCtx *c, void *p) {
  io_pq_free(c, p);
  io_free(c, p, sizeof(IoPqFile));
}

static void free_column(IoCtx *c, void *p) {
  io_pq_column_free(c, p);
  io_free(c, p, sizeof(IoPqColumn));
}

static void free_scratch(IoCtx *c, void *p) {
  io_pq_scratch_free(c, p);
  io_free(c, p, sizeof(IoPqScratch));
}

/* An open Parquet file: the source, the footer parsed once, and the chunk and page buffers every
 * read reuses, all owned by the handle h (the userdata's user value keeps it alive); h is NULL
 * once closed. The buffers grow through h's context; each read's own limits (its option table)
 * apply to what it decodes. */
typedef struct {
  LioHandle *h;
  IoSrc *src;
  IoPqFile *f;
  IoPqScratch *sc;
} PqFile;

static PqFile *check_pq(lua_State *L, const char *fname) {
  PqFile *p = luaL_checkudata(L, 1, PQ_MT);
  if (!p->h) luaL_error(L, "%s: the Parquet file is closed", fname);
  return p;
}

static const char *TYPE_NAME[] = {"boolean", "int32",  "int64",      "int96",
                                  "float",   "double", "byte_array", "fixed_len_byte_array"};

/* Pushes the footer's description: {num_rows =, row_groups = {rows...}, columns = {{name =,
 * type =, nullable =, list =}, ...}}. */
static void push_meta(lua_State *L, const IoPqFile *f) {
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, f->num_rows);
  lua_setfield(L, -2, "num_rows");
  lua_createtable(L, f->nrg, 0);
  for (int g = 0; g < f->nrg; g++) {
    lua_pushinteger(L, f->rg_rows[g]);
    lua_rawseti(L, -2, g + 1);
  }
  lua_setfield(L, -2, "row_groups");
  lua_createtable(L, f->nleaves, 0);
  for (int j = 0; j < f->nleaves; j++) {
    const IoPqLeaf *l = &f->leaves[j];
    lua_createtable(L, 0, 4);
    lua_pushstring(L, l->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, l->float16 ? "float16" : TYPE_NAME[l->type]);
    lua_setfield(L, -2, "type");
    lua_pushboolean(L, l->max_def > l->max_rep);
    lua_setfield(L, -2, "nullable");
    lua_pushboolean(L, l->max_rep > 0);
    lua_setfield(L, -2, "list");
    lua_rawseti(L, -2, j + 1);
  }
  lua_setfield(L, -2, "columns");
}

/* parquet_open(path [, opts]) -> handle, meta | nil, message: the footer is read and checked once
 * (opts: the limits it is parsed under, and the default for reads). */
static int l_parquet_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_settop(L, 2);
  /* The userdata exists, zeroed (closed), before anything is opened: a failure below leaves a
   * closed object for the collector, never a half-open one. */
  PqFile *p = lua_newuserdatauv(L, sizeof *p, 2); /* 3 */
  memset(p, 0, sizeof *p);
  luaL_setmetatable(L, PQ_MT);
  LioHandle *h = lio_handle(L, 2, "open_parquet"); /* 4 */
  LtStatus st = lio_open_file(h, path, &p->src);
  if (!st && !(p->f = io_calloc(&h->ctx, sizeof *p->f))) st = LT_ENOMEM;
  if (!st) {
    if ((st = io_pq_open(&h->ctx, p->src, p->f)))
      io_free(&h->ctx, p->f, sizeof *p->f);
    else
      lio_own(h, free_file, p->f);
  }
  if (!st && !(p->sc = io_calloc(&h->ctx, sizeof *p->sc))) st = LT_ENOMEM;
  if (st) return lio_fail(L, h, path, st);
  lio_own(h, free_scratch, p->sc);
  lua_setiuservalue(L, 3, 1); /* the file keeps its handle alive */
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, 3, 2);
  p->h = h;
  p->sc->c = &h->ctx;
  push_meta(L, p->f);
  return 2;
}

static int pq_close(lua_State *L) {
  PqFile *p = luaL_checkudata(L, 1, PQ_MT);
  /* Closing releases the descriptor and buffers now; the handle goes with the user value. */
  if (p->h) lio_close(p->h);
  memset(p, 0, sizeof *p);
  return 0;
}

/* The tensor dtype of a numeric leaf, or -1 for text (byte arrays, other fixed widths). */
static int leaf_dtype(const IoPqLeaf *l) {
  switch (l->type) {
  case IO_PQ_BOOLEAN: return LT_BOOL;
  case IO_PQ_INT32: return l->is_unsigned ? LT_I64 : LT_I32;
  case IO_PQ_INT64: return LT_I64;
  case IO_PQ_FLOAT: return LT_F32;
  case IO_PQ_DOUBLE: return LT_F64;
  case IO_PQ_FIXED: return l->float16 ? LT_F16 : -1;
  default: return -1;
  }
}

/* Slot i of a numeric column as a double (for integer columns that hold nulls). */
static double slot_f64(const IoPqLeaf *l, const IoPqColumn *col, int64_t i) {
  const uint8_t *p = col->data + (size_t)i * col->elem;
  int32_t i32;
  int64_t i64;
  switch (l->type) {
  case IO_PQ_BOOLEAN: return p[0];
  case IO_PQ_INT32: memcpy(&i32, p, 4); return l->is_unsigned ? (double)(uint32_t)i32 : (double)i32;
  default: memcpy(&i64, p, 8); return (double)i64;
  }
}

/* Pushes slots [from, from + n) as a tensor of shape (nd, shape). Floats keep their type with
 * NaN for nulls; integers and booleans that hold a null in these slots become float64 with NaN
 * (as pandas does), so one column's dtype only changes when it really has nulls. */
static void push_numbers(lua_State *L, const IoPqLeaf *l, const IoPqColumn *col, int64_t from,
                         int64_t n, int nd, const int64_t *shape) {
  LtDtype dt = (LtDtype)leaf_dtype(l);
  int has_null = 0;
  for (int64_t i = from; col->null && i < from + n && !has_null; i++) has_null = col->null[i];
  int is_float = dt == LT_F32 || dt == LT_F64 || dt == LT_F16;
  if (has_null && !is_float) {
    Tensor *t = ltL_push_new(L, LT_F64, nd, shape);
    double *o = t->data;
    for (int64_t i = 0; i < n; i++) o[i] = col->null[from + i] ? NAN : slot_f64(l, col, from + i);
    return;
  }
  Tensor *t = ltL_push_new(L, dt, nd, shape);
  if (l->type == IO_PQ_INT32 && l->is_unsigned) {
    /* UINT_32: 4 bytes stored, an int64 held (lunette has no uint32) */
    int64_t *o = t->data;
    for (int64_t i = 0; i < n; i++) {
      uint32_t u;
      memcpy(&u, col->data + (size_t)(from + i) * 4, 4);
      o[i] = u;
    }
  } else if (n) {
    memcpy(t->data, col->data + (size_t)from * col->elem, (size_t)n * col->elem);
  }
  if (!has_null) return;
  for (int64_t i = 0; i < n; i++) {
    if (!col->null[from + i]) continue;
    if (dt == LT_F32)
      ((float *)t->data)[i] = NAN;
    else if (dt == LT_F64)
      ((double *)t->data)[i] = NAN;
    else
      ((uint16_t *)t->data)[i] = 0x7e00; /* a half-precision NaN */
  }
}

/* Pushes slots [from, from + n) as a Lua array of strings, io.null for a null. */
static void push_strings(lua_State *L, const IoPqLeaf *l, const IoPqColumn *col, int64_t from,
                         int64_t n) {
  lua_createtable(L, n > INT32_MAX ? 0 : (int)n, 0);
  for (int64_t i = 0; i < n; i++) {
    int64_t k = from + i;
    if (col->null && col->null[k])
      lio_push_null(L);
    else if (col->off)
      lua_pushlstring(L, (const char *)col->bytes + col->off[k],
                      (size_t)(col->off[k + 1] - col->off[k]));
    else
      lua_pushlstring(L, (const char *)col->data + (size_t)k * col->elem, col->elem);
    lua_rawseti(L, -2, i + 1);
  }
  (void)l;
}

static void push_slots(lua_State *L, const IoPqLeaf *l, const IoPqColumn *col, int64_t from,
                       int64_t n, int nd, const int64_t *shape) {
  if (leaf_dtype(l) >= 0)
    push_numbers(L, l, col, from, n, nd, shape);
  else
    push_strings(L, l, col, from, n);
}

/* Pushes one decoded column: a flat column as a 1-D tensor, a string array or {codes =, levels =};
 * a list column whose rows have equal lengths as a 2-D tensor; a ragged one as a table of rows. */
static void push_column(lua_State *L, const IoPqLeaf *l, const IoPqColumn *col) {
  if (!col->row_off) {
    if (col->codes) {
      lua_createtable(L, 0, 2);
      Tensor *t = ltL_push_new(L, LT_I64, 1, &col->nvals);
      int64_t *o = t->data;
      for (int64_t i = 0; i < col->nvals; i++) o[i] = (int64_t)col->codes[i] + 1;
      lua_setfield(L, -2, "codes");
      lua_createtable(L, col->ndict > INT32_MAX ? 0 : (int)col->ndict, 0);
      for (int64_t i = 0; i < col->ndict; i++) {
        lua_pushlstring(L, (const char *)col->dict_bytes + col->dict_off[i],
                        (size_t)(col->dict_off[i + 1] - col->dict_off[i]));
        lua_rawseti(L, -2, i + 1);
      }
      lua_setfield(L, -2, "levels");
      return;
    }
    push_slots(L, l, col, 0, col->nvals, 1, &col->nvals);
    return;
  }
  if (col->width >= 0 && leaf_dtype(l) >= 0) {
    int64_t shape[2] = {col->rows, col->width};
    push_numbers(L, l, col, 0, col->nvals, 2, shape);
    return;
  }
  lua_createtable(L, col->rows > INT32_MAX ? 0 : (int)col->rows, 0);
  for (int64_t r = 0; r < col->rows; r++) {
    int64_t a = col->row_off[r], n = col->row_off[r + 1] - a;
    push_slots(L, l, col, a, n, 1, &n);
    lua_rawseti(L, -2, r + 1);
  }
}

/* The path an open file was opened with (its userdata's second user value), for messages. */
static const char *pq_path(lua_State *L) {
  lua_getiuservalue(L, 1, 2);
  const char *path = lua_tostring(L, -1); /* alive in the user value */
  lua_pop(L, 1);
  return path ? path : "?";
}

/* Whether the array at idx names leaf l (idx nil: every leaf). */
static int wanted(lua_State *L, int idx, const IoPqLeaf *l) {
  if (lua_isnoneornil(L, idx)) return 1;
  int want = 0;
  for (lua_Integer k = 1; !want && k <= (lua_Integer)lua_rawlen(L, idx); k++) {
    lua_rawgeti(L, idx, k);
    const char *nm = lua_tostring(L, -1);
    want = nm && strcmp(nm, l->name) == 0;
    lua_pop(L, 1);
  }
  return want;
}

/* parquet_group(handle, group, names [, opts]) -> {name = column, ...} | nil, message: one row
 * group (1-based) of the columns names (an array of leaf names, or nil for every leaf), each
 * leaf decoded in full and pushed (text codes 1-based, 0 for a null: levels[codes[i]] is the
 * text). */
static int l_parquet_group(lua_State *L) {
  PqFile *p = check_pq(L, "read_row_group");
  const char *path = pq_path(L);
  lua_Integer g = luaL_checkinteger(L, 2);
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  /* The handle goes above the arguments, never in an absent argument's slot. */
  lua_settop(L, 4);
  LioHandle *h = lio_handle(L, 4, "read_parquet");
  const IoPqFile *f = p->f;
  if (g < 1 || g > f->nrg)
    return ltL_argerror(L, 2, "read_row_group", "row group %d out of range 1..%d", (int)g, f->nrg);
  lua_createtable(L, 0, f->nleaves);
  int out = lua_gettop(L);
  for (int j = 0; j < f->nleaves; j++) {
    const IoPqLeaf *l = &f->leaves[j];
    if (!wanted(L, 3, l)) continue;
    IoPqColumn *col = io_calloc(&h->ctx, sizeof *col);
    if (!col) return lio_fail(L, h, path, LT_ENOMEM);
    LtStatus st = io_pq_read_column(&h->ctx, p->src, f, (int)g - 1, j, p->sc, col);
    if (st) {
      io_free(&h->ctx, col, sizeof *col);
      return lio_fail(L, h, path, st);
    }
    lio_own(h, free_column, col);
    push_column(L, l, col);
    lua_setfield(L, out, l->name);
    /* Freed now, not at the end: one decoded chunk at a time besides the results. */
    lio_release(h, col);
  }
  lio_close(h);
  return 1;
}

/* Reads the rows [lo, hi) of row group g (0-based; the group starts at row `start` of the file
 * and the range at row a) of leaf j into dst, a dense column of width w and elem bytes per value:
 * straight into dst for a row group wholly inside the range (borrowing up to `room` bytes of the
 * output before it, see io_pq_read_dense), through a buffer of the row group for one cut by it.
 * *dense = 0 when the row group is not dense. */
static LtStatus read_dense_group(IoCtx *c, PqFile *p, IoPqScratch *sc, int g, int j, int64_t a,
                                 int64_t start, int64_t lo, int64_t hi, int64_t w, size_t elem,
                                 uint8_t *dst, size_t room, int *dense) {
  const IoPqFile *f = p->f;
  size_t row = (size_t)w * elem;
  int64_t n = f->rg_rows[g];
  uint8_t *at = dst + (size_t)(lo - a) * row;
  if (lo == start && hi == start + n)
    return io_pq_read_dense(c, p->src, f, g, j, sc, at, room, w, dense);
  size_t nb = (size_t)n * row;
  uint8_t *tmp = io_alloc(c, nb ? nb : 1);
  if (!tmp) return LT_ENOMEM;
  LtStatus st = io_pq_read_dense(c, p->src, f, g, j, sc, tmp, 0, w, dense);
  if (!st && *dense) memcpy(at, tmp + (size_t)(lo - start) * row, (size_t)(hi - lo) * row);
  io_free(c, tmp, nb ? nb : 1);
  return st;
}

/* Reads rows [a, b) (0-based, within the file) of leaf j into dst (see read_dense_group); *dense
 * = 0 when a row group is not dense. Several row groups are decoded in parallel by the OpenMP
 * threads, each with buffers and a context of its own (its share of c's allocation budget, its
 * max_inflate): the even ones, then the odd ones, so that no row group is being written while
 * the next one borrows its last bytes (and it borrows no more than those). A single one, or a
 * call with fault injection (whose count must not depend on thread timing), runs here with the
 * file's buffers. The head bytes before dst may be borrowed too. */
static LtStatus read_dense_rows(IoCtx *c, PqFile *p, int j, int64_t a, int64_t b, int64_t w,
                                size_t elem, uint8_t *dst, size_t head, int *dense) {
  const IoPqFile *f = p->f;
  int g0 = -1, g1 = -1; /* the row groups touched: [g0, g1) */
  int64_t start = 0, s0 = 0;
  for (int g = 0; g < f->nrg && start < b; start += f->rg_rows[g], g++) {
    if (start + f->rg_rows[g] <= a || f->rg_rows[g] == 0) continue;
    if (g0 < 0) {
      g0 = g;
      s0 = start;
    }
    g1 = g + 1;
  }
  *dense = 1;
  if (g0 < 0) return LT_OK;
  int nthr = omp_get_max_threads();
  if (nthr > g1 - g0) nthr = g1 - g0;
  if (nthr < 2 || c->fail_at >= 0) {
    start = s0;
    for (int g = g0; g < g1 && *dense; start += f->rg_rows[g], g++) {
      int64_t end = start + f->rg_rows[g];
      int64_t lo = a > start ? a : start, hi = b < end ? b : end;
      if (lo >= hi) continue;
      /* one thread: everything before this row group may be borrowed */
      size_t room = head + (size_t)(lo - a) * (size_t)w * elem;
      LtStatus st =
          read_dense_group(c, p, p->sc, g, j, a, start, lo, hi, w, elem, dst, room, dense);
      if (st) return st;
    }
    return LT_OK;
  }
  /* Each row group's first row, so the threads can take them in any order. */
  size_t nstart = (size_t)(g1 - g0) * sizeof(int64_t);
  int64_t *starts = io_alloc(c, nstart);
  if (!starts) return LT_ENOMEM;
  start = s0;
  for (int g = g0; g < g1; start += f->rg_rows[g], g++) starts[g - g0] = start;
  uint64_t share = (c->max_alloc - c->used) / (uint64_t)nthr;
  int not_dense = 0, nomem = 0;
  char msg[IO_MSG] = "";
#pragma omp parallel num_threads(nthr) reduction(| : not_dense, nomem)
  {
    IoCtx tc;
    io_ctx_init(&tc);
    tc.max_inflate = c->max_inflate;
    tc.max_alloc = share;
    IoPqScratch sc;
    memset(&sc, 0, sizeof sc);
    for (int phase = 0; phase < 2; phase++) {
      /* the implied barrier at the end of each phase's loop keeps the phases apart */
#pragma omp for schedule(dynamic)
      for (int g = g0 + phase; g < g1; g += 2) {
        if (not_dense || nomem) continue; /* this thread already gave up */
        int64_t st0 = starts[g - g0], n = f->rg_rows[g];
        int64_t lo = a > st0 ? a : st0, hi = b < st0 + n ? b : st0 + n;
        /* Only the previous row group's bytes may be borrowed (it is finished: the other phase);
         * the one before that may be running now, in this phase. */
        int64_t prev = g > g0 ? (a > starts[g - 1 - g0] ? a : starts[g - 1 - g0]) : st0;
        size_t room = g > g0 ? (size_t)(st0 - prev) * (size_t)w * elem : head;
        int d = 1;
        if (lo < hi &&
            read_dense_group(&tc, p, &sc, g, j, a, st0, lo, hi, w, elem, dst, room, &d) != LT_OK) {
          nomem = 1;
#pragma omp critical(lio_parquet_msg)
          memcpy(msg, tc.msg, sizeof msg);
        }
        if (!d) not_dense = 1;
      }
    }
    io_pq_scratch_free(&tc, &sc);
  }
  io_free(c, starts, nstart);
  if (nomem) {
    memcpy(c->msg, msg, sizeof c->msg);
    return LT_ENOMEM;
  }
  *dense = !not_dense;
  return LT_OK;
}

/* parquet_dense(handle, first, last, names [, opts]) -> {name = tensor} | nil, message: rows
 * first..last (1-based, inclusive) of each column in names that is dense (numbers, no null, every
 * list of one length: io_pq_read_dense) in every row group they touch, decoded straight into one
 * tensor ([rows] or [rows x width]) with no per-group pieces to join. The other columns are left
 * out: the façade reads them row group by row group (parquet_group), which also reports any
 * damage. */
static int l_parquet_dense(lua_State *L) {
  PqFile *p = check_pq(L, "read_parquet");
  const char *path = pq_path(L);
  int64_t first = ltL_check_int(L, 2, "read_parquet", "first row");
  int64_t last = ltL_check_int(L, 3, "read_parquet", "last row");
  luaL_checktype(L, 4, LUA_TTABLE);
  lua_settop(L, 5);
  LioHandle *h = lio_handle(L, 5, "read_parquet");
  const IoPqFile *f = p->f;
  lua_newtable(L);
  int out = lua_gettop(L);
  if (first < 1 || last < first || last > f->num_rows) {
    lio_close(h);
    return 1;
  }
  int64_t a = first - 1, b = last;
  for (int j = 0; j < f->nleaves; j++) {
    const IoPqLeaf *l = &f->leaves[j];
    size_t elem = io_pq_dense_elem(l);
    if (!elem || !wanted(L, 4, l)) continue;
    /* One width in every row group touched, as the metadata tells it. */
    int64_t w = 0, start = 0;
    for (int g = 0; g < f->nrg && w >= 0 && start < b; start += f->rg_rows[g], g++) {
      if (start + f->rg_rows[g] <= a || f->rg_rows[g] == 0) continue;
      int64_t wg = io_pq_dense_width(f, g, j);
      w = wg < 1 || (w && wg != w) ? -1 : wg;
    }
    if (w < 1) continue;
    /* Within the limit the general reader's value array would have to respect (else it is the
     * one to refuse). */
    uint64_t bytes;
    if (!io_mul_u64((uint64_t)(b - a), (uint64_t)w * elem, &bytes) ||
        bytes > h->ctx.max_alloc - h->ctx.used)
      continue;
    /* A read of 4 MiB or more gets 64 KiB of storage in front of its values (1.6 % at most):
     * the first page's levels (about 1 byte in 64 of a list page) decompress there instead of
     * through a page-sized buffer, which keeps a one-row-group read at about one row group of
     * memory (the compressed chunk) beyond its result. */
    size_t head = bytes >= ((uint64_t)4 << 20) ? (size_t)64 << 10 : 0;
    int64_t numel = (int64_t)((bytes + head) / elem);
    Tensor *base = ltL_push_new(L, (LtDtype)leaf_dtype(l), 1, &numel);
    Tensor v = *base;
    v.data = (uint8_t *)base->data + head;
    v.ndim = l->max_rep ? 2 : 1;
    v.shape[0] = b - a;
    v.shape[1] = w;
    lt_contiguous_strides(v.ndim, v.shape, v.stride);
    ltL_push_view(L, -1, &v);
    lua_remove(L, -2);
    int dense;
    LtStatus st = read_dense_rows(&h->ctx, p, j, a, b, w, elem, v.data, head, &dense);
    if (st) return lio_fail(L, h, path, st);
    if (dense)
      lua_setfield(L, out, l->name);
    else
      lua_pop(L, 1);
  }
  lio_close(h);
  return 1;
}

/* ---- writing ---- */

/* The column descriptors and text pointer arrays of one write, owned by the handle. */
typedef struct {
  int ncols;
  int64_t rows;
  IoPqwCol *cols;
  const char ***s; /* per column: rows (text) or nlev (levels) pointers, else NULL */
  size_t **len;
  size_t *nptr;    /* the entries of s[j] and len[j] */
  int64_t **codes; /* DICT columns: rows codes */
} PqW;

static void free_pqw(IoCtx *c, void *p) {
  PqW *f = p;
  size_t k = (size_t)(f->ncols ? f->ncols : 1);
  for (int j = 0; f->s && j < f->ncols; j++) {
    io_free(c, f->s[j], f->nptr[j] * sizeof **f->s);
    io_free(c, f->len[j], f->nptr[j] * sizeof **f->len);
    io_free(c, f->codes[j], f->codes[j] ? (size_t)f->rows * sizeof **f->codes : 0);
  }
  io_free(c, f->cols, k * sizeof *f->cols);
  io_free(c, f->s, k * sizeof *f->s);
  io_free(c, f->len, k * sizeof *f->len);
  io_free(c, f->nptr, k * sizeof *f->nptr);
  io_free(c, f->codes, k * sizeof *f->codes);
  io_free(c, f, sizeof *f);
}

/* Fills n string pointers from the array at idx (io.null allowed when nulls), or raises. */
static void pw_strings(lua_State *L, LioHandle *h, PqW *f, int j, int idx, size_t n, int nulls,
                       const char *name, const char *fname) {
  f->nptr[j] = n;
  if (!(f->s[j] = io_alloc(&h->ctx, n * sizeof **f->s)) ||
      !(f->len[j] = io_calloc(&h->ctx, n * sizeof **f->len)))
    luaL_error(L, "%s: not enough memory", fname);
  for (size_t i = 0; i < n; i++) {
    int ty = lua_rawgeti(L, idx, (lua_Integer)i + 1);
    if (ty == LUA_TSTRING)
      f->s[j][i] = lua_tolstring(L, -1, &f->len[j][i]); /* alive in the column table */
    else if (nulls && lio_is_null(L, -1))
      f->s[j][i] = NULL;
    else
      ltL_argerror(L, 2, fname, "column '%s': %s %lld is a %s, not a string%s", name,
                   nulls ? "row" : "level", (long long)i + 1, luaL_typename(L, -1),
                   nulls ? " or io.null" : "");
    lua_pop(L, 1);
  }
}

void lio_collect_columns(lua_State *L, LioHandle *h, const char *fname, const IoPqwCol **cols,
                         int *ncols, int64_t *nrows) {
  PqW *f = io_calloc(&h->ctx, sizeof *f);
  if (!f) luaL_error(L, "%s: not enough memory", fname);
  lio_own(h, free_pqw, f);
  f->ncols = (int)lua_rawlen(L, 3);
  size_t k = (size_t)(f->ncols ? f->ncols : 1);
  if (!(f->cols = io_calloc(&h->ctx, k * sizeof *f->cols)) ||
      !(f->s = io_calloc(&h->ctx, k * sizeof *f->s)) ||
      !(f->len = io_calloc(&h->ctx, k * sizeof *f->len)) ||
      !(f->nptr = io_calloc(&h->ctx, k * sizeof *f->nptr)) ||
      !(f->codes = io_calloc(&h->ctx, k * sizeof *f->codes)))
    luaL_error(L, "%s: not enough memory", fname);
  f->rows = -1;
  for (int j = 0; j < f->ncols; j++) {
    luaL_checkstack(L, 6, fname);
    IoPqwCol *col = &f->cols[j];
    lua_rawgeti(L, 3, j + 1); /* the name stays on the stack */
    col->name = lua_tolstring(L, -1, &col->name_len);
    lua_pushvalue(L, -1);
    lua_gettable(L, 2); /* the column stays on the stack */
    int ci = lua_gettop(L);
    int64_t rows;
    Tensor *t = ltL_totensor(L, ci);
    if (t) {
      col->kind = t->ndim == 2 ? IO_PQW_LIST : IO_PQW_NUM;
      col->t = t;
      rows = t->shape[0];
    } else if (lua_getfield(L, ci, "codes") != LUA_TNIL) {
      Tensor *c = ltL_totensor(L, -1); /* int64, contiguous (the façade) */
      rows = c->shape[0];
      col->kind = IO_PQW_DICT;
      if (!(f->codes[j] = io_alloc(&h->ctx, (size_t)rows * sizeof **f->codes)))
        luaL_error(L, "%s: not enough memory", fname);
      memcpy(f->codes[j], c->data, (size_t)rows * sizeof **f->codes);
      col->codes = f->codes[j];
      lua_getfield(L, ci, "levels");
      pw_strings(L, h, f, j, lua_gettop(L), lua_rawlen(L, -1), 0, col->name, fname);
      col->lev = f->s[j];
      col->lev_len = f->len[j];
      col->nlev = (int64_t)f->nptr[j];
      /* codes and levels stay on the stack: the level strings live in the levels table */
    } else {
      lua_pop(L, 1);
      col->kind = IO_PQW_TEXT;
      rows = (int64_t)lua_rawlen(L, ci);
      pw_strings(L, h, f, j, ci, (size_t)rows, 1, col->name, fname);
      col->s = f->s[j];
      col->len = f->len[j];
    }
    if (f->rows >= 0 && rows != f->rows)
      ltL_argerror(L, 2, fname, "column '%s' has %lld rows, column '%s' %lld", col->name,
                   (long long)rows, f->cols[0].name, (long long)f->rows);
    f->rows = rows;
  }
  *cols = f->cols;
  *ncols = f->ncols;
  *nrows = f->rows < 0 ? 0 : f->rows;
}

/* parquet_write(path, {name = column}, names, codec, group_rows, dictionary, zstd_level) ->
 * true | nil, message. The façade (io.write_parquet) has checked the options and made every
 * tensor contiguous, of a dtype the writer takes. */
static int l_parquet_write(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  IoPqwOpts o = {(int)luaL_checkinteger(L, 4), luaL_checkinteger(L, 5), lua_toboolean(L, 6),
                 (int)luaL_checkinteger(L, 7)};
  lua_settop(L, 7);
  LioHandle *h = lio_handle(L, 0, "write_parquet"); /* 8 */
  const IoPqwCol *cols;
  int ncols;
  int64_t rows;
  lio_collect_columns(L, h, "write_parquet", &cols, &ncols, &rows);
  IoWriter *w;
  LtStatus st = lio_open_writer(h, path, &w);
  if (st) return lio_fail(L, h, path, st);
  st = io_pq_write(&h->ctx, w, cols, ncols, rows, &o);
  if (st == LT_OK) st = io_writer_commit(&h->ctx, w);
  if (st) return lio_fail(L, h, path, st);
  lio_close(h);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg parquet_fns[] = {{"parquet_open", l_parquet_open},
                                       {"parquet_group", l_parquet_group},
                                       {"parquet_dense", l_parquet_dense},
                                       {"parquet_close", pq_close},
                                       {"parquet_write", l_parquet_write},
                                       {NULL, NULL}};
static const luaL_Reg pq_meta[] = {{"__gc", pq_close}, {"__close", pq_close}, {NULL, NULL}};

/* A part of lunette._io (src/lunette.c lists every part): Parquet, with the metatable of the
 * open-file handles parquet_open returns (the façade's ParquetFile wraps one). */
int luaopen_lunette_io_parquet(lua_State *L);
int luaopen_lunette_io_parquet(lua_State *L) {
  luaL_newmetatable(L, PQ_MT);
  luaL_setfuncs(L, pq_meta, 0);
  lua_pop(L, 1);
  luaL_newlib(L, parquet_fns);
  return 1;
}
