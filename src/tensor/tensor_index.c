/* tensor_index.c - gather/scatter and boolean-mask kernels over strided tensors (core, no Lua). */
#include <string.h>
#include "tensor/tensor_index.h"

/* Advances a multi-index over shape; returns 0 when done. */
static int next_index(int64_t *ix, const int64_t *shape, int nd) {
  for (int d = nd - 1; d >= 0; d--) {
    if (++ix[d] < shape[d]) return 1;
    ix[d] = 0;
  }
  return 0;
}

/* Offset in elements of multi-index ix in t (t's own strides, so broadcast views work). */
static int64_t offset_of(const Tensor *t, const int64_t *ix) {
  int64_t off = 0;
  for (int d = 0; d < t->ndim; d++) off += ix[d] * t->stride[d];
  return off;
}

/* Copies (or, with add, accumulates) one element between dtypes. A same-dtype copy is a raw
 * memcpy, exact for int64 too; any conversion or sum goes through double. */
static void copy_elem(const Tensor *dst, int64_t doff, const Tensor *src, int64_t soff, int add) {
  char *d = (char *)dst->data + (size_t)doff * lt_dtype_size(dst->dtype);
  const char *s = (const char *)src->data + (size_t)soff * lt_dtype_size(src->dtype);
  if (!add && dst->dtype == src->dtype) {
    memcpy(d, s, lt_dtype_size(dst->dtype));
    return;
  }
  double v = lt_get_f64(s, src->dtype);
  lt_set_f64(d, dst->dtype, add ? lt_get_f64(d, dst->dtype) + v : v);
}

LtStatus lt_index_select(Tensor *out, const Tensor *a, int dim, const int64_t *idx, int64_t n,
                         int64_t *bad) {
  /* Every index is checked before the first write, so a bad index leaves out untouched. */
  for (int64_t i = 0; i < n; i++)
    if (idx[i] < 0 || idx[i] >= a->shape[dim]) {
      *bad = idx[i];
      return LT_ERANGE;
    }
  if (lt_numel(out) == 0) return LT_OK;
  int64_t ix[LT_MAXDIM] = {0}, src[LT_MAXDIM];
  /* ix walks out; the source position is the same except along dim, where idx maps it. */
  do {
    memcpy(src, ix, sizeof src);
    src[dim] = idx[ix[dim]];
    copy_elem(out, offset_of(out, ix), a, offset_of(a, src), 0);
  } while (next_index(ix, out->shape, out->ndim));
  return LT_OK;
}

/* Validates the whole (contiguous int64) index tensor up front, so gather and scatter either
 * fail before writing or run to completion. */
static LtStatus check_indices(const Tensor *idx, int64_t limit, int64_t *bad) {
  int64_t n = lt_numel(idx);
  const int64_t *p = idx->data;
  for (int64_t i = 0; i < n; i++)
    if (p[i] < 0 || p[i] >= limit) {
      *bad = p[i];
      return LT_ERANGE;
    }
  return LT_OK;
}

/* gather and scatter walk idx's shape and use the same position in a on every dim but dim:
 * idx must have a's rank and fit inside a there, or the walk leaves a's memory. */
static int index_fits(const Tensor *a, int dim, const Tensor *idx) {
  if (idx->ndim != a->ndim) return 0;
  for (int k = 0; k < a->ndim; k++)
    if (k != dim && idx->shape[k] > a->shape[k]) return 0;
  return 1;
}

LtStatus lt_gather(Tensor *out, const Tensor *a, int dim, const Tensor *idx, int64_t *bad) {
  if (!index_fits(a, dim, idx)) return LT_ESHAPE;
  LtStatus st = check_indices(idx, a->shape[dim], bad);
  if (st != LT_OK || lt_numel(out) == 0) return st;
  int64_t ix[LT_MAXDIM] = {0}, src[LT_MAXDIM], k = 0;
  const int64_t *p = idx->data;
  /* idx is contiguous, so its k-th element in row-major order is p[k] while ix walks its shape. */
  do {
    memcpy(src, ix, sizeof src);
    src[dim] = p[k++];
    copy_elem(out, offset_of(out, ix), a, offset_of(a, src), 0);
  } while (next_index(ix, idx->shape, idx->ndim));
  return LT_OK;
}

LtStatus lt_scatter(Tensor *a, int dim, const Tensor *idx, const Tensor *src, int add,
                    int64_t *bad) {
  if (!index_fits(a, dim, idx)) return LT_ESHAPE;
  LtStatus st = check_indices(idx, a->shape[dim], bad);
  if (st != LT_OK || lt_numel(idx) == 0) return st;
  int64_t ix[LT_MAXDIM] = {0}, dst[LT_MAXDIM], k = 0;
  const int64_t *p = idx->data;
  /* Later duplicates in idx win (plain scatter) or all add up (scatter add), in row-major order
   * of idx: the loop is serial, so the result is deterministic. */
  do {
    memcpy(dst, ix, sizeof dst);
    dst[dim] = p[k++];
    copy_elem(a, offset_of(a, dst), src, offset_of(src, ix), add);
  } while (next_index(ix, idx->shape, idx->ndim));
  return LT_OK;
}

int64_t lt_mask_count(const Tensor *mask) {
  int64_t ix[LT_MAXDIM] = {0}, n = 0;
  if (lt_numel(mask) == 0) return 0;
  do {
    n += lt_get_f64((const char *)mask->data +
                        (size_t)offset_of(mask, ix) * lt_dtype_size(mask->dtype),
                    mask->dtype) != 0;
  } while (next_index(ix, mask->shape, mask->ndim));
  return n;
}

static int mask_at(const Tensor *mask, const int64_t *ix) {
  return lt_get_f64((const char *)mask->data +
                        (size_t)offset_of(mask, ix) * lt_dtype_size(mask->dtype),
                    mask->dtype) != 0;
}

LtStatus lt_masked_select(Tensor *out, const Tensor *a, const Tensor *mask) {
  /* Row-major order of a, the order numpy and torch return masked elements in. */
  int64_t ix[LT_MAXDIM] = {0}, k = 0;
  if (lt_numel(a) == 0) return LT_OK;
  do {
    if (mask_at(mask, ix)) copy_elem(out, k++ * out->stride[0], a, offset_of(a, ix), 0);
  } while (next_index(ix, a->shape, a->ndim));
  return LT_OK;
}

LtStatus lt_masked_assign(Tensor *a, const Tensor *mask, const Tensor *src) {
  int64_t ix[LT_MAXDIM] = {0}, k = 0, one = lt_numel(src) == 1;
  if (lt_numel(a) == 0) return LT_OK;
  do {
    /* continue in a do-while still evaluates the condition, so next_index advances ix. */
    if (!mask_at(mask, ix)) continue;
    copy_elem(a, offset_of(a, ix), src, one ? 0 : k * src->stride[0], 0);
    k++;
  } while (next_index(ix, a->shape, a->ndim));
  return LT_OK;
}

LtStatus lt_nonzero(Tensor *out, const Tensor *a) {
  int64_t ix[LT_MAXDIM] = {0}, k = 0;
  if (lt_numel(a) == 0) return LT_OK;
  do {
    if (!mask_at(a, ix)) continue;
    for (int d = 0; d < a->ndim; d++) ((int64_t *)out->data)[k * a->ndim + d] = ix[d];
    k++;
  } while (next_index(ix, a->shape, a->ndim));
  return LT_OK;
}

/* Whether the element at p (of s's dtype) starts a new group after the element at prev. */
static int starts_group(const Tensor *s, const char *p, const char *prev) {
  /* Integers compare as int64: through double, values past 2^53 would merge. */
  if (!lt_dtype_is_float(s->dtype)) return lt_get_i64(p, s->dtype) != lt_get_i64(prev, s->dtype);
  double x = lt_get_f64(p, s->dtype), y = lt_get_f64(prev, s->dtype);
  /* NaNs compare unequal to everything, so they are tested apart and all NaNs form one group. */
  return !(x == y || (x != x && y != y));
}

int64_t lt_unique_sorted(const Tensor *s, Tensor *u, Tensor *cnt) {
  size_t es = lt_dtype_size(s->dtype);
  int64_t m = 0;
  for (int64_t i = 0; i < s->shape[0]; i++) {
    const char *p = (const char *)s->data + (size_t)i * es;
    /* A new value starts at the first element or when it differs from the previous one. */
    if (m == 0 || starts_group(s, p, p - es)) {
      if (u) memcpy((char *)u->data + (size_t)m * es, p, es);
      if (cnt) ((int64_t *)cnt->data)[m] = 0;
      m++;
    }
    if (cnt) ((int64_t *)cnt->data)[m - 1]++;
  }
  return m;
}
