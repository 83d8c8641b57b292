/* cuda_ew.cu - the backend's elementwise part: strided copy, fill, binary ops with broadcasting
 * (strides of 0), unary ops, reductions, softmax and Philox random numbers; float32.
 * UNVERIFIED: compiled, never run on a GPU (README.md, GPU). */
#include <math.h>
#include "cuda/cuda_device.h"
#include "cuda/cuda_internal.h"

#define THREADS 256

typedef LtcuGeo Geo;

static Geo geo_of(const Tensor *t) {
  Geo g;
  g.nd = t->ndim;
  for (int d = 0; d < t->ndim; d++) {
    g.shape[d] = t->shape[d];
    g.stride[d] = t->stride[d];
  }
  return g;
}

/* The element offset of row-major linear index i in g (cuda_device.h). */
__device__ static int64_t offset_of(const Geo &g, int64_t i) { return ltcu_offset(&g, i); }

/* Grid size for n elements with a grid-stride loop (capped: the loop covers the rest). */
static unsigned blocks_for(int64_t n) {
  int64_t b = (n + THREADS - 1) / THREADS;
  if (b > 65535) b = 65535;
  return (unsigned)(b < 1 ? 1 : b);
}

#define GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); \
       i += (int64_t)gridDim.x * blockDim.x)

/* Launch error of the last kernel, as a status. */
static int launched(const char *what) { return ltcu_check(cudaGetLastError(), what); }

static int need_f32(const Tensor *t, const char *what) {
  if (t->dtype == LT_F32) return LT_OK;
  return ltcu_fail(LT_EDTYPE, "%s: only float32 on CUDA so far (dtype code %d)", what,
                   (int)t->dtype);
}

/* ---- copy and fill ---- */

template <typename T>
__global__ void copy_kernel(T *dst, Geo gd, const T *src, Geo gs, int64_t n) {
  GRID_LOOP(i, n) dst[offset_of(gd, i)] = src[offset_of(gs, i)];
}

int ltcu_copy(int dev, Tensor *dst, const Tensor *src) {
  int st = ltcu_use(dev);
  if (st) return st;
  int64_t n = ltcu_numel(dst);
  if (!n) return LT_OK;
  cudaStream_t s = ltcu_stream(dev);
  Geo gd = geo_of(dst), gs = geo_of(src);
  /* One kernel per element size: the copy moves bytes, whatever the dtype means. */
  switch (ltcu_elem_size(src->dtype)) {
  case 1: copy_kernel<<<blocks_for(n), THREADS, 0, s>>>((uint8_t *)dst->data, gd,
                                                       (const uint8_t *)src->data, gs, n); break;
  case 2: copy_kernel<<<blocks_for(n), THREADS, 0, s>>>((uint16_t *)dst->data, gd,
                                                       (const uint16_t *)src->data, gs, n); break;
  case 4: copy_kernel<<<blocks_for(n), THREADS, 0, s>>>((uint32_t *)dst->data, gd,
                                                       (const uint32_t *)src->data, gs, n); break;
  default: copy_kernel<<<blocks_for(n), THREADS, 0, s>>>((uint64_t *)dst->data, gd,
                                                        (const uint64_t *)src->data, gs, n);
  }
  return launched("copy");
}

__global__ void fill_kernel(float *t, Geo g, float v, int64_t n) {
  GRID_LOOP(i, n) t[offset_of(g, i)] = v;
}

int ltcu_fill(int dev, Tensor *t, double v) {
  int st = ltcu_use(dev);
  if (!st) st = need_f32(t, "fill");
  if (st) return st;
  int64_t n = ltcu_numel(t);
  if (!n) return LT_OK;
  fill_kernel<<<blocks_for(n), THREADS, 0, ltcu_stream(dev)>>>((float *)t->data, geo_of(t),
                                                                (float)v, n);
  return launched("fill");
}

/* ---- binary and unary ---- */

__device__ static float apply_binary(int op, float x, float y) {
  switch (op) {
  case LT_CU_ADD: return x + y;
  case LT_CU_SUB: return x - y;
  case LT_CU_MUL: return x * y;
  case LT_CU_DIV: return x / y;
  case LT_CU_MAXIMUM: return fmaxf(x, y);
  case LT_CU_MINIMUM: return fminf(x, y);
  default: return powf(x, y);
  }
}

/* out is contiguous (the binding makes it); a and b are expanded to out's shape. */
__global__ void binary_kernel(int op, float *out, int64_t n, const float *a, Geo ga,
                              const float *b, Geo gb) {
  GRID_LOOP(i, n) out[i] = apply_binary(op, a[offset_of(ga, i)], b[offset_of(gb, i)]);
}

__global__ void binary_scalar_kernel(int op, float *out, int64_t n, const float *a, Geo ga,
                                     float s) {
  GRID_LOOP(i, n) out[i] = apply_binary(op, a[offset_of(ga, i)], s);
}

int ltcu_binary(int dev, LtCudaBinary op, Tensor *out, const Tensor *a, const Tensor *b) {
  int st = ltcu_use(dev);
  if (!st) st = need_f32(a, "binary op");
  if (!st) st = need_f32(b, "binary op");
  if (st) return st;
  int64_t n = ltcu_numel(out);
  if (!n) return LT_OK;
  binary_kernel<<<blocks_for(n), THREADS, 0, ltcu_stream(dev)>>>(
      (int)op, (float *)out->data, n, (const float *)a->data, geo_of(a),
      (const float *)b->data, geo_of(b));
  return launched("binary op");
}

int ltcu_binary_scalar(int dev, LtCudaBinary op, Tensor *out, const Tensor *a, double s) {
  int st = ltcu_use(dev);
  if (!st) st = need_f32(a, "binary op");
  if (st) return st;
  int64_t n = ltcu_numel(out);
  if (!n) return LT_OK;
  binary_scalar_kernel<<<blocks_for(n), THREADS, 0, ltcu_stream(dev)>>>(
      (int)op, (float *)out->data, n, (const float *)a->data, geo_of(a), (float)s);
  return launched("binary op");
}

__device__ static float apply_unary(int op, float x) {
  switch (op) {
  case LT_CU_NEG: return -x;
  case LT_CU_EXP: return expf(x);
  case LT_CU_LOG: return logf(x);
  case LT_CU_SQRT: return sqrtf(x);
  case LT_CU_ABS: return fabsf(x);
  case LT_CU_RELU: return x > 0.f ? x : 0.f;
  case LT_CU_SIGMOID: return 1.f / (1.f + expf(-x));
  default: return tanhf(x);
  }
}

__global__ void unary_kernel(int op, float *out, int64_t n, const float *a, Geo ga) {
  GRID_LOOP(i, n) out[i] = apply_unary(op, a[offset_of(ga, i)]);
}

int ltcu_unary(int dev, LtCudaUnary op, Tensor *out, const Tensor *a) {
  int st = ltcu_use(dev);
  if (!st) st = need_f32(a, "unary op");
  if (st) return st;
  int64_t n = ltcu_numel(out);
  if (!n) return LT_OK;
  unary_kernel<<<blocks_for(n), THREADS, 0, ltcu_stream(dev)>>>((int)op, (float *)out->data, n,
                                                                 (const float *)a->data,
                                                                 geo_of(a));
  return launched("unary op");
}

/* ---- reductions ---- */

__device__ static float reduce_init(int op) {
  return op == LT_CU_MAX ? -INFINITY : op == LT_CU_MIN ? INFINITY : 0.f;
}

__device__ static float reduce_step(int op, float acc, float x) {
  /* NaN propagates through max and min as on the CPU (x != x is the NaN test). */
  if (op == LT_CU_MAX) return (x > acc || x != x) ? x : acc;
  if (op == LT_CU_MIN) return (x < acc || x != x) ? x : acc;
  return acc + x;
}

/* a viewed as [outer, n] (the reduced dim last and contiguous): one block per row, a tree
 * reduction in shared memory. Sums accumulate in float per thread, as cuBLAS-free reductions
 * on GPUs do; the CPU sums in double, so the spec's tolerance is relative 1e-5. */
__global__ void reduce_rows_kernel(int op, float *out, const float *a, int64_t n) {
  __shared__ float part[THREADS];
  const float *row = a + blockIdx.x * n;
  float acc = reduce_init(op);
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) acc = reduce_step(op, acc, row[j]);
  part[threadIdx.x] = acc;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if ((int)threadIdx.x < w) part[threadIdx.x] = reduce_step(op, part[threadIdx.x],
                                                              part[threadIdx.x + w]);
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = op == LT_CU_MEAN ? part[0] / (float)n : part[0];
}

/* a viewed as [outer, n, inner] with inner > 1: one thread per (outer, inner) walks n. */
__global__ void reduce_mid_kernel(int op, float *out, const float *a, int64_t outer, int64_t n,
                                  int64_t inner) {
  GRID_LOOP(i, outer * inner) {
    const float *p = a + (i / inner) * n * inner + i % inner;
    float acc = reduce_init(op);
    for (int64_t j = 0; j < n; j++) acc = reduce_step(op, acc, p[j * inner]);
    out[i] = op == LT_CU_MEAN ? acc / (float)n : acc;
  }
}

int ltcu_reduce(int dev, LtCudaReduce op, Tensor *out, const Tensor *a, int dim) {
  int st = ltcu_use(dev);
  if (!st) st = need_f32(a, "reduce");
  if (st) return st;
  int64_t outer = 1, n = ltcu_numel(a), inner = 1;
  if (dim >= 0) {
    n = a->shape[dim];
    for (int d = 0; d < dim; d++) outer *= a->shape[d];
    for (int d = dim + 1; d < a->ndim; d++) inner *= a->shape[d];
  }
  if (!outer || !inner) return LT_OK;
  cudaStream_t s = ltcu_stream(dev);
  if (inner == 1 && outer <= 2147483647)
    reduce_rows_kernel<<<(unsigned)outer, THREADS, 0, s>>>((int)op, (float *)out->data,
                                                          (const float *)a->data, n);
  else
    reduce_mid_kernel<<<blocks_for(outer * inner), THREADS, 0, s>>>(
        (int)op, (float *)out->data, (const float *)a->data, outer, n, inner);
  return launched("reduce");
}

/* ---- softmax over the last dim: one block per row ---- */

__global__ void softmax_kernel(float *out, const float *a, int64_t n, int logsm) {
  __shared__ float part[THREADS];
  const float *row = a + blockIdx.x * n;
  float *orow = out + blockIdx.x * n;
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) m = fmaxf(m, row[j]);
  part[threadIdx.x] = m;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if ((int)threadIdx.x < w) part[threadIdx.x] = fmaxf(part[threadIdx.x], part[threadIdx.x + w]);
    __syncthreads();
  }
  m = part[0];
  __syncthreads();
  float sum = 0.f;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) sum += expf(row[j] - m);
  part[threadIdx.x] = sum;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  float lse = logf(part[0]);
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
    orow[j] = logsm ? row[j] - m - lse : expf(row[j] - m - lse);
}

int ltcu_softmax(int dev, Tensor *out, const Tensor *a, int logsm) {
  int st = ltcu_use(dev);
  if (!st) st = need_f32(a, "softmax");
  if (st) return st;
  int64_t n = a->ndim ? a->shape[a->ndim - 1] : 1;
  int64_t rows = n ? ltcu_numel(a) / n : 0;
  if (!rows) return LT_OK;
  if (rows > 2147483647) return ltcu_fail(LT_EVALUE, "softmax: too many rows");
  softmax_kernel<<<(unsigned)rows, THREADS, 0, ltcu_stream(dev)>>>(
      (float *)out->data, (const float *)a->data, n, logsm);
  return launched("softmax");
}

/* ---- Philox-4x32-10 (cuda_device.h, checked against Random123's vectors on the host) ---- */

/* Thread j fills elements 4j .. 4j+3 from counter (offset + j). */
__global__ void random_kernel(float *t, int64_t n, uint64_t seed, uint64_t offset, int normal) {
  GRID_LOOP(j, (n + 3) / 4) {
    float v[4];
    ltcu_random4(seed, offset + (uint64_t)j, normal, v);
    for (int q = 0; q < 4 && 4 * j + q < n; q++) t[4 * j + q] = v[q];
  }
}

int ltcu_random(int dev, Tensor *t, uint64_t seed, uint64_t offset, int normal) {
  int st = ltcu_use(dev);
  if (!st) st = need_f32(t, "random");
  if (st) return st;
  int64_t n = ltcu_numel(t);
  if (!n) return LT_OK;
  random_kernel<<<blocks_for((n + 3) / 4), THREADS, 0, ltcu_stream(dev)>>>(
      (float *)t->data, n, seed, offset, normal);
  return launched("random");
}
