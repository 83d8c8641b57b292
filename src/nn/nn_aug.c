/* nn_aug.c - crop with zero padding and horizontal flip of image batches, from drawn offsets. */
#include <string.h>
#include "nn/nn_aug.h"

LtStatus nn_augment_crop_flip(Tensor *out, const Tensor *in, int64_t pad, const int64_t *oy,
                              const int64_t *ox, const uint8_t *flip) {
  if (in->ndim != 4 || out->ndim != 4 || !lt_is_contiguous(in) || !lt_is_contiguous(out))
    return LT_ESHAPE;
  if (in->dtype != out->dtype || in->device != LT_CPU) return LT_EDTYPE;
  for (int d = 0; d < 4; d++)
    if (in->shape[d] != out->shape[d]) return LT_ESHAPE;
  if (pad < 0) return LT_EVALUE;
  int64_t B = in->shape[0], C = in->shape[1], H = in->shape[2], W = in->shape[3];
  /* Offsets are checked before any write: a bad one leaves out untouched. */
  for (int64_t b = 0; b < B; b++)
    if (oy[b] < 0 || oy[b] > 2 * pad || ox[b] < 0 || ox[b] > 2 * pad) return LT_ERANGE;
  size_t es = lt_dtype_size(in->dtype);
  /* Each (sample, channel) plane writes only its own plane of out. Copies go element by element
   * of es bytes: one path for every dtype, and a flipped row reverses the source order. */
#pragma omp parallel for schedule(static) if (B * C * H * W >= 65536)
  for (int64_t bc = 0; bc < B * C; bc++) {
    int64_t b = bc / C, dy = oy[b] - pad, dx = ox[b] - pad;
    const char *src = (const char *)in->data + bc * H * W * es;
    char *dst = (char *)out->data + bc * H * W * es;
    for (int64_t h = 0; h < H; h++) {
      int64_t sh = h + dy;
      char *drow = dst + h * W * es;
      if (sh < 0 || sh >= H) {
        memset(drow, 0, (size_t)W * es);
        continue;
      }
      for (int64_t w = 0; w < W; w++) {
        /* The flip mirrors the cropped window (crop, then flip, as torchvision composes them):
         * output column w shows window column tw, read from source column tw + dx. */
        int64_t tw = flip && flip[b] ? W - 1 - w : w, sw = tw + dx;
        if (sw < 0 || sw >= W)
          memset(drow + w * es, 0, es);
        else
          memcpy(drow + w * es, src + (sh * W + sw) * es, es);
      }
    }
  }
  return LT_OK;
}
