/* embed_sphere.h - embeddings and anchors on the hypersphere: cosine top-k, centroids, divergence,
 * spherical k-means (core, no Lua). */
#ifndef LUNETTE_EMBED_SPHERE_H
#define LUNETTE_EMBED_SPHERE_H
#include "embed/embed.h"

/* The k anchors of largest similarity <e_i, a_j> for each row of E [n x d]
 * among the rows of A [m x d]: idx [n x k] (0-based), sim [n x k],
 * descending, ties to the smaller index. With normalize, rows of both are
 * scaled to unit length first (cosine similarity); with exclude_self, E must
 * be A and row i never pairs with itself. Blocked sgemm, memory bounded.
 * Needs 1 <= k <= m (m - 1 with exclude_self). Returns LT_OK, LT_EVALUE,
 * LT_ENOMEM or LT_EINTR. */
LtStatus lt_sphere_topk(const float *E, int64_t n, const float *A, int64_t m, int64_t d, int64_t k,
                        int normalize, int exclude_self, int64_t *idx, float *sim);

/* Class centroids: out [C x d] = mean of the rows of E [n x d] that belong
 * to each class, zeros for an empty class; counts [C]. Membership is W
 * [n x C] (multi-label: nonzero = member) when W is given, else the labels
 * [n] (0..C-1; others ignored). Fixed-order sums. Returns LT_OK or
 * LT_ENOMEM. */
LtStatus lt_sphere_centroids(const float *E, int64_t n, int64_t d, const float *W,
                             const int64_t *labels, int64_t C, float *out, int64_t *counts);

/* Per-anchor divergence between m >= 2 embeddings of the same n items
 * (Es[e] each [n x d]) against anchors A [na x d]: out[a] = mean over
 * items of the unbiased standard deviation over e of 1 - <Es[e][i], A[a]>
 * (the hypersphere script's tri_stack.std(-1).mean(0)). Fixed-order sums.
 * out is [na]. Returns LT_OK, LT_EVALUE (m < 2), LT_ENOMEM or LT_EINTR. */
LtStatus lt_sphere_divergence(const float *const *Es, int64_t m, int64_t n, int64_t d,
                              const float *A, int64_t na, double *out);

/* lt_spherical_kmeans's settings (the defaults noted are the binding's). */
typedef struct {
  int max_iter; /* 100 */
  double tol;   /* stop when the mean cosine improves by less than tol: 1e-6 */
  uint64_t seed;
} LtKmeansOptions;

/* What lt_spherical_kmeans reports: the final mean cosine, the Lloyd steps. */
typedef struct {
  double mean_cos;
  int iterations;
} LtKmeansInfo;

/* Spherical k-means of the rows of X [n x d] (normalised first): k-means++
 * seeding on 1 - cos, then Lloyd steps assigning each row to the centroid
 * of largest cosine (ties to the smaller index) and renormalising the
 * member sums; an empty cluster takes the row farthest from its centroid.
 * Writes centroids [k x d] (unit rows) and labels [n] (0-based).
 * Deterministic for a seed. Needs 1 <= k <= n. info gets the final mean
 * cosine and the Lloyd steps taken. Returns LT_OK, LT_EVALUE, LT_ENOMEM or
 * LT_EINTR. */
LtStatus lt_spherical_kmeans(const float *X, int64_t n, int64_t d, int64_t k,
                             const LtKmeansOptions *o, float *centroids, int64_t *labels,
                             LtKmeansInfo *info);

#endif
