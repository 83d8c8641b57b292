/* embed_bhtree.h - Barnes-Hut space-partitioning tree (binary/quad/oct) for t-SNE repulsion (core,
 * no Lua). */
#ifndef LUNETTE_EMBED_BHTREE_H
#define LUNETTE_EMBED_BHTREE_H
#include "embed/embed.h"

/* One cell, stored in depth-first order: its children follow it and `next`
 * is the index just past its subtree, so a traversal needs no stack. */
typedef struct {
  float com[3];  /* centre of mass */
  float width2;  /* squared largest side of its points' bounding box */
  int32_t start; /* its points are pos[start .. start + count) */
  int32_t count;
  int32_t next;
  int32_t leaf; /* 0 internal, 1 leaf (points summed one by one), 2 leaf at full depth (coincident
                   points) */
} LtBhNode;

/* The tree for n points of dimension 1..3 and the buffers it reuses from
 * one build to the next (allocated once by lt_bhtree_init). */
typedef struct {
  int dim;
  int64_t n, nnodes;
  LtBhNode *nodes; /* 2n + 1 */
  int32_t *order;  /* order[s]: the original index of the point at sorted position s */
  float *pos;      /* [n x dim] positions in sorted (Morton) order */
  uint64_t *keys, *tmp_keys;
  int32_t *tmp_order;
} LtBhTree;

/* Allocates t's buffers for n points of dimension dim. LT_EVALUE when dim
 * is not 1..3 or n not 1..INT32_MAX/2, LT_ENOMEM; on failure t is left
 * zeroed (nothing to free). */
LtStatus lt_bhtree_init(LtBhTree *t, int64_t n, int dim);
/* Frees t's buffers and zeroes it; safe on a zeroed tree and idempotent. */
void lt_bhtree_free(LtBhTree *t);

/* Rebuilds the tree over Y [n x dim]: Morton codes on the bounding square,
 * a stable radix sort, then cells split until they hold at most 8 points
 * (cells with a single child are skipped). Deterministic, O(n log n). */
void lt_bhtree_build(LtBhTree *t, const float *Y);

/* Student-t repulsion for every point i (original order):
 *   zrow[i] = sum_j w_ij,  neg[i] = sum_j w_ij^2 (y_i - y_j),
 * with w = (1 + d^2/dof)^(-(dof+1)/2), a cell whose points span s (largest
 * side of their bounding box) standing for them all when s < theta * r, r
 * the distance from y_i to their centre of mass (theta = 0: exact). Points
 * are handled in groups sharing one interaction list (see the .c file), and
 * each point's sums are computed by one thread in a fixed order, so the
 * result does not depend on the thread count. neg is [n x dim]. Returns
 * LT_OK or LT_ENOMEM (per-thread list buffers). */
LtStatus lt_bhtree_repulsion(const LtBhTree *t, double theta, double dof, double *neg,
                             double *zrow);

#endif
