/* sketch.c - Frequent Directions (fast, classic) over a Gram eigensolve; random projections. */
/* Its LAPACKE_, cblas_ calls go through src/lazy.h:
 * LAPACKE and OpenBLAS are loaded on first use. */
#include <cblas.h>
#include <lapacke.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "interrupt.h"
#include "sketch/sketch.h"

int64_t lt_fd_capacity(LtFdVariant v, int64_t ell) { return v == LT_FD_FAST ? 2 * ell : ell; }
/* gram and wmat (cap x cap each), block and out (cap x LT_FD_BLOCK each). */
size_t lt_fd_work_floats(int64_t cap) { return (size_t)(2 * cap * cap + 2 * cap * LT_FD_BLOCK); }
/* dsyevd's workspace sizes for an n x n problem with eigenvectors. */
static int64_t eig_lwork(int64_t n) { return 1 + 6 * n + 2 * n * n; }
static int64_t eig_liwork(int64_t n) { return 3 + 5 * n; }
/* dgram, eig, then dsyevd's workspace (its integers in as many doubles, ample). */
size_t lt_fd_work_doubles(int64_t cap) {
  return (size_t)(cap * cap + cap + eig_lwork(cap) + eig_liwork(cap));
}

void lt_fd_work_init(LtFdWork *w, int64_t cap, float *floats, double *doubles) {
  w->gram = floats;
  w->wmat = floats + cap * cap;
  w->block = floats + 2 * cap * cap;
  w->out = w->block + cap * LT_FD_BLOCK;
  w->dgram = doubles;
  w->eig = doubles + cap * cap;
  w->lwork = w->eig + cap;
  w->liwork = w->lwork + eig_lwork(cap);
}

void lt_fd_init(LtFd *fd, LtFdVariant v, int64_t ell, int64_t dim, LtDtype store, void *buf) {
  memset(fd, 0, sizeof *fd);
  fd->ell = ell;
  fd->dim = dim;
  fd->cap = lt_fd_capacity(v, ell);
  fd->variant = v;
  fd->store = store;
  fd->buf = buf;
}

/* ---- buffer access: float32 in, storage dtype out ------------------------- */

static char *row_ptr(const LtFd *fd, int64_t r) {
  return (char *)fd->buf + (size_t)(r * fd->dim) * lt_dtype_size(fd->store);
}

/* Columns [c0, c0+bw) of buffer row r as float32. */
static void load_row(const LtFd *fd, int64_t r, int64_t c0, int64_t bw, float *dst) {
  const char *src = row_ptr(fd, r);
  if (fd->store == LT_F32)
    memcpy(dst, (const float *)src + c0, (size_t)bw * sizeof(float));
  else if (fd->store == LT_F16)
    for (int64_t c = 0; c < bw; c++) dst[c] = lt_f16_to_f32(((const uint16_t *)src)[c0 + c]);
  else
    for (int64_t c = 0; c < bw; c++) dst[c] = lt_bf16_to_f32(((const uint16_t *)src)[c0 + c]);
}

/* Columns [c0, c0+bw) of buffer rows 0..n-1 as a dense n x bw block. */
static void load_block(const LtFd *fd, int64_t n, int64_t c0, int64_t bw, float *block) {
  for (int64_t r = 0; r < n; r++) load_row(fd, r, c0, bw, block + r * bw);
}

static void store_row(const LtFd *fd, int64_t r, int64_t c0, const float *v, int64_t bw) {
  char *dst = row_ptr(fd, r);
  if (fd->store == LT_F32)
    memcpy((float *)dst + c0, v, (size_t)bw * sizeof(float));
  else if (fd->store == LT_F16)
    for (int64_t c = 0; c < bw; c++) ((uint16_t *)dst)[c0 + c] = lt_f32_to_f16(v[c]);
  else
    for (int64_t c = 0; c < bw; c++) ((uint16_t *)dst)[c0 + c] = lt_f32_to_bf16(v[c]);
}

/* ---- rounding: what error_bound() adds to the shrinkage ---------------------

   In exact arithmetic FD gives 0 <= A^T A - B^T B <= (sum of shrinkages) I.
   lunette stores B in float32/float16/bfloat16 and computes in float32, so
   fd->rounding accumulates a rigorous bound on everything rounding adds; the
   reported bound is delta + rounding. With x~ the stored copy of input row x,
   Q the stored buffer before a compression and R~ the stored one after,

     A^T A - B^T B = sum_rows (x x^T - x~ x~^T) + sum_compressions (Q^T Q - R~^T R~)

   (B^T B is the sum of what was stored minus what each compression took), so
   it suffices to bound every term.

   Storing a row: with e = x - x~, x x^T - x~ x~^T = x e^T + e x^T - e e^T, so
   its norm is at most 2 ||x|| ||e|| + ||e||^2. e is measured, not assumed: both
   x and x~ are exact in float64 and their difference is too (Sterbenz: x~ is
   within a factor 2 of x, or 0), so rows the storage holds exactly cost 0.

   A compression computes G~ = fl32(Q Q^T), eigenpairs of G~ in float64, the
   float32 matrix W~ (rows c_j u_j^T, c_j^2 = (l_j - delta) / l_j), R = fl32(W~ Q),
   then stores R~. Write u = 2^-24, g_m = m u / (1 - m u), T = ||Q||_F^2, and
   p(n) = 100 n for LAPACK's backward error (its guide leaves the "modestly
   growing function" unquantified; this term is ~1e-9 of the float32 ones).
   - Dot products of length m in any order, FMA or not: |fl - exact| <= g_m
     sum |terms| (Higham, Accuracy and Stability, 3.1), plus m 2^-149 if they
     underflow. So ||G~ - Q Q^T|| <= || g_d |Q||Q|^T || <= g_d T (+ n d 2^-149),
     and T <= trace(G~) / (1 - g_d).
   - dsyevd is backward stable: the computed eigenvalues l_j are exact for
     G' = G~ + dG, ||dG|| <= p(n) 2^-53 ||G~||, with eigenvectors U within
     p(n) 2^-53 of orthonormal. Let eG bound ||G' - Q Q^T||, S = l_max + eG
     (>= ||Q||_2^2), W = diag(c) U^T the exact W.
   - Q^T (I - W^T W) Q = X^T X with X = D^1/2 U^T Q, D = diag(1 - c_j^2); its
     eigenvalues are those of X X^T = D^1/2 (Lambda - U^T (G' - Q Q^T) U) D^1/2,
     so they lie in [0, delta + tiny + eG]: D Lambda is delta for kept pairs and
     l_j <= delta + tiny for dropped ones (build_w drops l_j - delta <= tiny).
   - W~ = W + dW with ||dW|| <= w := ||W~ - fl64(c U^T)||_F (measured) +
     2^-53 (p(n) + 5 + 2 ||W~||_F); the change Q^T (W^T W - W~^T W~) Q has norm
     <= S (2 w + w^2) since ||W|| <= 1.
   - R = W~ Q + P, ||P|| <= g_n ||W~||_F sqrt(T) (+ sqrt(k d) n 2^-149), which
     changes the Gram by at most 2 (1 + w) sqrt(S) ||P|| + ||P||^2.
   - R~ = R + E with ||E||_F measured as for rows; with r = (1 + w) sqrt(S) +
     ||P|| >= ||R||_2 that costs at most 2 r ||E||_F + ||E||_F^2.
   Summing, -rho I <= Q^T Q - R~^T R~ <= (delta + rho) I, rho the sum of all
   the terms above, so ||A^T A - B^T B||_2 <= delta_total + rounding. Float64
   sums get a relative 2 m 2^-53 margin and the total 1e-13. The terms grow
   with the number of compressions (classic: one per row once full) and with
   dim (g_d; infinite once dim >= 2^24): rigorous, not tight; with float16 or
   bfloat16 storage and a long stream they can exceed ||A||_2^2, where the
   bound says nothing. */

#define FD_U32     0x1p-24   /* float32 unit roundoff */
#define FD_U64     0x1p-53   /* float64 unit roundoff */
#define FD_UNDER   0x1p-149  /* absolute error of a float32 operation that underflows */
#define FD_UNDER64 0x1p-1022 /* what a float64 square below the normal range can lose */

/* g_m = m u / (1 - m u), infinite once m u >= 1. */
static double gamma_m(double m, double u) { return m * u < 1 ? m * u / (1 - m * u) : INFINITY; }

/* A float64 sum of m non-negative terms, raised by its worst rounding. */
static double sum_up(double s, double m) { return s * (1 + 2 * m * FD_U64); }

/* What one compression measured and computed, for compress_rounding. */
typedef struct {
  int64_t n, keep;    /* rows before and after */
  double trace;       /* sum of the float32 Gram's diagonal (float64 sum) */
  double lmax, tiny;  /* largest eigenvalue (clamped at 0), build_w's threshold */
  double wf2, theta2; /* ||W~||_F^2 and ||W~ - fl64(c U^T)||_F^2 */
  double e2;          /* ||R~ - R||_F^2 (0 for float32 storage) */
} FdCompressErr;

/* The terms of the derivation above that come before the product is
 * stored: eG, S, w, ||P|| and r >= ||R||_2 (all infinite once dim u >= 1). */
typedef struct {
  double eG, S, w, P, r;
} FdProductBound;

static FdProductBound product_bound(const LtFd *fd, const FdCompressErr *c) {
  double n = (double)c->n, k = (double)c->keep, d = (double)fd->dim;
  double gd = gamma_m(d, FD_U32), pn = 100 * n;
  FdProductBound b = {INFINITY, INFINITY, INFINITY, INFINITY, INFINITY};
  if (!isfinite(gd) || gd >= 1) return b;
  double T = sum_up(c->trace + n * d * FD_UNDER, n) / (1 - gd);
  double wf = sqrt(sum_up(c->wf2, k * n)), theta = sqrt(sum_up(c->theta2, k * n));
  b.eG = gd * T + n * d * FD_UNDER + pn * FD_U64 * ((1 + gd) * T + n * d * FD_UNDER);
  b.S = c->lmax + b.eG;
  b.w = theta + FD_U64 * (pn + 5 + 2 * wf);
  b.P = gamma_m(n, FD_U32) * wf * sqrt(T) + sqrt(k * d) * n * FD_UNDER;
  b.r = (1 + b.w) * sqrt(b.S) + b.P;
  return b;
}

/* rho of the derivation above for one compression. */
static double compress_rounding(const FdProductBound *b, const FdCompressErr *c, double d) {
  double e = sqrt(sum_up(c->e2, (double)c->keep * d)), sS = sqrt(b->S);
  double rho = c->tiny + b->eG + b->S * (2 * b->w + b->w * b->w);
  rho += 2 * (1 + b->w) * sS * b->P + b->P * b->P;
  rho += 2 * b->r * e + e * e;
  return rho * (1 + 1e-13);
}

/* The smallest magnitude a float16/bfloat16 store rounds to infinity. */
static double storage_limit(LtDtype store) { return store == LT_F16 ? 65520.0 : 0x1.ffp127; }

/* ---- compression ------------------------------------------------------------ */

typedef enum { SHRINK_FAST, SHRINK_CLASSIC, SHRINK_FINAL } ShrinkMode;

/* Columns [c0, c0+bw) of buffer rows 0..n-1 as a matrix for BLAS, with its
 * leading dimension in *ld: the buffer itself when it is float32 (no copy),
 * else those columns converted into w->block. */
static const float *block_of(const LtFd *fd, LtFdWork *w, int64_t n, int64_t c0, int64_t bw,
                             int *ld) {
  if (fd->store == LT_F32) {
    *ld = (int)fd->dim;
    return (const float *)fd->buf + c0;
  }
  load_block(fd, n, c0, bw, w->block);
  *ld = (int)bw;
  return w->block;
}

/* Gram = Buf Buf^T over the n filled rows, accumulated by column blocks: a float16/bfloat16
 * buffer converts LT_FD_BLOCK columns at a time, so the workspace is cap x 2048 floats whatever
 * dim is. beta = 0 on the first block starts the sum. */
static void gram(const LtFd *fd, LtFdWork *w, int64_t n) {
  for (int64_t c0 = 0; c0 < fd->dim; c0 += LT_FD_BLOCK) {
    int64_t bw = fd->dim - c0 < LT_FD_BLOCK ? fd->dim - c0 : LT_FD_BLOCK;
    int ld;
    const float *a = block_of(fd, w, n, c0, bw, &ld);
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)bw, 1.0f, a, ld,
                c0 == 0 ? 0.0f : 1.0f, w->gram, (int)n);
  }
}

/* The shrinkage for this mode, from eigenvalues in ascending order. fast: the ell-th largest
 * (GLPW 2016), which leaves at most ell - 1 rows, so at least half the buffer is free again;
 * classic: the smallest of the ell rows (Liberty 2013); final: the (ell+1)-th largest, so that
 * ell rows survive. */
static double pick_delta(const LtFd *fd, const double *eig, int64_t n, ShrinkMode mode) {
  switch (mode) {
  case SHRINK_FAST: return n >= fd->ell ? eig[n - fd->ell] : 0;
  case SHRINK_CLASSIC: return eig[0];
  default: return n > fd->ell ? eig[n - fd->ell - 1] : 0;
  }
}

/* Builds W (keep x n): row k = sqrt((l_j - delta) / l_j) u_j^T for the
 * eigenpairs above delta + tiny, largest first. Returns keep; records tiny,
 * ||W~||_F^2 and what rounding W to float32 changed (exact in float64). */
static int64_t build_w(LtFdWork *w, int64_t n, double delta, FdCompressErr *ce) {
  double top = n > 0 ? w->eig[n - 1] : 0, tiny = 1e-12 * (top > 0 ? top : 0);
  int64_t keep = 0;
  ce->tiny = tiny;
  /* Largest first, so kept rows come out in decreasing singular value. A pair at most tiny above
   * delta would keep a row of (almost) nothing, and l <= 0 would divide by zero: both are
   * dropped. */
  for (int64_t j = n - 1; j >= 0; j--) {
    double l = w->eig[j];
    if (!(l - delta > tiny) || l <= 0) continue;
    double c = sqrt((l - delta) / l);
    for (int64_t i = 0; i < n; i++) {
      double v = c * w->dgram[j * n + i];
      float f = (float)v;
      w->wmat[keep * n + i] = f;
      ce->wf2 += (double)f * f;
      ce->theta2 += ((double)f - v) * ((double)f - v);
    }
    keep++;
  }
  return keep;
}

/* Squared distance between float32 values and what storage kept of them (the
 * buffer's columns [c0, c0+bw) of row r), exact per element in float64. */
static double store_err2(const LtFd *fd, int64_t r, int64_t c0, const float *v, int64_t bw,
                         float *back) {
  double s = 0;
  load_row(fd, r, c0, bw, back);
  for (int64_t c = 0; c < bw; c++) {
    double e = (double)v[c] - (double)back[c];
    s += e * e;
  }
  return s;
}

/* Replaces the n buffer rows by W Buf (keep rows), zeroing the rest. Each
 * column block is read whole by the product before any of it is written, so
 * w->block is free again for reading the stored rows back (the storage
 * rounding goes into ce->e2; float32 storage keeps the product exactly). */
static void apply_w(LtFd *fd, LtFdWork *w, int64_t n, int64_t keep, FdCompressErr *ce) {
  size_t es = lt_dtype_size(fd->store);
  for (int64_t c0 = 0; c0 < fd->dim; c0 += LT_FD_BLOCK) {
    int64_t bw = fd->dim - c0 < LT_FD_BLOCK ? fd->dim - c0 : LT_FD_BLOCK;
    if (keep > 0) {
      int ld;
      const float *a = block_of(fd, w, n, c0, bw, &ld);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)keep, (int)bw, (int)n, 1.0f,
                  w->wmat, (int)n, a, ld, 0.0f, w->out, (int)bw);
    }
    for (int64_t r = 0; r < n; r++) {
      if (r >= keep) {
        memset(row_ptr(fd, r) + (size_t)c0 * es, 0, (size_t)bw * es);
        continue;
      }
      store_row(fd, r, c0, w->out + r * bw, bw);
      if (fd->store != LT_F32) ce->e2 += store_err2(fd, r, c0, w->out + r * bw, bw, w->block);
    }
  }
}

/* One compression: Gram, eigensolve, shrink, product. It fails (LT_ERANGE, LT_ELAPACK) before
 * anything is changed; LT_EINTR comes after a complete one. */
static LtStatus compress(LtFd *fd, LtFdWork *w, ShrinkMode mode) {
  int64_t n = fd->filled;
  FdCompressErr ce = {.n = n};
  if (n == 0) return LT_OK;
  gram(fd, w, n);
  /* The Gram is widened to float64 for the eigensolve, which resolves small eigenvalues float32
   * would blur; the trace feeds the rounding bound's T. */
  int finite = 1;
  for (int64_t i = 0; i < n; i++) {
    ce.trace += w->gram[i * n + i];
    for (int64_t j = 0; j < n; j++) {
      float g = j >= i ? w->gram[i * n + j] : w->gram[j * n + i];
      finite &= isfinite(g) != 0;
      w->dgram[i * n + j] = g;
    }
  }
  /* Finite rows whose squared norms pass float32's range: nothing is changed,
   * the buffer stays as it is (a full one is retried by every later add). */
  if (!finite) return LT_ERANGE;
  /* dgram is symmetric, so it is its own column-major copy: no transposes, and
   * the workspace is the caller's. Eigenvector j comes back in row j. */
  if (LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'U', (lapack_int)n, w->dgram, (lapack_int)n,
                          w->eig, w->lwork, (lapack_int)eig_lwork(n), (lapack_int *)w->liwork,
                          (lapack_int)eig_liwork(n)) != 0)
    return LT_ELAPACK;
  for (int64_t i = 0; i < n; i++)
    if (w->eig[i] < 0) w->eig[i] = 0; /* rounding */
  ce.lmax = w->eig[n - 1];
  double delta = pick_delta(fd, w->eig, n, mode);
  ce.keep = build_w(w, n, delta, &ce);
  FdProductBound b = product_bound(fd, &ce);
  /* Every entry of the new rows is at most ||R||_2 <= r: refuse, with nothing
   * changed, a compression whose rows the storage dtype might not hold. */
  if (fd->store != LT_F32 && !(b.r < storage_limit(fd->store))) return LT_ERANGE;
  apply_w(fd, w, n, ce.keep, &ce);
  fd->filled = ce.keep;
  fd->delta += delta;
  fd->rounding += compress_rounding(&b, &ce, (double)fd->dim);
  /* Polled after the compression has finished: the sketch is consistent, and the caller stops
   * adding rows. */
  return lt_interrupt_pending() ? LT_EINTR : LT_OK;
}

/* ---- adding rows ------------------------------------------------------------ */

/* The smallest float32 magnitude, as bits, that storing in dtype rounds to
 * infinity (float16: 65520; bfloat16: 0x7f7f8000, about 3.396e38). */
static uint32_t overflow_bits(LtDtype store) {
  switch (store) {
  case LT_F16: return 0x477ff000u;
  case LT_BF16: return 0x7f7f8000u;
  default: return 0x7f800000u;
  }
}

/* The largest |x| of x[0..d) as float32 bits (NaN and Inf above 0x7f800000
 * - 1); an integer max-reduction, so the compiler vectorises it. */
static uint32_t f32_max_bits(const float *x, int64_t d) {
  uint32_t m = 0;
  for (int64_t c = 0; c < d; c++) {
    uint32_t u;
    memcpy(&u, x + c, sizeof u);
    u &= 0x7fffffffu;
    m = u > m ? u : m;
  }
  return m;
}

/* The same for one value of any float dtype: finite values that float32
 * cannot hold count as out of range (0x7f800000), NaN/Inf above that. */
static uint32_t value_bits(double v) {
  if (!isfinite(v)) return 0xffffffffu;
  if (fabs(v) > FLT_MAX) return 0x7f800000u;
  float f = (float)v;
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u & 0x7fffffffu;
}

/* LT_EVALUE when a row holds NaN/Inf, LT_ERANGE when a value would not be
 * finite once stored (float32 conversion, then the storage dtype). */
LtStatus lt_fd_rows_check(LtDtype store, const Tensor *rows) {
  /* One max over float bit patterns: for non-negative floats the integer order is the numeric
   * order, so the largest |x| and any NaN/Inf (above 0x7f800000) come out of the same scan. */
  int64_t n = rows->shape[0], d = rows->shape[1];
  size_t es = lt_dtype_size(rows->dtype);
  uint32_t m = 0;
  for (int64_t r = 0; r < n; r++) {
    const char *base = (const char *)rows->data + (size_t)(r * rows->stride[0]) * es;
    uint32_t rm = 0;
    if (rows->dtype == LT_F32 && rows->stride[1] == 1)
      rm = f32_max_bits((const float *)base, d);
    else
      for (int64_t c = 0; c < d; c++) {
        uint32_t u = value_bits(lt_get_f64(base + (size_t)(c * rows->stride[1]) * es, rows->dtype));
        rm = u > rm ? u : rm;
      }
    m = rm > m ? rm : m;
  }
  /* Exactly 0x7f800000 is Inf in float32 input; from other dtypes it is value_bits' code for
   * finite but beyond float32 (LT_ERANGE). */
  if (m > 0x7f800000u || (m == 0x7f800000u && rows->dtype == LT_F32)) return LT_EVALUE;
  return m >= overflow_bits(store) ? LT_ERANGE : LT_OK;
}

/* Sum of squares of x[0..n) in float64 (eight running sums, so it pipelines). */
static double sumsq_f32(const float *x, int64_t n) {
  double a[8] = {0}, s = 0;
  int64_t c = 0;
  for (; c + 8 <= n; c += 8)
    for (int k = 0; k < 8; k++) a[k] += (double)x[c + k] * x[c + k];
  for (; c < n; c++) s += (double)x[c] * x[c];
  for (int k = 0; k < 8; k++) s += a[k];
  return s;
}

/* Whether storing a row of dtype dt in the sketch can round: never from the
 * storage dtype itself, nor into float32 from float16/bfloat16/float32. */
static int store_exact(const LtFd *fd, LtDtype dt) {
  return dt == fd->store || (fd->store == LT_F32 && dt != LT_F64);
}

/* ||x x^T - x~ x~^T||_2 <= 2 ||x|| ||e|| + ||e||^2 for input row r of rows
 * (x, exact in float64) and its stored copy in slot (x~, e = x - x~). */
static double row_rounding(const LtFd *fd, const Tensor *rows, int64_t r, int64_t slot) {
  float back[LT_FD_BLOCK];
  size_t es = lt_dtype_size(rows->dtype);
  const char *base = (const char *)rows->data + (size_t)(r * rows->stride[0]) * es;
  double x2 = 0, e2 = 0, d = (double)fd->dim;
  for (int64_t c0 = 0; c0 < fd->dim; c0 += LT_FD_BLOCK) {
    int64_t bw = fd->dim - c0 < LT_FD_BLOCK ? fd->dim - c0 : LT_FD_BLOCK;
    load_row(fd, slot, c0, bw, back);
    for (int64_t c = 0; c < bw; c++) {
      double x = lt_get_f64(base + (size_t)((c0 + c) * rows->stride[1]) * es, rows->dtype);
      double e = x - (double)back[c];
      x2 += x * x;
      e2 += e * e;
    }
  }
  double nx = sqrt(sum_up(x2, d) + d * FD_UNDER64), ne = sqrt(sum_up(e2, d) + d * FD_UNDER64);
  return (2 * nx * ne + ne * ne) * (1 + 1e-13);
}

/* Copies input row r into buffer slot `slot`; returns its squared norm (of
 * the float32 row) and adds what storing it rounded to *rounding. */
static double put_row(LtFd *fd, const Tensor *rows, int64_t r, int64_t slot, double *rounding) {
  /* A block at a time like the workspace: rows of any dim with 8 KB of stack. */
  float tmp[LT_FD_BLOCK];
  size_t es = lt_dtype_size(rows->dtype);
  const char *base = (const char *)rows->data + (size_t)(r * rows->stride[0]) * es;
  double sq = 0;
  for (int64_t c0 = 0; c0 < fd->dim; c0 += LT_FD_BLOCK) {
    int64_t bw = fd->dim - c0 < LT_FD_BLOCK ? fd->dim - c0 : LT_FD_BLOCK;
    if (rows->dtype == LT_F32 && rows->stride[1] == 1)
      memcpy(tmp, (const float *)base + c0, (size_t)bw * 4);
    else
      for (int64_t c = 0; c < bw; c++)
        tmp[c] = (float)lt_get_f64(base + (size_t)((c0 + c) * rows->stride[1]) * es, rows->dtype);
    sq += sumsq_f32(tmp, bw);
    store_row(fd, slot, c0, tmp, bw);
  }
  if (!store_exact(fd, rows->dtype)) *rounding += row_rounding(fd, rows, r, slot);
  return sq;
}

LtStatus lt_fd_add(LtFd *fd, LtFdWork *w, const Tensor *rows) {
  ShrinkMode mode = fd->variant == LT_FD_FAST ? SHRINK_FAST : SHRINK_CLASSIC;
  LtStatus st = LT_OK;
  if (rows->ndim != 2 || rows->shape[1] != fd->dim) return LT_ESHAPE;
  /* A compression that failed (interrupt, overflow) left the buffer full:
   * retry it before a row could go past the end. */
  if (fd->filled == fd->cap && (st = compress(fd, w, mode)) != LT_OK) return st;
  /* Every row is checked before the first goes in: refused rows leave the sketch unchanged. */
  if ((st = lt_fd_rows_check(fd->store, rows)) != LT_OK) return st;
  for (int64_t r = 0; r < rows->shape[0]; r++) {
    fd->sq_frob += put_row(fd, rows, r, fd->filled++, &fd->rounding);
    fd->rows_seen++;
    if (fd->filled == fd->cap && (st = compress(fd, w, mode)) != LT_OK) return st;
  }
  return LT_OK;
}

LtStatus lt_fd_merge(LtFd *fd, LtFdWork *w, const LtFd *other) {
  if (other->dim != fd->dim) return LT_ESHAPE;
  /* other's buffer as rows; fd == other would read the buffer it writes (the binding refuses
   * it). */
  Tensor rows = {other->buf, other->store, LT_CPU, 2, {other->filled, other->dim},
                 {other->dim, 1}, 0};
  /* lt_fd_add counts other's buffered rows as seen and their norms; the true counts are both
   * streams'. The bounds add: FD sketches are mergeable (Agarwal et al. 2012), the merged error
   * at most the sum of the parts'. */
  int64_t seen = fd->rows_seen + other->rows_seen;
  double frob = fd->sq_frob + other->sq_frob;
  LtStatus st = lt_fd_add(fd, w, &rows);
  if (st != LT_OK) return st;
  fd->rows_seen = seen;
  fd->sq_frob = frob;
  fd->delta += other->delta;
  fd->rounding += other->rounding;
  return LT_OK;
}

double lt_fd_error_bound(const LtFd *fd) { return fd->delta + fd->rounding; }

LtStatus lt_fd_finalize(LtFd *fd, LtFdWork *w, Tensor *out) {
  /* Rows past the kept ones (rank < ell) stay zero in out. */
  LtStatus st = compress(fd, w, SHRINK_FINAL);
  if (st != LT_OK) return st;
  float *o = out->data;
  memset(o, 0, (size_t)(fd->ell * fd->dim) * sizeof(float));
  for (int64_t r = 0; r < fd->filled && r < fd->ell; r++)
    load_row(fd, r, 0, fd->dim, o + r * fd->dim);
  return LT_OK;
}

/* ---- saved states ------------------------------------------------------------- */

/* Formats msg (n bytes) and returns LT_EVALUE, so checks read
 * `return state_fail(msg, n, "...")`. */
__attribute__((format(printf, 3, 4))) static LtStatus state_fail(char *msg, size_t n,
                                                                 const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, n, fmt, ap);
  va_end(ap);
  return LT_EVALUE;
}

/* The sizes of a state: variant, store, ell, dim, the buffer, filled, rows_seen. */
static LtStatus state_sizes(const LtFdState *s, char *msg, size_t n) {
  if (s->variant != LT_FD_FAST && s->variant != LT_FD_CLASSIC)
    return state_fail(msg, n, "variant must be 'fast' or 'classic'");
  if (s->store != LT_F32 && s->store != LT_F16 && s->store != LT_BF16)
    return state_fail(msg, n, "dtype must be float32, float16 or bfloat16");
  if (s->dim < 2) return state_fail(msg, n, "dim must be at least 2, got %lld", (long long)s->dim);
  if (s->ell < 1 || s->ell >= s->dim || s->ell > LT_FD_MAX_ELL)
    return state_fail(msg, n, "ell must be in 1..%lld, got %lld",
                      (long long)(s->dim - 1 < LT_FD_MAX_ELL ? s->dim - 1 : LT_FD_MAX_ELL),
                      (long long)s->ell);
  int64_t cap = lt_fd_capacity((LtFdVariant)s->variant, s->ell);
  /* By division, not multiplication, so a huge dim cannot overflow the test; 4 bytes per entry
   * bounds every storage dtype. */
  if ((uint64_t)s->dim > LT_FD_MAX_BYTES / 4 / (uint64_t)cap)
    return state_fail(msg, n, "dim %lld makes a buffer beyond the tensor size limit",
                      (long long)s->dim);
  if (s->filled < 0 || s->filled >= cap)
    return state_fail(msg, n, "filled must be in 0..%lld, got %lld", (long long)(cap - 1),
                      (long long)s->filled);
  if (s->rows_seen < s->filled)
    return state_fail(msg, n, "rows_seen must be >= filled (%lld), got %lld", (long long)s->filled,
                      (long long)s->rows_seen);
  return LT_OK;
}

/* delta, rounding and sq_frob: finite, >= 0, and 0 when no row was seen. */
static LtStatus state_sums(const LtFdState *s, char *msg, size_t n) {
  const char *names[3] = {"delta", "rounding", "sq_frob"};
  double v[3] = {s->delta, s->rounding, s->sq_frob};
  for (int i = 0; i < 3; i++) {
    if (!(v[i] >= 0) || !isfinite(v[i]))
      return state_fail(msg, n, "%s must be a finite number >= 0, got %g", names[i], v[i]);
    if (s->rows_seen == 0 && v[i] != 0)
      return state_fail(msg, n, "%s must be 0 when rows_seen is 0, got %g", names[i], v[i]);
  }
  return LT_OK;
}

/* ||rows||_F^2 in float64. */
static double rows_sq(const Tensor *t) {
  size_t es = lt_dtype_size(t->dtype);
  double s = 0;
  for (int64_t r = 0; r < t->shape[0]; r++)
    for (int64_t c = 0; c < t->shape[1]; c++) {
      size_t off = (size_t)(r * t->stride[0] + c * t->stride[1]) * es;
      double v = lt_get_f64((const char *)t->data + off, t->dtype);
      s += v * v;
    }
  return s;
}

/* The rows: shape, dtype, values, and their size against sq_frob. The buffer
 * B of any sketch satisfies B^T B <= A^T A + rounding I (the derivation
 * above), so ||B||_F^2 <= ||A||_F^2 + dim rounding; sq_frob sums float32 rows,
 * whence the 1e-5 margin (float32 and float64 rounding of ||A||_F^2). */
static LtStatus state_rows(const LtFdState *s, char *msg, size_t n) {
  const Tensor *t = s->rows;
  if (t->ndim != 2 || t->shape[0] != s->filled || t->shape[1] != s->dim) {
    char b[96];
    lt_shape_str(t, b, sizeof b);
    return state_fail(msg, n, "rows must be [%lldx%lld] (filled x dim), got %s",
                      (long long)s->filled, (long long)s->dim, b);
  }
  if (!lt_dtype_is_float(t->dtype))
    return state_fail(msg, n, "rows must be a float tensor, got %s", lt_dtype_name(t->dtype));
  LtStatus st = lt_fd_rows_check((LtDtype)s->store, t);
  if (st == LT_EVALUE) return state_fail(msg, n, "rows contain NaN or Inf");
  if (st == LT_ERANGE)
    return state_fail(msg, n, "rows hold values beyond the range of %s storage",
                      lt_dtype_name((LtDtype)s->store));
  double sq = rows_sq(t), room = s->sq_frob * (1 + 1e-5) + (double)s->dim * s->rounding;
  if (sq > room)
    return state_fail(msg, n,
                      "rows have ||rows||_F^2 = %g, more than sq_frob = %g and "
                      "rounding allow",
                      sq, s->sq_frob);
  return LT_OK;
}

LtStatus lt_fd_state_check(const LtFdState *s, char *msg, size_t n) {
  LtStatus st = state_sizes(s, msg, n);
  if (st == LT_OK) st = state_sums(s, msg, n);
  if (st == LT_OK) st = state_rows(s, msg, n);
  return st;
}

void lt_fd_restore(LtFd *fd, const LtFdState *s) {
  double rounding = 0;
  for (int64_t r = 0; r < s->filled; r++) put_row(fd, s->rows, r, r, &rounding);
  fd->filled = s->filled;
  fd->rows_seen = s->rows_seen;
  fd->delta = s->delta;
  fd->sq_frob = s->sq_frob;
  fd->rounding = s->rounding + rounding;
}

/* ---- diagnostics -------------------------------------------------------------- */

/* A float64 copy: the diagnostics measure in double, far below the sketch's own rounding. */
static double *to_f64(const Tensor *t) {
  int64_t n = lt_numel(t);
  double *d = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
  if (!d) return NULL;
  size_t es = lt_dtype_size(t->dtype);
  for (int64_t i = 0; i < n; i++)
    d[i] = lt_get_f64((const char *)t->data + (size_t)i * es, t->dtype);
  return d;
}

/* M v = A^T (A v) - B^T (B v) */
static void apply_m(const double *A, int64_t n, const double *B, int64_t m, int64_t d,
                    const double *v, double *out, double *tmp) {
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)d, 1.0, A, (int)d, v, 1, 0.0, tmp, 1);
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)d, 1.0, A, (int)d, tmp, 1, 0.0, out, 1);
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)d, 1.0, B, (int)d, v, 1, 0.0, tmp, 1);
  cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)d, -1.0, B, (int)d, tmp, 1, 1.0, out, 1);
}

/* ||A^T A - B^T B||_2 exactly, from all the eigenvalues; -1 on failure. */
static double exact_norm(const double *A, int64_t n, const double *B, int64_t m, int64_t d) {
  /* M = A^T A - B^T B in full (d <= 4096: at most 128 MB); eigenvalues only. A symmetric
   * matrix's 2-norm is its largest |eigenvalue|, found at one end of the spectrum. */
  double *M = malloc((size_t)(d * d) * sizeof(double)), *ev = malloc((size_t)d * sizeof(double));
  double r = -1;
  if (M && ev) {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)n, 1.0, A, (int)d, 0.0, M,
                (int)d);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)m, -1.0, B, (int)d, 1.0, M,
                (int)d);
    if (LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'U', (lapack_int)d, M, (lapack_int)d, ev) == 0)
      r = fmax(fabs(ev[0]), fabs(ev[d - 1]));
  }
  free(M);
  free(ev);
  return r;
}

/* Power iteration on M through apply_m, never forming d x d; |v^T M v| is a lower estimate of
 * ||M||_2. A fixed seed gives the same estimate on every run. iters < 1 leaves -1, which the
 * caller reads as a failure. */
static double power_norm(const double *A, int64_t n, const double *B, int64_t m, int64_t d,
                         int iters) {
  int64_t big = n > m ? n : m;
  double *v = malloc((size_t)d * sizeof(double)), *u = malloc((size_t)d * sizeof(double));
  double *tmp = malloc((size_t)(big > 0 ? big : 1) * sizeof(double)), lam = -1;
  if (v && u && tmp) {
    LtRng rng;
    lt_rng_seed(&rng, 12345);
    for (int64_t i = 0; i < d; i++) v[i] = lt_rng_normal(&rng);
    double nv = cblas_dnrm2((int)d, v, 1);
    cblas_dscal((int)d, 1 / nv, v, 1);
    for (int it = 0; it < iters; it++) {
      apply_m(A, n, B, m, d, v, u, tmp);
      lam = fabs(cblas_ddot((int)d, v, 1, u, 1));
      double nu = cblas_dnrm2((int)d, u, 1);
      if (nu == 0) break;
      for (int64_t i = 0; i < d; i++) v[i] = u[i] / nu;
    }
  }
  free(v);
  free(u);
  free(tmp);
  return lam;
}

double lt_fd_cov_error(const Tensor *A, const Tensor *B, int iters) {
  int64_t n = A->shape[0], m = B->shape[0], d = A->shape[1];
  double *a = to_f64(A), *b = to_f64(B), r = -1;
  if (a && b) r = d <= 4096 ? exact_norm(a, n, b, m, d) : power_norm(a, n, b, m, d, iters);
  free(a);
  free(b);
  return r;
}

/* ---- random projections --------------------------------------------------------- */

void lt_proj_gaussian(Tensor *out, LtRng *rng) {
  int64_t n = lt_numel(out);
  /* Variance 1/ell: E[P^T P] = I, so squared norms are preserved in expectation. */
  float s = (float)(1.0 / sqrt((double)out->shape[0]));
  for (int64_t i = 0; i < n; i++) ((float *)out->data)[i] = (float)lt_rng_normal(rng) * s;
}

void lt_proj_sparse_sign(Tensor *out, LtRng *rng) {
  int64_t n = lt_numel(out);
  /* Nonzero with probability 1/3, at sqrt(3/ell): variance 1/ell, as the Gaussian's (Achlioptas
   * 2003). */
  float s = (float)sqrt(3.0 / (double)out->shape[0]);
  for (int64_t i = 0; i < n; i++) {
    uint64_t k = lt_rng_below(rng, 6);
    ((float *)out->data)[i] = k == 0 ? s : k == 1 ? -s : 0.0f;
  }
}

void lt_proj_countsketch(Tensor *out, LtRng *rng) {
  int64_t ell = out->shape[0], d = out->shape[1];
  /* One nonzero per column (Clarkson and Woodruff 2013): applying it costs one add per input
   * entry. The sign is the top bit of a draw. */
  memset(out->data, 0, (size_t)(ell * d) * sizeof(float));
  for (int64_t c = 0; c < d; c++) {
    int64_t r = (int64_t)lt_rng_below(rng, (uint64_t)ell);
    ((float *)out->data)[r * d + c] = (lt_rng_next(rng) >> 63) ? 1.0f : -1.0f;
  }
}
