-- lunette.nn: neural models with forward/backward in C, per-sample gradients (full, last layer,
-- projected, norms), losses, optimisers and schedules, a training loop, and a model zoo whose
-- state dicts match PyTorch's.
--
--   local nn = lunette.nn
--   local model = nn.small_cnn{}                          -- or nn.mlp{784, 256, 10}, nn.resnext29{}
--   model:load_state_dict(lunette.io.load("cnn.pt"))      -- weights trained in torch
--   local logits = model:forward(x)                       -- x is [B x 1 x 28 x 28] float32
--   local G = nn.per_sample_grads(model, x, y)            -- [B x D], one row per sample
--   local Z = nn.projected_grads(model, x, y, P)          -- [B x ell] = G Pᵀ without forming G
--   nn.fit(model, train, {epochs = 3, optimizer = nn.Adam(model, {lr = 1e-3}), test = test})
--
-- Labels are class indices 1..C (1-based like every index in lunette). Layers
-- are built as nn.Linear(784, 256), nn.Conv2d(1, 32, 3, {padding = 1}), ...;
-- see nn_layers.lua, nn_sphere.lua (Normalize, Parallel, Anchors), nn_loss.lua, nn_psg.lua,
-- nn_optim.lua, nn_train.lua and nn_zoo.lua for each part.
--
-- Reproducibility: a seed gives the same bits on every run with the same thread
-- counts. lunette's own kernels (im2col, pooling, norms, losses, optimisers,
-- augmentation, the per-sample gradient contractions) give the same bits on any
-- OpenMP thread count. The matrix products go through OpenBLAS, whose sums depend
-- on its thread count (OPENBLAS_NUM_THREADS) and on the CPU kernel it picks, so
-- across BLAS thread counts or machines results agree to float rounding, not to
-- the bit. For bits that depend only on the seed and the machine, run with
-- OPENBLAS_NUM_THREADS=1.
local nm = require "lunette.nn_module"
local layers = require "lunette.nn_layers"
local loss = require "lunette.nn_loss"
local psg = require "lunette.nn_psg"
local optim = require "lunette.nn_optim"
local train = require "lunette.nn_train"
local zoo = require "lunette.nn_zoo"
local sphere = require "lunette.nn_sphere"

local nn = {}

for _, part in ipairs { layers, sphere, loss, psg, optim, train, zoo } do
  for k, v in pairs(part) do
    if type(k) == "string" and k:sub(1, 1) ~= "_" and nn[k] == nil then nn[k] = v end
  end
end
nn.Module, nn.Sequential, nn.Residual = nm.Module, nm.Sequential, nm.Residual
nn.class, nn.init, nn.is_module = nm.class, nm.init, nm.is_module
nn.no_grad, nn.enable_grad, nn.grad_enabled = nm.no_grad, nm.enable_grad, nm.grad_enabled
nn.in_eval = nm.in_eval
nn.kernels = require "lunette._nn" -- the C kernels (internal; the specs compare them)

-- Method sugar on every module.
local Module = nm.Module
function Module:per_sample_grads(x, y, opts) return psg.per_sample_grads(self, x, y, opts) end
function Module:projected_grads(x, y, P, opts) return psg.projected_grads(self, x, y, P, opts) end
function Module:per_sample_norms(x, y, opts) return psg.per_sample_norms(self, x, y, opts) end
function Module:sample_stats(x, y, opts) return psg.sample_stats(self, x, y, opts) end
function Module:fit(data, opts) return train.fit(self, data, opts) end
function Module:evaluate(data, opts) return train.evaluate(self, data, opts) end
-- m:predict(x [, {batch_size = the whole batch}]) -> predicted labels (1-based) in evaluation mode.
function Module:predict(x, opts)
  require("lunette.options").check("predict", 2, opts, { "batch_size" })
  return psg.sample_stats(self, x, nil, opts).pred
end

return nn
