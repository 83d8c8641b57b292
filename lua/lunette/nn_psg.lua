-- lunette.nn_psg: per-sample gradients in one batched pass: full rows, the last layer only,
-- projections G·Pᵀ that never form G, exact norms, and per-sample losses/logits/margins.
--
--   local G = nn.per_sample_grads(model, x, y)                      -- [B x D], state_dict order
--   local G = nn.per_sample_grads(model, x, y, {last_layer = true}) -- final Linear only
--   local Z = nn.projected_grads(model, x, y, P)                    -- [B x ell] = G Pᵀ, P is [ell x D]
--   local n = nn.per_sample_norms(model, x, y)                      -- [B] = ||g_b||
--   local s = nn.sample_stats(model, x, y)                          -- losses, margins, probabilities
--
-- The gradient of sample b is that of its own loss (cross-entropy by default,
-- {loss = "nll"|"mse"|function}) with respect to the trainable (not frozen)
-- parameters, or those named in {params = {"fc", "layer4.1"}} (names or
-- prefixes). Batch-norm layers run in evaluation mode (running statistics),
-- as the seed does with model.eval(), so that each sample's gradient depends on
-- that sample alone; the model's train/eval flags are restored afterwards.
-- {batch_size = n} runs the forward/backward in chunks of n samples to bound
-- the memory of cached activations (default: the whole batch); {out = t}
-- writes into a preallocated contiguous result of the right shape and dtype
-- (streaming passes then reuse one buffer instead of faulting in a new one).
local lt = require "lunette.tensor"
local nm = require "lunette.nn_module"
local loss_mod = require "lunette.nn_loss"
local C = require "lunette._nn"

local M = {}
local argerror = nm.argerror
local check = require("lunette.options").check

-- The options every per-sample pass reads (see the header), and each function's extra ones.
local PASS_OPTS = { "last_layer", "params", "loss", "label_smoothing", "batch_size" }
local function keys(...)
  local r = { table.unpack(PASS_OPTS) }
  for _, k in ipairs { ... } do r[#r + 1] = k end
  return r
end

-- split_head(model [, fname = "per_sample_grads"]) -> {head, features, after, module}
-- The one definition of a model's head and features, which Sequential:features,
-- extract_features, last-layer per-sample gradients and select.sage all use. The
-- modules the model runs, in order (nested Sequentials opened up; any other module,
-- a Residual or a custom class, is one step), split as before | head | after: the
-- head is the last module with parameters and must be a Linear (model.head, when
-- set, must be that module); after holds only parameter-free modules (activations,
-- Dropout, LogSoftmax, ...), which the head's gradients go through. features(x) runs
-- the modules before the head; module runs the head then after, so per-sample
-- functions on (module, features(x), y) give the model's last-layer gradients. A
-- model that is not a Sequential but has model.head and a features(x) method of its
-- own defines both itself. Fails with `bad argument #1 to fname (reason)` when the
-- last parametrised module is not a Linear.
local function split_head(model, fname)
  local split, why = nm.split_head(model)
  if not split then argerror(1, fname or "per_sample_grads", "%s", why) end
  split.module = split.head
  if #split.after > 0 then
    local entries = { { "head", split.head } }
    for i, m in ipairs(split.after) do entries[#entries + 1] = { tostring(i), m } end
    split.module = nm.Sequential(entries)
  end
  return split
end
M.split_head = split_head

-- head_of(model) -> Linear | nil, reason
-- The model's head: its last parametrised module when that is a Linear (model.head
-- must be it when set); nil and why not otherwise. See split_head.
function M.head_of(model)
  local split, why = nm.split_head(model)
  if not split then return nil, why end
  return split.head
end

local function wanted(name, list)
  if list == nil then return true end
  for _, pre in ipairs(list) do
    if name == pre or name:sub(1, #pre + 1) == pre .. "." then return true end
  end
  return false
end

-- plan(model, opts [, fname]) -> {entries, dim = D, offsets, split}
-- The columns of G: entries = {{name, module, key, offset, numel}}, offsets =
-- {[module] = {key = off}}, and with last_layer the model's split_head; errors name
-- fname (default "per_sample_grads").
function M.plan(model, opts, fname)
  opts = opts or {}
  nm.check_unshared(model, fname or "per_sample_grads")
  local list, split
  if opts.last_layer then
    split = split_head(model, fname)
    local head = split.head
    list = {}
    for _, key in ipairs(head._params) do
      list[#list + 1] = { name = key, module = head, key = key, tensor = head[key] }
    end
  else
    list = model:named_parameters()
  end
  local p = { entries = {}, offsets = {}, dim = 0, split = split }
  for _, e in ipairs(list) do
    if opts.last_layer or wanted(e.name, opts.params) then
      local n = e.tensor:numel()
      p.entries[#p.entries + 1] = { name = e.name, module = e.module, key = e.key, offset = p.dim, numel = n }
      p.offsets[e.module] = p.offsets[e.module] or {}
      p.offsets[e.module][e.key] = p.dim
      p.dim = p.dim + n
    end
  end
  if p.dim == 0 then
    argerror(1, fname or "per_sample_grads",
             "no parameter selected (all frozen or not matched by params)")
  end
  return p
end

-- The per-sample loss function: (logits, y) -> losses [B], dlogits [B x C] (gradient of each row's own loss).
local function loss_fn(opts)
  local l = opts.loss or "cross_entropy"
  if type(l) == "function" then return l end
  local f = loss_mod.by_name[l]
  if not f then argerror(4, "per_sample_grads", "unknown loss '%s'", tostring(l)) end
  return function(logits, y) return f(logits, y, { reduction = "none", label_smoothing = opts.label_smoothing }) end
end

local function check_batch(fname, x, y)
  if not lt.is_tensor(x) or x:dim() < 1 then argerror(1, fname, "batch tensor expected, got %s", lt.is_tensor(x) and "a 0-d tensor" or type(x)) end
  if not lt.is_tensor(y) then argerror(2, fname, "labels must be a tensor, got %s", type(y)) end
  if y:dim() < 1 or y:size(1) ~= x:size(1) then
    argerror(2, fname, "labels %s do not match the batch %s", nm.shape_str(y), nm.shape_str(x))
  end
end

-- One forward/backward over rows [b0, b0+n) of x, handing gradients to target.
local function pass(model, plan, x, y, target, opts, lossf)
  -- last layer: the features, then the head and the parameter-free modules after it
  local top = opts.last_layer and plan.split.module or model
  -- No backward reaches the features of a last-layer pass: they keep no activations.
  local h = opts.last_layer and nm.no_grad(plan.split.features, x) or x
  local logits = top:forward(h)
  local losses, dlogits = lossf(logits, y)
  local ctx = { target = target, offsets = plan.offsets, seen = plan.seen }
  top:backward(dlogits, ctx, false)
  return losses, logits
end

-- opts.out when given (checked), else a new tensor from make().
local function result(fname, opts, shape, dtype, make)
  local o = opts.out
  if o == nil then return make(shape, dtype) end
  local ok = lt.is_tensor(o) and o:dtype() == dtype and o:is_contiguous() and o:dim() == #shape
  for i = 1, #shape do ok = ok and o:size(i) == shape[i] end
  if not ok then
    argerror(4, fname, "out must be a contiguous %s tensor %s, got %s", dtype, nm.shape_str(shape),
             lt.is_tensor(o) and (o:dtype() .. " " .. nm.shape_str(o)) or type(o))
  end
  return o
end

-- Runs the per-sample pass in chunks; make_target(b0, n) -> the target of rows b0..b0+n-1.
local function run(fname, model, x, y, opts, plan, make_target)
  check_batch(fname, x, y)
  local B = x:size(1)
  local bs = opts.batch_size or B
  local lossf, losses, logits = loss_fn(opts), {}, {}
  -- Gradients on even when the caller runs under nn.no_grad: this pass needs its backward.
  nm.in_eval(model, nm.enable_grad, function()
    for b0 = 1, math.max(B, 1), bs do
      local n = math.min(bs, B - b0 + 1)
      if n <= 0 then break end
      local xb = n == B and x or x:narrow(1, b0, n)
      local yb = n == B and y or y:narrow(1, b0, n)
      local l, z = pass(model, plan, xb, yb, make_target(b0, n), opts, lossf)
      losses[#losses + 1], logits[#logits + 1] = l, z
    end
  end)
  if #losses == 1 then return losses[1], logits[1] end
  return lt.cat(losses, 1), lt.cat(logits, 1)
end

local function method_loop(model, x, y, opts, plan, G)
  -- The reference: one backward per sample (what the seed does), gradients copied out.
  check_batch("per_sample_grads", x, y)
  local lossf = loss_fn(opts)
  nm.in_eval(model, nm.enable_grad, function()
    for b = 1, x:size(1) do
      model:zero_grad()
      local xb, yb = x:narrow(1, b, 1), y:narrow(1, b, 1)
      local logits = model:forward(xb)
      local _, d = lossf(logits, yb)
      model:backward(d, nil, false)
      local row = G[b]
      for _, e in ipairs(plan.entries) do
        row:narrow(1, e.offset + 1, e.numel):copy_(e.module:grad_of(e.key):reshape(e.numel))
      end
    end
    model:zero_grad()
  end)
end

-- per_sample_grads(model, x, y [, opts]) -> G [B x D], losses [B], logits [B x C]
-- Options (unknown keys raise): last_layer (false: every trainable parameter; true: the final
-- Linear layer's weight and bias only), params (nil: all; a list of parameter names or
-- prefixes), loss ("cross_entropy"; "nll", "mse" or a function (logits, y) -> losses,
-- dlogits), label_smoothing (0), batch_size (the whole batch: rows per forward/backward
-- chunk), out (nil: a new tensor; a contiguous [B x D] tensor of the model's dtype to fill),
-- method (nil: one batched pass; "loop" runs one sample at a time, for checking).
function M.per_sample_grads(model, x, y, opts)
  opts = check("per_sample_grads", 4, opts, keys("out", "method")) or {}
  local plan = M.plan(model, opts, "per_sample_grads")
  local dt = model:dtype()
  check_batch("per_sample_grads", x, y)
  if opts.method == "loop" then
    local G = lt.zeros({ x:size(1), plan.dim }, dt)
    method_loop(model, x, y, opts, plan, G)
    return G
  end
  -- Every layer assigns its columns, so G starts uninitialised (no pass over
  -- B x D memory); columns of layers the backward pass never reached are zeroed.
  local G = result("per_sample_grads", opts, { x:size(1), plan.dim }, dt, lt.empty)
  plan.seen = {}
  local losses, logits = run("per_sample_grads", model, x, y, opts, plan, function(b0, n)
    return { mode = "full", out = n == x:size(1) and G or G:narrow(1, b0, n) }
  end)
  for _, e in ipairs(plan.entries) do
    if not plan.seen[e.module] then G:narrow(2, e.offset + 1, e.numel):fill_(0) end
  end
  return G, losses, logits
end

-- projected_grads(model, x, y, P [ell x D] [, opts]) -> Z [B x ell] = G Pᵀ, losses, logits
-- Options as per_sample_grads': last_layer (false), params (all), loss ("cross_entropy"),
-- label_smoothing (0), batch_size (the whole batch), out (nil: a new [B x ell] tensor).
function M.projected_grads(model, x, y, P, opts)
  opts = check("projected_grads", 5, opts, keys("out")) or {}
  local plan = M.plan(model, opts, "projected_grads")
  local dt = model:dtype()
  if not lt.is_tensor(P) or P:dim() ~= 2 then
    argerror(4, "projected_grads", "projection must be an [ell x D] tensor, got %s", lt.is_tensor(P) and nm.shape_str(P) or type(P))
  end
  if P:size(2) ~= plan.dim then
    argerror(4, "projected_grads", "projection %s has %d columns but the selected parameters number D = %d",
             nm.shape_str(P), P:size(2), plan.dim)
  end
  if P:dtype() ~= dt then P = P:to(dt) end
  if not P:is_contiguous() then P = P:contiguous() end
  check_batch("projected_grads", x, y)
  local Z = result("projected_grads", opts, { x:size(1), P:size(1) }, dt, lt.zeros)
  if opts.out then Z:fill_(0) end
  local losses, logits = run("projected_grads", model, x, y, opts, plan, function(b0, n)
    return { mode = "project", out = n == x:size(1) and Z or Z:narrow(1, b0, n), proj = P }
  end)
  return Z, losses, logits
end

-- per_sample_norms(model, x, y [, opts]) -> norms [B] (float64), losses, logits
-- The exact ||g_b|| without forming G. Options as per_sample_grads': last_layer (false),
-- params (all), loss ("cross_entropy"), label_smoothing (0), batch_size (the whole batch).
function M.per_sample_norms(model, x, y, opts)
  opts = check("per_sample_norms", 4, opts, PASS_OPTS) or {}
  local plan = M.plan(model, opts, "per_sample_norms")
  check_batch("per_sample_norms", x, y)
  local N = lt.zeros({ x:size(1) }, "float64")
  local losses, logits = run("per_sample_norms", model, x, y, opts, plan, function(b0, n)
    return { mode = "sqnorm", out = n == x:size(1) and N or N:narrow(1, b0, n), dim = plan.dim }
  end)
  return N:sqrt(), losses, logits
end

-- param_dim(model [, {last_layer = false, params = all}] [, fname]) -> D, entries
-- D and the plan's entries (name, offset, numel) for slicing G; errors name fname
-- (default "param_dim").
function M.param_dim(model, opts, fname)
  check(fname or "param_dim", 2, opts, { "last_layer", "params" })
  local plan = M.plan(model, opts, fname)
  return plan.dim, plan.entries
end

-- sample_stats(model, x, y|nil [, {batch_size = the whole batch}]) -> {logits, probs, pred,
-- loss, prob, margin, prob_margin, entropy, el2n, correct} for uncertainty, EL2N and forgetting
-- scores (evaluation mode).
function M.sample_stats(model, x, y, opts)
  opts = check("sample_stats", 4, opts, { "batch_size" }) or {}
  if not lt.is_tensor(x) then argerror(1, "sample_stats", "batch tensor expected, got %s", type(x)) end
  local B, bs, parts = x:size(1), opts.batch_size or x:size(1), {}
  -- Forward only: nothing is kept for a backward.
  nm.in_eval(model, nm.no_grad, function()
    for b0 = 1, B, bs do
      local n = math.min(bs, B - b0 + 1)
      parts[#parts + 1] = model:forward(n == B and x or x:narrow(1, b0, n))
    end
  end)
  local logits = #parts == 1 and parts[1] or lt.cat(parts, 1)
  local s = C.logit_stats(logits, y)
  s.logits = logits
  s.probs = C.softmax_forward(logits, false)
  if y then s.correct = s.pred:eq(y:long()) end
  return s
end

return M
