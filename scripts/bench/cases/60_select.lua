-- Selection at 5% on Fashion-MNIST-sized inputs: N = 60,000 rows of ell = 256 projected
-- gradients (or features), 10 classes, 300 picks per class (class-balanced, as SAGE).
-- The rows are SYNTHETIC (bench.pattern plus half a per-class pattern, identical on both
-- sides), so these rows time the selection algorithms alone, not a gradient pass; the
-- whole SAGE pipeline on real Fashion-MNIST gradients is group 65_sage. The peer is the
-- same algorithm in numpy the way the reference Python code runs it (60_select.py).
-- Multi-second rows run one timed call. Checksum: sum of the selected indices.
-- @rounds 1  (slow group: one round per side keeps make bench near its time budget)
-- @row sel_agreement goal=1 title="SAGE agreement, class-balanced top 5% (60k×256)"
-- @row sel_grand goal=1 title="GraNd (gradient norm) top 5% per class (60k×256)"
-- @row sel_el2n goal=1 title="EL2N top 5% per class (60k×10 probabilities)"
-- @row sel_uncertainty goal=1 title="uncertainty (entropy) top 5% per class (60k×10)"
-- @row sel_random goal=0.5 title="random, class-balanced 5% (60k)"
-- @row sel_diversity goal=1 title="SAGE + diversity penalty λ=0.2, 5% per class (60k×256)"
-- @row sel_kcenter goal=1 title="k-center greedy, 5% per class (60k×256)"
-- @row sel_herding goal=1 title="herding, 5% per class (60k×256)"
-- @row sel_glister goal=1 title="GLISTER greedy, 5% per class (60k×256)"
-- @row sel_craig goal=1 title="CRAIG lazy-greedy facility location, 5% per class (60k×256)"
-- @row sel_gradmatch_1class goal=5 title="GradMatch OMP+NNLS, one class: 300 of 6,000 (×256)"
-- @row sel_gradmatch goal=1 title="GradMatch OMP+NNLS, 5% per class (60k×256)"
local bench = require "bench"
local lt = bench.lt
local S = require "lunette.select"

local N, D, C, K = 60000, 256, 10, 300
local y = lt.arange(N, "int64") % C + 1
local G = bench.pattern(N, D) + bench.pattern(C, D):index_select(1, y) * 0.5
local logits = bench.pattern(N, C) * 4
local E = (logits - logits:max(2, true)):exp()
local P = E / E:sum(2, true)
local val = G:mean(1)
local first = {}
for c = 1, C do first[c] = c end -- the first row of each class, as the peer starts

local function heavy(name, fn)
  local saved = { bench.warmup, bench.min, bench.budget }
  bench.warmup, bench.min, bench.budget = 0, 1, 0
  bench.run(name, fn, { check = bench.total })
  bench.warmup, bench.min, bench.budget = saved[1], saved[2], saved[3]
end

local budget = 0.05
bench.run("sel_agreement", function() return (S.agreement { grads = G, labels = y, budget = budget }) end, { check = bench.total })
bench.run("sel_grand", function() return (S.grand { grads = G, labels = y, budget = budget }) end, { check = bench.total })
bench.run("sel_el2n", function() return (S.el2n { probs = P, labels = y, budget = budget }) end, { check = bench.total })
bench.run("sel_uncertainty", function() return (S.uncertainty { probs = P, labels = y, budget = budget, kind = "entropy" }) end,
  { check = bench.total })
bench.run("sel_random", function() return (S.random { labels = y, budget = budget, seed = 0 }) end)
heavy("sel_diversity", function() return (S.agreement { grads = G, labels = y, budget = budget, diversity = 0.2 }) end)
heavy("sel_kcenter", function() return (S.kcenter { features = G, labels = y, budget = budget, start = first }) end)
heavy("sel_herding", function() return (S.herding { features = G, labels = y, budget = budget }) end)
heavy("sel_glister", function() return (S.glister { grads = G, labels = y, budget = budget, val_grad = val, eta = 0.1 }) end)
heavy("sel_craig", function() return (S.craig { features = G, labels = y, budget = budget }) end)
local rows0 = lt.arange(1, N + 1, C, "int64") -- class 1
local G0 = G:index_select(1, rows0)
heavy("sel_gradmatch_1class", function()
  return rows0:index_select(1, (S.gradmatch { grads = G0, budget = K, per_class = false }))
end)
heavy("sel_gradmatch", function() return (S.gradmatch { grads = G, labels = y, budget = budget }) end)
