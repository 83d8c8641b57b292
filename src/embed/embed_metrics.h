/* embed_metrics.h - how well an embedding keeps neighbourhoods: trustworthiness, continuity, kNN
 * preservation (core, no Lua). */
#ifndef LUNETTE_EMBED_METRICS_H
#define LUNETTE_EMBED_METRICS_H
#include "embed/embed.h"

typedef struct {
  double trustworthiness;  /* Venna & Kaski; scikit-learn's sklearn.manifold.trustworthiness */
  double continuity;       /* the same with the two spaces swapped */
  double knn_preservation; /* mean |N_k^X(i) ∩ N_k^Y(i)| / k */
} LtEmbedQuality;

/* Compares the neighbourhoods of the n rows of X [n x dx] (input space) and
 * Y [n x dy] (embedding), Euclidean, k neighbours, 1 <= k < n/2:
 *   T = 1 - 2/(n k (2n - 3k - 1)) sum_i sum_{j in N_Y(i) \ N_X(i)} (r_X(i, j) - k)
 * where r_X(i, j) is j's rank among i's neighbours in X (1 = nearest;
 * equal distances rank by index); continuity swaps X and Y. Distances are
 * computed in float64 by row blocks (memory O(n (dx + dy)) plus one block
 * of rows); time O(n^2 (dx + dy + k)). Returns LT_OK, LT_EVALUE, LT_ENOMEM
 * or LT_EINTR. */
LtStatus lt_embed_quality(const float *X, int64_t dx, const float *Y, int64_t dy, int64_t n,
                          int64_t k, LtEmbedQuality *q, const LtEmbedProgress *prog);

#endif
