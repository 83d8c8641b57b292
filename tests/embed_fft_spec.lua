-- embed_fft_spec.lua: t-SNE with the repulsion by FFT-accelerated interpolation (FIt-SNE) against
-- the exact forces and the Barnes-Hut path; determinism across threads; bad input; options.
local lt = require "lunette"
local embed = lt.embed
local C = require "lunette._embed"

-- k Gaussian clusters of `per` points in dim dimensions, centre c at sep * e_c.
local function blobs(seed, k, per, dim, sep)
  local g = lt.random.Generator(seed)
  local X = g:randn(k * per, dim)
  for c = 1, k do X:narrow(1, (c - 1) * per + 1, per):select(2, c):add_(sep) end
  return X:float()
end

-- ||a - b|| / ||b|| over all entries.
local function relerr(a, b)
  local d = a - b
  return math.sqrt((d * d):sum() / (b * b):sum())
end

describe("embed.tsne method = \"fft\"", function()
  it("gives repulsive forces and Z close to the exact sums", function()
    -- A layout like t-SNE's: clusters a few units wide over an extent of about 60 (60 boxes).
    local g = lt.random.Generator(5)
    local Y = (g:randn(1500, 2) * 2):float()
    local centres = (g:randn(10, 2) * 15):float()
    Y = (Y + centres:index_select(1, (lt.arange(0, 1500) % 10 + 1):long())):float()
    local ne, ze = C.tsne_repulsion(Y, "exact")
    local nf, zf = C.tsne_repulsion(Y, "fft")
    -- Z: 2e-7 here (each point's own share of the interpolation taken out exactly); Barnes-Hut
    -- at theta 0.5: 2e-3.
    assert.is_true(math.abs(zf - ze) / ze < 1e-5, ("Z: %g vs %g"):format(zf, ze))
    -- Centred 6-node stencils give 0.04% here (FIt-SNE's 3 nodes per box: 2.8%); Barnes-Hut at
    -- theta 0.5 0.5%.
    local e = relerr(nf, ne)
    assert.is_true(e < 0.003, ("forces' relative error %g"):format(e))
    -- A tight layout (everything in one box width): the interpolation is then nearly exact.
    local tiny = (g:randn(300, 2) * 1e-3):float()
    local ne2, ze2 = C.tsne_repulsion(tiny, "exact")
    local nf2, zf2 = C.tsne_repulsion(tiny, "fft")
    -- 1e-5: the exact reference sums 9e4 float32 terms, itself off by ~1e-6 between builds
    -- (the baseline clone and -O1 sum in another order than the AVX2 one).
    assert.is_true(math.abs(zf2 - ze2) / ze2 < 1e-5, ("tiny Z: %g vs %g"):format(zf2, ze2))
    assert.is_true(relerr(nf2, ne2) < 1e-4)
  end)

  it("ends within 1% of Barnes-Hut's KL, as trustworthy", function()
    local X = blobs(3, 6, 250, 10, 6)
    local Yb, klb, ib = embed.tsne(X, {seed = 2, n_iter = 400, method = "barnes_hut"})
    local Yf, klf, inf = embed.tsne(X, {seed = 2, n_iter = 400, method = "fft"})
    assert.equal("barnes_hut", ib.method)
    assert.equal("fft", inf.method)
    -- Here within 0.01%. On Fashion-MNIST PCA-50 (1000 steps, seed 42; too slow for a spec):
    -- +0.14% at 2,000 points, +0.34% at 20,000, +0.14% at 70,000 (scripts/bench/tsne_crossover.lua).
    assert.is_true(math.abs(klf - klb) / klb < 0.01, ("KL fft %g vs bh %g"):format(klf, klb))
    local tb, tf = embed.trustworthiness(X, Yb, 10), embed.trustworthiness(X, Yf, 10)
    assert.is_true(math.abs(tf - tb) < 0.01, ("trustworthiness fft %g vs bh %g"):format(tf, tb))
  end)

  it("is chosen by \"auto\" only for large 2-d layouts", function()
    local X = blobs(4, 3, 40, 5, 5)
    local _, _, info = embed.tsne(X, {perplexity = 10, n_iter = 260})
    assert.equal("barnes_hut", info.method)
    _, _, info = embed.tsne(X, {perplexity = 10, n_iter = 260, method = "auto", dim = 3})
    assert.equal("barnes_hut", info.method)
    _, _, info = embed.tsne(X, {perplexity = 10, n_iter = 260, method = "exact"})
    assert.equal("exact", info.method)
  end)

  local host = (os.getenv("LUNETTE_BUILD") or "build") .. "/lunette"
  it("gives the same bits on one and two threads", function()
    local f = io.open(host)
    if not f then return pending("no host at " .. host) end
    f:close()
    local script = [[
      local lt = require "lunette"
      local X = lt.random.Generator(71):randn(600, 10)
      local Y = lt.embed.tsne(X, {perplexity = 20, n_iter = 120, exaggeration_iter = 60, seed = 5,
        method = "fft"})
      local s = Y:tobytes()
      local h = 0
      for i = 1, #s do h = (h * 31 + s:byte(i)) % 2147483647 end
      io.write(h)
    ]]
    local out = {}
    for _, t in ipairs { 1, 3 } do
      local p = io.popen(("OMP_NUM_THREADS=%d OMP_DYNAMIC=false %s -e %q"):format(t, host, script))
      out[t] = p:read("a")
      p:close()
    end
    assert.matches("^%d+$", out[1])
    assert.equal(out[1], out[3])
  end)

  it("stops within a second of Ctrl-C, even on the largest grid", function()
    local f = io.open(host)
    if not f then return pending("no host at " .. host) end
    f:close()
    -- 16,000 points spread over 1000 units: 500 x 500 boxes, a 4000 x 4000 grid, seconds a
    -- step. SIGINT once the second step has begun.
    local script = [[
      local lt = require "lunette"
      local g = lt.random.Generator(1)
      local X, init = g:randn(16000, 5):float(), (g:rand(16000, 2) * 1000):float()
      lt.embed.tsne(X, {method = "fft", perplexity = 3, init = init, knn = "approx",
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
    -- 0.3 to 0.5 s measured; the margin is for a loaded machine.
    assert.is_true(took < 1.5, ("exited %.2f s after SIGINT"):format(took))
  end)

  it("handles duplicates, tiny n and a grid larger than n", function()
    -- Duplicated points (coincident in the layout at the start too): the layout and KL stay
    -- finite. Where the copies end is not asserted: ties in the kNN lists give them slightly
    -- different affinities, and t-SNE's dynamics amplify rounding, so on the baseline (SSE2,
    -- -O1) build they ended 0.41 of the extent apart against 0.06 on the AVX2 build.
    local base = lt.random.Generator(9):randn(30, 4)
    local X = lt.cat({base, base, base}, 1):float()
    local Y, kl = embed.tsne(X, {perplexity = 5, n_iter = 150, exaggeration_iter = 100,
      method = "fft", seed = 1})
    assert.is_true(kl == kl and kl < math.huge)
    local y = Y:totable()
    local lo, hi = math.huge, -math.huge
    for i = 1, 90 do
      for a = 1, 2 do
        assert.is_true(y[i][a] == y[i][a] and math.abs(y[i][a]) < math.huge, "not finite")
        lo, hi = math.min(lo, y[i][a]), math.max(hi, y[i][a])
      end
    end
    assert.is_true(hi > lo, "the layout collapsed to a point")
    -- n = 3, 4: far fewer points than the 50 x 50 boxes; the same forces as exact.
    for _, n in ipairs { 2, 3, 4 } do
      local Yn = lt.random.Generator(n):randn(n, 2):float()
      local ne, ze = C.tsne_repulsion(Yn, "exact")
      local nf, zf = C.tsne_repulsion(Yn, "fft")
      assert.is_true(math.abs(zf - ze) / ze < 1e-5)
      assert.is_true(relerr(nf, ne) < 1e-5)
    end
    -- One point: no force and no kernel sum (what is left is the rounding of its own share).
    local one, z1 = C.tsne_repulsion(lt.tensor({{1, 2}}, "float32"), "fft")
    -- (single-precision FFTs: the rounding of the kernel sum is about 1e-7, not 1e-16)
    assert.is_true(one:abs():max() < 1e-9 and math.abs(z1) < 1e-6)
    local Y4 = embed.tsne(lt.tensor({{0, 0}, {1, 1}, {5, 5}, {6, 6}}, "float32"),
      {perplexity = 1, n_iter = 250, method = "fft"})
    assert.same({4, 2}, {Y4:size(1), Y4:size(2)})
  end)

  it("rejects bad input and options", function()
    local X = blobs(4, 3, 40, 5, 5)
    assert.error_matches(function() embed.tsne(X, {method = "fft", dim = 3}) end,
      "bad argument #2 to 'tsne' %(method \"fft\" needs dim = 2 and dof = 1, got dim = 3, dof = 1%)")
    assert.error_matches(function() embed.tsne(X, {method = "fft", dof = 2}) end,
      "needs dim = 2 and dof = 1, got dim = 2, dof = 2")
    assert.error_matches(function() embed.tsne(X, {method = "fast"}) end, "method")
    local bad = X:clone()
    bad[7][2] = 0 / 0
    assert.error_matches(function() embed.tsne(bad, {method = "fft"}) end, "row 7 contains NaN")
    local Ynan = lt.tensor({{0, 0}, {0 / 0, 1}}, "float32")
    assert.error_matches(function() C.tsne_repulsion(Ynan, "fft") end, "")
  end)
end)
