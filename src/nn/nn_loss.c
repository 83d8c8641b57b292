/* nn_loss.c - cross-entropy (smoothing, class weights), NLL and per-sample logit statistics. */
#include <math.h>
#include "nn/nn_loss.h"

/* Losses compute in double whatever the storage dtype: F32 and F64 share one code path, and the
 * conversions cost little next to exp and log. */
static inline double at(const void *p, LtDtype dt, int64_t i) {
  return dt == LT_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}
static inline void put(void *p, LtDtype dt, int64_t i, double v) {
  if (dt == LT_F32)
    ((float *)p)[i] = (float)v;
  else
    ((double *)p)[i] = v;
}

/* Common argument checks; sets B and C. */
static LtStatus check_rows(const Tensor *losses, const Tensor *grad, const Tensor *x,
                           const Tensor *target, const Tensor *weight, const Tensor *scale,
                           int64_t *B, int64_t *C, int64_t *bad) {
  if (!nn_is_float(x)) return LT_EDTYPE;
  if (x->ndim != 2) return LT_ESHAPE;
  *B = x->shape[0];
  *C = x->shape[1];
  LtDtype dt = x->dtype;
  if (target && nn_check_numel(target, LT_I64, *B) != LT_OK) return LT_ESHAPE;
  if (losses && nn_check_numel(losses, dt, *B) != LT_OK) return LT_ESHAPE;
  if (grad && nn_check_numel(grad, dt, *B * *C) != LT_OK) return LT_ESHAPE;
  if (weight && nn_check_numel(weight, dt, *C) != LT_OK) return LT_ESHAPE;
  if (scale && nn_check_numel(scale, dt, *B) != LT_OK) return LT_ESHAPE;
  /* Targets are range-checked here, once, so the kernels index with them unguarded; *bad names
   * the row for the message. */
  if (target) {
    const int64_t *t = target->data;
    for (int64_t b = 0; b < *B; b++)
      if (t[b] < 0 || t[b] >= *C) {
        *bad = b;
        return LT_ERANGE;
      }
  }
  return LT_OK;
}

/* log-sum-exp of one row, max-shifted. */
static double row_lse(const void *x, LtDtype dt, int64_t off, int64_t c) {
  double mx = -INFINITY, s = 0;
  for (int64_t j = 0; j < c; j++) {
    double v = at(x, dt, off + j);
    if (v > mx) mx = v;
  }
  /* No finite shift exists: a row of -inf gives lse = -inf (exp(-inf - -inf) would be NaN), and
   * a +inf logit makes lse +inf. */
  if (isinf(mx)) return mx;
  for (int64_t j = 0; j < c; j++) s += exp(at(x, dt, off + j) - mx);
  return mx + log(s);
}

LtStatus nn_cross_entropy(Tensor *losses, Tensor *dlogits, const Tensor *logits,
                          const Tensor *target, const Tensor *weight, double eps, double alpha,
                          const Tensor *scale, int64_t *bad) {
  int64_t B, C;
  LtStatus st = check_rows(losses, dlogits, logits, target, weight, scale, &B, &C, bad);
  if (st != LT_OK) return st;
  if (!(eps >= 0 && eps <= 1) || C < 1) return LT_EVALUE;
  LtDtype dt = logits->dtype;
  /* Cross-entropy needs its targets: check_rows accepts a NULL target only for nn_logit_stats'
   * sake. */
  const int64_t *t = target->data;
  /* Each row writes only its own loss and dlogits row, so rows run in parallel. total_a = sum_c
   * a_c, which the gradient p * sum(a) - a needs. */
#pragma omp parallel for schedule(static) if (B * C >= 32768)
  for (int64_t b = 0; b < B; b++) {
    int64_t off = b * C, y = t[b];
    double lse = row_lse(logits->data, dt, off, C), wy = weight ? at(weight->data, dt, y) : 1.0;
    double loss = (1 - eps) * wy * (lse - at(logits->data, dt, off + y)), total_a = (1 - eps) * wy;
    if (eps > 0)
      for (int64_t j = 0; j < C; j++) {
        double wc = weight ? at(weight->data, dt, j) : 1.0;
        loss += eps / (double)C * wc * (lse - at(logits->data, dt, off + j));
        total_a += eps / (double)C * wc;
      }
    if (losses) put(losses->data, dt, b, loss);
    if (!dlogits) continue;
    double s = alpha * (scale ? at(scale->data, dt, b) : 1.0);
    for (int64_t j = 0; j < C; j++) { /* d/dz_j = p_j * sum(a) - a_j */
      double a = (j == y ? (1 - eps) * wy : 0) +
                 (eps > 0 ? eps / (double)C * (weight ? at(weight->data, dt, j) : 1.0) : 0);
      double p = exp(at(logits->data, dt, off + j) - lse);
      put(dlogits->data, dt, off + j, at(dlogits->data, dt, off + j) + s * (p * total_a - a));
    }
  }
  return LT_OK;
}

LtStatus nn_nll(Tensor *losses, Tensor *dlogp, const Tensor *logp, const Tensor *target,
                const Tensor *weight, double alpha, const Tensor *scale, int64_t *bad) {
  int64_t B, C;
  LtStatus st = check_rows(losses, dlogp, logp, target, weight, scale, &B, &C, bad);
  if (st != LT_OK) return st;
  LtDtype dt = logp->dtype;
  const int64_t *t = target->data;
  /* Serial: one product per row, less than a parallel region would cost. */
  for (int64_t b = 0; b < B; b++) {
    double wy = weight ? at(weight->data, dt, t[b]) : 1.0;
    if (losses) put(losses->data, dt, b, -wy * at(logp->data, dt, b * C + t[b]));
    if (dlogp) {
      double s = alpha * (scale ? at(scale->data, dt, b) : 1.0);
      put(dlogp->data, dt, b * C + t[b], at(dlogp->data, dt, b * C + t[b]) - s * wy);
    }
  }
  return LT_OK;
}

/* Statistics of one row, in one pass: the top two probabilities p1 >= p2; the argmax on the
 * logits with a strict > (first of ties); the entropy from log p = z - lse, never the log of a
 * rounded p (p > 0 skips the 0 log 0 terms); with a target, the el2n sum and the largest other
 * logit zo. */
static void row_stats(const void *x, LtDtype dt, int64_t off, int64_t C, int64_t y, int64_t b,
                      NnLogitStats *s) {
  double lse = row_lse(x, dt, off, C), p1 = -1, p2 = 0, ent = 0, el2 = 0, zo = -INFINITY;
  int64_t arg = 0;
  for (int64_t j = 0; j < C; j++) {
    double z = at(x, dt, off + j), p = exp(z - lse);
    if (p > p1) {
      p2 = p1 < 0 ? 0 : p1;
      p1 = p;
    } else if (p > p2)
      p2 = p;
    if (z > at(x, dt, off + arg)) arg = j;
    if (p > 0) ent -= p * (z - lse);
    if (y >= 0) {
      double d = p - (j == y);
      el2 += d * d;
      if (j != y && z > zo) zo = z;
    }
  }
  if (s->pred) s->pred[b] = arg;
  if (s->prob_margin) s->prob_margin[b] = C > 1 ? p1 - p2 : 1.0;
  if (s->entropy) s->entropy[b] = ent;
  if (y < 0) return;
  double zy = at(x, dt, off + y);
  if (s->loss) s->loss[b] = lse - zy;
  if (s->prob) s->prob[b] = exp(zy - lse);
  if (s->margin) s->margin[b] = C > 1 ? zy - zo : INFINITY;
  if (s->el2n) s->el2n[b] = sqrt(el2);
}

LtStatus nn_logit_stats(const Tensor *logits, const Tensor *target, NnLogitStats *s, int64_t *bad) {
  int64_t B, C;
  LtStatus st = check_rows(NULL, NULL, logits, target, NULL, NULL, &B, &C, bad);
  if (st != LT_OK) return st;
  if (C < 1) return LT_ESHAPE;
  /* A target-dependent statistic without targets is refused rather than computed from row -1. */
  if (!target && (s->loss || s->prob || s->margin || s->el2n)) return LT_EVALUE;
  const int64_t *t = target ? target->data : NULL;
#pragma omp parallel for schedule(static) if (B * C >= 32768)
  for (int64_t b = 0; b < B; b++)
    row_stats(logits->data, logits->dtype, b * C, C, t ? t[b] : -1, b, s);
  return LT_OK;
}
