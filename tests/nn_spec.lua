-- nn_spec.lua: every layer and loss against PyTorch fixtures and against finite differences in
-- float64 (gradcheck), the fast convolution against its direct reference, module mechanics
-- (state dicts, freezing, modes, dtypes) and the error messages of bad calls.
local lt = require "lunette"
local nn = lt.nn
local K = nn.kernels
local U = dofile((debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "tests") .. "/fixtures/nn_util.lua")

local function assert_close(a, b, tol, what)
  local e = U.relerr(a, b)
  assert(e <= tol, ("%s: relative error %.3g > %.3g"):format(what or "values", e, tol))
end

---------------------------------------------------------------------------
-- gradcheck: central differences of sum(forward(x) * r) in float64
---------------------------------------------------------------------------

-- Perturbs up to `max` entries of t (spread over it) and compares with the analytic gradient a.
local function check_entries(t, a, loss, what, opts)
  local n, h = t:numel(), opts.h or 1e-6
  local flat, af = t:reshape(n), a:reshape(n)
  local step = math.max(1, n // (opts.max or 40))
  for i = 1, n, step do
    local v = flat[i]
    flat[i] = v + h
    local lp = loss()
    flat[i] = v - h
    local lm = loss()
    flat[i] = v
    local num, ana = (lp - lm) / (2 * h), af[i]
    assert(math.abs(num - ana) <= (opts.tol or 1e-6) * (1 + math.abs(num)),
           ("%s[%d]: numeric %.10g, analytic %.10g"):format(what, i, num, ana))
  end
end

-- gradcheck(module, x): input gradient and every parameter gradient of a float64 module.
local function gradcheck(m, x, opts)
  opts = opts or {}
  m:double()
  x = x:double()
  local y = nn.enable_grad(m.forward, m, x) -- evaluation mode keeps activations only so
  local r = U.rand(y:size(), 17)
  m:zero_grad()
  local gx = m:backward(r)
  local function loss() return (m:forward(x) * r):sum() end
  check_entries(x, gx, loss, "input", opts)
  for _, p in ipairs(m:named_parameters()) do
    check_entries(p.tensor, p.module:grad_of(p.key), loss, p.name, opts)
  end
end

describe("gradcheck (float64, central differences)", function()
  it("Linear on 2-d and 3-d inputs", function()
    gradcheck(nn.Linear(5, 4, { seed = 1 }), U.rand({ 3, 5 }, 2))
    gradcheck(nn.Linear(5, 4, { seed = 1 }), U.rand({ 2, 3, 5 }, 3))
    gradcheck(nn.Linear(5, 4, { seed = 1, bias = false }), U.rand({ 3, 5 }, 4))
  end)

  it("Conv2d with stride, padding, dilation and groups", function()
    gradcheck(nn.Conv2d(2, 3, 3, { seed = 1, padding = 1 }), U.rand({ 2, 2, 5, 5 }, 5))
    gradcheck(nn.Conv2d(4, 6, { 3, 2 }, { seed = 2, stride = { 2, 1 }, padding = { 2, 1 }, dilation = 2, groups = 2 }),
              U.rand({ 2, 4, 7, 6 }, 6))
    gradcheck(nn.Conv2d(3, 3, 1, { seed = 3, groups = 3, bias = false }), U.rand({ 2, 3, 4, 4 }, 7))
  end)

  it("BatchNorm in training and evaluation mode, LayerNorm", function()
    local bn = nn.BatchNorm2d(3)
    bn.weight:copy_(U.rand({ 3 }, 8)); bn.bias:copy_(U.rand({ 3 }, 9))
    gradcheck(bn, U.rand({ 4, 3, 3, 3 }, 10))
    local bne = nn.BatchNorm2d(3)
    bne.running_mean:copy_(U.rand({ 3 }, 11)); bne.running_var:fill_(0.7)
    bne:eval()
    gradcheck(bne, U.rand({ 2, 3, 3, 3 }, 12))
    gradcheck(nn.BatchNorm1d(4), U.rand({ 5, 4 }, 13))
    gradcheck(nn.BatchNorm1d(4, { affine = false }), U.rand({ 3, 4, 2 }, 13))
    local ln = nn.LayerNorm({ 2, 3 })
    ln.weight:copy_(U.rand({ 2, 3 }, 14)); ln.bias:copy_(U.rand({ 2, 3 }, 15))
    gradcheck(ln, U.rand({ 3, 2, 3 }, 16))
  end)

  it("activations, softmax and log-softmax", function()
    for _, m in ipairs { nn.ReLU(), nn.GELU(), nn.GELU { approximate = "tanh" }, nn.Tanh(), nn.Sigmoid(), nn.SiLU(),
                         nn.Softmax(), nn.LogSoftmax(), nn.Softmax(2), nn.LogSoftmax(1) } do
      gradcheck(m, U.rand({ 3, 4, 2 }, 18))
    end
  end)

  it("pooling layers and Flatten", function()
    gradcheck(nn.MaxPool2d(2), U.rand({ 2, 2, 4, 6 }, 19))
    gradcheck(nn.MaxPool2d(3, { stride = 2, padding = 1, ceil_mode = true }), U.rand({ 1, 2, 7, 6 }, 20))
    gradcheck(nn.AvgPool2d(3, 2, 1), U.rand({ 2, 2, 5, 6 }, 21))
    gradcheck(nn.AvgPool2d(2, { count_include_pad = false, padding = 1 }), U.rand({ 1, 2, 5, 5 }, 22))
    gradcheck(nn.AdaptiveAvgPool2d({ 2, 3 }), U.rand({ 2, 2, 5, 7 }, 23))
    gradcheck(nn.Flatten(), U.rand({ 2, 3, 2, 2 }, 24))
  end)

  it("a residual block with a projection shortcut, and a Sequential", function()
    local blk = nn.resnext_block(4, 2, 2, 2, { seed = 3 })
    gradcheck(blk, U.rand({ 3, 4, 4, 4 }, 25), { max = 12 })
    gradcheck(nn.Sequential { nn.Linear(3, 4, { seed = 1 }), nn.Tanh(), nn.Linear(4, 2, { seed = 2 }) }, U.rand({ 2, 3 }, 26))
  end)

  it("losses: cross-entropy (smoothing, class and sample weights), NLL, MSE", function()
    local z, y = U.rand({ 5, 4 }, 27), lt.tensor { 1, 4, 2, 2, 3 }
    local w, s = U.rand({ 4 }, 28):abs():add(0.5), U.rand({ 5 }, 29):abs():add(0.1)
    local configs = { {}, { label_smoothing = 0.3 }, { weight = w }, { weight = w, label_smoothing = 0.1 },
                      { sample_weight = s }, { reduction = "sum" } }
    for _, o in ipairs(configs) do
      local _, g = nn.cross_entropy(z, y, o)
      check_entries(z, g, function() return (nn.cross_entropy(z, y, o)) end, "cross_entropy", {})
    end
    local _, g = nn.nll_loss(z, y, { weight = w })
    check_entries(z, g, function() return (nn.nll_loss(z, y, { weight = w })) end, "nll", {})
    local t = U.rand({ 5, 4 }, 30)
    _, g = nn.mse_loss(z, t)
    check_entries(z, g, function() return (nn.mse_loss(z, t)) end, "mse", {})
  end)
end)

---------------------------------------------------------------------------
-- PyTorch fixtures, float32, 1e-5 relative
---------------------------------------------------------------------------

describe("layers against PyTorch (float32)", function()
  local fx = U.load("layers")
  local function run(name, m, opts)
    local c = U.sub(fx, name .. ".")
    for k, v in pairs(c) do
      if k:sub(1, 2) == "p." then m[k:sub(3)]:copy_(v) end
    end
    if opts and opts.buffers_before then
      -- running statistics are compared after the forward pass (they move in training)
    end
    local y = m:forward(c.x)
    assert_close(y, c.y, 1e-5, name .. " output")
    m:zero_grad()
    local gx = m:backward(c.gy)
    assert_close(gx, c.gx, 1e-5, name .. " input grad")
    for k, v in pairs(c) do
      if k:sub(1, 2) == "g." then assert_close(m.grad[k:sub(3)], v, 1e-5, name .. " grad " .. k:sub(3)) end
      if k:sub(1, 2) == "b." then assert_close(m[k:sub(3)]:double(), v:double(), 1e-5, name .. " buffer " .. k:sub(3)) end
    end
  end

  it("Linear, Conv2d (stride, dilation, groups, rectangular kernels)", function()
    run("linear3d", nn.Linear(5, 4))
    run("conv_s2_d2", nn.Conv2d(4, 6, 3, { stride = 2, padding = 2, dilation = 2 }))
    run("conv_groups", nn.Conv2d(6, 4, { 3, 2 }, { stride = { 1, 2 }, padding = { 1, 0 }, groups = 2 }))
  end)

  it("pooling with padding, dilation and ceil mode", function()
    run("maxpool_pad_ceil", nn.MaxPool2d(3, { stride = 2, padding = 1, ceil_mode = true }))
    run("maxpool_dil", nn.MaxPool2d(2, { stride = 1, dilation = 2 }))
    run("avgpool_pad", nn.AvgPool2d(3, { stride = 2, padding = 1 }))
    run("avgpool_nopad_ceil", nn.AvgPool2d(3, { stride = 2, padding = 1, ceil_mode = true, count_include_pad = false }))
    run("adaptive", nn.AdaptiveAvgPool2d({ 3, 2 }))
  end)

  it("BatchNorm (training: batch statistics and running statistics), LayerNorm", function()
    run("bn2d_train", nn.BatchNorm2d(3))
    run("bn1d_train", nn.BatchNorm1d(5))
    run("layernorm", nn.LayerNorm({ 3, 4 }))
  end)

  it("activations and softmax", function()
    run("gelu", nn.GELU())
    run("gelu_tanh", nn.GELU { approximate = "tanh" })
    run("tanh", nn.Tanh())
    run("sigmoid", nn.Sigmoid())
    run("silu", nn.SiLU())
    run("softmax_dim2", nn.Softmax(2))
    run("logsoftmax", nn.LogSoftmax(-1))
  end)

  it("cross-entropy and NLL losses and their gradients", function()
    local z, y, w = fx["loss.logits"], fx["loss.y"] + 1, fx["loss.weight"]
    local cases = { ce = {}, ce_smooth = { label_smoothing = 0.2 }, ce_weight = { weight = w },
                    ce_both = { weight = w, label_smoothing = 0.1 }, ce_sum = { reduction = "sum" } }
    for name, o in pairs(cases) do
      local l, g = nn.cross_entropy(z, y, o)
      assert(math.abs(l - fx["loss." .. name .. ".value"][1]) <= 1e-5 * math.max(1, math.abs(l)), name)
      assert_close(g, fx["loss." .. name .. ".grad"], 1e-5, name .. " grad")
    end
    assert_close(nn.cross_entropy(z, y, { reduction = "none" }), fx["loss.ce_none.value"], 1e-5, "none")
    local l = nn.nll_loss(nn.LogSoftmax()(z), y, { weight = w })
    assert(math.abs(l - fx["loss.nll.value"][1]) < 1e-5)
  end)
end)

---------------------------------------------------------------------------
-- fast kernels against their references
---------------------------------------------------------------------------

describe("convolution kernels", function()
  local geoms = {
    { 2, 3, 4, 7, 6, 3, 3, { 1, 1, 1, 1, 1, 1, 1 } },
    { 3, 4, 6, 9, 8, 3, 2, { 2, 1, 2, 0, 2, 1, 2 } },
    { 1, 6, 6, 5, 5, 1, 1, { 1, 1, 0, 0, 1, 1, 6 } },
    { 2, 2, 4, 8, 8, 5, 5, { 3, 3, 2, 2, 1, 1, 1 } },
  }
  it("im2col + GEMM equals the direct seven-loop reference (float64 exactly, float32 to 1e-5)", function()
    for i, g in ipairs(geoms) do
      local B, Cin, O, H, W, kh, kw, geo = table.unpack(g)
      local x = U.rand({ B, Cin, H, W }, i)
      local w = U.rand({ O, Cin // geo[7], kh, kw }, i + 10)
      local b = U.rand({ O }, i + 20)
      local ref = K.conv2d_forward_ref(x, w, b, geo)
      assert_close(K.conv2d_forward(x, w, b, geo), ref, 1e-12, "f64 forward")
      assert_close(K.conv2d_forward(x:float(), w:float(), b:float(), geo), ref, 1e-5, "f32 forward")
      local dy = U.rand(ref:size(), i + 30)
      local gw, gb = lt.zeros(w:size(), "float64"), lt.zeros({ O }, "float64")
      local rw, rb = lt.zeros(w:size(), "float64"), lt.zeros({ O }, "float64")
      local dx = K.conv2d_backward(dy, x, w, geo, gw, gb, true)
      local rdx = K.conv2d_backward_ref(dy, x, w, geo, rw, rb)
      assert_close(dx, rdx, 1e-12, "dx")
      assert_close(gw, rw, 1e-12, "dw")
      assert_close(gb, rb, 1e-12, "db")
    end
  end)

  -- Grouped float32 convolutions with narrow groups take the direct kernel (register tiles of
  -- 4, 8 or 16 output channels x 8 pixels over zero-padded input planes) instead of im2col.
  it("the direct grouped kernel equals the reference on odd shapes (float32 to 1e-5)", function()
    local cases = {
      -- B, C, O, H, W, kh, kw, {stride h, w, pad h, w, dilation h, w, groups}
      { 1, 8, 8, 7, 9, 3, 3, { 1, 1, 1, 1, 1, 1, 2 } },          -- og 4, WO 9 (a partial tile)
      { 3, 64, 64, 11, 13, 3, 3, { 2, 2, 1, 1, 1, 1, 16 } },     -- ResNeXt's 4 per group, stride 2
      { 2, 32, 64, 9, 10, 3, 3, { 1, 1, 0, 0, 2, 2, 4 } },       -- og 16, cg 8, dilation 2, pad 0
      { 2, 24, 16, 6, 17, 3, 2, { 1, 2, 1, 0, 1, 1, 2 } },       -- og 8, stride (1, 2)
      { 2, 15, 25, 8, 8, 3, 3, { 1, 1, 1, 1, 1, 1, 5 } },        -- og 5: one channel at a time
      { 1, 12, 12, 5, 5, 3, 3, { 1, 1, 2, 2, 1, 1, 12 } },       -- depthwise, padding 2
      { 2, 4, 4, 40, 60, 3, 3, { 1, 1, 1, 1, 1, 1, 2 } },        -- planes past the stack: im2col
    }
    for i, c in ipairs(cases) do
      local B, Cin, O, H, W, kh, kw, geo = table.unpack(c)
      local x = U.rand({ B, Cin, H, W }, 40 + i)
      local w = U.rand({ O, Cin // geo[7], kh, kw }, 50 + i)
      local b = i % 2 == 0 and U.rand({ O }, 60 + i) or nil
      local ref = K.conv2d_forward_ref(x, w, b, geo)
      local y = K.conv2d_forward(x:float(), w:float(), b and b:float(), geo)
      assert_close(y, ref, 1e-5, "case " .. i)
      -- the bits do not depend on how the batch is split
      local y1 = K.conv2d_forward(x:narrow(1, B, 1):float(), w:float(), b and b:float(), geo)
      assert.equal(0, (y1 - y:narrow(1, B, 1)):abs():max())
    end
  end)

  it("backward accumulates into the gradient buffers", function()
    local x, w = U.rand({ 2, 2, 4, 4 }, 1), U.rand({ 3, 2, 3, 3 }, 2)
    local geo = { 1, 1, 1, 1, 1, 1, 1 }
    local dy = U.rand({ 2, 3, 4, 4 }, 3)
    local gw = lt.zeros(w:size(), "float64")
    K.conv2d_backward(dy, x, w, geo, gw, nil, false)
    local once = gw:clone()
    K.conv2d_backward(dy, x, w, geo, gw, nil, false)
    assert_close(gw, once * 2, 1e-12, "accumulated")
  end)
end)

---------------------------------------------------------------------------
-- module mechanics
---------------------------------------------------------------------------

describe("modules", function()
  it("name parameters and buffers as torch does, in order", function()
    local m = nn.Sequential { nn.Linear(3, 4), nn.ReLU(), nn.BatchNorm1d(4), nn.Linear(4, 2) }
    local _, keys = m:state_dict()
    assert.same({ "0.weight", "0.bias", "2.weight", "2.bias", "2.running_mean", "2.running_var",
                  "2.num_batches_tracked", "3.weight", "3.bias" }, keys)
    local names = {}
    for i, p in ipairs(m:named_parameters()) do names[i] = p.name end
    assert.same({ "0.weight", "0.bias", "2.weight", "2.bias", "3.weight", "3.bias" }, names)
    assert.equal(3 * 4 + 4 + 4 + 4 + 8 + 2, m:num_parameters())
  end)

  it("list a module used twice once and refuse to back-propagate through it", function()
    local lin = nn.Linear(2, 2)
    local m = nn.Sequential { lin, nn.Tanh(), lin }
    local names = {}
    for i, p in ipairs(m:named_parameters()) do names[i] = p.name end
    assert.same({ "0.weight", "0.bias" }, names)
    assert.equal(6, m:num_parameters())
    local _, keys = m:state_dict()
    assert.same({ "0.weight", "0.bias", "2.weight", "2.bias" }, keys) -- torch keeps both names
    -- Backward keeps one record per module, so a second use would give wrong gradients:
    -- refused, naming both places, by backward, fit and the per-sample passes.
    m:forward(lt.tensor { { 0.5, -1 } })
    local ok, err = pcall(m.backward, m, lt.ones(1, 2))
    assert.is_false(ok)
    assert.is_truthy(err:find("bad argument #1 to 'backward'", 1, true), err)
    assert.is_truthy(err:find("used at two places in the model ('0' and '2')", 1, true), err)
    local ds = lt.data.tensor_dataset(lt.randn(4, 2), lt.tensor { 1, 2, 1, 2 })
    ok, err = pcall(nn.fit, m, ds, { verbose = false })
    assert.is_truthy(not ok and err:find("to 'fit'", 1, true), err)
    ok, err = pcall(nn.per_sample_grads, m, lt.randn(2, 2), lt.tensor { 1, 2 })
    assert.is_truthy(not ok and err:find("to 'per_sample_grads'", 1, true), err)
  end)

  it("state dicts iterate as loaded dicts do: PyTorch's order, then keys added since", function()
    local m = nn.Sequential { nn.Linear(3, 4), nn.Linear(4, 2) }
    local sd = m:state_dict()
    sd["0.bias"] = nil
    sd.extra = lt.zeros(1)
    local order = {}
    for k in pairs(sd) do order[#order + 1] = k end
    assert.same({ "0.weight", "1.weight", "1.bias", "extra" }, order)
    assert.same(order, lt.io.keys(sd))
  end)

  it("load_state_dict copies values and lists every bad key in one error", function()
    local a, b = nn.mlp { 4, 3, 2, seed = 1 }, nn.mlp { 4, 3, 2, seed = 2 }
    b:load_state_dict(a:state_dict())
    assert.is_true(a:forward(lt.ones(1, 4)):equal(b:forward(lt.ones(1, 4))))
    local sd = a:state_dict()
    local bad = { ["0.weight"] = lt.zeros(3, 5), ["2.weight"] = sd["2.weight"], extra = lt.zeros(1) }
    local ok, err = pcall(b.load_state_dict, b, bad)
    assert.is_false(ok)
    assert.matches("shape mismatch: 0.weight %(checkpoint %[3x5%], model %[3x4%]%)", err)
    assert.matches("missing keys: 0.bias, 2.bias", err)
    assert.matches("unexpected keys: extra", err)
    local ok2 = pcall(b.load_state_dict, b, { ["0.weight"] = sd["0.weight"] }, { strict = false })
    assert.is_true(ok2)
  end)

  it("train/eval, zero_grad, freeze and dtype conversion", function()
    local m = nn.small_cnn { size = 8, width = 2, hidden = 4, classes = 3, seed = 1 }
    m:eval()
    for _, e in ipairs(m:named_modules()) do assert.is_false(e.module.training) end
    m:freeze("conv1", "fc1")
    local names = {}
    for _, p in ipairs(m:named_parameters()) do names[#names + 1] = p.name end
    assert.same({ "conv2.weight", "conv2.bias", "fc2.weight", "fc2.bias" }, names)
    m:unfreeze()
    assert.equal(8, #m:named_parameters())
    m:double()
    assert.equal("float64", m:dtype())
    local y = nn.enable_grad(m.forward, m, lt.ones(2, 1, 8, 8, "float64"))
    assert.same({ 2, 3 }, y:size())
    m:backward(lt.ones(2, 3, "float64"))
    assert.is_true(m.head.grad.weight:abs():sum() > 0)
    m:zero_grad()
    assert.equal(0, m.head.grad.weight:abs():sum())
    assert.matches("SmallCNN%(", tostring(m))
  end)

  it("evaluation-mode passes give every module its own flag back, also when they raise", function()
    local nm = require "lunette.nn_module"
    local m = nn.small_cnn { size = 8, width = 2, hidden = 4, classes = 3, seed = 1 }:double()
    m:train()
    m:children()[1].training = false -- mixed flags: each module must get its own back
    local function flags()
      local out = {}
      for _, e in ipairs(m:named_modules()) do out[#out + 1] = e.module.training end
      return out
    end
    local before = flags()
    -- the helper: fn's results and arguments pass through; the flags are back afterwards
    local a, b = nm.in_eval(m, function(x, y)
      for _, e in ipairs(m:named_modules()) do assert.is_false(e.module.training) end
      return x + 1, y
    end, 1, "two")
    assert.equal(2, a)
    assert.equal("two", b)
    assert.same(before, flags())
    -- a raising fn: the same error value comes out, no position added, flags restored
    local boom = { "boom" }
    local ok, err = pcall(nm.in_eval, m, function() error(boom) end)
    assert.is_false(ok)
    assert.equal(boom, err)
    ok, err = pcall(nm.in_eval, m, function() error("plain", 0) end)
    assert.is_false(ok)
    assert.equal("plain", err)
    assert.same(before, flags())
    -- the per-sample loop reference raising mid-pass (a failing loss)
    local x, y = lt.ones(2, 1, 8, 8, "float64"), lt.tensor { 1, 2 }
    local function bad_loss() error("loss failed", 0) end
    for _, method in ipairs { "loop", "default" } do
      local opts = { loss = bad_loss, method = method ~= "default" and method or nil }
      ok, err = pcall(nn.per_sample_grads, m, x, y, opts)
      assert.is_false(ok)
      assert.equal("loss failed", err)
      assert.same(before, flags())
    end
  end)

  it("Dropout is seeded, scales by 1/(1-p) and is the identity in evaluation", function()
    local d1, d2 = nn.Dropout(0.25, { seed = 5 }), nn.Dropout(0.25, { seed = 5 })
    local x = lt.ones(100, 20)
    local y1, y2 = d1:forward(x), d2:forward(x)
    assert.is_true(y1:equal(y2))
    local kept = y1:ne(0):sum()
    assert.is_true(kept > 1300 and kept < 1700)
    assert.is_true(math.abs(y1:max() - 1 / 0.75) < 1e-6)
    assert.is_true(d1:backward(x):equal(y1))
    d1:eval()
    assert.is_true(d1:forward(x):equal(x))
  end)

  it("NaN propagates through ReLU and wins a max-pooling window, as in torch", function()
    local x = lt.zeros(1, 1, 2, 4)
    x[{ 1, 1, 2, 2 }] = 0 / 0
    x[{ 1, 1, 1, 4 }] = 5
    local y = nn.MaxPool2d(2):forward(x)
    assert.is_true(y[{ 1, 1, 1, 1 }] ~= y[{ 1, 1, 1, 1 }])
    assert.equal(5, y[{ 1, 1, 1, 2 }])
    local r = nn.ReLU():forward(lt.tensor { -1, 0 / 0, 2 })
    assert.equal(0, r[1])
    assert.is_true(r[2] ~= r[2])
  end)

  it("features() returns the penultimate representation", function()
    local m = nn.mlp { 6, 5, 3, seed = 3 }
    local x = U.rand({ 2, 6 }, 1):float()
    local f = m:features(x)
    assert.same({ 2, 5 }, f:size())
    assert_close(m.head:forward(f), m:forward(x), 1e-7, "head(features)")
  end)
end)

---------------------------------------------------------------------------
-- bad input
---------------------------------------------------------------------------

describe("errors", function()
  it("an input that does not fit the first layer names the expected and actual shapes", function()
    local m = nn.mlp { 784, 16, 10 }
    local ok, err = pcall(m.forward, m, lt.zeros(4, 30))
    assert.is_false(ok)
    assert.matches("Linear%(784 %-> 16%) expects input %[%* x 784%], got %[4x30%]", err)
    local c = nn.small_cnn {}
    ok, err = pcall(c.forward, c, lt.zeros(4, 3, 28, 28))
    assert.matches("expects input %[B x 1 x H x W%], got %[4x3x28x28%]", err)
    ok, err = pcall(c.forward, c, lt.zeros(4, 1, 28, 28, "uint8"))
    assert.matches("expects a float32 tensor, got uint8", err)
    ok, err = pcall(c.forward, c, lt.zeros(4, 1, 28, 28, "float64"))
    assert.matches("computes in float32 but the input is float64", err)
  end)

  it("labels out of range, of the wrong dtype or count", function()
    local z = lt.zeros(3, 4)
    local ok, err = pcall(nn.cross_entropy, z, lt.tensor { 1, 5, 2 })
    assert.matches("label 5 at position 2 is out of range 1..4 %(labels are 1%-based%)", err)
    ok, err = pcall(nn.cross_entropy, z, lt.tensor { 0, 1, 2 })
    assert.matches("label 0 at position 1", err)
    ok, err = pcall(nn.cross_entropy, z, lt.tensor { 1.0, 2.0, 3.0 })
    assert.matches("labels must be an integer tensor", err)
    ok, err = pcall(nn.cross_entropy, z, lt.tensor { 1, 2 })
    assert.matches("expected 3 labels", err)
  end)

  it("layer constructors check their arguments", function()
    assert.error_matches(function() nn.Linear(0, 3) end, "in_features must be a positive integer")
    assert.error_matches(function() nn.Conv2d(3, 4, 3, { groups = 2 }) end, "not divisible by groups")
    assert.error_matches(function() nn.MaxPool2d(2, { padding = 2 }) end, "at most half the kernel")
    assert.error_matches(function() nn.Dropout(1.5) end, "p must be in")
  end)

  it("kernels reject mismatched shapes with the shapes in the message", function()
    local ok, err = pcall(K.linear_forward, lt.zeros(2, 3), lt.zeros(4, 5))
    assert.matches("input %[2x3%] has 3 features, weight %[4x5%] expects 5", err)
    ok, err = pcall(K.conv2d_forward, lt.zeros(1, 2, 2, 2), lt.zeros(3, 2, 3, 3), nil, { 1, 1, 0, 0, 1, 1, 1 })
    assert.matches("smaller than the kernel", err)
  end)
end)

-- A kernel that writes a strided view wrote a contiguous copy of it: a parameter registered as
-- a transposed view kept its values through every optimiser step, silently.
describe("tensors updated in place", function()
  local lt = require "lunette"
  local nn = lt.nn

  it("refuse strided views instead of updating a copy", function()
    local P = lt.ones(2, 3)
    local ok, err = pcall(nn.kernels.sgd_step, P:t(), lt.ones(3, 2), nil, true, 0.5)
    assert.is_false(ok)
    assert.matches("bad argument #1 to 'sgd_step' %(parameter is updated in place and must be "
                   .. "contiguous", err)
    assert.equal(6, P:sum())
    local m1, v1 = lt.zeros(3, 2), lt.zeros(3, 2)
    ok, err = pcall(nn.kernels.adam_step, lt.ones(3, 2), lt.ones(3, 2), lt.zeros(2, 3):t(), v1, 1,
                    0.1, 0.9, 0.999, 1e-8)
    assert.is_false(ok)
    assert.matches("first moment is updated in place and must be contiguous", err)
    assert.equal(0, m1:sum())
  end)

  it("register_parameter refuses a strided view at the caller's line", function()
    local m = nn.Linear(3, 2, { seed = 1 })
    local ok, err = pcall(m.register_parameter, m, "weight", lt.randn(3, 2):t())
    assert.is_false(ok)
    assert.matches("bad argument #2 to 'register_parameter' %(parameter 'weight' must be contiguous",
                   err)
    m:register_parameter("weight", lt.randn(3, 2):t():contiguous())
    assert.is_true(m.weight:is_contiguous())
  end)
end)

-- Issue 15: an evaluation at batch 250 of ResNeXt-29 held every layer's input (19.5 GB).
describe("no_grad", function()
  local lt = require "lunette"
  local nn = lt.nn
  local SAVED = { "_x", "_y", "_mean", "_invstd", "_idx", "_nc", "_a" }

  -- Every layer type that keeps something for backward, in one model.
  local function model()
    lt.seed(3)
    return nn.Sequential {
      nn.Conv2d(3, 8, 3, { padding = 1 }), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
      nn.resnext_block(8, 2, 2, 1), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
      nn.LayerNorm(8), nn.Linear(8, 6), nn.Normalize(), nn.Tanh(), nn.Softmax() }
  end
  -- every module the model runs, the unnamed ones (a block's ReLU after its sum) included
  local function kept(m)
    local n = 0
    for _, mod in ipairs(require("lunette.nn_module").all_modules(m)) do
      for _, k in ipairs(SAVED) do
        if rawget(mod, k) ~= nil then n = n + 1 end
      end
    end
    return n
  end

  it("m:eval() reaches the modules a block holds without a name: a ResNeXt keeps nothing",
    function()
      local m = nn.resnext29 { in_channels = 3, blocks = { 1, 1, 1 }, cardinality = 4, width = 2,
                               classes = 5 }
      m:forward(lt.randn(2, 3, 8, 8))
      assert.is_true(kept(m) > 20)
      m:eval()
      for _, mod in ipairs(require("lunette.nn_module").all_modules(m)) do
        assert.is_false(mod.training)
      end
      m:forward(lt.randn(2, 3, 8, 8))
      assert.equal(0, kept(m))
    end)

  it("gives the same outputs and leaves no layer holding an activation", function()
    local m, x = model(), lt.randn(4, 3, 8, 8)
    local y = m:forward(x)
    assert.is_true(kept(m) > 10)
    assert.is_true(nn.grad_enabled())
    local y2 = nn.no_grad(function() return m:forward(x) end)
    assert.is_true(nn.grad_enabled())
    assert.equal(0, kept(m))
    assert.equal(0, (y - y2):abs():max())
    m:eval()
    local ye = m:forward(x)
    assert.equal(0, kept(m)) -- evaluation mode alone keeps nothing (unlike torch)
    assert.equal(0, (ye - nn.no_grad(m.forward, m, x)):abs():max())
    assert.is_true(nn.grad_enabled())
    assert.is_false(nn.grad_enabled(m))
    nn.enable_grad(m.forward, m, x)
    assert.is_true(kept(m) > 10) -- unless asked
    m:train()
    assert.is_true(nn.grad_enabled(m))
  end)

  it("backward after a no_grad forward raises, naming the layer", function()
    local m = nn.Sequential { nn.Linear(3, 2), nn.ReLU() }
    local y = nn.no_grad(m.forward, m, lt.randn(4, 3))
    local ok, err = pcall(m.backward, m, lt.ones(y:size()))
    assert.is_false(ok)
    assert.matches("ReLU kept no activations: its last forward ran in evaluation mode or under "
                   .. "nn.no_grad", err)
  end)

  it("restores the mode after an error; enable_grad nests inside it", function()
    local ok, err = pcall(nn.no_grad, function() error("boom", 0) end)
    assert.is_false(ok)
    assert.equal("boom", err)
    assert.is_true(nn.grad_enabled())
    nn.no_grad(function()
      assert.is_false(nn.grad_enabled())
      assert.equal(7, nn.enable_grad(function(a) return a + (nn.grad_enabled() and 4 or 0) end, 3))
      assert.is_false(nn.grad_enabled())
    end)
  end)

  it("per-sample gradients under a caller's no_grad equal those outside it", function()
    lt.seed(4)
    local m = nn.small_cnn { size = 8, width = 2, hidden = 4, classes = 3 }
    local x, y = lt.randn(5, 1, 8, 8), lt.tensor { 1, 2, 3, 1, 2 }
    local G = nn.per_sample_grads(m, x, y)
    local G2 = nn.no_grad(nn.per_sample_grads, m, x, y)
    assert.equal(0, (G - G2):abs():max())
    local L = nn.per_sample_grads(m, x, y, { last_layer = true })
    assert.equal(0, (L - nn.no_grad(nn.per_sample_grads, m, x, y, { last_layer = true })):abs():max())
  end)

  it("an evaluation holds one batch's tensors, not every layer's input", function()
    local m, x = model(), lt.randn(64, 3, 16, 16)
    nn.no_grad(m.forward, m, x) -- the convolutions' scratch, kept for the next call, is made
    collectgarbage("collect")
    local base = lt.memory()
    local y = m:forward(x)
    collectgarbage("collect")
    local with = lt.memory() - base
    local y2 = nn.no_grad(m.forward, m, x)
    collectgarbage("collect")
    local without = lt.memory() - base
    assert.equal(0, (y - y2):abs():max())
    -- with gradients: every layer's input; without: the two outputs
    assert.is_true(with > 10 * x:nbytes(), with)
    assert.is_true(without <= 2 * y:nbytes() + 4096, without)
  end)
end)
