/* lio_npy.c - Lua binding for .npy: read_npy, write_npy, open_npy (rows of large arrays on
 * demand). */
#include <string.h>
#include "tensor/lbase.h"
#include "io/lio.h"
#include "io/io_npy.h"

#define NPY_MT "lunette.io.NpyFile"

/* read_npy(path [, opts]) -> tensor | nil, message */
static int l_read_npy(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  LioHandle *h = lio_handle(L, 2, "read_npy");
  IoSrc *s;
  IoArray a;
  LtStatus st = lio_open_file(h, path, &s);
  if (st == LT_OK) st = io_npy_parse(&h->ctx, s, 1, &a);
  if (st == LT_OK) st = lio_push_array(L, h, s, &a);
  if (st) return lio_fail(L, h, path, st);
  lio_close(h);
  return 1;
}

/* read_npy_bytes(string) -> tensor | nil, message (fuzz replays, tests) */
static int l_read_npy_bytes(lua_State *L) {
  size_t n;
  const char *b = luaL_checklstring(L, 1, &n);
  LioHandle *h = lio_handle(L, 2, "read_npy_bytes");
  IoSrc *s;
  IoArray a;
  LtStatus st = io_src_mem(&h->ctx, b, n, &s);
  if (st == LT_OK) {
    lio_own_src(h, s);
    st = io_npy_parse(&h->ctx, s, 1, &a);
  }
  if (st == LT_OK) st = lio_push_array(L, h, s, &a);
  if (st) return lio_fail(L, h, "<bytes>", st);
  lio_close(h);
  return 1;
}

/* write_npy(path, tensor) -> true | nil, message */
static int l_write_npy(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  Tensor *t = ltL_check_tensor(L, 2, "write_npy");
  /* The header first: a dtype NumPy cannot hold is refused before any file is touched. */
  uint8_t head[1024];
  size_t hn = io_npy_header(t->dtype, t->ndim, t->shape, head);
  if (!hn)
    return ltL_argerror(L, 2, "write_npy", "NumPy has no %s dtype (convert with :float())",
                        lt_dtype_name(t->dtype));
  LioHandle *h = lio_handle(L, 0, "write_npy");
  /* A .npy holds C-order data: a strided view is copied first. */
  Tensor *c = ltL_push_contiguous(L, 2);
  IoWriter *w;
  LtStatus st = lio_open_writer(h, path, &w);
  if (st) return lio_fail(L, h, path, st);
  st = io_writer_write(&h->ctx, w, head, hn);
  if (st == LT_OK)
    st = io_writer_write(&h->ctx, w, c->data, (size_t)lt_numel(c) * lt_dtype_size(c->dtype));
  if (st == LT_OK) st = io_writer_commit(&h->ctx, w);
  if (st) return lio_fail(L, h, path, st);
  lio_close(h);
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- NpyFile: an open .npy whose rows are read on demand ------------------- */

/* An open .npy: its parsed header and source, owned by the handle h (the userdata's user value
 * keeps h alive); h is NULL once closed. */
typedef struct {
  IoArray a;
  IoSrc *src;
  LioHandle *h;
} NpyFile;

static NpyFile *check_npy(lua_State *L, const char *fname) {
  NpyFile *f = luaL_checkudata(L, 1, NPY_MT);
  if (!f->h) luaL_error(L, "%s: the .npy file is closed", fname);
  return f;
}

/* open_npy(path) -> NpyFile | nil, message */
static int l_open_npy(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_settop(L, 1);
  /* The userdata exists, zeroed (closed), before anything is opened: a failure below leaves a
   * closed object for the collector, never a half-open one. */
  NpyFile *f = lua_newuserdatauv(L, sizeof *f, 1);
  memset(f, 0, sizeof *f);
  luaL_setmetatable(L, NPY_MT);
  LioHandle *h = lio_handle(L, 0, "open_npy");
  LtStatus st = lio_open_file(h, path, &f->src);
  if (st == LT_OK) st = io_npy_parse(&h->ctx, f->src, 1, &f->a);
  /* Rows are read as tensors: a text array is read whole, by read_npy. */
  if (st == LT_OK && f->a.text)
    st = io_fail(&h->ctx, LT_EDTYPE, "string arrays are read whole (read_npy), not by rows");
  if (st) return lio_fail(L, h, path, st);
  lua_setiuservalue(L, -2, 1); /* the file keeps its handle alive */
  f->h = h;
  return 1;
}

static int npy_shape(lua_State *L) {
  NpyFile *f = check_npy(L, "shape");
  lua_createtable(L, f->a.ndim, 0);
  for (int i = 0; i < f->a.ndim; i++) {
    /* The parser reversed a Fortran-order shape to describe the stored bytes; the user sees the
     * array's own shape. */
    lua_pushinteger(L, f->a.shape[f->a.fortran ? f->a.ndim - 1 - i : i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int npy_dtype(lua_State *L) {
  NpyFile *f = check_npy(L, "dtype");
  lua_pushstring(L, lt_dtype_name(io_stype_dtype(f->a.st)));
  return 1;
}

static int npy_len(lua_State *L) {
  NpyFile *f = check_npy(L, "__len");
  lua_pushinteger(L, f->a.ndim ? f->a.shape[f->a.fortran ? f->a.ndim - 1 : 0] : 1);
  return 1;
}

/* f:read([first [, count]]) -> rows first..first+count-1 (1-based) as a tensor */
static int npy_read(lua_State *L) {
  NpyFile *f = check_npy(L, "read");
  IoArray *a = &f->a;
  if (lua_isnoneornil(L, 2)) {
    LtStatus st = lio_push_array(L, f->h, f->src, a);
    if (st) return lio_fail_keep(L, f->h, "read", st);
    return 1;
  }
  /* Rows of a Fortran-order array are not contiguous in the file: only whole reads. */
  if (a->fortran && a->ndim > 1)
    return luaL_error(L,
                      "read: row ranges of a Fortran-order array are not supported; read it whole");
  int64_t rows = a->ndim ? a->shape[0] : 1;
  int64_t first = ltL_check_int(L, 2, "read", "first row");
  /* first is checked before any arithmetic with it: read(math.maxinteger, 2)
   * overflowed first + count - 1 building this very message */
  if (first < 1 || first > rows + 1)
    return ltL_argerror(L, 2, "read", "first row %lld out of range 1..%lld", (long long)first,
                        (long long)rows + 1);
  /* first may be rows + 1 (with count 0): an empty read just past the end, as a loop over
   * batches ends. */
  int64_t left = rows - first + 1;
  int64_t count = lua_isnoneornil(L, 3) ? left : ltL_check_int(L, 3, "read", "count");
  if (count < 0 || count > left)
    return ltL_argerror(L, 3, "read", "count %lld from row %lld out of range 0..%lld (%lld rows)",
                        (long long)count, (long long)first, (long long)left, (long long)rows);
  int64_t shape[LT_MAXDIM];
  memcpy(shape, a->shape, sizeof shape);
  /* A 0-d array reads as one row of shape [1]. */
  int nd = a->ndim ? a->ndim : 1;
  shape[0] = count;
  Tensor *t = ltL_push_new(L, io_stype_dtype(a->st), nd, shape);
  LtStatus st = io_array_read_rows(&f->h->ctx, f->src, a, first - 1, count, t->data);
  if (st) return lio_fail_keep(L, f->h, "read", st);
  return 1;
}

static int npy_close(lua_State *L) {
  NpyFile *f = luaL_checkudata(L, 1, NPY_MT);
  /* Closing releases the file now; the handle itself goes with the userdata's user value. */
  if (f->h) lio_close(f->h);
  f->h = NULL;
  f->src = NULL;
  return 0;
}

static int npy_tostring(lua_State *L) {
  NpyFile *f = luaL_checkudata(L, 1, NPY_MT);
  char b[128];
  if (!f->h) {
    lua_pushliteral(L, "NpyFile (closed)");
    return 1;
  }
  int64_t shape[LT_MAXDIM];
  for (int i = 0; i < f->a.ndim; i++) shape[i] = f->a.shape[f->a.fortran ? f->a.ndim - 1 - i : i];
  lua_pushfstring(L, "NpyFile %s %s", lt_dtype_name(io_stype_dtype(f->a.st)),
                  io_shape_str(f->a.ndim, shape, b, sizeof b));
  return 1;
}

static const luaL_Reg npy_methods[] = {{"shape", npy_shape},
                                       {"dtype", npy_dtype},
                                       {"read", npy_read},
                                       {"close", npy_close},
                                       {NULL, NULL}};
static const luaL_Reg npy_meta[] = {{"__len", npy_len},
                                    {"__gc", npy_close},
                                    {"__close", npy_close},
                                    {"__tostring", npy_tostring},
                                    {NULL, NULL}};
static const luaL_Reg npy_fns[] = {{"read_npy", l_read_npy},
                                   {"read_npy_bytes", l_read_npy_bytes},
                                   {"write_npy", l_write_npy},
                                   {"open_npy", l_open_npy},
                                   {NULL, NULL}};

/* A part of lunette._io (src/lunette.c lists every part): .npy, with the metatable of
 * the NpyFile objects its open function returns. */
int luaopen_lunette_io_npy(lua_State *L);
int luaopen_lunette_io_npy(lua_State *L) {
  luaL_newmetatable(L, NPY_MT);
  luaL_setfuncs(L, npy_meta, 0);
  luaL_newlib(L, npy_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newlib(L, npy_fns);
  return 1;
}
