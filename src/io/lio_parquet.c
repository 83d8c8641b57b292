/* lio_parquet.c - Lua binding for the Parquet reader: parquet_meta and parquet_read. */
#include <math.h>
#include <string.h>
#include "tensor/lbase.h"
#include "io/lio.h"
#include "io/io_parquet.h"

static void free_file(IoCtx *c, void *p) {
  io_pq_free(c, p);
  io_free(c, p, sizeof(IoPqFile));
}

static void free_column(IoCtx *c, void *p) {
  io_pq_column_free(c, p);
  io_free(c, p, sizeof(IoPqColumn));
}

/* Opens path and parses its footer; the file and the parsed footer are owned by h. */
static LtStatus open_file(LioHandle *h, const char *path, IoSrc **s, IoPqFile **f) {
  LtStatus st = lio_open_file(h, path, s);
  if (st) return st;
  if (!(*f = io_calloc(&h->ctx, sizeof **f))) return LT_ENOMEM;
  if ((st = io_pq_open(&h->ctx, *s, *f))) {
    io_free(&h->ctx, *f, sizeof **f);
    return st;
  }
  lio_own(h, free_file, *f);
  return LT_OK;
}

static const char *TYPE_NAME[] = {"boolean", "int32",  "int64",      "int96",
                                  "float",   "double", "byte_array", "fixed_len_byte_array"};

/* parquet_meta(path [, opts]) -> {num_rows =, row_groups = {rows...}, columns = {{name =, type =,
 * nullable =, list =}, ...}} | nil, message */
static int l_parquet_meta(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_settop(L, 2);
  LioHandle *h = lio_handle(L, 2, "open_parquet");
  IoSrc *s;
  IoPqFile *f;
  LtStatus st = open_file(h, path, &s, &f);
  if (st) return lio_fail(L, h, path, st);
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
  lio_close(h);
  return 1;
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
  if (n) memcpy(t->data, col->data + (size_t)from * col->elem, (size_t)n * col->elem);
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

/* parquet_read(path, group, names [, opts]) -> {name = column, ...} | nil, message (text codes
 * 1-based, 0 for a null: levels[codes[i]] is the text). group is
 * 1-based; names is an array of leaf names, or nil for every leaf. */
static int l_parquet_read(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer g = luaL_checkinteger(L, 2);
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  /* The handle goes above the arguments, never in an absent argument's slot. */
  lua_settop(L, 4);
  LioHandle *h = lio_handle(L, 4, "read_parquet");
  IoSrc *s;
  IoPqFile *f;
  LtStatus st = open_file(h, path, &s, &f);
  if (st) return lio_fail(L, h, path, st);
  if (g < 1 || g > f->nrg)
    return ltL_argerror(L, 2, "read_row_group", "row group %d out of range 1..%d", (int)g, f->nrg);
  lua_createtable(L, 0, f->nleaves);
  int out = lua_gettop(L);
  for (int j = 0; j < f->nleaves; j++) {
    const IoPqLeaf *l = &f->leaves[j];
    if (!lua_isnoneornil(L, 3)) {
      int want = 0;
      for (lua_Integer k = 1; !want && k <= (lua_Integer)lua_rawlen(L, 3); k++) {
        lua_rawgeti(L, 3, k);
        const char *nm = lua_tostring(L, -1);
        want = nm && strcmp(nm, l->name) == 0;
        lua_pop(L, 1);
      }
      if (!want) continue;
    }
    IoPqColumn *col = io_calloc(&h->ctx, sizeof *col);
    if (!col) return lio_fail(L, h, path, LT_ENOMEM);
    if ((st = io_pq_read_column(&h->ctx, s, f, (int)g - 1, j, col))) {
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

static const luaL_Reg parquet_fns[] = {
    {"parquet_meta", l_parquet_meta}, {"parquet_read", l_parquet_read}, {NULL, NULL}};

/* A part of lunette._io (src/lunette.c lists every part): Parquet. */
int luaopen_lunette_io_parquet(lua_State *L);
int luaopen_lunette_io_parquet(lua_State *L) {
  luaL_newlib(L, parquet_fns);
  return 1;
}
