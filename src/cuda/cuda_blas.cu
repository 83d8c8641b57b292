/* cuda_blas.cu - the backend's linear-algebra part: GEMM (cuBLAS, strided batched), symmetric
 * eigen-decomposition (cuSOLVER syevd) and squared distances (one GEMM plus norms); float32.
 * UNVERIFIED: compiled, never run on a GPU (README.md, GPU). */
#include <cublas_v2.h>
#include <cusolverDn.h>
#include <pthread.h>
#include "cuda/cuda_internal.h"

/* One cuBLAS and one cuSOLVER handle per device, bound to the device's stream, made on first
 * use and kept for the process (as the streams are). */
static cublasHandle_t blas[LTCU_MAX_DEVICES];
static cusolverDnHandle_t solver[LTCU_MAX_DEVICES];
static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;

static int blas_handle(int dev, cublasHandle_t *h) {
  int st = ltcu_use(dev);
  if (st) return st;
  pthread_mutex_lock(&handles_lock);
  if (!blas[dev]) {
    cublasStatus_t e = cublasCreate(&blas[dev]);
    if (e == CUBLAS_STATUS_SUCCESS) e = cublasSetStream(blas[dev], ltcu_stream(dev));
    if (e != CUBLAS_STATUS_SUCCESS) {
      blas[dev] = NULL;
      st = ltcu_fail(LT_EDEVICE, "cublasCreate: %s", cublasGetStatusString(e));
    }
  }
  pthread_mutex_unlock(&handles_lock);
  *h = blas[dev];
  return st;
}

static int solver_handle(int dev, cusolverDnHandle_t *h) {
  int st = ltcu_use(dev);
  if (st) return st;
  pthread_mutex_lock(&handles_lock);
  if (!solver[dev]) {
    cusolverStatus_t e = cusolverDnCreate(&solver[dev]);
    if (e == CUSOLVER_STATUS_SUCCESS) e = cusolverDnSetStream(solver[dev], ltcu_stream(dev));
    if (e != CUSOLVER_STATUS_SUCCESS) {
      solver[dev] = NULL;
      st = ltcu_fail(LT_EDEVICE, "cusolverDnCreate failed (status %d)", (int)e);
    }
  }
  pthread_mutex_unlock(&handles_lock);
  *h = solver[dev];
  return st;
}

/* cuBLAS takes int dimensions. */
static int fits_int(int64_t x) { return x >= 0 && x <= 2147483647; }

/* Row-major C = A B is column-major C^T = B^T A^T: cuBLAS gets B first and A second, each with
 * the leading dimension of its row-major storage, and m, n swapped. */
int ltcu_gemm(int dev, int ta, int tb, int64_t batch, int64_t m, int64_t n, int64_t k,
              const float *a, int64_t stride_a, const float *b, int64_t stride_b, float *c) {
  cublasHandle_t h;
  int st = blas_handle(dev, &h);
  if (st) return st;
  if (!fits_int(m) || !fits_int(n) || !fits_int(k) || !fits_int(batch))
    return ltcu_fail(LT_EVALUE, "matmul: a dimension exceeds cuBLAS's int range");
  if (!m || !n || !batch) return LT_OK;
  const float one = 1.f, zero = 0.f;
  int lda = ta ? (int)m : (int)k;
  int ldb = tb ? (int)k : (int)n;
  cublasOperation_t opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasStatus_t e = cublasSgemmStridedBatched(h, opb, opa, (int)n, (int)m, (int)k, &one, b, ldb,
                                               stride_b, a, lda, stride_a, &zero, c, (int)n,
                                               m * n, (int)batch);
  if (e != CUBLAS_STATUS_SUCCESS)
    return ltcu_fail(LT_EDEVICE, "cublasSgemm: %s", cublasGetStatusString(e));
  return LT_OK;
}

/* A symmetric matrix is its own transpose, so cuSOLVER's column-major input is the row-major
 * one; its output eigenvectors are columns, which read row-major are rows. */
int ltcu_syevd(int dev, int64_t n, float *a, float *w) {
  cusolverDnHandle_t h;
  int st = solver_handle(dev, &h);
  if (st) return st;
  if (!fits_int(n)) return ltcu_fail(LT_EVALUE, "syevd: n exceeds cuSOLVER's int range");
  if (!n) return LT_OK;
  int lwork = 0;
  cusolverStatus_t e = cusolverDnSsyevd_bufferSize(h, CUSOLVER_EIG_MODE_VECTOR,
                                                   CUBLAS_FILL_MODE_UPPER, (int)n, a, (int)n, w,
                                                   &lwork);
  if (e != CUSOLVER_STATUS_SUCCESS)
    return ltcu_fail(LT_EDEVICE, "cusolverDnSsyevd_bufferSize failed (status %d)", (int)e);
  float *work = (float *)ltcu_alloc(dev, (size_t)lwork * sizeof(float) + sizeof(int));
  if (!work) return LT_ENOMEM;
  int *info_d = (int *)(work + lwork);
  e = cusolverDnSsyevd(h, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER, (int)n, a, (int)n, w,
                       work, lwork, info_d);
  int info = 0;
  if (e == CUSOLVER_STATUS_SUCCESS)
    st = ltcu_check(cudaMemcpyAsync(&info, info_d, sizeof info, cudaMemcpyDeviceToHost,
                                    ltcu_stream(dev)), "syevd");
  if (e == CUSOLVER_STATUS_SUCCESS && !st)
    st = ltcu_check(cudaStreamSynchronize(ltcu_stream(dev)), "syevd");
  ltcu_free(dev, work);
  if (e != CUSOLVER_STATUS_SUCCESS)
    return ltcu_fail(LT_ELAPACK, "cusolverDnSsyevd failed (status %d)", (int)e);
  if (!st && info) return ltcu_fail(LT_ELAPACK, "syevd: %d off-diagonal elements did not "
                                                "converge", info);
  return st;
}

/* Squared row norms of x [n x d] into out[n]: one thread per row (d is a feature count). */
__global__ void row_norms_kernel(float *out, const float *x, int64_t n, int64_t d) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    float s = 0.f;
    for (int64_t j = 0; j < d; j++) s += x[i * d + j] * x[i * d + j];
    out[i] = s;
  }
}

/* out[i][j] = max(0, xn[i] + yn[j] + out[i][j]) where out holds -2 x y^T. */
__global__ void add_norms_kernel(float *out, const float *xn, const float *yn, int64_t n,
                                 int64_t m) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n * m;
       i += (int64_t)gridDim.x * blockDim.x) {
    float v = xn[i / m] + yn[i % m] + out[i];
    out[i] = v > 0.f ? v : 0.f;
  }
}

static unsigned grid(int64_t n) {
  int64_t b = (n + 255) / 256;
  return (unsigned)(b < 1 ? 1 : b > 65535 ? 65535 : b);
}

int ltcu_cdist_sq(int dev, Tensor *out, const Tensor *x, const Tensor *y) {
  cublasHandle_t h;
  int st = blas_handle(dev, &h);
  if (st) return st;
  int64_t n = x->shape[0], m = y->shape[0], d = x->shape[1];
  if (!fits_int(n) || !fits_int(m) || !fits_int(d))
    return ltcu_fail(LT_EVALUE, "cdist: a dimension exceeds cuBLAS's int range");
  if (!n || !m) return LT_OK;
  float *norms = (float *)ltcu_alloc(dev, (size_t)(n + m) * sizeof(float));
  if (!norms) return LT_ENOMEM;
  cudaStream_t s = ltcu_stream(dev);
  const float *xd = (const float *)x->data, *yd = (const float *)y->data;
  row_norms_kernel<<<grid(n), 256, 0, s>>>(norms, xd, n, d);
  row_norms_kernel<<<grid(m), 256, 0, s>>>(norms + n, yd, m, d);
  const float alpha = -2.f, zero = 0.f;
  /* Row-major out [n x m] = x y^T is column-major out^T = y x^T: y as op T of its [d x m] view. */
  cublasStatus_t e = cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, (int)m, (int)n, (int)d, &alpha, yd,
                                 (int)d, xd, (int)d, &zero, (float *)out->data, (int)m);
  if (e != CUBLAS_STATUS_SUCCESS) st = ltcu_fail(LT_EDEVICE, "cublasSgemm: %s",
                                                 cublasGetStatusString(e));
  if (!st) {
    add_norms_kernel<<<grid(n * m), 256, 0, s>>>((float *)out->data, norms, norms + n, n, m);
    st = ltcu_check(cudaGetLastError(), "cdist");
  }
  ltcu_free(dev, norms);
  return st;
}
