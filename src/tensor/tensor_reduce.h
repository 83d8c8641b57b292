/* tensor_reduce.h - reductions, scans, sorting and counting (core, no Lua). */
#ifndef LUNETTE_TENSOR_REDUCE_H
#define LUNETTE_TENSOR_REDUCE_H
#include "tensor/tensor.h"

typedef enum {
  LT_RSUM,
  LT_RMEAN,
  LT_RPROD,
  LT_RMAX,
  LT_RMIN,
  LT_RARGMAX,
  LT_RARGMIN,
  LT_RALL,
  LT_RANY,
  LT_RVAR,
  LT_RNORM1,
  LT_RNORM2,
  LT_RNORMINF,
  LT_RLOGSUMEXP,
  LT_RCOUNT_NONZERO,
  LT_NREDUCE
} LtReduceOp;

/* Reduces a contiguous tensor `a` over the adjacent dims d0..d1 (0-based,
 * inclusive): a is seen as [outer, R, inner] and out (contiguous, outer*inner
 * elements, any dtype) receives one value per (outer, inner). idx (int64,
 * same count, may be NULL) receives 0-based positions within R for
 * max/min/argmax/argmin. Sums accumulate in double; the result does not
 * depend on the thread count. ddof is used by LT_RVAR. R may be 0: sums give
 * 0, max/min give NaN (callers reject empty max beforehand). NaN propagates
 * through max/min and takes the first NaN's position. Integer max/min (and arg
 * forms) compare as int64, exact past 2^53. LT_EVALUE when a or out
 * is not contiguous or d0..d1 is not a range of a's dims, LT_ESHAPE when out
 * has the wrong count, LT_ENOMEM, LT_EINTR (reported after the pass). */
LtStatus lt_reduce(LtReduceOp op, Tensor *out, Tensor *idx, const Tensor *a, int d0, int d1,
                   double ddof);

/* Inclusive cumulative sum (or product) along dim of contiguous a into
 * contiguous out of the same shape (dtype of out). Integer to integer
 * accumulates in int64 (wrapping), anything else in double. LT_EVALUE when
 * a or out is not contiguous or dim is out of range. */
LtStatus lt_cumulative(Tensor *out, const Tensor *a, int dim, int product);

/* Sorts along the last dim of contiguous a: values into out (a's dtype),
 * 0-based positions into idx (int64); out and idx are contiguous with a's
 * shape, either may be NULL. Stable; NaN sorts last in both directions.
 * Integer keys are compared as int64 (exact past 2^53), float keys as doubles. LT_EVALUE for a
 * 0-d or non-contiguous a,
 * LT_ENOMEM, LT_EINTR (polled once per row). */
LtStatus lt_sort_last(Tensor *out, Tensor *idx, const Tensor *a, int descending);

/* counts[v] += 1 for every value v of the 1-d integer tensor x (weights
 * optional, same length); counts has `n` elements (double). Values outside
 * [0, n) are LT_ERANGE, after counts may have been partly updated. */
LtStatus lt_bincount(double *counts, int64_t n, const Tensor *x, const Tensor *w);
/* Histogram of all values into `bins` equal bins over [lo, hi], added to
 * counts (bins doubles, zeroed by the caller); NaN and out-of-range values
 * are ignored; hi falls in the last bin. LT_EVALUE unless bins > 0, hi > lo
 * and hi - lo is finite; LT_EINTR when interrupted. */
LtStatus lt_histogram(double *counts, int64_t bins, double lo, double hi, const Tensor *x);
/* Min and max over all finite values of x (any shape and strides) into *lo and *hi; *found is 0
 * (and *lo = *hi = 0) if there is none, else 1. LT_EINTR when interrupted (the outputs then
 * cover only part of x), else LT_OK. */
LtStatus lt_finite_range(const Tensor *x, double *lo, double *hi, int *found);

#endif
