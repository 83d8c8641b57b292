/* tensor_index.h - gather/scatter, index_select, boolean masks (core, no Lua). */
#ifndef LUNETTE_TENSOR_INDEX_H
#define LUNETTE_TENSOR_INDEX_H
#include "tensor/tensor.h"

/* All index tensors are contiguous int64 holding 0-based positions; each
 * function checks every index against the size it addresses and returns
 * LT_ERANGE (with *bad set to the offending value) before writing anything
 * it could not finish. */

/* out = a with dim restricted to positions idx[0..n): out has a's shape
 * with shape[dim] = n. */
LtStatus lt_index_select(Tensor *out, const Tensor *a, int dim, const int64_t *idx, int64_t n,
                         int64_t *bad);
/* out[..i..] = a[..idx[..i..]..] along dim; idx and out share a shape. idx has a's rank and
 * idx.shape[k] <= a.shape[k] for every k != dim, else LT_ESHAPE. */
LtStatus lt_gather(Tensor *out, const Tensor *a, int dim, const Tensor *idx, int64_t *bad);
/* a[..idx[..i..]..] = src[..i..] (or += when add); idx and src share a shape. idx has a's
 * rank and idx.shape[k] <= a.shape[k] for every k != dim, else LT_ESHAPE. */
LtStatus lt_scatter(Tensor *a, int dim, const Tensor *idx, const Tensor *src, int add,
                    int64_t *bad);
/* Number of true elements of a mask (any dtype, any strides: nonzero counts as true). */
int64_t lt_mask_count(const Tensor *mask);
/* out (1-d, lt_mask_count elements, allocated by the caller) = a[mask] in row-major order;
 * mask already expanded to a's shape. Always LT_OK. */
LtStatus lt_masked_select(Tensor *out, const Tensor *a, const Tensor *mask);
/* a[mask] = src values in order (src 1-d with lt_mask_count elements), or
 * the single value of a 1-element src everywhere; the caller checks the
 * counts. Always LT_OK. */
LtStatus lt_masked_assign(Tensor *a, const Tensor *mask, const Tensor *src);
/* out [count x ndim] int64, contiguous, allocated by the caller with count = lt_mask_count(a):
 * the 0-based coordinates of nonzero elements in row-major order. Always LT_OK. */
LtStatus lt_nonzero(Tensor *out, const Tensor *a);
/* Distinct values of a sorted 1-d contiguous tensor into u with counts;
 * returns the number of distinct values (u, cnt may be NULL to count).
 * u is contiguous with sorted's dtype, cnt contiguous int64, both with room
 * for that count. Integer values are compared as int64 (exact past 2^53), floats as doubles;
 * all NaNs form one group. */
int64_t lt_unique_sorted(const Tensor *sorted, Tensor *u, Tensor *cnt);
#endif
