/* sketch.c - Frequent Directions (fast and classic) over a Gram-matrix eigensolve, random projections. */
/* Its LAPACKE_, cblas_ calls go through src/lazy.h:
 * LAPACKE and OpenBLAS are loaded on first use. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "interrupt.h"
#include "sketch/sketch.h"

int64_t lt_fd_capacity(LtFdVariant v, int64_t ell) { return v == LT_FD_FAST ? 2 * ell : ell; }
size_t lt_fd_work_floats(int64_t cap) { return (size_t)(2 * cap * cap + 2 * cap * LT_FD_BLOCK); }
/* dsyevd's workspace sizes for an n x n problem with eigenvectors. */
static int64_t eig_lwork(int64_t n) { return 1 + 6 * n + 2 * n * n; }
static int64_t eig_liwork(int64_t n) { return 3 + 5 * n; }
/* dgram, eig, then dsyevd's workspace (its integers in as many doubles, ample). */
size_t lt_fd_work_doubles(int64_t cap) { return (size_t)(cap * cap + cap + eig_lwork(cap) + eig_liwork(cap)); }

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
  if (fd->store == LT_F32) memcpy(dst, (const float *)src + c0, (size_t)bw * sizeof(float));
  else if (fd->store == LT_F16) for (int64_t c = 0; c < bw; c++) dst[c] = lt_f16_to_f32(((const uint16_t *)src)[c0 + c]);
  else for (int64_t c = 0; c < bw; c++) dst[c] = lt_bf16_to_f32(((const uint16_t *)src)[c0 + c]);
}

/* Columns [c0, c0+bw) of buffer rows 0..n-1 as a dense n x bw block. */
static void load_block(const LtFd *fd, int64_t n, int64_t c0, int64_t bw, float *block) {
  for (int64_t r = 0; r < n; r++) load_row(fd, r, c0, bw, block + r * bw);
}

static void store_row(const LtFd *fd, int64_t r, int64_t c0, const float *v, int64_t bw) {
  char *dst = row_ptr(fd, r);
  if (fd->store == LT_F32) memcpy((float *)dst + c0, v, (size_t)bw * sizeof(float));
  else if (fd->store == LT_F16) for (int64_t c = 0; c < bw; c++) ((uint16_t *)dst)[c0 + c] = lt_f32_to_f16(v[c]);
  else for (int64_t c = 0; c < bw; c++) ((uint16_t *)dst)[c0 + c] = lt_f32_to_bf16(v[c]);
}

/* ---- compression ------------------------------------------------------------ */

typedef enum { SHRINK_FAST, SHRINK_CLASSIC, SHRINK_FINAL } ShrinkMode;

/* Columns [c0, c0+bw) of buffer rows 0..n-1 as a matrix for BLAS, with its
 * leading dimension in *ld: the buffer itself when it is float32 (no copy),
 * else those columns converted into w->block. */
static const float *block_of(const LtFd *fd, LtFdWork *w, int64_t n, int64_t c0, int64_t bw, int *ld) {
  if (fd->store == LT_F32) {
    *ld = (int)fd->dim;
    return (const float *)fd->buf + c0;
  }
  load_block(fd, n, c0, bw, w->block);
  *ld = (int)bw;
  return w->block;
}

/* Gram = Buf Buf^T over the n filled rows, accumulated by column blocks. */
static void gram(const LtFd *fd, LtFdWork *w, int64_t n) {
  for (int64_t c0 = 0; c0 < fd->dim; c0 += LT_FD_BLOCK) {
    int64_t bw = fd->dim - c0 < LT_FD_BLOCK ? fd->dim - c0 : LT_FD_BLOCK;
    int ld;
    const float *a = block_of(fd, w, n, c0, bw, &ld);
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)bw, 1.0f, a, ld,
                c0 == 0 ? 0.0f : 1.0f, w->gram, (int)n);
  }
}

/* The shrinkage for this mode, from eigenvalues in ascending order. */
static double pick_delta(const LtFd *fd, const double *eig, int64_t n, ShrinkMode mode) {
  switch (mode) {
  case SHRINK_FAST: return n >= fd->ell ? eig[n - fd->ell] : 0;
  case SHRINK_CLASSIC: return eig[0];
  default: return n > fd->ell ? eig[n - fd->ell - 1] : 0;
  }
}

/* Builds W (keep x n): row k = sqrt((l_j - delta) / l_j) u_j^T for the
 * eigenpairs above delta, largest first. Returns keep. */
static int64_t build_w(LtFdWork *w, int64_t n, double delta) {
  double top = n > 0 ? w->eig[n - 1] : 0, tiny = 1e-12 * (top > 0 ? top : 0);
  int64_t keep = 0;
  for (int64_t j = n - 1; j >= 0; j--) {
    double l = w->eig[j];
    if (!(l - delta > tiny) || l <= 0) continue;
    double c = sqrt((l - delta) / l);
    for (int64_t i = 0; i < n; i++) w->wmat[keep * n + i] = (float)(c * w->dgram[j * n + i]);
    keep++;
  }
  return keep;
}

/* Replaces the n buffer rows by W Buf (keep rows), zeroing the rest. Each
 * column block is read whole by the product before any of it is written. */
static void apply_w(LtFd *fd, LtFdWork *w, int64_t n, int64_t keep) {
  for (int64_t c0 = 0; c0 < fd->dim; c0 += LT_FD_BLOCK) {
    int64_t bw = fd->dim - c0 < LT_FD_BLOCK ? fd->dim - c0 : LT_FD_BLOCK;
    if (keep > 0) {
      int ld;
      const float *a = block_of(fd, w, n, c0, bw, &ld);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)keep, (int)bw, (int)n, 1.0f,
                  w->wmat, (int)n, a, ld, 0.0f, w->out, (int)bw);
    }
    for (int64_t r = 0; r < n; r++) {
      if (r < keep) store_row(fd, r, c0, w->out + r * bw, bw);
      else memset(row_ptr(fd, r) + (size_t)c0 * lt_dtype_size(fd->store), 0, (size_t)bw * lt_dtype_size(fd->store));
    }
  }
}

static LtStatus compress(LtFd *fd, LtFdWork *w, ShrinkMode mode) {
  int64_t n = fd->filled;
  if (n == 0) return LT_OK;
  gram(fd, w, n);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++)
      w->dgram[i * n + j] = j >= i ? w->gram[i * n + j] : w->gram[j * n + i];
  /* dgram is symmetric, so it is its own column-major copy: no transposes, and
   * the workspace is the caller's. Eigenvector j comes back in row j. */
  if (LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'U', (lapack_int)n, w->dgram, (lapack_int)n, w->eig,
                          w->lwork, (lapack_int)eig_lwork(n), (lapack_int *)w->liwork, (lapack_int)eig_liwork(n)) != 0)
    return LT_ELAPACK;
  for (int64_t i = 0; i < n; i++) if (w->eig[i] < 0) w->eig[i] = 0; /* rounding */
  double delta = pick_delta(fd, w->eig, n, mode);
  int64_t keep = build_w(w, n, delta);
  apply_w(fd, w, n, keep);
  fd->filled = keep;
  fd->delta += delta;
  return lt_interrupt_pending() ? LT_EINTR : LT_OK;
}

/* ---- adding rows ------------------------------------------------------------ */

/* Whether no float32 in x[0..d) is NaN or Inf (exponent bits all set); an
 * integer OR-reduction, so the compiler vectorises it. */
static int f32_finite(const float *x, int64_t d) {
  unsigned bad = 0;
  for (int64_t c = 0; c < d; c++) {
    uint32_t u;
    memcpy(&u, x + c, sizeof u);
    bad |= (u & 0x7f800000u) == 0x7f800000u;
  }
  return !bad;
}

static int rows_finite(const Tensor *rows) {
  int64_t n = rows->shape[0], d = rows->shape[1];
  size_t es = lt_dtype_size(rows->dtype);
  for (int64_t r = 0; r < n; r++) {
    const char *base = (const char *)rows->data + (size_t)(r * rows->stride[0]) * es;
    if (rows->dtype == LT_F32 && rows->stride[1] == 1) {
      if (!f32_finite((const float *)base, d)) return 0;
      continue;
    }
    for (int64_t c = 0; c < d; c++)
      if (!isfinite(lt_get_f64(base + (size_t)(c * rows->stride[1]) * es, rows->dtype))) return 0;
  }
  return 1;
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

/* Copies input row r into buffer slot `slot` and adds its squared norm. */
static void put_row(LtFd *fd, const Tensor *rows, int64_t r, int64_t slot) {
  float tmp[LT_FD_BLOCK];
  size_t es = lt_dtype_size(rows->dtype);
  double sq = 0;
  for (int64_t c0 = 0; c0 < fd->dim; c0 += LT_FD_BLOCK) {
    int64_t bw = fd->dim - c0 < LT_FD_BLOCK ? fd->dim - c0 : LT_FD_BLOCK;
    const char *base = (const char *)rows->data + (size_t)(r * rows->stride[0]) * es;
    if (rows->dtype == LT_F32 && rows->stride[1] == 1) memcpy(tmp, (const float *)base + c0, (size_t)bw * 4);
    else for (int64_t c = 0; c < bw; c++) tmp[c] = (float)lt_get_f64(base + (size_t)((c0 + c) * rows->stride[1]) * es, rows->dtype);
    sq += sumsq_f32(tmp, bw);
    store_row(fd, slot, c0, tmp, bw);
  }
  fd->sq_frob += sq;
}

LtStatus lt_fd_add(LtFd *fd, LtFdWork *w, const Tensor *rows) {
  if (rows->ndim != 2 || rows->shape[1] != fd->dim) return LT_ESHAPE;
  if (!rows_finite(rows)) return LT_EVALUE;
  for (int64_t r = 0; r < rows->shape[0]; r++) {
    put_row(fd, rows, r, fd->filled++);
    fd->rows_seen++;
    if (fd->filled == fd->cap) {
      LtStatus st = compress(fd, w, fd->variant == LT_FD_FAST ? SHRINK_FAST : SHRINK_CLASSIC);
      if (st != LT_OK) return st;
    }
  }
  return LT_OK;
}

LtStatus lt_fd_finalize(LtFd *fd, LtFdWork *w, Tensor *out) {
  LtStatus st = compress(fd, w, SHRINK_FINAL);
  if (st != LT_OK) return st;
  float *o = out->data;
  memset(o, 0, (size_t)(fd->ell * fd->dim) * sizeof(float));
  for (int64_t r = 0; r < fd->filled && r < fd->ell; r++) load_row(fd, r, 0, fd->dim, o + r * fd->dim);
  return LT_OK;
}

/* ---- diagnostics -------------------------------------------------------------- */

static double *to_f64(const Tensor *t) {
  int64_t n = lt_numel(t);
  double *d = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
  if (!d) return NULL;
  size_t es = lt_dtype_size(t->dtype);
  for (int64_t i = 0; i < n; i++) d[i] = lt_get_f64((const char *)t->data + (size_t)i * es, t->dtype);
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

static double exact_norm(const double *A, int64_t n, const double *B, int64_t m, int64_t d) {
  double *M = malloc((size_t)(d * d) * sizeof(double)), *ev = malloc((size_t)d * sizeof(double));
  double r = -1;
  if (M && ev) {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)n, 1.0, A, (int)d, 0.0, M, (int)d);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)m, -1.0, B, (int)d, 1.0, M, (int)d);
    if (LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'U', (lapack_int)d, M, (lapack_int)d, ev) == 0)
      r = fmax(fabs(ev[0]), fabs(ev[d - 1]));
  }
  free(M); free(ev);
  return r;
}

static double power_norm(const double *A, int64_t n, const double *B, int64_t m, int64_t d, int iters) {
  int64_t big = n > m ? n : m;
  double *v = malloc((size_t)d * sizeof(double)), *u = malloc((size_t)d * sizeof(double));
  double *tmp = malloc((size_t)(big > 0 ? big : 1) * sizeof(double)), lam = -1;
  if (v && u && tmp) {
    LtRng rng; lt_rng_seed(&rng, 12345);
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
  free(v); free(u); free(tmp);
  return lam;
}

double lt_fd_cov_error(const Tensor *A, const Tensor *B, int iters) {
  int64_t n = A->shape[0], m = B->shape[0], d = A->shape[1];
  double *a = to_f64(A), *b = to_f64(B), r = -1;
  if (a && b) r = d <= 4096 ? exact_norm(a, n, b, m, d) : power_norm(a, n, b, m, d, iters);
  free(a); free(b);
  return r;
}

/* ---- random projections --------------------------------------------------------- */

void lt_proj_gaussian(Tensor *out, LtRng *rng) {
  int64_t n = lt_numel(out);
  float s = (float)(1.0 / sqrt((double)out->shape[0]));
  for (int64_t i = 0; i < n; i++) ((float *)out->data)[i] = (float)lt_rng_normal(rng) * s;
}

void lt_proj_sparse_sign(Tensor *out, LtRng *rng) {
  int64_t n = lt_numel(out);
  float s = (float)sqrt(3.0 / (double)out->shape[0]);
  for (int64_t i = 0; i < n; i++) {
    uint64_t k = lt_rng_below(rng, 6);
    ((float *)out->data)[i] = k == 0 ? s : k == 1 ? -s : 0.0f;
  }
}

void lt_proj_countsketch(Tensor *out, LtRng *rng) {
  int64_t ell = out->shape[0], d = out->shape[1];
  memset(out->data, 0, (size_t)(ell * d) * sizeof(float));
  for (int64_t c = 0; c < d; c++) {
    int64_t r = (int64_t)lt_rng_below(rng, (uint64_t)ell);
    ((float *)out->data)[r * d + c] = (lt_rng_next(rng) >> 63) ? 1.0f : -1.0f;
  }
}
