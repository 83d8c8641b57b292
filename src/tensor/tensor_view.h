/* tensor_view.h - views without copies: reshape, transpose, slice, expand (core, no Lua). */
#ifndef LUNETTE_TENSOR_VIEW_H
#define LUNETTE_TENSOR_VIEW_H
#include "tensor/tensor.h"

/* Each function writes into *out a view of t sharing its data and returns
 * LT_OK, or returns an error status leaving *out untouched. Dims are
 * 0-based and already range-checked by the caller unless stated. */

/* Reshape as a view: LT_ESHAPE if numel differs (or a size is negative),
 * LT_EOVERFLOW if the new shape's element count overflows (see
 * lt_shape_numel), LT_EVALUE if t's strides cannot express the new shape
 * (the caller then copies). */
LtStatus lt_view_reshape(const Tensor *t, int nd, const int64_t *shape, Tensor *out);
/* Dim i of the view is dim perm[i] of t; perm has t->ndim entries. LT_EVALUE unless perm is a
 * permutation of 0..ndim-1 (checked here). */
LtStatus lt_view_permute(const Tensor *t, const int *perm,
                         Tensor *out); /* perm has t->ndim entries */
/* Swaps dims d0 and d1 (both < t->ndim; equal is a no-op). */
void lt_view_transpose(const Tensor *t, int d0, int d1, Tensor *out);
/* Elements start, start+step, ... < stop of dim (0-based, stop exclusive,
 * already clamped to [0, size]); step >= 1, else LT_ERANGE. start >= stop
 * gives an empty dim. */
LtStatus lt_view_slice(const Tensor *t, int dim, int64_t start, int64_t stop, int64_t step,
                       Tensor *out);
/* Removes dim after fixing it at index i (0 <= i < size, checked by the caller); t->ndim >= 1. */
void lt_view_select(const Tensor *t, int dim, int64_t i, Tensor *out);
/* Removes dim if its size is 1 (otherwise the view equals t); dim < 0: every size-1 dim. */
void lt_view_squeeze(const Tensor *t, int dim, Tensor *out);
/* Inserts a size-1 dim before position dim (0..ndim). LT_EVALUE when dim is out of that range
 * or t already has LT_MAXDIM dims. */
LtStatus lt_view_unsqueeze(const Tensor *t, int dim, Tensor *out);
/* Diagonal of a 2-d tensor (t->ndim must be 2): a 1-d view of min(rows, cols) elements. */
void lt_view_diagonal(const Tensor *t, Tensor *out);
#endif
