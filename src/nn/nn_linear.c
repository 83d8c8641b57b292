/* nn_linear.c - fully connected layer over cblas GEMMs, and its per-sample gradients. */
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif
#include "interrupt.h"
#include "nn/nn_linear.h"

/* x [N x I] and w [O x I] agree (and y [N x O] when given); sets N, I, O. Failures as the
 * header. */
static LtStatus check_shapes(const Tensor *x, const Tensor *w, const Tensor *y, int64_t *n,
                             int64_t *in, int64_t *out) {
  if (!nn_is_float(x)) return LT_EDTYPE;
  LtDtype dt = x->dtype;
  if (x->ndim != 2 || nn_check(w, dt, 2) != LT_OK || w->shape[1] != x->shape[1]) return LT_ESHAPE;
  *n = x->shape[0];
  *in = x->shape[1];
  *out = w->shape[0];
  if (y && (nn_check(y, dt, 2) != LT_OK || y->shape[0] != *n || y->shape[1] != *out))
    return LT_ESHAPE;
  return LT_OK;
}

LtStatus nn_linear_forward(Tensor *y, const Tensor *x, const Tensor *w, const Tensor *b) {
  int64_t n, in, out;
  LtStatus st = check_shapes(x, w, y, &n, &in, &out);
  if (st != LT_OK) return st;
  if (b && nn_check_numel(b, x->dtype, out) != LT_OK) return LT_ESHAPE;
  if (b) { /* y starts as the bias, then one GEMM adds x @ w^T */
    size_t es = lt_dtype_size(x->dtype);
    for (int64_t i = 0; i < n; i++)
      memcpy((char *)y->data + i * out * es, b->data, (size_t)out * es);
  }
  /* No input features: y is the bias (or 0) and the GEMM, whose k would be 0, is skipped. */
  if (in == 0) return b ? LT_OK : lt_fill(y, 0);
  nn_gemm(x->dtype, 0, 1, n, out, in, 1.0, x->data, in, w->data, in, b ? 1.0 : 0.0, y->data, out);
  return LT_OK;
}

/* db[o] += sum_i dy[i, o]. Rows outer, columns inner: dy is read in memory order and the inner
 * loop vectorises over o. */
static void colsum_acc(LtDtype dt, void *db, const void *dy, int64_t n, int64_t out) {
  if (dt == LT_F32) {
    float *d = db;
    const float *g = dy;
    for (int64_t i = 0; i < n; i++)
      for (int64_t o = 0; o < out; o++) d[o] += g[i * out + o];
  } else {
    double *d = db;
    const double *g = dy;
    for (int64_t i = 0; i < n; i++)
      for (int64_t o = 0; o < out; o++) d[o] += g[i * out + o];
  }
}

LtStatus nn_linear_backward(Tensor *dx, Tensor *dw, Tensor *db, const Tensor *dy, const Tensor *x,
                            const Tensor *w) {
  int64_t n, in, out;
  LtStatus st = check_shapes(x, w, dy, &n, &in, &out);
  if (st != LT_OK) return st;
  LtDtype dt = x->dtype;
  if (dx && (nn_check(dx, dt, 2) != LT_OK || dx->shape[0] != n || dx->shape[1] != in))
    return LT_ESHAPE;
  if (dw && (nn_check(dw, dt, 2) != LT_OK || dw->shape[0] != out || dw->shape[1] != in))
    return LT_ESHAPE;
  if (db && nn_check_numel(db, dt, out) != LT_OK) return LT_ESHAPE;
  /* The guards skip GEMMs with k = 0 (see nn_gemm): the gradient is then zero, and accumulating
   * zero leaves dx and dw as they are. */
  if (dx && out > 0)
    nn_gemm(dt, 0, 0, n, in, out, 1.0, dy->data, out, w->data, in, 1.0, dx->data, in);
  if (dw && n > 0)
    nn_gemm(dt, 1, 0, out, in, n, 1.0, dy->data, out, x->data, in, 1.0, dw->data, in);
  if (db) colsum_acc(dt, db->data, dy->data, n, out);
  return LT_OK;
}

/* ---- per-sample gradients ------------------------------------------------- */

typedef struct {
  int64_t t, in, out;
  LtDtype dt;
  const char *x, *dy;
} LinDims;

/* The bilinear projection of T = 1 outer products is the fast path for
 * layers big enough that each per-k GEMM is worth its call. */
static int use_bilinear(const NnPsg *ps, const LinDims *d) {
  return ps->mode == NN_PSG_PROJECT && d->t == 1 && d->in >= 32 && d->out >= 32;
}

size_t nn_linear_psg_scratch(const NnPsg *ps, int64_t rows_per_sample, int64_t in, int64_t out,
                             int64_t nb) {
  LinDims d = {rows_per_sample, in, out, ps->dtype, NULL, NULL};
  /* FULL writes into ps->out and ghost SQNORM needs only norms: no scratch. Otherwise room for
   * the chunk's M or formed gradients; the 256 bytes match nn_psg_chunk's alignment slack. */
  size_t es = lt_dtype_size(ps->dtype);
  if (ps->mode == NN_PSG_FULL || (ps->mode == NN_PSG_SQNORM && rows_per_sample == 1)) return 0;
  if (use_bilinear(ps, &d)) return nn_scratch_round((size_t)(nb * out) * es) + 256;
  return nn_scratch_round((size_t)(nb * (in * out + out)) * es) + 256;
}

/* g (nb rows of ld entries): row b gets dy_b^T x_b ([O x I]) then, when
 * want_bias, the column sums of dy_b ([O]) after it. */
static void form_chunk(const LinDims *d, void *g, int64_t ld, int64_t b0, int64_t nb, int want_w,
                       int want_bias) {
  size_t es = lt_dtype_size(d->dt);
  int64_t wsz = want_w ? d->in * d->out : 0;
  /* A GEMM with k = T sums the T outer products dy_t x_t^T of one sample in one call. */
  for (int64_t b = 0; b < nb; b++) {
    const char *xb = d->x + (b0 + b) * d->t * d->in * es,
               *gb = d->dy + (b0 + b) * d->t * d->out * es;
    char *row = (char *)g + b * ld * es;
    if (want_w)
      nn_gemm(d->dt, 1, 0, d->out, d->in, d->t, 1.0, gb, d->out, xb, d->in, 0.0, row, d->in);
    if (!want_bias) continue;
    /* colsum_acc accumulates: the bias slot starts at zero. */
    memset(row + wsz * es, 0, (size_t)d->out * es);
    colsum_acc(d->dt, row + wsz * es, gb, d->t, d->out);
  }
}

/* dst[j] = s * x[j] for j < n. On x86-64 the aligned part goes out with streaming
 * (non-temporal) stores: a full per-sample gradient matrix is far larger than the caches and is
 * not read back here, and a streaming store skips reading each destination line before writing
 * it, which halves the memory traffic of a write-only pass. The products are the same either
 * way. */
static inline __attribute__((always_inline)) void scale_row_stream(float *dst, const float *x,
                                                                   float s, int64_t n) {
  int64_t j = 0;
#if defined(__x86_64__)
  while (j < n && ((uintptr_t)(dst + j) & 15) != 0) {
    dst[j] = s * x[j];
    j++;
  }
  __m128 sv = _mm_set1_ps(s);
  for (; j + 4 <= n; j += 4) _mm_stream_ps(dst + j, _mm_mul_ps(sv, _mm_loadu_ps(x + j)));
#endif
  for (; j < n; j++) dst[j] = s * x[j];
}

/* FULL with T = 1: out rows receive the outer products directly, as batched outer products
 * written once into the output (no scratch, no copy). The pass is bound by memory bandwidth:
 * B * (O * I + O) entries written for B * (O + I) read. */
LT_HOT static void full_outer(NnPsg *ps, const LinDims *d, NnPsgOffsets off) {
  /* Each sample writes only its own output row, so the batch loop parallelises with no
   * reduction. */
  int64_t B = ps->batch, in = d->in, out = d->out, D = ps->dim;
  if (d->dt == LT_F32) {
    float *o = ps->out;
    const float *x = (const float *)d->x, *g = (const float *)d->dy;
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < B; b++) {
      if (off.weight >= 0)
        for (int64_t r = 0; r < out; r++)
          scale_row_stream(o + b * D + off.weight + r * in, x + b * in, g[b * out + r], in);
      if (off.bias >= 0) memcpy(o + b * D + off.bias, g + b * out, (size_t)out * sizeof(float));
#if defined(__x86_64__)
      /* Streaming stores are weakly ordered: fenced before the thread leaves the region (and
       * its barrier publishes the rows to the other threads). */
      _mm_sfence();
#endif
    }
  } else {
    double *o = ps->out;
    const double *x = (const double *)d->x, *g = (const double *)d->dy;
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < B; b++) {
      if (off.weight >= 0)
        for (int64_t r = 0; r < out; r++)
          for (int64_t j = 0; j < in; j++)
            o[b * D + off.weight + r * in + j] = g[b * out + r] * x[b * in + j];
      if (off.bias >= 0) memcpy(o + b * D + off.bias, g + b * out, (size_t)out * sizeof(double));
    }
  }
}

/* SQNORM with T = 1: ||dy_b x_b^T||² = ||dy_b||² ||x_b||² (ghost norm). */
static void sqnorm_ghost(NnPsg *ps, const LinDims *d, NnPsgOffsets off) {
  size_t es = lt_dtype_size(d->dt);
  double *o = ps->out;
  for (int64_t b = 0; b < ps->batch; b++) {
    /* The identity ||a b^T||_F = ||a|| ||b|| (Goodfellow 2015, arXiv 1510.01799): O(O + I) per
     * sample instead of O(O I). */
    double gg = nn_sumsq(d->dt, d->dy + b * d->out * es, d->out);
    if (off.weight >= 0) o[b] += gg * nn_sumsq(d->dt, d->x + b * d->in * es, d->in);
    if (off.bias >= 0) o[b] += gg;
  }
}

/* PROJECT with T = 1: out[b,k] += sum_o dy[b,o] (x_b @ P_k^T)[o], P_k the
 * weight block of row k seen as [O x I]; M = x_chunk @ P_k^T is [nb x O]. */
static LtStatus project_bilinear(NnPsg *ps, const LinDims *d, NnPsgOffsets off) {
  size_t es = lt_dtype_size(d->dt);
  /* The chunk's M ([nb x O]) is the only scratch; nb came from nn_psg_chunk, so the take below
   * fits. Cost per k is one GEMM of nb x O x I: the nb outer products ([O x I] each) are never
   * written. */
  int64_t nb = nn_psg_chunk(ps, 0, (size_t)d->out * es), out = d->out, ell = ps->ell;
  if (nb == 0) return LT_ENOMEM;
  void *m = nn_scratch_take(&ps->scratch, (size_t)(nb * out) * es);
  for (int64_t b0 = 0; b0 < ps->batch; b0 += nb) {
    int64_t n = ps->batch - b0 < nb ? ps->batch - b0 : nb;
    /* With T = 1 a sample's bias gradient is its dy row itself: emitted straight from dy. */
    if (off.bias >= 0) nn_psg_emit(ps, off.bias, out, d->dy + b0 * out * es, out, b0, n);
    for (int64_t k = 0; k < ell; k++) {
      const char *pk = (const char *)ps->proj + (k * ps->dim + off.weight) * es;
      nn_gemm(d->dt, 0, 1, n, out, d->in, 1.0, d->x + b0 * d->in * es, d->in, pk, d->in, 0.0, m,
              out);
      if (d->dt == LT_F32) {
        const float *mm = m, *g = (const float *)d->dy + b0 * out;
        float *o = (float *)ps->out + b0 * ell + k;
        for (int64_t b = 0; b < n; b++) {
          float s = 0;
          for (int64_t r = 0; r < out; r++) s += mm[b * out + r] * g[b * out + r];
          o[b * ell] += s;
        }
      } else {
        const double *mm = m, *g = (const double *)d->dy + b0 * out;
        double *o = (double *)ps->out + b0 * ell + k;
        for (int64_t b = 0; b < n; b++) {
          double s = 0;
          for (int64_t r = 0; r < out; r++) s += mm[b * out + r] * g[b * out + r];
          o[b * ell] += s;
        }
      }
      /* Polled every 16 rows of P: each is a whole GEMM, so that is often enough to stop
       * promptly. */
      if ((k & 15) == 15 && lt_interrupt_pending()) return LT_EINTR;
    }
  }
  return LT_OK;
}

/* The general path: chunks of formed gradients [weight | bias] handed over. */
static LtStatus psg_chunked(NnPsg *ps, const LinDims *d, NnPsgOffsets off) {
  size_t es = lt_dtype_size(d->dt);
  int want_w = off.weight >= 0, want_b = off.bias >= 0;
  int64_t wsz = want_w ? d->in * d->out : 0, ld = wsz + (want_b ? d->out : 0);
  /* FULL with adjacent weight and bias: form_chunk's [weight | bias] row layout is exactly the
   * output row's, so each sample is formed in place with no scratch or copy. */
  if (ps->mode == NN_PSG_FULL && d->t > 1 && want_w && want_b && off.bias == off.weight + wsz) {
    for (int64_t b = 0; b < ps->batch; b++) /* straight into the output rows */
      form_chunk(d, (char *)ps->out + (b * ps->dim + off.weight) * es, ps->dim, b, 1, 1, 1);
    return LT_OK;
  }
  int64_t nb = nn_psg_chunk(ps, 0, (size_t)ld * es);
  if (nb == 0) return LT_ENOMEM;
  void *g = nn_scratch_take(&ps->scratch, (size_t)(nb * ld) * es);
  for (int64_t b0 = 0; b0 < ps->batch; b0 += nb) {
    int64_t n = ps->batch - b0 < nb ? ps->batch - b0 : nb;
    form_chunk(d, g, ld, b0, n, want_w, want_b);
    if (want_w) nn_psg_emit(ps, off.weight, wsz, g, ld, b0, n);
    if (want_b) nn_psg_emit(ps, off.bias, d->out, (char *)g + wsz * es, ld, b0, n);
    /* One poll per chunk: the GEMMs themselves cannot be interrupted. */
    if (lt_interrupt_pending()) return LT_EINTR;
  }
  return LT_OK;
}

LtStatus nn_linear_psg(NnPsg *ps, NnPsgOffsets off, const Tensor *dy, const Tensor *x) {
  if (!nn_is_float(x) || x->dtype != ps->dtype) return LT_EDTYPE;
  if (x->ndim != 2 || nn_check(dy, x->dtype, 2) != LT_OK || dy->shape[0] != x->shape[0])
    return LT_ESHAPE;
  if (ps->batch <= 0 || x->shape[0] % ps->batch != 0) return LT_ESHAPE;
  LinDims d = {x->shape[0] / ps->batch, x->shape[1], dy->shape[1], x->dtype, x->data, dy->data};
  /* Offsets are the caller's columns: checked against D before anything is written. */
  if ((off.weight >= 0 && off.weight + d.in * d.out > ps->dim) ||
      (off.bias >= 0 && off.bias + d.out > ps->dim))
    return LT_ERANGE;
  if (off.weight < 0 && off.bias < 0) return LT_OK;
  /* The kernels carve from ps->scratch; restoring the mark on every path returns it for the next
   * layer. */
  size_t mark = ps->scratch.used;
  LtStatus st = LT_OK;
  /* T = 1 has closed forms (outer products, ghost norms, a bilinear projection); anything else
   * forms the per-sample gradients in chunks. */
  if (d.t == 1 && ps->mode == NN_PSG_FULL)
    full_outer(ps, &d, off);
  else if (d.t == 1 && ps->mode == NN_PSG_SQNORM)
    sqnorm_ghost(ps, &d, off);
  else if (use_bilinear(ps, &d) && off.weight >= 0)
    st = project_bilinear(ps, &d, off);
  else
    st = psg_chunked(ps, &d, off);
  ps->scratch.used = mark;
  return st;
}
