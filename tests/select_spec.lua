-- select_spec.lua: subset selection - SAGE agreement and every baseline on tiny cases whose
-- right answer is known (by hand, by brute force, or by a naive reimplementation), the one
-- calling convention, determinism, and bad input.
local lt = require "lunette"
local S = require "lunette.select"

local function T(t, dt) return lt.tensor(t, dt or "float32") end
local function ints(t) return lt.tensor(t, "int64") end
local function near(a, b, tol) return math.abs(a - b) <= (tol or 1e-5) * math.max(1, math.abs(b)) end
local function list(t) return t:totable() end

local function assert_list(expected, got)
  assert.same(expected, type(got) == "table" and got or list(got))
end

-- rows of a [n x d] tensor as Lua tables
local function rows(X)
  local out = {}
  for i = 1, X:size(1) do out[i] = X[i]:totable() end
  return out
end
local function dot(a, b) local s = 0 for j = 1, #a do s = s + a[j] * b[j] end return s end
local function dist(a, b) local s = 0 for j = 1, #a do s = s + (a[j] - b[j]) ^ 2 end return math.sqrt(s) end

-- well separated 2-D clusters, one class: corners of a square and a centre
local SQUARE = T { {0, 0}, {0.1, 0}, {10, 0}, {10, 0.2}, {0, 10}, {10, 10}, {5, 5}, {0.3, 10} }

describe("SAGE agreement", function()
  -- class 1: (1,0), (0,1), (1,1) -> unit rows (1,0), (0,1), (1,1)/sqrt2; centroid (c, c) with
  -- c = (1 + 1/sqrt2) / 3; scores c, c, 2c/sqrt2. Class 2: (-3, 0) and (0, 2) -> unit rows
  -- (-1, 0), (0, 1); centroid (-1/2, 1/2); scores 1/2, 1/2.
  local G = T { {1, 0}, {0, 1}, {1, 1}, {-3, 0}, {0, 2} }
  local y = ints { 1, 1, 1, 2, 2 }
  local c = (1 + 1 / math.sqrt(2)) / 3

  it("scores the dot product of the unit row with its class's mean unit row", function()
    local s, cent = S.agreement_scores(G, y)
    local want = { c, c, 2 * c / math.sqrt(2), 0.5, 0.5 }
    for i = 1, 5 do assert.is_true(near(s[i], want[i]), ("row %d: %g vs %g"):format(i, s[i], want[i])) end
    assert.is_true(near(cent[1][1], c) and near(cent[2][1], -0.5) and near(cent[2][2], 0.5))
  end)

  it("uses one global centroid without labels or with per_class = false", function()
    -- unit rows (1,0), (0,1), (.7071,.7071), (-1,0), (0,1): mean (0.7071/5, 2.7071/5)
    local m = { 0.70710678 / 5, 2.70710678 / 5 }
    local s = S.agreement_scores(G)
    local s2 = S.agreement_scores(G, y, { per_class = false })
    local units = { {1, 0}, {0, 1}, {0.70710678, 0.70710678}, {-1, 0}, {0, 1} }
    for i = 1, 5 do
      assert.is_true(near(s[i], dot(units[i], m)))
      assert.equal(s[i], s2[i])
    end
  end)

  it("leaves a zero gradient at score 0, as F.normalize does", function()
    local s = S.agreement_scores(T { {0, 0}, {1, 0}, {2, 0} })
    assert.equal(0, s[1])
    assert.is_true(near(s[2], 2 / 3) and near(s[3], 2 / 3))
  end)

  it("keeps the top floor(fraction * N / C) of every class, best first", function()
    local idx, sc = S.agreement { grads = G, labels = y, budget = 0.4 } -- floor(0.4 * 5 / 2) = 1 per class
    assert_list({ 3, 4 }, idx)                  -- class 1's best is row 3; class 2 ties -> lower row
    assert.is_true(near(sc[1], 2 * c / math.sqrt(2)) and near(sc[2], 0.5))
    local all = S.agreement { grads = G, labels = y, budget = 4 } -- 2 per class
    assert_list({ 3, 1, 4, 5 }, all)
    assert.equal("int64", all:dtype())
  end)

  it("has a global variant: one centroid, one top-k", function()
    local idx = S.agreement { grads = G, labels = y, budget = 2, per_class = false }
    local s = S.agreement_scores(G)
    local order = s:sort(1, true)
    local _, best = s:topk(2)
    assert_list(list(best), idx)
    assert.is_true(order[1] >= order[2])
  end)

  -- the seed's select_agreeing_subset_with_diversity, written naively
  local function diverse_reference(X, k, lambda)
    local R = rows(X:normalize(2))
    local n, d = #R, #R[1]
    local cent = {}
    for j = 1, d do local s = 0 for i = 1, n do s = s + R[i][j] end cent[j] = s / n end
    local score, chosen, taken = {}, {}, {}
    for i = 1, n do score[i] = dot(R[i], cent) end
    for _ = 1, k do
      local best, bv
      for i = 1, n do
        if not taken[i] then
          local pen = 0
          if #chosen > 0 then
            pen = -math.huge
            for _, j in ipairs(chosen) do pen = math.max(pen, dot(R[i], R[j])) end
          end
          local v = score[i] - lambda * pen
          if not bv or v > bv + 1e-9 then best, bv = i, v end
        end
      end
      chosen[#chosen + 1], taken[best] = best, true
    end
    return chosen
  end

  it("diversity: the lazy greedy picks exactly what the seed's greedy picks", function()
    for trial = 1, 3 do
      local X = lt.random.Generator(trial):randn(60, 6) + T { 1, 0.5, 0, 0, 0, 0 }
      for _, lambda in ipairs { 0.2, 1.0 } do
        local idx = S.agreement { grads = X, budget = 12, per_class = false, diversity = lambda }
        assert_list(diverse_reference(X, 12, lambda), idx)
      end
    end
  end)

  it("diversity = true is lambda 0.2, and it spreads the picks", function()
    -- three copies of one direction and one orthogonal row: without the penalty the copies win
    local X = T { {1, 0.01}, {1, 0.02}, {1, 0.03}, {0.2, 1} }
    local plain = S.agreement { grads = X, budget = 2, per_class = false }
    local spread = S.agreement { grads = X, budget = 2, per_class = false, diversity = 2.0 }
    assert.is_true(list(plain)[2] ~= 4)
    assert.equal(4, list(spread)[2])
    assert_list(list(S.agreement { grads = X, budget = 3, per_class = false, diversity = 0.2 }),
                S.agreement { grads = X, budget = 3, per_class = false, diversity = true })
  end)
end)

describe("budget and classes", function()
  local X = lt.random.Generator(3):randn(30, 4)
  local y = ints { 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3 }

  it("fraction: floor(fraction * N / C) per class; count: count // C per class", function()
    local idx = S.grand { grads = X, labels = y, budget = 0.35 } -- floor(0.35 * 30 / 3) = 3
    assert_list({ 3, 3, 3 }, list(S.class_stats(idx, y, 3).counts))
    idx = S.grand { grads = X, labels = y, budget = 10 } -- 10 // 3 = 3
    assert.equal(9, idx:numel())
    idx = S.grand { grads = X, labels = y, fraction = 0.35, per_class = false }
    assert.equal(10, idx:numel())
    assert.equal(30, S.grand { grads = X, budget = 1.0 }:numel())
    assert.equal(30, S.grand { grads = X, budget = 30 }:numel())
  end)

  it("rejects fractions outside (0, 1] and counts outside 1..N", function()
    for _, b in ipairs { 0.0, -0.1, 1.5, 300.0 } do
      assert.error_matches(function() S.grand { grads = X, budget = b } end, "fraction must be in %(0, 1%]")
    end
    assert.error_matches(function() S.grand { grads = X, budget = 0 } end, "not a count in 1..30")
    assert.error_matches(function() S.grand { grads = X, budget = 31 } end, "not a count in 1..30")
    assert.error_matches(function() S.grand { grads = X, budget = "all" } end, "budget must be a number")
    assert.error_matches(function() S.grand { grads = X } end, "budget required")
    assert.error_matches(function() S.grand { grads = X, fraction = 2 } end, "fraction 2 must be in")
    assert.error_matches(function() S.grand { grads = X, budget = 0.1, fraction = 0.1 } end, "not both")
    assert.error_matches(function() S.grand { grads = X, labels = y, budget = 0.01 } end, "selects no rows")
    assert.error_matches(function() S.grand { grads = X, labels = y, budget = 2 } end, "less than one row per class")
  end)

  it("rejects a budget larger than a class and empty classes", function()
    local yy = ints { 1, 1, 1, 1, 1, 1, 1, 1, 1, 2 }
    local Z = lt.random.Generator(4):randn(10, 3)
    assert.error_matches(function() S.kcenter { features = Z, labels = yy, budget = 4 } end,
      "budget larger than a class: class 2 has 1 rows, 2 requested")
    assert.error_matches(function() S.agreement { grads = Z, labels = yy, budget = 6, num_classes = 3 } end,
      "class 3 is empty")
    assert.error_matches(function() S.agreement { grads = Z, labels = ints { 1, 1, 1, 1, 1, 3, 3, 3, 3, 3 }, budget = 3 } end,
      "class 2 is empty")
  end)

  it("rejects bad labels, shapes, NaN rows and unknown options", function()
    local Z = lt.random.Generator(5):randn(6, 3)
    local yy = ints { 1, 2, 1, 2, 1, 2 }
    assert.error_matches(function() S.agreement { grads = Z, labels = ints { 1, 2 }, budget = 2 } end,
      "labels has 2 entries, expected 6")
    assert.error_matches(function() S.agreement { grads = Z, labels = ints { 1, 2, 1, 2, 1, 0 }, budget = 2 } end,
      "classes are numbered from 1")
    assert.error_matches(function() S.agreement { grads = Z, labels = T { 0, 1, 0, 1, 0, 1 }, budget = 2 } end,
      "labels must be a 1%-d integer tensor")
    assert.error_matches(function() S.agreement { grads = Z, labels = yy, budget = 2, num_classes = 1 } end,
      "labels hold class 2 but num_classes is 1")
    assert.error_matches(function() S.agreement { grads = Z, labels = yy, budget = 2, num_classes = 2.5 } end,
      "num_classes must be an integer in 1..1e6, got 2.5")
    assert.error_matches(function() S.agreement { grads = Z:reshape(18), budget = 2 } end,
      "grads must be a 2%-d float tensor %[n x d%], got float32 %[18%]")
    assert.error_matches(function() S.agreement { grads = Z:long(), budget = 2 } end, "2%-d float tensor")
    assert.error_matches(function() S.agreement { budget = 2 } end, "grads required")
    assert.error_matches(function() S.agreement { grads = lt.zeros(0, 3), budget = 2 } end, "grads is empty")
    local bad = Z:clone()
    bad[4][2] = 0 / 0
    assert.error_matches(function() S.agreement { grads = bad, budget = 2 } end, "grads row 4 contains NaN or Inf")
    bad[4][2] = math.huge
    assert.error_matches(function() S.kcenter { features = bad, budget = 2 } end, "features row 4 contains NaN or Inf")
    assert.error_matches(function() S.agreement { grads = Z, budget = 2, budjet = 3 } end, "unknown option 'budjet'")
    assert.error_matches(function() S.agreement(Z) end, "options table expected")
    assert.error_matches(function() S.agreement { grads = Z, budget = 2, per_class = true } end, "per_class needs labels")
    assert.error_matches(function() S.agreement { grads = Z, budget = 2, diversity = -1 } end, "diversity must be >= 0")
  end)

  it("names the function and the caller's line in errors", function()
    local ok, err = pcall(S.kcenter, { features = lt.zeros(3, 2), budget = 7 })
    assert.is_false(ok)
    assert.matches("select_spec.lua:%d+: bad argument #1 to 'kcenter' %(budget 7 is not a count in 1..3%)", err)
  end)

  it("accepts float64 and strided inputs", function()
    local Z = lt.random.Generator(6):randn(8, 5, "float64")
    local a = S.agreement { grads = Z, budget = 3 }
    local b = S.agreement { grads = Z:float():t():contiguous():t(), budget = 3 }
    assert_list(list(a), b)
  end)
end)

describe("k-center greedy", function()
  it("takes the obvious farthest points in 2-D", function()
    -- from (0,0): farthest is (10,10); then (10,0) ties (0,10) at distance 10 -> lower row (3);
    -- then (0,10) (row 5); then the centre (5,5) at 5*sqrt2 beats the near-duplicates.
    local idx, d = S.kcenter { features = SQUARE, budget = 5, start = 1 }
    assert_list({ 1, 6, 3, 5, 7 }, idx)
    assert.equal(math.huge, d[1])
    assert.is_true(near(d[2], math.sqrt(200)) and near(d[3], 10) and near(d[4], 10) and near(d[5], math.sqrt(50)))
  end)

  it("draws the first centre with the seed and runs inside each class", function()
    local a = S.kcenter { features = SQUARE, budget = 3, seed = 7 }
    assert_list(list(a), S.kcenter { features = SQUARE, budget = 3, seed = 7 })
    local y = ints { 1, 1, 1, 1, 2, 2, 2, 2 }
    local idx = S.kcenter { features = SQUARE, labels = y, budget = 4, start = { 1, 5 } }
    -- class 1 rows 1-4 from row 1: farthest is row 4 (10, 0.2); class 2 rows 5-8 from row 5:
    -- farthest is row 6 (10, 10). Ordered by pick rank: first picks, then second picks.
    assert_list({ 1, 5, 4, 6 }, idx)
    assert.error_matches(function() S.kcenter { features = SQUARE, labels = y, budget = 4, start = { 5, 1 } } end,
      "start row 5 is not a row of class 1")
  end)
end)

describe("herding", function()
  it("keeps the running mean of the picks closest to the mean", function()
    -- mean of {-1, 0, 1, 3, 7} is 2: first pick is 3 (|3-2| = 1 beats |1-2| = 1 by ... a tie -> lower
    -- row: row 3 holds 1); then the pair mean closest to 2: (1 + 3)/2 = 2 exactly.
    local X = T { {-1}, {0}, {1}, {3}, {7} }
    local idx, sc = S.herding { features = X, budget = 2 }
    assert_list({ 3, 4 }, idx)
    assert.is_true(near(sc[1], -1) and near(sc[2], 0))
  end)

  it("matches a naive implementation on random features", function()
    local X = lt.random.Generator(9):randn(40, 3)
    local R = rows(X)
    local mu = { 0, 0, 0 }
    for i = 1, 40 do for j = 1, 3 do mu[j] = mu[j] + R[i][j] / 40 end end
    local sum, taken, want = { 0, 0, 0 }, {}, {}
    for t = 1, 8 do
      local best, bv
      for i = 1, 40 do
        if not taken[i] then
          local e = 0
          for j = 1, 3 do e = e + (mu[j] - (sum[j] + R[i][j]) / t) ^ 2 end
          if not bv or e < bv - 1e-12 then best, bv = i, e end
        end
      end
      taken[best], want[t] = true, best
      for j = 1, 3 do sum[j] = sum[j] + R[best][j] end
    end
    assert_list(want, S.herding { features = X, budget = 8 })
  end)
end)

describe("CRAIG facility location", function()
  local function sim_matrix(X, metric)
    local R, n = rows(X), X:size(1)
    local D, dmax = {}, 0
    for i = 1, n do
      D[i] = {}
      for j = 1, n do
        if metric == "cosine" then
          D[i][j] = 1 + dot(R[i], R[j]) / math.sqrt(dot(R[i], R[i]) * dot(R[j], R[j]))
        else
          D[i][j] = dist(R[i], R[j]); dmax = math.max(dmax, D[i][j])
        end
      end
    end
    if metric ~= "cosine" then
      for i = 1, n do for j = 1, n do D[i][j] = dmax - D[i][j] end end
    end
    return D
  end
  local function F(Sim, set)
    local v = 0
    for i = 1, #Sim do
      local m = 0
      for _, j in ipairs(set) do m = math.max(m, Sim[i][j]) end
      v = v + m
    end
    return v
  end
  local function greedy(Sim, k)
    local set, gains = {}, {}
    for _ = 1, k do
      local best, bv
      local base = F(Sim, set)
      for j = 1, #Sim do
        local seen = false
        for _, s in ipairs(set) do seen = seen or s == j end
        if not seen then
          set[#set + 1] = j
          local g = F(Sim, set) - base
          set[#set] = nil
          if not bv or g > bv + 1e-6 then best, bv = j, g end
        end
      end
      set[#set + 1], gains[#gains + 1] = best, bv
    end
    return set, gains
  end
  -- every k-subset of 1..n
  local function subsets(n, k, start, cur, out)
    if #cur == k then out[#out + 1] = { table.unpack(cur) } return out end
    for j = start, n do cur[#cur + 1] = j; subsets(n, k, j + 1, cur, out); cur[#cur] = nil end
    return out
  end

  it("greedy on the square: picks, gains and cluster-size weights by brute force", function()
    local Sim = sim_matrix(SQUARE)
    local want, gains = greedy(Sim, 4)
    local idx, sc, w = S.craig { features = SQUARE, budget = 4 }
    assert_list(want, idx)
    for t = 1, 4 do assert.is_true(near(sc[t], gains[t], 1e-4)) end
    -- the centre lures the greedy away from the optimum (the four corners), but never below
    -- (1 - 1/e) of it; without the centre, on four separated pairs, greedy is optimal
    local best = 0
    for _, s in ipairs(subsets(8, 4, 1, {}, {})) do best = math.max(best, F(Sim, s)) end
    assert.is_true(F(Sim, list(idx)) < best and F(Sim, list(idx)) >= (1 - 1 / math.exp(1)) * best)
    local corners = SQUARE:index_select(1, ints { 1, 2, 3, 4, 5, 6, 8 })
    local Sc = sim_matrix(corners)
    best = 0
    for _, s in ipairs(subsets(7, 4, 1, {}, {})) do best = math.max(best, F(Sc, s)) end
    assert.is_true(near(F(Sc, list(S.craig { features = corners, budget = 4 })), best, 1e-6))
    -- weights: rows closest to each pick; they sum to N
    assert.equal(8, w:sum())
    for t = 1, 4 do
      local cnt = 0
      for i = 1, 8 do
        local mine, other = Sim[i][list(idx)[t]], 0
        for u = 1, 4 do if u ~= t then other = math.max(other, Sim[i][list(idx)[u]]) end end
        if mine > other then cnt = cnt + 1 end
      end
      assert.equal(cnt, w[t])
    end
  end)

  it("lazy greedy equals the plain greedy and is within 1 - 1/e of the optimum on random points", function()
    for trial = 1, 3 do
      local X = lt.random.Generator(20 + trial):randn(10, 3)
      for _, metric in ipairs { "euclidean", "cosine" } do
        local Sim = sim_matrix(X, metric)
        local want = greedy(Sim, 3)
        local idx = S.craig { features = X, budget = 3, metric = metric }
        assert_list(want, idx)
        local best = 0
        for _, s in ipairs(subsets(10, 3, 1, {}, {})) do best = math.max(best, F(Sim, s)) end
        assert.is_true(F(Sim, list(idx)) >= (1 - 1 / math.exp(1)) * best)
      end
    end
  end)

  it("runs per class with weights summing to each class size, and takes grads too", function()
    local X = lt.random.Generator(31):randn(50, 4)
    local y = lt.arange(50, "int64") % 2 + 1
    local idx, _, w = S.craig { grads = X, labels = y, budget = 10 }
    local per = { 0, 0 }
    for i, r in ipairs(list(idx)) do per[y[r]] = per[y[r]] + w[i] end
    assert.same({ 25, 25 }, per)
    assert.error_matches(function() S.craig { features = X, budget = 3, metric = "manhattan" } end,
      "metric must be 'euclidean' or 'cosine'")
  end)
end)

describe("GradMatch", function()
  it("recovers an exact sparse non-negative combination", function()
    local A = lt.random.Generator(41):randn(20, 60)
    local target = A[3] * 2 + A[7] * 0.5 + A[12] * 1.5
    local idx, _, w = S.gradmatch { grads = A, budget = 3, per_class = false, target = target, lam = 0 }
    local got = {}
    for i, r in ipairs(list(idx)) do got[r] = w[i] end
    assert.is_true(near(got[3], 2, 1e-3) and near(got[7], 0.5, 1e-3) and near(got[12], 1.5, 1e-3))
  end)

  it("keeps weights non-negative and roughly sums each class's gradients", function()
    local g = lt.random.Generator(42)
    local A = g:randn(200, 8) * 0.3 + T { 1, 0, 0, 0, 0, 0, 0, 0 }
    local y = lt.arange(200, "int64") % 2 + 1
    local idx, sc, w = S.gradmatch { grads = A, labels = y, budget = 40 }
    assert.equal(40, idx:numel())
    assert.is_true(w:min() >= 0)
    -- the weighted picks approximate each class sum far better than 20 unweighted picks
    for cls = 1, 2 do
      local sum = lt.zeros(8)
      for r = 1, 200 do if y[r] == cls then sum = sum + A[r] end end
      local approx = lt.zeros(8)
      for i, r in ipairs(list(idx)) do if y[r] == cls then approx = approx + A[r] * w[i] end end
      assert.is_true((approx - sum):norm() < 0.1 * sum:norm())
    end
    assert.is_true(sc[1] > 0)
  end)

  it("fills up with seeded random picks (weight 1) once the residual is gone", function()
    local A = T { {1, 0}, {0, 1}, {-1, 0}, {0, -1}, {-1, -1} }
    local target = T { 2, 0 }
    local idx, sc, w = S.gradmatch { grads = A, budget = 3, per_class = false, target = target, lam = 0, seed = 3 }
    assert.equal(1, list(idx)[1])
    assert.is_true(near(w[1], 2, 1e-4))
    assert.equal(1, w[2]); assert.equal(0, sc[3])
    assert_list(list(idx), S.gradmatch { grads = A, budget = 3, per_class = false, target = target, lam = 0, seed = 3 })
  end)

  it("drops a pick whose weight the NNLS sets to zero and fills its place at random (CORDS)", function()
    -- b = (1, 1, -0.1). OMP picks r1 = (1, 1, 0.2) first (correlation 1.98), then r2 = e1
    -- (residual correlation 0.029, tied with e2: lower row), then r3 = e2. On {r1, r2, r3}
    -- the least-squares weight of r1 would be -0.5, so the NNLS keeps r2 and r3 at weight 1
    -- (residual (0, 0, -0.1); moving r1's weight off zero only adds 0.2 * its weight to
    -- the third coordinate's error). r1 holds no weight and leaves the subset; the third
    -- place is drawn from the rows not kept (r1 or r4), weight 1, score 0.
    local A = T { {1, 1, 0.2}, {1, 0, 0}, {0, 1, 0}, {-1, -1, 0} }
    local b = T { 1, 1, -0.1 }
    local idx, sc, w = S.gradmatch { grads = A, budget = 3, per_class = false, target = b, lam = 0, tol = 0, seed = 1 }
    local got = list(idx)
    assert.same({ 2, 3 }, { got[1], got[2] })
    assert.is_true(near(w[1], 1, 1e-5) and near(w[2], 1, 1e-5))
    assert.is_true(near(sc[1], 0.02 / 0.68, 1e-4)) -- (b - 0.9706 r1) . e1 = 1 - 1.98 / 2.04
    assert.is_true(got[3] == 1 or got[3] == 4)
    assert.equal(1, w[3]); assert.equal(0, sc[3])
    assert.is_true(w:min() > 0)
  end)

  it("scales lam by the group's mean squared row norm: copies of one row share the class sum", function()
    -- ten copies of a: b = 10 a. One pick: w = <a, b> / (|a|^2 + lam |a|^2) = 10 / (1 + lam)
    local A = (lt.ones(10, 1) * T { {1, 2, 0, -1} }):contiguous()
    local _, _, w = S.gradmatch { grads = A, budget = 1, per_class = false }
    assert.is_true(near(w[1], 10 / 1.5, 1e-5))
    _, _, w = S.gradmatch { grads = A, budget = 1, per_class = false, lam = 0 }
    assert.is_true(near(w[1], 10, 1e-5))
    -- more picks of the copies: the ridge spreads the weight, whose sum approaches 10
    -- (k copies: k * 10 / (k + lam))
    local idx
    idx, _, w = S.gradmatch { grads = A * 3, budget = 4, per_class = false, lam = 0.5, tol = 0 }
    assert.equal(4, idx:unique():numel())
    assert.is_true(near(w:sum(), 4 * 10 / 4.5, 1e-4))
  end)

  it("picks the budget of every class, distinct rows, positive weights", function()
    local g = lt.random.Generator(44)
    local A = g:randn(300, 6) + T { 2, 0, 0, 0, 0, 0 }
    local y = lt.arange(300, "int64") % 3 + 1
    local idx, _, w = S.gradmatch { grads = A, labels = y, budget = 0.1 }
    assert_list({ 10, 10, 10 }, S.class_stats(idx, y, 3).counts)
    assert.equal(30, idx:unique():numel())
    assert.is_true(w:min() > 0)
  end)

  it("rejects bad targets and options", function()
    local A = lt.random.Generator(43):randn(10, 4)
    assert.error_matches(function() S.gradmatch { grads = A, budget = 3, target = T { 1, 2 } } end, "target must be a 1%-d tensor of 4")
    assert.error_matches(function() S.gradmatch { grads = A, budget = 3, lam = -1 } end, "lam must be >= 0")
  end)
end)

describe("GLISTER", function()
  local function reference(G, v, k, eta)
    local R = rows(G)
    local taken, sum, out = {}, {}, {}
    for j = 1, #v do sum[j] = 0 end
    for t = 1, k do
      local best, bv
      for i = 1, #R do
        if not taken[i] then
          local vt = {}
          for j = 1, #v do vt[j] = v[j] - (t > 1 and eta * sum[j] / (t - 1) or 0) end
          local gval = dot(R[i], vt)
          if not bv or gval > bv + 1e-9 then best, bv = i, gval end
        end
      end
      taken[best], out[t] = true, best
      for j = 1, #v do sum[j] = sum[j] + R[best][j] end
    end
    return out
  end

  it("with eta = 0 it is the top-k alignment with the validation gradient", function()
    local G = T { {1, 0}, {2, 0}, {0, 3}, {-1, 0} }
    local idx, gain = S.glister { grads = G, val_grad = T { 1, 0.1 }, budget = 3, eta = 0 }
    assert_list({ 2, 1, 3 }, idx)
    assert.is_true(near(gain[1], 2) and near(gain[2], 1) and near(gain[3], 0.3))
  end)

  it("later picks pay for redundancy with the picks so far (naive reimplementation)", function()
    for trial = 1, 3 do
      local G = lt.random.Generator(50 + trial):randn(40, 5)
      local v = lt.random.Generator(60 + trial):randn(5)
      assert_list(reference(G, v:totable(), 10, 1.0), S.glister { grads = G, val_grad = v, budget = 10, eta = 1.0 })
    end
  end)

  it("pays for redundancy after the first pick (by hand)", function()
    -- v = (1, 0.2), eta = 1. Gains <g, v>: 1, 0.9, 0.1 -> row 1. Then v - eta * g1 = (0, 0.2):
    -- gains 0 (row 2, parallel to row 1) and 0.1 (row 3) -> row 3. Without the update
    -- (eta = 0) the second pick is row 2.
    local G = T { {1, 0}, {0.9, 0}, {0, 0.5} }
    local idx, gain = S.glister { grads = G, val_grad = T { 1, 0.2 }, budget = 2, eta = 1 }
    assert_list({ 1, 3 }, idx)
    assert.is_true(near(gain[1], 1) and near(gain[2], 0.1))
    assert_list({ 1, 2 }, S.glister { grads = G, val_grad = T { 1, 0.2 }, budget = 2, eta = 0 })
  end)

  describe("with validation rows (the last layer's update, as CORDS)", function()
    -- Two classes, one feature: grads are [w1, w2, b1, b2]. Validation rows h = 1 (class 1)
    -- and h = 2 (class 2) at logits 0: p = (1/2, 1/2), so E = p - onehot = (-1/2, 1/2) and
    -- (1/2, -1/2); v = mean of E x [h, 1] = (1/4, -1/4, 0, 0). Gains: -1/4, -1/2, 1/4, 1/10
    -- -> row 3 (a class-2 example, h = 1). After the step theta - g3 the logits are
    -- (-1, 1) and (-1.5, 1.5); E = (-0.8808, 0.8808), (0.0474, -0.0474), so v =
    -- (-0.3930, 0.3930, -0.4167, 0.4167) and the gains of rows 1, 2, 4 are 0.8097, 1.2026,
    -- -0.2405 -> row 2.
    local H, Z, yv = T { {1}, {2} }, T { {0, 0}, {0, 0} }, ints { 1, 2 }
    local G = T { {-0.5, 0.5, -0.5, 0.5}, {-1, 1, -0.5, 0.5}, {0.5, -0.5, 0.5, -0.5}, {0.2, -0.2, 0.1, -0.1} }
    local val = { features = H, logits = Z, labels = yv }

    it("recomputes the validation gradient at the updated logits (by hand)", function()
      local idx, gain = S.glister { grads = G, val = val, budget = 2, eta = 1 }
      assert_list({ 3, 2 }, idx)
      assert.is_true(near(gain[1], 0.25, 1e-5) and near(gain[2], 1.20263, 1e-4))
      -- the same first pick as the fixed validation gradient; the update decides the second
      assert_list({ 3, 4 }, S.glister { grads = G, val_grad = T { 0.25, -0.25, 0, 0 }, budget = 2, eta = 0 })
    end)

    it("steps by the sum of the picks (CORDS) or their mean (DeepCore)", function()
      -- after two picks the sum moves the logits twice as far as the mean; with one feature
      -- and eta small both stay near the first-order model, so compare with a direct
      -- recomputation of the third gain
      local function third_gain(update)
        local idx, gain = S.glister { grads = G, val = val, budget = 3, eta = 0.5, update = update }
        local S2 = G[list(idx)[1]]:double() + G[list(idx)[2]]:double()
        if update == "mean" then S2 = S2 / 2 end
        local Zt = Z:double() - (lt.matmul(H:double(), S2:narrow(1, 1, 2):view(2, 1):t()) + S2:narrow(1, 3, 2)) * 0.5
        local e = Zt:exp()
        local E = e / e:sum(2, true) - lt.one_hot(yv, 2):double()
        local v = lt.cat({ lt.matmul(E:t(), H:double()):reshape(-1), E:sum(1) }, 1) / 2
        return gain[3], (G[list(idx)[3]]:double() * v):sum()
      end
      for _, u in ipairs { "sum", "mean" } do
        local got, want = third_gain(u)
        assert.is_true(near(got, want, 1e-4), ("%s: %g vs %g"):format(u, got, want))
      end
    end)

    -- The naive reference: the published update spelled out with tensors, one pick at a
    -- time (what the façade ran before the kernel moved to C): logits of the validation rows
    -- at theta - step * S, their mean gradient, the gains of every unpicked row.
    local function reference(Gr, yr, Hv, Zv, yv, k, eta, update)
      local nc, F = Zv:size(2), Hv:size(2)
      local picks = {}
      local classes = yr and lt.arange(1, nc + 1):totable() or { 0 }
      for _, c in ipairs(classes) do
        local R, vr = {}, {}
        for i = 1, Gr:size(1) do if c == 0 or yr[i] == c then R[#R + 1] = i end end
        for r = 1, yv:numel() do if c == 0 or yv[r] == c then vr[#vr + 1] = r end end
        local H = Hv:index_select(1, ints(vr)):double()
        local Z = Zv:index_select(1, ints(vr)):double()
        local Y1h = lt.one_hot(yv:index_select(1, ints(vr)), nc):double()
        local Sg, taken = lt.zeros(nc * F + nc, "float64"), {}
        for t = 1, k do
          local step = t == 1 and 0 or update == "mean" and eta / (t - 1) or eta
          local Zt = Z - (lt.matmul(H, Sg:narrow(1, 1, nc * F):view(nc, F):t()) + Sg:narrow(1, nc * F + 1, nc)) * step
          local e = (Zt - Zt:max(2, true)):exp()
          local E = e / e:sum(2, true) - Y1h
          local v = lt.cat({ lt.matmul(E:t(), H):reshape(-1), E:sum(1) }, 1) / H:size(1)
          local best, bi = -math.huge, nil
          for _, i in ipairs(R) do
            if not taken[i] then
              local gi = (Gr[i]:double() * v):sum()
              if gi > best then best, bi = gi, i end
            end
          end
          taken[bi] = true
          picks[#picks + 1] = { row = bi, rank = t, gain = best }
          Sg = Sg + Gr[bi]:double()
        end
      end
      table.sort(picks, function(a, b)
        if a.rank ~= b.rank then return a.rank < b.rank end
        return a.gain > b.gain
      end)
      local rows_, gains = {}, {}
      for i, p in ipairs(picks) do rows_[i], gains[i] = p.row, p.gain end
      return rows_, gains
    end

    it("matches a naive reimplementation on random data (sum and mean, per class or not)", function()
      local g = lt.random.Generator(7)
      local n, F, nc, nv = 60, 4, 3, 12
      local Gr = g:randn(n, nc * F + nc)
      local yr = g:randint(1, nc + 1, n):long()
      local Hv = g:randn(nv, F)
      local Zv = g:randn(nv, nc)
      local yv = ints { 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3 }
      local vals = { features = Hv, logits = Zv, labels = yv }
      for _, update in ipairs { "sum", "mean" } do
        for _, per in ipairs { true, false } do
          local idx, gain = S.glister { grads = Gr, labels = per and yr or nil, val = vals, budget = 12,
                                        eta = 0.3, update = update }
          local wr, wg = reference(Gr, per and yr:totable() or nil, Hv, Zv, yv, per and 4 or 12, 0.3, update)
          assert.same(wr, list(idx), update .. (per and " per class" or " one group"))
          for i = 1, #wg do assert.is_true(near(gain[i], wg[i], 1e-4), ("%s pick %d: %g vs %g"):format(update, i, gain[i], wg[i])) end
        end
      end
    end)

    it("uses each class's validation rows per class, and checks its inputs", function()
      local y = ints { 1, 2, 2, 1 } -- rows 1 and 4 are class 1, rows 2 and 3 class 2
      local idx = S.glister { grads = G, labels = y, val = val, budget = 2 }
      assert.equal(2, idx:numel())
      assert_list({ 1, 1 }, S.class_stats(idx, y, 2).counts:totable())
      assert.error_matches(function() S.glister { grads = G, val = val, budget = 2, val_grad = T { 1, 0, 0, 0 } } end,
        "give val_grad or val, not both")
      assert.error_matches(function() S.glister { grads = G:narrow(2, 1, 3), val = val, budget = 2 } end,
        "grads have 3 columns; a last layer of 2 classes x 1 features has 4")
      assert.error_matches(function() S.glister { grads = G, val = { features = H, logits = Z }, budget = 2 } end,
        "val must be")
      assert.error_matches(function() S.glister { grads = G, val = { features = H, logits = Z, labels = ints { 1, 3 } }, budget = 2 } end,
        "val.labels must be classes 1..2")
      assert.error_matches(function() S.glister { grads = G, val = val, budget = 2, update = "median" } end,
        "update must be 'sum' or 'mean'")
      assert.error_matches(function() S.glister { grads = G, val_grad = T { 1, 0, 0, 0 }, budget = 2, update = "sum" } end,
        "update needs val")
      assert.error_matches(function() S.glister { grads = G, labels = ints { 1, 1, 1, 1 }, num_classes = 2, val = val, budget = 1 } end,
        "class 2 is empty")
      local bad = G:clone()
      bad[2][3] = 0 / 0
      assert.error_matches(function() S.glister { grads = bad, val = val, budget = 2 } end, "grads row 2 contains NaN or Inf")
      assert.error_matches(function() S.glister { grads = G, val = val, budget = 5 } end, "not a count in 1..4")
      local nanZ = Z:clone()
      nanZ[2][1] = 0 / 0
      assert.error_matches(function() S.glister { grads = G, val = { features = H, logits = nanZ, labels = yv }, budget = 2 } end,
        "val.logits row 2 contains NaN or Inf")
      assert.error_matches(function() S.glister { grads = G, val = 3, budget = 2 } end, "val must be")
      assert.error_matches(function() S.glister { grads = G, val = { features = H, logits = Z, labels = T { 1, 2 } }, budget = 2 } end,
        "val.labels must be a 1%-d integer tensor, got float32")
      assert.error_matches(function() S.glister { grads = G, val = { features = H, logits = Z, labels = ints { 1, 2, 1 } }, budget = 2 } end,
        "need the same nv > 0 rows")
      assert.error_matches(function() S.glister { grads = G, labels = ints { 1, 2, 3, 1 }, val = val, budget = 3 } end,
        "val has no rows of class 3")
    end)
  end)

  it("takes one validation gradient per class", function()
    local G = T { {1, 0}, {0, 1}, {1, 0}, {0, 1} }
    local y = ints { 1, 1, 2, 2 }
    local V = T { {0, 1}, {1, 0} } -- class 1 wants the second axis, class 2 the first
    assert_list({ 2, 3 }, S.glister { grads = G, labels = y, val_grad = V, budget = 2 })
    assert.error_matches(function() S.glister { grads = G, labels = y, val_grad = T { {1, 0} }, budget = 2 } end,
      "one row per class")
    assert.error_matches(function() S.glister { grads = G, budget = 2 } end, "val_grad required")
  end)
end)

describe("score baselines", function()
  it("GraNd keeps the largest gradient norms", function()
    local G = T { {3, 4}, {1, 0}, {0, 0}, {6, 8} }
    local idx, sc = S.grand { grads = G, budget = 2 }
    assert_list({ 4, 1 }, idx)
    assert.is_true(near(sc[1], 10) and near(sc[2], 5))
    assert_list({ 5, 1, 0, 10 }, S.scores.grand { grads = G })
    assert_list({ 3, 2 }, S.grand { grads = G, budget = 2, largest = false })
  end)

  it("EL2N is ||p - onehot(y)||, from probabilities or logits", function()
    local P = T { {0.7, 0.2, 0.1}, {0.1, 0.8, 0.1}, {0.3, 0.3, 0.4} }
    local y = ints { 1, 1, 3 }
    local s = S.scores.el2n { probs = P, labels = y }
    local want = { math.sqrt(0.09 + 0.04 + 0.01), math.sqrt(0.81 + 0.64 + 0.01), math.sqrt(0.09 + 0.09 + 0.36) }
    for i = 1, 3 do assert.is_true(near(s[i], want[i])) end
    local s2 = S.scores.el2n { logits = P:log(), labels = y }
    assert.is_true(s:allclose(s2, 1e-5, 1e-6))
    assert_list({ 2 }, S.el2n { probs = P, labels = y, budget = 1, per_class = false })
    assert.error_matches(function() S.el2n { probs = T { {1.5, -0.5} }, labels = ints { 1 }, budget = 1 } end,
      "probs row 1 has a value outside %[0, 1%]")
    assert.error_matches(function() S.el2n { probs = P, logits = P, labels = y, budget = 1 } end, "exactly one of probs and logits")
    assert.error_matches(function() S.el2n { probs = P, budget = 1 } end, "labels required")
  end)

  it("uncertainty: least confidence, margin and entropy by hand", function()
    local P = T { {0.5, 0.3, 0.2}, {0.9, 0.05, 0.05}, {0.4, 0.35, 0.25} }
    local lc = S.scores.uncertainty { probs = P }
    local mg = S.scores.uncertainty { probs = P, kind = "margin" }
    local en = S.scores.uncertainty { probs = P, kind = "entropy" }
    local H = function(p) local h = 0 for _, v in ipairs(p) do h = h - v * math.log(v) end return h end
    for i, p in ipairs(rows(P)) do
      assert.is_true(near(lc[i], 1 - p[1]))
      assert.is_true(near(mg[i], p[2] - p[1]))
      assert.is_true(near(en[i], H(p)))
    end
    assert_list({ 3, 1 }, S.uncertainty { probs = P, budget = 2, kind = "margin" })
    assert.error_matches(function() S.uncertainty { probs = P, budget = 2, kind = "vibes" } end, "kind must be")
  end)

  it("forgetting counts correct -> wrong transitions; never learned ranks first", function()
    local R = lt.tensor({ {1, 0, 1, 0, 1}, {1, 1, 1, 1, 1}, {0, 0, 0, 0, 0}, {0, 1, 0, 1, 1}, {1, 0, 0, 0, 1} }, "bool")
    assert_list({ 2, 0, 5, 1, 1 }, S.scores.forgetting { record = R })
    assert_list({ 3, 1 }, S.forgetting { record = R, budget = 2 })
    assert_list({ 2, 0, 5, 1, 1 }, S.scores.forgetting { record = R:long() })
    assert.error_matches(function() S.forgetting { record = R:float(), budget = 1 } end, "bool or integer")
  end)
end)

describe("random", function()
  it("draws distinct rows, the same for the same seed", function()
    local a = S.random { n = 100, budget = 0.2, seed = 1 }
    local b = S.random { n = 100, budget = 0.2, seed = 1 }
    local c = S.random { n = 100, budget = 0.2, seed = 2 }
    assert_list(list(a), b)
    assert.are_not.same(list(a), list(c))
    assert.equal(20, a:unique():numel())
    assert.is_true(a:min() >= 1 and a:max() <= 100)
  end)

  it("is class-balanced with labels", function()
    local y = lt.tensor(lt.randperm(90):totable(), "int64") % 3 + 1
    local idx = S.random { labels = y, budget = 30, seed = 4 }
    assert_list({ 10, 10, 10 }, S.class_stats(idx, y, 3).counts)
    assert.equal(30, idx:unique():numel())
    assert.error_matches(function() S.random { budget = 3 } end, "give n")
  end)
end)

describe("class_stats", function()
  it("gives counts, mean, population std and cv like the seed's analysis", function()
    local y = ints { 1, 1, 2, 2, 2, 3, 3, 3, 3, 4 }
    local st = S.class_stats({ 1, 3, 4, 6, 7, 8 }, y, 4)
    assert_list({ 1, 2, 3, 0 }, st.counts)
    assert.is_true(near(st.mean, 1.5) and near(st.std, math.sqrt(1.25)) and near(st.cv, math.sqrt(1.25) / 1.5))
    local flat = S.class_stats(ints { 1, 3, 6, 10 }, y, 4)
    assert.equal(0, flat.cv)
    assert.error_matches(function() S.class_stats({ 1 }, y, 2) end, "labels hold class")
  end)
end)

describe("determinism", function()
  it("gives the same picks on 1 and 2 threads", function()
    local build = os.getenv("LUNETTE_BUILD") or "build"
    local script = [[
      local lt = require "lunette"; local S = require "lunette.select"
      local g = lt.random.Generator(77)
      local X = g:randn(3000, 24); local y = lt.arange(3000, "int64") % 3 + 1
      local out = {}
      for _, r in ipairs {
        { S.agreement { grads = X, labels = y, budget = 0.05 } },
        { S.agreement { grads = X, labels = y, budget = 0.05, diversity = 0.2 } },
        { S.kcenter { features = X, labels = y, budget = 0.05 } },
        { S.herding { features = X, labels = y, budget = 0.05 } },
        { S.craig { features = X, labels = y, budget = 0.05 } },
        { S.gradmatch { grads = X, labels = y, budget = 0.05 } },
        { S.glister { grads = X, labels = y, val_grad = X:mean(1), budget = 0.05 } },
        { S.glister { grads = X, labels = y, budget = 0.05, -- 3 classes x 7 features + 3 biases = 24
                      val = { features = g:randn(30, 7), logits = g:randn(30, 3), labels = lt.arange(30, "int64") % 3 + 1 } } } } do
        out[#out + 1] = table.concat(r[1]:totable(), ",") .. ("|%.6g"):format(r[2]:double():sum())
      end
      io.write(table.concat(out, "\n"))]]
    local function run(threads)
      local p = io.popen(("OMP_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d %s/lunette -e '%s'"):format(threads, threads, build, script))
      local s = p:read("a"); p:close(); return s
    end
    local one, two = run(1), run(2)
    assert.is_true(#one > 100)
    assert.equal(one, two)
  end)
end)

describe("sage pipeline", function()
  local why = S.sage_unavailable()
  if why then
    pending("select.sage: " .. why)
    return
  end
  local nn, data = require "lunette.nn", require "lunette.data"

  it("records correctness for forgetting events through nn.fit's hooks", function()
    local ds = data.fashion_mnist { split = "test" }:subset(lt.arange(1, 201))
    local x, y = ds:tensors()
    lt.seed(4)
    local model = nn.mlp { 784, 16, 10 }
    local record, hooks = S.forgetting_recorder(200, 3)
    local hist = nn.fit(model, { x = x, y = y }, { epochs = 3, batch_size = 50, seed = 1, hooks = hooks, lr = 0.1 })
    for e = 1, 3 do
      local acc = record:select(2, e):double():mean()
      assert.is_true(math.abs(acc - hist.epochs[e].accuracy) < 1e-9)
    end
    local idx = S.forgetting { record = record, labels = y, budget = 0.1 }
    assert.equal(20, idx:numel())
    assert.error_matches(function() S.forgetting_recorder(0, 3) end, "positive integer row count")
  end)

  it("runs both passes and picks what the same steps taken by hand pick", function()
    local ds = data.fashion_mnist { split = "test" }:subset(lt.arange(1, 301))
    lt.seed(3)
    local model = nn.mlp { 784, 16, 10 }
    local idx, sc, info = S.sage { model = model, dataset = ds, ell = 8, fraction = 0.1, batch_size = 64,
                                   progress = false, return_grads = true }
    assert.equal(170, info.dim) -- last layer: 10 x 16 weights + 10 biases
    assert.same({ 8, 170 }, info.sketch:size())
    assert.equal(30, idx:numel())
    assert_list({ 3, 3, 3, 3, 3, 3, 3, 3, 3, 3 }, S.class_stats(idx, ds:labels(), 10).counts)
    -- by hand: every gradient at once, one sketch, one projection, agreement
    local x, y = ds:tensors()
    local G = nn.per_sample_grads(model, x, y, { last_layer = true })
    local fd = lt.sketch.fd { ell = 8, dim = 170 }
    fd:add(G)
    local B = fd:finalize()
    assert.is_true(B:allclose(info.sketch, 1e-4, 1e-5))
    local P = lt.matmul(G, B:t())
    assert.is_true(P:allclose(info.grads, 1e-3, 1e-5))
    -- the same picks up to float rounding: each pick is in its class's top 3 by the hand-made
    -- scores, give or take a near-tie (both paths round differently)
    local s = S.agreement_scores(P, y)
    local third = {}
    for c = 1, 10 do
      local _, best = (s * y:eq(c):float() - y:ne(c):float() * 10):topk(3)
      third[c] = s[best[3]]
    end
    for i, r in ipairs(list(idx)) do
      assert.is_true(s[r] >= third[y[r]] - 1e-4, ("pick %d (row %d) is not in its class's top 3"):format(i, r))
      assert.is_true(math.abs(sc[i] - s[r]) < 1e-4)
    end
  end)

  it("takes {x, y} tensors, caps ell at D - 1 and checks its options", function()
    local ds = data.fashion_mnist { split = "test" }:subset(lt.arange(1, 101))
    local x, y = ds:tensors()
    local model = nn.mlp { 784, 4, 10 } -- D = 50
    local idx, _, info = S.sage { model = model, dataset = { x = x, y = y }, ell = 256, budget = 20, progress = false }
    assert.equal(49, info.ell)
    assert.equal(20, idx:numel())
    assert.error_matches(function() S.sage { model = model, dataset = ds, budget = 20, batch_size = 0 } end,
      "batch_size must be a positive integer")
    assert.error_matches(function() S.sage { model = model, budget = 20 } end, "model and dataset required")
    assert.error_matches(function() S.sage { model = model, dataset = ds, budget = 20, ell_size = 3 } end,
      "unknown option 'ell_size'")
  end)

  it("names sage, not the sketch's add, when the gradients are NaN", function()
    local ds = data.fashion_mnist { split = "test" }:subset(lt.arange(1, 101))
    local x, y = ds:tensors()
    for _, last in ipairs { true, false } do
      local model = nn.mlp { 784, 4, 10 }
      model.head.weight[1][1] = 0 / 0
      local ok, err = pcall(S.sage, { model = model, dataset = { x = x, y = y }, budget = 20, ell = 8,
                                      last_layer = last, progress = false })
      assert.is_false(ok)
      assert.matches("bad argument #1 to 'sage' %(the per%-sample gradients of batch 1 contain NaN or Inf", err)
      assert.is_nil(err:find("'add'", 1, true), err)
    end
  end)
end)
