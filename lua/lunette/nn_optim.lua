-- lunette.nn_optim: optimisers (SGD with momentum/Nesterov/weight decay, Adam, AdamW), learning-rate
-- schedules (step, cosine, linear warm-up) and gradient clipping, all following torch.optim.
--
--   local opt = nn.SGD(model, {lr = 0.1, momentum = 0.9, weight_decay = 5e-4, nesterov = true})
--   local sched = nn.CosineLR(opt, {t_max = epochs, warmup = 2})
--   ... model:zero_grad(); model:backward(...); nn.clip_grad_norm(model, 5); opt:step() ...
--   sched:step()                                   -- once per epoch (or per step, your choice)
--
-- The first argument is a model, an array of models, or an array of parameter
-- groups {{params = model_or_entries, lr = 0.01, weight_decay = 0}, ...}; a
-- group's options override the optimiser's.
local C = require "lunette._nn"
local nm = require "lunette.nn_module"

local M = {}
local argerror = nm.argerror
local check = require("lunette.options").check

-- The parameter entries {module, key} of whatever `params` is.
local function entries_of(params)
  if nm.is_module(params) then return params:named_parameters() end
  if type(params) == "table" and params.module and params.key then return { params } end
  if type(params) == "table" then
    local out = {}
    for _, p in ipairs(params) do
      for _, e in ipairs(entries_of(p)) do out[#out + 1] = e end
    end
    return out
  end
  argerror(1, "optimizer", "model, parameter entries or groups expected, got %s", type(params))
end

-- The parameter groups of an optimiser: opts and each group's table may hold only the keys
-- known (a group also "params"), so a misspelt momentum never trains without momentum.
local function build_groups(fname, params, opts, defaults, known)
  check(fname, 2, opts, known)
  local group_keys = { "params", table.unpack(known) }
  local groups = {}
  local function add(ps, o)
    check(fname, 1, o, group_keys)
    local g = { entries = entries_of(ps), state = {} }
    for k, v in pairs(defaults) do g[k] = v end
    for k, v in pairs(opts) do g[k] = v end
    for k, v in pairs(o or {}) do if k ~= "params" then g[k] = v end end
    if type(g.lr) ~= "number" or g.lr < 0 then argerror(2, fname, "lr must be a non-negative number, got %s", tostring(g.lr)) end
    g.initial_lr = g.lr
    groups[#groups + 1] = g
  end
  if type(params) == "table" and not nm.is_module(params) and type(params[1]) == "table" and params[1].params then
    for _, grp in ipairs(params) do add(grp.params, grp) end
  else
    add(params, nil)
  end
  return groups
end

local Optimizer = {}
Optimizer.__index = Optimizer

-- lr (read or set) applies to every group.
function Optimizer:set_lr(lr) for _, g in ipairs(self.groups) do g.lr = lr end end
function Optimizer:get_lr() return self.groups[1].lr end

function Optimizer:zero_grad()
  for _, g in ipairs(self.groups) do
    for _, e in ipairs(g.entries) do
      local t = e.module.grad[e.key]
      if t then t:fill_(0) end
    end
  end
end

-- step(): one update of every parameter that has a gradient.
function Optimizer:step()
  self.steps = self.steps + 1
  for _, g in ipairs(self.groups) do
    for i, e in ipairs(g.entries) do
      local p, grad = e.module[e.key], e.module.grad[e.key]
      if grad ~= nil then self:_update(g, g.state, i, p, grad) end
    end
  end
end

local SGD = setmetatable({}, { __index = Optimizer })
SGD.__index = SGD

-- SGD(params, {lr, momentum = 0, dampening = 0, weight_decay = 0, nesterov = false}) -> optimizer
-- torch.optim.SGD. params: a model, an array of models or parameter entries, or an array of
-- groups {params = ..., lr = ...}. Options (an unknown key raises): lr (required, here or in
-- every group), momentum (0), dampening (0), weight_decay (0), nesterov (false).
function M.SGD(params, opts)
  opts = opts or {}
  local self = setmetatable({ steps = 0, kind = "SGD" }, SGD)
  self.groups = build_groups("SGD", params, opts, { momentum = 0, dampening = 0, weight_decay = 0, nesterov = false },
                             { "lr", "momentum", "dampening", "weight_decay", "nesterov" })
  for _, g in ipairs(self.groups) do
    if g.nesterov and (g.momentum <= 0 or g.dampening ~= 0) then
      argerror(2, "SGD", "Nesterov momentum requires a momentum and zero dampening")
    end
  end
  return self
end

function SGD:_update(g, state, i, p, grad)
  local buf, first = nil, false
  if g.momentum ~= 0 then
    buf = state[i]
    if buf == nil or buf:numel() ~= p:numel() then
      buf = grad:clone(); state[i] = buf; first = true
    end
  end
  C.sgd_step(p, grad, buf, first, g.lr, g.momentum, g.dampening, g.weight_decay, g.nesterov)
end

local Adam = setmetatable({}, { __index = Optimizer })
Adam.__index = Adam

local function adam(kind, decoupled, wd)
  return function(params, opts)
    opts = opts or {}
    local self = setmetatable({ steps = 0, kind = kind }, Adam)
    self.groups = build_groups(kind, params, opts, { lr = 1e-3, betas = { 0.9, 0.999 }, eps = 1e-8, weight_decay = wd },
                               { "lr", "betas", "eps", "weight_decay" })
    for _, g in ipairs(self.groups) do g.decoupled = decoupled end
    return self
  end
end

-- Adam(params, {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0}) -> optimizer
-- torch.optim.Adam (params as SGD's; an unknown option raises).
M.Adam = adam("Adam", false, 0)
-- AdamW(params, {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 1e-2}) -> optimizer
-- torch.optim.AdamW: decoupled weight decay (params as SGD's; an unknown option raises).
M.AdamW = adam("AdamW", true, 1e-2)

function Adam:_update(g, state, i, p, grad)
  local s = state[i]
  if s == nil or s.m:numel() ~= p:numel() then
    s = { m = grad:clone():fill_(0), v = grad:clone():fill_(0), step = 0 }
    state[i] = s
  end
  s.step = s.step + 1
  C.adam_step(p, grad, s.m, s.v, s.step, g.lr, g.betas[1], g.betas[2], g.eps, g.weight_decay, g.decoupled)
end

---------------------------------------------------------------------------
-- schedules: the learning rate of every group = its initial lr * factor(t)
---------------------------------------------------------------------------

local Schedule = {}
Schedule.__index = Schedule

function Schedule:apply()
  local f = self.factor(self.t)
  for _, g in ipairs(self.optimizer.groups) do g.lr = g.initial_lr * f end
  return f
end
-- step(): advances one period (epoch or step) and sets the new learning rates.
function Schedule:step() self.t = self.t + 1; self:apply(); return self:get_lr() end
function Schedule:get_lr() return self.optimizer.groups[1].lr end

local function schedule(opt, factor)
  if type(opt) ~= "table" or not opt.groups then argerror(1, "schedule", "optimizer expected") end
  local s = setmetatable({ optimizer = opt, t = 0, factor = factor }, Schedule)
  s:apply()
  return s
end

-- Linear warm-up factor for t < warmup: (t + 1) / warmup (PyTorch LinearLR from 1/warmup).
local function warm(t, warmup) return (t + 1) / warmup end

-- StepLR(opt, {step_size, gamma = 0.1, warmup = 0}) -> schedule
-- lr times gamma every step_size periods (required, >= 1) after warmup linear warm-up periods.
function M.StepLR(opt, o)
  o = check("StepLR", 2, o, { "step_size", "gamma", "warmup" }) or {}
  if not o.step_size or o.step_size < 1 then argerror(2, "StepLR", "step_size must be >= 1") end
  local gamma, warmup = o.gamma or 0.1, o.warmup or 0
  return schedule(opt, function(t)
    if t < warmup then return warm(t, warmup) end
    return gamma ^ ((t - warmup) // o.step_size)
  end)
end

-- CosineLR(opt, {t_max, eta_min = 0, warmup = 0}) -> schedule
-- PyTorch's CosineAnnealingLR over t_max (required, >= 1) - warmup periods after a linear
-- warm-up of warmup periods.
function M.CosineLR(opt, o)
  o = check("CosineLR", 2, o, { "t_max", "eta_min", "warmup" }) or {}
  if not o.t_max or o.t_max < 1 then argerror(2, "CosineLR", "t_max must be >= 1") end
  local warmup, eta = o.warmup or 0, o.eta_min or 0
  local base = opt.groups[1].initial_lr
  return schedule(opt, function(t)
    if t < warmup then return warm(t, warmup) end
    local span = math.max(1, o.t_max - warmup)
    local c = (1 + math.cos(math.pi * math.min(t - warmup, span) / span)) / 2
    if base == 0 then return c end
    return (eta + (base - eta) * c) / base
  end)
end

-- LinearLR(opt, {start_factor = 1/3, end_factor = 1, total_iters = 5}) -> schedule
-- lr times a factor going linearly from start_factor to end_factor over total_iters periods.
function M.LinearLR(opt, o)
  o = check("LinearLR", 2, o, { "start_factor", "end_factor", "total_iters" }) or {}
  local s, e, n = o.start_factor or 1 / 3, o.end_factor or 1, o.total_iters or 5
  return schedule(opt, function(t) return s + (e - s) * math.min(t, n) / n end)
end

---------------------------------------------------------------------------
-- clipping
---------------------------------------------------------------------------

local function grads_of(params)
  local out = {}
  for _, e in ipairs(entries_of(params)) do
    local g = e.module.grad[e.key]
    if g then out[#out + 1] = g end
  end
  return out
end

-- clip_grad_norm(params, max_norm) -> the total norm before clipping (as torch.nn.utils).
function M.clip_grad_norm(params, max_norm)
  local total = 0
  local gs = grads_of(params)
  for _, g in ipairs(gs) do local n = g:norm(); total = total + n * n end
  total = math.sqrt(total)
  local coef = max_norm / (total + 1e-6)
  if coef < 1 then for _, g in ipairs(gs) do g:mul_(coef) end end
  return total
end

-- clip_grad_value(params, v): clamps every gradient entry to [-v, v].
function M.clip_grad_value(params, v)
  for _, g in ipairs(grads_of(params)) do g:clamp_(-v, v) end
end

return M
