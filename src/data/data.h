/* data.h - dataset kernels: batch gathering with per-channel normalisation, per-class index lists,
 * channel statistics (core, no Lua). */
#ifndef LUNETTE_DATA_H
#define LUNETTE_DATA_H
#include "tensor/tensor.h"

/* out[k, ...] = src[idx[k] - base, ...] for k < n: src is contiguous
 * [N, ...] of any dtype, out contiguous [n, ...]. With scale and shift
 * (nchan entries each) out is float32 and every element becomes
 * src * scale[c] + shift[c], c its index along dim 2 of src when nchan > 1
 * (the channel of an [N, C, H, W] image set), else 0; without them out has
 * src's dtype and rows are copied. Returns LT_ERANGE with *bad set to the
 * offending index before writing anything when an index is out of range;
 * LT_ESHAPE when nchan does not match src's dim 2. */
LtStatus data_gather(Tensor *out, const Tensor *src, const int64_t *idx, int64_t n, int64_t base,
                     const float *scale, const float *shift, int64_t nchan, int64_t *bad);

/* Counting sort of labels (contiguous integer tensor of N class numbers
 * base..base+nclass-1): offsets[c]..offsets[c+1] delimit the rows of class
 * c in order[], ascending; order holds row numbers + base. LT_ERANGE with
 * *bad = the first label out of range (any int64 label is checked without
 * overflow). offsets has nclass + 1 entries; base + max(nclass, N) - 1 must
 * not overflow int64 (the caller checks). */
LtStatus data_class_index(const Tensor *labels, int64_t nclass, int64_t base, int64_t *offsets,
                          int64_t *order, int64_t *bad);

/* Per-channel mean and population standard deviation of src (contiguous
 * [N, ...]; channels along dim 2 when nchan > 1) after multiplying by
 * `scale`, accumulated in double (two passes). */
LtStatus data_channel_stats(const Tensor *src, int64_t nchan, double scale, double *mean,
                            double *std);

#endif
