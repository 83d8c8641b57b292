/* embed_knn.h - k nearest neighbours: exact by blocked GEMM, approximate by NN-descent, recall
 * (core, no Lua). */
#ifndef LUNETTE_EMBED_KNN_H
#define LUNETTE_EMBED_KNN_H
#include "embed/embed.h"

typedef enum {
  LT_METRIC_SQEUCLIDEAN = 0,
  LT_METRIC_EUCLIDEAN,
  LT_METRIC_COSINE,
  LT_NMETRIC
} LtMetric;
typedef enum { LT_KNN_AUTO = 0, LT_KNN_EXACT, LT_KNN_APPROX } LtKnnMethod;

/* Exact k nearest neighbours of each query row Q [m x d] among the data rows
 * X [n x d]. With exclude_self, Q must be X (m == n) and row i is not its own
 * neighbour. Writes idx [m x k] (0-based) and dist [m x k] (in the metric:
 * squared Euclidean, Euclidean, or cosine distance 1 - cos, which is 1
 * between a zero row and any other row, as scikit-learn's), each row
 * ascending, ties broken by the smaller index. Candidates are screened with
 * |q|^2 + |x|^2 - 2 q.x from sgemm in tiles of bounded size (about 8 MB),
 * and the k kept are re-measured directly, so the distances returned are
 * exact. Needs k <= n (k <= n - 1 with exclude_self). Returns LT_OK,
 * LT_ENOMEM or LT_EINTR (progress hook or Ctrl-C). */
LtStatus lt_knn_exact(const float *X, int64_t n, const float *Q, int64_t m, int64_t d, int64_t k,
                      int exclude_self, LtMetric metric, int64_t *idx, float *dist,
                      const LtEmbedProgress *prog);

/* NN-descent settings; a field <= 0 takes its default (the binding bounds them: n_trees <= 256,
 * leaf_size <= 10000, max_iter and max_candidates <= 1000, delta <= 1). */
typedef struct {
  int n_trees;        /* random-projection trees for the start graph: 4 + n^(1/4)/2, at most 16 */
  int leaf_size;      /* max(10, k) */
  int max_iter;       /* max(5, round(log2 n)) */
  int max_candidates; /* min(30, k) */
  double delta;       /* stop when fewer than delta*n*k entries changed: 0.01 */
  uint64_t seed;
} LtNndOptions;

/* Approximate k nearest neighbours of every row of X [n x d] among the
 * others (never itself): random-projection forest, then NN-descent local
 * joins (Dong, Charikar & Li 2011, as pynndescent). Output as
 * lt_knn_exact: every entry is filled, since lists the forest leaves short
 * (a tiny leaf_size) are topped up with random points before the rounds.
 * Deterministic for a seed whatever the thread count: the
 * neighbour lists after each round are the k best of a candidate set that
 * does not depend on scheduling. Needs 1 <= k <= n - 1. Returns LT_OK,
 * LT_ENOMEM or LT_EINTR. */
LtStatus lt_knn_nndescent(const float *X, int64_t n, int64_t d, int64_t k, LtMetric metric,
                          const LtNndOptions *o, int64_t *idx, float *dist,
                          const LtEmbedProgress *prog);

/* The kNN graph of X (each row's k nearest other rows) by the method asked
 * for; auto picks exact for n < 4096 or when a rough cost model says the
 * sgemm screen (~n^2 d) is cheaper than NN-descent (~n min(k,30)^2 d per
 * round), else NN-descent seeded with seed. idx and dist are [n x k] as
 * lt_knn_exact's with exclude_self; returns as the method chosen (LT_EVALUE
 * unless 1 <= k <= n - 1). */
LtStatus lt_knn_graph(const float *X, int64_t n, int64_t d, int64_t k, LtMetric metric,
                      LtKnnMethod method, uint64_t seed, int64_t *idx, float *dist,
                      const LtEmbedProgress *prog);

/* Mean over rows of |A_i ∩ B_i| / k for two neighbour index lists
 * [n x ka] and [n x kb] (k = kb, the reference; entries < 0 ignored). */
double lt_knn_recall(const int64_t *a, int64_t ka, const int64_t *b, int64_t kb, int64_t n);

#endif
