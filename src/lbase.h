/* lbase.h - what every binding shares: tensor userdata, storage, argument checks, errors. */
#ifndef LUNETTE_LBASE_H
#define LUNETTE_LBASE_H
#include <lua.h>
#include <lauxlib.h>
#include "tensor.h"

#define LT_TENSOR_MT "lunette.Tensor"

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
int lt_argerror(lua_State *L, int arg, const char *fname, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));
/* Raises the error for a non-OK core status, naming fname. */
void lt_check_status(lua_State *L, LtStatus st, const char *fname);

/* Pushes a new contiguous tensor (uninitialised bytes) and returns its
 * descriptor. Raises "<name>: shape [..] has too many elements" (or "tensor
 * too large" past 64 TiB), naming the running C function, for a shape
 * derived from other tensors. */
Tensor *lt_push_new(lua_State *L, LtDtype dt, int nd, const int64_t *shape);
/* Raises "bad argument #arg to 'fname' (...)" unless lt_push_new could
 * make a tensor of dtype dt and that shape; allocates nothing. */
void lt_check_new(lua_State *L, int arg, const char *fname, LtDtype dt, int nd,
                  const int64_t *shape);
/* lt_push_new for a shape taken from the user's argument arg of fname:
 * the error is "bad argument #arg to 'fname' (...)". */
Tensor *lt_push_new_arg(lua_State *L, int arg, const char *fname, LtDtype dt, int nd,
                        const int64_t *shape);
Tensor *lt_push_new_like(lua_State *L, const Tensor *t, LtDtype dt);
/* Pushes a view `v` sharing the storage of the tensor at stack index base. */
Tensor *lt_push_view(lua_State *L, int base, const Tensor *v);
/* Pushes t itself if contiguous, else a contiguous copy; returns it. */
Tensor *lt_push_contiguous(lua_State *L, int idx);

Tensor *lt_totensor(lua_State *L, int idx);  /* NULL if not a tensor */
Tensor *lt_check_tensor(lua_State *L, int arg, const char *fname);
/* Accepts a tensor or a Lua number (becomes a 0-d tensor of dtype `like`,
 * or int64/float32 by the number's kind when like < 0); leaves the tensor
 * at stack index arg. */
Tensor *lt_check_operand(lua_State *L, int arg, const char *fname, int like);
LtDtype lt_check_dtype(lua_State *L, int arg, const char *fname);
LtDtype lt_opt_dtype(lua_State *L, int arg, const char *fname, LtDtype def);
/* 1-based dim at arg (negative counts from the end) -> 0-based, checked. */
int lt_check_dim(lua_State *L, int arg, const char *fname, int ndim);
int64_t lt_check_int(lua_State *L, int arg, const char *fname, const char *what);
/* Reads a shape given as integers from arg onward or as one table at arg.
 * Returns ndim; sizes must be non-negative integers whose element count
 * passes lt_shape_numel (else "shape [..] has too many elements"). */
int lt_check_shape(lua_State *L, int arg, const char *fname, int64_t *shape);
/* The same, allowing one size of -1 (reshape/expand fill it in). */
int lt_check_shape_infer(lua_State *L, int arg, const char *fname, int64_t *shape);

/* Formats "[3x4]" for messages. */
const char *lt_shape_of(const Tensor *t, char *buf, size_t n);

/* Bytes held by storages not yet collected (O(number of storages)). */
long long lt_memory_live(lua_State *L);

/* Adds fns to the tensor metatable's __methods and to the table on top. */
void lt_register_tensor_methods(lua_State *L, const luaL_Reg *fns);

/* The C half of each module, preloaded as "lunette._<name>" by lunette.c. */
int luaopen_lunette_tensor(lua_State *L);
int luaopen_lunette_tensor_view(lua_State *L);
int luaopen_lunette_tensor_ew(lua_State *L);
int luaopen_lunette_tensor_reduce(lua_State *L);
int luaopen_lunette_tensor_index(lua_State *L);
int luaopen_lunette_random(lua_State *L);
int luaopen_lunette_linalg(lua_State *L);
int luaopen_lunette_io(lua_State *L);
int luaopen_lunette_nn(lua_State *L);
int luaopen_lunette_embed(lua_State *L);
int luaopen_lunette_plot(lua_State *L);
int luaopen_lunette_sketch(lua_State *L);
int luaopen_lunette_select(lua_State *L);

#endif
