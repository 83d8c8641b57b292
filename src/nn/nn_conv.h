/* nn_conv.h - 2-d convolution: im2col + GEMM (direct for narrow groups), per-sample gradients, a
 * reference (core, no Lua). */
#ifndef LUNETTE_NN_CONV_H
#define LUNETTE_NN_CONV_H
#include "nn/nn_psg.h"

/* Geometry of one Conv2d: x is [B x C x H x W], w is [O x C/groups x KH x
 * KW] (PyTorch layout), b is [O] or NULL, y is [B x O x HO x WO] with
 * HO = (H + 2*pad_h - dil_h*(KH-1) - 1) / stride_h + 1 (likewise WO). */
typedef struct {
  int64_t stride[2], pad[2], dil[2], groups;
} NnConv2d;

/* Output size along one axis, or -1 when the kernel does not fit. */
int64_t nn_conv2d_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil);
/* LT_OK when x, w, b, y (y may be NULL) agree with each other and with c. */
LtStatus nn_conv2d_check(const NnConv2d *c, const Tensor *x, const Tensor *w, const Tensor *b,
                         const Tensor *y);

/* Scratch bytes per sample for forward/backward (im2col columns plus the
 * GEMM output); a chunk of nb samples needs nb times this. */
size_t nn_conv2d_scratch_per_sample(const NnConv2d *c, const Tensor *x, const Tensor *w);

/* y = conv(x, w) + b, samples in chunks that fit the scratch (LT_ENOMEM if not even one does).
 * Grouped float32 convolutions with at most 16 channels per group (in and out) and small padded
 * planes run a direct kernel instead, with no scratch. Failures: nn_conv2d_check's, LT_ENOMEM,
 * LT_EINTR (y then partly written); s is as it was on return. */
LtStatus nn_conv2d_forward(const NnConv2d *c, Tensor *y, const Tensor *x, const Tensor *w,
                           const Tensor *b, NnScratch *s);

/* Accumulates dx, dw, db (each may be NULL) from dy. When ps is not NULL
 * the per-sample gradients of w and b go to ps at off (see nn_psg.h)
 * instead (dw/db are then usually NULL). Squared norms (SQNORM) of the
 * weight gradients come from L x L Gram matrices when that is cheaper than
 * forming them. The scratch must also hold nn_conv2d_psg_scratch's bytes.
 * Failures: as the forward, plus LT_ESHAPE (dx, dw or ps not matching x, w)
 * and LT_ERANGE (an offset past ps->dim), both before anything is written. */
LtStatus nn_conv2d_backward(const NnConv2d *c, Tensor *dx, Tensor *dw, Tensor *db, const Tensor *dy,
                            const Tensor *x, const Tensor *w, NnScratch *s, NnPsg *ps,
                            NnPsgOffsets off);
/* Extra scratch of a per-sample backward: returns the bytes per sample and
 * sets *fixed to the bytes needed once. */
size_t nn_conv2d_psg_scratch(const NnConv2d *c, const NnPsg *ps, const Tensor *x, const Tensor *w,
                             NnPsgOffsets off, size_t *fixed);

/* Direct seven-loop reference (F64 only, else LT_EDTYPE; no scratch) that the
 * specs hold the fast kernels to: y = conv(x, w) + b; and dx, dw, db
 * accumulated. */
LtStatus nn_conv2d_forward_ref(const NnConv2d *c, Tensor *y, const Tensor *x, const Tensor *w,
                               const Tensor *b);
LtStatus nn_conv2d_backward_ref(const NnConv2d *c, Tensor *dx, Tensor *dw, Tensor *db,
                                const Tensor *dy, const Tensor *x, const Tensor *w);

#endif
