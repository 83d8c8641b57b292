/* nn_psg.c - per-sample gradient targets: copied rows, projections by GEMM, squared norms. */
#include <string.h>
#include "nn/nn_psg.h"

/* Every mode's out (and proj) must be dense: the emitters index them as plain row-major arrays. */
LtStatus nn_psg_validate(const NnPsg *ps, const Tensor *out, const Tensor *proj) {
  if (ps->dtype != LT_F32 && ps->dtype != LT_F64) return LT_EDTYPE;
  switch (ps->mode) {
  case NN_PSG_FULL:
    if (out->ndim != 2 || out->shape[0] != ps->batch || out->shape[1] != ps->dim) return LT_ESHAPE;
    return out->dtype == ps->dtype && lt_is_contiguous(out) ? LT_OK : LT_EDTYPE;
  case NN_PSG_PROJECT:
    if (!proj || out->ndim != 2 || out->shape[0] != ps->batch || out->shape[1] != ps->ell)
      return LT_ESHAPE;
    if (proj->ndim != 2 || proj->shape[0] != ps->ell || proj->shape[1] != ps->dim) return LT_ESHAPE;
    if (out->dtype != ps->dtype || proj->dtype != ps->dtype) return LT_EDTYPE;
    return lt_is_contiguous(out) && lt_is_contiguous(proj) ? LT_OK : LT_ESHAPE;
  case NN_PSG_SQNORM:
    if (out->ndim != 1 || out->shape[0] != ps->batch) return LT_ESHAPE;
    return out->dtype == LT_F64 && lt_is_contiguous(out) ? LT_OK : LT_EDTYPE;
  }
  return LT_EVALUE;
}

/* FULL: copy each sample's n entries into its row at column off; rows are disjoint, so the
 * copies run in parallel. */
static void emit_full(NnPsg *ps, int64_t off, int64_t n, const void *g, int64_t ldg, int64_t b0,
                      int64_t nb) {
  size_t es = lt_dtype_size(ps->dtype);
  char *out = ps->out;
  const char *src = g;
#pragma omp parallel for schedule(static) if (nb * n >= 65536)
  for (int64_t b = 0; b < nb; b++)
    memcpy(out + ((b0 + b) * ps->dim + off) * es, src + b * ldg * es, (size_t)n * es);
}

/* SQNORM: add each sample's squared norm. out is F64 whatever the compute dtype: a sum over
 * every layer of a model would lose digits in float. */
static void emit_sqnorm(NnPsg *ps, int64_t n, const void *g, int64_t ldg, int64_t b0, int64_t nb) {
  double *out = ps->out;
  size_t es = lt_dtype_size(ps->dtype);
#pragma omp parallel for schedule(static) if (nb * n >= 65536)
  for (int64_t b = 0; b < nb; b++)
    out[b0 + b] += nn_sumsq(ps->dtype, (const char *)g + b * ldg * es, n);
}

void nn_psg_emit(NnPsg *ps, int64_t off, int64_t n, const void *g, int64_t ldg, int64_t b0,
                 int64_t nb) {
  if (nb <= 0 || n <= 0) return;
  switch (ps->mode) {
  case NN_PSG_FULL: emit_full(ps, off, n, g, ldg, b0, nb); break;
  case NN_PSG_SQNORM: emit_sqnorm(ps, n, g, ldg, b0, nb); break;
  case NN_PSG_PROJECT: {
    /* out[b0:b0+nb, :] += g (nb x n) @ P[:, off:off+n]^T (n x ell) */
    size_t es = lt_dtype_size(ps->dtype);
    const char *p = (const char *)ps->proj + off * es;
    char *o = (char *)ps->out + b0 * ps->ell * es;
    /* beta = 1: out accumulates over chunks and layers; the caller zeroed it once. ldb = D walks
     * P's rows while reading only columns off .. off+n. */
    nn_gemm(ps->dtype, 0, 1, nb, ps->ell, n, 1.0, g, ldg, p, ps->dim, 1.0, o, ps->ell);
    break;
  }
  }
}

int64_t nn_psg_chunk(const NnPsg *ps, size_t fixed, size_t per_sample) {
  size_t have = ps->scratch.size > ps->scratch.used ? ps->scratch.size - ps->scratch.used : 0;
  fixed += 256; /* alignment slack of a few carves */
  if (have < fixed + per_sample) return 0;
  size_t n = (have - fixed) / (per_sample ? per_sample : 1);
  return (int64_t)n > ps->batch ? ps->batch : (int64_t)n;
}
