/* ltensor.c - Lua binding for tensors: construction, metadata, views, copies, conversion. */
#include <math.h>
#include <string.h>
#include <time.h>
#include "tensor/lbase.h"
#include "tensor/tensor.h"

/* ---- construction --------------------------------------------------------- */

/* new(shape_table, dtype) -> uninitialised tensor */
static int t_new(lua_State *L) {
  int64_t shape[LT_MAXDIM];
  luaL_checktype(L, 1, LUA_TTABLE);
  int nd = ltL_check_shape(L, 1, "empty", shape);
  ltL_push_new_arg(L, 1, "empty", ltL_opt_dtype(L, 2, "empty", LT_F32), nd, shape);
  return 1;
}

/* full(shape_table, value, dtype [, name]): name is what the façade was
 * called as (zeros, ones, ...) so that errors name it. */
static int t_full(lua_State *L) {
  int64_t shape[LT_MAXDIM];
  const char *fname = luaL_optstring(L, 4, "full");
  luaL_checktype(L, 1, LUA_TTABLE);
  int nd = ltL_check_shape(L, 1, fname, shape);
  if (!lua_isnumber(L, 2) && !lua_isboolean(L, 2))
    return ltL_argerror(L, 2, fname, "number expected, got %s", luaL_typename(L, 2));
  double v = lua_isboolean(L, 2) ? lua_toboolean(L, 2) : lua_tonumber(L, 2);
  Tensor *t = ltL_push_new_arg(L, 1, fname, ltL_opt_dtype(L, 3, fname, LT_F32), nd, shape);
  /* An int64 fill from a Lua integer is written directly: through double (lt_fill), values past
   * 2^53 would round. */
  if (t->dtype == LT_I64 && lua_isinteger(L, 2)) {
    int64_t iv = lua_tointeger(L, 2), n = lt_numel(t);
    for (int64_t i = 0; i < n; i++) ((int64_t *)t->data)[i] = iv;
  } else
    ltL_check_status(L, lt_fill(t, v), fname);
  return 1;
}

/* Walks the first elements of a nested table to find its shape. */
static int nested_shape(lua_State *L, int idx, int64_t *shape) {
  int nd = 0;
  /* Follows the first element at each level only; fill_nested later checks that every other
   * element agrees (a ragged table is an error there). */
  lua_pushvalue(L, idx);
  while (lua_istable(L, -1)) {
    if (nd == LT_MAXDIM) ltL_argerror(L, 1, "tensor", "nested deeper than %d levels", LT_MAXDIM);
    shape[nd++] = (int64_t)lua_rawlen(L, -1);
    /* An empty level ends the walk: nothing below it can be seen. */
    if (shape[nd - 1] == 0) break;
    lua_rawgeti(L, -1, 1);
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
  return nd;
}

/* The cursor of fill_nested: the next row-major position pos in t, and the shape every level
 * must match. */
typedef struct {
  Tensor *t;
  int64_t pos;
  int nd;
  const int64_t *shape;
  int is_int;
} FillState;

/* Writes the leaves of the nested table on top of the stack into t in row-major order, checking
 * at each level that the length matches the shape. Integers go to integer dtypes exactly
 * (lt_set_i64); everything else through double. */
static void fill_nested(lua_State *L, FillState *fs, int depth) {
  if (depth == fs->nd) {
    int t = lua_type(L, -1);
    size_t es = lt_dtype_size(fs->t->dtype);
    char *p = (char *)fs->t->data + (size_t)fs->pos * es;
    if (t == LUA_TBOOLEAN)
      lt_set_f64(p, fs->t->dtype, lua_toboolean(L, -1));
    else if (t != LUA_TNUMBER)
      ltL_argerror(L, 1, "tensor", "number expected at depth %d, got %s", depth,
                   luaL_typename(L, -1));
    else if (lua_isinteger(L, -1) && !lt_dtype_is_float(fs->t->dtype))
      lt_set_i64(p, fs->t->dtype, lua_tointeger(L, -1));
    else
      lt_set_f64(p, fs->t->dtype, lua_tonumber(L, -1));
    fs->pos++;
    return;
  }
  if (!lua_istable(L, -1) || (int64_t)lua_rawlen(L, -1) != fs->shape[depth])
    ltL_argerror(L, 1, "tensor", "ragged nested table: expected %lld elements at depth %d",
                 (long long)fs->shape[depth], depth + 1);
  for (int64_t i = 1; i <= fs->shape[depth]; i++) {
    lua_rawgeti(L, -1, i);
    fill_nested(L, fs, depth + 1);
    lua_pop(L, 1);
  }
}

/* Infers a dtype from the leaves as numpy and torch do: all booleans give
 * bool, all integers int64, any float float32. */
static void infer_leaves(lua_State *L, int depth, int *kinds) {
  /* kinds[0], [1], [2]: a boolean, an integer, a float (or anything else) was seen. The depth
   * bound stops a table that contains itself. */
  if (!lua_istable(L, -1) || depth > LT_MAXDIM) {
    int t = lua_type(L, -1);
    kinds[t == LUA_TBOOLEAN ? 0 : (t == LUA_TNUMBER && lua_isinteger(L, -1)) ? 1 : 2] = 1;
    return;
  }
  lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
  /* One float settles the answer (float32), so the walk stops there. */
  for (lua_Integer i = 1; i <= n && !kinds[2]; i++) {
    lua_rawgeti(L, -1, i);
    infer_leaves(L, depth + 1, kinds);
    lua_pop(L, 1);
  }
}

/* fromtable(nested, dtype) */
static int t_fromtable(lua_State *L) {
  int64_t shape[LT_MAXDIM];
  luaL_checktype(L, 1, LUA_TTABLE);
  int nd = nested_shape(L, 1, shape);
  LtDtype dt = lua_isnoneornil(L, 2) ? LT_BOOL : ltL_check_dtype(L, 2, "tensor");
  /* sized before any leaf is visited: rows shared by reference make a
   * table of 1e20 leaves out of 3e5 entries (bool is the smallest dtype) */
  ltL_check_new(L, 1, "tensor", dt, nd, shape);
  /* Without a dtype, that check used bool as a lower bound; ltL_push_new_arg below checks the
   * inferred one again. */
  if (lua_isnoneornil(L, 2)) {
    int kinds[3] = {0, 0, 0};
    lua_pushvalue(L, 1);
    infer_leaves(L, 0, kinds);
    lua_pop(L, 1);
    /* Any float gives float32, else any integer int64, else bool; an empty table is float32. */
    dt = kinds[2] ? LT_F32 : kinds[1] ? LT_I64 : kinds[0] ? LT_BOOL : LT_F32;
  }
  Tensor *t = ltL_push_new_arg(L, 1, "tensor", dt, nd, shape);
  FillState fs = {t, 0, nd, shape, 0};
  lua_pushvalue(L, 1);
  fill_nested(L, &fs, 0);
  lua_pop(L, 1);
  return 1;
}

/* frombytes(str, dtype, shape_table) */
static int t_frombytes(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  LtDtype dt = ltL_check_dtype(L, 2, "frombytes");
  int64_t shape[LT_MAXDIM];
  int nd = 1;
  /* No shape: a 1-d tensor of as many whole elements as the bytes hold (the length check below
   * refuses a remainder). */
  if (lua_isnoneornil(L, 3))
    shape[0] = (int64_t)(len / lt_dtype_size(dt));
  else {
    luaL_checktype(L, 3, LUA_TTABLE);
    nd = ltL_check_shape(L, 3, "frombytes", shape);
  }
  int64_t n = lt_shape_numel_checked(nd, shape, lt_dtype_size(dt));
  if (n < 0 || (size_t)n * lt_dtype_size(dt) != len)
    return ltL_argerror(L, 1, "frombytes", "%zu bytes do not make the requested shape of %s", len,
                        lt_dtype_name(dt));
  Tensor *t = ltL_push_new(L, dt, nd, shape);
  memcpy(t->data, s, len);
  return 1;
}

/* arange(start, stop, step, dtype): stop exclusive, like numpy */
static int t_arange(lua_State *L) {
  double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2), st = luaL_optnumber(L, 3, 1);
  int allint =
      lua_isinteger(L, 1) && lua_isinteger(L, 2) && (lua_isnoneornil(L, 3) || lua_isinteger(L, 3));
  /* Validate before computing the count: a NaN or zero step would make it meaningless. */
  if (st == 0 || !isfinite(a) || !isfinite(b) || !isfinite(st))
    return ltL_argerror(L, 3, "arange", "step must be finite and non-zero");
  /* numpy's count, ceil((stop - start) / step); the cap keeps a typo (arange(0, 1e15)) from
   * trying to allocate petabytes. */
  double n = ceil((b - a) / st);
  if (n < 0) n = 0;
  if (n > 1e12) return ltL_argerror(L, 2, "arange", "too many elements (%.0f)", n);
  int64_t shape[1] = {(int64_t)n};
  Tensor *t = ltL_push_new(L, ltL_opt_dtype(L, 4, "arange", allint ? LT_I64 : LT_F32), 1, shape);
  lt_arange(t, a, st);
  return 1;
}

static int t_linspace(lua_State *L) {
  double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2);
  int64_t n = ltL_check_int(L, 3, "linspace", "count");
  if (n < 0)
    return ltL_argerror(L, 3, "linspace", "count must be non-negative, got %lld", (long long)n);
  int64_t shape[1] = {n};
  Tensor *t = ltL_push_new_arg(L, 3, "linspace", ltL_opt_dtype(L, 4, "linspace", LT_F32), 1, shape);
  /* Element i is start + i*step, computed from i rather than accumulated, so errors do not build
   * up; the last element is then set to exactly stop. */
  lt_arange(t, a, n > 1 ? (b - a) / (double)(n - 1) : 0);
  if (n > 1) lt_set_f64((char *)t->data + (size_t)(n - 1) * lt_dtype_size(t->dtype), t->dtype, b);
  return 1;
}

static int t_eye(lua_State *L) {
  /* Both sizes are checked: lua_tointeger would turn a fractional m (or a dtype name in its
   * place) into 0 and give an [n x 0] tensor. */
  int64_t n = ltL_check_int(L, 1, "eye", "rows");
  int64_t m = lua_isnoneornil(L, 2) ? n : ltL_check_int(L, 2, "eye", "columns");
  if (n < 0 || m < 0) return ltL_argerror(L, n < 0 ? 1 : 2, "eye", "size must be non-negative");
  int64_t shape[2] = {n, m};
  Tensor *t = ltL_push_new_arg(L, 1, "eye", ltL_opt_dtype(L, 3, "eye", LT_F32), 2, shape);
  ltL_check_status(L, lt_fill(t, 0), "eye");
  size_t es = lt_dtype_size(t->dtype);
  for (int64_t i = 0; i < n && i < m; i++)
    lt_set_f64((char *)t->data + (size_t)(i * m + i) * es, t->dtype, 1);
  return 1;
}

/* ---- metadata ------------------------------------------------------------- */

static int t_size(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "size");
  if (!lua_isnoneornil(L, 2)) {
    lua_pushinteger(L, t->shape[ltL_check_dim(L, 2, "size", t->ndim)]);
    return 1;
  }
  lua_createtable(L, t->ndim, 0);
  for (int i = 0; i < t->ndim; i++) {
    lua_pushinteger(L, t->shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int t_stride(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "stride");
  lua_createtable(L, t->ndim, 0);
  for (int i = 0; i < t->ndim; i++) {
    lua_pushinteger(L, t->stride[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int t_dim(lua_State *L) {
  lua_pushinteger(L, ltL_check_tensor(L, 1, "dim")->ndim);
  return 1;
}
static int t_numel(lua_State *L) {
  lua_pushinteger(L, lt_numel(ltL_check_tensor(L, 1, "numel")));
  return 1;
}
static int t_dtype(lua_State *L) {
  lua_pushstring(L, lt_dtype_name(ltL_check_tensor(L, 1, "dtype")->dtype));
  return 1;
}
static int t_is_contiguous(lua_State *L) {
  lua_pushboolean(L, lt_is_contiguous(ltL_check_tensor(L, 1, "is_contiguous")));
  return 1;
}
static int t_nbytes(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "nbytes");
  lua_pushinteger(L, lt_numel(t) * (int64_t)lt_dtype_size(t->dtype));
  return 1;
}

/* same_storage(a, b): do two tensors share memory? */
static int t_same_storage(lua_State *L) {
  ltL_check_tensor(L, 1, "same_storage");
  ltL_check_tensor(L, 2, "same_storage");
  lua_getiuservalue(L, 1, 1);
  lua_getiuservalue(L, 2, 1);
  /* Two tensors share memory exactly when their user values are the same storage (views never
   * chain, so no walk is needed). */
  lua_pushboolean(L, lua_rawequal(L, -1, -2));
  return 1;
}

static void push_elem(lua_State *L, const void *p, LtDtype dt) {
  /* Booleans come back as Lua booleans and integer dtypes as Lua integers, so values round-trip
   * through a table exactly. */
  if (dt == LT_BOOL)
    lua_pushboolean(L, *(const uint8_t *)p != 0);
  else if (lt_dtype_is_float(dt))
    lua_pushnumber(L, lt_get_f64(p, dt));
  else
    lua_pushinteger(L, lt_get_i64(p, dt));
}

static int t_item(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "item");
  char b[64];
  if (lt_numel(t) != 1)
    return ltL_argerror(L, 1, "item", "a tensor with one element expected, got shape %s",
                        ltL_shape_of(t, b, sizeof b));
  int64_t idx[LT_MAXDIM] = {0};
  push_elem(L, lt_elem_ptr(t, idx), t->dtype);
  return 1;
}

/* get(t, i1, ..., in): 1-based element read */
static int t_get(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "get");
  int64_t idx[LT_MAXDIM];
  if (lua_gettop(L) - 1 != t->ndim)
    return ltL_argerror(L, 2, "get", "%d indices expected, got %d", t->ndim, lua_gettop(L) - 1);
  for (int i = 0; i < t->ndim; i++) {
    int64_t v = ltL_check_int(L, i + 2, "get", "index");
    /* Negative indices count from the end (-1 is the last), as in Lua's string functions. */
    if (v < 0) v += t->shape[i] + 1;
    if (v < 1 || v > t->shape[i])
      return ltL_argerror(L, i + 2, "get", "index %lld out of range for dim %d of size %lld",
                          (long long)lua_tointeger(L, i + 2), i + 1, (long long)t->shape[i]);
    idx[i] = v - 1;
  }
  push_elem(L, lt_elem_ptr(t, idx), t->dtype);
  return 1;
}

static void totable_rec(lua_State *L, const Tensor *t, int d, int64_t *idx) {
  if (d == t->ndim) {
    push_elem(L, lt_elem_ptr(t, idx), t->dtype);
    return;
  }
  lua_createtable(L, (int)t->shape[d], 0);
  for (int64_t i = 0; i < t->shape[d]; i++) {
    idx[d] = i;
    totable_rec(L, t, d + 1, idx);
    lua_rawseti(L, -2, i + 1);
  }
}

static int t_totable(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "totable");
  int64_t idx[LT_MAXDIM] = {0};
  /* A Lua table costs far more per element than a tensor: refuse sizes that would exhaust memory
   * long before the table is built. */
  if (lt_numel(t) > 100000000)
    return ltL_argerror(L, 1, "totable", "tensor too large for a Lua table");
  totable_rec(L, t, 0, idx);
  return 1;
}

static int t_tobytes(lua_State *L) {
  ltL_check_tensor(L, 1, "tobytes");
  Tensor *c = ltL_push_contiguous(L, 1);
  lua_pushlstring(L, c->data, (size_t)lt_numel(c) * lt_dtype_size(c->dtype));
  return 1;
}

/* ---- copies and conversion ------------------------------------------------ */

static int t_to(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "to");
  LtDtype dt = ltL_check_dtype(L, 2, "to");
  /* Same dtype and no copy flag: return t itself, as torch's .to does. */
  if (dt == t->dtype && !lua_toboolean(L, 3)) {
    lua_settop(L, 1);
    return 1;
  }
  Tensor *o = ltL_push_new_like(L, t, dt);
  ltL_check_status(L, lt_copy(o, t), "to");
  return 1;
}

static int t_clone(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "clone");
  Tensor *o = ltL_push_new_like(L, t, t->dtype);
  ltL_check_status(L, lt_copy(o, t), "clone");
  return 1;
}

static int t_contiguous(lua_State *L) {
  ltL_check_tensor(L, 1, "contiguous");
  ltL_push_contiguous(L, 1);
  return 1;
}

/* copy_(dst, src): src (tensor or number) broadcast into dst, in place. */
static int t_copy_(lua_State *L) {
  Tensor *d = ltL_check_tensor(L, 1, "copy_");
  Tensor *s = ltL_check_operand(L, 2, "copy_", d->dtype);
  Tensor v;
  char b1[64], b2[64];
  /* A number was turned into a 0-d tensor of dst's dtype by ltL_check_operand; either way the
   * source is broadcast to dst's shape as a view, without copying it first. */
  if (lt_expand_view(s, d->ndim, d->shape, &v) != LT_OK)
    return ltL_argerror(L, 2, "copy_", "shape mismatch: cannot broadcast %s to %s",
                        ltL_shape_of(s, b1, sizeof b1), ltL_shape_of(d, b2, sizeof b2));
  ltL_check_status(L, lt_copy(d, &v), "copy_");
  lua_settop(L, 1);
  return 1;
}

static int t_fill_(lua_State *L) {
  ltL_check_tensor(L, 1, "fill_");
  if (!lua_isnumber(L, 2) && !lua_isboolean(L, 2))
    return ltL_argerror(L, 2, "fill_", "number expected, got %s", luaL_typename(L, 2));
  /* Dropping any extra arguments lets fill_ reuse copy_'s path: the number becomes a 0-d tensor
   * broadcast over t. */
  lua_settop(L, 2);
  return t_copy_(L);
}

static int t_memory(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)ltL_memory_live(L));
  return 1;
}

/* memory_cache([cap]) -> {held, cap, blocks, hits, misses}; a cap (bytes >= 0) is set first. */
static int t_memory_cache(lua_State *L) {
  LtBlockCache *c = ltL_block_cache(L);
  if (!lua_isnoneornil(L, 1)) {
    lua_Integer cap = ltL_check_int(L, 1, "memory_cache", "cap");
    if (cap < 0) ltL_argerror(L, 1, "memory_cache", "cap must be >= 0, got %lld", (long long)cap);
    if (c) lt_cache_set_cap(c, (size_t)cap);
  }
  lua_createtable(L, 0, 5);
  lua_pushinteger(L, c ? (lua_Integer)c->bytes : 0);
  lua_setfield(L, -2, "held");
  lua_pushinteger(L, c ? (lua_Integer)c->cap : 0);
  lua_setfield(L, -2, "cap");
  lua_pushinteger(L, c ? c->count : 0);
  lua_setfield(L, -2, "blocks");
  lua_pushinteger(L, c ? (lua_Integer)c->hits : 0);
  lua_setfield(L, -2, "hits");
  lua_pushinteger(L, c ? (lua_Integer)c->misses : 0);
  lua_setfield(L, -2, "misses");
  return 1;
}

static int t_clock(lua_State *L) {
  struct timespec ts;
  /* Monotonic: differences are elapsed time even if the wall clock is adjusted. */
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
  return 1;
}

static const luaL_Reg tensor_methods[] = {{"size", t_size},
                                          {"stride", t_stride},
                                          {"dim", t_dim},
                                          {"numel", t_numel},
                                          {"dtype", t_dtype},
                                          {"is_contiguous", t_is_contiguous},
                                          {"nbytes", t_nbytes},
                                          {"item", t_item},
                                          {"get", t_get},
                                          {"totable", t_totable},
                                          {"tobytes", t_tobytes},
                                          {"to", t_to},
                                          {"clone", t_clone},
                                          {"contiguous", t_contiguous},
                                          {"copy_", t_copy_},
                                          {"fill_", t_fill_},
                                          {"same_storage", t_same_storage},
                                          {NULL, NULL}};

static const luaL_Reg module_fns[] = {{"empty", t_new},
                                      {"full", t_full},
                                      {"fromtable", t_fromtable},
                                      {"frombytes", t_frombytes},
                                      {"arange", t_arange},
                                      {"linspace", t_linspace},
                                      {"eye", t_eye},
                                      {"memory", t_memory},
                                      {"memory_cache", t_memory_cache},
                                      {"clock", t_clock},
                                      {NULL, NULL}};

/* The main part of lunette._tensor (src/lunette.c lists every part).
 * The metatable keeps methods in `__methods`; lua/lunette/tensor.lua
 * installs __index (methods, properties and slicing) and the operators. */
int luaopen_lunette_tensor(lua_State *L);
int luaopen_lunette_tensor(lua_State *L) {
  luaL_newlib(L, module_fns);
  ltL_register_tensor_methods(L, tensor_methods);
  luaL_getmetatable(L, LT_TENSOR_MT);
  lua_setfield(L, -2, "meta");
  return 1;
}
