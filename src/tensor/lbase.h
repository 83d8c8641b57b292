/* lbase.h - what every binding shares: tensor userdata, storage, argument checks, errors,
 * option readers. Its functions are binding helpers and carry the ltL_ prefix (as Lua's
 * luaL_ sits on lua_); lt_ is the core's prefix. */
#ifndef LUNETTE_LBASE_H
#define LUNETTE_LBASE_H
#include <lua.h>
#include <lauxlib.h>
#include "tensor/blockcache.h"
#include "tensor/tensor.h"

#define LT_TENSOR_MT "lunette.Tensor"
/* A tensor in GPU memory (src/cuda/lcuda.c): the same Tensor descriptor with device LT_CUDA
 * under its own metatable, so that ltL_totensor never hands a device pointer to CPU code. */
#define LT_CUDA_TENSOR_MT "lunette.CudaTensor"

/* Storage: a full userdata whose bytes the Lua GC owns and counts. The
 * element bytes follow this header, aligned to 64. A GPU storage will keep
 * `ptr` to device memory and free it in a __gc of its own (device storages
 * only); tensors and kernels see just `ptr` and `device`. */
typedef struct {
  size_t nbytes;
  LtDevice device;
  void *ptr;
} LtStorage;

/* Raises "bad argument #arg to 'fname' (<formatted reason>)"; fmt is a C
 * printf format (vsnprintf), not a lua_pushfstring one. */
int ltL_argerror(lua_State *L, int arg, const char *fname, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Raises the error for a non-OK core status, naming fname ("fname: shape mismatch"); LT_EINTR
 * clears the interrupt flag and raises "interrupted!". Returns only for LT_OK. */
void ltL_check_status(lua_State *L, LtStatus st, const char *fname);

/* Pushes a new contiguous tensor (uninitialised bytes) and returns its
 * descriptor. Raises "<name>: shape [..] has too many elements" (or "tensor
 * too large" past 64 TiB), naming the running C function, for a shape
 * derived from other tensors. */
Tensor *ltL_push_new(lua_State *L, LtDtype dt, int nd, const int64_t *shape);
/* Raises "bad argument #arg to 'fname' (...)" unless ltL_push_new could
 * make a tensor of dtype dt and that shape; allocates nothing. */
void ltL_check_new(lua_State *L, int arg, const char *fname, LtDtype dt, int nd,
                   const int64_t *shape);
/* ltL_push_new for a shape taken from the user's argument arg of fname:
 * the error is "bad argument #arg to 'fname' (...)". */
Tensor *ltL_push_new_arg(lua_State *L, int arg, const char *fname, LtDtype dt, int nd,
                         const int64_t *shape);
/* ltL_push_new with t's shape and dtype dt (a fresh contiguous tensor; t's strides are ignored). */
Tensor *ltL_push_new_like(lua_State *L, const Tensor *t, LtDtype dt);
/* Pushes a view `v` sharing the storage of the tensor at stack index base. v must address only
 * bytes of that storage (the core view functions guarantee it); views never chain: the new
 * tensor holds the storage itself, not the base tensor. */
Tensor *ltL_push_view(lua_State *L, int base, const Tensor *v);
/* Pushes the tensor at idx itself if contiguous, else a contiguous copy; returns it. Raises
 * on a memory error or an interrupt during the copy. */
Tensor *ltL_push_contiguous(lua_State *L, int idx);

/* NULL if not a CPU tensor (a CUDA tensor is not one: CPU code must not see device memory). */
Tensor *ltL_totensor(lua_State *L, int idx);
/* The tensor at arg, or raises "bad argument #arg to 'fname' (tensor expected, got x)"; for a
 * CUDA tensor "(expected a tensor on cpu, got one on cuda:0: ...)", naming both devices. The
 * descriptor lives in the userdata: valid while that value is on the stack or referenced. */
Tensor *ltL_check_tensor(lua_State *L, int arg, const char *fname);
/* Accepts a tensor or a Lua number (becomes a 0-d tensor of dtype `like`,
 * or int64/float32 by the number's kind when like < 0); leaves the tensor
 * at stack index arg. */
Tensor *ltL_check_operand(lua_State *L, int arg, const char *fname, int like);
/* A dtype name ("float32", or a torch alias such as "long") at arg; raises on another type or
 * an unknown name, listing the known ones. ltL_opt_dtype: def when arg is nil or none. */
LtDtype ltL_check_dtype(lua_State *L, int arg, const char *fname);
LtDtype ltL_opt_dtype(lua_State *L, int arg, const char *fname, LtDtype def);
/* 1-based dim at arg (negative counts from the end) -> 0-based, checked. */
int ltL_check_dim(lua_State *L, int arg, const char *fname, int ndim);
/* An integer at arg (a float with an integral value counts); raises "(what must be an integer,
 * got 1.5)" or "(what expected (integer), got string)". */
int64_t ltL_check_int(lua_State *L, int arg, const char *fname, const char *what);
/* Reads a shape given as integers from arg onward or as one table at arg.
 * Returns ndim; sizes must be non-negative integers whose element count
 * passes lt_shape_numel (else "shape [..] has too many elements"). */
int ltL_check_shape(lua_State *L, int arg, const char *fname, int64_t *shape);
/* The same, allowing one size of -1 (reshape/expand fill it in). */
int ltL_check_shape_infer(lua_State *L, int arg, const char *fname, int64_t *shape);

/* ---- option tables ----------------------------------------------------------
 * The binding helpers for options tables ({perplexity = 30}), prefixed ltL_
 * as Lua's auxiliary library is luaL_ (lt_ is the core's prefix). Every
 * reader takes the options table at stack index `arg` of `fname` (errors
 * name argument #arg); nil or none there means "every default", and so does
 * an absent (nil) key. A value of the wrong type raises, as Lua's own type
 * errors read, "bad argument #arg to 'fname' (option key: number expected,
 * got string)"; a value of the right type but out of the option's domain
 * "(option 'key' must be an integer, got 1.5)". */

/* Checks that arg is nil, none or a table whose keys are all strings in
 * `known` (NULL-terminated). Anything else raises "options table expected"
 * or "unknown option 'k' to 'fname' (did you mean 'b'?)" when a known key is
 * close to k (edit distance at most 2, and less than half the longer name),
 * else "unknown option 'k' to 'fname' (expected a, b, c)". */
void ltL_check_options(lua_State *L, int arg, const char *fname, const char *const *known);
/* Pushes opts[key] and returns 1; returns 0 and pushes nothing when arg is
 * not a table or the value is nil. For options the readers below don't cover
 * (a tensor, a function); the caller pops the value. */
int ltL_opt_get(lua_State *L, int arg, const char *key);
/* A number (not NaN; infinities pass: callers check their own ranges). */
double ltL_opt_number(lua_State *L, int arg, const char *fname, const char *key, double def);
/* An integer: a Lua integer or a float with an integral value (3.0). */
int64_t ltL_opt_int(lua_State *L, int arg, const char *fname, const char *key, int64_t def);
/* The same, raising "option 'key' must be in lo..hi" outside [lo, hi]: read every option that
 * is narrowed to int through it, so an out-of-range value is never truncated into range. */
int64_t ltL_opt_int_in(lua_State *L, int arg, const char *fname, const char *key, int64_t def,
                       int64_t lo, int64_t hi);
/* A boolean (true or false; other values are errors, not truthiness). */
int ltL_opt_bool(lua_State *L, int arg, const char *fname, const char *key, int def);
/* The index of the string value among names (NULL-terminated), or def; any
 * other value raises "option 'key' must be one of "a", "b", got x". */
int ltL_opt_enum(lua_State *L, int arg, const char *fname, const char *key,
                 const char *const *names, int def);

/* Seeds, one rule for every binding: a seed is any Lua integer, negative
 * included (a float with an integral value, 3.0, counts as that integer);
 * generators take it as (uint64_t)seed, so each of the 2^64 streams has
 * exactly one seed in [-2^63, 2^63). Anything else is an error worded the
 * same in every module: in an options table "(option 'seed' must be an
 * integer, got 1.5)" or "(option seed: integer expected, got string)", as
 * an argument "(seed must be an integer, got 1.5)" or "(seed expected
 * (integer), got string)". */
int64_t ltL_opt_seed(lua_State *L, int arg, const char *fname); /* opts.seed, default 0 */
int64_t ltL_check_seed(lua_State *L, int arg, const char *fname);

/* Formats "[3x4]" for messages. */
const char *ltL_shape_of(const Tensor *t, char *buf, size_t n);

/* Bytes held by storages not yet collected (O(number of storages)). Storages are tracked as
 * the keys of a weak registry table, so a collected one stops counting in the same cycle. */
long long ltL_memory_live(lua_State *L);

/* Puts a block cache (tensor/blockcache.h) in front of L's allocator, once per state: large
 * blocks the collector frees are kept, up to a cap (LTL_CACHE_DEFAULT_CAP bytes to start), and
 * handed back for the next request they can hold, so the storages of a model's layers are
 * not unmapped and faulted in again on every call. The state's own allocator is put back and
 * the held blocks freed when L closes. Raises on a memory error. */
void ltL_install_block_cache(lua_State *L);
/* The cache of L (NULL when ltL_install_block_cache did not run on L). */
LtBlockCache *ltL_block_cache(lua_State *L);
#define LTL_CACHE_DEFAULT_CAP ((size_t)2 << 30)

/* Adds fns to the tensor metatable's __methods and to the table on top (creating the
 * metatable, named "Tensor", on first use). */
void ltL_register_tensor_methods(lua_State *L, const luaL_Reg *fns);

#endif
