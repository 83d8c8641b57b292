/* lbase.c - tensor userdata, Lua-owned storage and argument checking shared by all bindings. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "interrupt.h"
#include "tensor/lbase.h"

#define STORAGE_ALIGN 64
/* 64 TiB: more than any machine holds, far below where sizes overflow. */
#define STORAGE_MAX ((int64_t)1 << 46)

/* Pushes "chunk:line:" of the innermost caller outside lunette's own Lua
 * façades, so an error points at the user's line, not at the library. */
static void push_user_where(lua_State *L) {
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); level++) {
    lua_getinfo(L, "Sl", &ar);
    /* Frames without a line are C functions (lunette's bindings, pcall): skip them too. */
    if (ar.currentline <= 0) continue;
    if (strncmp(ar.source, "@lua/lunette/", 13) == 0) continue;
    lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
    return;
  }
  lua_pushliteral(L, "");
}

/* Raises "where: bad argument #arg to 'fname' (reason)". */
static int raise_argerror(lua_State *L, int arg, const char *fname, const char *reason) {
  push_user_where(L);
  lua_pushfstring(L, "bad argument #%d to '%s' (%s)", arg, fname, reason);
  lua_concat(L, 2);
  return lua_error(L);
}

int ltL_argerror(lua_State *L, int arg, const char *fname, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  /* vsnprintf, not lua_pushfstring: messages need %lld and %g, which Lua's formatter lacks. */
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return raise_argerror(L, arg, fname, msg);
}

void ltL_check_status(lua_State *L, LtStatus st, const char *fname) {
  switch (st) {
  case LT_OK: return;
  case LT_EINTR:
    /* The flag is cleared here, where the interruption is reported, so the next call starts
     * clean. */
    lt_interrupt_clear();
    luaL_error(L, "interrupted!");
    break;
  case LT_ENOMEM: luaL_error(L, "%s: not enough memory", fname); break;
  case LT_ESHAPE: luaL_error(L, "%s: shape mismatch", fname); break;
  case LT_EDTYPE: luaL_error(L, "%s: unsupported dtype", fname); break;
  case LT_ERANGE: luaL_error(L, "%s: value out of range", fname); break;
  case LT_ELAPACK:
    luaL_error(L, "%s: LAPACK failed (matrix singular or not converging)", fname);
    break;
  case LT_EDEVICE: luaL_error(L, "%s: tensor is on another device", fname); break;
  case LT_EOVERFLOW: luaL_error(L, "%s: shape has too many elements", fname); break;
  default: luaL_error(L, "%s: invalid value", fname); break;
  }
}

/* ---- memory accounting --------------------------------------------------- */

/* Live storages are the keys of a weak registry table. A __gc metamethod
 * would have been simpler, but Lua keeps finalized objects for one more
 * cycle, and with large storages that made the heap balloon (measured:
 * 800 MB for 10 MB live); weak keys are cleared in the same cycle. */
static const char STORAGES_KEY = 's';

static void push_storage_table(lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &STORAGES_KEY) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &STORAGES_KEY);
}

long long ltL_memory_live(lua_State *L) {
  long long total = 0;
  push_storage_table(L);
  lua_pushnil(L);
  /* Only the keys matter (the values are all true); lua_next leaves the key on top after the
   * pop. */
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    const LtStorage *s = lua_touserdata(L, -1);
    if (s) total += (long long)s->nbytes;
  }
  lua_pop(L, 1);
  return total;
}

/* Pushes a storage userdata of nbytes (at most STORAGE_MAX, checked by
 * the callers); its bytes are part of the userdata so the collector counts
 * them and frees them with it. */
static void collect_if_due(lua_State *L, size_t nbytes);

static LtStorage *push_storage(lua_State *L, size_t nbytes) {
  collect_if_due(L, nbytes);
  /* The element bytes live inside the userdata itself, so the collector sees their full size and
   * frees them with it; the extra STORAGE_ALIGN bytes leave room to align the start to 64. */
  LtStorage *s = lua_newuserdatauv(L, sizeof(LtStorage) + nbytes + STORAGE_ALIGN, 0);
  s->nbytes = nbytes;
  s->device = LT_CPU;
  uintptr_t p = (uintptr_t)(s + 1);
  s->ptr = (void *)((p + STORAGE_ALIGN - 1) & ~(uintptr_t)(STORAGE_ALIGN - 1));
  lt_memory_advise(s->ptr, nbytes);
  /* Register the storage in the weak table so that ltL_memory_live can count it while it lives. */
  push_storage_table(L);
  lua_pushvalue(L, -2);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  return s;
}

/* ---- block cache in front of the state's allocator ------------------------ */

/* The state's own allocator and the cache in front of it (the new allocator's ud). */
typedef struct {
  lua_Alloc f;
  void *ud;
  LtBlockCache cache;
  size_t fresh; /* bytes of large storages made since the last collection collect_if_due ran */
  size_t base;  /* the state's bytes in use right after that collection */
} CachedAlloc;

static const char CACHE_KEY = 'c';

static void cache_give_back(void *ctx, void *p, size_t n) {
  CachedAlloc *a = ctx;
  a->f(a->ud, p, n, 0);
}

/* lua_Alloc: frees of large blocks go to the cache, fresh large userdata (storages) come from
 * it, everything else (small blocks, reallocations) passes through unchanged. A block the cache
 * handed out larger than asked is freed or resized with its true size, so the state's allocator
 * always sees the size it allocated. (For a new object, osize is its type, not a size.) */
static void *cached_alloc(void *ud, void *p, size_t osize, size_t nsize) {
  CachedAlloc *a = ud;
  if (p && a->cache.nlent > 0) osize = lt_cache_true_size(&a->cache, p, osize);
  if (nsize == 0) {
    if (p && lt_cache_put(&a->cache, p, osize)) return NULL;
    return a->f(a->ud, p, osize, 0);
  }
  if (!p && osize == LUA_TUSERDATA && nsize >= LT_CACHE_MIN_BLOCK) {
    void *q = lt_cache_take(&a->cache, nsize);
    if (q) return q;
  }
  void *q = a->f(a->ud, p, osize, nsize);
  if (!q && a->cache.count > 0) {
    /* Out of memory while blocks sit idle: give them all back and try once more. */
    size_t cap = a->cache.cap;
    lt_cache_set_cap(&a->cache, 0);
    a->cache.cap = cap;
    q = a->f(a->ud, p, osize, nsize);
  }
  return q;
}

/* __gc of the registry anchor, run once by lua_close: the state's own allocator comes back
 * before the held blocks and the cache itself are freed through it. */
static int cache_close(lua_State *L) {
  CachedAlloc **slot = lua_touserdata(L, 1);
  CachedAlloc *a = *slot;
  if (!a) return 0;
  *slot = NULL;
  lua_setallocf(L, a->f, a->ud);
  lt_cache_set_cap(&a->cache, 0);
  a->f(a->ud, a, sizeof *a, 0);
  return 0;
}

void ltL_install_block_cache(lua_State *L) {
  if (ltL_block_cache(L)) return;
  void *ud;
  lua_Alloc f = lua_getallocf(L, &ud);
  /* The anchor exists before the cache does, so a memory error here leaves nothing behind. */
  CachedAlloc **slot = lua_newuserdatauv(L, sizeof *slot, 0);
  *slot = NULL;
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, cache_close);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &CACHE_KEY);
  CachedAlloc *a = f(ud, NULL, 0, sizeof *a);
  if (!a) luaL_error(L, "not enough memory");
  memset(a, 0, sizeof *a);
  a->f = f;
  a->ud = ud;
  a->cache.cap = LTL_CACHE_DEFAULT_CAP;
  a->cache.free_fn = cache_give_back;
  a->cache.ctx = a;
  *slot = a;
  lua_setallocf(L, cached_alloc, a);
}

/* Large storages that die young (a model's activations, batch after batch) would otherwise wait
 * for the collector's next cycle, which starts only once the heap has doubled: the garbage of a
 * forward pass grew to the size of everything live. A full collection once the large storages
 * made since the last one exceed half of what was in use after it (and 64 MiB) frees them while
 * their blocks are still wanted, so the cache hands them to the next layer: a pause of 150% for
 * tensor bytes only, while small Lua objects keep the collector's own pace. */
static void collect_if_due(lua_State *L, size_t nbytes) {
  void *ud;
  if (nbytes < LT_CACHE_MIN_BLOCK || lua_getallocf(L, &ud) != cached_alloc) return;
  CachedAlloc *a = ud;
  a->fresh += nbytes;
  size_t due = a->base / 2 > ((size_t)64 << 20) ? a->base / 2 : ((size_t)64 << 20);
  /* A collector the script stopped stays stopped. */
  if (a->fresh < due || !lua_gc(L, LUA_GCISRUNNING)) return;
  lua_gc(L, LUA_GCCOLLECT);
  a->base = (size_t)lua_gc(L, LUA_GCCOUNT) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB);
  a->fresh = 0;
}

LtBlockCache *ltL_block_cache(lua_State *L) {
  void *ud;
  if (lua_getallocf(L, &ud) != cached_alloc) return NULL;
  return &((CachedAlloc *)ud)->cache;
}

/* ---- tensor userdata ------------------------------------------------------ */

static Tensor *push_tensor_ud(lua_State *L) {
  /* Zeroed so that no field is garbage before the caller fills the descriptor in. */
  Tensor *t = lua_newuserdatauv(L, sizeof(Tensor), 1);
  memset(t, 0, sizeof *t);
  luaL_setmetatable(L, LT_TENSOR_MT);
  return t;
}

/* Why no tensor of dtype dt and shape (nd, shape) can be made, written
 * into why; 0 when it can, with its element count in *numel. The 64 TiB cap
 * is tested by division, so the test itself cannot overflow. */
static int new_tensor_problem(LtDtype dt, int nd, const int64_t *shape, int64_t *numel, char *why,
                              size_t n) {
  /* The descriptor is only for printing the shape: ndim is clamped so that a wrong nd cannot
   * read past shape's LT_MAXDIM entries. */
  Tensor d = {.dtype = dt, .ndim = nd < 0 ? 0 : nd > LT_MAXDIM ? LT_MAXDIM : nd};
  char b[200];
  if (d.ndim > 0) memcpy(d.shape, shape, sizeof(int64_t) * (size_t)d.ndim);
  LtStatus st = lt_shape_numel(nd, shape, lt_dtype_size(dt), numel);
  lt_shape_str(&d, b, sizeof b);
  if (st == LT_EOVERFLOW)
    snprintf(why, n, "shape %s has too many elements", b);
  else if (st != LT_OK)
    snprintf(why, n, "shape %s has a negative size", b);
  else if (*numel > STORAGE_MAX / (int64_t)lt_dtype_size(dt))
    snprintf(why, n, "tensor too large: %s %s needs %lld bytes, over the limit of %lld (64 TiB)", b,
             lt_dtype_name(dt), (long long)*numel * (long long)lt_dtype_size(dt),
             (long long)STORAGE_MAX);
  else
    return 0;
  return 1;
}

/* The name the running C function was called by (as luaL_argerror finds
 * it), for errors of calls that did not pass their own. */
static const char *running_name(lua_State *L) {
  lua_Debug ar;
  if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.name) return ar.name;
  return "?";
}

void ltL_check_new(lua_State *L, int arg, const char *fname, LtDtype dt, int nd,
                   const int64_t *shape) {
  char why[320];
  int64_t n;
  if (new_tensor_problem(dt, nd, shape, &n, why, sizeof why))
    ltL_argerror(L, arg, fname, "%s", why);
}

Tensor *ltL_push_new_arg(lua_State *L, int arg, const char *fname, LtDtype dt, int nd,
                         const int64_t *shape) {
  ltL_check_new(L, arg, fname, dt, nd, shape);
  return ltL_push_new(L, dt, nd, shape);
}

Tensor *ltL_push_new(lua_State *L, LtDtype dt, int nd, const int64_t *shape) {
  char why[320];
  int64_t n;
  if (new_tensor_problem(dt, nd, shape, &n, why, sizeof why)) {
    /* Not an argument error: the shape came from other tensors, so the message names the
     * function that was running (as luaL_error would) rather than an argument number. */
    push_user_where(L);
    lua_pushfstring(L, "%s: %s", running_name(L), why);
    lua_concat(L, 2);
    lua_error(L);
  }
  LtStorage *s = push_storage(L, (size_t)n * lt_dtype_size(dt));
  Tensor *t = push_tensor_ud(L);
  t->data = s->ptr;
  t->dtype = dt;
  t->device = LT_CPU;
  t->ndim = nd;
  if (nd > 0) memcpy(t->shape, shape, sizeof(int64_t) * (size_t)nd);
  lt_contiguous_strides(nd, t->shape, t->stride);
  /* Stack: storage, tensor. Swap them and make the storage the tensor's user value, which keeps
   * it alive exactly as long as the tensor (or any view of it). */
  lua_insert(L, -2);
  lua_setiuservalue(L, -2, 1);
  return t;
}

Tensor *ltL_push_new_like(lua_State *L, const Tensor *t, LtDtype dt) {
  int64_t shape[LT_MAXDIM];
  memcpy(shape, t->shape, sizeof shape);
  return ltL_push_new(L, dt, t->ndim, shape);
}

Tensor *ltL_push_view(lua_State *L, int base, const Tensor *v) {
  base = lua_absindex(L, base);
  Tensor *t = push_tensor_ud(L);
  *t = *v;
  lua_getiuservalue(L, base, 1); /* the storage itself: views never chain */
  lua_setiuservalue(L, -2, 1);
  return t;
}

Tensor *ltL_push_contiguous(lua_State *L, int idx) {
  Tensor *t = ltL_totensor(L, idx);
  if (lt_is_contiguous(t)) {
    lua_pushvalue(L, idx);
    return t;
  }
  Tensor *c = ltL_push_new_like(L, t, t->dtype);
  ltL_check_status(L, lt_copy(c, t), "contiguous");
  return c;
}

Tensor *ltL_totensor(lua_State *L, int idx) { return luaL_testudata(L, idx, LT_TENSOR_MT); }

/* Raises the device-mixing error when arg is a CUDA tensor given to a CPU function. */
static void check_not_cuda(lua_State *L, int arg, const char *fname) {
  const Tensor *g = luaL_testudata(L, arg, LT_CUDA_TENSOR_MT);
  if (g)
    ltL_argerror(L, arg, fname,
                 "expected a tensor on cpu, got one on cuda:%d: one op cannot mix devices; "
                 "move it with t:cpu() or the others with t:cuda()",
                 g->device_index);
}

Tensor *ltL_check_tensor(lua_State *L, int arg, const char *fname) {
  Tensor *t = ltL_totensor(L, arg);
  if (!t) {
    check_not_cuda(L, arg, fname);
    ltL_argerror(L, arg, fname, "tensor expected, got %s", luaL_typename(L, arg));
  }
  return t;
}

Tensor *ltL_check_operand(lua_State *L, int arg, const char *fname, int like) {
  Tensor *t = ltL_totensor(L, arg);
  if (t) return t;
  check_not_cuda(L, arg, fname);
  /* A boolean counts as an integer scalar (0 or 1), as in numpy. */
  int isint = lua_isinteger(L, arg) || lua_isboolean(L, arg);
  if (!lua_isnumber(L, arg) && !lua_isboolean(L, arg))
    ltL_argerror(L, arg, fname, "tensor or number expected, got %s", luaL_typename(L, arg));
  double v = lua_isboolean(L, arg) ? lua_toboolean(L, arg) : lua_tonumber(L, arg);
  LtDtype dt = like >= 0 ? (LtDtype)like : (isint ? LT_I64 : LT_F32);
  /* a float scalar does not round into an integer tensor's dtype */
  if (like >= 0 && !lt_dtype_is_float((LtDtype)like) && !isint) dt = LT_F32;
  if (like == LT_BOOL && !lua_isboolean(L, arg)) dt = isint ? LT_I64 : LT_F32;
  Tensor *s = ltL_push_new(L, dt, 0, NULL);
  /* An integer scalar is stored exactly; through double, values past 2^53 would round. */
  if (dt == LT_I64 && lua_isinteger(L, arg))
    *(int64_t *)s->data = lua_tointeger(L, arg);
  else
    lt_set_f64(s->data, dt, v);
  /* The 0-d tensor replaces the number on the stack, so it stays referenced while in use. */
  lua_replace(L, arg);
  return s;
}

LtDtype ltL_check_dtype(lua_State *L, int arg, const char *fname) {
  const char *name = lua_tostring(L, arg);
  LtDtype dt;
  if (!name || lua_type(L, arg) != LUA_TSTRING)
    ltL_argerror(L, arg, fname, "dtype name expected, got %s", luaL_typename(L, arg));
  if (lt_dtype_from_name(name, &dt) != 0)
    ltL_argerror(
        L, arg, fname,
        "unknown dtype '%s' (float32, float64, float16, bfloat16, int64, int32, uint8, bool)",
        name);
  return dt;
}

LtDtype ltL_opt_dtype(lua_State *L, int arg, const char *fname, LtDtype def) {
  return lua_isnoneornil(L, arg) ? def : ltL_check_dtype(L, arg, fname);
}

int64_t ltL_check_int(lua_State *L, int arg, const char *fname, const char *what) {
  int ok;
  /* lua_tointegerx accepts floats with an integral value (3.0) and numeric strings, as Lua's own
   * luaL_checkinteger does. */
  lua_Integer v = lua_tointegerx(L, arg, &ok);
  if (!ok) {
    if (lua_type(L, arg) == LUA_TNUMBER)
      ltL_argerror(L, arg, fname, "%s must be an integer, got %s", what, lua_tostring(L, arg));
    ltL_argerror(L, arg, fname, "%s expected (integer), got %s", what, luaL_typename(L, arg));
  }
  return (int64_t)v;
}

int ltL_check_dim(lua_State *L, int arg, const char *fname, int ndim) {
  int64_t d = ltL_check_int(L, arg, fname, "dim");
  /* A 0-d tensor still accepts dim 1 or -1, as torch lets dim 0 / -1 name a scalar's only
   * position. */
  int64_t n = ndim > 0 ? ndim : 1;
  if (d == 0 || d > n || d < -n)
    ltL_argerror(L, arg, fname,
                 "dim %lld out of range for a %d-d tensor (expected 1..%d or -%d..-1)",
                 (long long)d, ndim, (int)n, (int)n);
  return (int)(d > 0 ? d - 1 : n + d);
}

static int64_t check_size(lua_State *L, int idx, int arg, const char *fname, int allow_infer) {
  int ok;
  lua_Integer v = lua_tointegerx(L, idx, &ok);
  if (!ok)
    ltL_argerror(L, arg, fname, "size must be a non-negative integer, got %s",
                 lua_type(L, idx) == LUA_TNUMBER ? lua_tostring(L, idx) : luaL_typename(L, idx));
  if (v < 0 && !(allow_infer && v == -1))
    ltL_argerror(L, arg, fname, "size must be non-negative, got %lld", (long long)v);
  return (int64_t)v;
}

/* Raises unless the sizes (a -1 counting as 1) have a representable
 * element count: expand, reshape and every constructor rely on it. */
static void check_count(lua_State *L, int arg, const char *fname, int nd, const int64_t *shape) {
  Tensor d = {.ndim = nd};
  int64_t n;
  char b[200];
  /* A -1 is filled in later (reshape infers it, expand keeps the old size): the other sizes
   * alone must already have a representable count. */
  for (int i = 0; i < nd; i++) d.shape[i] = shape[i] < 0 ? 1 : shape[i];
  if (lt_shape_numel(nd, d.shape, 1, &n) == LT_OK) return;
  memcpy(d.shape, shape, sizeof(int64_t) * (size_t)nd);
  ltL_argerror(L, arg, fname, "shape %s has too many elements", lt_shape_str(&d, b, sizeof b));
}

/* Reads sizes from one table at arg or from the arguments from arg on; returns ndim. */
static int read_shape(lua_State *L, int arg, const char *fname, int64_t *shape, int allow_infer) {
  int nd = 0;
  if (lua_istable(L, arg)) {
    nd = (int)lua_rawlen(L, arg);
    if (nd > LT_MAXDIM) ltL_argerror(L, arg, fname, "at most %d dims, got %d", LT_MAXDIM, nd);
    for (int i = 0; i < nd; i++) {
      lua_rawgeti(L, arg, i + 1);
      shape[i] = check_size(L, -1, arg, fname, allow_infer);
      lua_pop(L, 1);
    }
    return nd;
  }
  int top = lua_gettop(L);
  /* Sizes as separate arguments: read until the first nil (or the end of the arguments). */
  for (int i = arg; i <= top && !lua_isnil(L, i); i++) {
    if (nd == LT_MAXDIM) ltL_argerror(L, i, fname, "at most %d dims", LT_MAXDIM);
    shape[nd++] = check_size(L, i, i, fname, allow_infer);
  }
  return nd;
}

static int check_shape(lua_State *L, int arg, const char *fname, int64_t *shape, int allow_infer) {
  int nd = read_shape(L, arg, fname, shape, allow_infer);
  check_count(L, arg, fname, nd, shape);
  return nd;
}

int ltL_check_shape(lua_State *L, int arg, const char *fname, int64_t *shape) {
  return check_shape(L, arg, fname, shape, 0);
}
int ltL_check_shape_infer(lua_State *L, int arg, const char *fname, int64_t *shape) {
  return check_shape(L, arg, fname, shape, 1);
}

/* ---- option tables --------------------------------------------------------- */

/* A value for messages: a number as written (1.5), anything else by its type. */
static const char *value_name(lua_State *L, int idx) {
  return lua_type(L, idx) == LUA_TNUMBER ? lua_tostring(L, idx) : luaL_typename(L, idx);
}

/* Pushes names (NULL-terminated) joined by ", ", each between quote marks. */
static const char *push_joined(lua_State *L, const char *const *names, const char *quote) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 0; names[i]; i++) {
    if (i) luaL_addstring(&b, ", ");
    luaL_addstring(&b, quote);
    luaL_addstring(&b, names[i]);
    luaL_addstring(&b, quote);
  }
  luaL_pushresult(&b);
  return lua_tostring(L, -1);
}

/* Levenshtein distance of two option names; names of 63 bytes or more
 * count as far apart (no option name is that long). */
static int edit_distance(const char *a, const char *b) {
  int la = (int)strlen(a), lb = (int)strlen(b);
  /* Levenshtein with a single row: row[j] holds the previous line until it is overwritten, and
   * diag carries the one value that the overwrite would lose. */
  int row[64];
  if (la > 62 || lb > 62) return 99;
  for (int j = 0; j <= lb; j++) row[j] = j;
  for (int i = 1; i <= la; i++) {
    int diag = row[0]; /* row[j - 1] of the previous line */
    row[0] = i;
    for (int j = 1; j <= lb; j++) {
      int best = diag + (a[i - 1] != b[j - 1]);
      if (row[j] + 1 < best) best = row[j] + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      diag = row[j];
      row[j] = best;
    }
  }
  return row[lb];
}

/* The known key the user most likely meant by k, or NULL. Close means at
 * most 2 edits and fewer than half the longer name, so "n" is never taken
 * for "k" while "perplexty" finds "perplexity"; ties go to the first. */
static const char *closest_key(const char *k, const char *const *known) {
  const char *best = NULL;
  int bestd = 3;
  for (int i = 0; known[i]; i++) {
    int d = edit_distance(k, known[i]);
    size_t longer = strlen(k) > strlen(known[i]) ? strlen(k) : strlen(known[i]);
    if (d < bestd && (size_t)d * 2 < longer) {
      best = known[i];
      bestd = d;
    }
  }
  return best;
}

static int is_known(const char *k, const char *const *known) {
  for (int i = 0; known[i]; i++)
    if (strcmp(k, known[i]) == 0) return 1;
  return 0;
}

/* Raises the error for the unknown key on top of the stack: "unknown option 'k' to 'fname'"
 * then "(did you mean 'x'?)" when a known key is close, else "(expected a, b, c)" -- the one
 * hint that helps most, inside Lua's own "bad argument" parentheses. */
static int unknown_option(lua_State *L, int arg, const char *fname, const char *const *known) {
  const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  const char *near = k ? closest_key(k, known) : NULL;
  const char *name = luaL_tolstring(L, -1, NULL);
  const char *hint = near ? lua_pushfstring(L, "did you mean '%s'?", near)
                          : lua_pushfstring(L, "expected %s", push_joined(L, known, ""));
  const char *reason = lua_pushfstring(L, "unknown option '%s' to '%s' (%s)", name, fname, hint);
  return raise_argerror(L, arg, fname, reason);
}

void ltL_check_options(lua_State *L, int arg, const char *fname, const char *const *known) {
  if (lua_isnoneornil(L, arg)) return;
  if (!lua_istable(L, arg))
    ltL_argerror(L, arg, fname, "options table expected, got %s", luaL_typename(L, arg));
  arg = lua_absindex(L, arg);
  lua_pushnil(L);
  /* The table is walked with lua_next: each key must be a known string. Values are checked
   * later, by the readers, when the binding asks for them. */
  while (lua_next(L, arg)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING || !is_known(lua_tostring(L, -1), known))
      unknown_option(L, arg, fname, known);
  }
}

int ltL_opt_get(lua_State *L, int arg, const char *key) {
  if (!lua_istable(L, arg)) return 0;
  /* lua_getfield, not rawget: it honours an __index metamethod, so defaults inherited through
   * a metatable are read too. */
  if (lua_getfield(L, arg, key) != LUA_TNIL) return 1;
  lua_pop(L, 1);
  return 0;
}

double ltL_opt_number(lua_State *L, int arg, const char *fname, const char *key, double def) {
  if (!ltL_opt_get(L, arg, key)) return def;
  if (lua_type(L, -1) != LUA_TNUMBER)
    ltL_argerror(L, arg, fname, "option %s: number expected, got %s", key, luaL_typename(L, -1));
  double v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (v != v) ltL_argerror(L, arg, fname, "option '%s' is NaN", key);
  return v;
}

int64_t ltL_opt_int(lua_State *L, int arg, const char *fname, const char *key, int64_t def) {
  if (!ltL_opt_get(L, arg, key)) return def;
  if (lua_type(L, -1) != LUA_TNUMBER)
    ltL_argerror(L, arg, fname, "option %s: integer expected, got %s", key, luaL_typename(L, -1));
  int ok;
  lua_Integer v = lua_tointegerx(L, -1, &ok);
  if (!ok)
    ltL_argerror(L, arg, fname, "option '%s' must be an integer, got %s", key, value_name(L, -1));
  lua_pop(L, 1);
  return (int64_t)v;
}

int64_t ltL_opt_int_in(lua_State *L, int arg, const char *fname, const char *key, int64_t def,
                       int64_t lo, int64_t hi) {
  int64_t v = ltL_opt_int(L, arg, fname, key, def);
  /* Checked as int64 before any narrowing: (int)(2^32 + 1) would pass as 1. */
  if (v < lo || v > hi)
    ltL_argerror(L, arg, fname, "option '%s' must be in %lld..%lld, got %lld", key, (long long)lo,
                 (long long)hi, (long long)v);
  return v;
}

int ltL_opt_bool(lua_State *L, int arg, const char *fname, const char *key, int def) {
  if (!ltL_opt_get(L, arg, key)) return def;
  if (!lua_isboolean(L, -1))
    ltL_argerror(L, arg, fname, "option %s: boolean expected, got %s", key, luaL_typename(L, -1));
  int v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

int ltL_opt_enum(lua_State *L, int arg, const char *fname, const char *key,
                 const char *const *names, int def) {
  if (!ltL_opt_get(L, arg, key)) return def;
  const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  for (int i = 0; s && names[i]; i++) {
    if (strcmp(s, names[i]) == 0) {
      lua_pop(L, 1);
      return i;
    }
  }
  const char *got = luaL_tolstring(L, -1, NULL);
  const char *list = push_joined(L, names, "\"");
  return ltL_argerror(L, arg, fname, "option '%s' must be one of %s, got %s", key, list, got);
}

int64_t ltL_opt_seed(lua_State *L, int arg, const char *fname) {
  return ltL_opt_int(L, arg, fname, "seed", 0);
}

int64_t ltL_check_seed(lua_State *L, int arg, const char *fname) {
  if (lua_type(L, arg) != LUA_TNUMBER)
    ltL_argerror(L, arg, fname, "seed expected (integer), got %s", luaL_typename(L, arg));
  /* A numeric string is refused here (Lua type check first), so the rule is "any Lua integer". */
  return ltL_check_int(L, arg, fname, "seed");
}

const char *ltL_shape_of(const Tensor *t, char *buf, size_t n) { return lt_shape_str(t, buf, n); }

void ltL_register_tensor_methods(lua_State *L, const luaL_Reg *fns) {
  luaL_setfuncs(L, fns, 0);
  /* The tensor metatable is created by whichever binding part registers first; the rest add
   * their functions to its __methods. */
  if (luaL_newmetatable(L, LT_TENSOR_MT)) {
    lua_newtable(L);
    lua_setfield(L, -2, "__methods");
    lua_pushliteral(L, "Tensor");
    lua_setfield(L, -2, "__name");
  }
  lua_getfield(L, -1, "__methods");
  luaL_setfuncs(L, fns, 0);
  lua_pop(L, 2);
}
