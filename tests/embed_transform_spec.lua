-- embed_transform_spec.lua: embed.tsne_transform and embed.umap_transform (new points placed into
-- an existing embedding): held-out points land in their clusters, the combined map of
-- Fashion-MNIST is as trustworthy as the full fit, the reference is untouched, determinism,
-- progress and Ctrl-C, bad input.
local lt = require "lunette"
local embed = lt.embed

-- k well-separated Gaussian blobs of `per` points in `dim` dimensions (centre c at sep e_c), every
-- 5th point held out. Returns X_ref, X_new and their 1-based labels.
local function held_out_blobs(seed, k, per, dim, sep)
  local X = lt.random.Generator(seed):randn(k * per, dim)
  for c = 1, k do X:narrow(1, (c - 1) * per + 1, per):select(2, c):add_(sep) end
  local ref, new, lref, lnew = {}, {}, {}, {}
  for i = 1, k * per do
    local c = (i - 1) // per + 1
    if i % 5 == 0 then
      new[#new + 1], lnew[#lnew + 1] = i, c
    else
      ref[#ref + 1], lref[#lref + 1] = i, c
    end
  end
  return X:index_select(1, lt.tensor(ref, "int64")), X:index_select(1, lt.tensor(new, "int64")),
    lref, lnew
end

-- Fraction of the placed rows of Ynew whose nearest class centroid (of the reference map Y) is
-- their own class.
local function centroid_agreement(Y, lref, Ynew, lnew)
  local k, cen, cnt = 0, {}, {}
  for _, c in ipairs(lref) do k = math.max(k, c) end
  for c = 1, k do cen[c], cnt[c] = { 0, 0 }, 0 end
  for i, r in ipairs(Y:totable()) do
    local c = lref[i]
    cen[c][1], cen[c][2], cnt[c] = cen[c][1] + r[1], cen[c][2] + r[2], cnt[c] + 1
  end
  local ok = 0
  for i, r in ipairs(Ynew:totable()) do
    local best, bd = nil, math.huge
    for c = 1, k do
      local d = (r[1] - cen[c][1] / cnt[c]) ^ 2 + (r[2] - cen[c][2] / cnt[c]) ^ 2
      if d < bd then best, bd = c, d end
    end
    if best == lnew[i] then ok = ok + 1 end
  end
  return ok / #lnew
end

-- Sorted distances between matching rows of A and B.
local function moves(A, B)
  local d = (A - B):pow(2):sum(2):sqrt():totable()
  table.sort(d)
  return d
end

local Xr, Xn, lref, lnew = held_out_blobs(11, 4, 250, 10, 8)
local Yt = embed.tsne(Xr, { seed = 3, progress = false })
local Yu = embed.umap(Xr, { seed = 3, progress = false })

describe("tsne_transform", function()
  it("places held-out points of a clustered mixture in their own cluster", function()
    local Yn, kl, info = embed.tsne_transform(Xr, Yt, Xn, { progress = false })
    assert.same({ 200, 2 }, Yn:size())
    assert.equal("float32", Yn:dtype())
    assert.is_true(centroid_agreement(Yt, lref, Yn, lnew) >= 0.95)
    assert.equal(250, info.iterations)
    assert.equal(kl, info.kl)
    assert.is_true(kl > 0 and kl < 10, "kl " .. kl)
  end)

  it("leaves the reference untouched and is deterministic", function()
    local ybytes, xbytes = Yt:tobytes(), Xr:tobytes()
    local A = embed.tsne_transform(Xr, Yt, Xn, { init = "random", seed = 5, progress = false })
    local B = embed.tsne_transform(Xr, Yt, Xn, { init = "random", seed = 5, progress = false })
    local C = embed.tsne_transform(Xr, Yt, Xn, { init = "random", seed = 6, progress = false })
    assert.equal(ybytes, Yt:tobytes())
    assert.equal(xbytes, Xr:tobytes())
    assert.equal(A:tobytes(), B:tobytes())
    assert.are_not.equal(A:tobytes(), C:tobytes())
  end)

  it("puts the reference points themselves back near their own positions", function()
    local d = moves(embed.tsne_transform(Xr, Yt, Xr, { progress = false }), Yt)
    -- The map spans about 80 units and neighbours sit about 0.6 apart: the median point moves
    -- a few hundredths (0.03 measured), 95% of them under 0.1; a handful started far off (at
    -- their neighbours' median) and stay in a local minimum, as in openTSNE.
    assert.is_true(d[#d // 2] < 0.1, "median move " .. d[#d // 2])
    assert.is_true(d[math.floor(#d * 0.9)] < 0.5, "90th percentile " .. d[math.floor(#d * 0.9)])
  end)

  it("gives the same rows for a batch in parts, and for every start", function()
    local whole = embed.tsne_transform(Xr, Yt, Xn, { progress = false })
    local a = embed.tsne_transform(Xr, Yt, Xn:narrow(1, 1, 70), { progress = false })
    local b = embed.tsne_transform(Xr, Yt, Xn:narrow(1, 71, 130), { progress = false })
    assert.equal(whole:tobytes(), lt.cat({ a, b }, 1):tobytes())
    for _, init in ipairs { "weighted", "random" } do
      local Yn = embed.tsne_transform(Xr, Yt, Xn, { init = init, progress = false })
      assert.is_true(centroid_agreement(Yt, lref, Yn, lnew) >= 0.95, init)
    end
    -- A given start: n_iter 1 with a tiny rate leaves it (almost) where it was.
    local start = whole + 0.5
    local Yn = embed.tsne_transform(Xr, Yt, Xn, { init = start, n_iter = 1, learning_rate = 1e-6,
      progress = false })
    assert.is_true((Yn - start):abs():max() < 1e-4)
  end)

  it("works in 1 and 3 dimensions and with exact repulsion (theta = 0)", function()
    for _, dim in ipairs { 1, 3 } do
      local Y = embed.tsne(Xr, { dim = dim, seed = 1, n_iter = 500, progress = false })
      local Yn = embed.tsne_transform(Xr, Y, Xn, { progress = false })
      assert.same({ 200, dim }, Yn:size())
      assert.is_true(Yn:isfinite():all())
    end
    local bh = embed.tsne_transform(Xr, Yt, Xn, { progress = false })
    local exact = embed.tsne_transform(Xr, Yt, Xn, { theta = 0, progress = false })
    local d = moves(bh, exact)
    assert.is_true(d[#d // 2] < 0.05, "median BH vs exact " .. d[#d // 2])
  end)
end)

describe("umap_transform", function()
  it("places held-out points of a clustered mixture in their own cluster", function()
    local Yn, info = embed.umap_transform(Xr, Yu, Xn, { progress = false })
    assert.same({ 200, 2 }, Yn:size())
    assert.is_true(centroid_agreement(Yu, lref, Yn, lnew) >= 0.95)
    local a, b = embed.umap_ab(1, 0.1)
    assert.is_true(math.abs(info.a - a) < 1e-9 and math.abs(info.b - b) < 1e-9)
    assert.equal(100, info.n_epochs)
    assert.is_true(info.n_edges > 0 and info.n_edges <= 200 * 15)
  end)

  it("takes the fit's options table: a third of its epochs, the same curve", function()
    local o = { n_neighbors = 10, min_dist = 0.3, n_epochs = 300, seed = 4, progress = false,
      init = "spectral", knn = "exact", set_op_mix_ratio = 1 }
    local Y = embed.umap(Xr, o)
    local Yn, info = embed.umap_transform(Xr, Y, Xn, o)
    assert.equal(100, info.n_epochs)
    local a = embed.umap_ab(1, 0.3)
    assert.is_true(math.abs(info.a - a) < 1e-9)
    assert.is_true(info.n_edges <= 200 * 10)
    assert.is_true(centroid_agreement(Y, lref, Yn, lnew) >= 0.95)
    local _, i2 = embed.umap_transform(Xr, Y, Xn, { n_epochs = 2, progress = false })
    assert.equal(1, i2.n_epochs)
  end)

  it("leaves the reference untouched and is deterministic for a seed", function()
    local ybytes = Yu:tobytes()
    local A = embed.umap_transform(Xr, Yu, Xn, { seed = 5, progress = false })
    local B = embed.umap_transform(Xr, Yu, Xn, { seed = 5, progress = false })
    local C = embed.umap_transform(Xr, Yu, Xn, { seed = 6, progress = false })
    assert.equal(ybytes, Yu:tobytes())
    assert.equal(A:tobytes(), B:tobytes())
    assert.are_not.equal(A:tobytes(), C:tobytes())
  end)

  it("puts the reference points themselves back near their own positions", function()
    local d = moves(embed.umap_transform(Xr, Yu, Xr, { progress = false }), Yu)
    -- Each starts on itself (a membership of 1) and drifts while the other neighbours pull:
    -- 0.25 median, 0.6 at the 95th percentile measured, in a map whose clusters are ~3 wide.
    local span = (Yu:max(1) - Yu:min(1)):max()
    assert.is_true(d[#d // 2] < 0.02 * span, ("median move %g, span %g"):format(d[#d // 2], span))
    assert.is_true(d[#d] < 0.15 * span, ("largest move %g, span %g"):format(d[#d], span))
  end)

  it("starts from a given tensor and supports cosine", function()
    local Yn = embed.umap_transform(Xr, Yu, Xn, { init = embed.umap_transform(Xr, Yu, Xn,
      { progress = false }), progress = false })
    assert.is_true(centroid_agreement(Yu, lref, Yn, lnew) >= 0.95)
    local Yc = embed.umap(Xr, { metric = "cosine", seed = 2, progress = false })
    local Ycn = embed.umap_transform(Xr, Yc, Xn, { metric = "cosine", progress = false })
    assert.is_true(centroid_agreement(Yc, lref, Ycn, lnew) >= 0.95)
  end)
end)

describe("the transforms on degenerate input", function()
  -- Row 1 of the reference repeated 20 times: a new point equal to it has k neighbours at
  -- distance 0 (UMAP's rho then has no non-zero distance to interpolate towards), and a point far
  -- from everything has affinities that underflow without the shift by the smallest distance.
  local X = lt.cat({ Xr, Xr:narrow(1, 1, 1):expand(20, 10) }, 1)
  local Q = lt.cat({ Xr:narrow(1, 1, 1), Xr:narrow(1, 2, 1) * 1000 }, 1)
  it("stay finite", function()
    local Y = lt.cat({ Yt, Yt:narrow(1, 1, 1):expand(20, 2) }, 1)
    local lo, hi = Y:min(1), Y:max(1)
    local A = embed.tsne_transform(X, Y, Q, { progress = false })
    assert.is_true(A:isfinite():all())
    assert.is_true((A[1] - Yt[1]):abs():max() < 0.1 * (hi - lo):max())
    local U = lt.cat({ Yu, Yu:narrow(1, 1, 1):expand(20, 2) }, 1)
    for _, lc in ipairs { 1, 0.5, 2 } do
      local B = embed.umap_transform(X, U, Q, { local_connectivity = lc, progress = false })
      assert.is_true(B:isfinite():all(), "local_connectivity " .. lc)
    end
    local B = embed.umap(X, { local_connectivity = 0.5, n_neighbors = 10, n_epochs = 30,
      progress = false })
    assert.is_true(B:isfinite():all())
  end)
end)

describe("the transforms on Fashion-MNIST", function()
  -- PCA-50 of the first 3,000 training images; the first 2,400 embedded, the last 600 placed.
  local N, M = 3000, 600
  local Z
  setup(function()
    local train = lt.data.fashion_mnist { split = "train" }
    Z = embed.pca(train.x:narrow(1, 1, N):reshape { N, 784 }:float() / 255, 50)
  end)

  -- Measured (tsne 0.9922 full vs 0.9915 combined; umap 0.9865 vs 0.9839): within 0.005.
  it("give a combined map about as trustworthy as the full fit", function()
    local Zr, Zn = Z:narrow(1, 1, N - M), Z:narrow(1, N - M + 1, M)
    local Yfull = embed.tsne(Z, { seed = 1, progress = false })
    local Yr = embed.tsne(Zr, { seed = 1, progress = false })
    local Yn = embed.tsne_transform(Zr, Yr, Zn, { progress = false })
    local tf = embed.trustworthiness(Z, Yfull, 10)
    local tc = embed.trustworthiness(Z, lt.cat({ Yr, Yn }, 1), 10)
    assert.is_true(tc > tf - 0.005, ("t-SNE: combined %.4f, full %.4f"):format(tc, tf))
    local Ufull = embed.umap(Z, { seed = 1, progress = false })
    local Ur = embed.umap(Zr, { seed = 1, progress = false })
    local Un = embed.umap_transform(Zr, Ur, Zn, { progress = false })
    local uf = embed.trustworthiness(Z, Ufull, 10)
    local uc = embed.trustworthiness(Z, lt.cat({ Ur, Un }, 1), 10)
    assert.is_true(uc > uf - 0.005, ("UMAP: combined %.4f, full %.4f"):format(uc, uf))
  end)
end)

describe("the transforms' runs", function()
  it("report knn and optimize progress, and stop when asked", function()
    local seen = {}
    embed.tsne_transform(Xr, Yt, Xn, { n_iter = 20, progress = function(stage, done, total)
      seen[stage] = { done, total }
    end })
    assert.same({ 20, 20 }, seen.optimize)
    assert.is_not_nil(seen.knn)
    seen = {}
    embed.umap_transform(Xr, Yu, Xn, { progress = function(stage, done, total)
      seen[stage] = { done, total }
    end })
    assert.same({ 100, 100 }, seen.optimize)
    for _, f in ipairs { embed.tsne_transform, embed.umap_transform } do
      local stop = function() return false end
      assert.error_matches(function() f(Xr, Yt, Xn, { progress = stop }) end, "interrupted")
      local boom = function() error("boom") end
      assert.error_matches(function() f(Xr, Yt, Xn, { progress = boom }) end, "boom")
    end
  end)

  local host = (os.getenv("LUNETTE_BUILD") or "build") .. "/lunette"
  local function have_host()
    local f = io.open(host)
    if f then f:close() end
    return f ~= nil
  end

  it("give the same bits on one and two threads", function()
    if not have_host() then return pending("no host at " .. host) end
    local script = [[
      local lt = require "lunette"
      local g = lt.random.Generator(71)
      local X, Q = g:randn(600, 10), g:randn(300, 10)
      local Y = g:randn(600, 2) * 10
      local A = lt.embed.tsne_transform(X, Y, Q, {n_iter = 100, progress = false})
      local B = lt.embed.umap_transform(X, Y, Q, {seed = 5, progress = false})
      local s = A:tobytes() .. B:tobytes()
      local h = 0
      for i = 1, #s do h = (h * 31 + s:byte(i)) % 2147483647 end
      io.write(h)
    ]]
    local out = {}
    for _, t in ipairs { 1, 2 } do
      local p = io.popen(("OMP_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d OMP_DYNAMIC=false %s -e %q")
        :format(t, t, host, script))
      out[t] = p:read("a")
      p:close()
    end
    assert.matches("^%d+$", out[1])
    assert.equal(out[1], out[2])
  end)

  it("stop within a second of Ctrl-C", function()
    if not have_host() then return pending("no host at " .. host) end
    -- A run that would take hours: SIGINT once the optimisation has begun.
    local script = [[
      local lt = require "lunette"
      local g = lt.random.Generator(1)
      local X, Q, Y = g:randn(4000, 10), g:randn(4000, 10), g:randn(4000, 2) * 10
      lt.embed.tsne_transform(X, Y, Q, {n_iter = 1000000,
        progress = function(stage, done)
          if stage == "optimize" and done == 1 then io.write("optimizing\n") io.flush() end
        end})
      io.write("finished\n")
    ]]
    local out = os.tmpname()
    local sh = ([[
      %s -e %q > %s 2>&1 & pid=$!
      i=0
      while ! grep -q optimizing %s && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
      t0=$(date +%%s.%%N); kill -INT $pid; wait $pid; rc=$?; t1=$(date +%%s.%%N)
      echo "$rc $t0 $t1"
    ]]):format(host, script, out, out)
    local p = io.popen(sh)
    local rc, t0, t1 = p:read("a"):match("^(%d+) ([%d.]+) ([%d.]+)")
    p:close()
    local fh = io.open(out)
    local text = fh:read("a")
    fh:close()
    os.remove(out)
    assert.equal("1", rc, text)
    assert.matches("optimizing\n.*interrupted!", text)
    assert.is_nil(text:find("finished", 1, true))
    local took = tonumber(t1) - tonumber(t0)
    assert.is_true(took < 1.5, ("exited %.2f s after SIGINT"):format(took))
  end)
end)

describe("the transforms' bad input", function()
  local cases = {
    { "tsne_transform", embed.tsne_transform, Yt },
    { "umap_transform", embed.umap_transform, Yu },
  }
  for _, case in ipairs(cases) do
    local name, f, Y = case[1], case[2], case[3]
    local function err(pat, ...)
      local args = table.pack(...)
      assert.error_matches(function() f(table.unpack(args, 1, args.n)) end, pat, nil, true)
    end

    it(name .. " names itself and the argument", function()
      local q = "bad argument #%d to '" .. name .. "' (%s"
      err(q:format(3, "X_new has 9 columns, X_ref has 10"), Xr, Y, Xn:narrow(2, 1, 9))
      err(q:format(2, "Y_ref has 799 rows, X_ref has 800"), Xr, Y:narrow(1, 1, 799), Xn)
      err(q:format(3, "at least 1 rows needed, got [0x10]"), Xr, Y, Xn:narrow(1, 1, 0))
      local bad = Xn:clone()
      bad[3][4] = 0 / 0
      err(q:format(3, "row 3 contains NaN or infinity"), Xr, Y, bad)
      local badY = Y:clone()
      badY[7][1] = math.huge
      err(q:format(2, "row 7 contains NaN or infinity"), Xr, badY, Xn)
      err(q:format(1, "tensor expected, got string"), "X", Y, Xn)
      err(q:format(3, "tensor expected, got nil"), Xr, Y)
      err(q:format(4, "options table expected, got number"), Xr, Y, Xn, 5)
      err("unknown option 'sed' to '" .. name .. "' (did you mean 'seed'?)", Xr, Y, Xn, { sed = 1 })
      err(q:format(4, "option 'progress' must be a boolean or a function"), Xr, Y, Xn,
        { progress = 3 })
      err(q:format(4, "option 'seed' must be an integer, got 1.5"), Xr, Y, Xn, { seed = 1.5 })
      err(q:format(4, "init must be a float tensor [200 x 2] (X_new's rows), got [3x2]"), Xr, Y,
        Xn, { init = lt.zeros(3, 2) })
      err(q:format(4, "option 'init' must be one of"), Xr, Y, Xn, { init = "pca" })
      local nan_init = lt.zeros(200, 2)
      nan_init[1][1] = 0 / 0
      err(q:format(4, "init contains NaN or infinity"), Xr, Y, Xn, { init = nan_init })
    end)
  end

  it("tsne_transform checks its neighbourhood and settings", function()
    local q = "bad argument #4 to 'tsne_transform' ("
    local f = embed.tsne_transform
    local function err(pat, o)
      assert.error_matches(function() f(Xr, Yt, Xn, o) end, pat, nil, true)
    end
    err(q .. "k must be in 1..800 (the reference rows), got 801", { k = 801 })
    err(q .. "k must be in 1..800 (the reference rows), got 0", { k = 0 })
    err(q .. "perplexity must be at most k = 10 (the neighbours used), got 20",
      { k = 10, perplexity = 20 })
    err(q .. "perplexity must be positive", { perplexity = -1 })
    err(q .. "option 'n_iter' must be in 1..1000000", { n_iter = 0 })
    err(q .. "option 'exaggeration_iter' must be in 0..250", { exaggeration_iter = 300 })
    err(q .. "learning_rate must be positive", { learning_rate = 0 })
    err(q .. "momentum must be in [0, 1)", { momentum = 1 })
    err(q .. "theta must be in [0, 1]", { theta = 2 })
    err(q .. "option 'init' must be one of \"median\", \"weighted\", \"random\"", { init = "pca" })
    err("unknown option 'perplexty' to 'tsne_transform' (did you mean 'perplexity'?)",
      { perplexty = 5 })
    -- A small reference: k defaults to its rows, and a perplexity above them is refused.
    local Xs, Ys = Xr:narrow(1, 1, 6), Yt:narrow(1, 1, 6)
    assert.same({ 200, 2 }, f(Xs, Ys, Xn, { progress = false }):size())
    assert.error_matches(function() f(Xs, Ys, Xn, { perplexity = 7 }) end,
      "perplexity must be at most k = 6", nil, true)
    assert.error_matches(function() f(Xr, lt.zeros(800, 4), Xn) end,
      "bad argument #2 to 'tsne_transform' (Y_ref must have 1..3 columns, got 4)", nil, true)
  end)

  it("umap_transform checks its neighbourhood and settings", function()
    local q = "bad argument #4 to 'umap_transform' ("
    local f = embed.umap_transform
    local function err(pat, o)
      assert.error_matches(function() f(Xr, Yu, Xn, o) end, pat, nil, true)
    end
    err(q .. "n_neighbors must be in 2..800 (the reference rows), got 801", { n_neighbors = 801 })
    err(q .. "option 'dim' is 3 but Y_ref has 2 columns", { dim = 3 })
    err(q .. "need 0 <= min_dist <= spread", { min_dist = 2 })
    err(q .. "option 'metric' must be one of", { metric = "manhattan" })
    err(q .. "option 'knn' must be one of", { knn = "fast" })
    err(q .. "local_connectivity must be in [0, n_neighbors)", { local_connectivity = 20 })
    err("unknown option 'n_neighbours' to 'umap_transform' (did you mean 'n_neighbors'?)",
      { n_neighbours = 5 })
  end)
end)
