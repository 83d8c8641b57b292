/* data.c - batch gathering with normalisation, class index lists and channel statistics for
 * lunette.data. */
#include <string.h>
#include "data/data.h"

/* Elements per channel inside one row of src (the product of dims 3..). */
static int64_t inner_size(const Tensor *src, int64_t nchan) {
  int64_t row = 1;
  for (int i = 1; i < src->ndim; i++) row *= src->shape[i];
  return nchan > 0 ? row / nchan : row;
}

/* One row of an [N, C, ...] set to float32, o = s * scale[c] + shift[c] for channel c: in a
 * C-ordered row each channel's elements are one run of `inner`. */
static void affine_row(float *o, const char *s, LtDtype dt, int64_t nchan, int64_t inner,
                       const float *scale, const float *shift) {
  size_t es = lt_dtype_size(dt);
  for (int64_t c = 0; c < nchan; c++) {
    float a = scale[c], b = shift[c];
    float *oc = o + c * inner;
    const char *sc = s + (size_t)(c * inner) * es;
    /* uint8 (images) and float32 get direct loops; other dtypes go through the generic getter. */
    if (dt == LT_U8)
      for (int64_t j = 0; j < inner; j++) oc[j] = (float)((const uint8_t *)sc)[j] * a + b;
    else if (dt == LT_F32)
      for (int64_t j = 0; j < inner; j++) oc[j] = ((const float *)sc)[j] * a + b;
    else
      for (int64_t j = 0; j < inner; j++)
        oc[j] = (float)lt_get_f64(sc + (size_t)j * es, dt) * a + b;
  }
}

/* Asks for row k + AHEAD while row k is converted: a shuffled batch reads
 * rows scattered over the whole dataset, and its time goes to memory
 * latency, not arithmetic: prefetching halves a shuffled Fashion-MNIST epoch. */
#define AHEAD 8
static void prefetch_row(const char *s, const int64_t *idx, int64_t k, int64_t n, int64_t base,
                         size_t rb) {
  if (k >= n) return;
  const char *p = s + (size_t)(idx[k] - base) * rb;
  /* One prefetch per 64-byte cache line; read-only, no temporal locality (each row is used
   * once). */
  for (size_t off = 0; off < rb; off += 64) __builtin_prefetch(p + off, 0, 0);
}

/* 1 when v lies in base..base+count-1, i.e. v - base in [0, count): compared before anything is
 * subtracted, as v - base overflows for v and base far apart (math.mininteger - 1). */
static int in_range(int64_t v, int64_t base, int64_t count) {
  /* With v >= base, v - base is exact in uint64_t. */
  return v >= base && (uint64_t)v - (uint64_t)base < (uint64_t)count;
}

LtStatus data_gather(Tensor *out, const Tensor *src, const int64_t *idx, int64_t n, int64_t base,
                     const float *scale, const float *shift, int64_t nchan, int64_t *bad) {
  int64_t rows = src->ndim ? src->shape[0] : 1;
  /* Every index is checked before the first row is written: a bad batch leaves out as it was. */
  for (int64_t k = 0; k < n; k++)
    if (!in_range(idx[k], base, rows)) {
      *bad = idx[k];
      return LT_ERANGE;
    }
  if (nchan < 1) nchan = 1;
  if (nchan > 1 && (src->ndim < 2 || src->shape[1] != nchan)) return LT_ESHAPE;
  int64_t inner = inner_size(src, nchan), row = inner * nchan;
  size_t es = lt_dtype_size(src->dtype), rb = (size_t)row * es;
  const char *s = src->data;
  char *o = out->data;
  /* Output rows are float32 when normalising, else src's own bytes. */
  size_t ob = scale ? (size_t)row * sizeof(float) : rb;
  /* Threads only for big gathers: a training batch is cheaper than entering
   * a parallel region on a busy machine. */
  if (n * row < ((int64_t)1 << 22)) {
    for (int64_t k = 0; k < n; k++) {
      prefetch_row(s, idx, k + AHEAD, n, base, rb);
      const char *r = s + (size_t)(idx[k] - base) * rb;
      if (scale)
        affine_row((float *)(o + (size_t)k * ob), r, src->dtype, nchan, inner, scale, shift);
      else
        memcpy(o + (size_t)k * ob, r, rb);
    }
    return LT_OK;
  }
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < n; k++) {
    const char *r = s + (size_t)(idx[k] - base) * rb;
    if (scale)
      affine_row((float *)(o + (size_t)k * ob), r, src->dtype, nchan, inner, scale, shift);
    else
      memcpy(o + (size_t)k * ob, r, rb);
  }
  return LT_OK;
}

LtStatus data_class_index(const Tensor *labels, int64_t nclass, int64_t base, int64_t *offsets,
                          int64_t *order, int64_t *bad) {
  int64_t n = lt_numel(labels);
  size_t es = lt_dtype_size(labels->dtype);
  const char *p = labels->data;
  /* A counting sort, O(N + nclass): count each class, turn the counts into start offsets, then
   * place each row at its class's next slot. Rows stay ascending within a class (stable). */
  memset(offsets, 0, sizeof *offsets * (size_t)(nclass + 1));
  for (int64_t i = 0; i < n; i++) {
    int64_t v = lt_get_i64(p + (size_t)i * es, labels->dtype);
    if (!in_range(v, base, nclass)) {
      *bad = v;
      return LT_ERANGE;
    }
    offsets[v - base + 1]++;
  }
  for (int64_t c = 0; c < nclass; c++) offsets[c + 1] += offsets[c];
  for (int64_t i = 0; i < n; i++) {
    int64_t c = lt_get_i64(p + (size_t)i * es, labels->dtype) - base;
    order[offsets[c]++] = i + base;
  }
  /* Placing advanced each start to its class's end, the next class's start: shift back by one. */
  for (int64_t c = nclass; c > 0; c--) offsets[c] = offsets[c - 1];
  offsets[0] = 0;
  return LT_OK;
}

LtStatus data_channel_stats(const Tensor *src, int64_t nchan, double scale, double *mean,
                            double *std) {
  int64_t rows = src->ndim ? src->shape[0] : 1;
  if (nchan < 1) nchan = 1;
  if (nchan > 1 && (src->ndim < 2 || src->shape[1] != nchan)) return LT_ESHAPE;
  int64_t inner = inner_size(src, nchan);
  size_t es = lt_dtype_size(src->dtype);
  const char *s = src->data;
  for (int64_t c = 0; c < nchan; c++) {
    /* Two passes in double, the mean and then the squared deviations: the one-pass formula
     * (mean of squares minus squared mean) loses the digits of a small variance around a large
     * mean. */
    double sum = 0, sq = 0, cnt = (double)rows * (double)inner;
    for (int64_t r = 0; r < rows; r++) {
      /* Channel c of row r is one run of inner elements. */
      const char *p = s + (size_t)((r * nchan + c) * inner) * es;
      if (src->dtype == LT_U8)
        for (int64_t j = 0; j < inner; j++) sum += ((const uint8_t *)p)[j];
      else
        for (int64_t j = 0; j < inner; j++) sum += lt_get_f64(p + (size_t)j * es, src->dtype);
    }
    double m = cnt > 0 ? sum / cnt : 0;
    for (int64_t r = 0; r < rows; r++) {
      const char *p = s + (size_t)((r * nchan + c) * inner) * es;
      for (int64_t j = 0; j < inner; j++) {
        double d = (src->dtype == LT_U8 ? ((const uint8_t *)p)[j]
                                        : lt_get_f64(p + (size_t)j * es, src->dtype)) -
                   m;
        sq += d * d;
      }
    }
    mean[c] = m * scale;
    /* Scaling by a negative number flips the mean but not the spread. */
    std[c] = (cnt > 0 ? __builtin_sqrt(sq / cnt) : 0) * (scale < 0 ? -scale : scale);
  }
  return LT_OK;
}
