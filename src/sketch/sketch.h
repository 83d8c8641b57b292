/* sketch.h - Frequent Directions matrix sketches and random projections (core, no Lua). */
#ifndef LUNETTE_SKETCH_H
#define LUNETTE_SKETCH_H
#include "tensor/random.h"
#include "tensor/tensor.h"

typedef enum { LT_FD_FAST = 0, LT_FD_CLASSIC = 1 } LtFdVariant;

/* A Frequent Directions sketch of the rows of a stream A (n x dim).
 * fast:    Ghashami, Liberty, Phillips, Woodruff 2016 - a buffer of 2*ell
 *          rows; when full, one eigendecomposition of its Gram matrix shrinks
 *          every squared singular value by the ell-th largest, leaving at most
 *          ell-1 rows: O(dim*ell) amortised per row.
 * classic: Liberty 2013 as the SAGE code runs it - an ell-row buffer shrunk
 *          by the smallest squared singular value whenever it is full (one
 *          decomposition per row once full).
 * The buffer lives in `buf` (cap x dim, dtype `store`: float32, float16 or
 * bfloat16) owned by the caller; arithmetic is float32 (Gram in float32 via
 * OpenBLAS, eigenproblem in float64 via LAPACKE). Rows of the buffer are
 * always sigma_i * v_i^T after a compression (not orthonormalised).
 * Guarantee: ||A^T A - B^T B||_2 <= delta <= ||A - A_k||_F^2 / (ell - k). */
typedef struct {
  int64_t ell, dim, cap, filled, rows_seen;
  LtFdVariant variant;
  LtDtype store;
  void *buf;          /* cap x dim, row-major, dtype store */
  double delta;       /* sum of the shrinkages so far: the certified bound */
  double sq_frob;     /* ||A||_F^2 of everything added (float64 sums) */
} LtFd;

/* Workspace for compressions, owned by the caller: sizes from lt_fd_work_*. */
typedef struct {
  float *gram;        /* cap x cap */
  double *dgram;      /* cap x cap; after the eigensolve, row j is eigenvector j */
  double *eig;        /* cap */
  double *lwork;      /* LAPACK dsyevd workspace: 1 + 6 cap + 2 cap^2 */
  void *liwork;       /* and its integer workspace: 3 + 5 cap lapack_ints */
  float *wmat;        /* cap x cap (rows c_i u_i^T) */
  float *block;       /* cap x LT_FD_BLOCK */
  float *out;         /* cap x LT_FD_BLOCK */
} LtFdWork;

#define LT_FD_BLOCK 2048

int64_t lt_fd_capacity(LtFdVariant v, int64_t ell);
/* Bytes of float workspace (gram, wmat, block, out) and double workspace
 * (dgram, eig) a sketch of this shape needs. */
size_t lt_fd_work_floats(int64_t cap);
size_t lt_fd_work_doubles(int64_t cap);
/* Lays the workspace out over caller memory. */
void lt_fd_work_init(LtFdWork *w, int64_t cap, float *floats, double *doubles);

/* Initialises fd over a zeroed buffer. */
void lt_fd_init(LtFd *fd, LtFdVariant v, int64_t ell, int64_t dim, LtDtype store, void *buf);
/* Adds n rows (n x dim, any float dtype, any strides). Rows are checked for
 * NaN/Inf first: LT_EVALUE and the sketch is unchanged. */
LtStatus lt_fd_add(LtFd *fd, LtFdWork *w, const Tensor *rows);
/* Compresses the buffer to at most ell rows (shrinking by the (ell+1)-th
 * squared singular value, so ell directions survive) and writes them into
 * out (ell x dim float32, zero rows at the end when rank < ell). */
LtStatus lt_fd_finalize(LtFd *fd, LtFdWork *w, Tensor *out);

/* ||M||_2 for M = A^T A - B^T B, both (n x dim), (m x dim) float32/float64
 * contiguous, without forming dim x dim when dim is large: exact (Gram and
 * LAPACKE) when dim <= 4096, else `iters` steps of power iteration (a lower
 * estimate). Returns a negative value on allocation failure. */
double lt_fd_cov_error(const Tensor *A, const Tensor *B, int iters);

/* Fills out (ell x dim float32) with a Gaussian projection N(0, 1/ell). */
void lt_proj_gaussian(Tensor *out, LtRng *rng);
/* Achlioptas: +-sqrt(3/ell) with probability 1/6 each, 0 otherwise. */
void lt_proj_sparse_sign(Tensor *out, LtRng *rng);
/* CountSketch: one +-1 per column in a uniformly chosen row. */
void lt_proj_countsketch(Tensor *out, LtRng *rng);
#endif
