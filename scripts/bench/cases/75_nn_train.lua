-- Training throughput of the small CNN (conv 32, conv 64, fc 128, fc 10; 421,642 parameters) on
-- @rounds 1  (slow group: one round per side keeps make bench near its time budget)
-- the first 2,048 Fashion-MNIST images: one pass of 16 steps of batch 128, SGD momentum 0.9,
-- cross-entropy, the same deterministic initial weights on both sides. The peer is PyTorch
-- 1.13 on CPU (oneDNN convolutions), same 2 threads. No checksum (training trajectories differ by
-- float rounding). Both rows: one timed call per round, no warm-up, on both sides.
-- @row train_cnn goal=1 title="train small CNN, 2,048 Fashion-MNIST images (16 steps of 128)"
-- @row eval_cnn_10k goal=1 title="evaluate small CNN, 10,000 test images (forward, batch 1,000)"
local bench = require "bench"
local lt = bench.lt
local nn = lt.nn
local data = require "lunette.nn_data"

local train = data.fashion_mnist { split = "train" }
local test = data.fashion_mnist { split = "test" }
local x = train.x:narrow(1, 1, 2048):float():mul_(1 / 255)
local y = train.y:narrow(1, 1, 2048)
local xt = test.x:float():mul_(1 / 255)

local model = nn.small_cnn {}
for _, p in ipairs(model:named_parameters()) do
  local t, n = p.tensor, p.tensor:numel()
  local fan = t:dim() > 1 and n // t:size(1) or n
  t:copy_((bench.pattern(n) - 0.5):mul_(2 / math.sqrt(fan)):reshape(t:size()))
end
local opt = nn.SGD(model, { lr = 0.01, momentum = 0.9 })

local function epoch()
  model:train()
  for b0 = 1, 2048, 128 do
    local logits = model:forward(x:narrow(1, b0, 128))
    local _, d = nn.cross_entropy(logits, y:narrow(1, b0, 128))
    model:zero_grad()
    model:backward(d, nil, false)
    opt:step()
  end
end

local function heavy(name, fn)
  local saved = { bench.warmup, bench.min, bench.budget }
  bench.warmup, bench.min, bench.budget = 0, 1, 0
  bench.run(name, fn)
  bench.warmup, bench.min, bench.budget = saved[1], saved[2], saved[3]
end

heavy("train_cnn", epoch)
model:eval()
-- Without gradients on both sides (torch.no_grad there): no layer keeps its input.
heavy("eval_cnn_10k", function()
  return nn.no_grad(function()
    local parts = {}
    for b0 = 1, 10000, 1000 do parts[#parts + 1] = model:forward(xt:narrow(1, b0, 1000)) end
    return lt.cat(parts, 1)
  end)
end)
