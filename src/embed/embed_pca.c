/* embed_pca.c - PCA (float64 covariance/Gram eigenvectors or randomised); effective dimension. */
/* Its LAPACKE_, cblas_, openblas_ calls go through src/lazy.h:
 * LAPACKE and OpenBLAS are loaded on first use. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "embed/embed_pca.h"
#include "interrupt.h"
#include "tensor/random.h"

/* Rows per partial sum: sums run over this fixed blocking, so their order does not depend on the
 * thread count. */
#define ROW_CHUNK 1024

/* Column means and centred sums of squares of X [n x d] in float64, summed
 * over fixed row chunks in a fixed order (the same bits on any thread
 * count). ss may be NULL. */
static LtStatus column_stats(const float *X, int64_t n, int64_t d, int center, double *mean,
                             double *ss) {
  int64_t nc = (n + ROW_CHUNK - 1) / ROW_CHUNK;
  double *part = calloc((size_t)(nc * d), sizeof *part);
  if (!part) return LT_ENOMEM;
  /* Two passes (means, then centred squares) rather than sums and sums of squares in one: the
   * one-pass formula cancels badly when the mean is large next to the spread. Each chunk's partial
   * is written by one thread and the partials are added in chunk order. */
  for (int pass = 0; pass < (ss ? 2 : 1); pass++) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t c = 0; c < nc; c++) {
      double *p = part + c * d;
      memset(p, 0, sizeof *p * (size_t)d);
      for (int64_t i = c * ROW_CHUNK; i < n && i < (c + 1) * ROW_CHUNK; i++)
        for (int64_t j = 0; j < d; j++) {
          double v = X[i * d + j];
          if (pass == 0)
            p[j] += v;
          else {
            v -= mean[j];
            p[j] += v * v;
          }
        }
    }
    double *dst = pass == 0 ? mean : ss;
    for (int64_t j = 0; j < d; j++) dst[j] = 0;
    for (int64_t c = 0; c < nc; c++)
      for (int64_t j = 0; j < d; j++) dst[j] += part[c * d + j];
    if (pass == 0)
      for (int64_t j = 0; j < d; j++) mean[j] = center ? mean[j] / (double)n : 0.0;
  }
  free(part);
  return LT_OK;
}

/* C [d x d] (lower triangle) = Xc^T Xc, accumulated over row blocks by dsyrk. */
static LtStatus covariance_blas(const float *X, int64_t n, int64_t d, const double *mean,
                                double *C) {
  double *B = malloc(sizeof *B * (size_t)(ROW_CHUNK * d));
  if (!B) return LT_ENOMEM;
  memset(C, 0, sizeof *C * (size_t)(d * d));
  for (int64_t r0 = 0; r0 < n; r0 += ROW_CHUNK) {
    int64_t bn = n - r0 < ROW_CHUNK ? n - r0 : ROW_CHUNK;
    /* Centred in double before dsyrk: centring in float would lose a small spread around a large
     * mean. Only the lower triangle is formed; dsyevr reads no more. */
    for (int64_t i = 0; i < bn; i++)
      for (int64_t j = 0; j < d; j++) B[i * d + j] = X[(r0 + i) * d + j] - mean[j];
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)bn, 1.0, B, (int)d, 1.0, C,
                (int)d);
    if (lt_interrupt_pending()) {
      free(B);
      return LT_EINTR;
    }
  }
  free(B);
  return LT_OK;
}

/* The same with fixed-order sums: entry (a, b) is summed over the rows of
 * each chunk by one thread, chunks are added in order. */
static void covariance_fixed(const float *X, int64_t n, int64_t d, const double *mean, double *C) {
  memset(C, 0, sizeof *C * (size_t)(d * d));
  for (int64_t r0 = 0; r0 < n; r0 += ROW_CHUNK) {
    int64_t r1 = n - r0 < ROW_CHUNK ? n : r0 + ROW_CHUNK;
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t a = 0; a < d; a++)
      for (int64_t b = 0; b <= a; b++) {
        double s = 0;
        for (int64_t i = r0; i < r1; i++) s += (X[i * d + a] - mean[a]) * (X[i * d + b] - mean[b]);
        C[a * d + b] += s;
      }
  }
}

/* G [n x n] (lower) = Xc Xc^T over column blocks, for wide data (d > n). */
static LtStatus gram_blas(const float *X, int64_t n, int64_t d, const double *mean, double *G) {
  /* 512 columns at a time bound the double scratch to n x 512. */
  int64_t bc = 512;
  double *B = malloc(sizeof *B * (size_t)(n * bc));
  if (!B) return LT_ENOMEM;
  memset(G, 0, sizeof *G * (size_t)(n * n));
  for (int64_t c0 = 0; c0 < d; c0 += bc) {
    int64_t w = d - c0 < bc ? d - c0 : bc;
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < w; j++) B[i * w + j] = X[i * d + c0 + j] - mean[c0 + j];
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)n, (int)w, 1.0, B, (int)w, 1.0, G,
                (int)n);
  }
  free(B);
  return LT_OK;
}

/* Top k eigenpairs of the symmetric m x m matrix A (lower triangle used,
 * destroyed): w[0..k) descending, V [m x k] column j the eigenvector of w[j]. */
static LtStatus top_eigen(double *A, int64_t m, int64_t k, double *w, double *V) {
  double *wa = malloc(sizeof *wa * (size_t)m), *Z = malloc(sizeof *Z * (size_t)(m * k));
  lapack_int *sup = malloc(sizeof *sup * (size_t)(2 * m)), found = 0;
  if (!wa || !Z || !sup) {
    free(wa);
    free(Z);
    free(sup);
    return LT_ENOMEM;
  }
  /* Range 'I' asks dsyevr for eigenvalues m-k+1..m only (the k largest, ascending): cheaper than
   * the whole spectrum when k is small. They are reversed into descending order below. */
  lapack_int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'L', (lapack_int)m, A, (lapack_int)m,
                                   0, 0, (lapack_int)(m - k + 1), (lapack_int)m, 0.0, &found, wa, Z,
                                   (lapack_int)k, sup);
  LtStatus st = info != 0 || found != k ? LT_ELAPACK : LT_OK;
  for (int64_t j = 0; st == LT_OK && j < k; j++) {
    w[j] = wa[k - 1 - j];
    for (int64_t i = 0; i < m; i++) V[i * k + j] = Z[i * k + (k - 1 - j)];
  }
  free(wa);
  free(Z);
  free(sup);
  return st;
}

/* out [n x k] = (X - mean) comp^T, with fixed-order float64 sums. */
static void scores_fixed(const float *X, int64_t n, int64_t d, const double *mean,
                         const float *comp, int64_t k, float *out) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < k; j++) {
      double s = 0;
      for (int64_t c = 0; c < d; c++) s += (X[i * d + c] - mean[c]) * (double)comp[j * d + c];
      out[i * k + j] = (float)s;
    }
}

LtStatus lt_pca_transform(const float *Z, int64_t m, int64_t d, const float *mean,
                          const float *comp, int64_t k, float *out) {
  /* (Z - mean) comp^T = Z comp^T - mean comp^T: one sgemm on Z as it is, then a shift per column,
   * so no centred copy of Z is made. */
  float *shift = calloc((size_t)k, sizeof *shift);
  if (!shift) return LT_ENOMEM;
  if (mean)
    for (int64_t j = 0; j < k; j++) {
      double s = 0;
      for (int64_t c = 0; c < d; c++) s += (double)mean[c] * comp[j * d + c];
      shift[j] = (float)s;
    }
  if (m > 0 && k > 0)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)k, (int)d, 1.0f, Z, (int)d,
                comp, (int)d, 0.0f, out, (int)k);
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < k; j++) out[i * k + j] -= shift[j];
  free(shift);
  return lt_embed_first_bad_row(out, m, k) >= 0 ? LT_ERANGE : LT_OK; /* finite inputs overflowed */
}

/* Orients each component so that its score of largest magnitude (first
 * such row) is positive, flipping scores and component together. */
static void sign_flip(float *scores, int64_t n, int64_t k, float *comp, int64_t d) {
  for (int64_t j = 0; j < k; j++) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
      if (fabsf(scores[i * k + j]) > fabsf(scores[best * k + j])) best = i;
    if (scores[best * k + j] >= 0) continue;
    for (int64_t i = 0; i < n; i++) scores[i * k + j] = -scores[i * k + j];
    for (int64_t c = 0; c < d; c++) comp[j * d + c] = -comp[j * d + c];
  }
}

/* G [n x n] = Xc Xc^T with fixed-order sums (wide data, deterministic mode). */
static void gram_fixed(const float *X, int64_t n, int64_t d, const double *mean, double *G) {
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t a = 0; a < n; a++)
    for (int64_t b = 0; b <= a; b++) {
      double s = 0;
      for (int64_t c = 0; c < d; c++) s += (X[a * d + c] - mean[c]) * (X[b * d + c] - mean[c]);
      G[a * n + b] = s;
    }
}

/* Exact PCA: eigendecomposition of the covariance (d <= n) or of the Gram matrix (wide data),
 * whichever is smaller, then the components. */
static LtStatus pca_exact(const float *X, int64_t n, int64_t d, const double *mean,
                          const LtPcaOptions *o, LtPcaOut *out) {
  int64_t k = o->k, m = d <= n ? d : n;
  double *A = malloc(sizeof *A * (size_t)(m * m)), *w = malloc(sizeof *w * (size_t)k),
         *V = malloc(sizeof *V * (size_t)(m * k));
  double *v = malloc(sizeof *v * (size_t)d);
  LtStatus st = !A || !w || !V || !v ? LT_ENOMEM : LT_OK;
  if (st == LT_OK) {
    if (d <= n) {
      if (o->deterministic)
        covariance_fixed(X, n, d, mean, A);
      else
        st = covariance_blas(X, n, d, mean, A);
    } else if (o->deterministic)
      gram_fixed(X, n, d, mean, A);
    else
      st = gram_blas(X, n, d, mean, A);
  }
  if (st == LT_OK) {
    /* dsyevr's result changes with the BLAS thread count: one thread in deterministic mode. */
    int threads = openblas_get_num_threads();
    if (o->deterministic) openblas_set_num_threads(1);
    st = top_eigen(A, m, k, w, V);
    if (o->deterministic) openblas_set_num_threads(threads);
  }
  for (int64_t j = 0; st == LT_OK && j < k; j++) {
    /* Eigenvalues are squared singular values; rounding can leave a tiny negative one. */
    double s = sqrt(w[j] > 0 ? w[j] : 0), norm = 0;
    out->singular_values[j] = s;
    float *c = out->components + j * d;
    if (d <= n) {
      for (int64_t a = 0; a < d; a++) c[a] = (float)V[a * k + j];
      continue;
    }
    /* Wide data: the Gram eigenvector u gives the component Xc^T u / |Xc^T u| (Xc's right singular
     * vector). */
    memset(v, 0, sizeof *v * (size_t)d);
    for (int64_t i = 0; i < n; i++)
      for (int64_t a = 0; a < d; a++) v[a] += V[i * k + j] * (X[i * d + a] - mean[a]);
    for (int64_t a = 0; a < d; a++) norm += v[a] * v[a];
    for (int64_t a = 0; a < d; a++)
      c[a] = norm > 0 ? (float)(v[a] / sqrt(norm)) : 0.0f; /* Xc^T u, unit */
  }
  free(A);
  free(w);
  free(V);
  free(v);
  return st;
}

/* out [n x l] = (X - 1 mu^T) M for M [d x l]. */
static void xc_times(const float *X, int64_t n, int64_t d, const float *mu, const float *M,
                     int64_t l, float *out) {
  /* Centring folded in: Xc M = X M - 1 (mu^T M), so X is never copied. */
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)l, (int)d, 1.0f, X, (int)d, M,
              (int)l, 0.0f, out, (int)l);
  for (int64_t a = 0; a < l; a++) {
    double r = 0;
    for (int64_t c = 0; c < d; c++) r += (double)mu[c] * M[c * l + a];
    for (int64_t i = 0; i < n; i++) out[i * l + a] -= (float)r;
  }
}

/* out [d x l] = (X - 1 mu^T)^T Y for Y [n x l]. */
static void xct_times(const float *X, int64_t n, int64_t d, const float *mu, const float *Y,
                      int64_t l, float *out) {
  /* Xc^T Y = X^T Y - mu (1^T Y): again no centred copy of X. */
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)l, (int)n, 1.0f, X, (int)d, Y,
              (int)l, 0.0f, out, (int)l);
  for (int64_t a = 0; a < l; a++) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += Y[i * l + a];
    for (int64_t c = 0; c < d; c++) out[c * l + a] -= (float)(mu[c] * s);
  }
}

/* Replaces the m x l matrix A by an orthonormal basis of its columns. */
static LtStatus orthonormalize(float *A, int64_t m, int64_t l, float *tau) {
  /* In place: sgeqrf leaves Householder reflectors (scalars in tau), sorgqr turns them into Q. */
  if (LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)l, A, (lapack_int)l, tau) != 0)
    return LT_ELAPACK;
  if (LAPACKE_sorgqr(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)l, (lapack_int)l, A,
                     (lapack_int)l, tau) != 0)
    return LT_ELAPACK;
  return LT_OK;
}

/* The k leading left singular vectors of the d x l sketch Bt = Xc^T Q, which are Xc's leading
 * right singular vectors (the components), and their singular values. */
static LtStatus sketch_svd(const float *Bt, int64_t d, int64_t l, int64_t k, LtPcaOut *out) {
  double *A = malloc(sizeof *A * (size_t)(d * l)), *s = malloc(sizeof *s * (size_t)l);
  double *U = malloc(sizeof *U * (size_t)(d * l)), *Vt = malloc(sizeof *Vt * (size_t)(l * l));
  LtStatus st = !A || !s || !U || !Vt ? LT_ENOMEM : LT_OK;
  if (st == LT_OK) {
    /* The small SVD in float64: cheap at this size, and the singular values come out accurate. 'S':
     * the thin factors suffice. */
    for (int64_t i = 0; i < d * l; i++) A[i] = Bt[i];
    if (LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', (lapack_int)d, (lapack_int)l, A, (lapack_int)l, s, U,
                       (lapack_int)l, Vt, (lapack_int)l) != 0)
      st = LT_ELAPACK;
  }
  for (int64_t j = 0; st == LT_OK && j < k; j++) {
    out->singular_values[j] = s[j];
    for (int64_t c = 0; c < d; c++) out->components[j * d + c] = (float)U[c * l + j];
  }
  free(A);
  free(s);
  free(U);
  free(Vt);
  return st;
}

/* xc_times and xct_times in float32, LT_ERANGE when the product of finite
 * data overflowed (values too large for float32 products): LAPACK would
 * otherwise fail on the infinities with a misleading message. */
static LtStatus range_times(const float *X, int64_t n, int64_t d, const float *mu, const float *M,
                            int64_t l, float *Y) {
  xc_times(X, n, d, mu, M, l, Y);
  return lt_embed_first_bad_row(Y, n, l) >= 0 ? LT_ERANGE : LT_OK;
}

static LtStatus range_t_times(const float *X, int64_t n, int64_t d, const float *mu, const float *Y,
                              int64_t l, float *M) {
  xct_times(X, n, d, mu, Y, l, M);
  return lt_embed_first_bad_row(M, d, l) >= 0 ? LT_ERANGE : LT_OK;
}

/* Randomised PCA after scikit-learn's randomized_svd (with QR where it normalises by LU):
 * Halko, Martinsson & Tropp (2011), Algorithm 4.4, randomised subspace iteration. */
static LtStatus pca_randomized(const float *X, int64_t n, int64_t d, const double *mean,
                               const LtPcaOptions *o, LtPcaOut *out) {
  int64_t k = o->k, mn = n < d ? n : d, l = k + (o->n_oversamples > 0 ? o->n_oversamples : 10);
  int iters = o->n_iter > 0 ? o->n_iter : (10 * k < mn ? 7 : 4);
  /* l = k + oversamples, at most min(n, d): the rank of the sketch. */
  if (l > mn) l = mn;
  float *M = malloc(sizeof *M * (size_t)(d * l)), *Y = malloc(sizeof *Y * (size_t)(n * l));
  float *mu = malloc(sizeof *mu * (size_t)d), *tau = malloc(sizeof *tau * (size_t)l);
  LtStatus st = !M || !Y || !mu || !tau ? LT_ENOMEM : LT_OK;
  if (st == LT_OK) {
    LtRng rng;
    lt_rng_seed(&rng, o->seed);
    /* A Gaussian test matrix from the seeded generator: the same seed gives the same sketch. */
    for (int64_t i = 0; i < d * l; i++) M[i] = (float)lt_rng_normal(&rng);
    for (int64_t c = 0; c < d; c++) mu[c] = (float)mean[c];
    st = range_times(X, n, d, mu, M, l, Y);
  }
  /* A QR after every product: without it the columns collapse onto the top singular vector within
   * a few iterations in float32. */
  for (int it = 0; st == LT_OK && it < iters; it++) {
    st = orthonormalize(Y, n, l, tau);
    if (st == LT_OK) st = range_t_times(X, n, d, mu, Y, l, M);
    if (st == LT_OK) st = orthonormalize(M, d, l, tau);
    if (st == LT_OK) st = range_times(X, n, d, mu, M, l, Y);
    if (st == LT_OK && lt_interrupt_pending()) st = LT_EINTR;
  }
  /* Q = orth(Xc M) spans Xc's dominant range; Bt = Xc^T Q is small (d x l) and its SVD gives the
   * components. */
  if (st == LT_OK) st = orthonormalize(Y, n, l, tau);
  if (st == LT_OK) st = range_t_times(X, n, d, mu, Y, l, M);
  if (st == LT_OK) st = sketch_svd(M, d, l, k, out);
  free(M);
  free(Y);
  free(mu);
  free(tau);
  return st;
}

LtStatus lt_pca_fit(const float *X, int64_t n, int64_t d, const LtPcaOptions *o, LtPcaOut *out) {
  int64_t k = o->k, mn = n < d ? n : d;
  if (n < 2 || d < 1 || k < 1 || k > mn) return LT_EVALUE;
  double *mean = malloc(sizeof *mean * (size_t)d), *ss = malloc(sizeof *ss * (size_t)d);
  /* Scores are computed even when the caller wants none: the signs are chosen by them. */
  float *scores = out->scores ? out->scores : malloc(sizeof *scores * (size_t)(n * k));
  LtStatus st = !mean || !ss || !scores ? LT_ENOMEM : column_stats(X, n, d, o->center, mean, ss);
  if (st == LT_OK) {
    out->total_variance = 0;
    /* From the column sums of squares, not the eigenvalues: the randomised solver never sees the
     * whole spectrum. */
    for (int64_t j = 0; j < d; j++) out->total_variance += ss[j] / (double)(n - 1);
    for (int64_t j = 0; j < d; j++) out->mean[j] = (float)mean[j];
    LtPcaSolver solver = o->solver;
    /* Deterministic means exact: the randomised solver's sgemm results depend on threads. */
    if (o->deterministic)
      solver = LT_PCA_EXACT;
    else if (solver == LT_PCA_AUTO)
      solver = mn <= 1000 || 4 * k > mn ? LT_PCA_EXACT : LT_PCA_RANDOMIZED;
    st = solver == LT_PCA_EXACT ? pca_exact(X, n, d, mean, o, out)
                                : pca_randomized(X, n, d, mean, o, out);
  }
  if (st == LT_OK) {
    for (int64_t j = 0; j < k; j++)
      out->explained_variance[j] =
          out->singular_values[j] * out->singular_values[j] / (double)(n - 1);
    if (o->deterministic) {
      scores_fixed(X, n, d, mean, out->components, k, scores);
      if (lt_embed_first_bad_row(scores, n, k) >= 0) st = LT_ERANGE;
    } else {
      st = lt_pca_transform(X, n, d, out->mean, out->components, k, scores);
    }
  }
  if (st == LT_OK) sign_flip(scores, n, k, out->components, d);
  if (scores != out->scores) free(scores);
  free(mean);
  free(ss);
  return st;
}

LtStatus lt_pca_spectrum(const float *X, int64_t n, int64_t d, int center, double *s) {
  int64_t mn = n < d ? n : d;
  double *mean = malloc(sizeof *mean * (size_t)d), *A = malloc(sizeof *A * (size_t)(mn * mn));
  double *w = malloc(sizeof *w * (size_t)mn);
  /* Every eigenvalue ('N': no vectors) of the smaller of covariance and Gram matrix; the singular
   * values are their square roots, largest first. */
  LtStatus st = !mean || !A || !w ? LT_ENOMEM : column_stats(X, n, d, center, mean, NULL);
  if (st == LT_OK) st = d <= n ? covariance_blas(X, n, d, mean, A) : gram_blas(X, n, d, mean, A);
  if (st == LT_OK &&
      LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'L', (lapack_int)mn, A, (lapack_int)mn, w) != 0)
    st = LT_ELAPACK;
  for (int64_t j = 0; st == LT_OK && j < mn; j++)
    s[j] = sqrt(w[mn - 1 - j] > 0 ? w[mn - 1 - j] : 0);
  free(mean);
  free(A);
  free(w);
  return st;
}

double lt_effective_dim_svd(const double *s, int64_t m) {
  double tot = 0, q = 0;
  for (int64_t i = 0; i < m; i++) tot += s[i];
  if (!(tot > 0)) return 0;
  for (int64_t i = 0; i < m; i++) q += (s[i] / tot) * (s[i] / tot);
  return 1.0 / q;
}

double lt_effective_dim_pr(const double *s, int64_t m) {
  double a = 0, b = 0;
  for (int64_t i = 0; i < m; i++) {
    double v = s[i] * s[i];
    a += v;
    b += v * v;
  }
  return b > 0 ? a * a / b : 0;
}
