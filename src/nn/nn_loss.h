/* nn_loss.h - classification losses and per-sample logit statistics (core, no Lua). */
#ifndef LUNETTE_NN_LOSS_H
#define LUNETTE_NN_LOSS_H
#include "nn/nn.h"

/* Shapes: logits (or log-probabilities) [B x C] contiguous F32/F64; target
 * int64 [B] of 0-based class indices (never NULL for the two losses); weight
 * [C] (same dtype) or NULL. Failures, before anything is written: LT_EDTYPE,
 * LT_ESHAPE, and LT_ERANGE with its row in *bad for a target outside 0..C-1. */

/* Cross-entropy as PyTorch's F.cross_entropy(reduction="none") with
 * label_smoothing eps: loss_b = -sum_c a_c log p_c with a = (1-eps)*w_y*onehot
 * + eps/C*w. losses ([B], logits' dtype) receives them; dlogits (NULL: not
 * wanted) accumulates alpha * scale_b * d loss_b / d logits_b, scale [B]
 * (same dtype) or NULL for 1. The mean reduction is alpha = 1/sum_b w_{y_b}.
 * Also LT_EVALUE: eps outside [0, 1], or C = 0. */
LtStatus nn_cross_entropy(Tensor *losses, Tensor *dlogits, const Tensor *logits,
                          const Tensor *target, const Tensor *weight, double eps, double alpha,
                          const Tensor *scale, int64_t *bad);

/* Negative log-likelihood of log-probabilities: loss_b = -w_y * logp[b, y];
 * dlogp (NULL: not wanted) accumulates alpha * scale_b * d loss_b. */
LtStatus nn_nll(Tensor *losses, Tensor *dlogp, const Tensor *logp, const Tensor *target,
                const Tensor *weight, double alpha, const Tensor *scale, int64_t *bad);

/* Per-sample statistics the selection methods score with; every pointer
 * may be NULL (not wanted); each array holds B entries. */
typedef struct {
  double *loss;        /* cross-entropy -log p_y */
  double *prob;        /* p_y */
  double *margin;      /* z_y - max_{c != y} z_c (logit margin; -inf.. +inf) */
  double *prob_margin; /* p_top1 - p_top2 (uncertainty "margin") */
  double *entropy;     /* -sum p log p */
  double *el2n;        /* ||softmax - onehot||_2 */
  int64_t *pred;       /* argmax, 0-based (first of ties) */
} NnLogitStats;

/* Fills s from logits [B x C] (C >= 1, else LT_ESHAPE) and targets (target
 * may be NULL when no target-dependent statistic is wanted, else LT_EVALUE). */
LtStatus nn_logit_stats(const Tensor *logits, const Tensor *target, NnLogitStats *s, int64_t *bad);

#endif
