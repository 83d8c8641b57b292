/* lio_hdf5.c - Lua binding for HDF5 (io_hdf5.c): h5_list, h5_info, h5_read, h5_attrs and
 * h5_write, each opening the file for the call; the façade (io.read_hdf5, io.open_hdf5,
 * io.write_hdf5) builds on them. */
#include <string.h>
#include "tensor/lbase.h"
#include "io/lio.h"
#include "io/io_hdf5.h"

static void close_h5(IoCtx *c, void *p) { io_h5_close(c, p); }

/* Opens path for reading, owned by h; raises nothing: the status for lio_fail. */
static LtStatus open_read(LioHandle *h, const char *path, IoH5 **f) {
  LtStatus st = io_h5_open(&h->ctx, path, 0, f);
  if (!st) lio_own(h, close_h5, *f);
  return st;
}

typedef struct {
  lua_State *L;
  int ds, gr; /* the two result arrays */
} ListUd;

static int list_cb(void *ud, const char *name, int is_dataset) {
  ListUd *u = ud;
  int t = is_dataset ? u->ds : u->gr;
  lua_pushstring(u->L, name);
  lua_rawseti(u->L, t, (lua_Integer)lua_rawlen(u->L, t) + 1);
  return 0;
}

/* h5_list(path [, limits]) -> datasets, groups (names in order) | nil, message */
static int l_h5_list(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  LioHandle *h = lio_handle(L, 2, "read_hdf5");
  IoH5 *f;
  LtStatus st = open_read(h, path, &f);
  if (st) return lio_fail(L, h, path, st);
  lua_newtable(L);
  lua_newtable(L);
  ListUd u = {L, lua_gettop(L) - 1, lua_gettop(L)};
  if ((st = io_h5_list(&h->ctx, f, list_cb, &u))) return lio_fail(L, h, path, st);
  lio_close(h);
  return 2;
}

static void push_info(lua_State *L, const IoH5Info *in) {
  lua_createtable(L, 0, 2);
  lua_createtable(L, in->ndim, 0);
  for (int i = 0; i < in->ndim; i++) {
    lua_pushinteger(L, in->shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "shape");
  lua_pushstring(L, in->text ? "string" : lt_dtype_name(in->dt));
  lua_setfield(L, -2, "dtype");
}

/* h5_info(path, name [, limits]) -> {shape, dtype} | nil, message */
static int l_h5_info(lua_State *L) {
  const char *path = luaL_checkstring(L, 1), *name = luaL_checkstring(L, 2);
  LioHandle *h = lio_handle(L, 3, "open_hdf5");
  IoH5 *f;
  IoH5Info in;
  LtStatus st = open_read(h, path, &f);
  if (!st) st = io_h5_info(&h->ctx, f, name, NULL, &in);
  if (st) return lio_fail(L, h, path, st);
  push_info(L, &in);
  lio_close(h);
  return 1;
}

/* Pushes dataset name (attr NULL) or attribute attr of name: rows [first, first + count) of a
 * numeric dataset as a tensor (count < 0: all); text as a string array in C order (a scalar as a
 * string); a scalar attribute number as a Lua number. */
static LtStatus push_value(lua_State *L, LioHandle *h, IoH5 *f, const char *name, const char *attr,
                           int64_t first, int64_t count) {
  IoH5Info in;
  LtStatus st = io_h5_info(&h->ctx, f, name, attr, &in);
  if (st) return st;
  if (in.text) {
    int64_t n, *off;
    char *blob;
    size_t cap;
    if ((st = io_h5_read_text(&h->ctx, f, name, attr, &n, &blob, &cap, &off))) return st;
    /* Owned until pushed: a Lua memory error while pushing frees them at collection. */
    if ((st = lio_own_buf(h, blob, cap)) || (st = lio_own_buf(h, off, (size_t)(n + 1) * 8)))
      return st;
    if (in.ndim == 0) {
      lua_pushlstring(L, blob, (size_t)(off[1] - off[0]));
    } else {
      lua_createtable(L, (int)n, 0);
      for (int64_t i = 0; i < n; i++) {
        lua_pushlstring(L, blob + off[i], (size_t)(off[i + 1] - off[i]));
        lua_rawseti(L, -2, i + 1);
      }
    }
    lio_release(h, off);
    lio_release(h, blob);
    return LT_OK;
  }
  if (in.ndim == 0) first = 0, count = 1;
  if (count < 0) first = 0, count = in.shape[0];
  if (in.ndim > 0) {
    if (first < 0 || count < 0 || first > in.shape[0] || count > in.shape[0] - first)
      return io_fail(&h->ctx, LT_EVALUE, "rows %lld..%lld are outside '%s' (%lld rows)",
                     (long long)first + 1, (long long)(first + count), name,
                     (long long)in.shape[0]);
    in.shape[0] = count;
  }
  /* A size the file states is checked against max_inflate before the tensor is made (a
   * compressed dataset may hold more than the file's own size). */
  uint64_t bytes = lt_dtype_size(in.dt);
  for (int i = 0; i < in.ndim; i++) {
    if (in.shape[i] && bytes > UINT64_MAX / (uint64_t)in.shape[i])
      bytes = UINT64_MAX;
    else
      bytes *= (uint64_t)in.shape[i];
  }
  if (bytes > h->ctx.max_inflate)
    return io_fail(&h->ctx, LT_ERANGE, "'%s' holds %llu bytes, over max_inflate", name,
                   (unsigned long long)bytes);
  Tensor *t = ltL_push_new(L, in.dt, in.ndim, in.shape);
  if ((st = io_h5_read(&h->ctx, f, name, attr, first, count, t->data))) {
    lua_pop(L, 1);
    return st;
  }
  if (attr && in.ndim == 0) {
    /* A scalar attribute (h5py's f.attrs["lr"] = 0.1) is a Lua number. */
    if (lt_dtype_is_float(in.dt))
      lua_pushnumber(L, lt_get_f64(t->data, in.dt));
    else
      lua_pushinteger(L, (lua_Integer)lt_get_i64(t->data, in.dt));
    lua_remove(L, -2);
  }
  return LT_OK;
}

/* h5_read(path, name [, first, count [, limits]]) -> value | nil, message (first 0-based) */
static int l_h5_read(lua_State *L) {
  const char *path = luaL_checkstring(L, 1), *name = luaL_checkstring(L, 2);
  int64_t first = luaL_optinteger(L, 3, 0), count = luaL_optinteger(L, 4, -1);
  LioHandle *h = lio_handle(L, 5, "read_hdf5");
  IoH5 *f;
  LtStatus st = open_read(h, path, &f);
  if (!st) st = push_value(L, h, f, name, NULL, first, count);
  if (st) return lio_fail(L, h, path, st);
  lio_close(h);
  return 1;
}

typedef struct {
  lua_State *L;
  int names;
} AttrUd;

static int attr_cb(void *ud, const char *attr) {
  AttrUd *u = ud;
  lua_pushstring(u->L, attr);
  lua_rawseti(u->L, u->names, (lua_Integer)lua_rawlen(u->L, u->names) + 1);
  return 0;
}

/* h5_attrs(path, name [, limits]) -> {attr = value} | nil, message ("" or "/": the root) */
static int l_h5_attrs(lua_State *L) {
  const char *path = luaL_checkstring(L, 1), *name = luaL_checkstring(L, 2);
  LioHandle *h = lio_handle(L, 3, "read_hdf5");
  IoH5 *f;
  LtStatus st = open_read(h, path, &f);
  if (st) return lio_fail(L, h, path, st);
  lua_newtable(L); /* names first, then the values */
  AttrUd u = {L, lua_gettop(L)};
  if ((st = io_h5_attr_names(&h->ctx, f, name, attr_cb, &u))) return lio_fail(L, h, path, st);
  lua_newtable(L);
  int out = lua_gettop(L);
  for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, u.names); i++) {
    lua_rawgeti(L, u.names, i);
    const char *a = lua_tostring(L, -1);
    if ((st = push_value(L, h, f, name, a, 0, -1))) return lio_fail(L, h, path, st);
    lua_rawset(L, out);
  }
  lio_close(h);
  return 1;
}

/* Writes the value at idx as dataset name (attr NULL) or attribute attr of name: a contiguous
 * tensor, a string, a string array, or (attributes) a Lua number. Raises on a bad value. */
static LtStatus write_value(lua_State *L, LioHandle *h, IoH5 *f, const char *name, const char *attr,
                            int idx) {
  const char *what = attr ? attr : name;
  Tensor *t = ltL_totensor(L, idx);
  if (t) return io_h5_write(&h->ctx, f, name, attr, t);
  if (lua_type(L, idx) == LUA_TSTRING) {
    const char *s = lua_tostring(L, idx);
    return io_h5_write_text(&h->ctx, f, name, attr, &s, 1, 1);
  }
  if (attr && lua_type(L, idx) == LUA_TNUMBER) {
    int64_t one[1] = {1};
    Tensor *v = ltL_push_new(L, lua_isinteger(L, idx) ? LT_I64 : LT_F64, 1, one);
    if (v->dtype == LT_I64)
      *(int64_t *)v->data = lua_tointeger(L, idx);
    else
      *(double *)v->data = lua_tonumber(L, idx);
    v->ndim = 0; /* a scalar attribute */
    LtStatus st = io_h5_write(&h->ctx, f, name, attr, v);
    lua_pop(L, 1);
    return st;
  }
  if (!lua_istable(L, idx))
    ltL_argerror(L, 2, "write_hdf5", "'%s' must be a tensor, a string or a string array, got %s",
                 what, luaL_typename(L, idx));
  size_t n = lua_rawlen(L, idx);
  const char **s = lua_newuserdatauv(L, (n ? n : 1) * sizeof *s, 0); /* freed by Lua */
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, idx, (lua_Integer)i + 1);
    size_t len;
    s[i] = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    if (!s[i])
      ltL_argerror(L, 2, "write_hdf5", "'%s': entry %lld is a %s, not a string", what,
                   (long long)i + 1, luaL_typename(L, -1));
    if (strlen(s[i]) != len)
      ltL_argerror(L, 2, "write_hdf5", "'%s': entry %lld holds a NUL byte", what, (long long)i + 1);
    lua_pop(L, 1); /* alive in the array */
  }
  LtStatus st = io_h5_write_text(&h->ctx, f, name, attr, s, (int64_t)n, 0);
  lua_pop(L, 1);
  return st;
}

/* h5_write(path, names, values, attrs) -> true | nil, message: datasets values[names[i]] in
 * order, then attrs[obj][key] for each obj (names or "/"). Tensors are contiguous (façade). */
static int l_h5_write(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  luaL_checktype(L, 4, LUA_TTABLE);
  lua_settop(L, 4);
  LioHandle *h = lio_handle(L, 0, "write_hdf5"); /* 5 */
  IoWriter *w;
  LtStatus st = lio_open_writer(h, path, &w);
  if (st) return lio_fail(L, h, path, st);
  /* libhdf5 writes the temporary by its own name; the atomic writer then commits it (the
   * rename), or removes it on any failure. */
  IoH5 *f;
  if ((st = io_h5_open(&h->ctx, w->tmp, 1, &f))) return lio_fail(L, h, path, st);
  lio_own(h, close_h5, f);
  for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, 2) && !st; i++) {
    lua_rawgeti(L, 2, i);
    const char *name = lua_tostring(L, -1);
    lua_pushvalue(L, -1);
    lua_gettable(L, 3);
    st = write_value(L, h, f, name, NULL, lua_gettop(L));
    lua_pop(L, 2);
  }
  lua_pushnil(L);
  while (!st && lua_next(L, 4)) {
    const char *obj = lua_tostring(L, -2);
    lua_pushnil(L);
    while (!st && lua_next(L, -2)) {
      st = write_value(L, h, f, obj, lua_tostring(L, -2), lua_gettop(L));
      lua_pop(L, 1);
    }
    lua_pop(L, st ? 2 : 1);
  }
  if (st) return lio_fail(L, h, path, st);
  /* Closed before the commit: libhdf5 flushes its caches into the temporary here. */
  lio_release(h, f);
  if ((st = io_writer_commit(&h->ctx, w))) return lio_fail(L, h, path, st);
  lio_close(h);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg h5_fns[] = {{"h5_list", l_h5_list},   {"h5_info", l_h5_info},
                                  {"h5_read", l_h5_read},   {"h5_attrs", l_h5_attrs},
                                  {"h5_write", l_h5_write}, {NULL, NULL}};

/* A part of lunette._io (src/lunette.c lists every part): HDF5. */
int luaopen_lunette_io_hdf5(lua_State *L);
int luaopen_lunette_io_hdf5(lua_State *L) {
  luaL_newlib(L, h5_fns);
  return 1;
}
