-- lunette.nn_sphere: layers for embeddings on the unit sphere: Normalize (torch's F.normalize as a
-- layer), Parallel (one branch per input block, outputs averaged, summed or concatenated) and
-- Anchors (learned anchors on the sphere; the cosine of each input row to each anchor).
--
--   local proj = nn.Sequential{nn.Linear(256, 64), nn.LayerNorm(64), nn.Normalize()}
--   local fuse = nn.Parallel({p1, p2, p3}, {split = {256, 128, 256}, combine = "mean"})
--   local cos  = nn.Anchors(128, 64)                     -- parameter `anchors` [128 x 64]
--
-- All three run forward and backward (training with nn.fit) and take part in
-- per-sample gradients (Anchors in the full-gradient mode).
local check = require("lunette.options").check
local lt = require "lunette.tensor"
local nm = require "lunette.nn_module"
local layers = require "lunette.nn_layers"
local matmul = require("lunette.linalg").matmul

local M = {}
local class, init, argerror, shape_str = nm.class, nm.init, nm.argerror, nm.shape_str

local function check_float(self, x, what)
  if not lt.is_tensor(x) then argerror(1, "forward", "%s expects a tensor, got %s", self.__name, type(x)) end
  local dt = x:dtype()
  if dt ~= "float32" and dt ~= "float64" then
    argerror(1, "forward", "%s expects a float32 or float64 %s, got %s", self.__name, what or "tensor", dt)
  end
end

-- y = x / max(||x||, eps) along dim d; returns y, the clamped norms and where the norm reached eps.
local function l2_forward(x, d, eps)
  local n = x:norm(2, d, true)
  local nc = n:clamp(eps)
  return x / nc, nc, n:ge(eps):to(x:dtype())
end

-- The gradient of l2_forward: (g - y <g, y>) / max(||x||, eps); rows shorter than eps were only scaled.
local function l2_backward(g, y, nc, keep, d)
  return (g - y * ((g * y):sum(d, true) * keep)) / nc
end

---------------------------------------------------------------------------
-- Normalize
---------------------------------------------------------------------------

local Normalize = class("Normalize")
M.Normalize = Normalize

-- Normalize({dim = -1, eps = 1e-12, p = 2}): a parameter-free layer, y = x / max(||x||₂, eps) along dim
-- (torch.nn.functional.normalize with p = 2), with its exact gradient.
function Normalize.new(opts)
  opts = check("Normalize", 1, opts, { "dim", "eps", "p" }) or {}
  if opts.p ~= nil and opts.p ~= 2 then argerror(1, "Normalize", "only p = 2 is supported, got %s", tostring(opts.p)) end
  local self = init(setmetatable({}, Normalize))
  self.dim, self.eps = opts.dim or -1, opts.eps or 1e-12
  if math.type(self.dim) ~= "integer" or self.dim == 0 then argerror(1, "Normalize", "dim must be a nonzero integer") end
  return self
end

function Normalize:extra_repr() return ("dim=%d"):format(self.dim) end

function Normalize:forward(x)
  check_float(self, x)
  local d = self.dim < 0 and x:dim() + 1 + self.dim or self.dim
  if d < 1 or d > x:dim() then
    argerror(1, "forward", "Normalize(dim=%d) got a %d-d input %s", self.dim, x:dim(), shape_str(x))
  end
  local y, nc, keep = l2_forward(x, d, self.eps)
  if nm.grad_enabled(self) then
    self._y, self._nc, self._keep, self._d = y, nc, keep, d
  else
    self._y, self._nc, self._keep = nil, nil, nil
  end
  return y
end

function Normalize:backward(g, ctx, need_dx)
  if need_dx == false then return nil end
  return l2_backward(g, nm.saved(self, self._y), self._nc, self._keep, self._d)
end

---------------------------------------------------------------------------
-- Parallel
---------------------------------------------------------------------------

local Parallel = class("Parallel")
M.Parallel = Parallel
local COMBINE = { mean = true, sum = true, cat = true }

-- Parallel({m1, m2, ...} or {{"name", m}, ...}, {split = {d1, d2, ...}, combine = "mean"|"sum"|"cat"}):
-- branch i gets input i and the outputs are averaged (default), summed or concatenated along the
-- last dim. With split, the input is one tensor whose last dim is cut into blocks of d1, d2, ...
-- columns (so nn.fit can train it on concatenated features); without it, a list of tensors.
-- Branches are children "0", "1", ... (torch's ModuleList names) unless named.
function Parallel.new(branches, opts)
  opts = check("Parallel", 2, opts, { "split", "combine" }) or {}
  if type(branches) ~= "table" or #branches == 0 then argerror(1, "Parallel", "a list of branch modules expected") end
  local self = init(setmetatable({}, Parallel))
  self.combine, self._branches = opts.combine or "mean", {}
  if not COMBINE[self.combine] then argerror(2, "Parallel", "combine must be 'mean', 'sum' or 'cat', got '%s'", tostring(self.combine)) end
  for i, e in ipairs(branches) do
    local name, m = tostring(i - 1), e
    if not nm.is_module(e) then
      if type(e) ~= "table" or type(e[1]) ~= "string" or not nm.is_module(e[2]) then
        argerror(1, "Parallel", "entry %d is not a module or a {name, module} pair", i)
      end
      name, m = e[1], e[2]
    end
    self._branches[i] = self:add(name, m)
  end
  if opts.split then
    if type(opts.split) ~= "table" or #opts.split ~= #branches then
      argerror(2, "Parallel", "split must list one block width per branch (%d)", #branches)
    end
    for i, w in ipairs(opts.split) do
      if math.type(w) ~= "integer" or w < 1 then argerror(2, "Parallel", "split[%d] must be a positive integer", i) end
    end
    self.split = opts.split
  end
  return self
end

function Parallel:extra_repr()
  return self.combine .. (self.split and (", split=" .. table.concat(self.split, "+")) or "")
end

-- par:inputs(x) -> array
-- The input of each branch: with the split option, contiguous slices of x
-- along its last dim (whose size must be the sum of the widths); otherwise x
-- must be a list of one input per branch. Raises a forward error otherwise.
function Parallel:inputs(x)
  local n = #self._branches
  if self.split then
    check_float(self, x)
    local total = 0
    for _, w in ipairs(self.split) do total = total + w end
    if x:size(-1) ~= total then
      argerror(1, "forward", "Parallel(split=%s) expects input [* x %d], got %s", table.concat(self.split, "+"), total, shape_str(x))
    end
    local xs, off = {}, 1
    for i, w in ipairs(self.split) do xs[i] = x:narrow(x:dim(), off, w):contiguous(); off = off + w end
    return xs
  end
  if type(x) ~= "table" or lt.is_tensor(x) or #x ~= n then
    argerror(1, "forward", "Parallel of %d branches expects a list of %d inputs (or the split option)", n, n)
  end
  return x
end

function Parallel:forward(x)
  local xs, ys = self:inputs(x), {}
  for i, m in ipairs(self._branches) do ys[i] = m:forward(xs[i]) end
  self._widths = {}
  for i, y in ipairs(ys) do self._widths[i] = y:size(-1) end
  if self.combine == "cat" then return lt.cat(ys, ys[1]:dim()) end
  local out = ys[1]:clone()
  for i = 2, #ys do
    if ys[i]:numel() ~= out:numel() then
      argerror(1, "forward", "Parallel(%s): branch %d gives %s but branch 1 gives %s", self.combine, i, shape_str(ys[i]), shape_str(out))
    end
    out:add_(ys[i])
  end
  if self.combine == "mean" then out:mul_(1 / #ys) end
  return out
end

function Parallel:backward(g, ctx, need_dx)
  if need_dx == nil then need_dx = true end
  local dxs, off = {}, 1
  for i, m in ipairs(self._branches) do
    local gi = g
    if self.combine == "mean" then gi = g * (1 / #self._branches)
    elseif self.combine == "cat" then gi = g:narrow(g:dim(), off, self._widths[i]):contiguous(); off = off + self._widths[i] end
    dxs[i] = m:backward(gi, ctx, need_dx)
  end
  if not need_dx then return nil end
  if self.split then return lt.cat(dxs, dxs[1]:dim()) end
  return dxs
end

---------------------------------------------------------------------------
-- Anchors
---------------------------------------------------------------------------

local Anchors = class("Anchors")
M.Anchors = Anchors

-- Anchors(n, d, {normalize_input = true, eps = 1e-12, dtype, generator = g, seed = n}): n learned
-- anchors on the unit sphere S^(d-1), the parameter `anchors` [n x d] (rows start as normalised
-- Gaussian vectors: uniform on the sphere; they are re-normalised in every forward, so training
-- moves their directions). forward(x [B x d]) -> [B x n], the cosine of each row to each anchor.
function Anchors.new(n, d, opts)
  opts = check("Anchors", 3, opts, { "normalize_input", "eps", "dtype", "generator", "seed" }) or {}
  for i, v in ipairs { n, d } do
    if math.type(v) ~= "integer" or v < 1 then argerror(i, "Anchors", "%s must be a positive integer, got %s", i == 1 and "n" or "d", tostring(v)) end
  end
  local self = init(setmetatable({}, Anchors))
  self.n, self.d, self.eps = n, d, opts.eps or 1e-12
  self.normalize_input = opts.normalize_input ~= false
  local g = layers.generator(opts)
  local a = g:normal(0, 1, { n, d }, { dtype = opts.dtype or "float32" })
  self:register_parameter("anchors", a:normalize(2, 2, 1e-12))
  return self
end

function Anchors:dtype() return self.anchors:dtype() end
function Anchors:extra_repr() return ("%d anchors x %d-d"):format(self.n, self.d) end

function Anchors:forward(x)
  check_float(self, x)
  if x:dim() ~= 2 or x:size(2) ~= self.d then
    argerror(1, "forward", "Anchors(%d x %d) expects input [B x %d], got %s", self.n, self.d, self.d, shape_str(x))
  end
  if x:dtype() ~= self.anchors:dtype() then
    argerror(1, "forward", "Anchors computes in %s but the input is %s", self.anchors:dtype(), x:dtype())
  end
  local xn, nx, kx = x, nil, nil
  if self.normalize_input then xn, nx, kx = l2_forward(x, 2, self.eps) end
  local a, na, ka = l2_forward(self.anchors, 2, self.eps)
  if nm.grad_enabled(self) then
    self._x, self._nx, self._kx, self._a, self._na, self._ka = xn, nx, kx, a, na, ka
  else
    self._x, self._nx, self._kx, self._a, self._na, self._ka = nil, nil, nil, nil, nil, nil
  end
  return matmul(xn, a:t())
end

-- Per-sample gradients of the anchors (full mode): sample b's is the normalisation's gradient of
-- outer(g_b, x_b), [n x d] per sample.
function Anchors:_per_sample(g, ctx)
  local o = ctx.offsets[self]
  local off = o and o.anchors
  if off == nil then return end
  if ctx.seen then ctx.seen[self] = true end
  if ctx.target.mode ~= "full" then
    argerror(1, "backward", "Anchors supports per-sample gradients in full mode only (not '%s')", tostring(ctx.target.mode))
  end
  local B, n, d = g:size(1), self.n, self.d
  local G = g:unsqueeze(3) * self._x:unsqueeze(2)
  local out = (G - self._a * ((G * self._a):sum(3, true) * self._ka)) / self._na
  ctx.target.out:narrow(2, off + 1, n * d):copy_(out:reshape(B, n * d))
end

function Anchors:backward(g, ctx, need_dx)
  nm.saved(self, self._a)
  if ctx then self:_per_sample(g, ctx)
  elseif not (self._frozen and self._frozen.anchors) then
    self:grad_of("anchors"):add_(l2_backward(matmul(g:t(), self._x), self._a, self._na, self._ka, 2))
  end
  if need_dx == false then return nil end
  local gx = matmul(g, self._a)
  if self.normalize_input then gx = l2_backward(gx, self._x, self._nx, self._kx, 2) end
  return gx
end

return M
