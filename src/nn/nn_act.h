/* nn_act.h - pointwise activations and row (log-)softmax, forward and backward (core, no Lua). */
#ifndef LUNETTE_NN_ACT_H
#define LUNETTE_NN_ACT_H
#include "nn/nn.h"

typedef enum { NN_RELU, NN_GELU, NN_GELU_TANH, NN_TANH, NN_SIGMOID, NN_SILU, NN_NACT } NnAct;

/* The Lua-facing name of an activation ("relu", "gelu", ...). */
const char *nn_act_name(NnAct a);

/* y = f(x) elementwise; x and y contiguous, same float dtype and numel. Failures: LT_EVALUE
 * (unknown activation), LT_EDTYPE, LT_ESHAPE; y is then untouched. */
LtStatus nn_act_forward(NnAct a, Tensor *y, const Tensor *x);
/* dx += dy * f'(x) (accumulate) or dx = dy * f'(x), from the forward pass's
 * input x and output y (both kept by the layer: relu, tanh and sigmoid read
 * y, the others x). */
LtStatus nn_act_backward(NnAct a, Tensor *dx, const Tensor *dy, const Tensor *x, const Tensor *y,
                         int accumulate);

/* Rows of x ([N x C], contiguous) to softmax (or log-softmax when `logmode`),
 * max-shifted so large logits do not overflow. y is [N x C] of x's dtype.
 * Failures: LT_EDTYPE, LT_ESHAPE. */
LtStatus nn_softmax_forward(Tensor *y, const Tensor *x, int logmode);
/* dx += (accumulate) or = the gradient through softmax / log-softmax, from its output y
 * ([N x C]); dx and dy hold N*C entries of y's dtype. Failures: LT_EDTYPE, LT_ESHAPE. */
LtStatus nn_softmax_backward(Tensor *dx, const Tensor *dy, const Tensor *y, int logmode,
                             int accumulate);

#endif
