/* lcuda.c - Lua binding of lunette._cuda: device facts, CUDA tensors (their own metatable,
 * storages in device memory freed by __gc into the backend's caching allocator), host/device
 * copies and the device ops of the backend (cuda_abi.h). The GPU paths are UNVERIFIED: they
 * compile, and their argument and device checks run in the no-device specs, but no GPU has run
 * them (README.md, GPU). Device ordinals are 0-based, as nvidia-smi and CUDA number them. */
#include <stdio.h>
#include <string.h>
#include "cuda/cuda.h"
#include "tensor/lbase.h"
#include "tensor/tensor_view.h"

#define CUDA_STORAGE_MT "lunette.CudaStorage"

/* A storage in device memory: LtStorage first (device LT_CUDA, ptr a device pointer). */
typedef struct {
  LtStorage s;
  int dev;
  const LtCudaApi *api;
} CudaStorage;

/* The backend, or raises "fname: no CUDA device (why)". */
static const LtCudaApi *need_backend(lua_State *L, const char *fname) {
  char why[512];
  const LtCudaApi *api = lt_cuda_backend(why, sizeof why);
  if (!api) luaL_error(L, "%s: no CUDA device (%s)", fname, why);
  return api;
}

/* The backend after checking that device dev exists; raises the no-device error otherwise. */
static const LtCudaApi *need_device(lua_State *L, const char *fname, int dev) {
  char why[512];
  int n = lt_cuda_device_count(why, sizeof why);
  if (n == 0) luaL_error(L, "%s: no CUDA device (%s)", fname, why);
  if (dev < 0 || dev >= n)
    luaL_error(L, "%s: no CUDA device cuda:%d (%d present: cuda:0 to cuda:%d)", fname, dev, n,
               n - 1);
  return need_backend(L, fname);
}

/* Raises "fname: <backend message>" unless st is LT_OK. */
static void check_backend(lua_State *L, const LtCudaApi *api, int st, const char *fname) {
  if (st != LT_OK) luaL_error(L, "%s: %s", fname, api->last_error());
}

/* The optional device ordinal at arg (default 0). */
static int opt_device(lua_State *L, int arg, const char *fname) {
  if (lua_isnoneornil(L, arg)) return 0;
  int64_t d = ltL_check_int(L, arg, fname, "device");
  if (d < 0 || d > 1023) ltL_argerror(L, arg, fname, "device must be in 0..1023, got %lld",
                                      (long long)d);
  return (int)d;
}

static int storage_gc(lua_State *L) {
  CudaStorage *cs = luaL_checkudata(L, 1, CUDA_STORAGE_MT);
  /* Idempotent: __gc may run twice through __close. */
  if (cs->s.ptr) cs->api->free(cs->dev, cs->s.ptr);
  cs->s.ptr = NULL;
  return 0;
}

/* Pushes a new CUDA tensor of (dt, nd, shape) on device dev, contiguous, bytes uninitialised.
 * Out of device memory: one full garbage collection (the Lua GC does not see device bytes, so
 * dead CUDA tensors may be holding them), then one more try, then an error. */
static Tensor *push_new(lua_State *L, const LtCudaApi *api, int dev, LtDtype dt, int nd,
                        const int64_t *shape, const char *fname) {
  int64_t n;
  if (lt_shape_numel(nd, shape, lt_dtype_size(dt), &n) != LT_OK)
    luaL_error(L, "%s: shape has too many elements", fname);
  size_t nbytes = (size_t)n * lt_dtype_size(dt);
  /* Closed state first: a failing alloc leaves a storage whose __gc does nothing. */
  CudaStorage *cs = lua_newuserdatauv(L, sizeof *cs, 0);
  memset(cs, 0, sizeof *cs);
  luaL_setmetatable(L, CUDA_STORAGE_MT);
  cs->dev = dev;
  cs->api = api;
  cs->s.device = LT_CUDA;
  cs->s.ptr = api->alloc(dev, nbytes);
  if (!cs->s.ptr) {
    lua_gc(L, LUA_GCCOLLECT);
    cs->s.ptr = api->alloc(dev, nbytes);
  }
  if (!cs->s.ptr) luaL_error(L, "%s: %s", fname, api->last_error());
  cs->s.nbytes = nbytes;
  Tensor *t = lua_newuserdatauv(L, sizeof(Tensor), 1);
  memset(t, 0, sizeof *t);
  luaL_setmetatable(L, LT_CUDA_TENSOR_MT);
  t->data = cs->s.ptr;
  t->dtype = dt;
  t->device = LT_CUDA;
  t->device_index = dev;
  t->ndim = nd;
  if (nd > 0) memcpy(t->shape, shape, sizeof(int64_t) * (size_t)nd);
  lt_contiguous_strides(nd, t->shape, t->stride);
  lua_insert(L, -2);
  lua_setiuservalue(L, -2, 1);
  return t;
}

/* Pushes a view v of the CUDA tensor at base (sharing its storage). */
static Tensor *push_view(lua_State *L, int base, const Tensor *v) {
  base = lua_absindex(L, base);
  Tensor *t = lua_newuserdatauv(L, sizeof(Tensor), 1);
  *t = *v;
  luaL_setmetatable(L, LT_CUDA_TENSOR_MT);
  lua_getiuservalue(L, base, 1);
  lua_setiuservalue(L, -2, 1);
  return t;
}

/* The device name of the tensor (CPU or CUDA) at arg, or NULL when arg is not a tensor. */
static const char *device_at(lua_State *L, int arg, char *buf, size_t len) {
  const Tensor *t = luaL_testudata(L, arg, LT_CUDA_TENSOR_MT);
  if (!t) t = ltL_totensor(L, arg);
  return t ? lt_device_str(t, buf, len) : NULL;
}

/* The CUDA tensor at arg. A CPU tensor raises the device-mixing error naming both devices
 * (`ref` is the argument whose device the op runs on, 0 when none). A test tensor made by
 * _fake (host memory tagged cuda:N) passes the device checks, then is refused here before any
 * backend call could see its host pointer. */
static Tensor *check_cuda(lua_State *L, int arg, int ref, const char *fname) {
  Tensor *t = luaL_testudata(L, arg, LT_CUDA_TENSOR_MT);
  char a[32], b[32];
  if (!t) {
    const char *d = device_at(L, arg, a, sizeof a);
    if (d && ref) ltL_argerror(L, arg, fname, "tensors on different devices: %s and %s",
                               device_at(L, ref, b, sizeof b), d);
    if (d) ltL_argerror(L, arg, fname, "expected a CUDA tensor, got one on %s", d);
    ltL_argerror(L, arg, fname, "CUDA tensor expected, got %s", luaL_typename(L, arg));
  }
  const Tensor *r = ref ? luaL_testudata(L, ref, LT_CUDA_TENSOR_MT) : NULL;
  if (r && r->device_index != t->device_index)
    ltL_argerror(L, arg, fname, "tensors on different devices: %s and %s",
                 lt_device_str(r, b, sizeof b), lt_device_str(t, a, sizeof a));
  return t;
}

/* After the device checks: the tensor's storage must be device memory. */
static void check_real(lua_State *L, int arg, const char *fname) {
  lua_getiuservalue(L, arg, 1);
  int real = luaL_testudata(L, -1, CUDA_STORAGE_MT) != NULL;
  lua_pop(L, 1);
  if (!real)
    ltL_argerror(L, arg, fname, "a test tensor tagged cuda (host memory): no device op runs "
                                "on it");
}

/* The CUDA tensor at arg as a contiguous one: itself, or a device copy pushed on the stack
 * (the caller keeps it there while it uses the descriptor). */
static Tensor *contiguous_at(lua_State *L, const LtCudaApi *api, int arg, const char *fname) {
  Tensor *t = luaL_checkudata(L, arg, LT_CUDA_TENSOR_MT);
  if (lt_is_contiguous(t)) return t;
  Tensor *c = push_new(L, api, t->device_index, t->dtype, t->ndim, t->shape, fname);
  check_backend(L, api, api->copy(t->device_index, c, t), fname);
  return c;
}

/* ---- device facts ---- */

static int cu_available(lua_State *L) {
  char why[512];
  int n = lt_cuda_device_count(why, sizeof why);
  lua_pushboolean(L, n > 0);
  if (n > 0) return 1;
  lua_pushstring(L, why);
  return 2;
}

static int cu_device_count(lua_State *L) {
  char why[512];
  int n = lt_cuda_device_count(why, sizeof why);
  lua_pushinteger(L, n);
  if (n > 0) return 1;
  lua_pushstring(L, why);
  return 2;
}

static int cu_memory(lua_State *L) {
  int dev = opt_device(L, 1, "memory");
  const LtCudaApi *api = need_device(L, "memory", dev);
  size_t free_b = 0, total_b = 0;
  LtCacheStats s;
  check_backend(L, api, api->mem_info(dev, &free_b, &total_b), "memory");
  check_backend(L, api, api->cache_stats(dev, &s), "memory");
  lua_createtable(L, 0, 8);
  lua_pushinteger(L, (lua_Integer)free_b);
  lua_setfield(L, -2, "free");
  lua_pushinteger(L, (lua_Integer)total_b);
  lua_setfield(L, -2, "total");
  lua_pushinteger(L, (lua_Integer)s.in_use);
  lua_setfield(L, -2, "allocated");
  lua_pushinteger(L, (lua_Integer)s.reserved);
  lua_setfield(L, -2, "reserved");
  lua_pushinteger(L, (lua_Integer)s.peak_in_use);
  lua_setfield(L, -2, "peak_allocated");
  lua_pushinteger(L, (lua_Integer)s.n_dev_malloc);
  lua_setfield(L, -2, "device_mallocs");
  lua_pushinteger(L, (lua_Integer)s.n_hits);
  lua_setfield(L, -2, "cache_hits");
  lua_pushinteger(L, (lua_Integer)s.n_oom_retries);
  lua_setfield(L, -2, "oom_retries");
  return 1;
}

static int cu_synchronize(lua_State *L) {
  int dev = opt_device(L, 1, "synchronize");
  const LtCudaApi *api = need_device(L, "synchronize", dev);
  check_backend(L, api, api->synchronize(dev), "synchronize");
  return 0;
}

static int cu_empty_cache(lua_State *L) {
  int dev = opt_device(L, 1, "empty_cache");
  const LtCudaApi *api = need_device(L, "empty_cache", dev);
  lua_gc(L, LUA_GCCOLLECT);
  check_backend(L, api, api->empty_cache(dev), "empty_cache");
  return 0;
}

static int cu_device_name(lua_State *L) {
  int dev = opt_device(L, 1, "device_name");
  const LtCudaApi *api = need_device(L, "device_name", dev);
  char name[300];
  check_backend(L, api, api->device_name(dev, name, sizeof name), "device_name");
  lua_pushstring(L, name);
  return 1;
}

/* _probe(path) -> true | false, why: loads a backend file on its own (specs of the failures). */
static int cu_probe(lua_State *L) {
  char why[512];
  int ok = lt_cuda_probe(luaL_checkstring(L, 1), why, sizeof why) == 0;
  lua_pushboolean(L, ok);
  if (ok) return 1;
  lua_pushstring(L, why);
  return 2;
}

/* device(t) -> "cpu" | "cuda:N" for a tensor of either kind. */
static int cu_device(lua_State *L) {
  char buf[32];
  const char *d = device_at(L, 1, buf, sizeof buf);
  if (!d) ltL_argerror(L, 1, "device", "tensor expected, got %s", luaL_typename(L, 1));
  lua_pushstring(L, d);
  return 1;
}

/* _fake(t, dev) -> a CUDA-tagged view of CPU tensor t: only for the specs of the device checks
 * on machines without a GPU (check_real refuses it before any device op). */
static int cu_fake(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "_fake");
  int dev = opt_device(L, 2, "_fake");
  Tensor v = *t;
  v.device = LT_CUDA;
  v.device_index = dev;
  push_view(L, 1, &v);
  return 1;
}

/* ---- moving tensors ---- */

static int cu_to_cpu(lua_State *L);

/* to_device(t, dev) -> CUDA tensor: a copy of CPU tensor t (made contiguous first) on dev; a
 * CUDA tensor already on dev is returned as is, one on another device goes through the host. */
static int cu_to_device(lua_State *L) {
  int dev = opt_device(L, 2, "cuda");
  Tensor *g = luaL_testudata(L, 1, LT_CUDA_TENSOR_MT);
  if (g && g->device_index == dev) {
    lua_settop(L, 1);
    return 1;
  }
  if (!g) ltL_check_tensor(L, 1, "cuda");
  const LtCudaApi *api = need_device(L, "cuda", dev);
  if (g) {
    /* Another GPU: through the host keeps the backend free of peer-access set-up. */
    check_real(L, 1, "cuda");
    lua_pushcfunction(L, cu_to_cpu);
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    lua_replace(L, 1);
  }
  Tensor *c = ltL_push_contiguous(L, 1);
  Tensor *d = push_new(L, api, dev, c->dtype, c->ndim, c->shape, "cuda");
  size_t nbytes = (size_t)lt_numel(c) * lt_dtype_size(c->dtype);
  check_backend(L, api, api->copy_h2d(dev, d->data, c->data, nbytes), "cuda");
  return 1;
}

/* to_cpu(t) -> CPU tensor: a copy of CUDA tensor t; a CPU tensor is returned as is. */
static int cu_to_cpu(lua_State *L) {
  if (ltL_totensor(L, 1)) {
    lua_settop(L, 1);
    return 1;
  }
  Tensor *g = check_cuda(L, 1, 0, "cpu");
  check_real(L, 1, "cpu");
  const LtCudaApi *api = need_device(L, "cpu", g->device_index);
  Tensor *c = contiguous_at(L, api, 1, "cpu");
  Tensor *h = ltL_push_new(L, c->dtype, c->ndim, c->shape);
  size_t nbytes = (size_t)lt_numel(c) * lt_dtype_size(c->dtype);
  check_backend(L, api, api->copy_d2h(c->device_index, h->data, c->data, nbytes), "cpu");
  return 1;
}

/* ---- descriptor facts and views (no device access) ---- */

static int cu_size(lua_State *L) {
  Tensor *t = luaL_checkudata(L, 1, LT_CUDA_TENSOR_MT);
  if (!lua_isnoneornil(L, 2)) {
    lua_pushinteger(L, t->shape[ltL_check_dim(L, 2, "size", t->ndim)]);
    return 1;
  }
  lua_createtable(L, t->ndim, 0);
  for (int d = 0; d < t->ndim; d++) {
    lua_pushinteger(L, t->shape[d]);
    lua_rawseti(L, -2, d + 1);
  }
  return 1;
}

static int cu_dim(lua_State *L) {
  lua_pushinteger(L, ((Tensor *)luaL_checkudata(L, 1, LT_CUDA_TENSOR_MT))->ndim);
  return 1;
}

static int cu_numel(lua_State *L) {
  lua_pushinteger(L, lt_numel(luaL_checkudata(L, 1, LT_CUDA_TENSOR_MT)));
  return 1;
}

static int cu_dtype(lua_State *L) {
  lua_pushstring(L, lt_dtype_name(((Tensor *)luaL_checkudata(L, 1, LT_CUDA_TENSOR_MT))->dtype));
  return 1;
}

static int cu_is_contiguous(lua_State *L) {
  lua_pushboolean(L, lt_is_contiguous(luaL_checkudata(L, 1, LT_CUDA_TENSOR_MT)));
  return 1;
}

static int cu_transpose(lua_State *L) {
  Tensor *t = check_cuda(L, 1, 0, "transpose");
  Tensor v;
  if (t->ndim < 2 && lua_isnoneornil(L, 2)) {
    lua_settop(L, 1);
    return 1;
  }
  int d0 = lua_isnoneornil(L, 2) ? 0 : ltL_check_dim(L, 2, "transpose", t->ndim);
  int d1 = lua_isnoneornil(L, 3) ? 1 : ltL_check_dim(L, 3, "transpose", t->ndim);
  lt_view_transpose(t, d0, d1, &v);
  push_view(L, 1, &v);
  return 1;
}

/* reshape(t, shape...) -> a view when t is contiguous, else a contiguous copy reshaped. */
static int cu_reshape(lua_State *L) {
  Tensor *t = check_cuda(L, 1, 0, "reshape");
  int64_t shape[LT_MAXDIM];
  int nd = ltL_check_shape_infer(L, 2, "reshape", shape);
  int base = 1;
  if (!lt_is_contiguous(t)) {
    check_real(L, 1, "reshape");
    const LtCudaApi *api = need_device(L, "reshape", t->device_index);
    t = contiguous_at(L, api, 1, "reshape");
    base = lua_gettop(L);
  }
  Tensor v;
  if (lt_view_reshape(t, nd, shape, &v) != LT_OK) {
    char a[64];
    ltL_argerror(L, 2, "reshape", "cannot reshape %s into that shape",
                 lt_shape_str(t, a, sizeof a));
  }
  push_view(L, base, &v);
  return 1;
}

/* narrow(t, dim, start, length) -> the view of `length` entries of dim from start (1-based). */
static int cu_narrow(lua_State *L) {
  Tensor *t = check_cuda(L, 1, 0, "narrow");
  int dim = ltL_check_dim(L, 2, "narrow", t->ndim);
  int64_t start = ltL_check_int(L, 3, "narrow", "start") - 1;
  int64_t len = ltL_check_int(L, 4, "narrow", "length");
  if (start < 0 || len < 0 || start + len > t->shape[dim])
    ltL_argerror(L, 3, "narrow", "range %lld..%lld outside dim %d of size %lld",
                 (long long)start + 1, (long long)(start + len), dim + 1,
                 (long long)t->shape[dim]);
  Tensor v;
  lt_view_slice(t, dim, start, start + len, 1, &v);
  push_view(L, 1, &v);
  return 1;
}

static int cu_contiguous(lua_State *L) {
  Tensor *t = check_cuda(L, 1, 0, "contiguous");
  if (lt_is_contiguous(t)) {
    lua_settop(L, 1);
    return 1;
  }
  check_real(L, 1, "contiguous");
  contiguous_at(L, need_device(L, "contiguous", t->device_index), 1, "contiguous");
  return 1;
}

static int cu_clone(lua_State *L) {
  Tensor *t = check_cuda(L, 1, 0, "clone");
  check_real(L, 1, "clone");
  const LtCudaApi *api = need_device(L, "clone", t->device_index);
  Tensor *c = push_new(L, api, t->device_index, t->dtype, t->ndim, t->shape, "clone");
  check_backend(L, api, api->copy(t->device_index, c, t), "clone");
  return 1;
}

/* ---- ops ---- */

static const char *const BINARY_NAMES[] = {"add", "sub", "mul", "div", "maximum", "minimum",
                                           "pow", NULL};
static const char *const UNARY_NAMES[] = {"neg",  "exp",     "log",  "sqrt",
                                          "abs",  "relu",    "sigmoid", "tanh", NULL};
static const char *const REDUCE_NAMES[] = {"sum", "mean", "max", "min", NULL};

/* The ops below are closures with their op's index as upvalue 1 (one per name, made by
 * luaopen_lunette_cuda), so that arguments keep the user's numbering. */
static int op_index(lua_State *L) { return (int)lua_tointeger(L, lua_upvalueindex(1)); }

/* add(a, b), sub, ... -> a op b with broadcasting; a is a CUDA tensor, b one on the same
 * device or a number. */
static int cu_binary(lua_State *L) {
  int op = op_index(L);
  const char *fname = BINARY_NAMES[op];
  Tensor *a = check_cuda(L, 1, 0, fname);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    check_real(L, 1, fname);
    const LtCudaApi *api = need_device(L, fname, a->device_index);
    Tensor *o = push_new(L, api, a->device_index, LT_F32, a->ndim, a->shape, fname);
    check_backend(L, api, api->binary_scalar(a->device_index, op, o, a, lua_tonumber(L, 2)),
                  fname);
    return 1;
  }
  Tensor *b = check_cuda(L, 2, 1, fname);
  check_real(L, 1, fname);
  check_real(L, 2, fname);
  const LtCudaApi *api = need_device(L, fname, a->device_index);
  int nd;
  int64_t shape[LT_MAXDIM];
  Tensor va, vb;
  char sa[64], sb[64];
  if (lt_broadcast_shape(a, b, &nd, shape) != LT_OK)
    ltL_argerror(L, 2, fname, "shapes %s and %s do not broadcast", lt_shape_str(a, sa, 64),
                 lt_shape_str(b, sb, 64));
  Tensor *o = push_new(L, api, a->device_index, LT_F32, nd, shape, fname);
  lt_expand_view(a, nd, shape, &va);
  lt_expand_view(b, nd, shape, &vb);
  check_backend(L, api, api->binary(a->device_index, op, o, &va, &vb), fname);
  return 1;
}

static int cu_unary(lua_State *L) {
  int op = op_index(L);
  const char *fname = UNARY_NAMES[op];
  Tensor *a = check_cuda(L, 1, 0, fname);
  check_real(L, 1, fname);
  const LtCudaApi *api = need_device(L, fname, a->device_index);
  Tensor *o = push_new(L, api, a->device_index, LT_F32, a->ndim, a->shape, fname);
  check_backend(L, api, api->unary(a->device_index, op, o, a), fname);
  return 1;
}

/* sum(a [, dim [, keepdim]]), mean, max, min -> a 0-d tensor (no dim) or a with dim reduced
 * (1-based dim; kept with size 1 when keepdim). */
static int cu_reduce(lua_State *L) {
  int op = op_index(L);
  const char *fname = REDUCE_NAMES[op];
  Tensor *a = check_cuda(L, 1, 0, fname);
  int dim = lua_isnoneornil(L, 2) ? -1 : ltL_check_dim(L, 2, fname, a->ndim);
  int keep = lua_toboolean(L, 3);
  if (lt_numel(a) == 0 && op >= LT_CU_MAX)
    ltL_argerror(L, 1, fname, "%s of an empty tensor", fname);
  check_real(L, 1, fname);
  const LtCudaApi *api = need_device(L, fname, a->device_index);
  a = contiguous_at(L, api, 1, fname);
  int64_t shape[LT_MAXDIM];
  int nd = 0;
  for (int d = 0; dim >= 0 && d < a->ndim; d++) {
    if (d != dim)
      shape[nd++] = a->shape[d];
    else if (keep)
      shape[nd++] = 1;
  }
  Tensor *o = push_new(L, api, a->device_index, LT_F32, nd, shape, fname);
  check_backend(L, api, api->reduce(a->device_index, op, o, a, dim), fname);
  return 1;
}

/* softmax(a, log) over the last dim. */
static int cu_softmax(lua_State *L) {
  const char *fname = lua_toboolean(L, 2) ? "log_softmax" : "softmax";
  Tensor *a = check_cuda(L, 1, 0, fname);
  check_real(L, 1, fname);
  const LtCudaApi *api = need_device(L, fname, a->device_index);
  a = contiguous_at(L, api, 1, fname);
  Tensor *o = push_new(L, api, a->device_index, LT_F32, a->ndim, a->shape, fname);
  check_backend(L, api, api->softmax(a->device_index, o, a, lua_toboolean(L, 2)), fname);
  return 1;
}

/* A 2-d operand as (transposed?, contiguous descriptor): a transposed view of a contiguous
 * matrix is passed to cuBLAS as is, anything else is copied contiguous first. */
static Tensor *gemm_operand(lua_State *L, const LtCudaApi *api, int arg, int *trans) {
  Tensor *t = luaL_checkudata(L, arg, LT_CUDA_TENSOR_MT);
  *trans = 0;
  if (t->ndim == 2 && t->stride[0] == 1 && t->stride[1] == t->shape[0] && t->shape[0] > 1) {
    *trans = 1;
    return t;
  }
  return contiguous_at(L, api, arg, "matmul");
}

/* matmul(a, b): [m x k] @ [k x n], or batched [B x m x k] @ [B x k x n]. */
static int cu_matmul(lua_State *L) {
  Tensor *a = check_cuda(L, 1, 0, "matmul");
  Tensor *b = check_cuda(L, 2, 1, "matmul");
  char sa[64], sb[64];
  int batched = a->ndim == 3 && b->ndim == 3;
  int kdim = batched ? 2 : 1;
  if (!batched && (a->ndim != 2 || b->ndim != 2))
    ltL_argerror(L, 2, "matmul", "on CUDA: 2-d @ 2-d or 3-d @ 3-d, got %s @ %s",
                 lt_shape_str(a, sa, 64), lt_shape_str(b, sb, 64));
  if (a->shape[kdim] != b->shape[kdim - 1] || (batched && a->shape[0] != b->shape[0]))
    ltL_argerror(L, 2, "matmul", "shape mismatch: %s @ %s", lt_shape_str(a, sa, 64),
                 lt_shape_str(b, sb, 64));
  check_real(L, 1, "matmul");
  check_real(L, 2, "matmul");
  const LtCudaApi *api = need_device(L, "matmul", a->device_index);
  int ta = 0, tb = 0;
  int64_t batch = batched ? a->shape[0] : 1;
  int64_t m = a->shape[kdim - 1], k = a->shape[kdim], n = b->shape[kdim];
  a = batched ? contiguous_at(L, api, 1, "matmul") : gemm_operand(L, api, 1, &ta);
  b = batched ? contiguous_at(L, api, 2, "matmul") : gemm_operand(L, api, 2, &tb);
  int64_t shape[3] = {batch, m, n};
  Tensor *o = push_new(L, api, a->device_index, LT_F32, batched ? 3 : 2,
                       batched ? shape : shape + 1, "matmul");
  if (a->dtype != LT_F32 || b->dtype != LT_F32)
    luaL_error(L, "matmul: only float32 on CUDA so far");
  check_backend(L, api, api->gemm(a->device_index, ta, tb, batch, m, n, k, a->data, m * k,
                                  b->data, k * n, o->data), "matmul");
  return 1;
}

/* fill_(t, v) -> t */
static int cu_fill(lua_State *L) {
  Tensor *t = check_cuda(L, 1, 0, "fill_");
  double v = luaL_checknumber(L, 2);
  check_real(L, 1, "fill_");
  const LtCudaApi *api = need_device(L, "fill_", t->device_index);
  check_backend(L, api, api->fill(t->device_index, t, v), "fill_");
  lua_settop(L, 1);
  return 1;
}

/* empty(shape, dev) -> an uninitialised float32 CUDA tensor. */
static int cu_empty(lua_State *L) {
  int64_t shape[LT_MAXDIM];
  int nd = ltL_check_shape(L, 1, "empty", shape);
  int dev = opt_device(L, 2, "empty");
  LtDtype dt = ltL_opt_dtype(L, 3, "empty", LT_F32);
  const LtCudaApi *api = need_device(L, "empty", dev);
  push_new(L, api, dev, dt, nd, shape, "empty");
  return 1;
}

/* random(t, seed, offset, normal) -> t filled with Philox numbers. */
static int cu_random(lua_State *L) {
  Tensor *t = check_cuda(L, 1, 0, "rand");
  uint64_t seed = (uint64_t)ltL_check_int(L, 2, "rand", "seed");
  uint64_t offset = (uint64_t)ltL_check_int(L, 3, "rand", "offset");
  check_real(L, 1, "rand");
  const LtCudaApi *api = need_device(L, "rand", t->device_index);
  if (!lt_is_contiguous(t)) ltL_argerror(L, 1, "rand", "contiguous tensor expected");
  check_backend(L, api, api->random(t->device_index, t, seed, offset, lua_toboolean(L, 4)),
                "rand");
  lua_settop(L, 1);
  return 1;
}

/* cdist_sq(x, y) -> [n x m] squared distances of the rows of x [n x d] and y [m x d]. */
static int cu_cdist_sq(lua_State *L) {
  Tensor *x = check_cuda(L, 1, 0, "cdist");
  Tensor *y = check_cuda(L, 2, 1, "cdist");
  char sa[64], sb[64];
  if (x->ndim != 2 || y->ndim != 2 || x->shape[1] != y->shape[1])
    ltL_argerror(L, 2, "cdist", "expected [n x d] and [m x d], got %s and %s",
                 lt_shape_str(x, sa, 64), lt_shape_str(y, sb, 64));
  check_real(L, 1, "cdist");
  check_real(L, 2, "cdist");
  const LtCudaApi *api = need_device(L, "cdist", x->device_index);
  x = contiguous_at(L, api, 1, "cdist");
  y = contiguous_at(L, api, 2, "cdist");
  int64_t shape[2] = {x->shape[0], y->shape[0]};
  Tensor *o = push_new(L, api, x->device_index, LT_F32, 2, shape, "cdist");
  check_backend(L, api, api->cdist_sq(x->device_index, o, x, y), "cdist");
  return 1;
}

/* eigh(a) -> values [n] ascending, vectors [n x n] (row i: eigenvector i) of symmetric a. */
static int cu_eigh(lua_State *L) {
  Tensor *a = check_cuda(L, 1, 0, "eigh");
  char sa[64];
  if (a->ndim != 2 || a->shape[0] != a->shape[1])
    ltL_argerror(L, 1, "eigh", "square matrix expected, got %s", lt_shape_str(a, sa, 64));
  check_real(L, 1, "eigh");
  const LtCudaApi *api = need_device(L, "eigh", a->device_index);
  int dev = a->device_index;
  Tensor *w = push_new(L, api, dev, LT_F32, 1, a->shape, "eigh");
  Tensor *v = push_new(L, api, dev, LT_F32, 2, a->shape, "eigh");
  check_backend(L, api, api->copy(dev, v, a), "eigh");
  check_backend(L, api, api->syevd(dev, a->shape[0], v->data, w->data), "eigh");
  return 2;
}

/* index_select(t, idx) -> rows of CUDA t (float32) at the 1-based positions of CPU integer
 * tensor idx (1-d), bounds-checked here, then copied to the device. */
static int cu_index_select(lua_State *L) {
  Tensor *t = check_cuda(L, 1, 0, "index_select");
  Tensor *ix = ltL_check_tensor(L, 2, "index_select");
  char sa[64];
  if (t->ndim < 1) ltL_argerror(L, 1, "index_select", "cannot index a 0-d tensor");
  if (ix->ndim != 1 || (ix->dtype != LT_I64 && ix->dtype != LT_I32))
    ltL_argerror(L, 2, "index_select", "1-d integer tensor expected, got %s %s",
                 lt_dtype_name(ix->dtype), lt_shape_str(ix, sa, 64));
  int64_t n = ix->shape[0];
  Tensor *h = ltL_push_new(L, LT_I64, 1, &n);
  for (int64_t i = 0; i < n; i++) {
    const char *p = (const char *)ix->data;
    int64_t v = lt_get_i64(p + i * ix->stride[0] * (int64_t)lt_dtype_size(ix->dtype), ix->dtype);
    if (v < 1 || v > t->shape[0])
      ltL_argerror(L, 2, "index_select", "index %lld out of range 1..%lld", (long long)v,
                   (long long)t->shape[0]);
    ((int64_t *)h->data)[i] = v - 1;
  }
  check_real(L, 1, "index_select");
  const LtCudaApi *api = need_device(L, "index_select", t->device_index);
  int dev = t->device_index;
  t = contiguous_at(L, api, 1, "index_select");
  Tensor *d = push_new(L, api, dev, LT_I64, 1, &n, "index_select");
  check_backend(L, api, api->copy_h2d(dev, d->data, h->data, (size_t)n * 8), "index_select");
  int64_t shape[LT_MAXDIM];
  memcpy(shape, t->shape, sizeof shape);
  shape[0] = n;
  Tensor *o = push_new(L, api, dev, LT_F32, t->ndim, shape, "index_select");
  check_backend(L, api, api->index_rows(dev, o, t, d), "index_select");
  return 1;
}

/* topk(t, k, largest) -> values (float32), indices (int64, 1-based), both CUDA tensors, over
 * the last dim. */
static int cu_topk(lua_State *L) {
  Tensor *t = check_cuda(L, 1, 0, "topk");
  int64_t k = ltL_check_int(L, 2, "topk", "k");
  int largest = lua_toboolean(L, 3);
  if (t->ndim < 1) ltL_argerror(L, 1, "topk", "cannot take top-k of a 0-d tensor");
  if (k < 1 || k > 64 || k > t->shape[t->ndim - 1])
    ltL_argerror(L, 2, "topk", "k must be in 1..min(64, %lld) on CUDA, got %lld",
                 (long long)t->shape[t->ndim - 1], (long long)k);
  check_real(L, 1, "topk");
  const LtCudaApi *api = need_device(L, "topk", t->device_index);
  int dev = t->device_index;
  t = contiguous_at(L, api, 1, "topk");
  int64_t shape[LT_MAXDIM];
  memcpy(shape, t->shape, sizeof shape);
  shape[t->ndim - 1] = k;
  Tensor *v = push_new(L, api, dev, LT_F32, t->ndim, shape, "topk");
  Tensor *ix = push_new(L, api, dev, LT_I64, t->ndim, shape, "topk");
  check_backend(L, api, api->topk(dev, v, ix, t, (int)k, largest), "topk");
  return 2;
}

static const luaL_Reg cuda_fns[] = {
    {"available", cu_available},   {"device_count", cu_device_count},
    {"memory", cu_memory},         {"synchronize", cu_synchronize},
    {"empty_cache", cu_empty_cache}, {"device_name", cu_device_name},
    {"device", cu_device},         {"_probe", cu_probe},
    {"_fake", cu_fake},            {"to_device", cu_to_device},
    {"to_cpu", cu_to_cpu},         {"size", cu_size},
    {"dim", cu_dim},               {"numel", cu_numel},
    {"dtype", cu_dtype},           {"is_contiguous", cu_is_contiguous},
    {"transpose", cu_transpose},   {"reshape", cu_reshape},
    {"contiguous", cu_contiguous}, {"clone", cu_clone},
    {"narrow", cu_narrow},         {"index_select", cu_index_select},
    {"topk", cu_topk},
    {"softmax", cu_softmax},
    {"matmul", cu_matmul},         {"fill_", cu_fill},
    {"empty", cu_empty},           {"random", cu_random},
    {"cdist_sq", cu_cdist_sq},     {"eigh", cu_eigh},
    {NULL, NULL}};

/* lunette._cuda, and the two metatables: CudaStorage (__gc gives the block back to the
 * cache) and CudaTensor (its methods and operators are set by lua/lunette/cuda.lua through
 * the `meta` field). */
int luaopen_lunette_cuda(lua_State *L);
int luaopen_lunette_cuda(lua_State *L) {
  luaL_newmetatable(L, CUDA_STORAGE_MT);
  lua_pushcfunction(L, storage_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, storage_gc);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
  luaL_newlib(L, cuda_fns);
  static const struct {
    const char *const *names;
    lua_CFunction fn;
  } families[] = {{BINARY_NAMES, cu_binary}, {UNARY_NAMES, cu_unary}, {REDUCE_NAMES, cu_reduce}};
  for (int f = 0; f < 3; f++) {
    for (int i = 0; families[f].names[i]; i++) {
      lua_pushinteger(L, i);
      lua_pushcclosure(L, families[f].fn, 1);
      lua_setfield(L, -2, families[f].names[i]);
    }
  }
  luaL_newmetatable(L, LT_CUDA_TENSOR_MT);
  lua_setfield(L, -2, "meta");
  return 1;
}
