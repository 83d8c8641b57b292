/* nn_linear.h - fully connected layer: forward, backward, per-sample gradients (core, no Lua). */
#ifndef LUNETTE_NN_LINEAR_H
#define LUNETTE_NN_LINEAR_H
#include "nn/nn_psg.h"

/* Shapes: x is [N x I] (N = B*T rows: T rows per sample, T = 1 for a plain
 * batch), w is [O x I] (PyTorch layout), b is [O] or NULL, y is [N x O].
 * All contiguous, same dtype (F32 or F64). Failures: LT_EDTYPE, LT_ESHAPE. */

/* y = x @ w^T + b. Also LT_EINTR when the zero fill of y (I = 0, no bias) is interrupted. */
LtStatus nn_linear_forward(Tensor *y, const Tensor *x, const Tensor *w, const Tensor *b);

/* Accumulates dx += dy @ w, dw += dy^T @ x, db += column sums of dy; any of
 * dx, dw, db may be NULL (not wanted). dy is [N x O]. */
LtStatus nn_linear_backward(Tensor *dx, Tensor *dw, Tensor *db, const Tensor *dy, const Tensor *x,
                            const Tensor *w);

/* Scratch bytes nn_linear_psg needs to handle nb samples at a time. */
size_t nn_linear_psg_scratch(const NnPsg *ps, int64_t rows_per_sample, int64_t in, int64_t out,
                             int64_t nb);

/* Per-sample gradients of the layer (sample b owns rows b*T .. b*T+T-1 of x
 * and dy, T = N / ps->batch): g_b(w) = dy_b^T x_b, g_b(b) = column sums of
 * dy_b, handed to ps at off.weight / off.bias (-1 skips one). With T = 1
 * the weight gradient is the outer product dy_b x_b^T and is never formed
 * for SQNORM (||dy_b||·||x_b||, the ghost norm) or PROJECT (each row k of P
 * is used as an [O x I] matrix: out[b,k] += dy_b^T P_k x_b through one GEMM
 * per k over the batch). Uses ps->scratch; LT_ENOMEM if it is too small
 * for one sample, LT_ERANGE for an offset past ps->dim (nothing written),
 * LT_EINTR. */
LtStatus nn_linear_psg(NnPsg *ps, NnPsgOffsets off, const Tensor *dy, const Tensor *x);

#endif
