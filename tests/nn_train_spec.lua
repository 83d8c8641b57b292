-- nn_train_spec.lua: optimisers and schedules against torch.optim, clipping, augmentation, the
-- training loop (determinism, subsets, sample weights, hooks, NaN detection) and evaluation.
local lt = require "lunette"
local nn = lt.nn
local U = dofile((debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "tests") .. "/fixtures/nn_util.lua")

local function assert_close(a, b, tol, what)
  local e = U.relerr(a, b)
  assert(e <= tol, ("%s: relative error %.3g > %.3g"):format(what or "values", e, tol))
end

-- A one-parameter "model" whose gradient we set by hand.
local function param_model(p0)
  local m = nn.Module.new and nn.Module.new() or nil
  m = nn.init(setmetatable({}, nn.class("P")))
  m:register_parameter("w", p0:clone())
  return m
end

describe("optimisers against torch.optim", function()
  local fx = U.load("optim")
  local configs = {
    sgd = function(m) return nn.SGD(m, { lr = 0.1 }) end,
    sgd_mom = function(m) return nn.SGD(m, { lr = 0.1, momentum = 0.9, weight_decay = 0.01, dampening = 0.1 }) end,
    sgd_nesterov = function(m) return nn.SGD(m, { lr = 0.05, momentum = 0.9, nesterov = true, weight_decay = 5e-4 }) end,
    adam = function(m) return nn.Adam(m, { lr = 0.01, weight_decay = 0.1 }) end,
    adamw = function(m) return nn.AdamW(m, { lr = 0.01, betas = { 0.8, 0.99 }, weight_decay = 0.1 }) end,
  }
  for name, make in pairs(configs) do
    it(name .. ": three steps match", function()
      local m = param_model(fx.p0)
      local opt = make(m)
      for i = 1, 3 do
        m.grad.w = fx["g" .. i]:clone()
        opt:step()
      end
      assert_close(m.w, fx[name], 1e-6, name)
    end)
  end

  it("schedules give torch's learning rates epoch by epoch", function()
    local m = param_model(fx.p0)
    local makers = {
      cosine = function(o) return nn.CosineLR(o, { t_max = 5, eta_min = 0.01 }) end,
      step = function(o) return nn.StepLR(o, { step_size = 2, gamma = 0.5 }) end,
      linear = function(o) return nn.LinearLR(o, { start_factor = 0.25, total_iters = 3 }) end,
    }
    for name, make in pairs(makers) do
      local opt = nn.SGD(m, { lr = 0.1 })
      local s = make(opt)
      local want = fx["lr." .. name]:totable()
      for e = 1, 5 do -- torch's closed-form cosine and ours agree up to t_max
        local lr = s:step()
        assert(math.abs(lr - want[e]) < 1e-7, ("%s epoch %d: %g vs %g"):format(name, e, lr, want[e]))
      end
    end
  end)

  it("warm-up ramps linearly before the cosine", function()
    local opt = nn.SGD(param_model(lt.zeros(2)), { lr = 1 })
    local s = nn.CosineLR(opt, { t_max = 10, warmup = 4 })
    assert.equal(0.25, opt:get_lr())
    assert.equal(0.5, s:step())
    s:step(); s:step()
    assert.equal(1, s:step())
  end)

  it("clip_grad_norm rescales to max_norm and returns the norm before", function()
    local m = nn.Linear(3, 2, { seed = 1 })
    m.grad.weight = lt.full({ 2, 3 }, 2.0)
    m.grad.bias = lt.full({ 2 }, 2.0)
    local n = nn.clip_grad_norm(m, 1)
    assert.is_true(math.abs(n - math.sqrt(8 * 4)) < 1e-5)
    local after = math.sqrt(m.grad.weight:norm() ^ 2 + m.grad.bias:norm() ^ 2)
    assert.is_true(math.abs(after - 1) < 1e-5)
    nn.clip_grad_value(m, 0.1)
    assert.is_true(m.grad.weight:abs():max() <= 0.1 + 1e-7)
  end)
end)

describe("augmentation", function()
  it("crops with zero padding and flips as torchvision, deterministically under a seed", function()
    local x = lt.arange(1, 17):float():reshape(1, 1, 4, 4)
    local K = nn.kernels
    -- offset (0, 0) with pad 1: shifted down-right by one, zeros on top and left
    local y = K.augment_crop_flip(x, 1, lt.tensor { 0 }, lt.tensor { 0 }, nil)
    assert.same({ { 0, 0, 0, 0 }, { 0, 1, 2, 3 }, { 0, 5, 6, 7 }, { 0, 9, 10, 11 } }, y[1][1]:totable())
    local f = K.augment_crop_flip(x, 1, lt.tensor { 1 }, lt.tensor { 1 }, lt.tensor { true })
    assert.same({ 4, 3, 2, 1 }, f[1][1][1]:totable())
    local g1, g2 = lt.Generator(7), lt.Generator(7)
    local big = lt.randn(8, 3, 8, 8)
    assert.is_true(nn.augment(big, { crop = 2, flip = true }, g1):equal(nn.augment(big, { crop = 2, flip = true }, g2)))
    assert.error_matches(function() K.augment_crop_flip(x, 1, lt.tensor { 3 }, lt.tensor { 0 }) end, "offsets must be in 0..2")
  end)
end)

-- Two Gaussian-ish blobs in 2-d, labels 1 and 2, deterministic.
local function blobs(n, seed)
  local g = lt.Generator(seed)
  local x = g:randn(n, 2)
  local y = g:randint(1, 3, n)
  local shift = (y:float() * 2 - 3):reshape(n, 1) * 1.5
  return { x = x + shift, y = y }
end

describe("fit and evaluate", function()
  it("learns a separable problem, deterministically under a seed", function()
    local data, test = blobs(400, 1), blobs(200, 2)
    local function run()
      local m = nn.mlp { 2, 16, 2, seed = 3 }
      local h = nn.fit(m, data, { epochs = 5, batch_size = 32, seed = 4, test = test,
                                  optimizer = nn.Adam(m, { lr = 0.02 }) })
      return m, h
    end
    local m1, h1 = run()
    local _, h2 = run()
    assert.equal(h1.epochs[5].loss, h2.epochs[5].loss)
    assert.is_true(h1.epochs[5].test_accuracy > 0.9)
    assert.is_true(h1.epochs[5].loss < h1.epochs[1].loss)
    local r = nn.evaluate(m1, test)
    assert.equal(h1.epochs[5].test_accuracy, r.accuracy)
    assert.equal(2, #r.per_class)
    assert.equal(200, r.counts[1] + r.counts[2])
  end)

  it("trains on an index subset with per-sample weights and reports every batch to hooks", function()
    local data = blobs(100, 5)
    local m = nn.mlp { 2, 4, 2, seed = 1 }
    local seen, batches = {}, 0
    nn.fit(m, data, {
      epochs = 2, batch_size = 8, seed = 1, indices = lt.arange(1, 21), weights = lt.ones(20),
      hooks = { on_batch = function(info)
        batches = batches + 1
        assert.equal(info.indices:numel(), info.losses:numel())
        assert.equal(info.indices:numel(), info.correct:numel())
        for _, i in ipairs(info.indices:totable()) do seen[i] = true end
      end },
    })
    assert.equal(6, batches)
    for i = 1, 20 do assert.is_true(seen[i]) end
    assert.is_nil(seen[21])
    assert.error_matches(function() nn.fit(m, data, { indices = { 1, 2 }, weights = { 1 } }) end,
                         "weights has 1 entries for 2 training samples")
    assert.error_matches(function() nn.fit(m, data, { bucket_mb = -1 }) end,
                         "bucket_mb must be a number >= 0, got %-1")
    -- alone (one rank) dist = true is one process's training, with the bucket counts
    local h = nn.fit(nn.mlp { 2, 4, 2, seed = 1 }, data, { dist = true, bucket_mb = 0,
                                                           progress = false, verbose = false })
    assert.equal(1, h.buckets)
    -- tiny buckets (one per parameter, each started during backward) train the same bits as
    -- no dist at all, and the counting wrappers are gone afterwards
    local a, b = nn.mlp { 2, 8, 8, 2, seed = 3 }, nn.mlp { 2, 8, 8, 2, seed = 3 }
    local ha = nn.fit(a, data, { dist = true, bucket_mb = 1e-6, batch_size = 16, seed = 2,
                                 progress = false, verbose = false })
    nn.fit(b, data, { batch_size = 16, seed = 2, progress = false, verbose = false })
    assert.equal(6, ha.buckets)
    assert.is_true(ha.buckets_early > 0)
    for i, p in ipairs(a:parameters()) do assert.is_true(p:equal(b:parameters()[i])) end
    for _, e in ipairs(a:named_modules()) do
      assert.is_nil(rawget(e.module, "forward"))
      assert.is_nil(rawget(e.module, "backward"))
    end
  end)

  it("stops with a clear error when the loss becomes NaN", function()
    local data = blobs(64, 6)
    data.x[{ 3, 1 }] = 0 / 0
    local m = nn.mlp { 2, 4, 2, seed = 1 }
    local ok, err = pcall(nn.fit, m, data, { epochs = 1, batch_size = 64, seed = 1 })
    assert.is_false(ok)
    assert.matches("^[^:]*nn_train_spec%.lua:%d+: fit: loss is NaN at epoch 1, step 1", err)
  end)

  it("uint8 images are scaled to [0, 1]; a conv net trains with augmentation", function()
    local g = lt.Generator(3)
    local x = g:randint(0, 256, { 32, 1, 8, 8 }, { dtype = "uint8" })
    local y = g:randint(1, 4, 32)
    local m = nn.small_cnn { size = 8, width = 2, hidden = 8, classes = 3, seed = 2 }
    local h = nn.fit(m, { x = x, y = y }, { epochs = 2, batch_size = 16, seed = 1, augment = { crop = 1, flip = true },
                                            optimizer = nn.SGD(m, { lr = 0.05, momentum = 0.9 }),
                                            schedule = nil })
    assert.equal(2, #h.epochs)
    assert.is_true(h.epochs[2].loss == h.epochs[2].loss)
  end)
end)

-- lunette's promise (nn.lua's header): its own kernels give the same bits on any
-- OpenMP thread count; calls through OpenBLAS give the same bits for the same BLAS
-- thread count and agree to float rounding across BLAS thread counts (OpenBLAS's
-- sums depend on its thread count and on the CPU kernel it picked).
describe("determinism", function()
  local build = os.getenv("LUNETTE_BUILD") or "build"
  local script = [[
    local lt = require "lunette"
    local nn = lt.nn
    local g = lt.Generator(11)
    local x, y = g:randn(64, 1, 8, 8), g:randint(1, 4, 64)
    local m = nn.small_cnn { size = 8, width = 4, hidden = 16, classes = 3, seed = 5 }
    nn.fit(m, { x = x, y = y }, { epochs = 2, batch_size = 16, seed = 2,
                                  augment = { crop = 1, flip = true },
                                  optimizer = nn.SGD(m, { lr = 0.05, momentum = 0.9 }) })
    local G = nn.per_sample_grads(m, x, y)
    local P = lt.Generator(3):randn(5, G:size(2))
    local out = { m:forward(x):double():sum(), G:double():sum(),
                  nn.projected_grads(m, x, y, P):double():sum(),
                  nn.per_sample_norms(m, x, y):sum() }
    for i, v in ipairs(out) do out[i] = ("%.17g"):format(v) end
    io.write(table.concat(out, " "))]]
  local function run(omp, blas)
    local cmd = "OMP_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d %s/lunette -e '%s'"
    local p = io.popen(cmd:format(omp, blas, build, script))
    local s = p:read("a")
    p:close()
    return s
  end
  local function numbers(s)
    local t = {}
    for v in s:gmatch("%S+") do t[#t + 1] = tonumber(v) end
    return t
  end

  it("lunette's own kernels give the same bits on 1 and 2 OpenMP threads", function()
    local one, two = run(1, 1), run(2, 1)
    assert.is_true(#one > 40, one)
    assert.equal(one, two)
  end)

  it("training and per-sample gradients give the same bits for the same thread count", function()
    local a, b = run(2, 2), run(2, 2)
    assert.is_true(#a > 40, a)
    assert.equal(a, b)
  end)

  it("1 and 2 BLAS threads agree to float rounding", function()
    local one, two = numbers(run(1, 1)), numbers(run(2, 2))
    assert.equal(4, #one)
    assert.equal(4, #two)
    for i = 1, 4 do
      local scale = math.max(1, math.abs(one[i]))
      assert.is_true(math.abs(one[i] - two[i]) <= 1e-5 * scale,
                     ("value %d: %.17g vs %.17g"):format(i, one[i], two[i]))
    end
  end)
end)

describe("nn.extract_features", function()
  it("returns model:features of the chosen rows in evaluation mode and restores the flags", function()
    local model = nn.small_cnn { seed = 3, dropout = 0.5 }
    local X, Y = lt.randn(10, 1, 28, 28), lt.randint(1, 11, { 10 })
    model:train()
    local F = nn.extract_features(model, { x = X, y = Y }, { indices = { 4, 2, 9 }, batch_size = 2, progress = false })
    assert.is_true(model.training)
    model:eval()
    local want = model:features(X:index_select(1, lt.tensor { 4, 2, 9 }))
    assert.are.same({ 3, 128 }, F.shape)
    assert.is_true((F - want):abs():max() < 1e-6)
    assert.has_error(function() nn.extract_features(model, { x = X, y = Y }, { indices = { 11 } }) end,
      "bad argument #3 to 'extract_features' (indices must lie in 1..10)")
    assert.has_error(function() nn.extract_features({}, { x = X, y = Y }) end)
  end)
end)
