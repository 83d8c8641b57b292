/* cuda_internal.h - what the backend's translation units share (CUDA types allowed here; never
 * included by lunette itself, which sees only cuda_abi.h). */
#ifndef LUNETTE_CUDA_INTERNAL_H
#define LUNETTE_CUDA_INTERNAL_H
#include <cuda_runtime.h>
#include "cuda/cuda_abi.h"

#define LTCU_MAX_DEVICES 16

/* Tensor facts the backend needs without linking lunette's tensor.c (the backend is its own
 * shared object and calls nothing of lunette's). */
static inline int64_t ltcu_numel(const Tensor *t) {
  int64_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
  return n;
}
static inline size_t ltcu_elem_size(LtDtype dt) {
  switch (dt) {
  case LT_F64:
  case LT_I64: return 8;
  case LT_F32:
  case LT_I32: return 4;
  case LT_F16:
  case LT_BF16: return 2;
  default: return 1;
  }
}

/* Records a failure message for last_error() (printf format) and returns st. */
int ltcu_fail(int st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* LT_OK when e is cudaSuccess, else records "what: <cuda message>" and returns LT_EDEVICE
 * (LT_ENOMEM for cudaErrorMemoryAllocation). */
int ltcu_check(cudaError_t e, const char *what);
/* Makes dev current on this thread and sets up its stream and allocator on first use. */
int ltcu_use(int dev);
/* The device's stream (valid after ltcu_use(dev) succeeded). */
cudaStream_t ltcu_stream(int dev);
/* Scratch device memory from the caching allocator (NULL and a message when out of memory). */
void *ltcu_alloc(int dev, size_t nbytes);
void ltcu_free(int dev, void *p);

/* The entries defined by each translation unit (cuda_ew.cu, cuda_blas.cu, cuda_index.cu). */
int ltcu_copy(int dev, Tensor *dst, const Tensor *src);
int ltcu_fill(int dev, Tensor *t, double v);
int ltcu_binary(int dev, LtCudaBinary op, Tensor *out, const Tensor *a, const Tensor *b);
int ltcu_binary_scalar(int dev, LtCudaBinary op, Tensor *out, const Tensor *a, double s);
int ltcu_unary(int dev, LtCudaUnary op, Tensor *out, const Tensor *a);
int ltcu_reduce(int dev, LtCudaReduce op, Tensor *out, const Tensor *a, int dim);
int ltcu_softmax(int dev, Tensor *out, const Tensor *a, int logsm);
int ltcu_random(int dev, Tensor *t, uint64_t seed, uint64_t offset, int normal);
int ltcu_gemm(int dev, int ta, int tb, int64_t batch, int64_t m, int64_t n, int64_t k,
              const float *a, int64_t stride_a, const float *b, int64_t stride_b, float *c);
int ltcu_syevd(int dev, int64_t n, float *a, float *w);
int ltcu_cdist_sq(int dev, Tensor *out, const Tensor *x, const Tensor *y);
int ltcu_index_rows(int dev, Tensor *out, const Tensor *a, const Tensor *idx);
int ltcu_topk(int dev, Tensor *vals, Tensor *idx, const Tensor *a, int k, int largest);
#endif
