/* nn_psg.h - per-sample gradient targets: full rows, projections G·Pᵀ, squared norms (core). */
#ifndef LUNETTE_NN_PSG_H
#define LUNETTE_NN_PSG_H
#include "nn/nn.h"

/* During a per-sample pass each layer with parameters hands the gradients
 * of its own samples to an NnPsg instead of summing them over the batch.
 * Parameters are laid out in one vector of D entries (state_dict order);
 * `offset` below is the column of a parameter's first entry.
 *
 *   FULL     out is [B x D]: row b receives sample b's gradient.
 *   PROJECT  out is [B x ell], proj is [ell x D]: out[b] += P[:, off:off+n] g_b,
 *            so G·Pᵀ is accumulated layer by layer and never formed.
 *   SQNORM   out is [B] (F64 always): out[b] += ||g_b||².
 *
 * out and proj are caller-owned, contiguous, of the compute dtype (except
 * SQNORM's F64 out). Layers accumulate into out; the caller zeroes it once. */
typedef enum { NN_PSG_FULL, NN_PSG_PROJECT, NN_PSG_SQNORM } NnPsgMode;

typedef struct {
  NnPsgMode mode;
  LtDtype dtype; /* compute dtype of the gradients: F32 or F64 */
  int64_t batch; /* B */
  int64_t dim;   /* D */
  int64_t ell;   /* PROJECT: rows of proj */
  void *out;
  const void *proj;
  NnScratch scratch; /* workspace for chunks of per-sample gradients */
} NnPsg;

/* Checks that out/proj fit mode, batch, dim and ell (LT_ESHAPE / LT_EDTYPE). */
LtStatus nn_psg_validate(const NnPsg *ps, const Tensor *out, const Tensor *proj);

/* Hands over the per-sample gradients of one parameter of n entries for
 * samples b0 .. b0+nb-1: g is [nb x n] (row stride ldg) of ps->dtype, and
 * off + n <= D. Never allocates. */
void nn_psg_emit(NnPsg *ps, int64_t off, int64_t n, const void *g, int64_t ldg, int64_t b0,
                 int64_t nb);

/* Samples per chunk when each one needs `per_sample` bytes of scratch on
 * top of `fixed`: at least 1 if it fits, else 0 (the caller then reports
 * LT_ENOMEM: the binding sizes scratch with the *_psg_scratch functions). */
int64_t nn_psg_chunk(const NnPsg *ps, size_t fixed, size_t per_sample);

/* Where a parameter goes: its column offset, or -1 when its per-sample
 * gradient is not wanted (frozen parameter). */
typedef struct {
  int64_t weight, bias;
} NnPsgOffsets;

#endif
