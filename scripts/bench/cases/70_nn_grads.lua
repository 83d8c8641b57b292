-- Per-sample gradients on real Fashion-MNIST images (the first N of the train set, pixels / 255),
-- @rounds 1  (slow group: one round per side keeps make bench near its time budget)
-- with identical deterministic weights on both sides (element i of each parameter is
-- (pattern(i) - 0.5) * 2 / sqrt(fan_in)) so the checksums compare: sum of squares of the
-- result. The peer is PyTorch 1.13 (Debian) on the same 2 threads: functorch vmap(grad(...)),
-- the seed's one-backward-per-sample loop, or vectorised torch code for the last layer.
-- Every row here takes seconds on the peer: one timed call per round, no warm-up, on both sides.
-- @row psg_full_mlp goal=3 tol=1e-3 title="per-sample grads, MLP 784-256-10 (D=203,530), 2,048 images: vs functorch vmap(grad)"
-- @row psg_full_mlp_loop goal=10 tol=1e-3 title="per-sample grads, MLP, 256 images: batched vs torch one backward per sample (seed)"
-- @row psg_proj_mlp goal=1 tol=1e-3 title="projected per-sample grads ℓ=256, MLP, 512 images (peer: vmap then G·Pᵀ)"
-- @row psg_proj_cnn goal=1 tol=1e-3 title="projected per-sample grads ℓ=256, small CNN (D=421,642), 128 images (peer: vmap then G·Pᵀ)"
-- @row psg_last_layer_60k goal=1 tol=1e-3 title="last-layer per-sample grads, MLP, 60,000 images (D=2,570)"
-- @row fwd_mlp_60k goal=1 tol=1e-3 title="forward pass only, MLP, 60,000 images (what last-layer grads should cost)"
-- @row psg_norms_mlp goal=3 tol=1e-3 title="per-sample gradient norms, MLP, 512 images (peer: vmap then norms)"
local bench = require "bench"
local lt = bench.lt
local nn = lt.nn
local data = require "lunette.nn_data"

local train = data.fashion_mnist { split = "train" }

-- Deterministic weights shared with the peer.
local function set_weights(model)
  for _, p in ipairs(model:named_parameters()) do
    local t = p.tensor
    local n = t:numel()
    local fan = t:dim() > 1 and n // t:size(1) or n
    t:copy_((bench.pattern(n) - 0.5):mul_(2 / math.sqrt(fan)):reshape(t:size()))
  end
  return model
end

local function sumsq(t) return (t:double() * t:double()):sum() end

local function heavy(name, fn, opts)
  local saved = { bench.warmup, bench.min, bench.budget }
  bench.warmup, bench.min, bench.budget = 0, 1, 0
  bench.run(name, fn, opts)
  bench.warmup, bench.min, bench.budget = saved[1], saved[2], saved[3]
end

local function batch(n)
  return train.x:narrow(1, 1, n):float():mul_(1 / 255), train.y:narrow(1, 1, n)
end

local mlp = set_weights(nn.mlp { 784, 256, 10 })
local D = mlp:num_parameters()
local x, y = batch(2048)
-- bytes: the [2048 x D] float32 result, written once (the row is bound by memory bandwidth)
heavy("psg_full_mlp", function() return nn.per_sample_grads(mlp, x, y) end,
      { check = sumsq, bytes = 2048 * D * 4 })
local x256, y256 = batch(256)
heavy("psg_full_mlp_loop", function() return nn.per_sample_grads(mlp, x256, y256) end, { check = sumsq })
local x512, y512 = batch(512)
local P = bench.pattern(256, D) - 0.5
heavy("psg_proj_mlp", function() return nn.projected_grads(mlp, x512, y512, P) end,
      { check = sumsq, flops = 2 * 512 * D * 256 })
heavy("psg_norms_mlp", function() return nn.per_sample_norms(mlp, x512, y512) end, { check = sumsq })

local cnn = set_weights(nn.small_cnn {})
local Dc = cnn:num_parameters()
local xc, yc = train.x:narrow(1, 1, 128):float():mul_(1 / 255), train.y:narrow(1, 1, 128)
local Pc = bench.pattern(256, Dc) - 0.5
heavy("psg_proj_cnn", function() return nn.projected_grads(cnn, xc, yc, Pc) end,
      { check = sumsq, flops = 2 * 128 * Dc * 256 })

local xa, ya = train.x:float():mul_(1 / 255), train.y
heavy("psg_last_layer_60k", function() return nn.per_sample_grads(mlp, xa, ya, { last_layer = true }) end,
      { check = sumsq, bytes = 60000 * 2570 * 4 })
mlp:eval()
heavy("fwd_mlp_60k", function() return mlp:forward(xa) end, { check = sumsq })
