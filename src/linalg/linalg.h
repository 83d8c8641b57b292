/* linalg.h - matrix products (cblas) and decompositions (LAPACKE) (core, no Lua). */
#ifndef LUNETTE_LINALG_H
#define LUNETTE_LINALG_H
#include "tensor/tensor.h"

/* ---- products ------------------------------------------------------------
 * Float products run in F32 (cblas_s*) or F64 (cblas_d*); the caller converts
 * other dtypes first. Integer products run in I64 with wrapping arithmetic. */

/* True when the last two dims of t (ndim >= 2) can go to BLAS as they are:
 * unit column stride (row-major) or unit row stride (a transposed view),
 * with a leading dimension BLAS accepts. Batch dims may have any stride.
 * When it is false the caller copies t to a contiguous tensor. */
int lt_linalg_blas_ok(const Tensor *t);

/* out = a @ b for every batch index. a is [..., m, k], b is [..., k, n] and
 * out is a contiguous [..., m, n]; all three have the same ndim >= 2 and the
 * same batch dims (broadcast batches are expanded by the caller: stride 0).
 * Floats: a, b, out all F32 or all F64, a and b pass lt_linalg_blas_ok; one
 * gemm (gemv for a single row or column) per batch, or a single gemm for
 * all batches when b is shared and a's batches stack into rows. Integers:
 * all I64, any strides. k = 0 gives zeros. Never allocates.
 * Fails with LT_ESHAPE, LT_EDTYPE, LT_EVALUE (layout), LT_ERANGE (a size
 * beyond BLAS's int), LT_EINTR. */
LtStatus lt_matmul(Tensor *out, const Tensor *a, const Tensor *b);

/* out (0-d) = sum a[i] * b[i] for 1-d a, b of equal length, any strides
 * (0 allowed), same dtype F32, F64 or I64. F32 accumulates in double; the
 * result is stored in out's dtype. LT_ESHAPE or LT_EDTYPE otherwise. */
LtStatus lt_dot(Tensor *out, const Tensor *a, const Tensor *b);

/* out[i, j] = u[i] * v[j]: u is [m], v is [n] (any strides), out is a
 * contiguous [m x n]; all three F32, F64 or I64 alike (I64 wraps). LT_ESHAPE,
 * LT_EDTYPE, or LT_EVALUE for a non-contiguous out. */
LtStatus lt_outer(Tensor *out, const Tensor *u, const Tensor *v);

/* ---- similarity and distance ------------------------------------------- */

/* out = cos(a_i, b_j) as an [n x m] matrix. a [n x d] and b [m x d] are
 * contiguous scratch copies of out's dtype (F32 or F64) that are destroyed:
 * every row is divided by max(||row||, eps), then one gemm a @ b^T.
 * LT_ESHAPE, LT_EDTYPE, LT_EVALUE (not contiguous), LT_ERANGE (beyond int). */
LtStatus lt_linalg_cosine_matrix(Tensor *out, Tensor *a, Tensor *b, double eps);

/* Cosine similarity of 1-d a and b (same length, any dtype and strides),
 * a.b / (max(|a|, eps) * max(|b|, eps)), computed in double into *out.
 * LT_ESHAPE unless both are 1-d of one length. */
LtStatus lt_linalg_cosine(const Tensor *a, const Tensor *b, double eps, double *out);

/* Bytes of scratch lt_linalg_cdist needs for this a and out: row norms of b and of one block
 * of a, plus a conversion buffer when a is not already BLAS-ready in out's dtype. */
size_t lt_linalg_cdist_scratch(const Tensor *a, const Tensor *out);

/* out[i, j] = ||a_i - b_j|| (squared when `squared`), as ||a||^2 + ||b||^2
 * - 2 a.b clamped at 0. a is [n x d] of any dtype and strides; b is a
 * contiguous [m x d] of out's dtype (F32 or F64); out is a contiguous
 * [n x m]. a is processed in row blocks: a block is converted into the
 * scratch when a is not already a contiguous tensor of out's dtype, and its
 * products with b are written straight into out, so the extra memory is the
 * scratch (at most ~32 MB plus the row norms), never an [n x m] temporary.
 * scratch holds lt_linalg_cdist_scratch(a, out) bytes, aligned to 8. */
LtStatus lt_linalg_cdist(Tensor *out, const Tensor *a, const Tensor *b, int squared, void *scratch,
                         size_t scratch_bytes);

/* ---- norms -------------------------------------------------------------- */

typedef enum {
  LT_NORM_FRO,
  LT_NORM_NUC,
  LT_NORM_SPEC,
  LT_NORM_SPEC_MIN,
  LT_NORM_COL_MAX,
  LT_NORM_COL_MIN,
  LT_NORM_ROW_MAX,
  LT_NORM_ROW_MIN
} LtMatrixNorm;

/* (sum |x|^p)^(1/p) over every element of x (any dtype and strides), in
 * double, into *out. p = INFINITY / -INFINITY: max / min |x|; p = 0: count
 * of non-zeros. p = 2 rescales to avoid overflow. LT_EVALUE for a NaN p,
 * LT_EINTR when interrupted. */
LtStatus lt_linalg_vector_norm(const Tensor *x, double p, double *out);

/* Norm of the 2-d a into *out: Frobenius, nuclear (sum of singular values),
 * spectral (largest / smallest singular value), max/min absolute column sum
 * (ord 1 / -1) or row sum (ord inf / -inf). For NUC, SPEC and SPEC_MIN, a
 * must be a contiguous F32/F64 scratch copy and is destroyed; the singular
 * values come from LAPACK (see below for its workspace) unless a holds NaN
 * (result NaN) or Inf (result Inf; NaN for SPEC_MIN). Other orders read a in
 * place. LT_ESHAPE unless a is 2-d; for the SVD orders LT_EDTYPE, LT_EVALUE
 * (not contiguous), LT_ENOMEM or LT_ELAPACK. */
LtStatus lt_linalg_matrix_norm(Tensor *a, LtMatrixNorm ord, double *out);

/* ---- decompositions (LAPACKE) -------------------------------------------
 * Every function takes `a` as a contiguous row-major F32 or F64 matrix that
 * it destroys (LAPACK works in place); outputs are contiguous tensors of a's
 * dtype that the caller allocated with the shapes given. These are the one
 * exception to "kernels never allocate": LAPACKE allocates its own
 * workspace, and pivots, Householder factors and singular values are
 * malloc'd here (LT_ENOMEM when that fails). Return LT_ELAPACK when LAPACK
 * reports info > 0, whose meaning each function states; LT_EVALUE on NaN or
 * Inf input where LAPACK could loop (svd, eigh, lstsq); LT_ERANGE when a size
 * does not fit LAPACK's int. */

/* 1 when every element of t (any dtype and strides) is finite. */
int lt_linalg_all_finite(const Tensor *t);

/* a [m x n] = U diag(S) Vt by divide and conquer (gesdd), k = min(m, n).
 * s is [k], descending. Thin: u [m x k], vt [k x n]; full: u [m x m],
 * vt [n x n]. u and vt may both be NULL for singular values only.
 * LT_ELAPACK: did not converge; LT_EINTR: interrupted while setting the
 * identity bases of an empty a. */
LtStatus lt_linalg_svd(Tensor *a, Tensor *u, Tensor *s, Tensor *vt, int full);

/* Symmetric eigendecomposition (syevd) of the [n x n] a, reading its lower
 * triangle (upper when `upper`): w [n] ascending, and a is overwritten with
 * the orthonormal eigenvectors as columns. LT_ELAPACK: did not converge. */
LtStatus lt_linalg_eigh(Tensor *a, Tensor *w, int upper);

/* Reduced QR (geqrf + orgqr) of a [m x n], k = min(m, n): q [m x k] with
 * orthonormal columns, r [k x n] upper triangular. */
LtStatus lt_linalg_qr(Tensor *a, Tensor *q, Tensor *r);

/* Solves a x = b (gesv) for the [n x n] a; b is [n] or [n x nrhs] of a's
 * dtype, contiguous, and is overwritten by x. LT_ELAPACK: a is singular. */
LtStatus lt_linalg_solve(Tensor *a, Tensor *b);

/* Minimum-norm least squares (gelsd) for a [m x n]: b is [max(m,n)] or
 * [max(m,n) x nrhs] whose first m rows hold the right-hand side; on return
 * its first n rows hold x. Singular values below eps * max(m,n) * s_max
 * count as zero; *rank receives the effective rank. LT_ELAPACK: the SVD did
 * not converge. */
LtStatus lt_linalg_lstsq(Tensor *a, Tensor *b, int64_t *rank);

/* Inverts the [n x n] a in place (getrf + getri). LT_ELAPACK: singular. */
LtStatus lt_linalg_inv(Tensor *a);

/* sign and log|det| of the [n x n] a from its LU factors (getrf); a
 * singular matrix gives sign 0 and -inf, not an error. det = sign * exp is
 * computed as the product of the pivots (may overflow where slogdet does
 * not). det may be NULL. */
LtStatus lt_linalg_slogdet(Tensor *a, double *sign, double *logabsdet, double *det);

/* Cholesky factor (potrf) of the symmetric positive-definite [n x n] a, in
 * place: lower L with a = L L^T (reading the lower triangle), or upper U with
 * a = U^T U when `upper`; the other triangle is zeroed. LT_ELAPACK: a is not
 * positive definite. */
LtStatus lt_linalg_cholesky(Tensor *a, int upper);

/* Which OpenBLAS this process runs (loading it if not yet loaded): the kernel set it picked for
 * this processor (openblas_get_corename, e.g. "Zen" or "SkylakeX"; OPENBLAS_CORETYPE in the
 * environment overrides the pick), its build configuration and its thread count. The strings
 * belong to OpenBLAS. */
void lt_linalg_blas_info(const char **core, const char **config, int *threads);

#endif
