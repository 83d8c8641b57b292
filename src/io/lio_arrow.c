/* lio_arrow.c - Lua binding for Arrow IPC (Feather v2): arrow_meta and arrow_read (the reader),
 * arrow_write (the writer). */
#include <math.h>
#include <string.h>
#include "tensor/lbase.h"
#include "io/lio.h"
#include "io/lio_cols.h"
#include "io/io_arrow.h"
#include "io/io_arrow_write.h"

static void free_file(IoCtx *c, void *p) {
  io_ar_free(c, p);
  io_free(c, p, sizeof(IoArFile));
}

static void free_column(IoCtx *c, void *p) {
  io_ar_column_free(c, p);
  io_free(c, p, sizeof(IoArColumn));
}

/* Opens path and reads its metadata; the file and the parsed metadata are owned by h. */
static LtStatus open_file(LioHandle *h, const char *path, IoSrc **s, IoArFile **f) {
  LtStatus st = lio_open_file(h, path, s);
  if (st) return st;
  if (!(*f = io_calloc(&h->ctx, sizeof **f))) return LT_ENOMEM;
  if ((st = io_ar_open(&h->ctx, *s, *f))) {
    io_free(&h->ctx, *f, sizeof **f);
    return st;
  }
  lio_own(h, free_file, *f);
  return LT_OK;
}

/* arrow_meta(path [, opts]) -> {num_rows =, batches = {rows...}, stream =, columns = {{name =,
 * type =, nullable =, list =, dictionary =, unsupported =}, ...}} | nil, message */
static int l_arrow_meta(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_settop(L, 2);
  LioHandle *h = lio_handle(L, 2, "open_arrow");
  IoSrc *s;
  IoArFile *f;
  LtStatus st = open_file(h, path, &s, &f);
  if (st) return lio_fail(L, h, path, st);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, f->num_rows);
  lua_setfield(L, -2, "num_rows");
  lua_pushboolean(L, f->stream);
  lua_setfield(L, -2, "stream");
  lua_createtable(L, f->nbatches, 0);
  for (int b = 0; b < f->nbatches; b++) {
    lua_pushinteger(L, f->batches[b].rows);
    lua_rawseti(L, -2, b + 1);
  }
  lua_setfield(L, -2, "batches");
  lua_createtable(L, f->nleaves, 0);
  for (int j = 0; j < f->nleaves; j++) {
    const IoArLeaf *l = &f->leaves[j];
    const IoArNode *v = &f->nodes[l->node];
    lua_createtable(L, 0, 6);
    lua_pushstring(L, l->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, v->type);
    lua_setfield(L, -2, "type");
    lua_pushboolean(L, l->nullable);
    lua_setfield(L, -2, "nullable");
    lua_pushboolean(L, l->list >= 0);
    lua_setfield(L, -2, "list");
    lua_pushboolean(L, v->dict >= 0);
    lua_setfield(L, -2, "dictionary");
    if (l->refuse) {
      lua_pushstring(L, l->refuse);
      lua_setfield(L, -2, "unsupported");
    }
    lua_rawseti(L, -2, j + 1);
  }
  lua_setfield(L, -2, "columns");
  lio_close(h);
  return 1;
}

/* Slot i of an integer or boolean column as a double (for columns that hold nulls). */
static double slot_f64(const IoArColumn *col, int64_t i) {
  const uint8_t *p = col->data + (size_t)i * lt_dtype_size((LtDtype)col->dtype);
  int32_t i32;
  int64_t i64;
  switch (col->dtype) {
  case LT_BOOL:
  case LT_U8: return p[0];
  case LT_I32: memcpy(&i32, p, 4); return i32;
  default: memcpy(&i64, p, 8); return (double)i64;
  }
}

/* Pushes slots [from, from + n) as a tensor of shape (nd, shape). Floats keep their type with
 * NaN for nulls; integers and booleans that hold a null in these slots become float64 with NaN
 * (as read_parquet and pandas do). */
static void push_numbers(lua_State *L, const IoArColumn *col, int64_t from, int64_t n, int nd,
                         const int64_t *shape) {
  LtDtype dt = (LtDtype)col->dtype;
  int has_null = 0;
  for (int64_t i = from; col->null && i < from + n && !has_null; i++) has_null = col->null[i];
  int is_float = dt == LT_F32 || dt == LT_F64 || dt == LT_F16;
  if (has_null && !is_float) {
    Tensor *t = ltL_push_new(L, LT_F64, nd, shape);
    double *o = t->data;
    for (int64_t i = 0; i < n; i++) o[i] = col->null[from + i] ? NAN : slot_f64(col, from + i);
    return;
  }
  Tensor *t = ltL_push_new(L, dt, nd, shape);
  size_t es = lt_dtype_size(dt);
  if (n) memcpy(t->data, col->data + (size_t)from * es, (size_t)n * es);
  for (int64_t i = 0; has_null && i < n; i++) {
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
static void push_strings(lua_State *L, const IoArColumn *col, int64_t from, int64_t n) {
  lua_createtable(L, n > INT32_MAX ? 0 : (int)n, 0);
  for (int64_t i = 0; i < n; i++) {
    int64_t k = from + i;
    if (col->null && col->null[k])
      lio_push_null(L);
    else
      lua_pushlstring(L, (const char *)col->bytes + col->off[k],
                      (size_t)(col->off[k + 1] - col->off[k]));
    lua_rawseti(L, -2, i + 1);
  }
}

/* Pushes one decoded column as read_parquet would: a flat column as a 1-D tensor, a string array
 * or {codes =, levels =}; a list column whose rows have one length as a 2-D tensor; a ragged one
 * as a table of rows (1-D tensors or string arrays). */
static void push_column(lua_State *L, const IoArColumn *col) {
  if (col->codes) {
    lua_createtable(L, 0, 2);
    Tensor *t = ltL_push_new(L, LT_I64, 1, &col->nvals);
    int64_t *o = t->data;
    for (int64_t i = 0; i < col->nvals; i++) o[i] = col->codes[i] + 1;
    lua_setfield(L, -2, "codes");
    lua_createtable(L, col->ndict > INT32_MAX ? 0 : (int)col->ndict, 0);
    for (int64_t i = 0; i < col->ndict; i++) {
      lua_pushlstring(L, (const char *)col->lev_bytes + col->lev_off[i],
                      (size_t)(col->lev_off[i + 1] - col->lev_off[i]));
      lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "levels");
    return;
  }
  if (!col->row_off) {
    if (col->dtype >= 0)
      push_numbers(L, col, 0, col->nvals, 1, &col->nvals);
    else
      push_strings(L, col, 0, col->nvals);
    return;
  }
  if (col->width >= 0 && col->dtype >= 0) {
    int64_t shape[2] = {col->rows, col->width};
    push_numbers(L, col, 0, col->nvals, 2, shape);
    return;
  }
  lua_createtable(L, col->rows > INT32_MAX ? 0 : (int)col->rows, 0);
  for (int64_t r = 0; r < col->rows; r++) {
    int64_t a = col->row_off[r], n = col->row_off[r + 1] - a;
    if (col->dtype >= 0)
      push_numbers(L, col, a, n, 1, &n);
    else
      push_strings(L, col, a, n);
    lua_rawseti(L, -2, r + 1);
  }
}

/* arrow_read(path, batch, names [, opts]) -> {name = column, ...} | nil, message (text codes
 * 1-based, 0 for a null: levels[codes[i]] is the text). batch is 1-based; names is an array of
 * column names, or nil for every column. */
static int l_arrow_read(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer b = luaL_checkinteger(L, 2);
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  /* The handle goes above the arguments, never in an absent argument's slot. */
  lua_settop(L, 4);
  LioHandle *h = lio_handle(L, 4, "read_arrow");
  IoSrc *s;
  IoArFile *f;
  LtStatus st = open_file(h, path, &s, &f);
  if (st) return lio_fail(L, h, path, st);
  if (b < 1 || b > f->nbatches)
    return ltL_argerror(L, 2, "read_batch", "batch %d out of range 1..%d", (int)b, f->nbatches);
  lua_createtable(L, 0, f->nleaves);
  int out = lua_gettop(L);
  for (int j = 0; j < f->nleaves; j++) {
    const IoArLeaf *l = &f->leaves[j];
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
    IoArColumn *col = io_calloc(&h->ctx, sizeof *col);
    if (!col) return lio_fail(L, h, path, LT_ENOMEM);
    if ((st = io_ar_read_column(&h->ctx, s, f, (int)b - 1, j, col))) {
      io_free(&h->ctx, col, sizeof *col);
      return lio_fail(L, h, path, st);
    }
    lio_own(h, free_column, col);
    push_column(L, col);
    lua_setfield(L, out, l->name);
    /* Freed now, not at the end: one decoded column at a time besides the results. */
    lio_release(h, col);
  }
  lio_close(h);
  return 1;
}

/* arrow_write(path, {name = column}, names, codec, batch_rows, stream, zstd_level) -> true | nil,
 * message. The façade (io.write_arrow) has checked the options and made every tensor contiguous,
 * of a dtype the writer takes. */
static int l_arrow_write(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  IoArwOpts o = {(int)luaL_checkinteger(L, 4), luaL_checkinteger(L, 5), lua_toboolean(L, 6),
                 (int)luaL_checkinteger(L, 7)};
  lua_settop(L, 7);
  LioHandle *h = lio_handle(L, 0, "write_arrow"); /* 8 */
  const IoPqwCol *cols;
  int ncols;
  int64_t rows;
  lio_collect_columns(L, h, "write_arrow", &cols, &ncols, &rows);
  IoWriter *w;
  LtStatus st = lio_open_writer(h, path, &w);
  if (st) return lio_fail(L, h, path, st);
  st = io_ar_write(&h->ctx, w, cols, ncols, rows, &o);
  if (st == LT_OK) st = io_writer_commit(&h->ctx, w);
  if (st) return lio_fail(L, h, path, st);
  lio_close(h);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg arrow_fns[] = {{"arrow_meta", l_arrow_meta},
                                     {"arrow_read", l_arrow_read},
                                     {"arrow_write", l_arrow_write},
                                     {NULL, NULL}};

/* A part of lunette._io (src/lunette.c lists every part): Arrow IPC. */
int luaopen_lunette_io_arrow(lua_State *L);
int luaopen_lunette_io_arrow(lua_State *L) {
  luaL_newlib(L, arrow_fns);
  return 1;
}
