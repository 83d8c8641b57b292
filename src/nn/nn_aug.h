/* nn_aug.h - image batch augmentation: padded random crop and horizontal flip (core, no Lua). */
#ifndef LUNETTE_NN_AUG_H
#define LUNETTE_NN_AUG_H
#include "nn/nn.h"

/* out[b] = the H x W window at (oy[b], ox[b]) of in[b] zero-padded by pad
 * on every side (offsets in 0..2*pad), mirrored left-right when flip[b] is
 * nonzero: torchvision's RandomCrop(padding=pad) then RandomHorizontalFlip,
 * with the random draws made by the caller (so a seed decides them).
 * in and out are contiguous [B x C x H x W] of the same dtype (any
 * float or uint8); they must not overlap. oy, ox (and flip, or NULL for no
 * flips) hold B entries. Failures, before anything is written: LT_ESHAPE,
 * LT_EDTYPE, LT_EVALUE (pad < 0), LT_ERANGE (an offset outside 0..2*pad). */
LtStatus nn_augment_crop_flip(Tensor *out, const Tensor *in, int64_t pad, const int64_t *oy,
                              const int64_t *ox, const uint8_t *flip);

#endif
