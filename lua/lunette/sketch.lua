-- lunette.sketch: Frequent Directions sketches (streaming, mergeable, serialisable) and random projections.

-- raise(msg): a façade error at the user's line (lunette.options).
local function raise(msg) require("lunette.options").raise(msg) end
local C = require "lunette._sketch"
local M = {}
local FD = C.FD.__methods

--- fd:add(rows) -> fd
-- Streams rows [n x dim] (a 1-d tensor is one row) into the sketch; fails
-- on a width other than dim, and leaves the sketch unchanged, on NaN/Inf or
-- on values the storage dtype cannot hold (float16: |x| >= 65520). A sketch
-- whose squared norms pass float32's range (3.4e38), or with float16 storage
-- whose singular values pass 65504, fails clearly and cannot go on.

--- fd:finalize() -> Tensor [ell x dim]
-- The sketch B (rows sigma_i v_iᵀ, float32) of every row added so far,
-- with ||AᵀA - BᵀB||_2 <= fd:error_bound(); the sketch can keep growing.

--- fd:merge(other) -> fd
-- Sketches another FD's rows (same dim) into fd: the result sketches both
-- streams and their error bounds add up. Fails on fd:merge(fd).

--- fd:info() -> table
-- {ell, dim, variant, dtype, rows_seen, filled, delta, rounding, sq_frob}:
-- the parameters and counters (delta is the accumulated shrinkage, rounding
-- what float rounding may have added; error_bound() is their sum).

--- fd:rows_seen() -> integer
-- The number of rows added (merged sketches included).

--- fd:error_bound() -> number
-- A rigorous bound on ||AᵀA - BᵀB||_2 for A every row added and B what
-- fd:finalize() returns (call it after finalize): the accumulated shrinkage
-- delta, which obeys delta <= ||A - A_k||²_F/(ell - k) as in exact
-- arithmetic, plus a rounding term for the float32 arithmetic and for
-- storing B's rows in the storage dtype each time they are stored (measured
-- per store, worst case per operation; derivation in src/sketch.c). It holds
-- for every input, but is loose where the shrinkage is small (low-rank
-- input: float32 rounding is bounded by its worst case, ~dim u per Gram
-- entry, so infinite for dim >= 2^24); with float16/bfloat16 storage it
-- grows with the number of compressions (classic: one per row once full)
-- and can exceed ||A||²_2 on long streams.

local function opt_table(fname, opts)
  if type(opts) ~= "table" then
    raise(("bad argument #1 to '%s' (options table expected, got %s)"):format(fname, type(opts)))
  end
  return opts
end

-- fd{ell = 256, dim = D [, dtype = "float32"|"float16"|"bfloat16", variant = "fast"|"classic"]} -> FD
-- A Frequent Directions sketch of ell rows for rows of length dim: "fast"
-- keeps a 2ell-row buffer and shrinks by the ell-th squared singular value
-- when full (O(dim ell) amortised per row); "classic" is SAGE's ell-row
-- variant (one SVD per row once full). dtype is the storage type. Fails on
-- a missing or non-positive ell/dim or an unknown dtype/variant.
function M.fd(opts)
  opt_table("fd", opts)
  require("lunette.options").check("fd", 1, opts, { "ell", "dim", "dtype", "variant" })
  return C.fd(opts.ell, opts.dim, opts.dtype, opts.variant)
end

-- fd:state() -> table
-- A plain table (parameters, counters and the buffered rows as a float32
-- tensor) that sketch.from_state rebuilds; what a data-parallel run sends
-- between ranks before merging.
function FD.state(fd)
  local info = fd:info()
  local rows = fd:_buffer():narrow(1, 1, info.filled):to("float32", true)
  info.rows = rows
  return info
end

-- from_state(s) -> FD
-- The sketch saved by fd:state() (a table holding ell, dim, dtype, variant,
-- filled, rows_seen, delta, rounding, sq_frob and rows), continuing where it
-- was. Every field is checked (types, shapes, rows finite and within the
-- storage range, counters and sums non-negative and consistent) and a bad one
-- is named: `bad argument #1 to 'from_state' (state.rows_seen must be ...)`.
function M.from_state(s)
  opt_table("from_state", s)
  return C.from_state(s)
end

-- A sketch's state to rank dest, and back: the small fields as a Lua value, the rows as raw
-- tensor bytes (no serialisation of the big part).
local function send_state(dist, fd, dest)
  local st = fd:state()
  local rows = st.rows
  st.rows = nil
  dist.send_value(st, dest)
  dist.send(rows, dest)
end

local function recv_state(dist, src)
  local st = dist.recv_value(src)
  st.rows = dist.recv(src)
  return M.from_state(st)
end

--- fd:allmerge() -> FD
-- Under lunette.dist: every rank's sketch (same ell and dim, else a collective mismatch on
-- every rank) merged along a fixed binary tree, the merged sketch returned on every rank (a
-- new FD; fd itself is unchanged). At step s = 1, 2, 4, ... rank r with r % 2s == s sends
-- its sketch to rank r - s, which merges it into its own; rank 0's result is broadcast. The
-- merge order depends only on the number of ranks, so the result does too: the same bits
-- run after run, on every rank. Bound: a merge stacks two sketches and shrinks, so each
-- shrinkage subtracts at most its delta in every direction and at least ell * delta of
-- squared Frobenius mass; the proof of the one-stream bound then goes through unchanged for
-- any tree (Ghashami et al. 2016, mergeability): with A every rank's rows,
-- ||AᵀA - BᵀB||_2 <= error_bound() = (sum of every shrinkage on every rank and in every
-- merge) + rounding, and that sum is <= ||A - A_k||²_F / (ell - k) for each k < ell, as for
-- one sketch of all of A. Sends at most 2 ell rows of float32 per merge (log2(size) merges
-- on the way to rank 0) and one broadcast. Without MPI it returns a copy of fd.
function FD.allmerge(fd)
  local dist = require "lunette.dist"
  local info = fd:info()
  dist._agree("allmerge", info.ell, info.dim)
  local me, size = dist.rank(), dist.size()
  local acc = M.from_state(fd:state())
  local step = 1
  while step < size do
    if me % (2 * step) == step then
      send_state(dist, acc, me - step)
      break
    elseif me + step < size then
      acc:merge(recv_state(dist, me + step))
    end
    step = step * 2
  end
  local st = me == 0 and acc:state() or nil
  local rows = st and st.rows
  if st then st.rows = nil end
  st = dist.broadcast_value(st, 0)
  st.rows = dist.broadcast(rows, 0)
  return M.from_state(st)
end

-- fd:project(G) -> Tensor [n x ell]
-- G Bᵀ for rows G [n x dim] and the finalized sketch B (SAGE's g̃ = B g).
function FD.project(fd, G)
  return require("lunette.linalg").matmul(G, fd:finalize():t())
end

local function projection(kind)
  return function(ell, dim, opts)
    return C.projection(ell, dim, opts, kind)
  end
end
-- gaussian(ell, dim [, {seed = 0}]) -> Tensor [ell x dim]
-- A random projection matrix with N(0, 1/ell) entries (float32), so that
-- P g preserves norms in expectation; same seed, same matrix (any integer
-- seed, negative too, as every seed in lunette).
M.gaussian = projection("gaussian")
-- sparse_sign(ell, dim [, {seed = 0}]) -> Tensor [ell x dim]
-- Achlioptas' sparse projection: entries +-sqrt(3/ell) with probability 1/6
-- each, else 0.
M.sparse_sign = projection("sparse_sign")
-- countsketch(ell, dim [, {seed = 0}]) -> Tensor [ell x dim]
-- A CountSketch matrix: one +-1 per column, in a random row.
M.countsketch = projection("countsketch")

-- cov_error(A, B [, iters = 200]) -> number
-- The covariance error ||AᵀA - BᵀB||_2 of a sketch B of A (same number of
-- columns): exact for dim <= 4096, else by iters steps of power iteration;
-- iters must be in 1..1000000 whatever the dim.
M.cov_error = C.cov_error

-- fd_bound(A, ell, k) -> number
-- The FD guarantee ||A - A_k||_F^2 / (ell - k) for a given A (through its
-- SVD); fails unless k < ell.
function M.fd_bound(A, ell, k)
  if k >= ell then raise(("bad argument #3 to 'fd_bound' (k must be below ell = %d)"):format(ell)) end
  local linalg = require "lunette.linalg"
  local _, S = linalg.svd(A:double())
  local s2 = S:double() ^ 2
  local tail = s2:sum() - (k > 0 and s2:narrow(1, 1, math.min(k, s2:size(1))):sum() or 0)
  return math.max(tail, 0) / (ell - k)
end

return M
