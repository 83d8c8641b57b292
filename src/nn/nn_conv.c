/* nn_conv.c - 2-d convolution: im2col + GEMM over chunks of samples (a direct kernel for narrow
 * groups forward), backward, per-sample. */
#include <string.h>
#include "interrupt.h"
#include "nn/nn_conv.h"

/* Sizes of one convolution, derived once. Columns of a chunk of nb samples
 * form a [CKK x nb*L] matrix: row (c, i, j), column b*L + output pixel. */
typedef struct {
  int64_t B, C, H, W, O, KH, KW, HO, WO, L, G, CG, OG, KK, CKK;
  LtDtype dt;
  size_t es;
} Geo;

/* The geometry comes from the user: a sum or product that overflows int64
 * is a window that cannot fit, so it gives -1 like any other misfit. */
int64_t nn_conv2d_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  int64_t span, padded;
  if (stride < 1 || dil < 1 || pad < 0 || k < 1) return -1;
  if (__builtin_mul_overflow(dil, k - 1, &span) || __builtin_add_overflow(span, 1, &span))
    return -1;
  if (__builtin_mul_overflow(pad, 2, &padded) || __builtin_add_overflow(padded, in, &padded))
    return -1;
  if (padded < span) return -1;
  return (padded - span) / stride + 1;
}

/* Every size from x, w and c (callers have checked groups >= 1); HO or WO is -1 when the kernel
 * does not fit, which nn_conv2d_check refuses. */
static void geo_of(const NnConv2d *c, const Tensor *x, const Tensor *w, Geo *g) {
  g->B = x->shape[0];
  g->C = x->shape[1];
  g->H = x->shape[2];
  g->W = x->shape[3];
  g->O = w->shape[0];
  g->KH = w->shape[2];
  g->KW = w->shape[3];
  g->HO = nn_conv2d_out_size(g->H, g->KH, c->stride[0], c->pad[0], c->dil[0]);
  g->WO = nn_conv2d_out_size(g->W, g->KW, c->stride[1], c->pad[1], c->dil[1]);
  g->L = g->HO * g->WO;
  g->G = c->groups;
  g->CG = g->C / g->G;
  g->OG = g->O / g->G;
  g->KK = g->KH * g->KW;
  g->CKK = g->C * g->KK;
  g->dt = x->dtype;
  g->es = lt_dtype_size(x->dtype);
}

LtStatus nn_conv2d_check(const NnConv2d *c, const Tensor *x, const Tensor *w, const Tensor *b,
                         const Tensor *y) {
  if (!nn_is_float(x)) return LT_EDTYPE;
  if (x->ndim != 4 || nn_check(w, x->dtype, 4) != LT_OK) return LT_ESHAPE;
  /* The group checks come before geo_of, which divides by groups. */
  if (c->groups < 1 || x->shape[1] % c->groups || w->shape[0] % c->groups) return LT_ESHAPE;
  if (w->shape[1] * c->groups != x->shape[1]) return LT_ESHAPE;
  Geo g;
  geo_of(c, x, w, &g);
  if (g.HO < 1 || g.WO < 1) return LT_ESHAPE;
  if (b && nn_check_numel(b, x->dtype, g.O) != LT_OK) return LT_ESHAPE;
  if (y && (nn_check(y, x->dtype, 4) != LT_OK || y->shape[0] != g.B || y->shape[1] != g.O ||
            y->shape[2] != g.HO || y->shape[3] != g.WO))
    return LT_ESHAPE;
  return LT_OK;
}

size_t nn_conv2d_scratch_per_sample(const NnConv2d *c, const Tensor *x, const Tensor *w) {
  Geo g;
  geo_of(c, x, w, &g);
  /* The chunk's columns (CKK x L per sample) and the GEMM output before its transpose (O x L). */
  return (size_t)((g.CKK + g.O) * g.L) * g.es;
}

/* Squared norms of a sample's weight gradient dy_b cols_b^T can come from
 * the two L x L Gram matrices (Goodfellow's trick) instead of the O x CKK
 * product when that is cheaper: L*(OG + kg) < OG*kg per group. */
static int use_ghost(const Geo *g, const NnPsg *ps, NnPsgOffsets off) {
  int64_t kg = g->CG * g->KK;
  return ps && ps->mode == NN_PSG_SQNORM && off.weight >= 0 && g->L * (g->OG + kg) < g->OG * kg;
}

size_t nn_conv2d_psg_scratch(const NnConv2d *c, const NnPsg *ps, const Tensor *x, const Tensor *w,
                             NnPsgOffsets off, size_t *fixed) {
  Geo g;
  geo_of(c, x, w, &g);
  /* FULL forms the gradients in the output rows: no scratch. Ghost SQNORM needs the two L x L
   * Grams once plus each sample's bias row; the rest need one formed [weight | bias] per sample. */
  *fixed = 0;
  if (ps->mode == NN_PSG_FULL) return 0;
  if (use_ghost(&g, ps, off)) {
    *fixed = nn_scratch_round((size_t)(2 * g.L * g.L) * g.es);
    return (size_t)g.O * g.es;
  }
  return (size_t)(lt_numel(w) + g.O) * g.es;
}

/* ---- data movement ----------------------------------------------------- */

/* cols[r][b*L + l] = x[b][c][ih][iw] (0 outside), r = (c*KH + i)*KW + j. */
LT_HOT static void im2col_f32(const Geo *g, const NnConv2d *cv, const float *x, int64_t nb,
                              float *cols) {
  /* Threads split the CKK rows of cols, each writing whole rows. The valid range [lo, hi) of an
   * output row is computed once, so the inner copy has no bounds test (a memcpy at stride 1). */
  int64_t nl = nb * g->L;
#pragma omp parallel for schedule(static) if (g->CKK * nl >= 32768)
  for (int64_t r = 0; r < g->CKK; r++) {
    int64_t c = r / g->KK, i = (r / g->KW) % g->KH, j = r % g->KW;
    for (int64_t b = 0; b < nb; b++) {
      const float *xc = x + (b * g->C + c) * g->H * g->W;
      float *d = cols + r * nl + b * g->L;
      for (int64_t oh = 0; oh < g->HO; oh++, d += g->WO) {
        int64_t ih = oh * cv->stride[0] - cv->pad[0] + i * cv->dil[0];
        if (ih < 0 || ih >= g->H) {
          memset(d, 0, (size_t)g->WO * sizeof(float));
          continue;
        }
        const float *xr = xc + ih * g->W;
        int64_t iw0 = -cv->pad[1] + j * cv->dil[1], s = cv->stride[1];
        /* outputs ow in [lo, hi) read inside the row; the rest are padding.
         * ceil(a / s) as (a - 1) / s + 1: a stride near INT64_MAX must not overflow */
        int64_t lo = iw0 >= 0 ? 0 : (-iw0 - 1) / s + 1;
        int64_t hi = g->W - iw0 <= 0 ? 0 : (g->W - iw0 - 1) / s + 1;
        if (hi > g->WO) hi = g->WO;
        if (lo > hi) lo = hi;
        for (int64_t ow = 0; ow < lo; ow++) d[ow] = 0.0f;
        if (s == 1)
          memcpy(d + lo, xr + iw0 + lo, (size_t)(hi - lo) * sizeof(float));
        else
          for (int64_t ow = lo; ow < hi; ow++) d[ow] = xr[iw0 + ow * s];
        for (int64_t ow = hi; ow < g->WO; ow++) d[ow] = 0.0f;
      }
    }
  }
}

/* The F64 path, for the gradient checks: the same columns by the direct formula, one bounds test
 * per element. */
static void im2col_f64(const Geo *g, const NnConv2d *cv, const double *x, int64_t nb,
                       double *cols) {
  int64_t nl = nb * g->L;
#pragma omp parallel for schedule(static) if (g->CKK * nl >= 32768)
  for (int64_t r = 0; r < g->CKK; r++) {
    int64_t c = r / g->KK, i = (r / g->KW) % g->KH, j = r % g->KW;
    for (int64_t b = 0; b < nb; b++)
      for (int64_t oh = 0; oh < g->HO; oh++)
        for (int64_t ow = 0; ow < g->WO; ow++) {
          int64_t ih = oh * cv->stride[0] - cv->pad[0] + i * cv->dil[0];
          int64_t iw = ow * cv->stride[1] - cv->pad[1] + j * cv->dil[1];
          int in = ih >= 0 && ih < g->H && iw >= 0 && iw < g->W;
          cols[r * nl + b * g->L + oh * g->WO + ow] =
              in ? x[((b * g->C + c) * g->H + ih) * g->W + iw] : 0.0;
        }
  }
}

/* dx[b][c][ih][iw] += dcols[r][b*L + l]: each thread owns whole (b, c) planes. */
LT_HOT static void col2im_f32(const Geo *g, const NnConv2d *cv, const float *dcols, int64_t nb,
                              float *dx) {
  int64_t nl = nb * g->L;
#pragma omp parallel for schedule(static) if (g->CKK * nl >= 32768)
  for (int64_t bc = 0; bc < nb * g->C; bc++) {
    int64_t b = bc / g->C, c = bc % g->C;
    /* Overlapping windows add into the same pixels: owning whole planes keeps those += in one
     * thread. */
    float *xc = dx + bc * g->H * g->W;
    for (int64_t i = 0; i < g->KH; i++)
      for (int64_t j = 0; j < g->KW; j++) {
        const float *s = dcols + ((c * g->KH + i) * g->KW + j) * nl + b * g->L;
        for (int64_t oh = 0; oh < g->HO; oh++, s += g->WO) {
          int64_t ih = oh * cv->stride[0] - cv->pad[0] + i * cv->dil[0];
          if (ih < 0 || ih >= g->H) continue;
          float *xr = xc + ih * g->W;
          for (int64_t ow = 0; ow < g->WO; ow++) {
            int64_t iw = ow * cv->stride[1] - cv->pad[1] + j * cv->dil[1];
            if (iw >= 0 && iw < g->W) xr[iw] += s[ow];
          }
        }
      }
  }
}

/* The F64 path of col2im, written plainly; planes are owned per thread as in the F32 one. */
static void col2im_f64(const Geo *g, const NnConv2d *cv, const double *dcols, int64_t nb,
                       double *dx) {
  int64_t nl = nb * g->L;
#pragma omp parallel for schedule(static) if (g->CKK * nl >= 32768)
  for (int64_t bc = 0; bc < nb * g->C; bc++) {
    int64_t b = bc / g->C, c = bc % g->C;
    for (int64_t i = 0; i < g->KH; i++)
      for (int64_t j = 0; j < g->KW; j++)
        for (int64_t oh = 0; oh < g->HO; oh++)
          for (int64_t ow = 0; ow < g->WO; ow++) {
            int64_t ih = oh * cv->stride[0] - cv->pad[0] + i * cv->dil[0];
            int64_t iw = ow * cv->stride[1] - cv->pad[1] + j * cv->dil[1];
            if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) continue;
            dx[(bc * g->H + ih) * g->W + iw] +=
                dcols[((c * g->KH + i) * g->KW + j) * nl + b * g->L + oh * g->WO + ow];
          }
  }
}

static void im2col(const Geo *g, const NnConv2d *cv, const void *x, int64_t nb, void *cols) {
  if (g->dt == LT_F32)
    im2col_f32(g, cv, x, nb, cols);
  else
    im2col_f64(g, cv, x, nb, cols);
}
static void col2im(const Geo *g, const NnConv2d *cv, const void *dcols, int64_t nb, void *dx) {
  if (g->dt == LT_F32)
    col2im_f32(g, cv, dcols, nb, dx);
  else
    col2im_f64(g, cv, dcols, nb, dx);
}

/* t[o][b*L + l] = y[b][o][l] (gather = 1) or back (gather = 0), plus the
 * bias on the way back. Rows of L elements move with memcpy. */
static void transpose_chunk(const Geo *g, void *t, void *y, int64_t nb, int gather,
                            const void *bias) {
  /* The GEMM works channel-major over the chunk ([O x nb*L]) while y is [B x O x L]: rows of L
   * elements move as blocks, and the bias is added on the way back so y is written once. */
  size_t row = (size_t)g->L * g->es;
#pragma omp parallel for schedule(static) if (nb * g->O * g->L >= 32768)
  for (int64_t bo = 0; bo < nb * g->O; bo++) {
    int64_t b = bo / g->O, o = bo % g->O;
    char *tp = (char *)t + (o * nb * g->L + b * g->L) * g->es, *yp = (char *)y + bo * row;
    if (gather) {
      memcpy(tp, yp, row);
      continue;
    }
    if (!bias) {
      memcpy(yp, tp, row);
      continue;
    }
    if (g->dt == LT_F32) {
      float bv = ((const float *)bias)[o], *d = (float *)yp;
      const float *s = (const float *)tp;
      for (int64_t l = 0; l < g->L; l++) d[l] = s[l] + bv;
    } else {
      double bv = ((const double *)bias)[o], *d = (double *)yp;
      const double *s = (const double *)tp;
      for (int64_t l = 0; l < g->L; l++) d[l] = s[l] + bv;
    }
  }
}

/* ---- direct grouped convolution --------------------------------------------- */

/* Floats of one sample-group's input planes, padded: what the direct kernel keeps on its stack
 * (64 KiB), and so the largest CG * (H + 2 pad_h) * (W + 2 pad_w) it takes. */
#define DIRECT_PLANE_MAX 16384
/* Floats past the padded planes that a stride-2 load may read (and drop). */
#define DIRECT_SLACK 32
/* Output pixels along a row per register tile: one AVX2 vector. */
#define DIRECT_TW 8

/* Narrow groups (ResNeXt's 3x3 convolutions of 4, 8 or 16 channels per group) make GEMMs of 4
 * to 16 rows, which run far below the GEMM's peak, after an im2col that writes KH*KW copies of
 * the input. The direct kernel reads each padded input plane from the stack instead and keeps a
 * tile of og output channels x DIRECT_TW pixels in registers over the CG*KH*KW products. */
static int use_direct(const Geo *g, const NnConv2d *cv) {
  int64_t hp = g->H + 2 * cv->pad[0], wp = g->W + 2 * cv->pad[1];
  return g->dt == LT_F32 && g->G > 1 && g->OG <= 16 && g->CG <= 16 &&
         g->CG * hp * wp + DIRECT_SLACK <= DIRECT_PLANE_MAX;
}

/* Copies sample b's group gi input planes into p, zero-padded: [CG x hp x wp]. */
static void pad_planes(const Geo *g, const NnConv2d *cv, const float *x, int64_t b, int64_t gi,
                       float *p) {
  int64_t hp = g->H + 2 * cv->pad[0], wp = g->W + 2 * cv->pad[1];
  memset(p, 0, (size_t)(g->CG * hp * wp + DIRECT_SLACK) * sizeof(float));
  for (int64_t ci = 0; ci < g->CG; ci++) {
    const float *xc = x + (b * g->C + gi * g->CG + ci) * g->H * g->W;
    for (int64_t h = 0; h < g->H; h++)
      memcpy(p + (ci * hp + h + cv->pad[0]) * wp + cv->pad[1], xc + h * g->W,
             (size_t)g->W * sizeof(float));
  }
}

/* Eight pixels of a row (GCC's vector extension: one AVX2 register, two SSE ones). */
typedef float DirectV8 __attribute__((vector_size(DIRECT_TW * sizeof(float))));
typedef int DirectI8 __attribute__((vector_size(DIRECT_TW * sizeof(int))));

/* *v = pixels xs[t * s] for t < tw, zeros past tw (a partial tile at the row's end). Stride 2
 * reads 16 floats and keeps the even ones: the padded planes have DIRECT_SLACK floats of room
 * past their end for the odd ones it drops. */
static inline __attribute__((always_inline)) void direct_load(DirectV8 *v, const float *xs,
                                                              int64_t s, int64_t tw) {
  if (s == 1 && tw == DIRECT_TW) {
    memcpy(v, xs, sizeof *v);
    return;
  }
  if (s == 2 && tw == DIRECT_TW) {
    DirectV8 lo, hi;
    memcpy(&lo, xs, sizeof lo);
    memcpy(&hi, xs + DIRECT_TW, sizeof hi);
    *v = __builtin_shuffle(lo, hi, (DirectI8){0, 2, 4, 6, 8, 10, 12, 14});
    return;
  }
  for (int t = 0; t < DIRECT_TW; t++) (*v)[t] = t < tw ? xs[t * s] : 0.0f;
}

/* Two tiles side by side (one when pair is 0): y[o][oh][ow0 + t] for o < og, t < tw (up to 2
 * DIRECT_TW), from the padded planes p. og, kw and pair are constants where this is inlined
 * (og 8, 4 or 1; kw 3 or 0 for any), so the 2 og accumulators stay in registers over the
 * CG*KH*KW products, each weight is loaded once for both tiles and each input vector once for
 * all og channels. */
static inline __attribute__((always_inline)) void direct_tile(
    const Geo *g, const NnConv2d *cv, const float *p, const float *wg, const float *bias,
    float *yg, int64_t oh, int64_t ow0, int64_t tw, int og, int kw, int pair) {
  int64_t hp = g->H + 2 * cv->pad[0], wp = g->W + 2 * cv->pad[1], s = cv->stride[1];
  int64_t KW = kw ? kw : g->KW, wstride = g->CG * g->KK;
  int64_t tw0 = tw < DIRECT_TW ? tw : DIRECT_TW, tw1 = pair ? tw - tw0 : 0;
  DirectV8 acc0[8], acc1[8];
#pragma GCC unroll 8
  for (int o = 0; o < og; o++) {
    acc0[o] = (DirectV8){0};
    acc1[o] = (DirectV8){0};
  }
  for (int64_t ci = 0; ci < g->CG; ci++)
    for (int64_t i = 0; i < g->KH; i++) {
      const float *row = p + (ci * hp + oh * cv->stride[0] + i * cv->dil[0]) * wp + ow0 * s;
      const float *wk = wg + (ci * g->KH + i) * KW;
#pragma GCC unroll 3
      for (int64_t j = 0; j < KW; j++) {
        DirectV8 x0, x1;
        direct_load(&x0, row + j * cv->dil[1], s, tw0);
        if (pair) direct_load(&x1, row + j * cv->dil[1] + DIRECT_TW * s, s, tw1);
#pragma GCC unroll 8
        for (int o = 0; o < og; o++) {
          float wv = wk[o * wstride + j];
          acc0[o] += wv * x0;
          if (pair) acc1[o] += wv * x1;
        }
      }
    }
#pragma GCC unroll 8
  for (int o = 0; o < og; o++) {
    float bv = bias ? bias[o] : 0.0f, *d = yg + (o * g->HO + oh) * g->WO + ow0;
    for (int t = 0; t < tw0; t++) d[t] = acc0[o][t] + bv;
    for (int t = 0; t < tw1; t++) d[DIRECT_TW + t] = acc1[o][t] + bv;
  }
  (void)wp;
}

/* All tiles of one (sample, group), og output channels at a time. */
static inline __attribute__((always_inline)) void direct_group(
    const Geo *g, const NnConv2d *cv, const float *p, const float *w, const float *bias,
    float *y, int64_t b, int64_t gi, int og, int kw) {
  for (int64_t o0 = 0; o0 < g->OG; o0 += og) {
    int64_t oc = gi * g->OG + o0;
    const float *wg = w + oc * g->CG * g->KK, *bg = bias ? bias + oc : NULL;
    float *yg = y + (b * g->O + oc) * g->L;
    for (int64_t oh = 0; oh < g->HO; oh++)
      for (int64_t ow0 = 0; ow0 < g->WO; ow0 += 2 * DIRECT_TW) {
        int64_t tw = g->WO - ow0 < 2 * DIRECT_TW ? g->WO - ow0 : 2 * DIRECT_TW;
        /* The pair only where its second tile has pixels: a constant either way. */
        if (tw > DIRECT_TW)
          direct_tile(g, cv, p, wg, bg, yg, oh, ow0, tw, og, kw, 1);
        else
          direct_tile(g, cv, p, wg, bg, yg, oh, ow0, tw, og, kw, 0);
      }
  }
}

/* FMA as well as AVX2 for the direct kernel (LT_HOT's "avx2" alone leaves multiply and add
 * apart); the loader picks the clone once. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define DIRECT_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define DIRECT_HOT
#endif

/* y = conv(x, w) + bias for a grouped F32 convolution that use_direct accepts. Threads split
 * the (sample, group) pairs; each output is written once, summed in a fixed order, so the bits
 * do not depend on the thread count or on how the batch is split. */
DIRECT_HOT static void direct_f32(const Geo *g, const NnConv2d *cv, const float *x,
                                  const float *w, const float *bias, float *y) {
#pragma omp parallel for schedule(static) if (g->B * g->O * g->L >= 32768)
  for (int64_t bg = 0; bg < g->B * g->G; bg++) {
    int64_t b = bg / g->G, gi = bg % g->G;
    float p[DIRECT_PLANE_MAX];
    pad_planes(g, cv, x, b, gi, p);
    /* A constant og for the common widths lets the compiler keep the tile in registers. */
    int kw3 = g->KW == 3 ? 3 : 0;
    if (g->OG % 8 == 0 && kw3)
      direct_group(g, cv, p, w, bias, y, b, gi, 8, 3);
    else if (g->OG % 4 == 0 && kw3)
      direct_group(g, cv, p, w, bias, y, b, gi, 4, 3);
    else if (g->OG % 4 == 0)
      direct_group(g, cv, p, w, bias, y, b, gi, 4, 0);
    else
      direct_group(g, cv, p, w, bias, y, b, gi, 1, 0);
  }
}

/* ---- forward -------------------------------------------------------------- */

/* Samples per chunk: what the scratch holds past 512 bytes of carve padding, at most B. */
static int64_t chunk_of(const NnScratch *s, size_t per_sample, int64_t B) {
  size_t have = s->size > s->used + 512 ? s->size - s->used - 512 : 0;
  int64_t n = per_sample ? (int64_t)(have / per_sample) : B;
  return n > B ? B : n;
}

LtStatus nn_conv2d_forward(const NnConv2d *c, Tensor *y, const Tensor *x, const Tensor *w,
                           const Tensor *b, NnScratch *s) {
  LtStatus st = nn_conv2d_check(c, x, w, b, y);
  if (st != LT_OK) return st;
  Geo g;
  geo_of(c, x, w, &g);
  if (use_direct(&g, c)) {
    direct_f32(&g, c, x->data, w->data, b ? b->data : NULL, y->data);
    return lt_interrupt_pending() ? LT_EINTR : LT_OK;
  }
  /* Chunks of samples: columns for a whole batch would take CKK*B*L entries. The chunk's samples
   * lie side by side along nl, so each group's GEMM (w_g [OG x kg] by cols_g [kg x nl]) is wide. */
  int64_t nb = chunk_of(s, (size_t)((g.CKK + g.O) * g.L) * g.es, g.B), kg = g.CG * g.KK;
  if (g.B == 0) return LT_OK;
  if (nb < 1) return LT_ENOMEM;
  size_t mark = s->used;
  char *cols = nn_scratch_take(s, (size_t)(g.CKK * nb * g.L) * g.es);
  char *yt = nn_scratch_take(s, (size_t)(g.O * nb * g.L) * g.es);
  for (int64_t b0 = 0; b0 < g.B; b0 += nb) {
    int64_t n = g.B - b0 < nb ? g.B - b0 : nb, nl = n * g.L;
    im2col(&g, c, (const char *)x->data + b0 * g.C * g.H * g.W * g.es, n, cols);
    for (int64_t gi = 0; gi < g.G; gi++)
      nn_gemm(g.dt, 0, 0, g.OG, nl, kg, 1.0, (const char *)w->data + gi * g.OG * kg * g.es, kg,
              cols + gi * kg * nl * g.es, nl, 0.0, yt + gi * g.OG * nl * g.es, nl);
    transpose_chunk(&g, yt, (char *)y->data + b0 * g.O * g.L * g.es, n, 0, b ? b->data : NULL);
    /* One poll per chunk: the GEMMs cannot be interrupted, and a chunk bounds the wait. */
    if (lt_interrupt_pending()) {
      s->used = mark;
      return LT_EINTR;
    }
  }
  s->used = mark;
  return LT_OK;
}

/* ---- backward -------------------------------------------------------------- */

/* out[b0+b] += ||dy_b cols_b^T||^2 = sum over groups of <A^T A, C^T C> with
 * A = dy_b of the group (OG x L) and C = its columns (kg x L); gram holds 2 L x L. */
static void ghost_chunk(const Geo *g, NnPsg *ps, const char *dyt, const char *cols, int64_t b0,
                        int64_t n, char *gram) {
  int64_t kg = g->CG * g->KK, nl = n * g->L, LL = g->L * g->L;
  char *ga = gram, *gb = gram + LL * g->es;
  double *out = ps->out;
  /* <A^T A, C^T C> = ||A C^T||_F^2. Two L x L GEMMs per sample and group replace the OG x kg
   * product, which use_ghost found larger. The inner product sums in double. */
  for (int64_t b = 0; b < n; b++)
    for (int64_t gi = 0; gi < g->G; gi++) {
      const char *a = dyt + (gi * g->OG * nl + b * g->L) * g->es,
                 *c = cols + (gi * kg * nl + b * g->L) * g->es;
      nn_gemm(g->dt, 1, 0, g->L, g->L, g->OG, 1.0, a, nl, a, nl, 0.0, ga, g->L);
      nn_gemm(g->dt, 1, 0, g->L, g->L, kg, 1.0, c, nl, c, nl, 0.0, gb, g->L);
      double sum = 0;
      if (g->dt == LT_F32)
        for (int64_t i = 0; i < LL; i++)
          sum += (double)((const float *)ga)[i] * ((const float *)gb)[i];
      else
        for (int64_t i = 0; i < LL; i++) sum += ((const double *)ga)[i] * ((const double *)gb)[i];
      out[b0 + b] += sum;
    }
}

/* Per-sample weight gradients of samples b0..b0+n-1 from the chunk's
 * transposed dy (dyt) and columns; bias gradients are the row sums of dy. */
static void psg_chunk(const Geo *g, NnPsg *ps, NnPsgOffsets off, const char *dyt, const char *cols,
                      const char *dy, int64_t b0, int64_t n, char *gbuf, char *gram) {
  if (gram) { /* weight norms from Gram matrices; only the bias is formed */
    ghost_chunk(g, ps, dyt, cols, b0, n, gram);
    off.weight = -1;
  }
  int64_t kg = g->CG * g->KK, nl = n * g->L, wsz = g->O * kg;
  int64_t ld = (off.weight >= 0 ? wsz : 0) + (off.bias >= 0 ? g->O : 0);
  /* FULL forms each gradient straight in its output row (no gbuf, no emit); other modes form
   * rows in gbuf and emit them once per chunk. */
  int direct = ps->mode == NN_PSG_FULL;
  for (int64_t b = 0; b < n; b++) {
    char *row = direct ? NULL : gbuf + b * ld * g->es;
    if (off.weight >= 0) {
      char *dst = direct ? (char *)ps->out + ((b0 + b) * ps->dim + off.weight) * g->es : row;
      for (int64_t gi = 0; gi < g->G; gi++)
        nn_gemm(g->dt, 0, 1, g->OG, kg, g->L, 1.0, dyt + (gi * g->OG * nl + b * g->L) * g->es, nl,
                cols + (gi * kg * nl + b * g->L) * g->es, nl, 0.0, dst + gi * g->OG * kg * g->es,
                kg);
    }
    if (off.bias >= 0) {
      char *dst = direct ? (char *)ps->out + ((b0 + b) * ps->dim + off.bias) * g->es
                         : row + (off.weight >= 0 ? wsz : 0) * g->es;
      for (int64_t o = 0; o < g->O; o++) {
        const char *src = dy + ((b0 + b) * g->O + o) * g->L * g->es;
        double sum = 0;
        for (int64_t l = 0; l < g->L; l++) sum += lt_get_f64(src + l * g->es, g->dt);
        lt_set_f64(dst + o * g->es, g->dt, sum);
      }
    }
  }
  if (direct) return;
  if (off.weight >= 0) nn_psg_emit(ps, off.weight, wsz, gbuf, ld, b0, n);
  if (off.bias >= 0)
    nn_psg_emit(ps, off.bias, g->O, gbuf + (off.weight >= 0 ? wsz : 0) * g->es, ld, b0, n);
}

/* db[o] += sum over samples and pixels of dy[b][o][l], in double per channel. Channels run in
 * parallel, each summing its samples in a fixed order: the same bits on any thread count. F32
 * rows sum in float (it vectorises), and the rows add in double. */
static void bias_grad(const Geo *g, void *db, const void *dy) {
#pragma omp parallel for schedule(static) if (g->B * g->O * g->L >= 65536)
  for (int64_t o = 0; o < g->O; o++) {
    double sum = 0;
    for (int64_t b = 0; b < g->B; b++) {
      int64_t base = (b * g->O + o) * g->L;
      if (g->dt == LT_F32) {
        const float *s = (const float *)dy + base;
        float part = 0;
        for (int64_t l = 0; l < g->L; l++) part += s[l];
        sum += part;
      } else {
        const double *s = (const double *)dy + base;
        for (int64_t l = 0; l < g->L; l++) sum += s[l];
      }
    }
    if (g->dt == LT_F32)
      ((float *)db)[o] += (float)sum;
    else
      ((double *)db)[o] += sum;
  }
}

/* dy must be conv(x, w)'s output shape; dx and dw exactly x's and w's shapes (not just their
 * numel); ps for this batch and dtype. */
static LtStatus check_backward(const NnConv2d *c, const Tensor *dx, const Tensor *dw,
                               const Tensor *db, const Tensor *dy, const Tensor *x, const Tensor *w,
                               const NnPsg *ps) {
  LtStatus st = nn_conv2d_check(c, x, w, NULL, dy);
  if (st != LT_OK) return st;
  if (dx &&
      (nn_check(dx, x->dtype, 4) != LT_OK || memcmp(dx->shape, x->shape, 4 * sizeof(int64_t))))
    return LT_ESHAPE;
  if (dw &&
      (nn_check(dw, x->dtype, 4) != LT_OK || memcmp(dw->shape, w->shape, 4 * sizeof(int64_t))))
    return LT_ESHAPE;
  if (db && nn_check_numel(db, x->dtype, w->shape[0]) != LT_OK) return LT_ESHAPE;
  if (ps && (ps->dtype != x->dtype || ps->batch != x->shape[0])) return LT_ESHAPE;
  return LT_OK;
}

LtStatus nn_conv2d_backward(const NnConv2d *c, Tensor *dx, Tensor *dw, Tensor *db, const Tensor *dy,
                            const Tensor *x, const Tensor *w, NnScratch *s, NnPsg *ps,
                            NnPsgOffsets off) {
  LtStatus st = check_backward(c, dx, dw, db, dy, x, w, ps);
  if (st != LT_OK) return st;
  Geo g;
  geo_of(c, x, w, &g);
  int64_t kg = g.CG * g.KK;
  if (ps && ((off.weight >= 0 && off.weight + g.O * kg > ps->dim) ||
             (off.bias >= 0 && off.bias + g.O > ps->dim)))
    return LT_ERANGE;
  /* db needs no scratch: done before any carving, and alone when nothing else is wanted. */
  if (db) bias_grad(&g, db->data, dy->data);
  int want_psg = ps && (off.weight >= 0 || off.bias >= 0);
  if (!dx && !dw && !want_psg) return LT_OK;
  size_t per = (size_t)((g.CKK + g.O) * g.L) * g.es, fixed = 0, psg_per = 0;
  if (want_psg) psg_per = nn_conv2d_psg_scratch(c, ps, x, w, off, &fixed);
  size_t mark = s->used;
  /* The Grams' fixed bytes come off the scratch before chunk_of divides the rest into samples. */
  char *gram = fixed ? nn_scratch_take(s, fixed) : NULL;
  int64_t nb = chunk_of(s, per + psg_per, g.B);
  /* An empty batch has nothing to do; Grams that do not fit are LT_ENOMEM like a chunk that does
   * not. */
  if (g.B == 0 || (fixed && !gram)) {
    s->used = mark;
    return g.B == 0 ? LT_OK : LT_ENOMEM;
  }
  if (nb < 1) {
    s->used = mark;
    return LT_ENOMEM;
  }
  char *cols = nn_scratch_take(s, (size_t)(g.CKK * nb * g.L) * g.es);
  char *dyt = nn_scratch_take(s, (size_t)(g.O * nb * g.L) * g.es);
  char *gbuf = want_psg ? nn_scratch_take(s, (size_t)nb * psg_per) : NULL;
  for (int64_t b0 = 0; b0 < g.B && st == LT_OK; b0 += nb) {
    int64_t n = g.B - b0 < nb ? g.B - b0 : nb, nl = n * g.L;
    /* dy gathered channel-major, the layout of the chunk's GEMMs. */
    transpose_chunk(&g, dyt, (char *)dy->data + b0 * g.O * g.L * g.es, n, 1, NULL);
    if (dw || want_psg) im2col(&g, c, (const char *)x->data + b0 * g.C * g.H * g.W * g.es, n, cols);
    if (dw)
      for (int64_t gi = 0; gi < g.G; gi++)
        nn_gemm(g.dt, 0, 1, g.OG, kg, nl, 1.0, dyt + gi * g.OG * nl * g.es, nl,
                cols + gi * kg * nl * g.es, nl, 1.0, (char *)dw->data + gi * g.OG * kg * g.es, kg);
    if (want_psg) psg_chunk(&g, ps, off, dyt, cols, dy->data, b0, n, gbuf, gram);
    /* Order matters: dw and the per-sample pass read this chunk's columns of x before dx
     * overwrites them with dcols (beta = 0). dw accumulates across chunks (beta = 1). */
    if (dx) { /* dcols = W_g^T dyt_g, written over the columns, then folded back */
      for (int64_t gi = 0; gi < g.G; gi++)
        nn_gemm(g.dt, 1, 0, kg, nl, g.OG, 1.0, (const char *)w->data + gi * g.OG * kg * g.es, kg,
                dyt + gi * g.OG * nl * g.es, nl, 0.0, cols + gi * kg * nl * g.es, nl);
      col2im(&g, c, cols, n, (char *)dx->data + b0 * g.C * g.H * g.W * g.es);
    }
    if (lt_interrupt_pending()) st = LT_EINTR;
  }
  s->used = mark;
  return st;
}

/* ---- direct reference ------------------------------------------------------ */

/* Calls fn for every (b, o, oh, ow, ci, i, j) term that reads an input
 * pixel inside the image: the one loop nest both reference kernels share. */
typedef void (*RefTerm)(void *ctx, int64_t yi, int64_t xi, int64_t wi);
/* Seven plain loops in output order, no blocking and no im2col: the reference favours being
 * obviously right; the specs hold the fast kernels to it with a tolerance. */
static void ref_loops(const Geo *g, const NnConv2d *c, RefTerm fn, void *ctx) {
  for (int64_t b = 0; b < g->B; b++)
    for (int64_t o = 0; o < g->O; o++) {
      int64_t gi = o / g->OG;
      for (int64_t oh = 0; oh < g->HO; oh++)
        for (int64_t ow = 0; ow < g->WO; ow++)
          for (int64_t ci = 0; ci < g->CG; ci++)
            for (int64_t i = 0; i < g->KH; i++)
              for (int64_t j = 0; j < g->KW; j++) {
                int64_t ih = oh * c->stride[0] - c->pad[0] + i * c->dil[0];
                int64_t iw = ow * c->stride[1] - c->pad[1] + j * c->dil[1];
                if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) continue;
                int64_t ch = gi * g->CG + ci;
                fn(ctx, ((b * g->O + o) * g->HO + oh) * g->WO + ow,
                   ((b * g->C + ch) * g->H + ih) * g->W + iw,
                   ((o * g->CG + ci) * g->KH + i) * g->KW + j);
              }
    }
}

typedef struct {
  double *y, *dx, *dw;
  const double *x, *w, *dy;
} RefCtx;
static void ref_fwd(void *p, int64_t yi, int64_t xi, int64_t wi) {
  RefCtx *r = p;
  r->y[yi] += r->x[xi] * r->w[wi];
}
static void ref_bwd(void *p, int64_t yi, int64_t xi, int64_t wi) {
  RefCtx *r = p;
  if (r->dx) r->dx[xi] += r->dy[yi] * r->w[wi];
  if (r->dw) r->dw[wi] += r->dy[yi] * r->x[xi];
}

LtStatus nn_conv2d_forward_ref(const NnConv2d *c, Tensor *y, const Tensor *x, const Tensor *w,
                               const Tensor *b) {
  LtStatus st = nn_conv2d_check(c, x, w, b, y);
  if (st != LT_OK) return st;
  if (x->dtype != LT_F64) return LT_EDTYPE;
  Geo g;
  geo_of(c, x, w, &g);
  double *yd = y->data;
  /* y starts as the bias broadcast over pixels: (i / L) % O is entry i's channel. */
  for (int64_t i = 0; i < lt_numel(y); i++)
    yd[i] = b ? ((const double *)b->data)[(i / g.L) % g.O] : 0.0;
  RefCtx r = {yd, NULL, NULL, x->data, w->data, NULL};
  ref_loops(&g, c, ref_fwd, &r);
  return LT_OK;
}

LtStatus nn_conv2d_backward_ref(const NnConv2d *c, Tensor *dx, Tensor *dw, Tensor *db,
                                const Tensor *dy, const Tensor *x, const Tensor *w) {
  LtStatus st = check_backward(c, dx, dw, db, dy, x, w, NULL);
  if (st != LT_OK) return st;
  if (x->dtype != LT_F64) return LT_EDTYPE;
  Geo g;
  geo_of(c, x, w, &g);
  /* The bias gradient is a plain sum: the reference shares the fast path's. */
  if (db) bias_grad(&g, db->data, dy->data);
  RefCtx r = {NULL, dx ? dx->data : NULL, dw ? dw->data : NULL, x->data, w->data, dy->data};
  ref_loops(&g, c, ref_bwd, &r);
  return LT_OK;
}
