/* embed_pca.h - principal components (exact and randomised), projection, spectra and effective
 * dimension (core, no Lua). */
#ifndef LUNETTE_EMBED_PCA_H
#define LUNETTE_EMBED_PCA_H
#include "embed/embed.h"

typedef enum { LT_PCA_AUTO = 0, LT_PCA_EXACT, LT_PCA_RANDOMIZED } LtPcaSolver;

typedef struct {
  int64_t k;          /* components, 1 <= k <= min(n, d) */
  LtPcaSolver solver; /* auto: exact when min(n, d) <= 1000 or k > min(n, d)/4 */
  int center;         /* subtract the column means first (PCA); 0 = uncentred SVD */
  uint64_t seed;      /* randomised solver only */
  int n_iter;         /* power iterations, <= 0: 7 if k < min(n,d)/10 else 4 (as scikit-learn) */
  int n_oversamples;  /* <= 0: 10 */
  int deterministic;  /* exact solver with fixed-order sums and one BLAS thread: the same bits on
                         any thread count (slower for large d; t-SNE's initialisation uses it) */
} LtPcaOptions;

/* Caller-owned outputs of lt_pca_fit; scores may be NULL. */
typedef struct {
  float *components;          /* [k x d], unit rows, descending variance */
  double *explained_variance; /* [k], s^2 / (n - 1) */
  double *singular_values;    /* [k] */
  float *mean;                /* [d] column means (zeros when not centring) */
  float *scores;              /* [n x k] = (X - mean) components^T, or NULL */
  double total_variance;      /* sum of column variances (ddof 1) */
} LtPcaOut;

/* PCA of X [n x d] (n >= 2). Exact: the d x d covariance (or n x n Gram
 * matrix when d > n) accumulated in float64 and LAPACK dsyevr. Randomised:
 * Halko-Martinsson-Tropp range finder with QR-normalised power iterations,
 * then an exact SVD of the small projected matrix. Signs follow
 * scikit-learn's svd_flip: each component is oriented so that the score of
 * largest magnitude is positive, so both solvers agree. Returns LT_OK,
 * LT_EVALUE (bad k or n), LT_ERANGE (finite data whose float32 products or
 * scores overflow: values too large), LT_ENOMEM, LT_ELAPACK or LT_EINTR. */
LtStatus lt_pca_fit(const float *X, int64_t n, int64_t d, const LtPcaOptions *o, LtPcaOut *out);

/* out [m x k] = (Z - mean) comp^T for Z [m x d], mean [d] (NULL: none),
 * comp [k x d]. LT_ERANGE when a result overflows float32 (Z finite but too
 * large), LT_ENOMEM. */
LtStatus lt_pca_transform(const float *Z, int64_t m, int64_t d, const float *mean,
                          const float *comp, int64_t k, float *out);

/* All min(n, d) singular values of X [n x d] (centred first when center),
 * descending, into s (min(n, d) doubles). Returns LT_OK, LT_ENOMEM,
 * LT_ELAPACK or LT_EINTR (Ctrl-C while a covariance accumulates). */
LtStatus lt_pca_spectrum(const float *X, int64_t n, int64_t d, int center, double *s);

/* Effective dimension from singular values s[0..m): the hypersphere
 * script's (sum_i (s_i / sum s)^2)^-1, and the participation ratio of the
 * variances (sum s^2)^2 / sum s^4. Both are 0 when every s is 0. */
double lt_effective_dim_svd(const double *s, int64_t m);
double lt_effective_dim_pr(const double *s, int64_t m);

#endif
