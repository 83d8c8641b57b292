/* cuda_index.cu - the backend's indexing part: rows by index (index_select on dim 0) and the
 * k smallest or largest entries of each row (top-k, the step after cdist in kNN); float32
 * values, int64 indices. UNVERIFIED: compiled, never run on a GPU (README.md, GPU). */
#include "cuda/cuda_device.h"
#include "cuda/cuda_internal.h"

/* out[i, :] = a[idx[i], :] for a [n x w] contiguous; idx 0-based, checked by the caller. */
__global__ void rows_kernel(float *out, const float *a, const int64_t *idx, int64_t rows,
                            int64_t w) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < rows * w;
       i += (int64_t)gridDim.x * blockDim.x)
    out[i] = a[idx[i / w] * w + i % w];
}

int ltcu_index_rows(int dev, Tensor *out, const Tensor *a, const Tensor *idx) {
  int st = ltcu_use(dev);
  if (st) return st;
  if (a->dtype != LT_F32 || idx->dtype != LT_I64)
    return ltcu_fail(LT_EDTYPE, "index_select: float32 values and int64 indices on CUDA");
  int64_t rows = idx->shape[0], w = a->shape[0] ? ltcu_numel(a) / a->shape[0] : 0;
  if (!rows || !w) return LT_OK;
  int64_t b = (rows * w + 255) / 256;
  rows_kernel<<<(unsigned)(b > 65535 ? 65535 : b), 256, 0, ltcu_stream(dev)>>>(
      (float *)out->data, (const float *)a->data, (const int64_t *)idx->data, rows, w);
  return ltcu_check(cudaGetLastError(), "index_select");
}

#define TOPK_MAX 64

/* One thread per row keeps the row's best k (k <= TOPK_MAX) in a sorted local array by
 * insertion: O(n k) per row, no scratch, and exact ties broken by the lower index (as the
 * CPU's stable top-k). Writes values and 1-based indices (lunette's surface convention),
 * best first. */
__global__ void topk_kernel(float *vals, int64_t *idx, const float *a, int64_t rows, int64_t n,
                            int k, int largest) {
  for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < rows;
       r += (int64_t)gridDim.x * blockDim.x) {
    float bv[TOPK_MAX];
    int64_t bi[TOPK_MAX];
    int have = 0;
    const float *row = a + r * n;
    for (int64_t j = 0; j < n; j++) {
      float v = largest ? -row[j] : row[j];
      have = ltcu_topk_offer(bv, bi, have, k, v, j);
    }
    for (int q = 0; q < k; q++) {
      vals[r * k + q] = q < have ? (largest ? -bv[q] : bv[q]) : __int_as_float(0x7fc00000);
      idx[r * k + q] = q < have ? bi[q] + 1 : 0;
    }
  }
}

int ltcu_topk(int dev, Tensor *vals, Tensor *idx, const Tensor *a, int k, int largest) {
  int st = ltcu_use(dev);
  if (st) return st;
  if (a->dtype != LT_F32) return ltcu_fail(LT_EDTYPE, "topk: only float32 on CUDA so far");
  if (k < 1 || k > TOPK_MAX) return ltcu_fail(LT_EVALUE, "topk: k must be in 1..%d on CUDA",
                                              TOPK_MAX);
  int64_t n = a->shape[a->ndim - 1];
  int64_t rows = n ? ltcu_numel(a) / n : 0;
  if (!rows) return LT_OK;
  int64_t b = (rows + 127) / 128;
  topk_kernel<<<(unsigned)(b > 65535 ? 65535 : b), 128, 0, ltcu_stream(dev)>>>(
      (float *)vals->data, (int64_t *)idx->data, (const float *)a->data, rows, n, k, largest);
  return ltcu_check(cudaGetLastError(), "topk");
}
