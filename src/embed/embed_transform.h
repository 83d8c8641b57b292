/* embed_transform.h - out-of-sample t-SNE and UMAP: new points placed into a fixed embedding
 * (openTSNE's TSNEEmbedding.transform, umap-learn's UMAP.transform) (core, no Lua). */
#ifndef LUNETTE_EMBED_TRANSFORM_H
#define LUNETTE_EMBED_TRANSFORM_H
#include "embed/embed_knn.h"

/* ---- t-SNE ------------------------------------------------------------------ */

typedef enum {
  LT_TT_INIT_MEDIAN = 0, /* per-coordinate median of the k neighbours' positions (openTSNE's) */
  LT_TT_INIT_WEIGHTED,   /* the neighbours' positions weighted by the affinities */
  LT_TT_INIT_RANDOM,     /* N(0, 1e-4^2) per coordinate */
  LT_TT_INIT_GIVEN       /* the caller's start, in Ynew on entry */
} LtTsneTransformInit;

/* Settings; the defaults (lt_tsne_transform_defaults) are openTSNE 1.0's transform's. */
typedef struct {
  double perplexity;         /* 5: of each new point's conditional affinities to its k neighbours */
  int64_t k;                 /* 15: reference neighbours per new point (<= n, >= perplexity) */
  double early_exaggeration; /* 4: exaggeration of the first exaggeration_iter steps */
  int exaggeration_iter;     /* 0 */
  double exaggeration;       /* 1.5: exaggeration of the other steps */
  int n_iter;                /* 250: gradient steps in all, the exaggeration phase included */
  double learning_rate;      /* 0.1 */
  double momentum;           /* 0.8 (both phases, as openTSNE's transform) */
  double max_grad_norm;      /* 0.25: each point's gradient clipped to this norm; <= 0: none */
  double theta;              /* 0.5: Barnes-Hut opening angle over the reference; 0: exact */
  double dof;                /* <= 0: max(dim - 1, 1), as lt_tsne (must match the fit's) */
  LtTsneTransformInit init;
  uint64_t seed; /* random start only: everything else is deterministic */
} LtTsneTransformOptions;

typedef struct {
  double kl;      /* mean over the new points of KL(P_i || Q_i) at the end (no exaggeration) */
  int iterations; /* gradient steps taken */
} LtTsneTransformInfo;

/* Fills o with the defaults above. */
void lt_tsne_transform_defaults(LtTsneTransformOptions *o);

/* Places the m rows of Q [m x d] into the embedding Y [n x dim] of X [n x d] (all finite; dim
 * 1..3; X and Y only read). As openTSNE: each new point's k nearest reference rows (exact,
 * squared Euclidean), its conditional affinities p_i. at the given perplexity (rows summing to
 * 1, not symmetrised), a start from its neighbours' positions, then gradient descent on
 * KL(p_i. || q_i.) with q_ij = w(y_i, Y_j) / sum_l w(y_i, Y_l) over the reference points only:
 * the new points neither move the reference nor interact with each other. The gradient
 * (dof + 1) / (2 dof) (sum_j e p_ij w_ij (y_i - Y_j) - sum_j w_ij^2 (y_i - Y_j) / Z_i), e the
 * exaggeration, is openTSNE's scale (lt_tsne's divided by 4); its repulsion is summed over a
 * Barnes-Hut tree of Y built once. Each point's norm is clipped to max_grad_norm, then openTSNE's
 * update: gains +0.2 where the gradient's sign differs from the last update's, else x0.8 + 0.01;
 * update = momentum update - learning_rate gain grad. Writes Ynew [m x dim] (with init GIVEN it
 * holds the start on entry). Every point is optimised by one thread in a fixed order, so the
 * result is the same on any thread count. Returns LT_OK, LT_EVALUE (bad sizes or settings),
 * LT_ENOMEM, LT_EINTR (progress hook or Ctrl-C) or LT_ERANGE (a coordinate stopped being
 * finite). */
LtStatus lt_tsne_transform(const float *X, int64_t n, int64_t d, const float *Y, int dim,
                           const float *Q, int64_t m, const LtTsneTransformOptions *o, float *Ynew,
                           LtTsneTransformInfo *info, const LtEmbedProgress *prog);

/* ---- UMAP ------------------------------------------------------------------- */

/* Settings. The graph's and the curve's (n_neighbors .. negative_sample_rate) must be the fit's;
 * the defaults (lt_umap_transform_defaults) are umap-learn's. */
typedef struct {
  int64_t n_neighbors;       /* 15: reference neighbours per new point (umap-learn's count) */
  double local_connectivity; /* 1: the fit's; the transform uses max(0, it - 1), as umap-learn */
  double a, b;               /* the curve 1 / (1 + a d^(2b)); <= 0: fitted to min_dist, spread */
  double min_dist, spread;   /* 0.1, 1 */
  double repulsion_strength; /* 1 */
  int negative_sample_rate;  /* 5 */
  int n_epochs;              /* <= 0: 100 when m <= 10000, else 30 */
  double learning_rate;      /* 0.25: the starting step (umap-learn: the fit's rate / 4) */
  LtMetric metric;           /* euclidean or cosine */
  int init_given;            /* 1: Ynew holds the start; 0: the graph-weighted mean */
  uint64_t seed;
} LtUmapTransformOptions;

typedef struct {
  double a, b;
  int n_epochs;
  int64_t n_edges; /* new-to-reference edges left after pruning */
} LtUmapTransformInfo;

/* Fills o with the defaults above. */
void lt_umap_transform_defaults(LtUmapTransformOptions *o);

/* Places the m rows of Q [m x d] into the UMAP embedding Y [n x dim] of X [n x d] (all finite;
 * dim 1..64; X and Y only read), as umap-learn's transform: each new point's n_neighbors nearest
 * reference rows (exact, in the metric), rho and sigma of that row (local_connectivity reduced
 * by 1, sigma by bisection to log2(n_neighbors) over the 2nd..last neighbours), memberships
 * exp(-(d - rho) / sigma) of a bipartite graph (not symmetrised); the start at the
 * membership-weighted mean of the neighbours' positions, or at the first neighbour of
 * membership 1 (a duplicate of a reference row); edges lighter than max / n_epochs dropped;
 * then n_epochs of umap-learn's SGD on the new points only: each edge sampled in proportion to
 * its weight (attraction applied once: the reference does not move), negative_sample_rate
 * repulsions from uniformly drawn reference points per sample (none from a coincident one),
 * steps clipped to [-4, 4], the rate decaying linearly from learning_rate. Negative samples
 * come from a counter-based stream keyed by (seed, epoch, point): the same Ynew on any thread
 * count. Returns LT_OK, LT_EVALUE, LT_ENOMEM or LT_EINTR. */
LtStatus lt_umap_transform(const float *X, int64_t n, int64_t d, const float *Y, int dim,
                           const float *Q, int64_t m, const LtUmapTransformOptions *o, float *Ynew,
                           LtUmapTransformInfo *info, const LtEmbedProgress *prog);

#endif
