/* nn_optim.h - fused optimiser steps: SGD (momentum, Nesterov), Adam, AdamW (core, no Lua). */
#ifndef LUNETTE_NN_OPTIM_H
#define LUNETTE_NN_OPTIM_H
#include "nn/nn.h"

/* Each step updates one parameter tensor p in place from its gradient g;
 * p, g and the state tensors are contiguous, same float dtype and numel.
 * The arithmetic follows torch.optim (1.13) term by term so that a run
 * matches PyTorch's up to float rounding. */

typedef struct {
  double lr, momentum, dampening, weight_decay;
  int nesterov;
} NnSgd;
/* d = g + wd*p; with momentum: buf = first ? d : momentum*buf + (1-dampening)*d,
 * d = nesterov ? d + momentum*buf : buf; p -= lr*d. buf may be NULL when
 * momentum is 0 (it is ignored then). Failures, before anything is written:
 * LT_EDTYPE, LT_ESHAPE, LT_EVALUE (momentum without buf). */
LtStatus nn_sgd_step(const NnSgd *o, Tensor *p, const Tensor *g, Tensor *buf, int first);

typedef struct {
  double lr, beta1, beta2, eps, weight_decay;
  int decoupled;
} NnAdam;
/* Adam (decoupled = 0: g += wd*p) or AdamW (decoupled: p *= 1 - lr*wd);
 * m, v are the moment estimates, step the 1-based step count (bias
 * corrections 1 - beta^step). Failures, before anything is written:
 * LT_EDTYPE, LT_ESHAPE, LT_EVALUE (step < 1). */
LtStatus nn_adam_step(const NnAdam *o, Tensor *p, const Tensor *g, Tensor *m, Tensor *v,
                      int64_t step);

#endif
