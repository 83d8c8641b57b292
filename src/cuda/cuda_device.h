/* cuda_device.h - the pure per-element functions of the CUDA kernels, written once for the
 * device and the host: strided offsets, Philox-4x32-10, uniform and normal conversion, the
 * top-k insertion step. The backend's kernels call them on the GPU; tests/cuda_kernels_test.c
 * calls the same code on the CPU (known-answer vectors, references), so this part of the
 * GPU path is verified without a GPU. Plain C, also valid CUDA C++. */
#ifndef LUNETTE_CUDA_DEVICE_H
#define LUNETTE_CUDA_DEVICE_H
#include <math.h>
#include <stdint.h>
#include "tensor/tensor.h"

#ifdef __CUDACC__
#define LTCU_HD __host__ __device__
#else
#define LTCU_HD
#endif

/* A descriptor's shape and strides, passed to kernels by value. */
typedef struct {
  int nd;
  int64_t shape[LT_MAXDIM];
  int64_t stride[LT_MAXDIM];
} LtcuGeo;

/* The element offset of row-major linear index i in g (stride 0 on broadcast dims). */
LTCU_HD static inline int64_t ltcu_offset(const LtcuGeo *g, int64_t i) {
  int64_t off = 0;
  for (int d = g->nd - 1; d >= 0; d--) {
    int64_t s = g->shape[d];
    off += (i % s) * g->stride[d];
    i /= s;
  }
  return off;
}

/* High 32 bits of a 32 x 32-bit product (nvcc makes it one mul.hi). */
LTCU_HD static inline uint32_t ltcu_mulhi(uint32_t a, uint32_t b) {
  return (uint32_t)(((uint64_t)a * b) >> 32);
}

/* Philox-4x32-10 (Salmon, Moraes, Dror, Shaw 2011) on counter c with key (k0, k1), in place:
 * Random123's rounds and constants, so its known-answer vectors hold (the C test checks them). */
LTCU_HD static inline void ltcu_philox(uint32_t c[4], uint32_t k0, uint32_t k1) {
  for (int r = 0; r < 10; r++) {
    uint32_t hi0 = ltcu_mulhi(0xD2511F53u, c[0]), lo0 = 0xD2511F53u * c[0];
    uint32_t hi1 = ltcu_mulhi(0xCD9E8D57u, c[2]), lo1 = 0xCD9E8D57u * c[2];
    uint32_t n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
    c[0] = n0;
    c[1] = lo1;
    c[2] = n2;
    c[3] = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
}

/* The four numbers of counter `ctr` under `seed`: uniform in [0, 1) (the top 24 bits, exact in
 * float), or with normal set, two Box-Muller pairs (1 - u is in (0, 1]: log never sees 0). */
LTCU_HD static inline void ltcu_random4(uint64_t seed, uint64_t ctr, int normal, float v[4]) {
  uint32_t c[4] = {(uint32_t)ctr, (uint32_t)(ctr >> 32), 0u, 0u};
  ltcu_philox(c, (uint32_t)seed, (uint32_t)(seed >> 32));
  for (int q = 0; q < 4; q++) v[q] = (float)(c[q] >> 8) * (1.0f / 16777216.0f);
  if (!normal) return;
  for (int q = 0; q < 4; q += 2) {
    float r = sqrtf(-2.f * logf(1.f - v[q]));
    float th = 6.2831853071795864f * v[q + 1];
    v[q] = r * cosf(th);
    v[q + 1] = r * sinf(th);
  }
}

/* One step of top-k by insertion: bv[0..have) ascending (smaller is better), bi their
 * indices; offers (v, j) and returns the new count (at most k). NaN is never taken; an equal
 * value goes after the ones already there, so ties keep the lower index first. */
LTCU_HD static inline int ltcu_topk_offer(float *bv, int64_t *bi, int have, int k, float v,
                                          int64_t j) {
  if (v != v) return have;
  if (have == k && !(v < bv[k - 1])) return have;
  int p = have < k ? have++ : k - 1;
  while (p > 0 && v < bv[p - 1]) {
    bv[p] = bv[p - 1];
    bi[p] = bi[p - 1];
    p--;
  }
  bv[p] = v;
  bi[p] = j;
  return have;
}
#endif
