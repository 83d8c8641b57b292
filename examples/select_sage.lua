-- select_sage.lua - the selection half of the SAGE feature-space notebook: pick 5% of
-- Fashion-MNIST with SAGE, GradMatch and random, compare their class balance, and look at
-- the agreement scores of what SAGE kept versus what it dropped.
--
--   lunette examples/select_sage.lua [N = 60000]
local lt = require "lunette"
local S = require "lunette.select"
local nn, data = require "lunette.nn", require "lunette.data"

local N = tonumber(arg[1]) or 60000
local train = data.fashion_mnist { split = "train" }
if N < train:size() then train = train:subset(lt.arange(1, N + 1)) end
local X, Y = train:tensors()

-- the model whose gradients we sketch: one warm-up epoch, as SAGE selects early in training
lt.seed(0)
local model = nn.mlp { 784, 256, 128, 10 }
nn.fit(model, { x = X, y = Y }, { epochs = 1, lr = 0.05, seed = 0 })

-- SAGE: Frequent Directions sketch of last-layer gradients, then class-balanced agreement
local sage, _, info = S.sage { model = model, dataset = train, ell = 256, fraction = 0.05, return_grads = true }
print(("SAGE: %d of %d kept; sketch %.1f s, projection %.1f s, scoring %.3f s"):format(
  sage:numel(), N, info.seconds.sketch, info.seconds.project, info.seconds.score))

-- GradMatch on the same projected gradients, and a random subset of the same size
local gradmatch = S.gradmatch { grads = info.grads, labels = Y, budget = 0.05 }
local random = S.random { n = N, budget = sage:numel(), seed = 0 }

print("\nclass balance (the seed's analyze_class_distribution):")
for _, m in ipairs { { "Original", lt.arange(1, N + 1) }, { "SAGE", sage }, { "GradMatch", gradmatch }, { "Random", random } } do
  local st = S.class_stats(m[2], Y, 10)
  print(("  %-10s mean %7.1f  std %6.1f  CV %.3f"):format(m[1], st.mean, st.std, st.cv))
end

-- agreement scores of every sample (class centroids), split by SAGE's choice
local scores = S.agreement_scores(info.grads, Y)
local kept = lt.zeros({ N }, "bool")
kept[sage] = true
local sel, rest = scores[kept], scores[kept:logical_not()]
print("\nagreement scores:")
print(("  all        mean %.4f  std %.4f"):format(scores:mean(), scores:std()))
print(("  selected   mean %.4f  std %.4f"):format(sel:mean(), sel:std()))
print(("  unselected mean %.4f  std %.4f"):format(rest:mean(), rest:std()))
print(("  selection bias %+.4f"):format(sel:mean() - rest:mean()))
