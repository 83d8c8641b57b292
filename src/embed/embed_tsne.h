/* embed_tsne.h - t-SNE: perplexity-calibrated affinities, exact and Barnes-Hut gradients,
 * scikit-learn's optimiser (core, no Lua). */
#ifndef LUNETTE_EMBED_TSNE_H
#define LUNETTE_EMBED_TSNE_H
#include "embed/embed_knn.h"

typedef enum { LT_TSNE_INIT_PCA = 0, LT_TSNE_INIT_RANDOM, LT_TSNE_INIT_GIVEN } LtTsneInit;

/* How the repulsive forces are computed. AUTO: FFT for 2-d layouts with one degree of freedom and
 * at least LT_TSNE_FFT_AUTO_N points, Barnes-Hut otherwise. EXACT is also chosen by theta < 0. */
typedef enum {
  LT_TSNE_AUTO = 0,
  LT_TSNE_BARNES_HUT,
  LT_TSNE_EXACT,
  LT_TSNE_FFT
} LtTsneMethod;

/* Where the FFT repulsion would start to beat Barnes-Hut (theta 0.5): not reached in any
 * measurement, so "auto" keeps Barnes-Hut below 4 million points. Whole FMNIST runs
 * (scripts/bench/tsne_crossover.lua, 2 threads, a shared and loaded 2-core machine; BENCHMARKS.md)
 * after the FFT path's rework: FFT / Barnes-Hut 7.4x at 2,000 points, 3.0x at 10,000, 1.5x at
 * 20,000 and 3.2x at 70,000. The grid follows the layout's extent, which grows with n under the
 * learning rate n / 48 (about 190 units at 20,000 points), so its FFT grows faster than
 * Barnes-Hut's n log n here; FIt-SNE's reported crossover near 10,000 is against a slower
 * Barnes-Hut. Before the rework, per step from a clustered layout at the 500-box cap: Barnes-Hut
 * 1.3 s against FFT 3.2 s at 1,000,000 points. */
#define LT_TSNE_FFT_AUTO_N 4000000

/* Settings; the defaults are scikit-learn 1.2's. */
typedef struct {
  int dim;                     /* output dimension: 1..3 (Barnes-Hut), any for exact */
  double perplexity;           /* 30, needs perplexity < n / 3 */
  double early_exaggeration;   /* 12 */
  int exaggeration_iter;       /* 250 */
  double learning_rate;        /* <= 0: "auto" = max(n / early_exaggeration / 4, 50) */
  int n_iter;                  /* 1000 (including the exaggeration phase) */
  double theta;                /* 0.5: Barnes-Hut opening angle; exact when < 0 */
  LtTsneMethod method;         /* AUTO (see LtTsneMethod); FFT needs dim 2 and dof 1 */
  double dof;                  /* <= 0: max(dim - 1, 1) (Student-t degrees of freedom) */
  double min_grad_norm;        /* 1e-7 */
  int n_iter_without_progress; /* 300 */
  LtTsneInit init;             /* PCA: first dim principal components scaled to std 1e-4 */
  LtKnnMethod knn;             /* auto: exact kNN unless n^2 d is large, then NN-descent */
  uint64_t seed;
} LtTsneOptions;

typedef struct {
  double kl;            /* KL(P || Q) at the last gradient evaluation */
  int iterations;       /* gradient steps taken */
  double learning_rate; /* the rate used (after "auto") */
  LtTsneMethod method;  /* the method used (after AUTO) */
} LtTsneInfo;

/* Fills o with the defaults for an embedding of dimension dim. */
void lt_tsne_defaults(LtTsneOptions *o, int dim);

/* Embeds X [n x d] (n >= 2, finite) into Y [n x dim]. With init GIVEN, Y
 * holds the start on entry. Barnes-Hut (theta >= 0): affinities on the
 * floor(3 perplexity + 1) nearest neighbours, gradient O(n log n) per
 * step, dim <= 3. Exact (theta < 0): dense affinities and gradient, O(n^2)
 * memory and time. FFT (method FFT, or AUTO at n >= LT_TSNE_FFT_AUTO_N
 * with dim 2 and dof 1): Barnes-Hut's sparse affinities, the repulsion by
 * interpolation on a grid (embed_tsne_fft.h), O(n) per step plus the
 * grid's FFTs; LT_EVALUE for FFT with dim != 2 or dof != 1.
 * Optimisation as scikit-learn: gradient descent with
 * momentum 0.5 then 0.8, per-coordinate gains (+0.2 / x0.8, floor 0.01),
 * early exaggeration for the first exaggeration_iter steps, a convergence
 * check every 50 steps. The same seed gives the same Y on any thread count.
 * Returns LT_OK, LT_EVALUE, LT_ENOMEM, LT_ELAPACK, LT_EINTR, or LT_ERANGE
 * when the coordinates stop being finite (the descent diverged, e.g. with
 * a handful of points, whose exaggerated affinities exceed 1). */
LtStatus lt_tsne(const float *X, int64_t n, int64_t d, const LtTsneOptions *o, float *Y,
                 LtTsneInfo *info, const LtEmbedProgress *prog);

/* The sparse joint affinities P (symmetric, summing to 1) t-SNE's
 * Barnes-Hut method builds from the k = min(n - 1, floor(3 perplexity + 1))
 * nearest neighbours (squared Euclidean). The caller frees P (lt_csr_free);
 * on failure P is left empty. Returns LT_OK, LT_EVALUE (n < 2 or
 * perplexity <= 0), LT_ENOMEM or LT_EINTR. */
LtStatus lt_tsne_affinities(const float *X, int64_t n, int64_t d, double perplexity,
                            LtKnnMethod knn, uint64_t seed, LtCsr *P, const LtEmbedProgress *prog);

/* Conditional probabilities p[i, j] = exp(-beta_i d2[i, j]) / Z_i over the
 * k entries of each row of d2 [n x k] (squared distances), beta_i found by
 * bisection so that the row's entropy is log(perplexity) (tolerance 1e-5,
 * at most 100 steps, as scikit-learn). p [n x k] may be d2 itself. */
void lt_tsne_conditional(const float *d2, int64_t n, int64_t k, double perplexity, float *p);

#endif
