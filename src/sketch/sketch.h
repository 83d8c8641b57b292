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
 * Guarantee: ||A^T A - B^T B||_2 <= delta + rounding, where delta (the sum
 * of the shrinkages) <= ||A - A_k||_F^2 / (ell - k) as in exact arithmetic and
 * rounding bounds what float32 arithmetic and the storage dtype added (the
 * derivation is in sketch.c). */
typedef struct {
  int64_t ell, dim, cap, filled, rows_seen;
  LtFdVariant variant;
  LtDtype store;
  void *buf;       /* cap x dim, row-major, dtype store */
  double delta;    /* sum of the shrinkages so far */
  double rounding; /* rigorous bound on what rounding added to ||A^T A - B^T B||_2 */
  double sq_frob;  /* ||A||_F^2 of everything added (float64 sums) */
} LtFd;

/* Workspace for compressions, owned by the caller: sizes from lt_fd_work_*. */
typedef struct {
  float *gram;   /* cap x cap */
  double *dgram; /* cap x cap; after the eigensolve, row j is eigenvector j */
  double *eig;   /* cap */
  double *lwork; /* LAPACK dsyevd workspace: 1 + 6 cap + 2 cap^2 */
  void *liwork;  /* and its integer workspace: 3 + 5 cap lapack_ints */
  float *wmat;   /* cap x cap (rows c_i u_i^T) */
  float *block;  /* cap x LT_FD_BLOCK */
  float *out;    /* cap x LT_FD_BLOCK */
} LtFdWork;

#define LT_FD_BLOCK 2048

/* Rows of the buffer: 2 ell (fast) or ell (classic). */
int64_t lt_fd_capacity(LtFdVariant v, int64_t ell);
/* How many floats (gram, wmat, block, out) and doubles (dgram, eig and
 * dsyevd's workspaces) the workspace of a cap-row buffer needs: counts of
 * elements, not bytes. */
size_t lt_fd_work_floats(int64_t cap);
size_t lt_fd_work_doubles(int64_t cap);
/* Lays the workspace out over caller memory of those sizes (w points into it;
 * the caller keeps it alive). */
void lt_fd_work_init(LtFdWork *w, int64_t cap, float *floats, double *doubles);

/* Initialises fd over a zeroed, caller-owned buffer of lt_fd_capacity(v, ell)
 * x dim entries of dtype store. Never fails; the caller checked the sizes. */
void lt_fd_init(LtFd *fd, LtFdVariant v, int64_t ell, int64_t dim, LtDtype store, void *buf);
/* Checks rows (n x dim, any float dtype, any strides) for a sketch stored as
 * `store`: LT_EVALUE when one holds NaN/Inf, LT_ERANGE when a value would not
 * be finite once stored (float16 holds |x| < 65520), else LT_OK. */
LtStatus lt_fd_rows_check(LtDtype store, const Tensor *rows);
/* Adds n rows (n x dim, any float dtype, any strides). Rows are checked first
 * (lt_fd_rows_check): on LT_EVALUE/LT_ERANGE the sketch is unchanged. A
 * compression can still fail (LT_ELAPACK, or LT_ERANGE when squared norms
 * pass float32's range or the rows it would store float16's): the rows
 * before it are in, nothing of the compression is, the buffer is left
 * full (filled == cap) and the next add or finalize retries the compression
 * first, so no row is ever written past the buffer. LT_EINTR is reported
 * after a compression completes: the rows up to it are in, later ones not. */
LtStatus lt_fd_add(LtFd *fd, LtFdWork *w, const Tensor *rows);
/* Sketches other's buffered rows into fd (same dim, else LT_ESHAPE): fd then
 * sketches both streams, and counters and bounds add up. Fails as lt_fd_add. */
LtStatus lt_fd_merge(LtFd *fd, LtFdWork *w, const LtFd *other);
/* delta + rounding: a bound on ||A^T A - B^T B||_2 for A every row added and
 * B the buffer (after lt_fd_finalize, the sketch it wrote). */
double lt_fd_error_bound(const LtFd *fd);
/* A saved sketch: the fields fd:state() returns and sketch.from_state reads,
 * as given (variant and store are plain ints so that any value can be checked). */
typedef struct {
  int64_t ell, dim, filled, rows_seen;
  int variant; /* LtFdVariant */
  int store;   /* LtDtype of the buffer */
  double delta, rounding, sq_frob;
  const Tensor *rows; /* the buffered rows: filled x dim, any float dtype */
} LtFdState;

#define LT_FD_MAX_ELL 8192
/* Largest buffer a state may ask for (the tensor storage limit). */
#define LT_FD_MAX_BYTES ((uint64_t)1 << 46)

/* Checks every field of a saved state before anything is allocated: variant
 * and store known, 1 <= ell < dim, ell <= LT_FD_MAX_ELL, the buffer (2 ell or
 * ell rows of dim) within LT_FD_MAX_BYTES, 0 <= filled < capacity, filled <=
 * rows_seen, delta, rounding and sq_frob finite and >= 0 (all 0 when no row
 * was seen), rows a [filled x dim] float tensor, finite, within the storage
 * range, with ||rows||_F^2 at most what sq_frob and rounding allow. Returns
 * LT_OK, or LT_EVALUE with msg (n bytes) saying which field and why, starting
 * with its name ("rows_seen must be >= 0, got -3"). */
LtStatus lt_fd_state_check(const LtFdState *s, char *msg, size_t n);
/* Restores a state that passed lt_fd_state_check into fd, initialised by
 * lt_fd_init with the state's variant, ell, dim and store over a zeroed buffer.
 * Rows the storage dtype cannot hold exactly are rounded, and what that costs
 * goes into fd->rounding (0 for the rows of fd:state()). */
void lt_fd_restore(LtFd *fd, const LtFdState *s);

/* Compresses the buffer to at most ell rows (shrinking by the (ell+1)-th
 * squared singular value, so ell directions survive) and writes them into
 * out (ell x dim float32, zero rows at the end when rank < ell). Fails as a
 * compression in lt_fd_add does, leaving the buffer unchanged; on LT_EINTR the
 * buffer is compressed but out is not written. */
LtStatus lt_fd_finalize(LtFd *fd, LtFdWork *w, Tensor *out);

/* ||M||_2 for M = A^T A - B^T B, both (n x dim), (m x dim) float32/float64
 * contiguous, without forming dim x dim when dim is large: exact (Gram and
 * LAPACKE) when dim <= 4096, else `iters` steps of power iteration (a lower
 * estimate); iters >= 1 (the binding checks it). Returns a negative value on
 * allocation failure, a LAPACK failure, or iters < 1 when the power iteration
 * is taken. */
double lt_fd_cov_error(const Tensor *A, const Tensor *B, int iters);

/* The projections fill a contiguous float32 [ell x dim] tensor out from rng
 * (a seed decides them); they never fail. */
/* Fills out (ell x dim float32) with a Gaussian projection N(0, 1/ell). */
void lt_proj_gaussian(Tensor *out, LtRng *rng);
/* Achlioptas: +-sqrt(3/ell) with probability 1/6 each, 0 otherwise. */
void lt_proj_sparse_sign(Tensor *out, LtRng *rng);
/* CountSketch: one +-1 per column in a uniformly chosen row. */
void lt_proj_countsketch(Tensor *out, LtRng *rng);
#endif
