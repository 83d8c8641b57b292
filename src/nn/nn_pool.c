/* nn_pool.c - max, average and adaptive average pooling over [B x C x H x W] planes. */
#include <math.h>
#include <string.h>
#include "nn/nn_pool.h"

/* Average pooling and the max-pool backward go through these: sums and divisions in double for
 * both dtypes. */
static inline double at(const void *p, LtDtype dt, int64_t i) {
  return dt == LT_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}
static inline void add(void *p, LtDtype dt, int64_t i, double v) {
  if (dt == LT_F32)
    ((float *)p)[i] += (float)v;
  else
    ((double *)p)[i] += v;
}
static inline void put(void *p, LtDtype dt, int64_t i, double v) {
  if (dt == LT_F32)
    ((float *)p)[i] = (float)v;
  else
    ((double *)p)[i] = v;
}

/* As nn_conv2d_out_size, user geometry whose arithmetic overflows int64
 * does not fit (-1). pad <= k / 2 is pad * 2 <= k without the product. */
int64_t nn_pool_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil,
                         int ceil_mode) {
  int64_t span, num, last;
  if (k < 1 || stride < 1 || dil < 1 || pad < 0 || pad > k / 2) return -1;
  if (__builtin_mul_overflow(dil, k - 1, &span) || __builtin_add_overflow(span, 1, &span))
    return -1;
  if (__builtin_add_overflow(in, 2 * pad, &num)) return -1;
  num -= span;
  if (num < 0) return -1;
  int64_t out = num / stride + (ceil_mode && num % stride != 0) + 1;
  /* ceil mode: a last window starting past the padded input is dropped */
  if (ceil_mode && (__builtin_mul_overflow(out - 1, stride, &last) || last >= in + pad)) out--;
  return out;
}

/* The planes of x and y: B*C of each, with their sizes. */
typedef struct {
  int64_t planes, H, W, HO, WO;
  LtDtype dt;
} Planes;

/* Only B and C must agree here: pooled sizes are the geometry's to check (check_geometry), and
 * the adaptive pool takes y's as given. */
static LtStatus planes_of(const Tensor *x, const Tensor *y, Planes *pl) {
  if (!nn_is_float(x)) return LT_EDTYPE;
  if (x->ndim != 4 || nn_check(y, x->dtype, 4) != LT_OK || y->shape[0] != x->shape[0] ||
      y->shape[1] != x->shape[1])
    return LT_ESHAPE;
  pl->planes = x->shape[0] * x->shape[1];
  pl->H = x->shape[2];
  pl->W = x->shape[3];
  pl->HO = y->shape[2];
  pl->WO = y->shape[3];
  pl->dt = x->dtype;
  return LT_OK;
}

/* y must be exactly the size nn_pool_out_size gives: the kernels never clip a window against y. */
static LtStatus check_geometry(const NnPool2d *p, const Planes *pl) {
  for (int a = 0; a < 2; a++) {
    int64_t in = a ? pl->W : pl->H, out = a ? pl->WO : pl->HO;
    if (nn_pool_out_size(in, p->kernel[a], p->stride[a], p->pad[a], p->dil[a], p->ceil_mode) != out)
      return LT_ESHAPE;
  }
  return LT_OK;
}

/* The exact window maximum with PyTorch's NaN rule (a NaN wins and stays),
 * for the rare windows that hold a NaN. */
static void maxpool_window_nan_f32(const NnPool2d *p, const Planes *pl, const float *xp, int64_t h0,
                                   int64_t w0, float *best, int64_t *arg) {
  for (int64_t i = 0; i < p->kernel[0]; i++) {
    int64_t ih = h0 + i * p->dil[0];
    if (ih < 0 || ih >= pl->H) continue;
    for (int64_t j = 0; j < p->kernel[1]; j++) {
      int64_t iw = w0 + j * p->dil[1];
      if (iw < 0 || iw >= pl->W) continue;
      if (isnan(xp[ih * pl->W + iw])) {
        *best = xp[ih * pl->W + iw];
        *arg = ih * pl->W + iw;
        return;
      }
    }
  }
}

/* Window maxima of one plane. The data-dependent choice is made with
 * masks, not branches, so random values do not mispredict (3-5x faster);
 * arg starts at the window's first pixel as in PyTorch. */
LT_HOT static void maxpool_plane_f32(const NnPool2d *p, const Planes *pl, const float *xp,
                                     float *yp, int64_t *ip) {
  const int64_t H = pl->H, W = pl->W, kh = p->kernel[0], kw = p->kernel[1];
  const int64_t sh = p->stride[0], sw = p->stride[1], dh = p->dil[0], dw = p->dil[1];
  for (int64_t oh = 0; oh < pl->HO; oh++) {
    int64_t h0 = oh * sh - p->pad[0];
    for (int64_t ow = 0; ow < pl->WO; ow++) {
      int64_t w0 = ow * sw - p->pad[1];
      float best = -INFINITY;
      int64_t arg = -1;
      int nan = 0;
      for (int64_t i = 0; i < kh; i++) {
        int64_t ih = h0 + i * dh;
        if (ih < 0 || ih >= H) continue;
        for (int64_t j = 0; j < kw; j++) {
          int64_t iw = w0 + j * dw;
          if (iw < 0 || iw >= W) continue;
          int64_t k = ih * W + iw;
          float v = xp[k];
          if (arg < 0) arg = k;
          /* m is all ones when v > best: arg picks k or keeps its value without a branch. */
          int64_t m = -(int64_t)(v > best);
          best = v > best ? v : best;
          arg = (arg & ~m) | (k & m);
          /* NaN compares false, so the scan above ignores it; the rare window holding one is
           * redone exactly. */
          nan |= v != v;
        }
      }
      if (nan) maxpool_window_nan_f32(p, pl, xp, h0, w0, &best, &arg);
      yp[oh * pl->WO + ow] = best;
      ip[oh * pl->WO + ow] = arg;
    }
  }
}

/* The F64 planes: a plain scan with the same rules (the first pixel initialises, a NaN wins and
 * ends the window). */
LT_HOT static void maxpool_plane_f64(const NnPool2d *p, const Planes *pl, const double *xp,
                                     double *yp, int64_t *ip) {
  for (int64_t oh = 0; oh < pl->HO; oh++)
    for (int64_t ow = 0; ow < pl->WO; ow++) {
      double best = -INFINITY;
      int64_t arg = -1;
      for (int64_t i = 0; i < p->kernel[0]; i++) {
        int64_t ih = oh * p->stride[0] - p->pad[0] + i * p->dil[0];
        if (ih < 0 || ih >= pl->H) continue;
        for (int64_t j = 0; j < p->kernel[1]; j++) {
          int64_t iw = ow * p->stride[1] - p->pad[1] + j * p->dil[1];
          if (iw < 0 || iw >= pl->W) continue;
          double v = xp[ih * pl->W + iw];
          if (arg < 0 || v > best || isnan(v)) {
            best = v;
            arg = ih * pl->W + iw;
            if (isnan(v)) goto done;
          }
        }
      }
    done:
      yp[oh * pl->WO + ow] = best;
      ip[oh * pl->WO + ow] = arg;
    }
}

LtStatus nn_maxpool2d_forward(const NnPool2d *p, Tensor *y, Tensor *idx, const Tensor *x) {
  Planes pl;
  LtStatus st = planes_of(x, y, &pl);
  if (st == LT_OK) st = check_geometry(p, &pl);
  if (st != LT_OK) return st;
  if (nn_check_numel(idx, LT_I64, lt_numel(y)) != LT_OK) return LT_ESHAPE;
  /* Planes run in parallel: each writes only its own planes of y and idx. */
  int64_t in = pl.H * pl.W, out = pl.HO * pl.WO;
#pragma omp parallel for schedule(static) if (pl.planes * out >= 65536)
  for (int64_t q = 0; q < pl.planes; q++) {
    if (pl.dt == LT_F32)
      maxpool_plane_f32(p, &pl, (const float *)x->data + q * in, (float *)y->data + q * out,
                        (int64_t *)idx->data + q * out);
    else
      maxpool_plane_f64(p, &pl, (const double *)x->data + q * in, (double *)y->data + q * out,
                        (int64_t *)idx->data + q * out);
  }
  return LT_OK;
}

LtStatus nn_maxpool2d_backward(Tensor *dx, const Tensor *dy, const Tensor *idx) {
  Planes pl;
  LtStatus st = planes_of(dx, dy, &pl);
  if (st != LT_OK) return st;
  if (nn_check_numel(idx, LT_I64, lt_numel(dy)) != LT_OK) return LT_ESHAPE;
  const int64_t *ix = idx->data;
  int64_t per = pl.HO * pl.WO, plane = pl.H * pl.W;
#pragma omp parallel for schedule(static) if (pl.planes * per >= 16384)
  for (int64_t q = 0; q < pl.planes; q++)
    for (int64_t o = 0; o < per; o++) {
      int64_t k = ix[q * per + o];
      /* idx comes from Lua and may not be the forward's: an index outside the plane is skipped,
       * never written. Planes are disjoint, so the += of overlapping windows stays in one
       * thread. */
      if (k >= 0 && k < plane)
        add(dx->data, pl.dt, q * plane + k, at(dy->data, pl.dt, q * per + o));
    }
  return LT_OK;
}

/* ---- average pooling ----------------------------------------------------- */

/* Window of output (oh, ow): rows [h0, h1), cols [w0, w1) inside the image,
 * and the divisor PyTorch uses. */
typedef struct {
  int64_t h0, h1, w0, w1;
  double div;
} Window;

/* The window of output (oh, ow) of an average pool. */
static Window avg_window(const NnPool2d *p, const Planes *pl, int64_t oh, int64_t ow) {
  Window w;
  int64_t hs = oh * p->stride[0] - p->pad[0], ws = ow * p->stride[1] - p->pad[1];
  int64_t he = hs + p->kernel[0], we = ws + p->kernel[1];
  if (he > pl->H + p->pad[0]) he = pl->H + p->pad[0];
  if (we > pl->W + p->pad[1]) we = pl->W + p->pad[1];
  /* PyTorch's divisors: the window clipped to the padded input (count_include_pad), or to the
   * image itself. */
  double full = (double)((he - hs) * (we - ws));
  w.h0 = hs < 0 ? 0 : hs;
  w.w0 = ws < 0 ? 0 : ws;
  w.h1 = he > pl->H ? pl->H : he;
  w.w1 = we > pl->W ? pl->W : we;
  w.div = p->count_include_pad ? full : (double)((w.h1 - w.h0) * (w.w1 - w.w0));
  return w;
}

/* The window of output (oh, ow) of an adaptive average pool. */
static Window adaptive_window(const Planes *pl, int64_t oh, int64_t ow) {
  Window w;
  /* Start floor(i H / HO), end ceil((i + 1) H / HO): the windows cover the input and neighbours
   * may overlap by a pixel, as in PyTorch. */
  w.h0 = oh * pl->H / pl->HO;
  w.h1 = ((oh + 1) * pl->H + pl->HO - 1) / pl->HO;
  w.w0 = ow * pl->W / pl->WO;
  w.w1 = ((ow + 1) * pl->W + pl->WO - 1) / pl->WO;
  w.div = (double)((w.h1 - w.h0) * (w.w1 - w.w0));
  return w;
}

/* Shared body: forward averages each window, backward spreads dy over it; p == NULL selects the
 * adaptive windows. Planes are disjoint, so the backward's += runs in parallel. A window without
 * pixels (div = 0) gives 0 rather than NaN. */
LT_HOT static void windows(const NnPool2d *p, const Planes *pl, void *x, void *y, int backward) {
#pragma omp parallel for schedule(static) if (pl->planes * pl->HO * pl->WO >= 16384)
  for (int64_t q = 0; q < pl->planes; q++)
    for (int64_t oh = 0; oh < pl->HO; oh++)
      for (int64_t ow = 0; ow < pl->WO; ow++) {
        Window w = p ? avg_window(p, pl, oh, ow) : adaptive_window(pl, oh, ow);
        int64_t o = (q * pl->HO + oh) * pl->WO + ow, base = q * pl->H * pl->W;
        if (backward) {
          double g = w.div > 0 ? at(y, pl->dt, o) / w.div : 0;
          for (int64_t ih = w.h0; ih < w.h1; ih++)
            for (int64_t iw = w.w0; iw < w.w1; iw++) add(x, pl->dt, base + ih * pl->W + iw, g);
          continue;
        }
        double s = 0;
        for (int64_t ih = w.h0; ih < w.h1; ih++)
          for (int64_t iw = w.w0; iw < w.w1; iw++) s += at(x, pl->dt, base + ih * pl->W + iw);
        put(y, pl->dt, o, w.div > 0 ? s / w.div : 0);
      }
}

LtStatus nn_avgpool2d_forward(const NnPool2d *p, Tensor *y, const Tensor *x) {
  Planes pl;
  LtStatus st = planes_of(x, y, &pl);
  if (st == LT_OK) st = check_geometry(p, &pl);
  if (st != LT_OK) return st;
  /* PyTorch's AvgPool2d has no dilation; the shared geometry struct does. */
  if (p->dil[0] != 1 || p->dil[1] != 1) return LT_EVALUE;
  windows(p, &pl, x->data, y->data, 0);
  return LT_OK;
}

LtStatus nn_avgpool2d_backward(const NnPool2d *p, Tensor *dx, const Tensor *dy) {
  Planes pl;
  LtStatus st = planes_of(dx, dy, &pl);
  if (st == LT_OK) st = check_geometry(p, &pl);
  if (st != LT_OK) return st;
  if (p->dil[0] != 1 || p->dil[1] != 1) return LT_EVALUE;
  windows(p, &pl, dx->data, dy->data, 1);
  return LT_OK;
}

LtStatus nn_adaptive_avgpool2d_forward(Tensor *y, const Tensor *x) {
  Planes pl;
  LtStatus st = planes_of(x, y, &pl);
  if (st != LT_OK) return st;
  if (pl.HO < 1 || pl.WO < 1) return LT_ESHAPE;
  windows(NULL, &pl, x->data, y->data, 0);
  return LT_OK;
}

LtStatus nn_adaptive_avgpool2d_backward(Tensor *dx, const Tensor *dy) {
  Planes pl;
  LtStatus st = planes_of(dx, dy, &pl);
  if (st != LT_OK) return st;
  if (pl.HO < 1 || pl.WO < 1) return LT_ESHAPE;
  windows(NULL, &pl, dx->data, dy->data, 1);
  return LT_OK;
}
