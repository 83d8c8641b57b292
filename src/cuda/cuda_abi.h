/* cuda_abi.h - the C ABI between lunette and its CUDA backend (lunette_cuda.so): one exported
 * function, lt_cuda_api(), returns a table of plain C functions on device pointers. */
#ifndef LUNETTE_CUDA_ABI_H
#define LUNETTE_CUDA_ABI_H
#include <stddef.h>
#include <stdint.h>
#include "cuda/cuda_alloc.h"
#include "tensor/tensor.h"

/* Why a table behind one symbol: lunette opens the backend with dlopen on first use (a machine
 * without CUDA never maps cudart, cuBLAS or cuSOLVER) and needs one dlsym; the version field
 * refuses a backend built from other sources instead of calling through a wrong layout.
 *
 * Conventions for every entry: `dev` is a device ordinal below device_count(); Tensor
 * descriptors have device LT_CUDA and `data` in that device's memory (the caller checks both);
 * shapes were checked by the caller. Work is queued on the device's own stream (one per
 * device), so calls on one device run in order; results are ready for the next call on the
 * same device, and copies to the host wait for them. Each int-returning entry returns an
 * LtStatus: LT_OK, or LT_EDEVICE / LT_ENOMEM / LT_EDTYPE with a message in last_error().
 * Only float32 is computed for now: other dtypes return LT_EDTYPE (copies take any dtype). */
#define LT_CUDA_ABI_VERSION 1

typedef enum {
  LT_CU_ADD = 0,
  LT_CU_SUB,
  LT_CU_MUL,
  LT_CU_DIV,
  LT_CU_MAXIMUM,
  LT_CU_MINIMUM,
  LT_CU_POW,
  LT_CU_NBINARY
} LtCudaBinary;

typedef enum {
  LT_CU_NEG = 0,
  LT_CU_EXP,
  LT_CU_LOG,
  LT_CU_SQRT,
  LT_CU_ABS,
  LT_CU_RELU,
  LT_CU_SIGMOID,
  LT_CU_TANH,
  LT_CU_NUNARY
} LtCudaUnary;

typedef enum { LT_CU_SUM = 0, LT_CU_MEAN, LT_CU_MAX, LT_CU_MIN, LT_CU_NREDUCE } LtCudaReduce;

typedef struct {
  int abi_version;
  /* The message of the last failing call on this thread ("" when none). Static storage. */
  const char *(*last_error)(void);
  /* Devices visible to the CUDA runtime; -1 when the runtime cannot count them (no driver,
   * ...), with cudaGetDeviceCount's message in last_error(). */
  int (*device_count)(void);
  /* The device's name (cudaGetDeviceProperties) into buf. */
  int (*device_name)(int dev, char *buf, size_t len);
  /* cudaMemGetInfo: free and total bytes of the device. */
  int (*mem_info)(int dev, size_t *free_bytes, size_t *total_bytes);
  /* Waits until all work queued on the device has finished. */
  int (*synchronize)(int dev);

  /* Device memory through the device's caching allocator (cuda_alloc.h) on its stream. alloc
   * returns NULL when out of memory even after emptying the cache; free takes NULL. */
  void *(*alloc)(int dev, size_t nbytes);
  void (*free)(int dev, void *p);
  int (*cache_stats)(int dev, LtCacheStats *out);
  int (*empty_cache)(int dev);

  /* nbytes between host memory and device memory (dst / src contiguous), staged through a
   * pinned host buffer with asynchronous copies on the device's stream; both return once the
   * bytes have arrived, so the host buffer can be reused or read. */
  int (*copy_h2d)(int dev, void *dst, const void *src, size_t nbytes);
  int (*copy_d2h)(int dev, void *dst, const void *src, size_t nbytes);
  /* dst = src elementwise (same shape and dtype; any strides: makes views contiguous). */
  int (*copy)(int dev, Tensor *dst, const Tensor *src);

  /* Every element of t (float32) set to v. */
  int (*fill)(int dev, Tensor *t, double v);
  /* out = a op b: a and b already expanded to out's shape (stride 0 on broadcast dims). */
  int (*binary)(int dev, LtCudaBinary op, Tensor *out, const Tensor *a, const Tensor *b);
  /* out = a op scalar. */
  int (*binary_scalar)(int dev, LtCudaBinary op, Tensor *out, const Tensor *a, double s);
  int (*unary)(int dev, LtCudaUnary op, Tensor *out, const Tensor *a);
  /* out = reduction of contiguous a over dim (0-based), out has a's shape with that dim of size
   * 1; dim -1 reduces everything into a 1-element out. */
  int (*reduce)(int dev, LtCudaReduce op, Tensor *out, const Tensor *a, int dim);
  /* Softmax (logsm = 0) or log-softmax over the last dim of contiguous a into out. */
  int (*softmax)(int dev, Tensor *out, const Tensor *a, int logsm);
  /* Philox-4x32-10 counter-based numbers into contiguous t: uniform [0, 1) (normal = 0) or
   * standard normal (Box-Muller). Element i uses counter (offset + i / 4); the same seed and
   * offset give the same numbers on every device and launch configuration. */
  int (*random)(int dev, Tensor *t, uint64_t seed, uint64_t offset, int normal);

  /* C[b] = op(A[b]) op(B[b]) for b < batch, row-major float32 through cuBLAS (sgemm, strided
   * batched when batch > 1): A is [m x k] (or [k x m] when ta), B [k x n] (or [n x k] when
   * tb), C [m x n]; the stride between batches is m*k, k*n, m*n (0 for A or B means shared). */
  int (*gemm)(int dev, int ta, int tb, int64_t batch, int64_t m, int64_t n, int64_t k,
              const float *a, int64_t stride_a, const float *b, int64_t stride_b, float *c);
  /* Symmetric eigen-decomposition of the n x n row-major matrix a in place (cuSOLVER syevd):
   * afterwards row i of a is the i-th eigenvector and w[i] its eigenvalue, ascending. */
  int (*syevd)(int dev, int64_t n, float *a, float *w);
  /* out[i][j] = ||x_i - y_j||^2 for x [n x d], y [m x d] contiguous (one GEMM and the norms),
   * clamped at 0. */
  int (*cdist_sq)(int dev, Tensor *out, const Tensor *x, const Tensor *y);
  /* out[i, ...] = a[idx[i], ...]: rows of contiguous float32 a by contiguous int64 idx
   * (0-based, in range: checked by the caller), out contiguous [len(idx), ...]. */
  int (*index_rows)(int dev, Tensor *out, const Tensor *a, const Tensor *idx);
  /* The k (1..64) smallest (largest = 0) or largest entries of each row of contiguous a over
   * its last dim, best first, ties to the lower index: vals float32 and idx int64 (1-based,
   * as lunette returns indices to Lua; 0 and NaN pad rows with fewer than k non-NaN
   * entries), both [..., k] contiguous. */
  int (*topk)(int dev, Tensor *vals, Tensor *idx, const Tensor *a, int k, int largest);
} LtCudaApi;

/* The one symbol lunette_cuda.so exports. Never NULL. */
typedef const LtCudaApi *(*LtCudaApiFn)(void);
#define LT_CUDA_API_SYMBOL "lt_cuda_api"
#endif
