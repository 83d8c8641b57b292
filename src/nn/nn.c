/* nn.c - shared helpers of the nn core: float checks, GEMM dispatch, scratch carving. */
/* Its cblas_ calls go through src/lazy.h: OpenBLAS is loaded on first use. */
#include <cblas.h>
#include "nn/nn.h"

/* 64 bytes: a cache line and the widest vector load, so no carved piece starts mid-line. */
#define NN_ALIGN 64

int nn_is_float(const Tensor *t) {
  return (t->dtype == LT_F32 || t->dtype == LT_F64) && lt_is_contiguous(t) && t->device == LT_CPU;
}

LtStatus nn_check(const Tensor *t, LtDtype dt, int ndim) {
  if (t->dtype != dt || t->device != LT_CPU) return LT_EDTYPE;
  if (t->ndim != ndim || !lt_is_contiguous(t)) return LT_ESHAPE;
  return LT_OK;
}

LtStatus nn_check_numel(const Tensor *t, LtDtype dt, int64_t n) {
  if (t->dtype != dt || t->device != LT_CPU) return LT_EDTYPE;
  if (lt_numel(t) != n || !lt_is_contiguous(t)) return LT_ESHAPE;
  return LT_OK;
}

void nn_gemm(LtDtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha,
             const void *a, int64_t lda, const void *b, int64_t ldb, double beta, void *c,
             int64_t ldc) {
  /* An empty output has nothing to compute, and cblas rejects the leading dimension 0 an empty
   * shape yields. k = 0 (lda = 0) is the callers' to avoid for the same reason: they skip the
   * GEMM or zero the output themselves. */
  if (m <= 0 || n <= 0) return;
  enum CBLAS_TRANSPOSE tA = ta ? CblasTrans : CblasNoTrans, tB = tb ? CblasTrans : CblasNoTrans;
  if (dt == LT_F32)
    cblas_sgemm(CblasRowMajor, tA, tB, (int)m, (int)n, (int)k, (float)alpha, a, (int)lda, b,
                (int)ldb, (float)beta, c, (int)ldc);
  else
    cblas_dgemm(CblasRowMajor, tA, tB, (int)m, (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb,
                beta, c, (int)ldc);
}

size_t nn_scratch_round(size_t n) { return (n + NN_ALIGN - 1) & ~(size_t)(NN_ALIGN - 1); }

void *nn_scratch_take(NnScratch *s, size_t n) {
  /* Align the address, not the offset: the caller's base carries no alignment promise. */
  uintptr_t p = (uintptr_t)(s->base + s->used);
  size_t pad = (size_t)(((p + NN_ALIGN - 1) & ~(uintptr_t)(NN_ALIGN - 1)) - p);
  /* pad + n is tested together: a piece that fits only without its padding would overrun. */
  if (!s->base || s->used + pad + n > s->size) return NULL;
  void *r = s->base + s->used + pad;
  s->used += pad + n;
  return r;
}

double nn_sumsq(LtDtype dt, const void *p, int64_t n) {
  /* Double accumulation whatever the dtype: these sums add up millions of squares for SQNORM,
   * where a float sum would drop the small ones. */
  double s = 0;
  if (dt == LT_F32) {
    const float *x = p;
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * x[i];
  } else {
    const double *x = p;
    for (int64_t i = 0; i < n; i++) s += x[i] * x[i];
  }
  return s;
}
