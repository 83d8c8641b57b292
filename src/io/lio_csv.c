/* lio_csv.c - Lua binding for numeric CSV tables: read_csv and write_csv. */
#include <string.h>
#include "tensor/lbase.h"
#include "io/lio.h"
#include "io/io_csv.h"
#include "io/io_src.h"

/* 64 GiB: the whole file is read into memory, then scanned twice (shape, then numbers). */
#define MAX_CSV_FILE ((uint64_t)1 << 36)

static void free_csv(IoCtx *c, void *p) {
  io_csv_free(c, p);
  io_free(c, p, sizeof(IoCsv));
}

typedef struct {
  int header;
  char sep;
  LtDtype dt;
} CsvOpts;

/* opts.sep of read_csv and write_csv: one character, not a quote or a newline (either would make
 * quoted fields ambiguous). */
static char opt_sep(lua_State *L, int arg, const char *fname) {
  if (!ltL_opt_get(L, arg, "sep")) return ',';
  size_t n;
  const char *s = lua_tolstring(L, -1, &n);
  if (!s || n != 1 || *s == '"' || *s == '\n' || *s == '\r')
    ltL_argerror(L, arg, fname, "sep must be one character other than a quote or newline");
  char sep = *s;
  lua_pop(L, 1);
  return sep;
}

/* read_csv's options (write_csv's header is an array of names, not a flag). */
static CsvOpts read_opts(lua_State *L, int arg, const char *fname) {
  CsvOpts o = {1, ',', LT_F64};
  if (lua_isnoneornil(L, arg)) return o;
  luaL_checktype(L, arg, LUA_TTABLE);
  o.header = ltL_opt_bool(L, arg, fname, "header", 1);
  o.sep = opt_sep(L, arg, fname);
  if (ltL_opt_get(L, arg, "dtype")) {
    o.dt = ltL_check_dtype(L, lua_gettop(L), fname);
    if (o.dt != LT_F64 && o.dt != LT_F32 && o.dt != LT_I64)
      ltL_argerror(L, arg, fname, "dtype must be float64, float32 or int64");
    lua_pop(L, 1);
  }
  return o;
}

/* read_csv and read_csv_bytes: path names the data in messages; bytes, when not NULL, is the
 * text itself (argument 1, alive for the call). */
static int read_csv(lua_State *L, const char *path, const char *bytes, size_t n,
                    const char *fname) {
  CsvOpts o = read_opts(L, 2, fname);
  /* The options table also carries the limits (max_alloc, ...) the handle reads. */
  LioHandle *h = lio_handle(L, 2, fname);
  LtStatus st;
  if (!bytes) {
    IoSrc *s;
    uint8_t *buf;
    if ((st = lio_open_file(h, path, &s))) return lio_fail(L, h, path, st);
    if ((st = io_src_slurp(&h->ctx, s, MAX_CSV_FILE, &buf, &n))) return lio_fail(L, h, path, st);
    if ((st = lio_own_buf(h, buf, n + 1))) return lio_fail(L, h, path, st);
    /* The bytes are in memory now: the file is closed before parsing. */
    lio_release(h, s);
    bytes = (const char *)buf;
  }
  IoCsv *info = io_calloc(&h->ctx, sizeof *info);
  if (!info) return lio_fail(L, h, path, LT_ENOMEM);
  if ((st = io_csv_scan(&h->ctx, bytes, n, o.header, o.sep, info))) {
    io_free(&h->ctx, info, sizeof *info);
    return lio_fail(L, h, path, st);
  }
  lio_own(h, free_csv, info);
  int64_t shape[2] = {info->rows, info->cols};
  /* The scan knows the shape, so the tensor is made before any number is parsed into it. */
  Tensor *t = ltL_push_new(L, o.dt, 2, shape);
  if ((st = io_csv_parse(&h->ctx, bytes, n, info, o.sep, t))) return lio_fail(L, h, path, st);
  /* The second result: the column names (an empty table without a header). */
  lua_createtable(L, o.header ? (int)info->cols : 0, 0);
  for (int64_t j = 0; o.header && j < info->cols; j++) {
    lua_pushlstring(L, info->names + info->name_off[j], info->name_len[j]);
    lua_rawseti(L, -2, j + 1);
  }
  lio_close(h);
  return 2;
}

/* read_csv(path [, {header = true, sep = ",", dtype = "float64"}]) -> [rows, cols] tensor, names |
 * nil, message */
static int l_read_csv(lua_State *L) {
  return read_csv(L, luaL_checkstring(L, 1), NULL, 0, "read_csv");
}

static int l_read_csv_bytes(lua_State *L) {
  size_t n;
  const char *b = luaL_checklstring(L, 1, &n);
  return read_csv(L, "<bytes>", b, n, "read_csv_bytes");
}

typedef struct {
  const char **names;
  size_t *len;
  size_t n;
} Names;
static void free_names(IoCtx *c, void *p) {
  Names *s = p;
  io_free(c, s->names, s->n * sizeof *s->names);
  io_free(c, s->len, s->n * sizeof *s->len);
  io_free(c, s, sizeof *s);
}

/* Header strings from opts.header (an array of cols strings), or NULL. */
static Names *header_names(lua_State *L, LioHandle *h, int arg, int64_t cols) {
  if (lua_isnoneornil(L, arg)) return NULL;
  luaL_checktype(L, arg, LUA_TTABLE);
  if (lua_getfield(L, arg, "header") == LUA_TNIL) {
    lua_pop(L, 1);
    return NULL;
  }
  /* The header table stays on the stack until the call returns: the name pointers taken below
   * point into its strings. */
  int hix = lua_gettop(L);
  if (!lua_istable(L, hix) || (int64_t)lua_rawlen(L, hix) != cols)
    ltL_argerror(L, arg, "write_csv", "header must be an array of %lld strings", (long long)cols);
  Names *s = io_calloc(&h->ctx, sizeof *s);
  /* Owned by h before the arrays are allocated: a raise below frees it at collection. */
  if (!s) luaL_error(L, "write_csv: not enough memory");
  lio_own(h, free_names, s);
  s->n = (size_t)(cols ? cols : 1);
  if (!(s->names = io_calloc(&h->ctx, s->n * sizeof *s->names)) ||
      !(s->len = io_calloc(&h->ctx, s->n * sizeof *s->len)))
    luaL_error(L, "write_csv: not enough memory");
  for (int64_t j = 0; j < cols; j++) {
    lua_rawgeti(L, hix, j + 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      ltL_argerror(L, arg, "write_csv", "header entry %lld is not a string", (long long)j + 1);
    s->names[j] = lua_tolstring(L, -1, &s->len[j]);
    lua_pop(L, 1); /* the string stays alive in the header table */
  }
  return s;
}

/* write_csv(path, t [, {header = {...}, sep = ","}]) -> true | nil, message. t is [rows, cols] or
 * [rows]. */
static int l_write_csv(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  Tensor *t = ltL_check_tensor(L, 2, "write_csv");
  char b[64];
  if (t->ndim != 1 && t->ndim != 2)
    return ltL_argerror(L, 2, "write_csv", "1-d or 2-d tensor expected, got %s",
                        ltL_shape_of(t, b, sizeof b));
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  char sep = opt_sep(L, 3, "write_csv");
  /* Slots from here: 1 path, 2 tensor, 3 options, 4 handle, 5 header table (if any), then the
   * contiguous copy. */
  lua_settop(L, 3);
  LioHandle *h = lio_handle(L, 0, "write_csv"); /* 4 */
  Names *names = header_names(L, h, 3, t->ndim == 2 ? t->shape[1] : 1);
  /* Rows are written by flat index, so a strided view is copied first (a contiguous tensor is
   * used as is). */
  Tensor *c = ltL_push_contiguous(L, 2);
  IoWriter *w;
  LtStatus st = lio_open_writer(h, path, &w);
  if (st) return lio_fail(L, h, path, st);
  st = io_csv_write(&h->ctx, w, c, names ? names->names : NULL, names ? names->len : NULL, sep);
  if (st == LT_OK) st = io_writer_commit(&h->ctx, w);
  if (st) return lio_fail(L, h, path, st);
  lio_close(h);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg csv_fns[] = {{"read_csv", l_read_csv},
                                   {"read_csv_bytes", l_read_csv_bytes},
                                   {"write_csv", l_write_csv},
                                   {NULL, NULL}};

/* A part of lunette._io (src/lunette.c lists every part): CSV. */
int luaopen_lunette_io_csv(lua_State *L);
int luaopen_lunette_io_csv(lua_State *L) {
  luaL_newlib(L, csv_fns);
  return 1;
}
