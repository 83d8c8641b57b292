/* embed_umap.h - UMAP as umap-learn 0.5: fuzzy simplicial set, spectral start, SGD with negative
 * sampling (core, no Lua). */
#ifndef LUNETTE_EMBED_UMAP_H
#define LUNETTE_EMBED_UMAP_H
#include "embed/embed_knn.h"

typedef enum { LT_UMAP_INIT_SPECTRAL = 0, LT_UMAP_INIT_RANDOM, LT_UMAP_INIT_GIVEN } LtUmapInit;

/* Settings; the defaults (lt_umap_defaults) are umap-learn's. */
typedef struct {
  int dim;             /* 2 (at most 64) */
  int64_t n_neighbors; /* 15, counting the point itself as umap-learn does; 2 <= n_neighbors <= n */
  double min_dist, spread;   /* 0.1, 1 */
  int n_epochs;              /* <= 0: 500 when n <= 10000, else 200 */
  double learning_rate;      /* 1 */
  double repulsion_strength; /* gamma: 1 */
  int negative_sample_rate;  /* 5; 0: no negative samples (attraction only) */
  double local_connectivity; /* 1 */
  double set_op_mix_ratio;   /* 1: fuzzy union; 0: intersection */
  double a, b;               /* <= 0: fitted to min_dist and spread (lt_umap_find_ab) */
  LtUmapInit init;
  LtKnnMethod knn;
  LtMetric metric; /* euclidean or cosine */
  uint64_t seed;
} LtUmapOptions;

typedef struct {
  double a, b;
  int n_epochs;
  int64_t n_edges;    /* directed edges of the graph the layout samples */
  int64_t components; /* connected components of the graph */
  int spectral;       /* 1 when Laplacian eigenvectors placed at least one component; 0 when
                         every point started at random (init random or given, components too
                         small for the solver, or a solver failure) */
} LtUmapInfo;

/* Fills o with umap-learn's defaults (the values noted above; init spectral,
 * knn auto, seed 0; a, b and n_epochs left to be derived). */
void lt_umap_defaults(LtUmapOptions *o);

/* Least-squares fit of 1 / (1 + a x^(2b)) to the offset exponential
 * (1 for x < min_dist, exp(-(x - min_dist)/spread) beyond) on 300 points of
 * [0, 3 spread], by Levenberg-Marquardt from a = b = 1 (as scipy's
 * curve_fit in umap-learn). Returns LT_OK or LT_EVALUE. */
LtStatus lt_umap_find_ab(double spread, double min_dist, double *a, double *b);

/* The fuzzy simplicial set of X [n x d]: kNN (n_neighbors including the
 * point), rho_i (distance to the nearest other point, local_connectivity
 * interpolated) and sigma_i (bisection: sum_j exp(-(d_ij - rho_i)/sigma_i) =
 * log2(n_neighbors)), memberships exp(-(d - rho)/sigma), then
 * G = mix (A + A^T - A∘A^T) + (1 - mix) A∘A^T. sigmas and rhos [n] may be
 * NULL. The caller frees G (lt_csr_free); on failure it is left empty.
 * Returns LT_OK, LT_EVALUE (n_neighbors outside 2..n or a negative
 * local_connectivity), LT_ENOMEM or LT_EINTR. */
LtStatus lt_umap_graph(const float *X, int64_t n, int64_t d, const LtUmapOptions *o, LtCsr *G,
                       float *sigmas, float *rhos, const LtEmbedProgress *prog);

/* rho and sigma of one row of k ascending distances, as umap-learn's smooth_knn_dist: rho the
 * distance to the local_connectivity-th nearest non-zero entry (interpolated), sigma by bisection
 * so that sum_{j >= 1} exp(-(d_j - rho) / sigma) = log2(k) (column 0 is left out, the point
 * itself in a fit), floored at 1e-3 of the row's mean distance (of mean_all when rho is 0). */
void lt_umap_smooth_row(const float *dist, int64_t k, double local_connectivity, double mean_all,
                        float *sigma, float *rho);

/* Embeds X [n x d] (n >= 2, finite) into Y [n x dim] (with init GIVEN, Y
 * holds the start). Layout as umap-learn's optimize_layout_euclidean:
 * each edge sampled in proportion to its weight, negative_sample_rate
 * random repulsions per sample, gradients clipped to [-4, 4], learning
 * rate decaying linearly. To be deterministic on any thread count each
 * vertex moves only itself, reading the others' positions as they were at
 * the start of the epoch; the reverse edge (the graph is symmetric) moves
 * the other end, so each attraction is applied twice as in umap-learn's
 * move_other. Negative samples come from a counter-based generator keyed
 * by (seed, epoch, vertex). Returns LT_OK, LT_EVALUE, LT_ENOMEM,
 * LT_ELAPACK or LT_EINTR. */
LtStatus lt_umap(const float *X, int64_t n, int64_t d, const LtUmapOptions *o, float *Y,
                 LtUmapInfo *info, const LtEmbedProgress *prog);

#endif
