/* embed.h - what the embedding kernels share: progress hooks, sparse graphs, hashing, row checks
 * (core, no Lua). */
#ifndef LUNETTE_EMBED_H
#define LUNETTE_EMBED_H
#include <stdint.h>
#include "tensor/tensor.h"

/* The embed kernels' hot loops are LT_HOT (hot.h: x86-64-v4, x86-64-v3 and baseline clones,
 * picked at load time); results are the same on any thread count on a given machine, not across
 * the code paths. */
#define LT_EMBED_HOT LT_HOT

/* Long work (kNN, t-SNE, UMAP) reports progress through this hook, always
 * from the calling thread and never inside a parallel region. `stage` names
 * the phase ("knn", "affinities", "optimize", ...), done/total count its
 * steps. The hook returns 0 to go on and nonzero to stop, which makes the
 * kernel free what it allocated and return LT_EINTR. fn may be NULL. */
typedef int (*LtEmbedProgressFn)(void *ctx, const char *stage, int64_t done, int64_t total);
typedef struct {
  LtEmbedProgressFn fn;
  void *ctx;
} LtEmbedProgress;

/* Calls the hook (when there is one) and polls Ctrl-C; LT_EINTR means stop. */
LtStatus lt_embed_tick(const LtEmbedProgress *p, const char *stage, int64_t done, int64_t total);

/* A square sparse matrix in compressed rows: row i holds the columns
 * indices[indptr[i] .. indptr[i+1]) (ascending, distinct) and their values.
 * Built and freed by the embed kernels (lt_csr_free releases the arrays). */
typedef struct {
  int64_t n;
  int64_t *indptr;  /* n + 1 */
  int32_t *indices; /* nnz */
  float *data;      /* nnz */
} LtCsr;

/* Stored entries of g (indptr[n]); 0 for a zeroed, never-built LtCsr. */
int64_t lt_csr_nnz(const LtCsr *g);
/* Frees g's three arrays and zeroes g; safe on a zeroed LtCsr and idempotent. */
void lt_csr_free(LtCsr *g);
/* Builds g = sym(A) from a dense-by-row sparse matrix A given as k entries
 * per row (cols [n x k] 0-based, vals [n x k]; entries with col < 0 or
 * val == 0 are skipped): with mix = 1 g = A + A^T - A∘A^T (fuzzy union),
 * with mix = -1 g = A + A^T (plain sum, what t-SNE uses), other mix in
 * [0,1] blends union and intersection as UMAP's set_op_mix_ratio.
 * Deterministic. Returns LT_OK, LT_EVALUE (n or k negative, or n past
 * INT32_MAX), LT_EOVERFLOW (2 n k entries overflow a size) or LT_ENOMEM;
 * on failure g is left empty. */
LtStatus lt_csr_symmetrize(LtCsr *g, int64_t n, int64_t k, const int64_t *cols, const float *vals,
                           double mix);

/* 64-bit mixing (splitmix64 finaliser) for counter-based random streams:
 * the same (seed, a, b) always gives the same number, on any thread. */
uint64_t lt_embed_hash(uint64_t seed, uint64_t a, uint64_t b);

/* Returns -1 when every element of the row-major [n x d] matrix is finite,
 * else the 0-based row of the first NaN or infinity. */
int64_t lt_embed_first_bad_row(const float *x, int64_t n, int64_t d);

/* Squared Euclidean distance between two float rows of length d, summed in
 * a fixed order (so the same pair gives the same bits on any thread). */
float lt_embed_sqdist(const float *a, const float *b, int64_t d);

/* Twice the cosine distance, 2 - 2 cos, of two rows that are each unit or
 * zero (lt_embed_normalize_rows' output): |a - b|^2 for two unit rows, and
 * 2 (cosine distance 1, scikit-learn's value) when either row is zero. The
 * kNN kernels rank and report cosine neighbours by it. */
float lt_embed_cosdist2(const float *a, const float *b, int64_t d);

/* out[i] = sum of squares of row i of x [n x d] (double accumulation). */
void lt_embed_row_norms2(const float *x, int64_t n, int64_t d, float *out);

/* Copies x [n x d] into out with each row scaled to unit L2 norm (rows of
 * norm 0 stay 0). out may equal x. */
void lt_embed_normalize_rows(const float *x, int64_t n, int64_t d, float *out);

#endif
