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
LtStatus lt_view_permute(const Tensor *t, const int *perm,
                         Tensor *out); /* perm has t->ndim entries */
void lt_view_transpose(const Tensor *t, int d0, int d1, Tensor *out);
/* Elements start, start+step, ... < stop of dim (0-based, stop exclusive,
 * already clamped to [0, size]); step >= 1. */
LtStatus lt_view_slice(const Tensor *t, int dim, int64_t start, int64_t stop, int64_t step,
                       Tensor *out);
/* Removes dim after fixing it at index i. */
void lt_view_select(const Tensor *t, int dim, int64_t i, Tensor *out);
/* dim < 0: every size-1 dim. */
void lt_view_squeeze(const Tensor *t, int dim, Tensor *out);
/* Inserts a size-1 dim before position dim (0..ndim). */
LtStatus lt_view_unsqueeze(const Tensor *t, int dim, Tensor *out);
/* Diagonal of a 2-d tensor. */
void lt_view_diagonal(const Tensor *t, Tensor *out);
#endif
