/* nn_pool.h - 2-d max, average and adaptive average pooling, forward and backward (core). */
#ifndef LUNETTE_NN_POOL_H
#define LUNETTE_NN_POOL_H
#include "nn/nn.h"

/* x is [B x C x H x W], y is [B x C x HO x WO], both contiguous and of the
 * same float dtype. Sizes follow PyTorch: HO = floor or ceil((H + 2*pad -
 * dil*(k-1) - 1) / stride) + 1, a last window starting in the right padding
 * dropped in ceil mode. */
typedef struct {
  int64_t kernel[2], stride[2], pad[2], dil[2];
  int ceil_mode, count_include_pad; /* count_include_pad: average pooling only */
} NnPool2d;

/* Output size along one axis, or -1 when the window does not fit or the
 * padding exceeds half the window (PyTorch's rule). */
int64_t nn_pool_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil,
                         int ceil_mode);

/* Failures, before anything is written: LT_EDTYPE, LT_ESHAPE (y not of the
 * geometry's size, idx not int64 of y's numel), LT_EVALUE (average pooling
 * with dilation). The backward passes accumulate into dx (x's shape). */

/* y = window maxima; idx (int64, y's shape) receives the flat position
 * (ih*W + iw) of each maximum in its plane; NaN wins as in PyTorch. */
LtStatus nn_maxpool2d_forward(const NnPool2d *p, Tensor *y, Tensor *idx, const Tensor *x);
/* dx[plane][idx] += dy; an index outside its plane is skipped. */
LtStatus nn_maxpool2d_backward(Tensor *dx, const Tensor *dy, const Tensor *idx);

/* y = window means (dilation must be 1). */
LtStatus nn_avgpool2d_forward(const NnPool2d *p, Tensor *y, const Tensor *x);
LtStatus nn_avgpool2d_backward(const NnPool2d *p, Tensor *dx, const Tensor *dy);

/* Adaptive average pooling to y's HO x WO: window i covers
 * [floor(i*H/HO), ceil((i+1)*H/HO)). */
LtStatus nn_adaptive_avgpool2d_forward(Tensor *y, const Tensor *x);
LtStatus nn_adaptive_avgpool2d_backward(Tensor *dx, const Tensor *dy);

#endif
