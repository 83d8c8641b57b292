-- lunette.nn_module: the Module base class, parameters, buffers and state dicts, and the containers
-- (Sequential, Residual) that run children forward and backward.
--
-- A module's forward(x) keeps what its backward needs; backward(gy, ctx, need_dx)
-- accumulates parameter gradients into module.grad[key] (created on demand,
-- zeroed by zero_grad) and returns the gradient of its input (nil when need_dx
-- is false). ctx, when given, is a per-sample pass (see nn_psg): layers then
-- hand per-sample gradients to ctx.target instead of accumulating.
--
-- Named children are fields, as in torch: model.fc2.weight is the live parameter tensor,
-- seq["0"] a Sequential's first child; a child named like a method or a field of its
-- parent (a `features` child: m:features(x) is a method) is m:child("features").
-- `model.fc = nn.Linear(512, 5)` replaces the child wherever the model runs it.
local lt = require "lunette.tensor"
local ordered = require "lunette.ordered"

local M = {}

local Module = {}
M.Module = Module

-- Named children are fields, as attributes of a torch module: m.fc2, m.layer1["0"].conv1,
-- seq["0"] (a child whose name is not a Lua identifier). A field lookup finds, in order, the
-- instance's own fields (parameters, buffers, `training`, `head`, ...), then the class's
-- methods, then the children: a child named like a method or a field (a torchvision-style
-- `features` child of a Sequential, whose features(x) is a method) keeps its name in the
-- state dict and tostring, and is reached with m:child(name); m.features stays the method,
-- so m:features(x) means the same in every model.
local function instance_index(cls)
  return function(self, k)
    local v = cls[k]
    if v ~= nil then return v end
    local named = rawget(self, "_named")
    if named ~= nil then return named[k] end
  end
end

-- Assigning a module to a child's field replaces that child, as in torch
-- (`model.fc = nn.Linear(512, 5)`): everywhere the container runs it (its sequence, a residual
-- body, model.head) now runs the new one. Assigning anything else to a child's name raises,
-- rather than leave the old child running under a field that no longer shows it.
local replace_child
local function instance_newindex(cls)
  return function(self, k, v)
    local named = rawget(self, "_named")
    if named ~= nil and named[k] ~= nil and cls[k] == nil then
      replace_child(self, k, v) -- not a tail call: the error's level 3 is the assigning line
      return
    end
    rawset(self, k, v)
  end
end

Module.__index = instance_index(Module)
Module.__newindex = instance_newindex(Module)
-- The REPL completes through __methods where __index is a function, and offers the children
-- named in the instance's _named table through __fields (src/host/shell.h).
Module.__methods = Module
Module.__fields = "_named"

-- class(name [, parent = Module]) -> class
-- A new module class: a table whose instances are modules (inheriting
-- parent's methods), callable as name(...) to run cls.new, with instances
-- callable as m(x) = m:forward(x) and printable. Instances see their named
-- children as fields (m.fc2) after their own fields and the class's methods.
function M.class(name, parent)
  local cls = setmetatable({}, { __index = parent or Module, __call = function(c, ...) return c.new(...) end })
  cls.__index = instance_index(cls)
  cls.__newindex = instance_newindex(cls)
  cls.__methods = cls
  cls.__fields = "_named"
  cls.__name = name
  cls.__call = function(self, ...) return self:forward(...) end
  cls.__tostring = function(self) return self:tostring() end
  return cls
end

-- init(self) -> self
-- Instance set-up shared by every constructor: empty parameter, buffer and
-- child lists, no gradients, training mode.
function M.init(self)
  self._params, self._buffers, self._children, self._named = {}, {}, {}, {}
  self.grad, self.training = {}, true
  return self
end

-- is_module(x) -> boolean
-- Whether x is a module instance (a table built by a class constructor).
function M.is_module(x) return type(x) == "table" and getmetatable(x) ~= nil and x._params ~= nil end

-- argerror(n, fname, fmt, ...) raises "bad argument #n to 'fname' (...)" at the user's line
-- (lunette.options finds it), however deep in containers and layers the check ran.
local function argerror(n, fname, fmt, ...)
  require("lunette.options").argerror(fname, n, fmt:format(...))
end
M.argerror = argerror

function M.shape_str(t)
  if type(t) == "table" and not lt.is_tensor(t) then return "[" .. table.concat(t, "x") .. "]" end
  return "[" .. table.concat(t:size(), "x") .. "]"
end

---------------------------------------------------------------------------
-- registration
---------------------------------------------------------------------------

-- m:register_parameter(key, t)
-- Stores tensor t as m[key] and lists it as a trainable parameter (in the
-- state dict, parameters(), gradients). t must be contiguous: optimisers
-- update it in place (a strided view raises; pass t:contiguous()).
function Module:register_parameter(key, t)
  if lt.is_tensor(t) and not t:is_contiguous() then
    argerror(2, "register_parameter",
             "parameter '%s' must be contiguous (optimisers update it in place), got a strided view",
             tostring(key))
  end
  self._params[#self._params + 1] = key
  self[key] = t
end

-- m:register_buffer(key, t)
-- Stores tensor t as m[key] and lists it as a buffer: in the state dict, not
-- trained (running statistics).
function Module:register_buffer(key, t)
  self._buffers[#self._buffers + 1] = key
  self[key] = t
end

-- m:add(name, child) -> child
-- Registers a child module under name (its state-dict prefix), reachable as
-- the field m[name] unless a field or method of m has that name (then
-- m:child(name)); fails when child is not a module.
function Module:add(name, m)
  if not M.is_module(m) then argerror(2, "add", "module expected, got %s", type(m)) end
  name = tostring(name)
  self._children[#self._children + 1] = { name = name, module = m }
  -- Modules built by hand before init (no _named yet) still register; their field appears
  -- once init has run.
  local named = rawget(self, "_named")
  if named == nil then
    named = {}
    rawset(self, "_named", named)
  end
  named[name] = m
  return m
end

-- m:child(name) -> module | nil
-- The direct child registered under name (what m.name gives unless a field
-- or method of m has that name).
function Module:child(name)
  local named = rawget(self, "_named")
  return named and named[tostring(name)]
end

-- Every reference to `old` in the tables the module owns (its sequence, a residual body and
-- shortcut, `head`), a few levels deep, becomes `new`; registered children are other modules
-- and are not entered.
local function replace_refs(t, old, new, depth, skip)
  for k, v in next, t do
    if v == old then
      rawset(t, k, new)
    elseif type(v) == "table" and depth > 0 and not skip[v] then
      skip[v] = true
      replace_refs(v, old, new, depth - 1, skip)
    end
  end
end

replace_child = function(self, name, new)
  if not M.is_module(new) then
    error(("cannot set child '%s' of %s to a %s (assign a module to replace it)")
      :format(name, self.__name or "Module", type(new)), 3)
  end
  local old = self._named[name]
  local skip = { [self._named] = true }
  for _, c in ipairs(self._children) do
    if c.name == name then c.module = new end
    skip[c] = true
    skip[c.module] = true
  end
  self._named[name] = new
  replace_refs(self, old, new, 3, skip)
end

-- m:children() -> array
-- The direct child modules, in registration order.
function Module:children()
  local out = {}
  for i, c in ipairs(self._children) do out[i] = c.module end
  return out
end

-- m:named_modules() -> array of {name = "layer1.0.conv1", module = m}
-- Every module of the tree, depth first, m itself first (name "").
function Module:named_modules(prefix, out)
  out, prefix = out or {}, prefix or ""
  out[#out + 1] = { name = prefix, module = self }
  for _, c in ipairs(self._children) do
    c.module:named_modules(prefix == "" and c.name or (prefix .. "." .. c.name), out)
  end
  return out
end

-- check_unshared(model, fname)
-- Raises, naming fname, when one module object sits at two places of model's tree. A module
-- keeps the activations of its last forward for backward (m._x and the like), so a second use
-- in the same pass overwrites what the first use's backward needs and its gradients come out
-- wrong; until backward keeps one record per use, reuse is refused rather than miscomputed.
function M.check_unshared(model, fname)
  local where = {}
  for _, e in ipairs(model:named_modules()) do
    local m, name = e.module, e.name == "" and "(the model)" or ("'" .. e.name .. "'")
    if where[m] then
      argerror(1, fname, "%s is used at two places in the model (%s and %s); backward keeps one " ..
               "record per module, so its gradients would be wrong: give each use its own module",
               m:tostring():match("^[^\n]*"), where[m], name)
    end
    where[m] = name
  end
end

-- m:named_parameters([{all = false}]) -> array of {name, module, key, tensor}
-- The trainable parameters in PyTorch's order (frozen ones too with all), each once: a module
-- used at two places in the tree (shared weights) is listed under its first name only, as
-- torch does, so an optimiser steps it once with the gradient both uses accumulated.
function Module:named_parameters(opts)
  require("lunette.options").check("named_parameters", 1, opts, { "all" })
  local out, all, seen = {}, opts and opts.all, {}
  for _, e in ipairs(self:named_modules()) do
    local m = e.module
    local first = not seen[m]
    seen[m] = true
    for _, key in ipairs(first and m._params or {}) do
      if m[key] ~= nil and (all or not (m._frozen and m._frozen[key])) then
        out[#out + 1] = { name = e.name == "" and key or (e.name .. "." .. key), module = m, key = key, tensor = m[key] }
      end
    end
  end
  return out
end

-- m:parameters() -> array of tensors
-- The trainable (not frozen) parameter tensors, for an optimiser.
function Module:parameters()
  local out = {}
  for i, p in ipairs(self:named_parameters()) do out[i] = p.tensor end
  return out
end

-- m:num_parameters() -> integer
-- The total number of trainable entries (D of per-sample gradients).
function Module:num_parameters()
  local n = 0
  for _, p in ipairs(self:named_parameters()) do n = n + p.tensor:numel() end
  return n
end

-- m:grad_of(key) -> Tensor
-- The gradient tensor of parameter key, created (zeros) on first use.
function Module:grad_of(key)
  local g = self.grad[key]
  if g == nil then
    local p = self[key]
    g = lt.zeros(p:size(), p:dtype())
    self.grad[key] = g
  end
  return g
end

-- m:zero_grad()
-- Sets every accumulated gradient of the tree to zero (backward adds).
function Module:zero_grad()
  for _, e in ipairs(self:named_modules()) do
    for _, g in pairs(e.module.grad) do g:fill_(0) end
  end
end

-- freeze(prefix...) / unfreeze(prefix...): parameters whose names start with a prefix
-- (all when none given) stop (resume) receiving gradients and per-sample gradients.
local function set_frozen(self, flag, ...)
  local prefixes = { ... }
  for _, p in ipairs(self:named_parameters { all = true }) do
    local hit = #prefixes == 0
    for _, pre in ipairs(prefixes) do
      if p.name == pre or p.name:sub(1, #pre + 1) == pre .. "." then hit = true end
    end
    if hit then
      p.module._frozen = p.module._frozen or {}
      p.module._frozen[p.key] = flag or nil
    end
  end
  return self
end
-- m:freeze(prefix...) -> m
-- Parameters whose names start with a prefix (all when none is given) stop
-- receiving gradients and per-sample gradients and leave parameters().
function Module:freeze(...) return set_frozen(self, true, ...) end
-- m:unfreeze(prefix...) -> m
-- Undoes freeze for the parameters under the prefixes (all when none).
function Module:unfreeze(...) return set_frozen(self, false, ...) end

-- all_modules(m) -> array of modules
-- Every module m runs: its named children's trees and also the modules a container holds
-- without a name (anonymous Sequential members, a residual block's body, shortcut and the
-- activation after its sum), each once. The mode must reach these too: a module left in
-- training mode keeps its activations for a backward and uses batch statistics.
local CONTAINED = { "_body", "_shortcut", "_post" }
function M.all_modules(m, out, seen)
  out, seen = out or {}, seen or {}
  if seen[m] then return out end
  seen[m] = true
  out[#out + 1] = m
  for _, c in ipairs(rawget(m, "_children") or {}) do M.all_modules(c.module, out, seen) end
  for _, c in ipairs(rawget(m, "_seq") or {}) do M.all_modules(c, out, seen) end
  for _, k in ipairs(CONTAINED) do
    local c = rawget(m, k)
    if type(c) == "table" and rawget(c, "_params") then M.all_modules(c, out, seen) end
  end
  return out
end

-- m:train([flag = true]) -> m
-- Sets training mode (batch statistics, dropout) on the whole tree.
function Module:train(flag)
  if flag == nil then flag = true end
  for _, m in ipairs(M.all_modules(self)) do m.training = flag end
  return self
end
-- m:eval() -> m
-- Evaluation mode: m:train(false).
function Module:eval() return self:train(false) end

-- in_eval(model, fn, ...) -> fn(...)'s results
-- Runs fn(...) with every module of model in evaluation mode (dropout off, batch norm on its
-- running statistics), then gives each module back its own training flag, also when fn
-- raises: the error is then raised again as it was (same value, no position added), so a
-- failed or interrupted pass never leaves a model stuck in eval mode.
function M.in_eval(model, fn, ...)
  local saved = {}
  for _, m in ipairs(M.all_modules(model)) do saved[m] = m.training end
  model:eval()
  local res = table.pack(pcall(fn, ...))
  for m, flag in pairs(saved) do m.training = flag end
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

-- m:to(dtype) -> m
-- Converts parameters, float buffers and gradients of the tree to dtype, in place.
function Module:to(dtype)
  for _, e in ipairs(self:named_modules()) do
    local m = e.module
    for _, k in ipairs(m._params) do if m[k] then m[k] = m[k]:to(dtype) end end
    for _, k in ipairs(m._buffers) do
      if m[k] and (m[k]:dtype() == "float32" or m[k]:dtype() == "float64") then m[k] = m[k]:to(dtype) end
    end
    m.grad = {}
  end
  return self
end
-- m:cuda([device]) -> m
-- Not yet: nn layers run on the CPU only. Raises "no CUDA device (reason)" on a machine
-- without a GPU, and otherwise says that the layers have no CUDA kernels yet (lunette.cuda
-- runs tensor ops, GEMMs, cdist and eigh on the GPU so far).
function Module:cuda(device)
  local cuda = require "lunette.cuda"
  local ok, why = cuda.is_available()
  if not ok then require("lunette.options").raise("cuda: no CUDA device (" .. why .. ")") end
  require("lunette.options").raise("cuda: nn layers have no CUDA kernels yet; the model " ..
                                   "stays on the cpu")
end
-- m:double() -> m
-- m:to("float64").
function Module:double() return self:to("float64") end
-- m:float() -> m
-- m:to("float32").
function Module:float() return self:to("float32") end

-- m:dtype() -> string
-- The dtype of the first parameter ("float32" for a module without any).
function Module:dtype()
  local p = self:named_parameters({ all = true })[1]
  return p and p.tensor:dtype() or "float32"
end

---------------------------------------------------------------------------
-- state dicts
---------------------------------------------------------------------------

-- state_dict() -> {name = tensor} (parameters and buffers, shared with the model)
-- that pairs() walks in PyTorch's order, plus that order as a second value.
function Module:state_dict()
  local sd, keys = {}, {}
  for _, e in ipairs(self:named_modules()) do
    local m, pre = e.module, e.name == "" and "" or (e.name .. ".")
    for _, list in ipairs { m._params, m._buffers } do
      for _, k in ipairs(list) do
        if m[k] ~= nil then sd[pre .. k] = m[k]; keys[#keys + 1] = pre .. k end
      end
    end
  end
  -- `keys` and __pairs: the convention lunette.io uses for ordered dicts, so io.save writes
  -- PyTorch's order too.
  return setmetatable(sd, { keys = keys, __pairs = ordered.pairs }), keys
end

local function list_keys(t, limit)
  table.sort(t)
  if #t > limit then
    local n = #t
    t = { table.unpack(t, 1, limit) }
    t[#t + 1] = ("... (%d more)"):format(n - limit)
  end
  return table.concat(t, ", ")
end

-- The entries of sd under prefix, with the prefix removed (a sub-module's state dict).
local function under_prefix(sd, prefix)
  local out = {}
  for k, v in pairs(sd) do
    if type(k) == "string" and k:sub(1, #prefix) == prefix then out[k:sub(#prefix + 1)] = v end
  end
  return out
end

-- load_state_dict(sd, {strict = true, prefix = nil}): copies every tensor of sd into the model
-- (converting dtypes). Missing, unexpected or mis-shaped keys raise one error that
-- lists them all; with strict = false only shapes are checked. With prefix
-- ("projectors.0.proj."), only the keys under it are read, without it (a part of a
-- larger checkpoint loads into a model of that part). Returns missing, unexpected.
-- Given nil and a message (what lunette.io.load returns for a missing or unreadable file, as
-- in m:load_state_dict(lt.io.load(p))), raises that message.
function Module:load_state_dict(sd, opts)
  if sd == nil and type(opts) == "string" then require("lunette.options").raise(opts) end
  -- array: m:load_state_dict(other:state_dict()) also passes state_dict's second value, its keys
  require("lunette.options").check("load_state_dict", 2, opts, { "strict", "prefix" }, true)
  if type(sd) ~= "table" then argerror(1, "load_state_dict", "state dict table expected, got %s", type(sd)) end
  local strict = not (opts and opts.strict == false)
  if opts and opts.prefix ~= nil then
    if type(opts.prefix) ~= "string" then argerror(2, "load_state_dict", "prefix must be a string, got %s", type(opts.prefix)) end
    sd = under_prefix(sd, opts.prefix)
  end
  local own = self:state_dict()
  local missing, unexpected, mismatched = {}, {}, {}
  for k, t in pairs(own) do
    local v = sd[k]
    if v == nil then missing[#missing + 1] = k
    elseif not lt.is_tensor(v) then mismatched[#mismatched + 1] = ("%s (not a tensor: %s)"):format(k, type(v))
    elseif v:numel() ~= t:numel() or (v:dim() ~= t:dim() and t:dim() > 0) then
      mismatched[#mismatched + 1] = ("%s (checkpoint %s, model %s)"):format(k, M.shape_str(v), M.shape_str(t))
    else
      local sv, st = v:size(), t:size()
      for i = 1, #st do
        if sv[i] ~= st[i] then
          mismatched[#mismatched + 1] = ("%s (checkpoint %s, model %s)"):format(k, M.shape_str(v), M.shape_str(t))
          break
        end
      end
    end
  end
  for k in pairs(sd) do if own[k] == nil then unexpected[#unexpected + 1] = k end end
  local problems = {}
  if #mismatched > 0 then problems[#problems + 1] = "shape mismatch: " .. list_keys(mismatched, 20) end
  if strict and #missing > 0 then problems[#problems + 1] = "missing keys: " .. list_keys(missing, 20) end
  if strict and #unexpected > 0 then problems[#problems + 1] = "unexpected keys: " .. list_keys(unexpected, 20) end
  if #problems > 0 then
    local where = opts and opts.prefix and (" (prefix '" .. opts.prefix .. "')") or ""
    local msg = "load_state_dict" .. where .. ": " .. table.concat(problems, "; ")
    require("lunette.options").raise(msg)
  end
  for k, t in pairs(own) do
    local v = sd[k]
    if v ~= nil then t:copy_(v:reshape(t:size())) end
  end
  return missing, unexpected
end

---------------------------------------------------------------------------
-- printing
---------------------------------------------------------------------------

-- m:extra_repr() -> string
-- What tostring shows inside the parentheses (layers override it).
function Module:extra_repr() return "" end

-- m:tostring() -> string
-- The module tree as PyTorch prints it: Name(extra) with its named children.
function Module:tostring(indent)
  indent = indent or ""
  local head = (self.__name or "Module") .. "(" .. self:extra_repr()
  if #self._children == 0 then return head .. ")" end
  local lines = { head }
  for _, c in ipairs(self._children) do
    lines[#lines + 1] = indent .. "  (" .. c.name .. "): " .. c.module:tostring(indent .. "  ")
  end
  lines[#lines + 1] = indent .. ")"
  return table.concat(lines, "\n")
end

---------------------------------------------------------------------------
-- Gradient mode
---------------------------------------------------------------------------

-- Whether forward passes keep what backward needs: nil by default (modules in training mode
-- keep it, modules in evaluation mode do not), false inside nn.no_grad (none keeps it), true
-- inside nn.enable_grad (every module keeps it, whatever its mode). Kept in the registry, not
-- in a local: a second copy of this file (a test runner that reloads modules) must see the
-- mode the first copy's layers were run under.
local REGISTRY, MODE_KEY = debug.getregistry(), "lunette.nn.grad_mode"

-- grad_enabled([module]) -> boolean
-- Whether a forward pass of module now keeps the activations its backward needs: inside
-- nn.enable_grad always, inside nn.no_grad never, otherwise when module is in training mode.
-- Without a module: whether gradients are on at all (not inside nn.no_grad).
function M.grad_enabled(module)
  local grad_mode = REGISTRY[MODE_KEY]
  if grad_mode ~= nil or module == nil then return grad_mode ~= false end
  return module.training ~= false
end

local function with_grad(flag, fn, ...)
  local saved = REGISTRY[MODE_KEY]
  REGISTRY[MODE_KEY] = flag
  local res = table.pack(pcall(fn, ...))
  REGISTRY[MODE_KEY] = saved
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

-- no_grad(fn, ...) -> fn(...)'s results
-- Runs fn(...) with gradients off, as torch.no_grad: forward passes keep no
-- activations for backward (each layer also drops those of its last forward),
-- so an evaluation holds one batch's live tensors at a time, not every
-- layer's input. A backward after such a forward raises. The mode is restored
-- when fn returns or raises (the error is raised again as it was). Evaluation
-- mode alone (m:eval()) keeps nothing either: see enable_grad.
function M.no_grad(fn, ...) return with_grad(false, fn, ...) end

-- enable_grad(fn, ...) -> fn(...)'s results
-- Runs fn(...) with gradients on, also inside nn.no_grad (as torch.enable_grad), and for
-- modules in evaluation mode too: unlike torch, a module in evaluation mode keeps no
-- activations by default (so that m:eval(); m:forward(x) holds one batch's live tensors, not
-- every layer's input); a backward in evaluation mode (frozen batch-norm statistics, the
-- per-sample gradient passes) runs its forward inside enable_grad.
function M.enable_grad(fn, ...) return with_grad(true, fn, ...) end

-- saved(layer, v) -> v
-- v, or raises naming the layer when its forward kept nothing for backward
-- (it ran in evaluation mode or under nn.no_grad, or never ran).
function M.saved(layer, v)
  if v == nil then
    M.argerror(1, "backward", "%s kept no activations: its last forward ran in evaluation mode or "
               .. "under nn.no_grad (or none ran); run the forward inside nn.enable_grad to "
               .. "back-propagate in evaluation mode", layer.__name or "module")
  end
  return v
end

-- m:forward(x) -> y
-- The layer's output for a batch x (also m(x)); remembers what backward
-- needs (nothing under nn.no_grad). Each layer checks x's dtype and shape and raises an error naming
-- both. The base module passes x through.
function Module:forward(x) return x end
-- m:backward(dy [, ctx [, need_dx = true]]) -> dx
-- Back-propagates the gradient of the output of the last forward: adds the
-- parameter gradients to m.grad (or, with a per-sample ctx, writes them into
-- its rows) and returns the input gradient unless need_dx is false. The base
-- module passes dy through.
function Module:backward(gy) return gy end

---------------------------------------------------------------------------
-- Sequential
---------------------------------------------------------------------------

local Sequential = M.class("Sequential")
M.Sequential = Sequential

-- Sequential{m1, m2, ...}: children named "0", "1", ... like torch.nn.Sequential;
-- Sequential{{"conv", m1}, {"relu", m2}}: explicit names (an OrderedDict).
-- With {anonymous = true}, bare entries run but are not registered (functional
-- ops such as F.relu in a torch forward); the zoo builds its models that way.
function Sequential.new(entries, opts)
  require("lunette.options").check("Sequential", 2, opts, { "anonymous" })
  local self = M.init(setmetatable({}, Sequential))
  self._seq = {}
  local anonymous = opts and opts.anonymous
  self._anonymous = anonymous
  for i, e in ipairs(entries or {}) do
    if M.is_module(e) then
      if not anonymous then self:add(tostring(i - 1), e) end
      self._seq[#self._seq + 1] = e
    elseif type(e) == "table" and type(e[1]) == "string" and M.is_module(e[2]) then
      self:add(e[1], e[2])
      self._seq[#self._seq + 1] = e[2]
    else
      argerror(1, "Sequential", "entry %d is not a module or a {name, module} pair", i)
    end
  end
  return self
end

-- seq:append(m [, name]) -> seq
-- Adds a module at the end (named by its position unless name is given).
function Sequential:append(m, name)
  if name then self:add(name, m) elseif not self._anonymous then self:add(tostring(#self._seq), m) end
  self._seq[#self._seq + 1] = m
  return self
end

function Sequential:forward(x)
  for _, m in ipairs(self._seq) do x = m:forward(x) end
  return x
end

function Sequential:backward(g, ctx, need_dx)
  if need_dx == nil then need_dx = true end
  if ctx == nil then M.check_unshared(self, "backward") end
  for i = #self._seq, 1, -1 do
    g = self._seq[i]:backward(g, ctx, i > 1 or need_dx)
  end
  return g
end

-- The module sequence (the nth one with seq(n); negative counts from the end).
function Sequential:seq(n)
  if n == nil then return self._seq end
  return self._seq[n < 0 and #self._seq + 1 + n or n]
end

-- seq:features(x) -> Tensor
-- The penultimate representation, what the head reads: the output of every module the
-- model runs before its head (nn.split_head states the one rule). Fails when the model
-- has no head.
function Sequential:features(x)
  local split, why = M.split_head(self)
  if not split then argerror(1, "features", "%s", why) end
  return split.features(x)
end

---------------------------------------------------------------------------
-- the head and the features: one definition for every model
---------------------------------------------------------------------------

-- The name of the class whose method `key` m runs ("" when m itself defines it),
-- found by walking the class chain: by name, not by function identity, so that a
-- module built before lunette.nn was loaded again (busted reloads modules per
-- spec file) still counts as what it is.
local function method_class(m, key)
  if rawget(m, key) ~= nil then return "" end
  local c = getmetatable(m)
  while c ~= nil and rawget(c, key) == nil do
    local mt = getmetatable(c)
    c = mt and mt.__index
  end
  return c and rawget(c, "__name") or ""
end
M.method_class = method_class

-- Whether m runs its children one after the other with Sequential's own code
-- (so opening it up runs the same computation).
local function plain_sequential(m)
  return m._seq ~= nil and method_class(m, "forward") == "Sequential"
    and method_class(m, "backward") == "Sequential"
end

-- The modules a model runs, in order, nested plain Sequentials opened up; any
-- other module (a Linear, a Residual, a custom class) is one step.
local function steps(m, out)
  if not plain_sequential(m) then
    out[#out + 1] = m
    return out
  end
  for _, c in ipairs(m._seq) do steps(c, out) end
  return out
end

local function has_params(m) return #m:named_parameters({ all = true }) > 0 end

local function head_index(list, head)
  for i = #list, 1, -1 do
    if list[i] == head then return i end
  end
end

-- Where the head sits among the steps: model.head when set, else the last
-- module with parameters, which must be a Linear. Returns i or nil, reason.
local function find_head(model, list)
  local last
  for i = #list, 1, -1 do
    if has_params(list[i]) then
      last = i
      break
    end
  end
  if model.head ~= nil then
    local i = head_index(list, model.head)
    if not i or i ~= last then
      return nil, "model.head is not the last parametrised module the model runs"
    end
    return i
  end
  local need = "last_layer needs a final Linear layer (the head): "
  if not last then return nil, need .. "the model has no parameters" end
  if list[last].__name ~= "Linear" then
    return nil, need .. (list[last].__name or "a module") .. " is the last module with parameters"
  end
  return last
end

-- split_head(model) -> {head, before, after, features} | nil, reason
-- The rule nn.split_head documents (nn_psg.lua), in one place: before and after are
-- the module lists around the head, features(x) runs before.
function M.split_head(model)
  if not plain_sequential(model) and model.head ~= nil then
    if type(model.features) ~= "function" or method_class(model, "features") == "Sequential" then
      return nil, "model.head is set but the model has no features(x) method of its own"
    end
    local m = model
    return { head = model.head, after = {}, features = function(x) return m:features(x) end }
  end
  local list = steps(model, {})
  local i, why = find_head(model, list)
  if not i then return nil, why end
  local split = { head = list[i], before = {}, after = {} }
  for k = 1, i - 1 do split.before[#split.before + 1] = list[k] end
  for k = i + 1, #list do split.after[#split.after + 1] = list[k] end
  local before = split.before
  split.features = function(x)
    for _, m in ipairs(before) do x = m:forward(x) end
    return x
  end
  return split
end

---------------------------------------------------------------------------
-- Residual: post(body(x) + shortcut(x))
---------------------------------------------------------------------------

local Residual = M.class("Residual")
M.Residual = Residual

-- Residual{body = {{"conv1", m}, nn.ReLU(), ...}, shortcut = {"shortcut", m} | m | nil,
--          post = module | nil}: body entries follow Sequential's anonymous rule (pairs are
-- registered children, bare modules are functional); a nil shortcut is the identity.
function Residual.new(spec)
  local self = M.init(setmetatable({}, Residual))
  self._body = Sequential.new({}, { anonymous = true })
  for i, e in ipairs(spec.body or spec) do
    if M.is_module(e) then self._body._seq[#self._body._seq + 1] = e
    elseif type(e) == "table" and type(e[1]) == "string" and M.is_module(e[2]) then
      self:add(e[1], e[2])
      self._body._seq[#self._body._seq + 1] = e[2]
    else
      argerror(1, "Residual", "body entry %d is not a module or a {name, module} pair", i)
    end
  end
  local sc = spec.shortcut
  if type(sc) == "table" and type(sc[1]) == "string" then self:add(sc[1], sc[2]); sc = sc[2] end
  self._shortcut = sc
  self._post = spec.post
  return self
end

function Residual:forward(x)
  local h = self._body:forward(x)
  local s = self._shortcut and self._shortcut:forward(x) or x
  local z = h + s
  if self._post then
    z = self._post:forward(z)
  end
  return z
end

function Residual:backward(g, ctx, need_dx)
  if need_dx == nil then need_dx = true end
  if ctx == nil then M.check_unshared(self, "backward") end
  if self._post then g = self._post:backward(g, ctx, true) end
  local gb = self._body:backward(g, ctx, need_dx)
  local gs = g
  if self._shortcut then gs = self._shortcut:backward(g, ctx, need_dx) end
  if not need_dx then return nil end
  return gb + gs
end

return M
