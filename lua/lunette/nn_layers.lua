-- lunette.nn_layers: Linear, Conv2d, BatchNorm1d/2d, LayerNorm, activations, Softmax/LogSoftmax,
-- MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, Dropout, Identity.
--
-- Parameters and buffers carry PyTorch's names (weight, bias, running_mean,
-- running_var, num_batches_tracked) and layouts; initialisation follows
-- PyTorch's defaults (kaiming-uniform with a = sqrt(5): U(-1/sqrt(fan_in),
-- 1/sqrt(fan_in)) for weights and biases) drawn from {generator = g} or
-- {seed = n}, else from the default generator (lunette.seed).
local lt = require "lunette.tensor"
local random = require "lunette.random"
local C = require "lunette._nn"
local nm = require "lunette.nn_module"

local M = {}
local class, init, argerror, shape_str = nm.class, nm.init, nm.argerror, nm.shape_str
local grad_enabled, saved = nm.grad_enabled, nm.saved

-- default_generator() -> Generator
-- The generator lunette.seed(n) restarts, looked up through the lunette table
-- (the path lunette.seed itself takes) so that both always agree, even when a
-- test runner reloads modules between files.
function M.default_generator()
  local ok, lunette = pcall(require, "lunette")
  if ok and type(lunette) == "table" and lunette.random then return lunette.random.default_generator end
  return random.default_generator
end

local check = require("lunette.options").check
local INIT = { "dtype", "generator", "seed" } -- the initial weights' dtype and random source

local function generator(opts)
  if opts and opts.generator then return opts.generator end
  if opts and opts.seed then return random.Generator(opts.seed) end
  return M.default_generator()
end
-- generator([opts]) -> Generator
-- opts.generator, else a new Generator(opts.seed), else default_generator():
-- where a layer draws its initial weights.
M.generator = generator

local function check_count(fname, n, v, what)
  if math.type(v) ~= "integer" or v < 1 then argerror(n, fname, "%s must be a positive integer, got %s", what, tostring(v)) end
  return v
end

-- Raises, naming the layer, when a weight shape has more elements than any
-- tensor may hold (2^46), before Lua's integer products wrap around (a
-- wrapped fan_in made the init bound inf and the error name 'uniform').
local function check_weight_shape(fname, arg, shape)
  local n = 1.0
  for _, s in ipairs(shape) do n = n * s end
  if n > 2.0 ^ 46 then
    argerror(arg, fname, "weight [%s] has too many elements", table.concat(shape, "x"))
  end
end

-- pair(v) -> {v, v} for a number, or the two entries of a table.
local function pair(fname, v, what, lo)
  if type(v) == "number" then v = { v, v } end
  if type(v) ~= "table" or #v ~= 2 then argerror(1, fname, "%s must be an integer or a pair, got %s", what, tostring(v)) end
  for i = 1, 2 do
    if math.type(v[i]) ~= "integer" or v[i] < lo then
      argerror(1, fname, "%s must be integers >= %d, got %s", what, lo, tostring(v[i]))
    end
  end
  return v
end

-- check_input(layer, x)
-- Checks the input tensor of a layer: float, of the layer's dtype (the
-- error says how to convert).
local function check_input(self, x)
  if not lt.is_tensor(x) then argerror(1, "forward", "%s expects a tensor, got %s", self:tostring(), type(x)) end
  local dt, want = x:dtype(), self:dtype()
  if dt ~= want then
    if dt ~= "float32" and dt ~= "float64" then
      argerror(1, "forward", "%s expects a %s tensor, got %s (convert with x:to(\"%s\"))", self:tostring(), want, dt, want)
    end
    argerror(1, "forward", "%s computes in %s but the input is %s (convert the input or the model with :to())",
             self:tostring(), want, dt)
  end
end
M.check_input = check_input

-- Where a per-sample pass wants this layer's parameter gradients (nil: nowhere).
local function psg_offsets(self, ctx)
  local o = ctx.offsets[self]
  if o then
    if ctx.seen then ctx.seen[self] = true end
    return o.weight, o.bias
  end
  return nil, nil
end

-- The gradient accumulators of a training pass (nil for frozen or absent parameters).
local function grads(self, ...)
  local out = {}
  for i, key in ipairs { ... } do
    if self[key] ~= nil and not (self._frozen and self._frozen[key]) then out[i] = self:grad_of(key) end
  end
  return out[1], out[2]
end

-- Where the backward of a layer with a weight and a bias sends its gradients. A training
-- pass (ctx nil): into the accumulators. A per-sample pass: to ctx.target at this layer's
-- offsets. Returns want_dx (whether the input gradient is asked for), gw, gb, target,
-- weight offset, bias offset; want_dx is nil when there is nothing to compute (a per-sample
-- pass that selects none of the layer's parameters and wants no input gradient).
local function backward_dests(self, ctx, need_dx)
  local want_dx = need_dx ~= false
  if not ctx then
    local gw, gb = grads(self, "weight", "bias")
    return want_dx, gw, gb, nil, nil, nil
  end
  local wo, bo = psg_offsets(self, ctx)
  if wo == nil and bo == nil and not want_dx then return nil end
  return want_dx, nil, nil, ctx.target, wo, bo
end

-- Module_dtype(m) -> string
-- m:dtype() -> string
-- The dtype of a layer's weight (or running_mean), float32 without one.
function M.Module_dtype(self)
  local w = self.weight or self.running_mean
  return w and w:dtype() or "float32"
end

---------------------------------------------------------------------------
-- Linear
---------------------------------------------------------------------------

local Linear = class("Linear")
M.Linear = Linear

-- Linear(in_features, out_features, {bias = true, dtype = "float32", generator = g, seed = n})
function Linear.new(in_f, out_f, opts)
  opts = check("Linear", 3, opts, { "bias", table.unpack(INIT) }) or {}
  check_count("Linear", 1, in_f, "in_features")
  check_count("Linear", 2, out_f, "out_features")
  check_weight_shape("Linear", 2, { out_f, in_f })
  local self = init(setmetatable({}, Linear))
  self.in_features, self.out_features = in_f, out_f
  local g, dt, bound = generator(opts), opts.dtype or "float32", 1 / math.sqrt(in_f)
  self:register_parameter("weight", g:uniform(-bound, bound, { out_f, in_f }, { dtype = dt }))
  if opts.bias ~= false then self:register_parameter("bias", g:uniform(-bound, bound, { out_f }, { dtype = dt })) end
  return self
end

Linear.dtype = M.Module_dtype
function Linear:extra_repr() return ("%d -> %d%s"):format(self.in_features, self.out_features, self.bias and "" or ", bias=false") end

function Linear:forward(x)
  check_input(self, x)
  if x:dim() < 1 or x:size(-1) ~= self.in_features then
    argerror(1, "forward", "Linear(%d -> %d) expects input [* x %d], got %s", self.in_features, self.out_features,
             self.in_features, shape_str(x))
  end
  self._x = grad_enabled(self) and x or nil
  return C.linear_forward(x, self.weight, self.bias)
end

function Linear:backward(g, ctx, need_dx)
  local want_dx, gw, gb, tgt, wo, bo = backward_dests(self, ctx, need_dx)
  if want_dx == nil then return nil end
  return C.linear_backward(g, saved(self, self._x), self.weight, gw, gb, want_dx, tgt, wo, bo)
end

---------------------------------------------------------------------------
-- Conv2d
---------------------------------------------------------------------------

local Conv2d = class("Conv2d")
M.Conv2d = Conv2d

-- Conv2d(in_channels, out_channels, kernel_size [, opts]) -> module
-- torch.nn.Conv2d; sizes are integers or pairs. Options: stride (1), padding (0),
-- dilation (1), groups (1), bias (true), dtype ("float32"), generator | seed (nil: the
-- default generator) for the initial weights.
function Conv2d.new(cin, cout, k, opts)
  opts = check("Conv2d", 4, opts, { "stride", "padding", "dilation", "groups", "bias",
                                    table.unpack(INIT) }) or {}
  check_count("Conv2d", 1, cin, "in_channels")
  check_count("Conv2d", 2, cout, "out_channels")
  local groups = opts.groups or 1
  check_count("Conv2d", 4, groups, "groups")
  if cin % groups ~= 0 or cout % groups ~= 0 then
    argerror(4, "Conv2d", "channels %d -> %d are not divisible by groups %d", cin, cout, groups)
  end
  local self = init(setmetatable({}, Conv2d))
  self.in_channels, self.out_channels, self.groups = cin, cout, groups
  self.kernel_size = pair("Conv2d", k, "kernel_size", 1)
  self.stride = pair("Conv2d", opts.stride or 1, "stride", 1)
  self.padding = pair("Conv2d", opts.padding or 0, "padding", 0)
  self.dilation = pair("Conv2d", opts.dilation or 1, "dilation", 1)
  check_weight_shape("Conv2d", 3, { cout, cin // groups, self.kernel_size[1], self.kernel_size[2] })
  self._geo = { self.stride[1], self.stride[2], self.padding[1], self.padding[2], self.dilation[1], self.dilation[2], groups }
  local fan_in = cin // groups * self.kernel_size[1] * self.kernel_size[2]
  local g, dt, bound = generator(opts), opts.dtype or "float32", 1 / math.sqrt(fan_in)
  local wshape = { cout, cin // groups, self.kernel_size[1], self.kernel_size[2] }
  self:register_parameter("weight", g:uniform(-bound, bound, wshape, { dtype = dt }))
  if opts.bias ~= false then self:register_parameter("bias", g:uniform(-bound, bound, { cout }, { dtype = dt })) end
  return self
end

Conv2d.dtype = M.Module_dtype
function Conv2d:extra_repr()
  local s = ("%d -> %d, %dx%d"):format(self.in_channels, self.out_channels, self.kernel_size[1], self.kernel_size[2])
  if self.stride[1] ~= 1 or self.stride[2] ~= 1 then s = s .. (", stride=%d"):format(self.stride[1]) end
  if self.padding[1] ~= 0 or self.padding[2] ~= 0 then s = s .. (", padding=%d"):format(self.padding[1]) end
  if self.groups ~= 1 then s = s .. (", groups=%d"):format(self.groups) end
  if not self.bias then s = s .. ", bias=false" end
  return s
end

function Conv2d:forward(x)
  check_input(self, x)
  if x:dim() ~= 4 or x:size(2) ~= self.in_channels then
    argerror(1, "forward", "Conv2d(%s) expects input [B x %d x H x W], got %s", self:extra_repr(), self.in_channels, shape_str(x))
  end
  self._x = grad_enabled(self) and x or nil
  return C.conv2d_forward(x, self.weight, self.bias, self._geo)
end

function Conv2d:backward(g, ctx, need_dx)
  local want_dx, gw, gb, tgt, wo, bo = backward_dests(self, ctx, need_dx)
  if want_dx == nil then return nil end
  return C.conv2d_backward(g, saved(self, self._x), self.weight, self._geo, gw, gb, want_dx, tgt, wo, bo)
end

---------------------------------------------------------------------------
-- BatchNorm1d / BatchNorm2d
---------------------------------------------------------------------------

local function batchnorm_class(name, dims_ok, expect)
  local cls = class(name)
  -- (see BatchNorm1d below)
  cls.new = function(c, opts)
    opts = check(name, 2, opts, { "eps", "momentum", "affine", "track_running_stats", "dtype" }) or {}
    check_count(name, 1, c, "num_features")
    local self = init(setmetatable({}, cls))
    local dt = opts.dtype or "float32"
    self.num_features, self.eps, self.momentum = c, opts.eps or 1e-5, opts.momentum or 0.1
    self.affine, self.track_running_stats = opts.affine ~= false, opts.track_running_stats ~= false
    if self.affine then
      self:register_parameter("weight", lt.ones({ c }, dt))
      self:register_parameter("bias", lt.zeros({ c }, dt))
    end
    if self.track_running_stats then
      self:register_buffer("running_mean", lt.zeros({ c }, dt))
      self:register_buffer("running_var", lt.ones({ c }, dt))
      self:register_buffer("num_batches_tracked", lt.zeros({}, "int64"))
    end
    return self
  end
  cls.dtype = M.Module_dtype
  function cls:extra_repr() return tostring(self.num_features) end
  function cls:forward(x)
    check_input(self, x)
    if not dims_ok(x:dim()) or x:size(2) ~= self.num_features then
      argerror(1, "forward", "%s(%d) expects input %s, got %s", name, self.num_features,
               expect:format(self.num_features), shape_str(x))
    end
    local batch_stats = self.training or not self.track_running_stats
    local y, mean, invstd = C.batchnorm_forward(x, self.weight, self.bias, self.running_mean, self.running_var,
                                                batch_stats, self.eps, self.momentum)
    if self.training and self.track_running_stats then self.num_batches_tracked:add_(1) end
    if grad_enabled(self) then
      self._x, self._mean, self._invstd, self._batch_stats = x, mean, invstd, batch_stats
    else
      self._x, self._mean, self._invstd = nil, nil, nil
    end
    return y
  end
  function cls:backward(g, ctx, need_dx)
    local want_dx, gw, gb, tgt, wo, bo = backward_dests(self, ctx, need_dx)
    if want_dx == nil then return nil end
    return C.batchnorm_backward(g, saved(self, self._x), self.weight, self._mean, self._invstd, self._batch_stats,
                                gw, gb, want_dx, tgt, wo, bo)
  end
  return cls
end

-- BatchNorm1d(num_features [, {eps = 1e-5, momentum = 0.1, affine = true, track_running_stats = true, dtype}])
-- Batch normalisation of [B x C] or [B x C x L] inputs per channel, with
-- PyTorch's parameters (weight, bias) and buffers (running_mean, running_var,
-- num_batches_tracked); batch statistics in training, running ones in eval.
M.BatchNorm1d = batchnorm_class("BatchNorm1d", function(d) return d == 2 or d == 3 end, "[B x %d] or [B x %d x L]")
-- BatchNorm2d(num_features [, {eps = 1e-5, momentum = 0.1, affine = true, track_running_stats = true,
--              dtype = "float32"}]) -> module
-- BatchNorm1d's normalisation for [B x C x H x W] inputs (same options).
M.BatchNorm2d = batchnorm_class("BatchNorm2d", function(d) return d == 4 end, "[B x %d x H x W]")

---------------------------------------------------------------------------
-- LayerNorm
---------------------------------------------------------------------------

local LayerNorm = class("LayerNorm")
M.LayerNorm = LayerNorm

-- LayerNorm(normalized_shape, {eps = 1e-5, elementwise_affine = true, bias = true, dtype})
function LayerNorm.new(shape, opts)
  opts = check("LayerNorm", 2, opts, { "eps", "elementwise_affine", "bias", "dtype" }) or {}
  if type(shape) == "number" then shape = { shape } end
  local self = init(setmetatable({}, LayerNorm))
  local d = 1
  for i, v in ipairs(shape) do d = d * check_count("LayerNorm", 1, v, "normalized_shape[" .. i .. "]") end
  self.normalized_shape, self._d, self.eps = shape, d, opts.eps or 1e-5
  local dt = opts.dtype or "float32"
  if opts.elementwise_affine ~= false then
    self:register_parameter("weight", lt.ones(shape, dt))
    if opts.bias ~= false then self:register_parameter("bias", lt.zeros(shape, dt)) end
  end
  return self
end

function LayerNorm:dtype() return self.weight and self.weight:dtype() or "float32" end
function LayerNorm:extra_repr() return table.concat(self.normalized_shape, "x") end

function LayerNorm:forward(x)
  check_input(self, x)
  local ns, ok = self.normalized_shape, x:dim() >= #self.normalized_shape
  for i = 1, #ns do
    if ok and x:size(x:dim() - #ns + i) ~= ns[i] then ok = false end
  end
  if not ok then
    argerror(1, "forward", "LayerNorm(%s) expects input [* x %s], got %s", self:extra_repr(), self:extra_repr(), shape_str(x))
  end
  local y, mean, invstd = C.layernorm_forward(x, self._d, self.weight, self.bias, self.eps)
  if grad_enabled(self) then
    self._x, self._mean, self._invstd = x, mean, invstd
  else
    self._x, self._mean, self._invstd = nil, nil, nil
  end
  return y
end

function LayerNorm:backward(g, ctx, need_dx)
  local want_dx, gw, gb, tgt, wo, bo = backward_dests(self, ctx, need_dx)
  if want_dx == nil then return nil end
  return C.layernorm_backward(g, saved(self, self._x), self._d, self.weight, self._mean, self._invstd, gw, gb,
                              want_dx, tgt, wo, bo)
end

---------------------------------------------------------------------------
-- activations
---------------------------------------------------------------------------

local function activation(name, kernel)
  local cls = class(name)
  cls.new = function(opts)
    check(name, 1, opts, name == "GELU" and { "approximate" } or {})
    local self = init(setmetatable({}, cls))
    self._kernel = kernel
    if name == "GELU" and opts and opts.approximate == "tanh" then self._kernel = "gelu_tanh" end
    return self
  end
  function cls:dtype() return self._dt or "float32" end
  function cls:forward(x)
    if not lt.is_tensor(x) then argerror(1, "forward", "%s expects a tensor, got %s", name, type(x)) end
    local y = C.act_forward(self._kernel, x)
    self._dt = x:dtype()
    if grad_enabled(self) then self._x, self._y = x, y else self._x, self._y = nil, nil end
    return y
  end
  function cls:backward(g, ctx, need_dx)
    if need_dx == false then return nil end
    return C.act_backward(self._kernel, g, saved(self, self._x), self._y)
  end
  return cls
end

-- ReLU() -> module: max(x, 0) elementwise.
M.ReLU = activation("ReLU", "relu")
-- GELU([{approximate = "none"|"tanh"}]) -> module: the exact (erf) GELU, or its tanh form.
M.GELU = activation("GELU", "gelu")
-- Tanh() -> module: tanh elementwise.
M.Tanh = activation("Tanh", "tanh")
-- Sigmoid() -> module: 1 / (1 + exp(-x)) elementwise.
M.Sigmoid = activation("Sigmoid", "sigmoid")
-- SiLU() -> module: x * sigmoid(x) elementwise.
M.SiLU = activation("SiLU", "silu")

local function softmax_class(name, logmode)
  local cls = class(name)
  -- Softmax(dim = -1): over dim (1-based; negative counts from the end).
  cls.new = function(dim)
    local self = init(setmetatable({}, cls))
    self.dim = dim or -1
    return self
  end
  function cls:extra_repr() return "dim=" .. tostring(self.dim) end
  local function last(self, x)
    local d = self.dim < 0 and x:dim() + 1 + self.dim or self.dim
    return d == x:dim(), d
  end
  function cls:forward(x)
    if not lt.is_tensor(x) then argerror(1, "forward", "%s expects a tensor, got %s", name, type(x)) end
    local is_last, d = last(self, x)
    local y = C.softmax_forward(is_last and x or x:transpose(d, -1):contiguous(), logmode)
    self._y = grad_enabled(self) and y or nil
    return is_last and y or y:transpose(d, -1)
  end
  function cls:backward(g, ctx, need_dx)
    if need_dx == false then return nil end
    local is_last, d = last(self, g)
    local y = saved(self, self._y)
    if is_last then return C.softmax_backward(g, y, logmode) end
    return C.softmax_backward(g:transpose(d, -1):contiguous(), y, logmode):transpose(d, -1)
  end
  return cls
end

-- Softmax([dim = -1]) -> module: softmax over dim (1-based; negatives from the end).
M.Softmax = softmax_class("Softmax", false)
-- LogSoftmax([dim = -1]) -> module: log of the softmax over dim, computed stably.
M.LogSoftmax = softmax_class("LogSoftmax", true)

---------------------------------------------------------------------------
-- pooling
---------------------------------------------------------------------------

-- Pooling arguments: (kernel, stride, padding) positionally or (kernel, {stride=, padding=, ...}).
local function pool_opts(name, kernel, a, b)
  local o = type(a) == "table" and a or { stride = a, padding = b }
  if type(a) == "table" then
    check(name, 2, a, { "stride", "padding", "dilation", "ceil_mode", "count_include_pad" })
  end
  o.kernel = kernel
  return o
end

local function pool_class(name)
  local cls = class(name)
  cls.new = function(kernel, a, b)
    local o = pool_opts(name, kernel, a, b)
    local self = init(setmetatable({}, cls))
    self.kernel_size = pair(name, o.kernel, "kernel_size", 1)
    self.stride = pair(name, o.stride or o.kernel, "stride", 1)
    self.padding = pair(name, o.padding or 0, "padding", 0)
    self.dilation = pair(name, o.dilation or 1, "dilation", 1)
    for i = 1, 2 do
      if self.padding[i] * 2 > self.kernel_size[i] then
        argerror(1, name, "padding %d must be at most half the kernel size %d", self.padding[i], self.kernel_size[i])
      end
    end
    if name == "AvgPool2d" and (self.dilation[1] ~= 1 or self.dilation[2] ~= 1) then
      argerror(1, name, "dilation is not supported for average pooling")
    end
    self.ceil_mode = o.ceil_mode and true or false
    self.count_include_pad = o.count_include_pad ~= false
    self._geo = { self.kernel_size[1], self.kernel_size[2], self.stride[1], self.stride[2], self.padding[1],
                  self.padding[2], self.dilation[1], self.dilation[2], self.ceil_mode and 1 or 0,
                  self.count_include_pad and 1 or 0 }
    return self
  end
  function cls:extra_repr()
    return ("%dx%d, stride=%d%s"):format(self.kernel_size[1], self.kernel_size[2], self.stride[1],
      self.padding[1] > 0 and (", padding=" .. self.padding[1]) or "")
  end
  local function check4(self, x)
    if not lt.is_tensor(x) or x:dim() ~= 4 then
      argerror(1, "forward", "%s(%s) expects input [B x C x H x W], got %s", name, self:extra_repr(),
               lt.is_tensor(x) and shape_str(x) or type(x))
    end
  end
  if name == "MaxPool2d" then
    function cls:forward(x)
      check4(self, x)
      local y, idx = C.maxpool2d_forward(x, self._geo)
      if grad_enabled(self) then self._x, self._idx = x, idx else self._x, self._idx = nil, nil end
      return y
    end
    function cls:backward(g, ctx, need_dx)
      if need_dx == false then return nil end
      return C.maxpool2d_backward(g, saved(self, self._idx), self._x)
    end
  else
    function cls:forward(x)
      check4(self, x)
      self._x = grad_enabled(self) and x or nil
      return C.avgpool2d_forward(x, self._geo)
    end
    function cls:backward(g, ctx, need_dx)
      if need_dx == false then return nil end
      return C.avgpool2d_backward(g, saved(self, self._x), self._geo)
    end
  end
  return cls
end

-- MaxPool2d(kernel [, stride = kernel [, padding = 0]] | kernel, {stride =, padding =}) -> module
-- 2-d max pooling of [B x C x H x W] inputs; sizes are integers or {h, w} pairs. Options:
-- stride (kernel), padding (0), dilation (1), ceil_mode (false); an unknown key raises.
M.MaxPool2d = pool_class("MaxPool2d")
-- AvgPool2d(kernel [, stride = kernel [, padding = 0]] | kernel, {stride =, padding =}) -> module
-- 2-d average pooling of [B x C x H x W] inputs, as MaxPool2d; also count_include_pad (true).
M.AvgPool2d = pool_class("AvgPool2d")

local Adaptive = class("AdaptiveAvgPool2d")
M.AdaptiveAvgPool2d = Adaptive

-- AdaptiveAvgPool2d(output_size): an integer or {h, w}.
function Adaptive.new(out)
  local self = init(setmetatable({}, Adaptive))
  self.output_size = pair("AdaptiveAvgPool2d", out or 1, "output_size", 1)
  return self
end
function Adaptive:extra_repr() return self.output_size[1] .. "x" .. self.output_size[2] end
function Adaptive:forward(x)
  if not lt.is_tensor(x) or x:dim() ~= 4 then
    argerror(1, "forward", "AdaptiveAvgPool2d expects input [B x C x H x W], got %s", lt.is_tensor(x) and shape_str(x) or type(x))
  end
  self._x = grad_enabled(self) and x or nil
  return C.adaptive_avgpool2d_forward(x, self.output_size[1], self.output_size[2])
end
function Adaptive:backward(g, ctx, need_dx)
  if need_dx == false then return nil end
  return C.adaptive_avgpool2d_backward(g, saved(self, self._x))
end

---------------------------------------------------------------------------
-- Flatten, Dropout, Identity
---------------------------------------------------------------------------

local Flatten = class("Flatten")
M.Flatten = Flatten

-- Flatten(start_dim = 2, end_dim = -1): 1-based dims, so the default keeps the batch dim.
function Flatten.new(start_dim, end_dim)
  local self = init(setmetatable({}, Flatten))
  self.start_dim, self.end_dim = start_dim or 2, end_dim or -1
  return self
end
function Flatten:forward(x)
  local nd = x:dim()
  local s = self.start_dim < 0 and nd + 1 + self.start_dim or self.start_dim
  local e = self.end_dim < 0 and nd + 1 + self.end_dim or self.end_dim
  if s < 1 or e > nd or s > e + 1 then
    argerror(1, "forward", "Flatten(%d, %d) cannot flatten input %s", self.start_dim, self.end_dim, shape_str(x))
  end
  self._shape = x:size()
  local shape, n = {}, 1
  for i = 1, nd do
    if i < s or i > e then shape[#shape + 1] = x:size(i) else n = n * x:size(i) end
    if i == e then shape[#shape + 1] = n end
  end
  if not x:is_contiguous() then x = x:contiguous() end
  return x:reshape(shape)
end
function Flatten:backward(g, ctx, need_dx)
  if need_dx == false then return nil end
  if not g:is_contiguous() then g = g:contiguous() end
  return g:reshape(self._shape)
end

local Dropout = class("Dropout")
M.Dropout = Dropout

-- Dropout(p = 0.5, {generator = g, seed = n}): zeroes entries with probability p while
-- training and scales the rest by 1/(1-p); the identity in evaluation.
function Dropout.new(p, opts)
  if type(p) == "table" then p, opts = nil, p end
  check("Dropout", 2, opts, { "generator", "seed" })
  p = p or 0.5
  if type(p) ~= "number" or p < 0 or p > 1 then argerror(1, "Dropout", "p must be in [0, 1], got %s", tostring(p)) end
  local self = init(setmetatable({}, Dropout))
  self.p, self._gen = p, generator(opts)
  return self
end
function Dropout:extra_repr() return "p=" .. self.p end
function Dropout:forward(x)
  if not self.training or self.p == 0 then self._mask = nil; return x end
  if self.p == 1 then self._mask = lt.zeros(x:size(), x:dtype()); return self._mask:clone() end
  self._mask = self._gen:bernoulli(1 - self.p, x:size(), { dtype = x:dtype() }):mul_(1 / (1 - self.p))
  return x * self._mask
end
function Dropout:backward(g, ctx, need_dx)
  if need_dx == false then return nil end
  if self._mask == nil then return g end
  return g * self._mask
end

-- Identity() -> module: returns its input (and gradient) unchanged.
M.Identity = class("Identity")
function M.Identity.new() return init(setmetatable({}, M.Identity)) end

return M
