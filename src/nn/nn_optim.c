/* nn_optim.c - fused SGD and Adam/AdamW parameter updates, float and double kernels. */
#include <math.h>
#include "nn/nn_optim.h"

/* A state or gradient tensor: p's dtype and numel, contiguous. */
static LtStatus check_same(const Tensor *p, const Tensor *t) {
  return nn_check_numel(t, p->dtype, lt_numel(p));
}

/* SGD in float, torch.optim's terms in torch's order; elements are independent and split across
 * threads. */
LT_HOT static void sgd_f32(const NnSgd *o, float *p, const float *g, float *buf, int64_t n,
                           int first) {
  /* Hyper-parameters rounded to float once, as a float32 torch.optim step receives them; 1 -
   * dampening is formed in double first, as PyTorch passes alpha = 1 - dampening. */
  float lr = (float)o->lr, wd = (float)o->weight_decay, mom = (float)o->momentum,
        damp = (float)(1 - o->dampening);
#pragma omp parallel for schedule(static) if (n >= 65536)
  for (int64_t i = 0; i < n; i++) {
    float d = g[i];
    /* Skipped at 0 as torch does: 0 * inf would turn an infinite parameter's gradient into NaN. */
    if (wd != 0) d += wd * p[i];
    if (buf) {
      /* First step: torch clones d into the buffer instead of decaying a zero one (dampening
       * would otherwise shrink the first step). */
      buf[i] = first ? d : mom * buf[i] + damp * d;
      d = o->nesterov ? d + mom * buf[i] : buf[i];
    }
    p[i] -= lr * d;
  }
}

static void sgd_f64(const NnSgd *o, double *p, const double *g, double *buf, int64_t n, int first) {
#pragma omp parallel for schedule(static) if (n >= 65536)
  for (int64_t i = 0; i < n; i++) {
    double d = g[i];
    if (o->weight_decay != 0) d += o->weight_decay * p[i];
    if (buf) {
      buf[i] = first ? d : o->momentum * buf[i] + (1 - o->dampening) * d;
      d = o->nesterov ? d + o->momentum * buf[i] : buf[i];
    }
    p[i] -= o->lr * d;
  }
}

LtStatus nn_sgd_step(const NnSgd *o, Tensor *p, const Tensor *g, Tensor *buf, int first) {
  if (!nn_is_float(p)) return LT_EDTYPE;
  if (check_same(p, g) != LT_OK || (buf && check_same(p, buf) != LT_OK)) return LT_ESHAPE;
  if (o->momentum != 0 && !buf) return LT_EVALUE;
  Tensor *b = o->momentum != 0 ? buf : NULL;
  if (p->dtype == LT_F32)
    sgd_f32(o, p->data, g->data, b ? b->data : NULL, lt_numel(p), first);
  else
    sgd_f64(o, p->data, g->data, b ? b->data : NULL, lt_numel(p), first);
  return LT_OK;
}

/* Adam/AdamW in float in torch.optim's (single-tensor) order: step_size = lr / bc1, denom =
 * sqrt(v) / sqrt(bc2) + eps, the bias corrections computed once in double. AdamW decays p before
 * the moments (p *= 1 - lr wd); Adam adds wd p to the gradient. */
LT_HOT static void adam_f32(const NnAdam *o, float *p, const float *g, float *m, float *v,
                            int64_t n, int64_t step) {
  double bc1 = 1 - pow(o->beta1, (double)step), bc2 = 1 - pow(o->beta2, (double)step);
  float b1 = (float)o->beta1, b2 = (float)o->beta2, wd = (float)o->weight_decay,
        eps = (float)o->eps;
  float step_size = (float)(o->lr / bc1), sbc2 = (float)sqrt(bc2),
        decay = (float)(1 - o->lr * o->weight_decay);
#pragma omp parallel for schedule(static) if (n >= 65536)
  for (int64_t i = 0; i < n; i++) {
    float gi = g[i];
    if (o->decoupled)
      p[i] *= decay;
    else if (wd != 0)
      gi += wd * p[i];
    m[i] = b1 * m[i] + (1 - b1) * gi;
    v[i] = b2 * v[i] + (1 - b2) * gi * gi;
    p[i] -= step_size * m[i] / (sqrtf(v[i]) / sbc2 + eps);
  }
}

/* The same order in double. */
static void adam_f64(const NnAdam *o, double *p, const double *g, double *m, double *v, int64_t n,
                     int64_t step) {
  double bc1 = 1 - pow(o->beta1, (double)step), bc2 = 1 - pow(o->beta2, (double)step);
#pragma omp parallel for schedule(static) if (n >= 65536)
  for (int64_t i = 0; i < n; i++) {
    double gi = g[i];
    if (o->decoupled)
      p[i] *= 1 - o->lr * o->weight_decay;
    else if (o->weight_decay != 0)
      gi += o->weight_decay * p[i];
    m[i] = o->beta1 * m[i] + (1 - o->beta1) * gi;
    v[i] = o->beta2 * v[i] + (1 - o->beta2) * gi * gi;
    p[i] -= o->lr / bc1 * m[i] / (sqrt(v[i]) / sqrt(bc2) + o->eps);
  }
}

LtStatus nn_adam_step(const NnAdam *o, Tensor *p, const Tensor *g, Tensor *m, Tensor *v,
                      int64_t step) {
  if (!nn_is_float(p)) return LT_EDTYPE;
  if (check_same(p, g) != LT_OK || check_same(p, m) != LT_OK || check_same(p, v) != LT_OK)
    return LT_ESHAPE;
  if (step < 1) return LT_EVALUE;
  if (p->dtype == LT_F32)
    adam_f32(o, p->data, g->data, m->data, v->data, lt_numel(p), step);
  else
    adam_f64(o, p->data, g->data, m->data, v->data, lt_numel(p), step);
  return LT_OK;
}
