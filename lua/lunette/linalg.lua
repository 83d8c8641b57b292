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
local C = require "lunette._linalg"

local M = {}
for k, v in pairs(C) do M[k] = v end

local EPS = { float32 = 1.1920928955078125e-07, float64 = 2.220446049250313e-16 }

-- The default cut-off below which singular values count as zero.
local function default_tol(A, S)
  return S[1] * math.max(A:size(1), A:size(2)) * EPS[S:dtype()]
end

local function check_opts(fname, opts, key)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(("bad argument #2 to '%s' (options table expected, got %s)"):format(fname, type(opts)), 3)
  end
  for k in pairs(opts) do
    if k ~= key then
      error(("bad argument #2 to '%s' (unknown option '%s' (expected %s))"):format(fname, tostring(k), key), 3)
    end
  end
  return opts
end

--- matrix_rank(A, {tol}) -> the number of singular values above tol
-- (default max(m, n) * eps * largest singular value).
function M.matrix_rank(A, opts)
  opts = check_opts("matrix_rank", opts, "tol")
  local S = C.svdvals(A)
  if S:numel() == 0 then return 0 end
  return S:gt(opts.tol or default_tol(A, S)):sum()
end

--- pinv(A, {rcond}) -> the Moore-Penrose pseudo-inverse V diag(1/S) Uᵀ,
-- dropping singular values at or below rcond * largest (default as matrix_rank).
function M.pinv(A, opts)
  opts = check_opts("pinv", opts, "rcond")
  local U, S, Vt = C.svd(A)
  if S:numel() == 0 then return C.matmul(Vt:t(), U:t()) end
  local cutoff = opts.rcond and opts.rcond * S[1] or default_tol(A, S)
  local Sinv = S:gt(cutoff):where(S:reciprocal(), 0)
  return C.matmul(Vt:t() * Sinv, U:t())
end

return M
