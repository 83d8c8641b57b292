/* lnn.h - what the nn bindings share: float arguments, the reused scratch, per-sample targets. */
#ifndef LUNETTE_LNN_H
#define LUNETTE_LNN_H
#include "tensor/lbase.h"
#include "nn/nn.h"
#include "nn/nn_psg.h"

/* The float tensor at arg (F32 or F64), made contiguous in place on the
 * stack (a strided view is copied); raises a bad-argument error naming
 * fname and `what` otherwise. */
Tensor *lnn_check_float(lua_State *L, int arg, const char *fname, const char *what);
/* The same, or NULL when arg is nil/none. */
Tensor *lnn_opt_float(lua_State *L, int arg, const char *fname, const char *what);
/* The float tensor at arg that the kernel writes in place (parameters, optimiser state,
 * gradient buffers, running statistics): as lnn_check_float, but a strided view raises
 * instead of being copied, since the update would go to the copy. */
Tensor *lnn_check_float_out(lua_State *L, int arg, const char *fname, const char *what);
/* The same, or NULL when arg is nil/none. */
Tensor *lnn_opt_float_out(lua_State *L, int arg, const char *fname, const char *what);
/* Raises unless t has dtype dt (t is argument arg called `what`). */
void lnn_check_dtype(lua_State *L, int arg, const char *fname, const char *what, const Tensor *t,
                     LtDtype dt);
/* Raises unless t holds n elements. */
void lnn_check_numel(lua_State *L, int arg, const char *fname, const char *what, const Tensor *t,
                     int64_t n);
/* Pushes a new tensor of zeros. */
Tensor *lnn_push_zeros(lua_State *L, LtDtype dt, int nd, const int64_t *shape);
/* Reads integer field i (1-based) of the array at arg, >= lo. */
int64_t lnn_geti(lua_State *L, int arg, int i, const char *fname, int64_t lo);

/* A scratch area of at least `bytes` bytes, reused across calls (kept in
 * the registry and grown on demand); valid until the next call. */
NnScratch lnn_scratch(lua_State *L, size_t bytes);
/* Bytes of scratch that lets a chunk of samples need per_sample bytes
 * each: enough for min(batch, max(1, budget/per_sample)) samples. */
size_t lnn_chunk_bytes(int64_t batch, size_t per_sample);

/* Reads the per-sample target table at arg ({mode = "full"|"project"|
 * "sqnorm", out = tensor, proj = tensor}) into ps for a batch of `batch`
 * samples of dtype dt; returns NULL when arg is nil. */
NnPsg *lnn_check_psg(lua_State *L, int arg, const char *fname, NnPsg *ps, int64_t batch,
                     LtDtype dt);
/* Offsets of a layer's weight and bias in the per-sample vector: integer
 * arguments (0-based columns) or nil for "not wanted". */
NnPsgOffsets lnn_check_offsets(lua_State *L, int warg, int barg, const char *fname);

/* Raises the error for a core status, naming the function. */
void lnn_status(lua_State *L, LtStatus st, const char *fname);

#endif
