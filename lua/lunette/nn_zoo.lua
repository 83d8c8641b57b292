-- lunette.nn_zoo: ready-made models whose state_dict names and shapes match their PyTorch
-- definitions layer for layer, so weights trained in torch load as they are.
--
--   nn.mlp{784, 256, 10}                 -- torch.nn.Sequential(Linear, ReLU, Linear): 0.weight, 2.weight
--   nn.small_cnn{}                       -- 28x28x1 (Fashion-MNIST); {in_channels = 3, size = 32} for CIFAR
--   nn.resnet18{classes = 10}            -- CIFAR ResNet-18 (kuangliu/pytorch-cifar names)
--   nn.resnet18{style = "torchvision"}   -- torchvision.models.resnet18 layout and names
--   nn.resnext29{classes = 100}          -- ResNeXt-29 32x4d, CIFAR (the seed's create_model('resnext'))
--
-- Every model is a Sequential with `head` (its final Linear), so
-- model:features(x) returns the penultimate representation and the
-- per-sample gradient functions find the last layer. Options common to all:
-- {dtype = "float32", seed = n | generator = g} for the initial weights.
local L = require "lunette.nn_layers"
local nm = require "lunette.nn_module"
local random = require "lunette.random"

local M = {}
local Sequential, Residual, argerror = nm.Sequential, nm.Residual, nm.argerror
local check = require("lunette.options").check
local INIT = { "dtype", "seed", "generator" } -- every constructor's: the initial weights
local function keys(...) return table.move(INIT, 1, #INIT, select("#", ...) + 1, { ... }) end

-- Options passed to every layer constructor: one generator for the whole model.
local function layer_opts(opts)
  local g = opts.generator or (opts.seed and random.Generator(opts.seed)) or L.default_generator()
  return { generator = g, dtype = opts.dtype }
end

local function with(o, extra)
  local t = {}
  for k, v in pairs(o) do t[k] = v end
  for k, v in pairs(extra) do t[k] = v end
  return t
end

-- The options a zoo model was built with, as a checkpoint can hold them: numbers, strings,
-- booleans and arrays of numbers (the generator and seed only drew the initial weights, which
-- the state dict replaces).
local function saved_options(opts)
  local out = {}
  for k, v in pairs(opts or {}) do
    local tv = type(v)
    if k ~= "generator" and k ~= "seed" and (tv == "number" or tv == "string" or tv == "boolean") then
      out[k] = v
    elseif tv == "table" and k ~= "generator" then
      local arr = {}
      for i, x in ipairs(v) do arr[i] = x end
      out[k] = arr
    end
  end
  return out
end

local function finish(model, head, name, opts)
  model.head = head
  model.__zoo = name
  model.__zoo_options = saved_options(opts)
  return model
end

-- The zoo constructors a whole-model checkpoint may name (nothing else is ever called).
local CONSTRUCTORS = { mlp = true, small_cnn = true, resnet18 = true, resnext29 = true }
-- Whole-model checkpoints, for lunette.io (a table, not functions: the zoo's functions are its
-- models). MARK is the key that marks one: {[MARK] = {constructor, options, training},
-- state_dict = {...}}; torch.load reads it as a plain dict.
local checkpoint = { MARK = "lunette_model" }
M._checkpoint = checkpoint

-- whole(model) -> checkpoint table | nil, reason
-- What io.save writes for a whole zoo model: the constructor, its options and the state dict;
-- nil and why for a model the zoo cannot rebuild (built by hand, or a child replaced since).
function checkpoint.whole(model)
  local name = rawget(model, "__zoo")
  if not CONSTRUCTORS[name] then
    return nil, "only zoo models (nn.mlp, nn.small_cnn, nn.resnet18, nn.resnext29) save whole"
  end
  local opts = saved_options(rawget(model, "__zoo_options"))
  opts.dtype = model:dtype()
  -- A fresh model of the same options must print the same tree: a replaced child (model.fc2 =
  -- nn.Linear(128, 5)) would otherwise load back as the original architecture.
  if tostring(M[name](opts)) ~= tostring(model) then
    return nil, ("the model is no longer what nn.%s built (a child was replaced?)"):format(name)
  end
  return { [checkpoint.MARK] = { constructor = name, options = opts, training = model.training },
           state_dict = model:state_dict() }
end

-- rebuild(ckpt) -> model | nil, message
-- The working model of a whole-model checkpoint written by whole.
function checkpoint.rebuild(ck)
  local info = ck[checkpoint.MARK]
  local name = type(info) == "table" and info.constructor
  if not CONSTRUCTORS[name] or type(info.options) ~= "table" or type(ck.state_dict) ~= "table" then
    return nil, "not a lunette whole-model checkpoint (constructor '" .. tostring(name) .. "')"
  end
  local ok, model = pcall(M[name], saved_options(info.options))
  if not ok then return nil, "cannot rebuild nn." .. name .. ": " .. tostring(model) end
  local loaded, err = pcall(model.load_state_dict, model, ck.state_dict)
  if not loaded then return nil, tostring(err) end
  model:train(info.training ~= false)
  return model
end

---------------------------------------------------------------------------
-- MLP
---------------------------------------------------------------------------

-- mlp{d_in, h1, ..., d_out, activation = "relu"|"gelu"|"tanh"|"sigmoid"|"silu", dropout = 0,
--     bias = true, dtype = "float32", seed | generator}:
-- the torch.nn.Sequential of Linear, activation (and Dropout) modules, so parameters
-- are named by position ("0.weight", "2.weight", ...). Inputs with more than two
-- dims (images) are flattened first.
function M.mlp(opts)
  if type(opts) ~= "table" or #opts < 2 then argerror(1, "mlp", "sizes {d_in, ..., d_out} expected") end
  check("mlp", 1, opts, keys("activation", "dropout", "bias"), true)
  local lo = layer_opts(opts)
  local acts = { relu = L.ReLU, gelu = L.GELU, tanh = L.Tanh, sigmoid = L.Sigmoid, silu = L.SiLU }
  local act = acts[opts.activation or "relu"]
  if not act then argerror(1, "mlp", "unknown activation '%s'", tostring(opts.activation)) end
  local entries, pos, head = { L.Flatten(2) }, 0, nil
  for i = 1, #opts - 1 do
    head = L.Linear(opts[i], opts[i + 1], with(lo, { bias = opts.bias }))
    entries[#entries + 1] = { tostring(pos), head }
    pos = pos + 1
    if i < #opts - 1 then
      entries[#entries + 1] = act()
      pos = pos + 1
      if opts.dropout and opts.dropout > 0 then
        entries[#entries + 1] = { tostring(pos), L.Dropout(opts.dropout, { generator = lo.generator }) }
        pos = pos + 1
      end
    end
  end
  local m = Sequential(entries, { anonymous = true })
  m.__name = "MLP"
  return finish(m, head, "mlp", opts)
end

---------------------------------------------------------------------------
-- small CNN
---------------------------------------------------------------------------

-- small_cnn{in_channels = 1, size = 28, classes = 10, width = 32, hidden = 128, dropout = 0,
--           dtype = "float32", seed | generator}:
--   conv1 (3x3, pad 1) -> relu -> maxpool 2 -> conv2 (2*width, 3x3, pad 1) -> relu -> maxpool 2
--   -> flatten -> fc1 (hidden) -> relu [-> dropout] -> fc2 (classes)
-- As a torch module: attributes conv1, conv2, fc1, fc2 (plus a parameter-free pool and drop).
function M.small_cnn(opts)
  opts = check("small_cnn", 1, opts, keys("in_channels", "size", "classes", "width", "hidden",
                                          "dropout")) or {}
  local lo = layer_opts(opts)
  local cin, size, classes = opts.in_channels or 1, opts.size or 28, opts.classes or 10
  local w, hidden = opts.width or 32, opts.hidden or 128
  if size % 4 ~= 0 then argerror(1, "small_cnn", "size must be a multiple of 4, got %d", size) end
  local fc2 = L.Linear(hidden, classes, lo)
  local entries = {
    { "conv1", L.Conv2d(cin, w, 3, with(lo, { padding = 1 })) }, L.ReLU(), L.MaxPool2d(2),
    { "conv2", L.Conv2d(w, 2 * w, 3, with(lo, { padding = 1 })) }, L.ReLU(), L.MaxPool2d(2),
    L.Flatten(2),
    { "fc1", L.Linear(2 * w * (size // 4) * (size // 4), hidden, lo) }, L.ReLU(),
  }
  if opts.dropout and opts.dropout > 0 then entries[#entries + 1] = { "drop", L.Dropout(opts.dropout, { generator = lo.generator }) } end
  entries[#entries + 1] = { "fc2", fc2 }
  local m = Sequential(entries, { anonymous = true })
  m.__name = "SmallCNN"
  return finish(m, fc2, "small_cnn", opts)
end

---------------------------------------------------------------------------
-- ResNet-18
---------------------------------------------------------------------------

local function conv_bn(lo, cin, cout, k, stride, pad, groups)
  return L.Conv2d(cin, cout, k, with(lo, { stride = stride, padding = pad, bias = false, groups = groups })),
         L.BatchNorm2d(cout, { dtype = lo.dtype })
end

-- BasicBlock: conv1 bn1 relu conv2 bn2 (+ shortcut) relu; the projection is named
-- "shortcut" (CIFAR code) or "downsample" (torchvision).
local function basic_block(lo, cin, cout, stride, sc_name)
  local c1, b1 = conv_bn(lo, cin, cout, 3, stride, 1)
  local c2, b2 = conv_bn(lo, cout, cout, 3, 1, 1)
  local sc
  if stride ~= 1 or cin ~= cout then
    local c, b = conv_bn(lo, cin, cout, 1, stride, 0)
    sc = { sc_name, Sequential { c, b } }
  end
  local blk = Residual { body = { { "conv1", c1 }, { "bn1", b1 }, L.ReLU(), { "conv2", c2 }, { "bn2", b2 } },
                         shortcut = sc, post = L.ReLU() }
  blk.__name = "BasicBlock"
  return blk
end

-- resnet18{classes = 10 (1000 in torchvision style), in_channels = 3, style = "cifar"|"torchvision",
--          dtype = "float32", seed | generator}
function M.resnet18(opts)
  opts = check("resnet18", 1, opts, keys("classes", "in_channels", "style")) or {}
  local lo = layer_opts(opts)
  local tv = opts.style == "torchvision"
  local cin, classes = opts.in_channels or 3, opts.classes or (tv and 1000 or 10)
  local entries = {}
  local c1, b1
  if tv then c1, b1 = conv_bn(lo, cin, 64, 7, 2, 3) else c1, b1 = conv_bn(lo, cin, 64, 3, 1, 1) end
  entries[#entries + 1] = { "conv1", c1 }
  entries[#entries + 1] = { "bn1", b1 }
  entries[#entries + 1] = L.ReLU()
  if tv then entries[#entries + 1] = L.MaxPool2d(3, { stride = 2, padding = 1 }) end
  local inp = 64
  for i, planes in ipairs { 64, 128, 256, 512 } do
    local stride = i == 1 and 1 or 2
    local layer = Sequential {
      basic_block(lo, inp, planes, stride, tv and "downsample" or "shortcut"),
      basic_block(lo, planes, planes, 1, tv and "downsample" or "shortcut"),
    }
    entries[#entries + 1] = { "layer" .. i, layer }
    inp = planes
  end
  entries[#entries + 1] = L.AdaptiveAvgPool2d(1)
  entries[#entries + 1] = L.Flatten(2)
  local fc = L.Linear(512, classes, lo)
  entries[#entries + 1] = { tv and "fc" or "linear", fc }
  local m = Sequential(entries, { anonymous = true })
  m.__name = "ResNet18"
  return finish(m, fc, "resnet18", opts)
end

---------------------------------------------------------------------------
-- ResNeXt-29 (CIFAR)
---------------------------------------------------------------------------

-- Bottleneck with a grouped 3x3 conv: conv1 (1x1) bn1 relu conv2 (3x3, groups) bn2 relu
-- conv3 (1x1, 2x) bn3, + shortcut (1x1 conv + bn when the shape changes), relu.
local function rx_block(lo, cin, cardinality, width, stride)
  local gw = cardinality * width
  local c1, b1 = conv_bn(lo, cin, gw, 1, 1, 0)
  local c2, b2 = conv_bn(lo, gw, gw, 3, stride, 1, cardinality)
  local c3, b3 = conv_bn(lo, gw, 2 * gw, 1, 1, 0)
  local sc
  if stride ~= 1 or cin ~= 2 * gw then
    local c, b = conv_bn(lo, cin, 2 * gw, 1, stride, 0)
    sc = { "shortcut", Sequential { c, b } }
  end
  local blk = Residual {
    body = { { "conv1", c1 }, { "bn1", b1 }, L.ReLU(), { "conv2", c2 }, { "bn2", b2 }, L.ReLU(),
             { "conv3", c3 }, { "bn3", b3 } },
    shortcut = sc, post = L.ReLU() }
  blk.__name = "Block"
  return blk, 2 * gw
end
-- resnext_block(cin, cardinality, width, stride [, opts]) -> Residual
-- One ResNeXt bottleneck block (grouped 3x3 convolution of cardinality
-- groups of width channels, batch norms, ReLU, a projection shortcut when
-- the shape changes) with cin input and 2 * cardinality * width output channels.
-- Options: {dtype = "float32", seed | generator}.
M.resnext_block = function(cin, cardinality, width, stride, opts)
  check("resnext_block", 5, opts, INIT)
  return (rx_block(layer_opts(opts or {}), cin, cardinality, width, stride))
end

-- resnext29{classes = 10, in_channels = 3, cardinality = 32, width = 4, blocks = {3, 3, 3},
--           dtype = "float32", seed | generator}:
-- ResNeXt-29 32x4d as in kuangliu/pytorch-cifar (conv1 is 1x1, 64 channels).
function M.resnext29(opts)
  opts = check("resnext29", 1, opts, keys("classes", "in_channels", "cardinality", "width",
                                          "blocks")) or {}
  local lo = layer_opts(opts)
  local card, width = opts.cardinality or 32, opts.width or 4
  local blocks = opts.blocks or { 3, 3, 3 }
  local c1, b1 = conv_bn(lo, opts.in_channels or 3, 64, 1, 1, 0)
  local entries = { { "conv1", c1 }, { "bn1", b1 }, L.ReLU() }
  local inp = 64
  for i = 1, 3 do
    local layer = Sequential {}
    for j = 1, blocks[i] do
      local blk, out = rx_block(lo, inp, card, width, (j == 1 and i > 1) and 2 or 1)
      layer:append(blk)
      inp = out
    end
    width = width * 2
    entries[#entries + 1] = { "layer" .. i, layer }
  end
  entries[#entries + 1] = { "pool", L.AdaptiveAvgPool2d(1) }
  entries[#entries + 1] = L.Flatten(2)
  local fc = L.Linear(inp, opts.classes or 10, lo)
  entries[#entries + 1] = { "linear", fc }
  local m = Sequential(entries, { anonymous = true })
  m.__name = "ResNeXt29"
  return finish(m, fc, "resnext29", opts)
end

return M
