/* tensor.h - the tensor descriptor, dtypes, shapes and strided copies (core, no Lua). */
#ifndef LUNETTE_TENSOR_H
#define LUNETTE_TENSOR_H
#include <stddef.h>
#include <stdint.h>

#define LT_MAXDIM 8

/* Work below this many elements runs on one thread: a parallel region costs
 * microseconds (and, in OpenMP's dynamic mode, a read of the load average),
 * which only pays off on large tensors. */
#define LT_PAR_MIN ((int64_t)1 << 20)

/* LT_HOT (runtime ISA dispatch of hot kernels): see hot.h. */
#include "hot.h"

typedef enum {
  LT_F32 = 0,
  LT_F64,
  LT_F16,
  LT_BF16,
  LT_I64,
  LT_I32,
  LT_U8,
  LT_BOOL,
  LT_NDTYPES
} LtDtype;

typedef enum { LT_CPU = 0, LT_CUDA = 1 } LtDevice;

/* Status codes returned by every core function; 0 is success. LT_EOVERFLOW:
 * a shape has more elements (or bytes) than LT_MAX_BYTES allows. */
typedef enum {
  LT_OK = 0,
  LT_ESHAPE,
  LT_EDTYPE,
  LT_ERANGE,
  LT_EVALUE,
  LT_ENOMEM,
  LT_EINTR,
  LT_ELAPACK,
  LT_EDEVICE,
  LT_EOVERFLOW
} LtStatus;

/* The most bytes (numel times element size) any tensor may span, views
 * included. Every descriptor the core or a binding builds is checked
 * against it (lt_shape_numel), so element counts, byte sizes and offsets
 * computed from a Tensor never overflow int64. */
#define LT_MAX_BYTES (INT64_MAX / 2)

/* A strided view of storage owned elsewhere (by a Lua userdata in the
 * bindings). `data` points at element [0,...,0]; strides are in elements and
 * may be zero (broadcast) but are never negative. The core never frees it. */
typedef struct {
  void *data;
  LtDtype dtype;
  LtDevice device;
  int ndim;
  int64_t shape[LT_MAXDIM];
  int64_t stride[LT_MAXDIM];
  /* The GPU's ordinal when device is LT_CUDA, 0 on the CPU. Last, so that the positional
   * initialisers of CPU descriptors ({data, dtype, LT_CPU, nd, {shape}, {stride}}) leave it 0. */
  int device_index;
} Tensor;

/* dtype facts. dt must be a valid LtDtype (below LT_NDTYPES): size and name index a table.
 * lt_dtype_name returns a static string ("float32"). lt_dtype_from_name also accepts torch's
 * aliases ("float", "long", ...) and writes *out only on success. */
size_t lt_dtype_size(LtDtype dt);
const char *lt_dtype_name(LtDtype dt);
int lt_dtype_from_name(const char *name, LtDtype *out); /* 0 ok, -1 unknown */
int lt_dtype_is_float(LtDtype dt);                      /* f32 f64 f16 bf16 */
LtDtype lt_dtype_promote(LtDtype a, LtDtype b);         /* numpy-like, f16/bf16 compute as f32 */

/* shapes */
/* Element count of t. Never overflows: every Tensor's shape passed
 * lt_shape_numel when it was made (a shape from user input or a file goes
 * through lt_shape_numel first; a derived shape has no more elements). */
int64_t lt_numel(const Tensor *t);
/* 1 when t's elements are laid out row-major with no gaps (size-1 dims may have any stride;
 * an empty tensor is contiguous), else 0. */
int lt_is_contiguous(const Tensor *t);
/* Writes the row-major strides (in elements) of shape into stride[0..ndim-1]; a zero size
 * counts as 1 so that an empty tensor still gets distinct strides. */
void lt_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride);
/* Element count of (ndim, shape) into *numel, with overflow-checked
 * products. LT_EVALUE when ndim is outside 0..LT_MAXDIM or a size is
 * negative; LT_EOVERFLOW when the count times elem_size (1 for a bare
 * count) exceeds LT_MAX_BYTES. *numel is written only on LT_OK. */
LtStatus lt_shape_numel(int ndim, const int64_t *shape, size_t elem_size, int64_t *numel);
/* The same as a value: the count, or -1 on any failure. */
int64_t lt_shape_numel_checked(int ndim, const int64_t *shape, size_t elem_size);
/* Formats "[3x4]" (or "[]" for a scalar) into buf; returns buf. */
char *lt_shape_str(const Tensor *t, char *buf, size_t n);

/* Broadcast shapes a and b numpy-style into out (ndim *out_nd). Returns
 * LT_ESHAPE when a dim differs and neither is 1. */
LtStatus lt_broadcast_shape(const Tensor *a, const Tensor *b, int *out_nd, int64_t *out_shape);
/* Makes *v a view of t expanded to (nd, shape): stride 0 on broadcast dims.
 * Returns LT_ESHAPE if t cannot be broadcast to that shape, LT_EOVERFLOW
 * if the view would span more than LT_MAX_BYTES; *v is untouched then. */
LtStatus lt_expand_view(const Tensor *t, int nd, const int64_t *shape, Tensor *v);

/* Element access through double or int64 (generic, slow paths and printing). p points at one
 * element of dtype dt, aligned for it. Stores convert: float to integer saturates and maps NaN
 * to 0, integer stores clamp to the target's range, bool stores v != 0. lt_get_i64 reads
 * integer dtypes exactly (no trip through double). */
double lt_get_f64(const void *p, LtDtype dt);
void lt_set_f64(void *p, LtDtype dt, double v);
int64_t lt_get_i64(const void *p, LtDtype dt);
void lt_set_i64(void *p, LtDtype dt, int64_t v);
/* Address of element idx (t->ndim 0-based indices, not bounds-checked: the caller checks). */
void *lt_elem_ptr(const Tensor *t, const int64_t *idx);

/* half-precision conversions (round to nearest even) */
float lt_f16_to_f32(uint16_t h);
uint16_t lt_f32_to_f16(float f);
float lt_bf16_to_f32(uint16_t h);
uint16_t lt_f32_to_bf16(float f);

/* Copies src into dst elementwise, converting dtype; shapes must be equal
 * (callers broadcast src with lt_expand_view first). dst may not overlap
 * src except when they are the same view. LT_ESHAPE on a shape mismatch,
 * LT_EINTR when interrupted (dst then partly written). */
LtStatus lt_copy(Tensor *dst, const Tensor *src);
/* Fills every element of t with v (converted to t's dtype as lt_set_f64 does). LT_EINTR when
 * interrupted (t then partly written), else LT_OK. */
LtStatus lt_fill(Tensor *t, double v);
/* arange: t is a contiguous 1-d tensor; t[i] = start + i*step. */
void lt_arange(Tensor *t, double start, double step);

/* Hints the OS to back a large buffer with huge pages (no-op when small). */
void lt_memory_advise(void *p, size_t n);

/* Strided iteration helper: calls fn on runs of the innermost dimension,
 * after merging dims that are contiguous in every tensor (so a contiguous
 * tensor is one run, cut into chunks of 4M elements). ptrs[k] walks
 * tensor k and inner_strides_bytes[k] is its step; all tensors share ts[0]'s
 * shape (the caller broadcasts first). nt is at most 4: LT_EVALUE beyond.
 * LT_EINTR when interrupted between runs; LT_OK otherwise. */
typedef void (*LtRunFn)(char **ptrs, const int64_t *inner_strides_bytes, int64_t n, void *ctx);
LtStatus lt_foreach_run(int nt, Tensor *const *ts, LtRunFn fn, void *ctx);
/* The same with runs shared among OpenMP threads; fn must touch only the
 * elements of its own run (no shared accumulators). */
LtStatus lt_foreach_run_par(int nt, Tensor *const *ts, LtRunFn fn, void *ctx);

#endif
