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
      local logits = m:forward(x)
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
      local _, d = nn.cross_entropy(m:forward(x), y, { reduction = "sum" })
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
