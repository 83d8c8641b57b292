/* tensor_view.c - stride arithmetic for views (core, no Lua). */
#include <string.h>
#include "tensor/tensor_view.h"

/* Reshape is a view when every run of merged old dims is itself contiguous
 * in memory; this walks old and new dims in step (numpy's attempt_nocopy). */
LtStatus lt_view_reshape(const Tensor *t, int nd, const int64_t *shape, Tensor *out) {
  int64_t n;
  LtStatus st = lt_shape_numel(nd, shape, lt_dtype_size(t->dtype), &n);
  if (st == LT_EOVERFLOW) return st;
  if (st != LT_OK || n != lt_numel(t)) return LT_ESHAPE;
  Tensor r = *t;
  r.ndim = nd;
  memcpy(r.shape, shape, sizeof(int64_t) * (size_t)nd);
  /* A contiguous (or empty) tensor can take any shape of the same count: fresh row-major
   * strides. */
  if (lt_is_contiguous(t) || n == 0) {
    lt_contiguous_strides(nd, shape, r.stride);
    *out = r;
    return LT_OK;
  }
  /* Otherwise match old and new dims group by group: each group is the shortest run of old dims
   * whose product equals the product of a run of new dims. The group is one block of memory only
   * if its old dims nest (outer stride = inner stride * inner size); its new dims then get
   * row-major strides inside that block, starting from the innermost old stride. */
  int oi = 0, ni = 0;
  while (oi < t->ndim && ni < nd) {
    int64_t op = t->shape[oi], np = shape[ni];
    int o0 = oi, n0 = ni;
    /* Products agree at the end because the counts are equal and non-zero, so neither index can
     * run past its last dim. */
    while (op != np) {
      if (op < np)
        op *= t->shape[++oi];
      else
        np *= shape[++ni];
    }
    int prev = -1; /* the old dims merged here (size-1 dims aside) must be contiguous */
    for (int k = o0; k <= oi; k++) {
      if (t->shape[k] == 1) continue;
      if (prev >= 0 && t->stride[prev] != t->stride[k] * t->shape[k]) return LT_EVALUE;
      prev = k;
    }
    r.stride[ni] = t->stride[oi];
    for (int k = ni - 1; k >= n0; k--) r.stride[k] = r.stride[k + 1] * shape[k + 1];
    oi++;
    ni++;
  }
  for (; ni < nd; ni++) r.stride[ni] = 1; /* trailing size-1 dims */
  *out = r;
  return LT_OK;
}

LtStatus lt_view_permute(const Tensor *t, const int *perm, Tensor *out) {
  int seen[LT_MAXDIM] = {0};
  Tensor r = *t;
  for (int i = 0; i < t->ndim; i++) {
    if (perm[i] < 0 || perm[i] >= t->ndim || seen[perm[i]]++) return LT_EVALUE;
    r.shape[i] = t->shape[perm[i]];
    r.stride[i] = t->stride[perm[i]];
  }
  *out = r;
  return LT_OK;
}

void lt_view_transpose(const Tensor *t, int d0, int d1, Tensor *out) {
  Tensor r = *t;
  r.shape[d0] = t->shape[d1];
  r.shape[d1] = t->shape[d0];
  r.stride[d0] = t->stride[d1];
  r.stride[d1] = t->stride[d0];
  *out = r;
}

LtStatus lt_view_slice(const Tensor *t, int dim, int64_t start, int64_t stop, int64_t step,
                       Tensor *out) {
  /* The caller has clamped start and stop already; these checks keep a wrong caller from making
   * a view outside the storage. */
  if (step < 1 || start < 0 || stop > t->shape[dim]) return LT_ERANGE;
  Tensor r = *t;
  /* written so that a step near INT64_MAX cannot overflow: with n <= 1
   * the stride is never used and keeps t's */
  int64_t n = stop > start ? (stop - start - 1) / step + 1 : 0;
  if (n > 0) r.data = (char *)t->data + (size_t)(start * t->stride[dim]) * lt_dtype_size(t->dtype);
  r.shape[dim] = n;
  r.stride[dim] = n > 1 ? t->stride[dim] * step : t->stride[dim];
  *out = r;
  return LT_OK;
}

void lt_view_select(const Tensor *t, int dim, int64_t i, Tensor *out) {
  Tensor r = *t;
  r.data = (char *)t->data + (size_t)(i * t->stride[dim]) * lt_dtype_size(t->dtype);
  for (int k = dim; k < t->ndim - 1; k++) {
    r.shape[k] = t->shape[k + 1];
    r.stride[k] = t->stride[k + 1];
  }
  r.ndim = t->ndim - 1;
  *out = r;
}

void lt_view_squeeze(const Tensor *t, int dim, Tensor *out) {
  Tensor r = *t;
  int k = 0;
  for (int i = 0; i < t->ndim; i++) {
    if (t->shape[i] == 1 && (dim < 0 || dim == i)) continue;
    r.shape[k] = t->shape[i];
    r.stride[k] = t->stride[i];
    k++;
  }
  r.ndim = k;
  *out = r;
}

LtStatus lt_view_unsqueeze(const Tensor *t, int dim, Tensor *out) {
  if (t->ndim >= LT_MAXDIM || dim < 0 || dim > t->ndim) return LT_EVALUE;
  Tensor r = *t;
  for (int k = t->ndim; k > dim; k--) {
    r.shape[k] = t->shape[k - 1];
    r.stride[k] = t->stride[k - 1];
  }
  r.shape[dim] = 1;
  /* Any stride addresses a size-1 dim; this is the one torch gives, so :stride() reads the same. */
  r.stride[dim] = dim < t->ndim ? t->shape[dim] * t->stride[dim] : 1;
  r.ndim = t->ndim + 1;
  *out = r;
  return LT_OK;
}

void lt_view_diagonal(const Tensor *t, Tensor *out) {
  Tensor r = *t;
  r.ndim = 1;
  r.shape[0] = t->shape[0] < t->shape[1] ? t->shape[0] : t->shape[1];
  /* Stepping both indices at once walks the diagonal. */
  r.stride[0] = t->stride[0] + t->stride[1];
  *out = r;
}
