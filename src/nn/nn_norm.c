/* nn_norm.c - batch and layer normalisation: double statistics, backward, per-sample gradients. */
#include <math.h>
#include "nn/nn_norm.h"

/* Statistics and gradients run in double whatever the storage dtype, through these two. */
static inline double at(const void *p, LtDtype dt, int64_t i) {
  return dt == LT_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}
static inline void put(void *p, LtDtype dt, int64_t i, double v) {
  if (dt == LT_F32)
    ((float *)p)[i] = (float)v;
  else
    ((double *)p)[i] = v;
}

/* y[i] = x[i] * a + c over n entries (one row of one channel). The F32 path rounds a and c once,
 * so the inner loop is one multiply-add per element and vectorises. */
static inline void affine_row(LtDtype dt, void *y, const void *x, int64_t n, double a, double c) {
  if (dt == LT_F32) {
    float *yy = y, fa = (float)a, fc = (float)c;
    const float *xx = x;
    for (int64_t i = 0; i < n; i++) yy[i] = xx[i] * fa + fc;
  } else {
    double *yy = y;
    const double *xx = x;
    for (int64_t i = 0; i < n; i++) yy[i] = xx[i] * a + c;
  }
}

/* ---- batch norm ------------------------------------------------------------- */

typedef struct {
  int64_t B, C, L;
  LtDtype dt;
  size_t es;
} BnDims;

/* The checks every batch-norm pass shares; fills d. gamma and beta come together (affine) or not
 * at all, as in PyTorch. */
static LtStatus bn_check(const Tensor *x, const Tensor *y, const Tensor *gamma, const Tensor *beta,
                         const Tensor *mean, const Tensor *invstd, BnDims *d) {
  if (!nn_is_float(x)) return LT_EDTYPE;
  if (x->ndim != 3) return LT_ESHAPE;
  d->B = x->shape[0];
  d->C = x->shape[1];
  d->L = x->shape[2];
  d->dt = x->dtype;
  d->es = lt_dtype_size(x->dtype);
  if (y && nn_check_numel(y, d->dt, lt_numel(x)) != LT_OK) return LT_ESHAPE;
  if ((gamma == NULL) != (beta == NULL)) return LT_EVALUE;
  if (gamma &&
      (nn_check_numel(gamma, d->dt, d->C) != LT_OK || nn_check_numel(beta, d->dt, d->C) != LT_OK))
    return LT_ESHAPE;
  if (nn_check_numel(mean, LT_F64, d->C) != LT_OK || nn_check_numel(invstd, LT_F64, d->C) != LT_OK)
    return LT_ESHAPE;
  return LT_OK;
}

/* y = x * a + sh per (sample, channel) row, a = invstd * gamma and sh = beta - mean * a folded
 * once per row rather than per element. */
LT_HOT static void bn_apply(const BnDims *d, Tensor *y, const Tensor *x, const Tensor *gamma,
                     const Tensor *beta, const double *mean, const double *invstd) {
#pragma omp parallel for schedule(static) if (d->B * d->C * d->L >= 32768)
  for (int64_t bc = 0; bc < d->B * d->C; bc++) {
    int64_t c = bc % d->C;
    double a = invstd[c] * (gamma ? at(gamma->data, d->dt, c) : 1.0);
    double sh = (beta ? at(beta->data, d->dt, c) : 0.0) - mean[c] * a;
    affine_row(d->dt, (char *)y->data + bc * d->L * d->es,
               (const char *)x->data + bc * d->L * d->es, d->L, a, sh);
  }
}

LT_HOT LtStatus nn_batchnorm_forward_train(Tensor *y, Tensor *mean, Tensor *invstd, const Tensor *x,
                                    const Tensor *gamma, const Tensor *beta, Tensor *running_mean,
                                    Tensor *running_var, double eps, double momentum) {
  BnDims d;
  LtStatus st = bn_check(x, y, gamma, beta, mean, invstd, &d);
  if (st != LT_OK) return st;
  if ((running_mean == NULL) != (running_var == NULL)) return LT_EVALUE;
  if (running_mean && (nn_check_numel(running_mean, d.dt, d.C) != LT_OK ||
                       nn_check_numel(running_var, d.dt, d.C) != LT_OK))
    return LT_ESHAPE;
  int64_t n = d.B * d.L;
  if (n < 2) return LT_EVALUE;
  double *m = mean->data, *is = invstd->data;
#pragma omp parallel for schedule(static) if (n * d.C >= 32768)
  for (int64_t c = 0; c < d.C; c++) {
    /* Two passes, the mean and then the squared deviations from it: the one-pass E[x^2] - E[x]^2
     * cancels catastrophically when |mean| >> std. Channels are independent, including their
     * running statistics, so they run in parallel. */
    double s = 0, v = 0;
    for (int64_t b = 0; b < d.B; b++) {
      const char *row = (const char *)x->data + (b * d.C + c) * d.L * d.es;
      for (int64_t l = 0; l < d.L; l++) s += at(row, d.dt, l);
    }
    s /= (double)n;
    for (int64_t b = 0; b < d.B; b++) {
      const char *row = (const char *)x->data + (b * d.C + c) * d.L * d.es;
      for (int64_t l = 0; l < d.L; l++) {
        double t = at(row, d.dt, l) - s;
        v += t * t;
      }
    }
    m[c] = s;
    is[c] = 1.0 / sqrt(v / (double)n + eps);
    if (running_mean) {
      put(running_mean->data, d.dt, c,
          (1 - momentum) * at(running_mean->data, d.dt, c) + momentum * s);
      /* The running variance is unbiased (n - 1) while the normalisation above uses the biased
       * one: both as PyTorch. */
      put(running_var->data, d.dt, c,
          (1 - momentum) * at(running_var->data, d.dt, c) + momentum * v / (double)(n - 1));
    }
  }
  bn_apply(&d, y, x, gamma, beta, m, is);
  return LT_OK;
}

LtStatus nn_batchnorm_forward_eval(Tensor *y, Tensor *mean, Tensor *invstd, const Tensor *x,
                                   const Tensor *gamma, const Tensor *beta,
                                   const Tensor *running_mean, const Tensor *running_var,
                                   double eps) {
  BnDims d;
  LtStatus st = bn_check(x, y, gamma, beta, mean, invstd, &d);
  if (st != LT_OK) return st;
  if (!running_mean || !running_var || nn_check_numel(running_mean, d.dt, d.C) != LT_OK ||
      nn_check_numel(running_var, d.dt, d.C) != LT_OK)
    return LT_ESHAPE;
  double *m = mean->data, *is = invstd->data;
  /* mean and invstd are written in eval too, so the backward reads the same constants in either
   * mode. */
  for (int64_t c = 0; c < d.C; c++) {
    m[c] = at(running_mean->data, d.dt, c);
    is[c] = 1.0 / sqrt(at(running_var->data, d.dt, c) + eps);
  }
  bn_apply(&d, y, x, gamma, beta, m, is);
  return LT_OK;
}

/* Sums over the rows of one sample and channel: sum dy and sum dy*xhat. */
static void bn_row_sums(const BnDims *d, const Tensor *dy, const Tensor *x, int64_t b, int64_t c,
                        double m, double is, double *sdy, double *sdyx) {
  const char *gr = (const char *)dy->data + (b * d->C + c) * d->L * d->es;
  const char *xr = (const char *)x->data + (b * d->C + c) * d->L * d->es;
  double s1 = 0, s2 = 0;
  for (int64_t l = 0; l < d->L; l++) {
    double g = at(gr, d->dt, l);
    s1 += g;
    s2 += g * (at(xr, d->dt, l) - m) * is;
  }
  *sdy = s1;
  *sdyx = s2;
}

/* Per-sample gradients of gamma (sum over the sample's pixels of dy * xhat) and beta (sum of
 * dy), handed to ps in chunks. The batch statistics are constants of this pass, so gamma's and
 * beta's gradients split exactly into these per-sample sums. */
static LtStatus bn_psg(const BnDims *d, NnPsg *ps, NnPsgOffsets off, const Tensor *dy,
                       const Tensor *x, const double *m, const double *is) {
  int64_t ld = (off.weight >= 0 ? d->C : 0) + (off.bias >= 0 ? d->C : 0);
  if (ld == 0) return LT_OK;
  if ((off.weight >= 0 && off.weight + d->C > ps->dim) ||
      (off.bias >= 0 && off.bias + d->C > ps->dim))
    return LT_ERANGE;
  size_t mark = ps->scratch.used;
  int64_t nb = nn_psg_chunk(ps, 0, (size_t)ld * d->es);
  if (nb == 0) return LT_ENOMEM;
  char *g = nn_scratch_take(&ps->scratch, (size_t)(nb * ld) * d->es);
  int64_t boff = off.weight >= 0 ? d->C : 0;
  for (int64_t b0 = 0; b0 < d->B; b0 += nb) {
    int64_t n = d->B - b0 < nb ? d->B - b0 : nb;
    /* Each (sample, channel) pair writes its own two entries of g. */
#pragma omp parallel for schedule(static) if (n * d->C * d->L >= 32768)
    for (int64_t bc = 0; bc < n * d->C; bc++) {
      int64_t b = bc / d->C, c = bc % d->C;
      double s1, s2;
      bn_row_sums(d, dy, x, b0 + b, c, m[c], is[c], &s1, &s2);
      if (off.weight >= 0) put(g, d->dt, b * ld + c, s2);
      if (off.bias >= 0) put(g, d->dt, b * ld + boff + c, s1);
    }
    if (off.weight >= 0) nn_psg_emit(ps, off.weight, d->C, g, ld, b0, n);
    if (off.bias >= 0) nn_psg_emit(ps, off.bias, d->C, g + boff * d->es, ld, b0, n);
  }
  ps->scratch.used = mark;
  return LT_OK;
}

LT_HOT LtStatus nn_batchnorm_backward(Tensor *dx, Tensor *dgamma, Tensor *dbeta, const Tensor *dy,
                               const Tensor *x, const Tensor *gamma, const Tensor *mean,
                               const Tensor *invstd, int training, NnPsg *ps, NnPsgOffsets off) {
  BnDims d;
  LtStatus st = bn_check(x, dy, gamma, gamma, mean, invstd, &d);
  if (st != LT_OK) return st;
  if (dx && nn_check_numel(dx, d.dt, lt_numel(x)) != LT_OK) return LT_ESHAPE;
  if ((dgamma && nn_check_numel(dgamma, d.dt, d.C) != LT_OK) ||
      (dbeta && nn_check_numel(dbeta, d.dt, d.C) != LT_OK))
    return LT_ESHAPE;
  if (ps && (ps->dtype != d.dt || ps->batch != d.B)) return LT_ESHAPE;
  /* Channels run in parallel: dgamma[c], dbeta[c] and channel c's rows of dx belong to one
   * thread. training: dx = a (dy - mean(dy) - xhat mean(dy xhat)) with a = gamma invstd (Ioffe
   * and Szegedy 2015); eval: the statistics are constants and dx = a dy. */
  const double *m = mean->data, *is = invstd->data;
  double n = (double)(d.B * d.L);
#pragma omp parallel for schedule(static) if (d.B * d.C * d.L >= 32768)
  for (int64_t c = 0; c < d.C; c++) {
    double sdy = 0, sdyx = 0;
    for (int64_t b = 0; b < d.B; b++) {
      double s1, s2;
      bn_row_sums(&d, dy, x, b, c, m[c], is[c], &s1, &s2);
      sdy += s1;
      sdyx += s2;
    }
    if (dgamma) put(dgamma->data, d.dt, c, at(dgamma->data, d.dt, c) + sdyx);
    if (dbeta) put(dbeta->data, d.dt, c, at(dbeta->data, d.dt, c) + sdy);
    if (!dx) continue;
    double a = is[c] * (gamma ? at(gamma->data, d.dt, c) : 1.0);
    for (int64_t b = 0; b < d.B; b++) {
      int64_t base = (b * d.C + c) * d.L;
      for (int64_t l = 0; l < d.L; l++) {
        double g = at(dy->data, d.dt, base + l), v = g;
        if (training) v = g - sdy / n - (at(x->data, d.dt, base + l) - m[c]) * is[c] * sdyx / n;
        put(dx->data, d.dt, base + l, at(dx->data, d.dt, base + l) + a * v);
      }
    }
  }
  return ps ? bn_psg(&d, ps, off, dy, x, m, is) : LT_OK;
}

/* ---- layer norm ---------------------------------------------------------------- */

static LtStatus ln_check(const Tensor *x, const Tensor *y, const Tensor *gamma, const Tensor *beta,
                         const Tensor *mean, const Tensor *invstd, int64_t *n, int64_t *dd) {
  if (!nn_is_float(x)) return LT_EDTYPE;
  if (x->ndim != 2) return LT_ESHAPE;
  *n = x->shape[0];
  *dd = x->shape[1];
  if (y && nn_check_numel(y, x->dtype, lt_numel(x)) != LT_OK) return LT_ESHAPE;
  if (gamma && nn_check_numel(gamma, x->dtype, *dd) != LT_OK) return LT_ESHAPE;
  if (beta && nn_check_numel(beta, x->dtype, *dd) != LT_OK) return LT_ESHAPE;
  if (nn_check_numel(mean, LT_F64, *n) != LT_OK || nn_check_numel(invstd, LT_F64, *n) != LT_OK)
    return LT_ESHAPE;
  return LT_OK;
}

LT_HOT LtStatus nn_layernorm_forward(Tensor *y, Tensor *mean, Tensor *invstd, const Tensor *x,
                              const Tensor *gamma, const Tensor *beta, double eps) {
  int64_t n, dd;
  LtStatus st = ln_check(x, y, gamma, beta, mean, invstd, &n, &dd);
  if (st != LT_OK) return st;
  LtDtype dt = x->dtype;
  double *m = mean->data, *is = invstd->data;
#pragma omp parallel for schedule(static) if (n * dd >= 32768)
  for (int64_t r = 0; r < n; r++) {
    /* Rows run in parallel; two passes as in batch norm. An empty row (dd = 0) gets mean 0 and
     * invstd 1 / sqrt(eps) instead of a division by zero. */
    double s = 0, v = 0;
    for (int64_t j = 0; j < dd; j++) s += at(x->data, dt, r * dd + j);
    s = dd ? s / (double)dd : 0;
    for (int64_t j = 0; j < dd; j++) {
      double t = at(x->data, dt, r * dd + j) - s;
      v += t * t;
    }
    m[r] = s;
    is[r] = 1.0 / sqrt((dd ? v / (double)dd : 0) + eps);
    for (int64_t j = 0; j < dd; j++) {
      double h = (at(x->data, dt, r * dd + j) - s) * is[r];
      if (gamma) h *= at(gamma->data, dt, j);
      if (beta) h += at(beta->data, dt, j);
      put(y->data, dt, r * dd + j, h);
    }
  }
  return LT_OK;
}

/* Per-sample gamma/beta gradients: sample b owns rows b*t .. b*t+t-1. */
static LtStatus ln_psg(NnPsg *ps, NnPsgOffsets off, const Tensor *dy, const Tensor *x,
                       const double *m, const double *is, int64_t dd) {
  LtDtype dt = x->dtype;
  size_t es = lt_dtype_size(dt);
  /* g holds per sample [gamma | beta] (only the wanted ones): ld entries, beta at boff. */
  int64_t t = x->shape[0] / ps->batch, ld = (off.weight >= 0 ? dd : 0) + (off.bias >= 0 ? dd : 0);
  int64_t boff = off.weight >= 0 ? dd : 0;
  if (ld == 0) return LT_OK;
  if ((off.weight >= 0 && off.weight + dd > ps->dim) || (off.bias >= 0 && off.bias + dd > ps->dim))
    return LT_ERANGE;
  size_t mark = ps->scratch.used;
  int64_t nb = nn_psg_chunk(ps, 0, (size_t)ld * es);
  if (nb == 0) return LT_ENOMEM;
  char *g = nn_scratch_take(&ps->scratch, (size_t)(nb * ld) * es);
  for (int64_t b0 = 0; b0 < ps->batch; b0 += nb) {
    int64_t nn = ps->batch - b0 < nb ? ps->batch - b0 : nb;
    for (int64_t b = 0; b < nn; b++)
      for (int64_t j = 0; j < dd; j++) {
        double s1 = 0, s2 = 0;
        for (int64_t r = (b0 + b) * t; r < (b0 + b + 1) * t; r++) {
          double gv = at(dy->data, dt, r * dd + j);
          s1 += gv;
          s2 += gv * (at(x->data, dt, r * dd + j) - m[r]) * is[r];
        }
        if (off.weight >= 0) put(g, dt, b * ld + j, s2);
        if (off.bias >= 0) put(g, dt, b * ld + boff + j, s1);
      }
    if (off.weight >= 0) nn_psg_emit(ps, off.weight, dd, g, ld, b0, nn);
    if (off.bias >= 0) nn_psg_emit(ps, off.bias, dd, g + boff * es, ld, b0, nn);
  }
  ps->scratch.used = mark;
  return LT_OK;
}

LT_HOT LtStatus nn_layernorm_backward(Tensor *dx, Tensor *dgamma, Tensor *dbeta, const Tensor *dy,
                               const Tensor *x, const Tensor *gamma, const Tensor *mean,
                               const Tensor *invstd, NnPsg *ps, NnPsgOffsets off) {
  int64_t n, dd;
  LtStatus st = ln_check(x, dy, gamma, NULL, mean, invstd, &n, &dd);
  if (st != LT_OK) return st;
  LtDtype dt = x->dtype;
  if (dx && nn_check_numel(dx, dt, n * dd) != LT_OK) return LT_ESHAPE;
  if ((dgamma && nn_check_numel(dgamma, dt, dd) != LT_OK) ||
      (dbeta && nn_check_numel(dbeta, dt, dd) != LT_OK))
    return LT_ESHAPE;
  if (ps && (ps->dtype != dt || ps->batch <= 0 || n % ps->batch)) return LT_ESHAPE;
  const double *m = mean->data, *is = invstd->data;
  /* Serial over rows: dgamma and dbeta accumulate across rows, and a parallel loop would race on
   * them. s1 = sum gh, s2 = sum gh xhat over the row; then dx = invstd (gh - mean(gh) - xhat
   * mean(gh xhat)). */
  for (int64_t r = 0; r < n; r++) {
    double s1 = 0, s2 = 0;
    for (int64_t j = 0; j < dd; j++) {
      double gh = at(dy->data, dt, r * dd + j) * (gamma ? at(gamma->data, dt, j) : 1.0);
      double xh = (at(x->data, dt, r * dd + j) - m[r]) * is[r];
      s1 += gh;
      s2 += gh * xh;
      if (dgamma)
        put(dgamma->data, dt, j, at(dgamma->data, dt, j) + at(dy->data, dt, r * dd + j) * xh);
      if (dbeta) put(dbeta->data, dt, j, at(dbeta->data, dt, j) + at(dy->data, dt, r * dd + j));
    }
    if (!dx) continue;
    for (int64_t j = 0; j < dd; j++) {
      double gh = at(dy->data, dt, r * dd + j) * (gamma ? at(gamma->data, dt, j) : 1.0);
      double xh = (at(x->data, dt, r * dd + j) - m[r]) * is[r];
      double v = is[r] * (gh - s1 / (double)dd - xh * s2 / (double)dd);
      put(dx->data, dt, r * dd + j, at(dx->data, dt, r * dd + j) + v);
    }
  }
  return ps ? ln_psg(ps, off, dy, x, m, is, dd) : LT_OK;
}
