/* lsketch.c - Lua binding for Frequent Directions sketches ("lunette.FD") and projections. */
#include <string.h>
#include "tensor/lbase.h"
#include "sketch/sketch.h"

#define FD_MT "lunette.FD"

/* The sketch header; the buffer and both workspaces are tensors kept in the
 * userdata's user values (1: buffer, 2: float work, 3: double work) so the
 * GC counts and frees them. */
typedef struct {
  LtFd fd;
  LtFdWork work;
} FdUd;

static FdUd *check_fd(lua_State *L, int arg, const char *fname) {
  FdUd *u = luaL_testudata(L, arg, FD_MT);
  if (!u) ltL_argerror(L, arg, fname, "FD sketch expected, got %s", luaL_typename(L, arg));
  return u;
}

/* Pushes a new empty sketch (checked shape) with its zeroed buffer and workspaces. */
static FdUd *push_fd(lua_State *L, LtFdVariant v, int64_t ell, int64_t dim, LtDtype store) {
  int64_t cap = lt_fd_capacity(v, ell);
  FdUd *u = lua_newuserdatauv(L, sizeof(FdUd), 3);
  memset(u, 0, sizeof *u);
  /* The userdata is zeroed and typed before its buffers exist: if an allocation below raises, it
   * is left unreachable with no __gc to run. */
  luaL_setmetatable(L, FD_MT);
  int64_t bshape[2] = {cap, dim}, fshape[1] = {(int64_t)lt_fd_work_floats(cap)};
  int64_t dshape[1] = {(int64_t)lt_fd_work_doubles(cap)};
  Tensor *buf = ltL_push_new_arg(L, 2, "fd", store, 2, bshape);
  /* lt_fd_init's contract: a zeroed buffer. The workspaces need none; compressions write before
   * they read. */
  memset(buf->data, 0, (size_t)(cap * dim) * lt_dtype_size(store));
  lua_setiuservalue(L, -2, 1);
  Tensor *wf = ltL_push_new(L, LT_F32, 1, fshape);
  lua_setiuservalue(L, -2, 2);
  Tensor *wd = ltL_push_new(L, LT_F64, 1, dshape);
  lua_setiuservalue(L, -2, 3);
  lt_fd_init(&u->fd, v, ell, dim, store, buf->data);
  lt_fd_work_init(&u->work, cap, wf->data, wd->data);
  return u;
}

/* fd(ell, dim, dtype, variant) */
static int s_fd(lua_State *L) {
  int64_t ell = ltL_check_int(L, 1, "fd", "ell"), dim = ltL_check_int(L, 2, "fd", "dim");
  LtDtype store = ltL_opt_dtype(L, 3, "fd", LT_F32);
  const char *vname = luaL_optstring(L, 4, "fast");
  LtFdVariant v = strcmp(vname, "fast") == 0 ? LT_FD_FAST : LT_FD_CLASSIC;
  if (strcmp(vname, "fast") != 0 && strcmp(vname, "classic") != 0)
    return ltL_argerror(L, 4, "fd", "variant must be 'fast' or 'classic', got '%s'", vname);
  if (dim < 1) return ltL_argerror(L, 2, "fd", "dim must be positive, got %lld", (long long)dim);
  if (ell < 1 || ell >= dim)
    return ltL_argerror(L, 1, "fd", "ell must be in 1..dim-1 (dim = %lld), got %lld",
                        (long long)dim, (long long)ell);
  if (ell > LT_FD_MAX_ELL)
    return ltL_argerror(L, 1, "fd", "ell must be at most %d, got %lld", LT_FD_MAX_ELL,
                        (long long)ell);
  if (store != LT_F32 && store != LT_F16 && store != LT_BF16)
    return ltL_argerror(L, 3, "fd", "storage dtype must be float32, float16 or bfloat16, got %s",
                        lt_dtype_name(store));
  push_fd(L, v, ell, dim, store);
  return 1;
}

static void check_rows(lua_State *L, int arg, const char *fname, const Tensor *rows, int64_t dim) {
  char b[64];
  if (rows->ndim != 2 || rows->shape[1] != dim)
    ltL_argerror(L, arg, fname, "rows must be [n x %lld], got %s", (long long)dim,
                 ltL_shape_of(rows, b, sizeof b));
  if (!lt_dtype_is_float(rows->dtype))
    ltL_argerror(L, arg, fname, "float rows expected, got %s", lt_dtype_name(rows->dtype));
}

/* A compression overflowed: its float32 Gram matrix, or (float16 storage, which
 * holds |x| < 65520 where float32 Gram matrices hold 1.8e19) the rows it would
 * store. The sketch cannot go on. */
static void raise_overflow(lua_State *L, const char *fname, LtDtype store) {
  if (store == LT_F16)
    luaL_error(L,
               "%s: the sketch's singular values passed what float16 storage holds (65504); "
               "scale the rows down or use float32 storage, and start a new sketch",
               fname);
  luaL_error(L,
             "%s: the sketch's squared norms passed float32's range (3.4e38); scale the rows "
             "down and start a new sketch",
             fname);
}

/* Rows refused (the sketch is unchanged) or a compression that failed (it
 * left the buffer full: lt_fd_add checks rows only once that is retried). */
static void raise_add(lua_State *L, LtStatus st, const char *fname, int arg, const LtFd *fd) {
  LtDtype store = fd->store;
  if (st == LT_ERANGE && fd->filled == fd->cap) raise_overflow(L, fname, store);
  if (st == LT_EVALUE) ltL_argerror(L, arg, fname, "rows contain NaN or Inf (sketch unchanged)");
  if (st == LT_ERANGE)
    ltL_argerror(L, arg, fname,
                 "rows hold values beyond the range of %s storage (sketch unchanged)",
                 lt_dtype_name(store));
  ltL_check_status(L, st, fname);
}

/* fd:add(rows): rows [n x dim] (a 1-d tensor is one row) */
static int s_add(lua_State *L) {
  FdUd *u = check_fd(L, 1, "add");
  Tensor *rows = ltL_check_tensor(L, 2, "add"), r2 = *rows;
  /* A 1-d tensor is one row: stride[0] 0, as there is no second row to step to. */
  if (rows->ndim == 1) {
    r2.ndim = 2;
    r2.shape[0] = 1;
    r2.shape[1] = rows->shape[0];
    r2.stride[0] = 0;
    r2.stride[1] = rows->stride[0];
  }
  check_rows(L, 2, "add", &r2, u->fd.dim);
  raise_add(L, lt_fd_add(&u->fd, &u->work, &r2), "add", 2, &u->fd);
  lua_settop(L, 1);
  return 1;
}

/* fd:finalize() -> ell x dim float32 tensor B (rows sigma_i v_i^T) */
static int s_finalize(lua_State *L) {
  FdUd *u = check_fd(L, 1, "finalize");
  int64_t shape[2] = {u->fd.ell, u->fd.dim};
  Tensor *out = ltL_push_new(L, LT_F32, 2, shape);
  LtStatus st = lt_fd_finalize(&u->fd, &u->work, out);
  if (st == LT_ERANGE) raise_overflow(L, "finalize", u->fd.store);
  ltL_check_status(L, st, "finalize");
  return 1;
}

/* fd:merge(other): sketches other's rows into fd; the bound adds up. */
static int s_merge(lua_State *L) {
  FdUd *u = check_fd(L, 1, "merge"), *o = check_fd(L, 2, "merge");
  /* lt_fd_merge would read the buffer it writes. */
  if (u == o) return ltL_argerror(L, 2, "merge", "cannot merge a sketch into itself");
  if (o->fd.dim != u->fd.dim)
    return ltL_argerror(L, 2, "merge", "dims differ: %lld vs %lld", (long long)o->fd.dim,
                        (long long)u->fd.dim);
  raise_add(L, lt_fd_merge(&u->fd, &u->work, &o->fd), "merge", 2, &u->fd);
  lua_settop(L, 1);
  return 1;
}

static int s_rows_seen(lua_State *L) {
  lua_pushinteger(L, check_fd(L, 1, "rows_seen")->fd.rows_seen);
  return 1;
}
static int s_error_bound(lua_State *L) {
  lua_pushnumber(L, lt_fd_error_bound(&check_fd(L, 1, "error_bound")->fd));
  return 1;
}

/* fd:info() -> table of the sketch's parameters and counters */
static int s_info(lua_State *L) {
  FdUd *u = check_fd(L, 1, "info");
  lua_createtable(L, 0, 9);
  lua_pushinteger(L, u->fd.ell);
  lua_setfield(L, -2, "ell");
  lua_pushinteger(L, u->fd.dim);
  lua_setfield(L, -2, "dim");
  lua_pushstring(L, u->fd.variant == LT_FD_FAST ? "fast" : "classic");
  lua_setfield(L, -2, "variant");
  lua_pushstring(L, lt_dtype_name(u->fd.store));
  lua_setfield(L, -2, "dtype");
  lua_pushinteger(L, u->fd.rows_seen);
  lua_setfield(L, -2, "rows_seen");
  lua_pushinteger(L, u->fd.filled);
  lua_setfield(L, -2, "filled");
  lua_pushnumber(L, u->fd.delta);
  lua_setfield(L, -2, "delta");
  lua_pushnumber(L, u->fd.rounding);
  lua_setfield(L, -2, "rounding");
  lua_pushnumber(L, u->fd.sq_frob);
  lua_setfield(L, -2, "sq_frob");
  return 1;
}

/* fd:_buffer() -> the buffer tensor itself (for state saving) */
static int s_buffer(lua_State *L) {
  check_fd(L, 1, "buffer");
  lua_getiuservalue(L, 1, 1);
  return 1;
}

/* Raises `state.<key> must be <what>, got <type>` for the value on top of the stack. */
static int state_type_error(lua_State *L, const char *key, const char *what) {
  int fraction = lua_type(L, -1) == LUA_TNUMBER && strcmp(what, "an integer") == 0;
  const char *got = fraction ? "a non-integer number" : luaL_typename(L, -1);
  return ltL_argerror(L, 1, "from_state", "state.%s must be %s, got %s", key, what, got);
}

/* state.<key> as an integer. */
static int64_t state_int(lua_State *L, const char *key) {
  int ok;
  lua_getfield(L, 1, key);
  lua_Integer v = lua_tointegerx(L, -1, &ok);
  if (!ok) state_type_error(L, key, "an integer");
  lua_pop(L, 1);
  return (int64_t)v;
}

/* state.<key> as a number (NaN and infinities are the core's to refuse). */
static double state_num(lua_State *L, const char *key) {
  lua_getfield(L, 1, key);
  if (lua_type(L, -1) != LUA_TNUMBER) state_type_error(L, key, "a number");
  double v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return v;
}

/* state.<key> as a string (left on the stack while the caller reads it). */
static const char *state_str(lua_State *L, const char *key) {
  lua_getfield(L, 1, key);
  if (lua_type(L, -1) != LUA_TSTRING) state_type_error(L, key, "a string");
  return lua_tostring(L, -1);
}

/* state.variant and state.dtype: names, mapped to -1 when unknown (the core says why). */
static void state_names(lua_State *L, LtFdState *s) {
  const char *v = state_str(L, "variant"), *d = state_str(L, "dtype");
  LtDtype dt;
  s->variant = strcmp(v, "fast") == 0 ? LT_FD_FAST : strcmp(v, "classic") == 0 ? LT_FD_CLASSIC : -1;
  s->store = lt_dtype_from_name(d, &dt) == 0 ? (int)dt : -1;
  lua_pop(L, 2);
}

/* from_state(state) -> FD: every field checked by the core before anything is allocated. */
static int s_from_state(lua_State *L) {
  LtFdState s;
  char msg[160];
  luaL_checktype(L, 1, LUA_TTABLE);
  state_names(L, &s);
  s.ell = state_int(L, "ell");
  s.dim = state_int(L, "dim");
  s.filled = state_int(L, "filled");
  s.rows_seen = state_int(L, "rows_seen");
  s.delta = state_num(L, "delta");
  s.rounding = state_num(L, "rounding");
  s.sq_frob = state_num(L, "sq_frob");
  lua_getfield(L, 1, "rows");
  s.rows = ltL_totensor(L, -1);
  if (!s.rows) return state_type_error(L, "rows", "a tensor");
  /* Every field is checked before push_fd: a bad state allocates nothing. */
  if (lt_fd_state_check(&s, msg, sizeof msg) != LT_OK)
    return ltL_argerror(L, 1, "from_state", "state.%s", msg);
  FdUd *u = push_fd(L, (LtFdVariant)s.variant, s.ell, s.dim, (LtDtype)s.store);
  lt_fd_restore(&u->fd, &s);
  return 1;
}

static int s_tostring(lua_State *L) {
  FdUd *u = check_fd(L, 1, "tostring");
  /* %I with lua_Integer: the counters are int64_t, and rows_seen passes 2^31 on a long stream. */
  lua_pushfstring(L, "FD sketch (%s, ell=%I, dim=%I, %s): %I rows seen, bound %f",
                  u->fd.variant == LT_FD_FAST ? "fast" : "classic", (lua_Integer)u->fd.ell,
                  (lua_Integer)u->fd.dim, lt_dtype_name(u->fd.store), (lua_Integer)u->fd.rows_seen,
                  lt_fd_error_bound(&u->fd));
  return 1;
}

/* Most power-iteration steps cov_error takes: far past convergence, each step a pass over A, B. */
#define COV_MAX_ITERS 1000000

/* cov_error(A, B, iters=200) -> ||A^T A - B^T B||_2 */
static int s_cov_error(lua_State *L) {
  Tensor *A = ltL_check_tensor(L, 1, "cov_error"), *B = ltL_check_tensor(L, 2, "cov_error");
  char b1[64], b2[64];
  if (A->ndim != 2 || B->ndim != 2 || A->shape[1] != B->shape[1] || A->shape[1] == 0)
    return ltL_argerror(L, 2, "cov_error", "shape mismatch: %s and %s must be [n x d] and [m x d]",
                        ltL_shape_of(A, b1, sizeof b1), ltL_shape_of(B, b2, sizeof b2));
  lua_Integer iters = luaL_optinteger(L, 3, 200);
  /* Checked for every dim, though only the power iteration (dim > 4096) uses it: an argument that
   * works on small input must not fail on large. The cap keeps it an int and a run finite. */
  if (iters < 1 || iters > COV_MAX_ITERS)
    return ltL_argerror(L, 3, "cov_error", "iters must be in 1..%d, got %lld", COV_MAX_ITERS,
                        (long long)iters);
  lua_settop(L, 3);
  /* The core reads dense rows (to_f64 indexes linearly). */
  Tensor *ca = ltL_push_contiguous(L, 1), *cb = ltL_push_contiguous(L, 2);
  double r = lt_fd_cov_error(ca, cb, (int)iters);
  if (r < 0) return luaL_error(L, "cov_error: not enough memory or LAPACK failure");
  lua_pushnumber(L, r);
  return 1;
}

/* projection(ell, dim, opts, kind): the façade's gaussian(ell, dim, opts) and
 * its siblings, with the user's arguments where the user put them so that
 * messages count them right; kind names the function. */
static int s_projection(lua_State *L) {
  static const char *const keys[] = {"seed", NULL};
  const char *kind = luaL_checkstring(L, 4);
  int64_t ell = ltL_check_int(L, 1, kind, "ell"), dim = ltL_check_int(L, 2, kind, "dim");
  ltL_check_options(L, 3, kind, keys);
  int64_t seed = ltL_opt_seed(L, 3, kind);
  if (ell < 1 || dim < 1) return ltL_argerror(L, ell < 1 ? 1 : 2, kind, "sizes must be positive");
  int64_t shape[2] = {ell, dim};
  Tensor *out = ltL_push_new_arg(L, 3, kind, LT_F32, 2, shape);
  LtRng rng;
  lt_rng_seed(&rng, (uint64_t)seed);
  if (strcmp(kind, "gaussian") == 0)
    lt_proj_gaussian(out, &rng);
  else if (strcmp(kind, "sparse_sign") == 0)
    lt_proj_sparse_sign(out, &rng);
  else if (strcmp(kind, "countsketch") == 0)
    lt_proj_countsketch(out, &rng);
  else
    return ltL_argerror(L, 4, "projection", "unknown kind '%s'", kind);
  return 1;
}

static const luaL_Reg fd_methods[] = {{"add", s_add},
                                      {"finalize", s_finalize},
                                      {"merge", s_merge},
                                      {"rows_seen", s_rows_seen},
                                      {"error_bound", s_error_bound},
                                      {"info", s_info},
                                      {"_buffer", s_buffer},
                                      {NULL, NULL}};

static const luaL_Reg module_fns[] = {{"fd", s_fd},
                                      {"from_state", s_from_state},
                                      {"cov_error", s_cov_error},
                                      {"projection", s_projection},
                                      {NULL, NULL}};

/* The main part of lunette._sketch (src/lunette.c lists every part). */
int luaopen_lunette_sketch(lua_State *L);
int luaopen_lunette_sketch(lua_State *L) {
  if (luaL_newmetatable(L, FD_MT)) {
    luaL_newlib(L, fd_methods);
    /* __methods: lua/lunette/sketch.lua adds its Lua methods to this table, and the docs read
     * it. */
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__methods");
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, s_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  luaL_newlib(L, module_fns);
  luaL_getmetatable(L, FD_MT);
  lua_setfield(L, -2, "FD");
  return 1;
}
