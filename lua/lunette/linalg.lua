-- lunette.linalg: matrix products, decompositions (svd, eigh, qr, ...), norms, cosine similarity and cdist.
--
-- The C half checks every argument and option table itself, so errors point
-- at the caller's line:
--   matmul(a, b) mm bmm mv dot outer      products (also tensor methods: a:matmul(b))
--   svd(A, {full=false}) -> U, S, Vt      svdvals(A) -> S
--   eigh(A, {upper=false}) -> w, V        qr(A) -> Q, R
--   solve(A, B)   lstsq(A, B) -> X, rank   inv(A)   det(A)   slogdet(A) -> sign, logabsdet
--   cholesky(A, {upper=false})            norm(A, ord)
--   cosine_similarity(A, B, eps)          cdist(A, B, {squared=false})
--   blas_info() -> {core, config, threads}
local C = require "lunette._linalg"

local M = {}
for k, v in pairs(C) do M[k] = v end

--- matmul(a, b) -> Tensor | number
-- The matrix product as numpy's matmul: 1-d . 1-d is a number, a 1-d
-- operand acts as a row (left) or column (right), dims before the last two
-- broadcast as batch dims. Floats compute in their dtype (integers in
-- float32, float16 results converted back). Also a:matmul(b). Fails with
-- both shapes named when the inner sizes differ: [3x4] @ [5x2].

--- mm(a, b) -> Tensor
-- matmul restricted to two 2-d tensors [m x k] @ [k x n]; also a:mm(b).

--- bmm(a, b) -> Tensor
-- Batched product of 3-d tensors [B x m x k] @ [B x k x n] with the same B;
-- also a:bmm(b).

--- mv(A, x) -> Tensor
-- The product of a 2-d A [m x n] and a 1-d x [n]: a 1-d [m]; also A:mv(x).

--- dot(a, b) -> number
-- The inner product of two 1-d tensors of equal length (an integer for
-- integer dtypes); also a:dot(b).

--- outer(a, b) -> Tensor [n x m]
-- The outer product a bᵀ of two 1-d tensors; also a:outer(b).

--- svd(A [, {full = false}]) -> U, S, Vt
-- The singular value decomposition A = U diag(S) Vt of a 2-d A [m x n]
-- (LAPACK gesdd; float64 stays float64, other dtypes compute in float32):
-- reduced U [m x k], S [k] descending, Vt [k x n] with k = min(m, n), or
-- square U and Vt when full. Fails on NaN/inf entries or no convergence.

--- svdvals(A) -> S
-- The singular values of a 2-d A, descending (no vectors computed).

--- eigh(A [, {upper = false}]) -> w, V
-- Eigenvalues (ascending) and eigenvectors (the columns of V) of a
-- symmetric matrix, reading its lower (or upper) triangle only.

--- qr(A) -> Q, R
-- The reduced QR decomposition: Q [m x k] with orthonormal columns, R
-- [k x n] upper triangular, k = min(m, n).

--- solve(A, B) -> X
-- The solution of A X = B for a square A and a 1-d or 2-d B with as many
-- rows; fails with "matrix is singular" when A is.

--- lstsq(A, B) -> X, rank
-- The least-squares (minimum-norm) solution of A X ≈ B for any [m x n] A
-- (LAPACK gelsd) and the effective rank of A.

--- inv(A) -> Tensor
-- The inverse of a square matrix; fails when it is singular.

--- det(A) -> number
-- The determinant of a square matrix (through its LU factorisation).

--- slogdet(A) -> sign, logabsdet
-- The sign (-1, 0 or 1) and log |det A| of a square matrix, without
-- overflow for large ones.

--- cholesky(A [, {upper = false}]) -> L
-- The Cholesky factor of a symmetric positive-definite matrix: lower L with
-- A = L Lᵀ, or upper U with A = Uᵀ U; fails when A is not positive definite
-- or holds NaN.

--- norm(A [, ord]) -> number
-- A vector norm (any numeric ord, default 2, math.huge for max |x|) for a
-- 1-d tensor, a matrix norm ("fro" default, "nuc", 1, -1, 2, -2,
-- math.huge, -math.huge) for a 2-d one; other shapes raise an error. The
-- tensor method t:norm is the reduction instead.

--- cosine_similarity(A, B [, eps = 1e-8]) -> Tensor | number
-- Cosine similarities of the rows of A [n x d] and B [m x d] as an [n x m]
-- matrix (a 1-d operand counts as one row and its dim is dropped; two 1-d
-- give a number); norms are floored at eps (a number or {eps = ...}).

--- cdist(A, B [, {squared = false}]) -> Tensor [n x m]
-- Euclidean (or squared) distances between the rows of A [n x d] and B [m x d].

--- blas_info() -> {core = string, config = string, threads = integer}
-- The OpenBLAS this process runs (loaded on first use): `core` is the kernel set it picked for
-- this processor at run time (openblas_get_corename, e.g. "Zen", "Haswell", "SkylakeX";
-- OPENBLAS_CORETYPE in the environment forces another), `config` its build configuration, and
-- `threads` its thread count (OPENBLAS_NUM_THREADS). `make bench` reports it beside numpy's.

local EPS = { float32 = 1.1920928955078125e-07, float64 = 2.220446049250313e-16 }

-- The default cut-off below which singular values count as zero.
local function default_tol(A, S)
  return S[1] * math.max(A:size(1), A:size(2)) * EPS[S:dtype()]
end

local function check_opts(fname, opts, key)
  return require("lunette.options").check(fname, 2, opts, { key }) or {}
end

-- matrix_rank(A [, {tol}]) -> integer
-- The number of singular values of A above tol (default max(m, n) * eps *
-- the largest singular value, eps of the dtype); unknown options raise an error.
function M.matrix_rank(A, opts)
  opts = check_opts("matrix_rank", opts, "tol")
  local S = C.svdvals(A)
  if S:numel() == 0 then return 0 end
  return S:gt(opts.tol or default_tol(A, S)):sum()
end

-- pinv(A [, {rcond}]) -> Tensor [n x m]
-- The Moore-Penrose pseudo-inverse V diag(1/S) Uᵀ, dropping singular values
-- at or below rcond * the largest (default the tolerance of matrix_rank).
function M.pinv(A, opts)
  opts = check_opts("pinv", opts, "rcond")
  local U, S, Vt = C.svd(A)
  if S:numel() == 0 then return C.matmul(Vt:t(), U:t()) end
  local cutoff = opts.rcond and opts.rcond * S[1] or default_tol(A, S)
  local Sinv = S:gt(cutoff):where(S:reciprocal(), 0)
  return C.matmul(Vt:t() * Sinv, U:t())
end

return M
