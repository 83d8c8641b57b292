-- Selection at 5% on Fashion-MNIST-sized inputs: N = 60,000 rows of ell = 256 projected
-- gradients (or features), 10 classes, 300 picks per class (class-balanced, as SAGE).
-- The rows are SYNTHETIC (bench.pattern plus half a per-class pattern, identical on both
-- sides), so these rows time the selection algorithms alone, not a gradient pass; the
-- whole SAGE pipeline on real Fashion-MNIST gradients is group 65_sage. The peer is the
-- same algorithm in numpy the way the reference Python code runs it (60_select.py).
-- Multi-second rows run one timed call.
-- Checksums. The pattern rows form a one-parameter family (row r is frac(a_r + j b) plus
-- its class offset), so many scores and distances tie exactly in real arithmetic and
-- differ only by float rounding; numpy (float32 sums) and lunette (wider accumulators)
-- break those ties differently, and a greedy method that breaks one tie differently
-- goes on with a different (equally good) set. Where that happens the checksum is not
-- the sum of the indices but the quantity the method optimises, recomputed in float64
-- from the picks on each side with that side's own code: for EL2N and entropy the sum
-- of the picks' scores, for k-center the covering radius (largest distance of a row to
-- its nearest pick), for herding the sum over t of ||class mean - mean of the first t
-- picks||, and for CRAIG the sum of every row's distance to its nearest pick (what
-- facility location with similarity dmax - distance minimises), all summed over classes.
-- CRAIG's tolerance is 1e-2: both sides form distances by the float32 GEMM route, whose
-- cancellation leaves the small distances of this family a few correct digits, so late
-- greedy gains are off by up to ~0.1% on both sides (checked against float64) and the
-- two costs differ by ~0.2%; a wrong similarity or a non-greedy pick moves it by far more.
-- Elsewhere: the sum of the selected indices.
-- @rounds 1  (slow group: one round per side keeps make bench near its time budget)
-- @row sel_agreement goal=1 title="SAGE agreement, class-balanced top 5% (60k×256)"
-- @row sel_grand goal=1 title="GraNd (gradient norm) top 5% per class (60k×256)"
-- @row sel_el2n goal=1 title="EL2N top 5% per class (60k×10 probabilities)"
-- @row sel_uncertainty goal=1 title="uncertainty (entropy) top 5% per class (60k×10)"
-- @row sel_random goal=0.5 title="random, class-balanced 5% (60k)"
-- @row sel_forgetting goal=1 title="forgetting events top 5% per class (60k×20 epochs of correctness)"
-- @row sel_diversity goal=1 title="SAGE + diversity penalty λ=0.2, 5% per class (60k×256)"
-- @row sel_kcenter goal=1 title="k-center greedy, 5% per class (60k×256)"
-- @row sel_herding goal=1 title="herding, 5% per class (60k×256)"
-- @row sel_glister goal=1 title="GLISTER greedy, 5% per class (60k×256)"
-- @row sel_glister_val goal=1 tol=1e-4 title="GLISTER, last-layer update (CORDS), 5% per class (60k×1,290 last-layer grads, 1,000 val rows)"
-- @row sel_craig goal=1 tol=1e-2 title="CRAIG lazy-greedy facility location, 5% per class (60k×256)"
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

local function heavy(name, fn, check)
  local saved = { bench.warmup, bench.min, bench.budget }
  bench.warmup, bench.min, bench.budget = 0, 1, 0
  bench.run(name, fn, { check = check or bench.total })
  bench.warmup, bench.min, bench.budget = saved[1], saved[2], saved[3]
end

-- the tie-robust checksums (see the top), in float64
local Gd, Pd = G:double(), P:double()
local rows_of = {}
for c = 1, C do rows_of[c] = lt.arange(c, N + 1, C, "int64") end
local function picks_of(idx, c) return idx:masked_select(y:index_select(1, idx):eq(c)) end
-- distance of every row of class c to each of its picks [m x k]
local function distances(idx, c)
  local X, Q = Gd:index_select(1, rows_of[c]), Gd:index_select(1, picks_of(idx, c))
  return ((X ^ 2):sum(2, true) + (Q ^ 2):sum(2, true):t() - lt.matmul(X, Q:t()) * 2):clamp(0):sqrt()
end
local function per_class_sum(f) return function(idx)
  local s = 0
  for c = 1, C do s = s + f(idx, c) end
  return s
end end
local el2n_all = ((Pd - lt.eye(C):double():index_select(1, y)) ^ 2):sum(2):sqrt()
local entropy_all = -(Pd * Pd:log()):sum(2)
local function score_sum(all) return function(idx) return all:index_select(1, idx):sum() end end
local covering = per_class_sum(function(idx, c) return (distances(idx, c):min(2)):max() end)
local medoid_cost = per_class_sum(function(idx, c) return (distances(idx, c):min(2)):sum() end)
local herding_trace = per_class_sum(function(idx, c)
  local mu, cum = Gd:index_select(1, rows_of[c]):mean(1), Gd:index_select(1, picks_of(idx, c)):cumsum(1)
  local s = 0
  for t = 1, cum:size(1) do s = s + (mu - cum[t] / t):norm() end
  return s
end)

local budget = 0.05
bench.run("sel_agreement", function() return (S.agreement { grads = G, labels = y, budget = budget }) end, { check = bench.total })
bench.run("sel_grand", function() return (S.grand { grads = G, labels = y, budget = budget }) end, { check = bench.total })
bench.run("sel_el2n", function() return (S.el2n { probs = P, labels = y, budget = budget }) end,
  { check = score_sum(el2n_all) })
bench.run("sel_uncertainty", function() return (S.uncertainty { probs = P, labels = y, budget = budget, kind = "entropy" }) end,
  { check = score_sum(entropy_all) })
bench.run("sel_random", function() return (S.random { labels = y, budget = budget, seed = 0 }) end)
local R = bench.pattern(N, 20):gt(0.5) -- correctness per epoch; integer scores tie exactly, lower row first
bench.run("sel_forgetting", function() return (S.forgetting { record = R, labels = y, budget = budget }) end,
  { check = bench.total })
heavy("sel_diversity", function() return (S.agreement { grads = G, labels = y, budget = budget, diversity = 0.2 }) end)
heavy("sel_kcenter", function() return (S.kcenter { features = G, labels = y, budget = budget, start = first }) end, covering)
heavy("sel_herding", function() return (S.herding { features = G, labels = y, budget = budget }) end, herding_trace)
heavy("sel_glister", function() return (S.glister { grads = G, labels = y, budget = budget, val_grad = val, eta = 0.1 }) end)
-- GLISTER as CORDS runs it: last-layer gradients (10 classes x 128 features + 10 biases)
-- of the same 60k rows, 100 validation rows per class whose logits move with every pick
local F, DL, NV = 128, 10 * 128 + 10, 1000
local GL = bench.pattern(N, DL) + bench.pattern(C, DL):index_select(1, y) * 0.5
local yv = lt.arange(NV, "int64") % C + 1
local vrows = { features = bench.pattern(NV, F), logits = bench.pattern(NV, C) * 4, labels = yv }
-- checksum: the validation loss at the final update theta - eta * S, summed over classes
-- (order-free, so near-tied picks taken in another order still agree)
local Hd, Zd = vrows.features:double(), vrows.logits:double()
local function glister_val_loss(idx)
  local total = 0
  for c = 1, C do
    local Sc = GL:index_select(1, picks_of(idx, c)):double():sum(1)
    local vr = lt.arange(c, NV + 1, C, "int64")
    local H, Z = Hd:index_select(1, vr), Zd:index_select(1, vr)
    local Zt = Z - (lt.matmul(H, Sc:narrow(1, 1, C * F):view(C, F):t()) + Sc:narrow(1, C * F + 1, C)) * 0.05
    local m = Zt:max(2, true)
    total = total + ((Zt - m):exp():sum(2, true):log() + m - Zt:narrow(2, c, 1)):mean()
  end
  return total
end
heavy("sel_glister_val", function()
  return (S.glister { grads = GL, labels = y, budget = budget, val = vrows, eta = 0.05 })
end, glister_val_loss)
heavy("sel_craig", function() return (S.craig { features = G, labels = y, budget = budget }) end, medoid_cost)
local rows0 = lt.arange(1, N + 1, C, "int64") -- class 1
local G0 = G:index_select(1, rows0)
heavy("sel_gradmatch_1class", function()
  return rows0:index_select(1, (S.gradmatch { grads = G0, budget = K, per_class = false }))
end)
heavy("sel_gradmatch", function() return (S.gradmatch { grads = G, labels = y, budget = budget }) end)
