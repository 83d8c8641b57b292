-- nn_psg_spec.lua: per-sample gradients (full, last layer, projected, norms) and per-sample
-- statistics against functorch fixtures (float32) and against one backward per sample (float64).
local lt = require "lunette"
local nn = lt.nn
local U = dofile((debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "tests") .. "/fixtures/nn_util.lua")

local function assert_close(a, b, tol, what)
  local e = U.relerr(a, b)
  assert(e <= tol, ("%s: relative error %.3g > %.3g"):format(what or "values", e, tol))
end

local function fixture_model(name)
  if name == "mlp" then return nn.mlp { 20, 16, 5 } end
  if name == "cnn" then return nn.small_cnn { in_channels = 1, size = 8, classes = 5, width = 4, hidden = 16 } end
  return nn.resnext29 { in_channels = 3, blocks = { 1, 1, 1 }, cardinality = 4, width = 2, classes = 5 }
end

describe("models against PyTorch (float32, 1e-5)", function()
  for _, name in ipairs { "mlp", "cnn", "resnext" } do
    it(name .. ": logits, loss, batch gradients and per-sample gradients", function()
      local fx = U.load(name)
      local m = fixture_model(name)
      m:load_state_dict(U.sub(fx, "sd."))
      local x, y = fx.x, fx.y + 1
      m:eval()
      -- a backward in evaluation mode: the forward keeps its activations only in enable_grad
      local logits = nn.enable_grad(m.forward, m, x)
      assert_close(logits, fx["eval.logits"], 1e-5, "logits")
      local loss, d = nn.cross_entropy(logits, y)
      assert(math.abs(loss - fx["eval.loss"][1]) <= 1e-5 * math.max(1, loss))
      m:zero_grad()
      m:backward(d)
      for _, p in ipairs(m:named_parameters()) do
        assert_close(p.module.grad[p.key], fx["eval.grad." .. p.name], 1e-5, "grad " .. p.name)
      end
      assert_close(nn.per_sample_grads(m, x, y), fx["psg.full"], 1e-5, "per-sample")
      assert_close(nn.projected_grads(m, x, y, fx.proj), fx["psg.proj"], 1e-5, "projected")
      assert_close(nn.per_sample_norms(m, x, y), fx["psg.norm"], 1e-5, "norms")
      if fx["train.logits"] then
        m:train()
        m:zero_grad()
        local lg = m:forward(x)
        assert_close(lg, fx["train.logits"], 1e-5, "train logits")
        local _, d2 = nn.cross_entropy(lg, y)
        m:backward(d2)
        for _, p in ipairs(m:named_parameters()) do
          assert_close(p.module.grad[p.key], fx["train.grad." .. p.name], 1e-5, "train grad " .. p.name)
        end
        local sd = m:state_dict()
        for k, v in pairs(U.sub(fx, "train.buf.")) do assert_close(sd[k]:double(), v, 1e-5, k) end
      end
    end)
  end
end)

-- Small float64 models that exercise every per-sample path.
local function models64()
  local seq3d = nn.Sequential { nn.Linear(6, 5, { seed = 1 }), nn.Tanh(), nn.LayerNorm(5), nn.Flatten(),
                                nn.Linear(15, 3, { seed = 2 }) }
  local cnn = nn.Sequential { nn.Conv2d(2, 4, 3, { seed = 3, padding = 1, groups = 2 }), nn.BatchNorm2d(4), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16, 3, { seed = 4 }) }
  cnn:seq(2).running_mean:copy_(U.rand({ 4 }, 5):float())
  cnn:seq(2).weight:copy_(U.rand({ 4 }, 6):float():add(2))
  return {
    { "mlp (bilinear projection path)", nn.mlp { 40, 36, 5, seed = 7 }, { 6, 40 } },
    { "sequence Linear + LayerNorm", seq3d, { 5, 3, 6 } },
    { "grouped conv + BatchNorm (eval)", cnn, { 4, 2, 4, 4 } },
    { "wide grouped conv on a tiny image (Gram-matrix norms)",
      nn.Sequential { nn.Conv2d(16, 32, 3, { seed = 9, padding = 1, groups = 2 }), nn.ReLU(), nn.Flatten(),
                      nn.Linear(128, 3, { seed = 10 }) }, { 3, 16, 2, 2 } },
    { "ResNeXt block model", nn.resnext29 { in_channels = 2, blocks = { 1, 1, 1 }, cardinality = 2, width = 2,
                                            classes = 3, seed = 8 }, { 3, 2, 4, 4 } },
  }
end

describe("per-sample gradients (float64)", function()
  for i, case in ipairs(models64()) do
    local name, m, shape = case[1], case[2], case[3]
    it(name .. ": batched pass equals one backward per sample; projections and norms agree", function()
      m:double()
      local x = U.rand(shape, 100 + i)
      local C = m:forward(x):size(2)
      local yt = {}
      for b = 1, shape[1] do yt[b] = (b * 7) % C + 1 end
      local y = lt.tensor(yt)
      local G = nn.per_sample_grads(m, x, y)
      local R = nn.per_sample_grads(m, x, y, { method = "loop" })
      assert.same({ shape[1], m:num_parameters() }, G:size())
      assert_close(G, R, 1e-12, "full vs loop")
      assert_close(nn.per_sample_grads(m, x, y, { batch_size = 2 }), R, 1e-12, "chunked")
      local P = U.rand({ 5, G:size(2) }, 200 + i)
      assert_close(nn.projected_grads(m, x, y, P), lt.matmul(G, P:t()), 1e-12, "projected")
      assert_close(nn.per_sample_norms(m, x, y), G:norm(2, 2), 1e-12, "norms")
      -- the sum of per-sample gradients is the batch gradient of the summed loss
      m:eval()
      m:zero_grad()
      local _, d = nn.cross_entropy(nn.enable_grad(m.forward, m, x), y, { reduction = "sum" })
      m:backward(d)
      local _, entries = nn.param_dim(m)
      local colsum = G:sum(1)
      for _, e in ipairs(entries) do
        assert_close(colsum:narrow(1, e.offset + 1, e.numel), e.module.grad[e.key]:reshape(e.numel), 1e-12, e.name)
      end
      m:train()
    end)
  end

  it("last_layer is (softmax - onehot) x features, plus the bias, and the head's slice of G", function()
    local m = nn.mlp { 7, 6, 4, seed = 9 }:double()
    local x, y = U.rand({ 5, 7 }, 1), lt.tensor { 1, 2, 3, 4, 1 }
    local G = nn.per_sample_grads(m, x, y)
    local L = nn.per_sample_grads(m, x, y, { last_layer = true })
    assert.same({ 5, 6 * 4 + 4 }, L:size())
    local D = m:num_parameters()
    assert_close(L, G:narrow(2, D - 27, 28), 1e-12, "slice")
    local f = m:features(x)
    local p = nn.Softmax()(m.head:forward(f)) - lt.tensor(y:totable()):long():add(-1):reshape(5, 1):eq(lt.arange(4):reshape(1, 4)):double()
    for b = 1, 5 do
      local w = p[b]:reshape(4, 1) * f[b]:reshape(1, 6)
      assert_close(L[b]:narrow(1, 1, 24), w:reshape(24), 1e-12, "outer")
      assert_close(L[b]:narrow(1, 25, 4), p[b], 1e-12, "bias")
    end
    local P = U.rand({ 3, 28 }, 2)
    assert_close(nn.projected_grads(m, x, y, P, { last_layer = true }), lt.matmul(L, P:t()), 1e-12, "projected last layer")
  end)

  it("params subsets and frozen parameters select columns of G", function()
    local m = nn.mlp { 5, 4, 3, seed = 4 }:double()
    local x, y = U.rand({ 3, 5 }, 3), lt.tensor { 3, 1, 2 }
    local G = nn.per_sample_grads(m, x, y)
    local S = nn.per_sample_grads(m, x, y, { params = { "2" } })
    assert_close(S, G:narrow(2, 25, 15), 1e-12, "params = {'2'}")
    m:freeze("0")
    assert_close(nn.per_sample_grads(m, x, y), S, 1e-12, "frozen first layer")
    assert.equal(15, (nn.param_dim(m)))
    m:unfreeze()
  end)

  it("writes into a preallocated out tensor, and checks it", function()
    local m = nn.mlp { 4, 3, seed = 1 }:double()
    local x, y = U.rand({ 2, 4 }, 1), lt.tensor { 1, 3 }
    local G = nn.per_sample_grads(m, x, y)
    local out = lt.full({ 2, 15 }, 7.0, "float64")
    assert.equal(out, nn.per_sample_grads(m, x, y, { out = out }))
    assert_close(out, G, 0, "out")
    local P = U.rand({ 3, 15 }, 2)
    local zo = lt.full({ 2, 3 }, 5.0, "float64")
    nn.projected_grads(m, x, y, P, { out = zo })
    assert_close(zo, lt.matmul(G, P:t()), 1e-12, "projected out")
    assert.error_matches(function() nn.per_sample_grads(m, x, y, { out = lt.zeros(2, 14, "float64") }) end,
                         "out must be a contiguous float64 tensor %[2x15%], got float64 %[2x14%]")
  end)

  it("columns of parameters the backward pass never reaches are zero", function()
    local m = nn.mlp { 3, 2, seed = 1 }:double()
    m:add("unused", nn.Linear(2, 2, { seed = 2 }):double())
    local G = nn.per_sample_grads(m, U.rand({ 2, 3 }, 1), lt.tensor { 1, 2 })
    assert.same({ 2, 8 + 6 }, G:size())
    assert.equal(0, G:narrow(2, 9, 6):abs():sum())
    assert.is_true(G:narrow(2, 1, 8):abs():sum() > 0)
  end)

  it("restores train/eval flags and leaves batch-norm statistics alone", function()
    local m = nn.resnext29 { in_channels = 1, blocks = { 1, 1, 1 }, cardinality = 2, width = 1, classes = 2, seed = 1 }
    m:train()
    local before = m:state_dict()["bn1.running_mean"]:clone()
    nn.per_sample_norms(m, U.rand({ 2, 1, 4, 4 }, 1):float(), lt.tensor { 1, 2 })
    assert.is_true(m.training)
    assert.is_true(m:state_dict()["bn1.running_mean"]:equal(before))
  end)

  it("sample_stats: losses, probabilities, margins, EL2N, predictions", function()
    local m = nn.mlp { 4, 3, seed = 2 }:double()
    local x, y = U.rand({ 6, 4 }, 9), lt.tensor { 1, 2, 3, 1, 2, 3 }
    local s = nn.sample_stats(m, x, y)
    local z = m:forward(x)
    assert_close(s.loss, nn.cross_entropy(z, y, { reduction = "none" }), 1e-12, "loss")
    assert_close(s.probs, nn.Softmax()(z), 1e-12, "probs")
    local onehot = lt.tensor(y:totable()):add(-1):reshape(6, 1):eq(lt.arange(3):reshape(1, 3)):double()
    assert_close(s.el2n, (s.probs - onehot):norm(2, 2), 1e-12, "el2n")
    assert_close(s.prob, (s.probs * onehot):sum(2), 1e-12, "prob")
    assert.same(z:argmax(2):totable(), s.pred:totable())
    local zt, yt = z:totable(), y:totable()
    for b = 1, 6 do
      local other = -math.huge
      for c = 1, 3 do if c ~= yt[b] then other = math.max(other, zt[b][c]) end end
      assert(math.abs(s.margin[b] - (zt[b][yt[b]] - other)) < 1e-12)
    end
    assert.same(s.pred:eq(y):totable(), s.correct:totable())
    assert.same(s.pred:totable(), m:predict(x):totable())
  end)

  it("errors name the projection's shape and D", function()
    local m = nn.mlp { 4, 3, seed = 1 }
    local ok, err = pcall(nn.projected_grads, m, lt.zeros(2, 4), lt.tensor { 1, 2 }, lt.zeros(3, 10))
    assert.is_false(ok)
    assert.matches("projection %[3x10%] has 10 columns but the selected parameters number D = 15", err)
    ok, err = pcall(nn.per_sample_grads, m, lt.zeros(2, 4), lt.tensor { 1, 2, 3 })
    assert.matches("labels %[3%] do not match the batch %[2x4%]", err)
    ok, err = pcall(nn.per_sample_grads, m, lt.zeros(2, 4), lt.tensor { 1, 4 })
    assert.matches("label 4 at position 2 is out of range 1..3", err)
  end)
end)

-- One definition of "the head" and "the features" (issue 13, point 9): last-layer gradients
-- must be the head's slice of the full per-sample gradients for every model, whatever its origin.
describe("the head and the features", function()
  local zoo = require "lunette.nn_zoo"
  -- every zoo constructor, small enough for full per-sample gradients
  local ZOO = {
    mlp = function() return nn.mlp { 12, 9, 5, seed = 1 }, { 4, 12 } end,
    small_cnn = function()
      local m = nn.small_cnn { size = 8, classes = 5, width = 2, hidden = 6, dropout = 0.5,
                               seed = 2 }
      return m, { 3, 1, 8, 8 }
    end,
    resnet18 = function()
      return nn.resnet18 { in_channels = 1, classes = 4, seed = 3 }, { 2, 1, 4, 4 }
    end,
    resnet18_torchvision = function()
      local m = nn.resnet18 { style = "torchvision", in_channels = 1, classes = 4, seed = 4 }
      return m, { 2, 1, 8, 8 }
    end,
    resnext29 = function()
      local m = nn.resnext29 { in_channels = 2, blocks = { 1, 1, 1 }, cardinality = 2, width = 2,
                               classes = 3, seed = 5 }
      return m, { 3, 2, 4, 4 }
    end,
  }
  local NOT_MODELS = { resnext_block = true }

  local function relerr(a, b)
    local scale = b:double():abs():max()
    return (a:double() - b:double()):abs():max() / (scale > 0 and scale or 1)
  end

  -- The head's columns of the full G, found by the head's parameter tensors.
  local function head_slice(m, G, head)
    local _, entries = nn.param_dim(m)
    local first, count
    for _, e in ipairs(entries) do
      if e.module == head then
        first = first or e.offset + 1
        count = (count or 0) + e.numel
      end
    end
    assert(first, "the head's parameters are not among the model's")
    return G:narrow(2, first, count)
  end

  -- last_layer gradients (and projections, norms) equal the head's slice of the full ones.
  local function check(m, shape, what)
    local x = lt.random.Generator(11):randn(table.unpack(shape))
    local C = m:forward(x):size(-1)
    local yt = {}
    for b = 1, shape[1] do yt[b] = (b * 5) % C + 1 end
    local y = lt.tensor(yt)
    local head = nn.head_of(m)
    assert.is_truthy(head, what)
    local G = nn.per_sample_grads(m, x, y)
    local L = nn.per_sample_grads(m, x, y, { last_layer = true })
    local want = head_slice(m, G, head)
    assert.same(want:size(), L:size())
    local e = relerr(L, want)
    assert(e <= 1e-5, ("%s: last-layer gradients are %.3g off the slice"):format(what, e))
    local P = lt.random.Generator(12):randn(3, L:size(2))
    local Z = nn.projected_grads(m, x, y, P, { last_layer = true })
    assert(relerr(Z, lt.matmul(want, P:t())) <= 1e-5, what .. ": projected")
    local N = nn.per_sample_norms(m, x, y, { last_layer = true })
    assert(relerr(N, want:double():norm(2, 2)) <= 1e-5, what .. ": norms")
    -- the features are what the head reads
    m:eval()
    local f = nn.split_head(m).features(x)
    if m.features then assert.is_true(m:features(x):equal(f), what) end
    assert.equal(head.in_features, f:size(-1), what)
    return f
  end

  for name, make in pairs(ZOO) do
    it("zoo " .. name .. ": last-layer gradients are the head's slice of the full ones", function()
      local m, shape = make()
      check(m, shape, name)
    end)
  end

  it("covers every zoo model", function()
    for k, v in pairs(zoo) do
      if type(v) == "function" and not NOT_MODELS[k] then
        assert.is_truthy(ZOO[k], "zoo model " .. k .. " has no case in this spec")
      end
    end
  end)

  local function lin(a, b, seed) return nn.Linear(a, b, { seed = seed }) end
  local USER = {
    { "head 3->3", function() return nn.Sequential { lin(4, 3, 1), nn.ReLU(), lin(3, 3, 2) } end },
    { "head 8->3", function() return nn.Sequential { lin(4, 8, 1), nn.ReLU(), lin(8, 3, 2) } end },
    { "Linear then an activation", function()
      return nn.Sequential { lin(4, 8, 1), nn.ReLU(), lin(8, 3, 2), nn.Tanh() }
    end },
    { "Linear then Dropout and LogSoftmax", function()
      return nn.Sequential { lin(4, 6, 1), nn.GELU(), lin(6, 3, 2), nn.Dropout(0.5),
                             nn.LogSoftmax() }
    end },
    { "nested Sequential", function()
      local inner = nn.Sequential { lin(8, 5, 2), nn.Tanh(), nn.Sequential { lin(5, 3, 3) } }
      return nn.Sequential { nn.Sequential { lin(4, 8, 1), nn.ReLU() }, inner }
    end },
    { "named entries", function()
      return nn.Sequential { { "body", lin(4, 3, 1) }, { "act", nn.SiLU() },
                             { "fc", lin(3, 3, 2) } }
    end },
    { "a single Linear", function() return lin(4, 3, 1) end },
  }
  for _, case in ipairs(USER) do
    it("user-built " .. case[1] .. ": last-layer gradients are the head's slice", function()
      local m = case[2]()
      local f = check(m, { 5, 4 }, case[1])
      -- extract_features returns the same features
      local data = { x = lt.random.Generator(11):randn(5, 4), y = lt.ones(5, "int64") }
      assert.is_true(nn.extract_features(m, data, { progress = false }):equal(f), case[1])
    end)
  end

  it("refuses a model whose last parametrised module is not a Linear, naming the caller", function()
    local m = nn.Sequential { lin(4, 3, 1), nn.LayerNorm(3) }
    local x, y = lt.randn(2, 4), lt.tensor { 1, 2 }
    local want = "last_layer needs a final Linear layer %(the head%): LayerNorm"
    assert.error_matches(function() nn.per_sample_grads(m, x, y, { last_layer = true }) end,
      "bad argument #1 to 'per_sample_grads' %(" .. want)
    assert.error_matches(function()
      nn.projected_grads(m, x, y, lt.zeros(2, 15), { last_layer = true })
    end, "to 'projected_grads' %(" .. want)
    assert.error_matches(function() m:features(x) end, "to 'features' %(" .. want)
    local conv = nn.Sequential { nn.Conv2d(1, 2, 3, { seed = 1 }), nn.Flatten() }
    assert.error_matches(function()
      nn.per_sample_grads(conv, lt.randn(2, 1, 3, 3), y, { last_layer = true })
    end, "last_layer needs a final Linear layer %(the head%): Conv2d")
    assert.is_nil(nn.head_of(m))
    -- a head set by hand must be the last parametrised module the model runs
    local s = nn.Sequential { lin(4, 3, 1), nn.ReLU(), lin(3, 2, 2) }
    s.head = s:seq(1)
    assert.error_matches(function() nn.per_sample_grads(s, x, y, { last_layer = true }) end,
      "model.head is not the last parametrised module")
  end)

  it("select.sage works on a user-built Sequential", function()
    local S = require "lunette.select"
    if S.sage_unavailable() then return end
    local g = lt.random.Generator(21)
    local x = g:randn(60, 6)
    local y = lt.arange(60, "int64") % 3 + 1
    for _, tail in ipairs { false, true } do
      local entries = { lin(6, 8, 1), nn.ReLU(), lin(8, 3, 2) }
      if tail then entries[#entries + 1] = nn.LogSoftmax() end
      local m = nn.Sequential(entries)
      local idx, _, info = S.sage { model = m, dataset = { x = x, y = y }, ell = 5, budget = 12,
                                    progress = false, return_grads = true }
      assert.equal(12, idx:numel())
      assert.equal(8 * 3 + 3, info.dim)
      -- the projections are the last-layer gradients projected on the sketch
      local Lg = nn.per_sample_grads(m, x, y, { last_layer = true })
      local e = relerr(info.grads, lt.matmul(Lg, info.sketch:t()))
      assert(e <= 1e-4, "sage projections, tail = " .. tostring(tail))
    end
  end)
end)
