-- nn_per_sample.lua: per-sample gradients of an MLP on Fashion-MNIST, four ways, with timings:
-- full rows (B x D), the last layer only, a projection on a random ell x D matrix (never forming
-- B x D), and exact norms; then the seed's way (one backward per sample) for comparison.
--
--   build/lunette examples/nn_per_sample.lua [batch = 1024] [ell = 256]
local lt = require "lunette"
local nn = lt.nn
local data = require "lunette.nn_data"

local B, ell = tonumber(arg[1] or "1024"), tonumber(arg[2] or "256")
local train = data.fashion_mnist { split = "train" }
local x = train.x:narrow(1, 1, B):float():mul_(1 / 255)
local y = train.y:narrow(1, 1, B)

local model = nn.mlp { 784, 256, 10, seed = 1 }
local D = model:num_parameters()
print(("MLP 784-256-10, D = %d parameters, batch of %d images"):format(D, B))

local function timed(what, fn)
  local t0 = lt.time()
  local r = fn()
  local s = lt.time() - t0
  print(("%-34s %8.3f s  %9.0f samples/s"):format(what, s, B / s))
  return r, s
end

local G = timed("full per-sample gradients", function() return nn.per_sample_grads(model, x, y) end)
print(("  G is [%dx%d], %.0f MB"):format(G:size(1), G:size(2), G:numel() * 4 / 2 ^ 20))
local L = timed("last layer only", function() return nn.per_sample_grads(model, x, y, { last_layer = true }) end)
print(("  last-layer G is [%dx%d]"):format(L:size(1), L:size(2)))
local P = lt.Generator(7):randn(ell, D):mul_(1 / math.sqrt(ell))
local Z, s = timed(("projected on [%dx%d]"):format(ell, D), function() return nn.projected_grads(model, x, y, P) end)
print(("  %.1f GFLOP/s; max |Z - G Pᵀ| = %.2e"):format(2 * B * D * ell / s / 1e9,
  (Z - lt.matmul(G, P:t())):abs():max()))
local N = timed("exact norms (ghost norms)", function() return nn.per_sample_norms(model, x, y) end)
print(("  max |N - ||G||| = %.2e"):format((N - G:double():norm(2, 2)):abs():max()))
G = nil
collectgarbage()

local n = math.min(B, 128)
local xs, ys = x:narrow(1, 1, n), y:narrow(1, 1, n)
local _, tb = timed(("batched, first %d"):format(n), function() return nn.per_sample_grads(model, xs, ys) end)
local _, tl = timed(("one backward per sample, first %d"):format(n),
  function() return nn.per_sample_grads(model, xs, ys, { method = "loop" }) end)
print(("batched is %.0fx faster than the per-sample loop"):format(tl / tb))
