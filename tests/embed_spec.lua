-- embed_spec.lua: PCA, kNN, t-SNE, UMAP, quality metrics and hypersphere helpers against
-- brute-force Lua references and the scikit-learn / umap-learn fixture; determinism; bad input.
local lt = require "lunette"
local embed = lt.embed
local ref = dofile("tests/fixtures/embed_reference.lua")

local function T(t) return lt.tensor(t, "float32") end

local function close(a, b, tol) return math.abs(a - b) <= tol * math.max(1, math.abs(b)) end

local function assert_close(a, b, tol, what)
  if not close(a, b, tol) then error(("%s: %.9g vs %.9g (tol %g)"):format(what or "value", a, b, tol), 2) end
end

local function assert_all_close(t, expected, tol, what)
  local flat_a, flat_b = {}, {}
  local function flatten(x, out) if type(x) == "table" then for _, v in ipairs(x) do flatten(v, out) end else out[#out + 1] = x end end
  flatten(lt.tensor.is_tensor(t) and t:totable() or t, flat_a)
  flatten(lt.tensor.is_tensor(expected) and expected:totable() or expected, flat_b)
  assert.equal(#flat_b, #flat_a, (what or "values") .. ": sizes differ")
  for i = 1, #flat_a do
    if not close(flat_a[i], flat_b[i], tol) then
      error(("%s[%d]: %.9g vs %.9g (tol %g)"):format(what or "values", i, flat_a[i], flat_b[i], tol), 2)
    end
  end
end

-- Well separated Gaussian blobs: k clusters of `per` points in `dim` dimensions,
-- centre c at sep * e_c, unit spread along 3 axes and 0.25 along the others (so
-- that a 2-d map can be faithful: with isotropic 10-d noise scikit-learn and
-- umap-learn themselves score about 0.95). Returns X and the 1-based labels.
local function blobs(seed, k, per, dim, sep)
  local g = lt.random.Generator(seed)
  local X = g:randn(k * per, dim)
  if dim > 3 then X:narrow(2, 4, dim - 3):mul_(0.25) end
  local labels = {}
  for c = 1, k do
    local rows = X:narrow(1, (c - 1) * per + 1, per)
    rows:select(2, c):add_(sep)
    for i = 1, per do labels[(c - 1) * per + i] = c end
  end
  return X, labels
end

-- Fraction of points whose k nearest embedding neighbours all share their label.
local function purity(Y, labels, k)
  local idx = embed.knn(Y, k):totable()
  local good = 0
  for i, row in ipairs(idx) do
    local ok = true
    for _, j in ipairs(row) do ok = ok and labels[j] == labels[i] end
    if ok then good = good + 1 end
  end
  return good / #idx
end

-- Smallest distance between cluster centroids over the largest mean radius.
local function separation(Y, labels, k)
  local y, cen, cnt, rad = Y:totable(), {}, {}, {}
  for c = 1, k do cen[c], cnt[c], rad[c] = {0, 0}, 0, 0 end
  for i, p in ipairs(y) do local c = labels[i]; cen[c][1] = cen[c][1] + p[1]; cen[c][2] = cen[c][2] + p[2]; cnt[c] = cnt[c] + 1 end
  for c = 1, k do cen[c][1], cen[c][2] = cen[c][1] / cnt[c], cen[c][2] / cnt[c] end
  for i, p in ipairs(y) do local c = labels[i]; rad[c] = rad[c] + math.sqrt((p[1] - cen[c][1]) ^ 2 + (p[2] - cen[c][2]) ^ 2) / cnt[c] end
  local dmin, rmax = math.huge, 0
  for a = 1, k do
    rmax = math.max(rmax, rad[a])
    for b = a + 1, k do dmin = math.min(dmin, math.sqrt((cen[a][1] - cen[b][1]) ^ 2 + (cen[a][2] - cen[b][2]) ^ 2)) end
  end
  return dmin / rmax
end

local function digest(...)
  local s = ""
  for i = 1, select("#", ...) do s = s .. select(i, ...):tobytes() end
  local h1, h2 = 0, 0
  for i = 1, #s do h1 = (h1 * 31 + s:byte(i)) % 2147483647; h2 = (h2 * 131 + s:byte(i)) % 1000000007 end
  return h1 .. ":" .. h2
end

---------------------------------------------------------------------------
describe("embed.pca", function()
  local X = T(ref.pca.X)

  it("matches scikit-learn's PCA (components, variances, mean, scores, signs)", function()
    for _, solver in ipairs { "exact", "randomized" } do
      local Z, p = embed.pca(X, 3, {solver = solver, seed = 1})
      assert_all_close(p.components, ref.pca.components, 2e-4, solver .. " components")
      assert_all_close(p.explained_variance, ref.pca.explained_variance, 2e-5, solver .. " explained_variance")
      assert_all_close(p.explained_variance_ratio, ref.pca.explained_variance_ratio, 2e-5, solver .. " ratio")
      assert_all_close(p.singular_values, ref.pca.singular_values, 2e-5, solver .. " singular values")
      assert_all_close(p.mean, ref.pca.mean, 1e-5, solver .. " mean")
      assert_all_close(Z, ref.pca.scores, 2e-4, solver .. " scores")
      assert_all_close(p:transform(X), Z, 1e-4, solver .. " transform")
    end
  end)

  it("agrees with an SVD of the centred data, wide or tall", function()
    local g = lt.random.Generator(7)
    for _, shape in ipairs { {30, 8}, {6, 20} } do
      local A = g:randn(shape[1], shape[2])
      local k = math.min(shape[1], shape[2])
      local _, p = embed.pca(A, k - 1, {solver = "exact"})
      local S = embed.singular_values(A)
      assert_all_close(p.singular_values, S:narrow(1, 1, k - 1), 1e-4, "singular values")
      local Ac = A - A:mean(1, true)
      local _, S2 = lt.linalg.svd(Ac:double())
      assert_all_close(S, S2, 1e-4, "spectrum vs linalg.svd")
      -- components are orthonormal and reconstruct with all of them
      local G = p.components:matmul(p.components:t())
      assert_all_close(G, lt.eye(k - 1), 1e-4, "orthonormal")
    end
    local _, full = embed.pca(X, 6)
    assert_all_close(full:inverse_transform(full:transform(X)), X, 1e-4, "round trip")
  end)

  it("keeps signs stable across solvers and repeated runs", function()
    local g = lt.random.Generator(3)
    local scale = {}
    for j = 1, 40 do scale[j] = j <= 5 and 12 - 2 * j or 0.3 end
    local A = g:randn(500, 40) * lt.tensor(scale, "float32")
    local Z1 = embed.pca(A, 5, {solver = "exact"})
    local Z2 = embed.pca(A, 5, {solver = "randomized", seed = 9})
    assert_all_close(Z1, Z2, 2e-3, "exact vs randomized scores")
    assert.equal(digest(Z1), digest((embed.pca(A, 5, {solver = "exact"}))))
  end)

  -- The 600 x 700 input of issue 13: wide data, so the exact solver forms the Gram matrix.
  it("deterministic = true gives the same bits on 1 and 2 threads; the default agrees to rounding",
     function()
    local host = (os.getenv("LUNETTE_BUILD") or "build") .. "/lunette"
    local script = [[
      local lt = require "lunette"
      local X = lt.random.Generator(5):randn(600, 700)
      local out = {}
      for _, o in ipairs { {deterministic = true}, {}, {solver = "randomized", seed = 2} } do
        local Z, p = lt.embed.pca(X, 10, o)
        out[#out + 1] = ("%.17g %.17g"):format(Z:double():abs():sum(), p.singular_values:sum())
      end
      io.write(table.concat(out, " "))]]
    local function run(t)
      local cmd = "OMP_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d %s -e %q"
      local p = io.popen(cmd:format(t, t, host, script))
      local s = p:read("a")
      p:close()
      local v = {}
      for w in s:gmatch("%S+") do v[#v + 1] = tonumber(w) end
      return v, s
    end
    local one, s1 = run(1)
    local two, s2 = run(2)
    assert.equal(6, #one, s1)
    assert.equal(one[1], two[1])
    assert.equal(one[2], two[2])
    for i = 3, 6 do assert_close(two[i], one[i], 1e-5, "solver value " .. i) end
    assert.equal(s2, select(2, run(2)))
  end)

  it("rejects bad k, bad shapes, NaN rows and unknown options", function()
    assert.error_matches(function() embed.pca(X, 7) end, "bad argument #2 to 'pca' %(k must be in 1..min%(n, d%) = 6, got 7%)")
    assert.error_matches(function() embed.pca(X, 0) end, "k must be in 1")
    assert.error_matches(function() embed.pca(T{{1, 2}}, 1) end, "at least 2 rows")
    assert.error_matches(function() embed.pca(T{1, 2, 3}, 1) end, "2%-d tensor")
    assert.error_matches(function() embed.pca(T{{1, 2}, {0 / 0, 1}, {3, 4}}, 1) end, "row 2 contains NaN")
    assert.error_matches(function() embed.pca(X, 2, {solvr = "exact"}) end, "unknown option 'solvr'")
    assert.error_matches(function() embed.pca(X, 2, {solver = "qr"}) end, "option 'solver' must be one of")
  end)

  it("raises, as t-SNE does, when finite data overflows float32 instead of returning inf scores", function()
    local g = lt.random.Generator(5)
    local huge = g:randn(60, 5) * 1e37 + 3e38 -- finite, near float32's largest
    local wide = (g:randn(60, 5) * 3e38):clamp(-3.4e38, 3.4e38)
    local want = "bad argument #1 to 'pca' %(values too large: float32 products of the data overflow"
    for _, A in ipairs { huge, wide } do
      assert.is_true(A:isfinite():all())
      for _, solver in ipairs { "exact", "randomized" } do
        assert.error_matches(function() embed.pca(A, 2, {solver = solver}) end, want)
      end
    end
    -- and a fitted model's transform of such rows
    local _, p = embed.pca(g:randn(40, 5), 2)
    assert.error_matches(function() p:transform(wide) end, "to 'pca_transform' %(values too large")
  end)
end)

---------------------------------------------------------------------------
describe("embed.knn", function()
  local g = lt.random.Generator(11)
  local X = g:randn(80, 6)
  local x = X:totable()

  local function brute(q, k, skip, cosine)
    local out = {}
    for i, a in ipairs(q) do
      local cand = {}
      for j, b in ipairs(x) do
        if not (skip and i == j) then
          local d, na, nb, dot = 0, 0, 0, 0
          for c = 1, #a do d = d + (a[c] - b[c]) ^ 2; na = na + a[c] ^ 2; nb = nb + b[c] ^ 2; dot = dot + a[c] * b[c] end
          cand[#cand + 1] = {j, cosine and 1 - dot / math.sqrt(na * nb) or math.sqrt(d)}
        end
      end
      table.sort(cand, function(u, v) if u[2] ~= v[2] then return u[2] < v[2] end return u[1] < v[1] end)
      out[i] = {}
      for r = 1, k do out[i][r] = cand[r] end
    end
    return out
  end

  it("exact search matches brute force (self excluded, queries, cosine)", function()
    local idx, dist = embed.knn(X, 7)
    local want = brute(x, 7, true)
    local it, dt = idx:totable(), dist:totable()
    for i = 1, #x do for r = 1, 7 do
      assert.equal(want[i][r][1], it[i][r])
      assert_close(dt[i][r], want[i][r][2], 1e-5, "distance")
    end end
    local Q = g:randn(9, 6)
    local qi, qd = embed.knn(X, 4, {query = Q})
    want = brute(Q:totable(), 4, false)
    for i = 1, 9 do for r = 1, 4 do assert.equal(want[i][r][1], qi[i][r]); assert_close(qd[i][r], want[i][r][2], 1e-5) end end
    local ci, cd = embed.knn(X, 5, {metric = "cosine"})
    want = brute(x, 5, true, true)
    for i = 1, #x do for r = 1, 5 do assert.equal(want[i][r][1], ci[i][r]); assert_close(cd[i][r], want[i][r][2], 1e-4) end end
    local _, sq = embed.knn(X, 3, {metric = "sqeuclidean"})
    assert_all_close(sq, dist:narrow(2, 1, 3) ^ 2, 1e-4, "squared")
  end)

  it("NN-descent reaches high recall, deterministically", function()
    local Y = lt.random.Generator(5):randn(3000, 12)
    local exact = embed.knn(Y, 10, {method = "exact"})
    local approx = embed.knn(Y, 10, {method = "approx", seed = 3})
    local recall = embed.knn_recall(approx, exact)
    assert.is_true(recall >= 0.95, "recall " .. recall)
    assert.equal(1, embed.knn_recall(exact, exact))
    assert.equal(digest(approx), digest((embed.knn(Y, 10, {method = "approx", seed = 3}))))
  end)

  it("rejects k out of range and mismatched queries", function()
    assert.error_matches(function() embed.knn(X, 80) end, "bad argument #2 to 'knn' %(k must be in 1..79")
    assert.error_matches(function() embed.knn(X, 3, {query = g:randn(2, 5)}) end, "query has 5 columns")
    assert.error_matches(function() embed.knn(X, 3, {metric = "manhattan"}) end, "option 'metric' must be one of")
  end)

  -- review: a zero row's cosine distance came out 0.5 against any row (exact and NN-descent),
  -- and the zero row ranked among near neighbours; scikit-learn takes a zero vector's cosine
  -- similarity as 0, so its distance to every other row is 1
  it("puts a zero row at cosine distance 1 from every other row, as scikit-learn", function()
    local Z = lt.random.Generator(12):randn(40, 5)
    Z:narrow(1, 5, 1):mul_(0)
    Z:narrow(1, 23, 1):mul_(0)
    local z = Z:totable()
    local function cosd(i, j)
      local dot, na, nb = 0, 0, 0
      for c = 1, 5 do dot = dot + z[i][c] * z[j][c]; na = na + z[i][c] ^ 2; nb = nb + z[j][c] ^ 2 end
      if na == 0 or nb == 0 then return 1 end
      return 1 - dot / math.sqrt(na * nb)
    end
    for _, method in ipairs { "exact", "approx" } do
      local idx, dist = embed.knn(Z, 12, {metric = "cosine", method = method, seed = 1})
      local it, dt = idx:totable(), dist:totable()
      for i = 1, 40 do
        for r = 1, 12 do
          assert_close(dt[i][r], cosd(i, it[i][r]), 1e-5, method .. " distance " .. i .. "," .. r)
        end
      end
      -- every other row ties at 1 from a zero row: the smaller indices come first
      if method == "exact" then
        assert.same({1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13}, it[5])
        assert.same({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, it[23])
        -- and a zero row is as far from any row as an orthogonal one: ranked by the brute order
        for i = 1, 40 do
          local order = {}
          for j = 1, 40 do if j ~= i then order[#order + 1] = j end end
          table.sort(order, function(a, b)
            local da, db = cosd(i, a), cosd(i, b)
            if da ~= db then return da < db end
            return a < b
          end)
          for r = 1, 12 do assert_close(dt[i][r], cosd(i, order[r]), 1e-5, "rank " .. r) end
        end
      end
    end
  end)

  -- review: NN-descent left slots at index -1 and distance +inf when the forest and the rounds
  -- found too few candidates (a tiny leaf_size, one round); every slot is now filled, so no
  -- consumer (UMAP, t-SNE) can meet an empty one
  it("fills every NN-descent slot, even with a tiny leaf_size and one round", function()
    local Y = lt.random.Generator(6):randn(300, 5)
    local exact = embed.knn(Y, 10, {method = "exact"})
    for _, leaf in ipairs { 1, 2, 3 } do
      local idx, dist = embed.knn(Y, 10, {method = "approx", leaf_size = leaf, n_trees = 1, max_iter = 1})
      local it, dt = idx:totable(), dist:totable()
      for i = 1, 300 do
        local seen = {}
        for r = 1, 10 do
          local j = it[i][r]
          assert.is_true(j >= 1 and j <= 300 and j ~= i and not seen[j],
            ("leaf_size %d: row %d slot %d holds %d"):format(leaf, i, r, j))
          seen[j] = true
          assert.is_true(dt[i][r] < math.huge, "finite distance")
          if r > 1 then assert.is_true(dt[i][r] >= dt[i][r - 1], "ascending") end
        end
      end
      assert.is_true(embed.knn_recall(idx, exact) > 0, "some true neighbours found")
    end
  end)

  -- review: the NN-descent settings were cast to int before the range check (2^32 + 1 trees
  -- passed as 1 tree), and leaf_size, max_iter and max_candidates had no upper bound
  it("bounds every NN-descent setting before using it", function()
    local big = (1 << 32) + 1
    local cases = {
      {"n_trees", big, "option 'n_trees' must be in 0..256 (0: the default), got 4294967297"},
      {"n_trees", 257, "option 'n_trees' must be in 0..256 (0: the default), got 257"},
      {"leaf_size", big, "option 'leaf_size' must be in 0..10000 (0: the default), got 4294967297"},
      {"leaf_size", -1, "option 'leaf_size' must be in 0..10000 (0: the default), got -1"},
      {"max_iter", big, "option 'max_iter' must be in 0..1000 (0: the default), got 4294967297"},
      {"max_iter", 1001, "option 'max_iter' must be in 0..1000 (0: the default), got 1001"},
      {"max_candidates", big, "option 'max_candidates' must be in 0..1000 (0: the default), got 4294967297"},
      {"max_candidates", math.mininteger, "option 'max_candidates' must be in 0..1000 (0: the default), got "},
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(embed.knn, X, 3, {method = "approx", [c[1]] = c[2]})
      assert.is_false(ok, c[1] .. " = " .. c[2] .. " accepted")
      assert.truthy(tostring(err):find("bad argument #3 to 'knn' (" .. c[3], 1, true), tostring(err))
    end
    for _, v in ipairs { -0.5, 1.5, math.huge } do
      assert.error_matches(function() embed.knn(X, 3, {method = "approx", delta = v}) end,
        "option 'delta' must be in %[0, 1%]")
    end
    local idx = embed.knn(X, 3, {method = "approx", n_trees = 256, leaf_size = 10000, max_iter = 1000,
                                  max_candidates = 1000, delta = 1})
    assert.same({80, 3}, idx:size())
  end)
end)

---------------------------------------------------------------------------
describe("embed quality metrics", function()
  it("match a hand-computed tiny case", function()
    -- 1-d input 0,1,2,3,10,11 and an embedding that swaps points 3 and 5:
    -- for k = 1 only the rows whose embedding neighbour changed are penalised.
    local X = T{{0}, {1}, {2}, {3}, {10}, {11}}
    local Y = T{{0}, {1}, {10}, {3}, {2}, {11}}
    -- input ranks: r(1,2)=1; embedding NN of 3 is 6 (X rank of 6 from 3 is 5: dists 1,1,2,8,9 -> 2,4 tie by index);
    -- NN of 4 is 5 (X rank 5), NN of 5 is 4 (X rank 3: 1,8 ... ), NN of 6 is 3 (rank 5).
    local t, c, q = embed.trustworthiness(X, Y, 1), embed.continuity(X, Y, 1), embed.knn_preservation(X, Y, 1)
    -- penalties: point 3 -> 6: rank 5 - 1 = 4; point 4 -> 5: rank 4 - 1 = 3; point 5 -> 4: rank 2 - 1 = 1;
    -- point 6 -> 3: rank 5 - 1 = 4. Sum 12; scale 2 / (6 * 1 * (12 - 3 - 1)) = 1/24.
    assert_close(t, 1 - 12 / 24, 1e-12, "trustworthiness")
    assert.is_true(c < 1 and c > 0)
    assert_close(q, 2 / 6, 1e-12, "knn preservation")
    assert.equal(1, embed.trustworthiness(X, X, 2))
    assert.equal(1, embed.continuity(X, X, 2))
  end)

  it("match sklearn.manifold.trustworthiness", function()
    local X, Y = T(ref.trust.X), T(ref.trust.Y)
    assert_close(embed.trustworthiness(X, Y, 3), ref.trust.k3, 1e-9, "k=3")
    assert_close(embed.trustworthiness(X, Y, 5), ref.trust.k5, 1e-9, "k=5")
    -- continuity is trustworthiness with the spaces swapped
    assert_close(embed.continuity(X, Y, 5), embed.trustworthiness(Y, X, 5), 1e-12, "swap")
  end)

  it("reject k at or above n/2 and mismatched rows", function()
    local X = T{{0}, {1}, {2}, {3}}
    assert.error_matches(function() embed.trustworthiness(X, X, 2) end, "bad argument #3 to 'quality' %(k must be in 1..1")
    assert.error_matches(function() embed.quality(X, T{{1}, {2}}) end, "embedding has 2 rows, data has 4")
  end)
end)

---------------------------------------------------------------------------
describe("embed.tsne", function()
  local X, labels = blobs(21, 4, 100, 10, 12)

  it("computes the same affinities as scikit-learn", function()
    local r, c, v = embed.tsne_affinities(T(ref.tsne.X), {perplexity = ref.tsne.perplexity})
    assert.same(ref.tsne.rows, r:totable())
    assert.same(ref.tsne.cols, c:totable())
    assert_all_close(v, ref.tsne.vals, 1e-4, "P")
    assert_close(v:double():sum(), 1, 1e-6, "sum of P")
  end)

  it("keeps separated clusters apart with trustworthiness >= 0.95 (Barnes-Hut and exact)", function()
    for _, method in ipairs { "barnes_hut", "exact" } do
      local Y, kl, info = embed.tsne(X, {perplexity = 20, seed = 1, method = method, n_iter = method == "exact" and 500 or 1000})
      assert.same({400, 2}, Y:size())
      assert.is_true(kl > 0 and kl < 3, method .. " kl " .. kl)
      assert.equal(method == "exact" and 500 or 1000, info.iterations)
      assert_close(info.learning_rate, 50, 1e-12, "auto learning rate")
      local t = embed.trustworthiness(X, Y, 10)
      assert.is_true(t >= 0.95, method .. " trustworthiness " .. t)
      assert.equal(1, purity(Y, labels, 10))
      assert.is_true(separation(Y, labels, 4) > 2, method .. " clusters apart")
    end
  end)

  it("is deterministic under a seed, with pca, random and given starts", function()
    local small = X:narrow(1, 1, 200)
    local a = embed.tsne(small, {seed = 4, n_iter = 300})
    assert.equal(digest(a), digest((embed.tsne(small, {seed = 4, n_iter = 300}))))
    local r1 = embed.tsne(small, {seed = 4, n_iter = 300, init = "random"})
    local r2 = embed.tsne(small, {seed = 5, n_iter = 300, init = "random"})
    assert.is_false(digest(r1) == digest(r2))
    local start = lt.random.Generator(2):randn(200, 2) * 1e-4
    local y1 = embed.tsne(small, {init = start, n_iter = 300})
    assert.equal(digest(y1), digest((embed.tsne(small, {init = start, n_iter = 300}))))
    local y3 = embed.tsne(small, {dim = 3, n_iter = 300, seed = 1})
    assert.same({200, 3}, y3:size())
  end)

  it("survives duplicate points and tiny inputs", function()
    local D = lt.ones(30, 4)
    D:narrow(1, 16, 15):mul_(2)
    local Y, kl = embed.tsne(D, {perplexity = 5, n_iter = 300})
    assert.is_false(Y:isnan():any())
    assert.is_true(kl == kl)
    local Y2 = embed.tsne(T{{0, 0}, {1, 1}, {5, 5}, {6, 6}}, {perplexity = 1, n_iter = 250})
    assert.is_false(Y2:isnan():any())
    -- two points: the exaggerated affinities exceed 1 and the descent blows up; said, not NaN
    assert.error_matches(function() embed.tsne(T{{0, 0}, {1, 1}}, {perplexity = 0.5}) end, "optimisation diverged")
  end)

  it("rejects bad input with clear errors", function()
    assert.error_matches(function() embed.tsne(X, {perplexity = 200}) end,
      "bad argument #2 to 'tsne' %(perplexity must be positive and less than n/3 = 133.3 for n = 400, got 200%)")
    assert.error_matches(function() embed.tsne(T{{1, 2}}) end, "at least 2 rows")
    assert.error_matches(function() embed.tsne(T{{1, 2}, {0 / 0, 1}, {1, 1}, {2, 2}}, {perplexity = 1}) end, "row 2 contains NaN")
    assert.error_matches(function() embed.tsne(X, {dim = 4}) end, "option 'dim' must be 1, 2 or 3")
    assert.error_matches(function() embed.tsne(X, {perplexty = 5}) end, "unknown option 'perplexty'")
    assert.error_matches(function() embed.tsne(X, {init = lt.zeros(3, 2)}) end, "init must be a float tensor %[400 x 2%]")
    assert.error_matches(function() embed.tsne(X, {seed = 1.5}) end, "option 'seed' must be an integer, got 1.5")
  end)
end)

---------------------------------------------------------------------------
describe("embed.umap", function()
  local X, labels = blobs(31, 4, 100, 10, 12)

  it("fits a and b as umap-learn", function()
    for _, case in ipairs(ref.umap.ab) do
      local a, b = embed.umap_ab(case[3], case[4])
      assert_close(a, case[1], 1e-4, "a")
      assert_close(b, case[2], 1e-4, "b")
    end
  end)

  it("builds umap-learn's fuzzy simplicial set", function()
    local r, c, w, sigmas, rhos = embed.umap_graph(T(ref.umap.X), {n_neighbors = ref.umap.n_neighbors})
    assert.same(ref.umap.rows, r:totable())
    assert.same(ref.umap.cols, c:totable())
    assert_all_close(w, ref.umap.vals, 1e-4, "weights")
    assert_all_close(sigmas, ref.umap.sigmas, 1e-4, "sigmas")
    assert_all_close(rhos, ref.umap.rhos, 1e-5, "rhos")
  end)

  it("keeps separated clusters apart with trustworthiness >= 0.95", function()
    local Y, info = embed.umap(X, {seed = 1})
    assert.same({400, 2}, Y:size())
    assert.equal(4, info.components)
    assert.equal(500, info.n_epochs)
    local t = embed.trustworthiness(X, Y, 10)
    assert.is_true(t >= 0.95, "trustworthiness " .. t)
    assert.equal(1, purity(Y, labels, 10))
    assert.is_true(separation(Y, labels, 4) > 2, "clusters apart")
    -- one connected blob takes the spectral path without components
    local B = lt.random.Generator(8):randn(300, 5)
    local Yb, ib = embed.umap(B, {seed = 2, n_epochs = 100})
    assert.equal(1, ib.components)
    assert.is_true(ib.spectral)
    assert.is_true(embed.trustworthiness(B, Yb, 10) > 0.8)
  end)

  it("is deterministic under a seed", function()
    local small = X:narrow(1, 1, 200)
    local a = embed.umap(small, {seed = 3, n_epochs = 100})
    assert.equal(digest(a), digest((embed.umap(small, {seed = 3, n_epochs = 100}))))
    local r = embed.umap(small, {seed = 3, n_epochs = 100, init = "random"})
    assert.equal(digest(r), digest((embed.umap(small, {seed = 3, n_epochs = 100, init = "random"}))))
    assert.is_false(digest(a) == digest((embed.umap(small, {seed = 4, n_epochs = 100}))))
  end)

  it("survives duplicate points", function()
    local D = lt.ones(40, 3)
    D:narrow(1, 21, 20):mul_(3)
    local Y = embed.umap(D, {n_neighbors = 5, n_epochs = 50})
    assert.is_false(Y:isnan():any())
  end)

  -- review: negative_sample_rate = 0 was accepted (as umap-learn accepts it) but the schedule
  -- computed (epoch - inf) * 0 and cast the NaN to int; 0 now means no negative samples
  it("runs without negative samples when negative_sample_rate is 0", function()
    local small = X:narrow(1, 1, 100)
    local Y0 = embed.umap(small, {negative_sample_rate = 0, n_epochs = 60, seed = 1})
    assert.is_false(Y0:isnan():any())
    assert.equal(digest(Y0), digest((embed.umap(small, {negative_sample_rate = 0, n_epochs = 60, seed = 1}))))
    -- nothing pushes points apart: each cluster ends tighter than with repulsion
    local Y5 = embed.umap(small, {n_epochs = 60, seed = 1})
    local function radius(Y) return (Y - Y:mean(1, true)):norm(2, 2):mean() end
    assert.is_true(radius(Y0) < radius(Y5), radius(Y0) .. " vs " .. radius(Y5))
  end)

  -- review: a component too small for the eigen-solver (fewer than 2 dim points) was laid out at
  -- random while info.spectral said true
  it("reports whether the spectral start was used", function()
    local _, info = embed.umap(T{{0, 0}, {0.1, 0}, {0.3, 0}}, {n_neighbors = 2, n_epochs = 5})
    assert.equal(1, info.components)
    assert.is_false(info.spectral)
    _, info = embed.umap(T{{0}, {1}, {2}, {3}, {4}}, {n_neighbors = 3, dim = 3, n_epochs = 5})
    assert.equal(1, info.components)
    assert.is_false(info.spectral)
    -- three far-apart pairs: three components, each too small, all placed at random
    _, info = embed.umap(T{{0}, {0.1}, {50}, {50.1}, {100}, {100.1}}, {n_neighbors = 2, n_epochs = 5})
    assert.equal(3, info.components)
    assert.is_false(info.spectral)
    _, info = embed.umap(X, {n_epochs = 5})
    assert.equal(4, info.components)
    assert.is_true(info.spectral)
    _, info = embed.umap(X, {n_epochs = 5, init = "random"})
    assert.is_false(info.spectral)
  end)

  it("rejects bad input with clear errors", function()
    assert.error_matches(function() embed.umap(X, {n_neighbors = 400}) end,
      "bad argument #2 to 'umap' %(n_neighbors must be in 2..n%-1 = 399")
    assert.error_matches(function() embed.umap(X, {min_dist = 2}) end, "need 0 <= min_dist <= spread")
    assert.error_matches(function() embed.umap(T{{1, 2}, {3, 4}}) end, "at least 3 rows")
    assert.error_matches(function() embed.umap(X, {init = "pca"}) end, "option 'init' must be one of")
  end)
end)

---------------------------------------------------------------------------
describe("embed hypersphere helpers", function()
  local g = lt.random.Generator(41)
  local E = embed.normalize(g:randn(120, 16))
  local A = embed.normalize(g:randn(24, 16))

  local function cos_table(P, Q)
    local p, q, out = P:totable(), Q:totable(), {}
    for i, a in ipairs(p) do
      out[i] = {}
      for j, b in ipairs(q) do
        local s, na, nb = 0, 0, 0
        for c = 1, #a do s = s + a[c] * b[c]; na = na + a[c] ^ 2; nb = nb + b[c] ^ 2 end
        out[i][j] = s / math.sqrt(na * nb)
      end
    end
    return out
  end

  it("finds nearest and top-k anchors, usage and isolation by cosine", function()
    local cs = cos_table(E, A)
    local near, cos = embed.nearest_anchor(E, A)
    local top, tcos = embed.topk_anchors(E, A, 3)
    for i = 1, 120 do
      local order = {}
      for j = 1, 24 do order[j] = j end
      table.sort(order, function(a, b) if cs[i][a] ~= cs[i][b] then return cs[i][a] > cs[i][b] end return a < b end)
      assert.equal(order[1], near[i])
      assert_close(cos[i], cs[i][order[1]], 1e-5)
      for r = 1, 3 do assert.equal(order[r], top[i][r]); assert_close(tcos[i][r], cs[i][order[r]], 1e-5) end
    end
    local counts, active, dead = embed.anchor_usage(E, A)
    assert.equal(120, counts:sum())
    assert.equal(24 - dead:sum(), active)
    local iso, who = embed.anchor_isolation(A)
    local ca = cos_table(A, A)
    for i = 1, 24 do
      local best, arg = -2, 0
      for j = 1, 24 do if j ~= i and ca[i][j] > best then best, arg = ca[i][j], j end end
      assert_close(iso[i], best, 1e-5); assert.equal(arg, who[i])
    end
    local pairs_ = embed.closest_anchor_pairs(A, 5)
    assert.equal(5, #pairs_)
    assert.is_true(pairs_[1][3] >= pairs_[5][3])
    assert_close(pairs_[1][3], ca[pairs_[1][1]][pairs_[1][2]], 1e-5)
  end)

  it("projects onto the sphere as the hypersphere script does", function()
    local S, proj, radii = embed.to_sphere(E, {sample = 100})
    assert.same({120, 3}, S:size())
    assert_all_close(S:norm(2, 2), lt.ones(120), 1e-5, "unit rows")
    local P = E:matmul(proj.components:t())
    assert_all_close(radii, P:norm(2, 2), 1e-5, "radii")
    local As = proj:apply(A)
    assert_all_close(As:norm(2, 2), lt.ones(24), 1e-5, "anchors on the sphere")
    assert.is_true(proj.explained_variance_ratio:sum() < 1)
  end)

  it("computes class centroids for single- and multi-label data", function()
    local labels = lt.tensor({1, 2, 2, 3}, "int64")
    local X = T{{1, 0}, {0, 2}, {0, 4}, {6, 6}}
    local C, n = embed.class_centroids(X, labels, 4)
    assert.same({{1, 0}, {0, 3}, {6, 6}, {0, 0}}, C:totable())
    assert.same({1, 2, 1, 0}, n:totable())
    local W = T{{1, 1}, {0, 1}, {0, 0}, {1, 0}}
    local C2, n2 = embed.class_centroids(X, W)
    assert.same({{3.5, 3}, {0.5, 1}}, C2:totable())
    assert.same({2, 2}, n2:totable())
  end)

  it("measures per-anchor divergence and effective dimension", function()
    local E1, E2 = T{{1, 0}, {0, 1}}, T{{0, 1}, {0, 1}}
    local Ax = T{{1, 0}, {0.6, 0.8}}
    local div = embed.anchor_divergence({E1, E2}, Ax):totable()
    -- anchor 1: row 1 values 0 and 1 -> std 0.7071; row 2: 1 and 1 -> 0; mean 0.35355
    assert_close(div[1], math.sqrt(0.5) / 2, 1e-6, "anchor 1")
    -- anchor 2: row 1 values 0.4, 0.2 -> 0.14142; row 2: 0.2, 0.2 -> 0
    assert_close(div[2], math.sqrt(0.02) / 2, 1e-6, "anchor 2")
    local S = lt.tensor({3, 2, 1}, "float64")
    local dsvd, dpr = embed.effective_dim(S)
    assert_close(dsvd, 36 / 14, 1e-12, "svd definition")
    assert_close(dpr, 196 / 98, 1e-12, "participation ratio")
    local a, b = embed.effective_dim(T(ref.effdim.X))
    assert_close(a, ref.effdim.svd, 1e-6, "seed definition vs numpy")
    assert_close(b, ref.effdim.participation, 1e-6, "participation vs numpy")
    assert_all_close(embed.singular_values(T(ref.effdim.X)), ref.effdim.singular_values, 1e-5, "spectrum")
  end)

  -- review: the binding kept two stack slots per embedding without reserving them: 200 float64
  -- [4x3] embeddings overflowed the Lua stack ("free(): invalid pointer")
  it("measures divergence across 1024 embeddings of any dtype", function()
    local g2 = lt.random.Generator(43)
    local P, Q, Ax = g2:randn(4, 3):double(), g2:randn(4, 3):double(), g2:randn(2, 3)
    local Es = {}
    for e = 1, 1024 do Es[e] = e % 2 == 1 and P or Q end
    local div = embed.anchor_divergence(Es, Ax):totable()
    -- per row, 512 copies of each of two values v and w: unbiased std |v - w| / 2 sqrt(1024 / 1023)
    local p, q, a = P:totable(), Q:totable(), Ax:totable()
    for j = 1, 2 do
      local want = 0
      for i = 1, 4 do
        local v, w = 0, 0
        for c = 1, 3 do v = v + p[i][c] * a[j][c]; w = w + q[i][c] * a[j][c] end
        want = want + math.abs(v - w) / 2 * math.sqrt(1024 / 1023) / 4
      end
      assert_close(div[j], want, 1e-4, "anchor " .. j)
    end
    Es[1000] = "x"
    assert.error_matches(function() embed.anchor_divergence(Es, Ax) end, "entry 1000 is not a tensor")
    Es[1000] = P
    Es[1025] = P
    assert.error_matches(function() embed.anchor_divergence(Es, Ax) end, "a list of 2..1024 embeddings expected, got 1025")
  end)

  -- review: anchor_topk accepted exclude_self and never read it. No documented call takes it: a nil
  -- A already means "E against itself, each row left out" (anchor_isolation), so it is refused
  it("refuse the undocumented exclude_self option", function()
    assert.error_matches(function() embed.topk_anchors(E, A, 3, {exclude_self = true}) end,
      "unknown option 'exclude_self' to 'topk_anchors' %(expected normalize%)")
    assert.error_matches(function() embed.nearest_anchor(E, A, {exclude_self = false}) end,
      "unknown option 'exclude_self'")
    assert.error_matches(function() embed.anchor_isolation(A, {exclude_self = false}) end,
      "unknown option 'exclude_self'")
  end)

  it("finds spherical k-means clusters deterministically", function()
    local X = blobs(51, 3, 60, 8, 8)
    local C, labels, info = embed.spherical_kmeans(X, 3, {seed = 1})
    assert.same({3, 8}, C:size())
    assert_all_close(C:norm(2, 2), lt.ones(3), 1e-5, "unit centroids")
    local lab = labels:totable()
    for c = 0, 2 do for i = 2, 60 do assert.equal(lab[c * 60 + 1], lab[c * 60 + i]) end end
    assert.is_true(info.mean_cos > 0.8)
    local C2, l2 = embed.spherical_kmeans(X, 3, {seed = 1})
    assert.equal(digest(C, labels), digest(C2, l2))
    assert.error_matches(function() embed.spherical_kmeans(X, 181) end, "k must be in 1..180")
  end)
end)

---------------------------------------------------------------------------
describe("embed long runs", function()
  local X = blobs(61, 3, 100, 8, 10)

  it("report progress to a function, which can stop the run", function()
    local seen = {}
    embed.tsne(X, {perplexity = 10, n_iter = 260, progress = function(stage, done, total) seen[stage] = {done, total} end})
    assert.same({260, 260}, seen.optimize)
    assert.error_matches(function() embed.umap(X, {progress = function() return false end}) end, "interrupted")
    assert.error_matches(function() embed.umap(X, {progress = function() error("boom") end}) end, "boom")
    assert.error_matches(function() embed.umap(X, {progress = 3}) end, "option 'progress' must be a boolean or a function")
  end)

  local host = (os.getenv("LUNETTE_BUILD") or "build") .. "/lunette"
  local function have_host()
    local f = io.open(host)
    if f then f:close() end
    return f ~= nil
  end

  it("draw a bar on stderr only when it is a terminal (or LUNETTE_PROGRESS=1)", function()
    if not have_host() then return pending("no host at " .. host) end
    local script = [[local lt = require "lunette"
      lt.embed.tsne(lt.random.Generator(1):randn(200, 5), {perplexity = 10, n_iter = 260})]]
    local function run(env)
      local p = io.popen(("%s %s -e %q 2>&1"):format(env, host, script))
      local out = p:read("a")
      p:close()
      return out
    end
    assert.matches("tsne optimize", run("LUNETTE_PROGRESS=1"))
    assert.equal("", run("LUNETTE_PROGRESS="))
  end)

  it("give the same result on one and two threads", function()
    if not have_host() then return pending("no host at " .. host) end
    local script = [[
      local lt = require "lunette"
      local X = lt.random.Generator(71):randn(600, 10)
      local Y = lt.embed.tsne(X, {perplexity = 20, n_iter = 300, seed = 5})
      local U = lt.embed.umap(X, {n_epochs = 60, seed = 5})
      local I = lt.embed.knn(X, 8, {method = "approx", seed = 5})
      local s = Y:tobytes() .. U:tobytes() .. I:tobytes()
      local h = 0
      for i = 1, #s do h = (h * 31 + s:byte(i)) % 2147483647 end
      io.write(h)
    ]]
    local out = {}
    for _, t in ipairs { 1, 2 } do
      local p = io.popen(("OMP_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d OMP_DYNAMIC=false %s -e %q"):format(t, t, host, script))
      out[t] = p:read("a")
      p:close()
    end
    assert.is_true(#out[1] > 0)
    assert.equal(out[1], out[2])
  end)
end)

---------------------------------------------------------------------------
describe("embed core guards", function()
  local guards = (os.getenv("LUNETTE_BUILD") or "build") .. "/core_guards"

  -- review: lt_csr_symmetrize sized its buffer as 2 n k without an overflow check: a product
  -- that wrapped gave a tiny buffer and a read far past the k-entry lists
  it("refuse sparse sizes that overflow before allocating", function()
    local f = io.open(guards)
    if not f then return pending("no " .. guards .. " (make all builds it)") end
    f:close()
    local p = io.popen(guards .. " csr 2>&1")
    local out = p:read("a")
    local ok = p:close()
    assert.equal(table.concat({
      "n=4 k=4611686018427387904: EOVERFLOW nnz=0",
      "n=1073741824 k=4294967296: EOVERFLOW nnz=0",
      "n=1099511627776 k=1: EVALUE nnz=0",
      "n=-1 k=1: EVALUE nnz=0",
      "n=4 k=-1: EVALUE nnz=0",
      "n=4 k=1: ok nnz=4",
    }, "\n") .. "\n", out)
    assert.is_true(ok)
  end)
end)

-- Integer options were narrowed to int before their range check: n_iter = 2^32 + 1 ran as 1.
describe("integer options past 2^31", function()
  it("are refused, not truncated into range", function()
    local X = lt.random.Generator(3):randn(100, 4)
    local big = (1 << 32) + 1
    assert.error_matches(function() embed.tsne(X, { perplexity = 5, n_iter = big }) end,
                         "option 'n_iter' must be in 1..1000000, got 4294967297")
    assert.error_matches(function() embed.tsne(X, { perplexity = 5, n_iter_without_progress = big }) end,
                         "option 'n_iter_without_progress' must be in 0..1000000")
    assert.error_matches(function() embed.pca(X, 2, { n_iter = big }) end,
                         "option 'n_iter' must be in 0..1000, got 4294967297")
    assert.error_matches(function() embed.pca(X, 2, { n_oversamples = big }) end,
                         "option 'n_oversamples' must be in 0..10000")
  end)
end)
