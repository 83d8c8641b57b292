-- lunette.cuda: tensors in GPU memory and the ops that run on them (CUDA, float32).
--
-- The backend is its own shared object, lunette_cuda.so (`make` builds it when nvcc is found),
-- loaded on the first call that needs a device: a script that never asks pays nothing, and on
-- a machine without a GPU or without the CUDA runtime lunette runs as before, is_available()
-- is false and t:cuda() raises "no CUDA device (<reason>)".
--
-- NOT YET RUN ON A GPU: the backend compiles and links, and its host-side logic (loading,
-- device checks, the caching allocator's bookkeeping) is tested on machines without a GPU,
-- but no GPU has run these kernels yet (README.md, GPU). Treat results as unverified until
-- scripts/gpu_check.sh has passed on a device.
--
-- Devices are numbered from 0 as nvidia-smi and CUDA number them ("cuda:0"). A CUDA tensor
-- (float32 for compute; copies take any dtype) has, with the CPU tensor's meaning: size, dim,
-- numel, dtype, device, is_cuda, cpu, cuda, to, clone, contiguous, is_contiguous, t,
-- transpose, reshape, view, narrow, fill_, zero_, add, sub, mul, div, pow, maximum, minimum
-- (broadcasting; + - * / ^ and unary minus too), neg, exp, log, sqrt, abs, relu, sigmoid,
-- tanh, sum, mean, max, min (all, or one dim [, keepdim]), softmax and log_softmax (last dim),
-- matmul, mm, bmm (cuBLAS), index_select (dim 1, a CPU index tensor), topk (last dim, k <= 64),
-- totable, item, tostring; any other method raises "not available for CUDA tensors yet". An
-- op never mixes devices: a CPU tensor given to a CUDA op, or a CUDA tensor given to a CPU
-- function, raises an error naming both devices.
-- Random numbers on the GPU come from Philox-4x32-10 seeded by cuda.manual_seed: the same
-- seed gives the same numbers on every GPU, but not the CPU generator's numbers.
--   local x = lt.randn(1000, 64):cuda()
--   local d = lt.cuda.cdist(x, x)        -- [1000 x 1000] on cuda:0
--   print(d:min(2):cpu())
local C = require "lunette._cuda"
local tensor = require "lunette.tensor"
local options = require "lunette.options"
local M = {}
local meta = C.meta
local methods = {}

-- The device ordinal of `d`: nil, an integer, "cuda" or "cuda:N".
local function ordinal(d, fname)
  if d == nil or d == "cuda" then return 0 end
  if math.type(d) == "integer" then return d end
  local n = type(d) == "string" and d:match("^cuda:(%d+)$")
  if n then return tonumber(n) end
  options.raise(("bad argument #1 to '%s' (device expected: an integer, \"cuda\" or " ..
                 "\"cuda:N\", got %s)"):format(fname, tostring(d)))
end

-- Raises "fname: no CUDA device (reason)" at the user's line unless device dev exists.
local function need(fname, dev)
  local n, why = C.device_count()
  if n == 0 then options.raise(("%s: no CUDA device (%s)"):format(fname, why)) end
  if dev and dev >= n then
    options.raise(("%s: no CUDA device cuda:%d (%d present)"):format(fname, dev, n))
  end
end

-- Raises "bad argument #argn to 'fname' (expected a CUDA tensor, got one on cpu)" unless x is
-- a CUDA tensor (for façade functions that read sizes before any C check).
local function need_cuda(fname, argn, x)
  if getmetatable(x) == meta then return end
  local ok, dev = pcall(C.device, x)
  options.raise(("bad argument #%d to '%s' (expected a CUDA tensor, got %s)"):format(
    argn, fname, ok and ("one on " .. dev) or type(x)))
end

--- is_available() -> boolean [, reason]
-- true when the backend loads and sees at least one GPU; otherwise false and why (the
-- backend not built, a CUDA library missing, or cudaGetDeviceCount's message).
function M.is_available() return C.available() end

--- device_count() -> integer [, reason]
-- The number of GPUs the CUDA runtime sees; 0 (and why) without any.
function M.device_count() return C.device_count() end

--- memory([device]) -> table
-- {free, total} bytes of the device (cudaMemGetInfo) and the caching allocator's counters:
-- allocated (bytes of live CUDA tensors, rounded to their size class), reserved (held from
-- the device: allocated plus cached), peak_allocated, device_mallocs (cudaMalloc calls so
-- far), cache_hits, oom_retries. Raises "no CUDA device (reason)" without a GPU.
function M.memory(device)
  local d = ordinal(device, "memory")
  need("memory", d)
  return C.memory(d)
end

--- synchronize([device])
-- Waits until every op queued on the device has finished (ops are asynchronous; copies to
-- the host wait by themselves). Raises "no CUDA device (reason)" without a GPU.
function M.synchronize(device)
  local d = ordinal(device, "synchronize")
  need("synchronize", d)
  C.synchronize(d)
end

--- empty_cache([device])
-- Collects garbage, then gives every cached block of the device back to the driver (for
-- other processes); the next allocations call cudaMalloc again.
function M.empty_cache(device)
  local d = ordinal(device, "empty_cache")
  need("empty_cache", d)
  C.empty_cache(d)
end

--- device_name([device]) -> string
-- The GPU's name and compute capability ("NVIDIA H100 80GB HBM3 (sm_90)").
function M.device_name(device)
  local d = ordinal(device, "device_name")
  need("device_name", d)
  return C.device_name(d)
end

-- The GPU generator: a seed and the next Philox counter.
local gen = { seed = 0x5eed, offset = 0 }

--- manual_seed(n)
-- Seeds the GPU generator (Philox-4x32-10): the same seed then gives the same numbers on
-- every GPU and launch size. It is not the CPU generator: lunette.seed does not touch it,
-- and the numbers differ from the CPU's for the same seed.
function M.manual_seed(n)
  if math.type(n) ~= "integer" then
    options.raise("bad argument #1 to 'manual_seed' (seed must be an integer)")
  end
  gen.seed, gen.offset = n, 0
end

--- to_device(t, [device]) -> CUDA tensor
-- t:cuda(device): a copy of t on the GPU (staged through pinned memory); a CUDA tensor already
-- there is returned as is.
function M.to_device(t, device)
  local d = ordinal(device, "cuda")
  need("cuda", d)
  return C.to_device(t, d)
end

-- Shape arguments as the CPU constructors take them, then an optional device.
local function shape_and_device(fname, ...)
  local args = table.pack(...)
  local dev = nil
  local last = args[args.n]
  if type(last) == "string" or (args.n > 1 and type(args[1]) == "table") then
    dev, args.n = last, args.n - 1
  end
  local shape = type(args[1]) == "table" and args[1] or { table.unpack(args, 1, args.n) }
  local d = ordinal(dev, fname)
  need(fname, d)
  return shape, d
end

--- empty(shape..., [device]) -> CUDA tensor
-- Uninitialised float32 (sizes as numbers or one table; device as "cuda:N" or after a table).
function M.empty(...)
  local shape, d = shape_and_device("empty", ...)
  return C.empty(shape, d)
end
--- zeros(shape..., [device]) -> CUDA tensor
function M.zeros(...) return C.fill_(M.empty(...), 0) end
--- ones(shape..., [device]) -> CUDA tensor
function M.ones(...) return C.fill_(M.empty(...), 1) end

local function random(normal, ...)
  local t = M.empty(...)
  C.random(t, gen.seed, gen.offset, normal)
  -- Each launch uses counters offset .. offset + ceil(n/4) - 1: the next one starts after.
  gen.offset = gen.offset + (t:numel() + 3) // 4
  return t
end
--- rand(shape..., [device]) -> CUDA tensor
-- Uniform [0, 1) float32 from the GPU generator (manual_seed).
function M.rand(...) return random(false, ...) end
--- randn(shape..., [device]) -> CUDA tensor
-- Standard normal float32 (Box-Muller on Philox pairs) from the GPU generator.
function M.randn(...) return random(true, ...) end

--- cdist(x, y) -> CUDA tensor
-- Euclidean distances between the rows of x [n x d] and y [m x d], [n x m]: one cuBLAS GEMM
-- and the row norms (the input of kNN, t-SNE and UMAP).
function M.cdist(x, y) return C.sqrt(C.cdist_sq(x, y)) end

--- knn(x, k, [y]) -> distances, indices
-- The k (1..64) nearest rows of y (default x, each point then its own first neighbour) to
-- every row of x, by Euclidean distance: [n x k] float32 distances, nearest first, and
-- [n x k] int64 1-based row indices, both CUDA tensors. Runs in blocks of rows of x (cdist
-- with cuBLAS, then top-k), so the n x m distance matrix is never whole in memory.
function M.knn(x, k, y)
  y = y or x
  local n, m = x:size(1), y:size(1)
  local block = math.max(1, math.min(n, (256 * 2 ^ 20) // (4 * math.max(m, 1))))
  local ds, is = {}, {}
  for s = 1, n, block do
    local len = math.min(block, n - s + 1)
    local d, i = C.topk(C.cdist_sq(C.narrow(x, 1, s, len), y), k, false)
    ds[#ds + 1], is[#is + 1] = C.sqrt(d), i
  end
  if #ds == 1 then return ds[1], is[1] end
  -- Blocks meet on the host (a device cat is not written yet): correct, and the copy is
  -- n*k numbers, small beside the distances.
  local dd, ii = {}, {}
  for j = 1, #ds do dd[j], ii[j] = C.to_cpu(ds[j]), C.to_cpu(is[j]) end
  return C.to_device(tensor.cat(dd, 1), C.device(x):match("%d+") + 0),
         C.to_device(tensor.cat(ii, 1), C.device(x):match("%d+") + 0)
end

--- eigh(a) -> values, vectors
-- Eigen-decomposition of symmetric a [n x n] by cuSOLVER's syevd, as lunette.linalg.eigh:
-- values ascending [n], column i of vectors [n x n] the eigenvector of values[i] (vectors is a
-- transposed view). The FD sketch's shrink needs exactly this on its Gram matrix.
function M.eigh(a)
  local w, rows = C.eigh(a)
  return w, C.transpose(rows)
end

--- fd_shrink(B, l) -> rows, delta
-- One Frequent Directions shrink of the sketch buffer B [r x d] (a CUDA tensor, r = 2l in the
-- fast variant) on the GPU, the CPU sketch's algorithm in float32: the Gram matrix B B^T
-- (cuBLAS), its eigen-decomposition (cuSOLVER syevd), delta = the l-th largest eigenvalue,
-- and the kept rows sqrt((lambda_j - delta) / lambda_j) u_j^T B for lambda_j > delta, largest
-- first: at most l - 1 rows [keep x d] (a CUDA tensor, the buffer's next top part) and delta
-- (a number, to add to the sketch's error bound). Only r eigenvalues travel to the host.
function M.fd_shrink(B, l)
  need_cuda("fd_shrink", 1, B)
  local r = C.size(B, 1)
  if math.type(l) ~= "integer" or l < 1 or l > r then
    options.raise(("bad argument #2 to 'fd_shrink' (l must be an integer in 1..%d)"):format(r))
  end
  local w, rows = C.eigh(C.matmul(B, C.transpose(B)))
  local lam = C.to_cpu(w):totable()
  local delta = math.max(lam[r - l + 1], 0)
  local keep, scale = {}, {}
  for j = r, r - l + 1, -1 do
    if lam[j] - delta > 0 and lam[j] > 0 then
      keep[#keep + 1] = j
      scale[#scale + 1] = { math.sqrt((lam[j] - delta) / lam[j]) }
    end
  end
  if #keep == 0 then return M.zeros({ 0, C.size(B, 2) }, C.device(B)), delta end
  local dev = tonumber(C.device(B):match("%d+"))
  local u = C.index_select(rows, tensor.tensor(keep))                 -- [keep x r]
  local c = C.to_device(tensor.tensor(scale, "float32"), dev)         -- [keep x 1]
  return C.matmul(C.mul(u, c), B), delta
end

-- ---- per-sample gradients of a last (linear) layer, as GEMMs -------------------------
-- For logits = h W^T + b and per-sample cross-entropy, sample i's gradient of W is the outer
-- product gy_i h_i^T (gy_i = softmax(logits_i) - onehot(label_i)): every function below works
-- on whole batches with cuBLAS, never one sample at a time.

--- last_layer_gy(logits, labels) -> gy
-- softmax(logits) - onehot(labels): [N x c] on the logits' device, the gradient of each
-- sample's own cross-entropy (not divided by N). labels: a CPU integer tensor of N 1-based
-- classes (its one-hot rows are built on the host and copied: N x c floats).
function M.last_layer_gy(logits, labels)
  need_cuda("last_layer_gy", 1, logits)
  local c = C.size(logits, 2)
  local onehot = tensor.eye(c):index_select(1, labels)
  local dev = tonumber(C.device(logits):match("%d+"))
  return C.sub(C.softmax(logits, false), C.to_device(onehot, dev))
end

--- per_sample_grads(h, gy) -> [N x c x d]
-- Every sample's weight gradient gy_i h_i^T, by one batched GEMM ([N x c x 1] @ [N x 1 x d]).
-- N c d floats: for large layers use per_sample_norms or projected_grads instead.
function M.per_sample_grads(h, gy)
  need_cuda("per_sample_grads", 1, h)
  need_cuda("per_sample_grads", 2, gy)
  local n, d, c = C.size(h, 1), C.size(h, 2), C.size(gy, 2)
  return C.matmul(C.reshape(gy, n, c, 1), C.reshape(h, n, 1, d))
end

--- per_sample_norms(h, gy) -> [N]
-- ||gy_i h_i^T||_F = ||gy_i|| ||h_i|| for every sample, without forming the gradients.
function M.per_sample_norms(h, gy)
  need_cuda("per_sample_norms", 1, h)
  need_cuda("per_sample_norms", 2, gy)
  return C.sqrt(C.mul(C.sum(C.mul(gy, gy), 2), C.sum(C.mul(h, h), 2)))
end

--- projected_grads(h, gy, B) -> [N x l]
-- B vec(gy_i h_i^T) for every sample, B [l x (c d)] with columns in the weight's row-major
-- order (the FD sketch of the gradients is such a B): B is rearranged once to [c l x d], then
-- one GEMM (h times its transpose, [N x c l]) and one batched GEMM with gy ([N x 1 x c] @
-- [N x c x l]) give the projections; the N c d gradients never exist.
function M.projected_grads(h, gy, B)
  need_cuda("projected_grads", 1, h)
  need_cuda("projected_grads", 2, gy)
  need_cuda("projected_grads", 3, B)
  local n, d, c, l = C.size(h, 1), C.size(h, 2), C.size(gy, 2), C.size(B, 1)
  local bp = C.reshape(C.contiguous(C.transpose(C.reshape(B, l, c, d), 1, 2)), c * l, d)
  local p = C.reshape(C.matmul(h, C.transpose(bp)), n, c, l)
  return C.reshape(C.matmul(C.reshape(gy, n, 1, c), p), n, l)
end

-- ---- CudaTensor methods -------------------------------------------------------------

methods.size, methods.dim, methods.numel, methods.dtype = C.size, C.dim, C.numel, C.dtype
methods.is_contiguous, methods.contiguous, methods.clone = C.is_contiguous, C.contiguous, C.clone
methods.transpose, methods.t, methods.reshape = C.transpose, C.transpose, C.reshape
methods.view, methods.narrow = C.reshape, C.narrow
methods.index_select = function(t, dim, idx)
  if dim ~= 1 then options.raise("bad argument #1 to 'index_select' (CUDA: dim 1 only so far)") end
  return C.index_select(t, idx)
end
-- t:topk(k [, dim = -1 [, largest = true]]) as on the CPU: values and 1-based int64 indices
-- (CUDA tensors), over the last dim only and k at most 64 so far.
methods.topk = function(t, k, dim, largest)
  if dim ~= nil and dim ~= -1 and dim ~= t:dim() then
    options.raise("bad argument #2 to 'topk' (CUDA: last dim only so far)")
  end
  return C.topk(t, k, largest ~= false)
end
methods.device = C.device
function methods.is_cuda() return true end
methods.cpu = C.to_cpu
function methods.cuda(t, device) return M.to_device(t, device) end
function methods.to(t, what)
  if what == "cpu" then return C.to_cpu(t) end
  if type(what) == "string" and what:match("^cuda") then return M.to_device(t, what) end
  if what == C.dtype(t) then return t end
  options.raise(("bad argument #1 to 'to' (%s on CUDA: only float32 so far)"):format(what))
end
methods.fill_ = C.fill_
function methods.zero_(t) return C.fill_(t, 0) end
methods.matmul, methods.mm, methods.bmm = C.matmul, C.matmul, C.matmul
for _, op in ipairs { "add", "sub", "mul", "div", "maximum", "minimum", "pow", "neg", "exp",
                      "log", "sqrt", "abs", "relu", "sigmoid", "tanh" } do
  methods[op] = C[op]
end
-- Without a dim a reduction is a Lua number, as on the CPU (4 bytes copied back); with one, a
-- CUDA tensor (max and min give the values only, no indices, so far).
for _, op in ipairs { "sum", "mean", "max", "min" } do
  local f = C[op]
  methods[op] = function(a, dim, keepdim)
    if dim == nil then return C.to_cpu(f(a)):item() end
    return f(a, dim, keepdim)
  end
end
-- softmax and log_softmax over the last dim only, so far.
function methods.softmax(a, dim)
  if dim ~= nil and dim ~= -1 and dim ~= a:dim() then
    options.raise("bad argument #2 to 'softmax' (CUDA: last dim only so far)")
  end
  return C.softmax(a, false)
end
function methods.log_softmax(a, dim)
  if dim ~= nil and dim ~= -1 and dim ~= a:dim() then
    options.raise("bad argument #2 to 'log_softmax' (CUDA: last dim only so far)")
  end
  return C.softmax(a, true)
end
function methods.totable(t) return C.to_cpu(t):totable() end
function methods.item(t) return C.to_cpu(t):item() end

-- Copies to the host only what the text shows (the corners of a summarised tensor).
local function shown_of(t)
  return function(summarised, edge)
    if not summarised then return C.to_cpu(t) end
    local function corners(v, d)
      if d > v:dim() then return C.to_cpu(C.contiguous(v)) end
      local n = v:size(d)
      if n <= 2 * edge then return corners(v, d + 1) end
      local head = C.narrow(v, d, 1, edge)
      local tail = C.narrow(v, d, n - edge + 1, edge)
      return tensor.cat({ corners(head, d + 1), corners(tail, d + 1) }, d)
    end
    return corners(t, 1)
  end
end
function methods.tostring(t)
  return tensor._text(t:size(), t:numel(), C.dtype(t), shown_of(t), " on " .. C.device(t))
end

-- A CPU tensor method that CUDA tensors lack raises; any other string key is nil (code that
-- probes fields, such as the REPL's display, must not fail on a CUDA tensor).
local cpu_methods = require("lunette._tensor").meta.__methods
meta.__index = function(t, k)
  local m = methods[k]
  if m ~= nil then return m end
  if k == "shape" then return t:size() end
  if k == "ndim" then return t:dim() end
  if type(k) == "string" then
    if cpu_methods[k] == nil then return nil end
    options.raise(("'%s' is not available for CUDA tensors yet: t:cpu():%s(...) runs it on "
                   .. "the CPU"):format(k, k))
  end
  options.raise("CUDA tensors cannot be indexed yet: t:cpu()[...]")
end
meta.__tostring = methods.tostring
meta.__name = "CudaTensor"
meta.__len = function(t) return t:dim() > 0 and t:size(1) or 0 end
-- A number on the left: 2 + t is t + 2, 2 - t is -t + 2, 2 / t is t^-1 * 2.
meta.__add = function(a, b)
  if type(a) == "number" then return C.add(b, a) end
  return C.add(a, b)
end
meta.__mul = function(a, b)
  if type(a) == "number" then return C.mul(b, a) end
  return C.mul(a, b)
end
meta.__sub = function(a, b)
  if type(a) == "number" then return C.add(C.neg(b), a) end
  return C.sub(a, b)
end
meta.__div = function(a, b)
  if type(a) == "number" then return C.mul(C.pow(b, -1), a) end
  return C.div(a, b)
end
meta.__pow = C.pow
meta.__unm = function(a) return C.neg(a) end

--- is_tensor(x) -> boolean
-- true for a CUDA tensor.
function M.is_tensor(x) return getmetatable(x) == meta end

return M
