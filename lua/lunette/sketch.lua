-- lunette.sketch: Frequent Directions sketches (streaming, mergeable, serialisable) and random projections.
local C = require "lunette._sketch"
local M = {}
local FD = C.FD.__methods

local function opt_table(fname, opts)
  if type(opts) ~= "table" then
    error(("bad argument #1 to '%s' (options table expected, got %s)"):format(fname, type(opts)), 3)
  end
  return opts
end

-- fd{ell = 256, dim = D, dtype = "float32"|"float16"|"bfloat16", variant = "fast"|"classic"}
function M.fd(opts)
  opt_table("fd", opts)
  return C.fd(opts.ell, opts.dim, opts.dtype, opts.variant)
end

-- fd:state() -> a plain table (parameters, counters and the buffered rows as
-- a float32 tensor) that sketch.from_state rebuilds; what a data-parallel run
-- sends between ranks before merging.
function FD.state(fd)
  local info = fd:info()
  local rows = fd:_buffer():narrow(1, 1, info.filled):to("float32", true)
  info.rows = rows
  return info
end

function M.from_state(s)
  opt_table("from_state", s)
  local fd = C.fd(s.ell, s.dim, s.dtype, s.variant)
  fd:_restore(s.filled, s.rows_seen, s.delta, s.sq_frob, s.rows)
  return fd
end

-- fd:project(G) -> G B^T for gradients G [n x dim] with the finalized sketch B
function FD.project(fd, G)
  return require("lunette.linalg").matmul(G, fd:finalize():t())
end

local function projection(kind)
  return function(ell, dim, opts)
    local seed = type(opts) == "table" and opts.seed or 0
    return C.projection(kind, ell, dim, seed)
  end
end
M.gaussian = projection("gaussian")        -- N(0, 1/ell) entries
M.sparse_sign = projection("sparse_sign")  -- Achlioptas: +-sqrt(3/ell) w.p. 1/6 each
M.countsketch = projection("countsketch")  -- one +-1 per column

-- cov_error(A, B) -> ||A^T A - B^T B||_2 (exact for dim <= 4096, else power iteration)
M.cov_error = C.cov_error

-- fd_bound(A, ell, k) -> ||A - A_k||_F^2 / (ell - k), the FD guarantee for a given A
function M.fd_bound(A, ell, k)
  if k >= ell then error(("bad argument #3 to 'fd_bound' (k must be below ell = %d)"):format(ell), 2) end
  local linalg = require "lunette.linalg"
  local _, S = linalg.svd(A:double())
  local s2 = S:double() ^ 2
  local tail = s2:sum() - (k > 0 and s2:narrow(1, 1, math.min(k, s2:size(1))):sum() or 0)
  return math.max(tail, 0) / (ell - k)
end

return M
