-- lunette.nn_loss: cross-entropy (label smoothing, class weights, sample weights), NLL and MSE,
-- as functions returning (loss, gradient) and as loss modules with forward/backward.
--
--   local loss, dlogits = nn.cross_entropy(logits, labels)           -- mean over the batch
--   nn.cross_entropy(logits, labels, {reduction = "none"})           -- per-sample losses
--   nn.cross_entropy(logits, labels, {label_smoothing = 0.1, weight = w, sample_weight = s})
--
-- Labels are integer class indices 1..C. `weight` is PyTorch's per-class weight
-- ([C]); `sample_weight` ([B]) weighs each sample (selection methods return
-- them): the mean reduction divides by sum(sample_weight * weight[label]).
local lt = require "lunette.tensor"
local C = require "lunette._nn"
local nm = require "lunette.nn_module"

local M = {}
local argerror = nm.argerror
local check = require("lunette.options").check
local KEYS = {
  cross_entropy = { "reduction", "weight", "sample_weight", "label_smoothing", "grad" },
  nll_loss = { "reduction", "weight", "sample_weight", "grad" },
  mse_loss = { "reduction" },
}

local REDUCTIONS = { mean = true, sum = true, none = true }

local function reduction(fname, opts)
  local r = opts.reduction or "mean"
  if not REDUCTIONS[r] then argerror(3, fname, "reduction must be 'mean', 'sum' or 'none', got '%s'", tostring(r)) end
  return r
end

local function as_float(fname, n, t, dt, what)
  if t == nil then return nil end
  if not lt.is_tensor(t) then argerror(n, fname, "%s must be a tensor, got %s", what, type(t)) end
  return t:dtype() == dt and t or t:to(dt)
end

-- The denominator of the mean: B, or sum of (sample weight * class weight of the label).
local function mean_denominator(x, labels, w, s)
  if w == nil and s == nil then return x:size(1) end
  local d = w and w:index_select(1, labels:long()) or lt.ones({ x:size(1) }, x:dtype())
  if s then d = d * s end
  return d:sum()
end

-- Shared driver: kernel(x, labels, w, alpha, s, want_grad) -> losses, grad.
local function classification(fname, kernel, x, labels, opts)
  opts = opts or {}
  if not lt.is_tensor(x) then argerror(1, fname, "tensor expected, got %s", type(x)) end
  local one = x:dim() == 1
  if one then
    x = x:reshape(1, x:size(1))
    if not lt.is_tensor(labels) then labels = lt.tensor({ labels }, "int64") else labels = labels:reshape(1) end
  end
  local red, dt = reduction(fname, opts), x:dtype()
  local w = as_float(fname, 3, opts.weight, dt, "weight")
  local s = as_float(fname, 3, opts.sample_weight, dt, "sample_weight")
  local alpha = 1
  if red == "mean" then
    if x:size(1) == 0 then return 0 / 0, lt.zeros(x:size(), dt) end
    if labels ~= nil and lt.is_tensor(labels) and labels:dim() == 1 and labels:size(1) == x:size(1)
       and (w or s) then
      local ok, d = pcall(mean_denominator, x, labels, w, s)
      alpha = ok and 1 / d or 1
    else
      alpha = 1 / x:size(1)
    end
  end
  local losses, grad = kernel(x, labels, w, alpha, s, opts.grad ~= false)
  if red == "none" then
    if s then losses = losses * s end
    if one then losses = losses[1] end
    return losses, grad and (one and grad:reshape(grad:size(2)) or grad)
  end
  local total = s and (losses * s):sum() or losses:sum()
  if red == "mean" then total = total * alpha end
  if one and grad then grad = grad:reshape(grad:size(2)) end
  return total, grad
end

-- cross_entropy(logits [B x C], labels [B] [, opts]) -> loss, dloss/dlogits
-- torch's F.cross_entropy. Options (an unknown key raises): reduction ("mean"; "sum",
-- "none"), weight (nil; a [C] tensor of class weights), sample_weight (nil; a [B] tensor),
-- label_smoothing (0), grad (true; false skips the gradient).
function M.cross_entropy(x, labels, opts)
  check("cross_entropy", 3, opts, KEYS.cross_entropy)
  local eps = opts and opts.label_smoothing or 0
  return classification("cross_entropy", function(xx, y, w, alpha, s, want)
    return C.cross_entropy(xx, y, w, eps, alpha, s, want)
  end, x, labels, opts)
end

-- nll_loss(logp [B x C], labels [B] [, opts]) -> loss, dloss/dlogp
-- torch's F.nll_loss. Options: reduction ("mean"), weight (nil), sample_weight (nil),
-- grad (true), as cross_entropy's.
function M.nll_loss(x, labels, opts)
  check("nll_loss", 3, opts, KEYS.nll_loss)
  return classification("nll_loss", function(xx, y, w, alpha, s, want)
    return C.nll(xx, y, w, alpha, s, want)
  end, x, labels, opts)
end

-- mse_loss(x, target, {reduction = "mean"}) -> loss, dloss/dx
function M.mse_loss(x, target, opts)
  opts = check("mse_loss", 3, opts, KEYS.mse_loss) or {}
  if not lt.is_tensor(x) or not lt.is_tensor(target) then argerror(1, "mse_loss", "tensors expected") end
  local red = reduction("mse_loss", opts)
  local d = x - target:to(x:dtype())
  local sq = d * d
  local scale = red == "mean" and 1 / math.max(1, d:numel()) or 1
  local grad = d * (2 * scale)
  if red == "none" then return sq, grad end
  return sq:sum() * scale, grad
end

---------------------------------------------------------------------------
-- loss modules: forward(input, target) -> loss; backward() -> gradient
---------------------------------------------------------------------------

local function loss_class(name, fn, keys)
  local cls = nm.class(name)
  cls.new = function(opts)
    check(name, 1, opts, keys)
    local self = nm.init(setmetatable({}, cls))
    self.opts = opts or {}
    return self
  end
  function cls:forward(x, y)
    local loss, grad = fn(x, y, self.opts)
    self._grad = grad
    return loss
  end
  function cls:backward() return self._grad end
  return cls
end

-- CrossEntropyLoss([opts]) -> module
-- cross_entropy as a module: crit:forward(logits, labels) -> loss,
-- crit:backward() -> the gradient of that loss (opts as cross_entropy).
M.CrossEntropyLoss = loss_class("CrossEntropyLoss", M.cross_entropy, KEYS.cross_entropy)
-- NLLLoss([opts]) -> module: nll_loss as a module (forward(logp, labels), backward()).
M.NLLLoss = loss_class("NLLLoss", M.nll_loss, KEYS.nll_loss)
-- MSELoss([opts]) -> module: mse_loss as a module (forward(x, target), backward()).
M.MSELoss = loss_class("MSELoss", M.mse_loss, KEYS.mse_loss)

-- The functions by name, for options such as {loss = "cross_entropy"}.
M.by_name = { cross_entropy = M.cross_entropy, nll = M.nll_loss, nll_loss = M.nll_loss, mse = M.mse_loss }

return M
