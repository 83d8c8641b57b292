/* nn_norm.h - batch normalisation (train, eval) and layer normalisation (core, no Lua). */
#ifndef LUNETTE_NN_NORM_H
#define LUNETTE_NN_NORM_H
#include "nn/nn_psg.h"

/* ---- BatchNorm1d / BatchNorm2d -----------------------------------------
 * x and y are [B x C x L] (L = H*W for 2-d, 1 for [B x C] input), gamma and
 * beta [C] or both NULL (affine = false), running_mean / running_var [C]
 * of x's dtype. mean and invstd are F64 [C]: written by the forward pass,
 * read by the backward pass. Statistics accumulate in double. */

/* Failures of every batch-norm pass, before anything is written: LT_EDTYPE,
 * LT_ESHAPE, LT_EVALUE (gamma without beta or one running stat without the
 * other). The backward with ps can also fail with LT_ERANGE (offsets past D)
 * or LT_ENOMEM once dx, dgamma and dbeta have been accumulated. */

/* Training: batch statistics (biased variance) normalise x; mean/invstd
 * receive them; running stats (when not NULL) move by momentum towards the
 * batch mean and the unbiased batch variance, as PyTorch does. B*L must be
 * at least 2 (LT_EVALUE otherwise, as PyTorch refuses). */
LtStatus nn_batchnorm_forward_train(Tensor *y, Tensor *mean, Tensor *invstd, const Tensor *x,
                                    const Tensor *gamma, const Tensor *beta, Tensor *running_mean,
                                    Tensor *running_var, double eps, double momentum);
/* Evaluation: mean/invstd are computed from the running stats and used (both
 * required, else LT_ESHAPE). */
LtStatus nn_batchnorm_forward_eval(Tensor *y, Tensor *mean, Tensor *invstd, const Tensor *x,
                                   const Tensor *gamma, const Tensor *beta,
                                   const Tensor *running_mean, const Tensor *running_var,
                                   double eps);
/* Accumulates dx (NULL: not wanted), dgamma, dbeta (NULL: not wanted) from
 * dy. `training` selects the batch-statistics gradient (the statistics
 * depend on x) or the eval one (they are constants). With ps, per-sample
 * gradients of gamma and beta go to ps (2*C scratch entries per sample). */
LtStatus nn_batchnorm_backward(Tensor *dx, Tensor *dgamma, Tensor *dbeta, const Tensor *dy,
                               const Tensor *x, const Tensor *gamma, const Tensor *mean,
                               const Tensor *invstd, int training, NnPsg *ps, NnPsgOffsets off);

/* ---- LayerNorm ------------------------------------------------------------
 * x and y are [N x D] (normalised over the last D entries), gamma/beta [D]
 * or NULL; mean/invstd F64 [N]. */
/* y = (x - mean) * invstd * gamma + beta row by row, biased variance; mean and
 * invstd receive each row's statistics. Failures: LT_EDTYPE, LT_ESHAPE. */
LtStatus nn_layernorm_forward(Tensor *y, Tensor *mean, Tensor *invstd, const Tensor *x,
                              const Tensor *gamma, const Tensor *beta, double eps);
/* Accumulates dx, dgamma, dbeta (any may be NULL). With ps (sample b owns
 * rows b*N/B ..), per-sample gradients of gamma/beta also go to ps.
 * Failures: LT_EDTYPE, LT_ESHAPE (N not a multiple of B), and as batch
 * norm's LT_ERANGE and LT_ENOMEM after the accumulation. */
LtStatus nn_layernorm_backward(Tensor *dx, Tensor *dgamma, Tensor *dbeta, const Tensor *dy,
                               const Tensor *x, const Tensor *gamma, const Tensor *mean,
                               const Tensor *invstd, NnPsg *ps, NnPsgOffsets off);

#endif
