/* nn.h - what the nn core files share: float checks, GEMM dispatch, scratch (core, no Lua). */
#ifndef LUNETTE_NN_H
#define LUNETTE_NN_H
#include "tensor/tensor.h"

/* The nn kernels compute in F32 (the fast path every model uses) or F64 (the
 * path the gradient checks run). Every tensor a kernel receives is
 * contiguous and of the same float dtype; the bindings make sure of it and
 * the kernels check it again (LT_EDTYPE / LT_ESHAPE), never trusting sizes. */

/* True when t is a contiguous F32 or F64 tensor. */
int nn_is_float(const Tensor *t);
/* LT_OK when t is contiguous, of dtype dt and has ndim dims. */
LtStatus nn_check(const Tensor *t, LtDtype dt, int ndim);
/* LT_OK when t is contiguous, of dtype dt and holds exactly n elements. */
LtStatus nn_check_numel(const Tensor *t, LtDtype dt, int64_t n);

/* C = alpha * op(A) @ op(B) + beta * C, row-major, through cblas_sgemm
 * (dt F32, pointers to float) or cblas_dgemm (F64). ta/tb nonzero mean
 * transposed. Sizes must fit BLAS's int (callers keep chunks small). */
void nn_gemm(LtDtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha,
             const void *a, int64_t lda, const void *b, int64_t ldb, double beta, void *c,
             int64_t ldc);

/* Caller-owned scratch that a kernel carves into aligned pieces. */
typedef struct {
  char *base;
  size_t size, used;
} NnScratch;
/* Returns the next n bytes of s (aligned to 64), or NULL when s is too small. */
void *nn_scratch_take(NnScratch *s, size_t n);
/* Bytes n rounded up to the carve alignment, for sizing scratch. */
size_t nn_scratch_round(size_t n);

/* Sum of squares of n elements of p (dtype dt) in double. */
double nn_sumsq(LtDtype dt, const void *p, int64_t n);

#endif
