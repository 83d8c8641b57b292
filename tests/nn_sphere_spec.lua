-- nn_sphere_spec.lua: Normalize, Parallel and Anchors: values against direct formulas, gradients
-- against central differences (float64), per-sample gradients against the per-sample loop,
-- state-dict names, a short training run, and the errors of bad calls.
local lt = require "lunette"
local nn = lt.nn

local function rand(shape, seed) return lt.random.Generator(seed):normal(0, 1, shape, { dtype = "float64" }) end

-- Compares the analytic gradient a of loss() with central differences on up to 40 entries of t.
local function check_entries(t, a, loss, what)
  local n, h = t:numel(), 1e-6
  local flat, af = t:reshape(n), a:reshape(n)
  for i = 1, n, math.max(1, n // 40) do
    local v = flat[i]
    flat[i] = v + h
    local lp = loss()
    flat[i] = v - h
    local lm = loss()
    flat[i] = v
    local num = (lp - lm) / (2 * h)
    assert(math.abs(num - af[i]) <= 1e-6 * (1 + math.abs(num)),
           ("%s[%d]: numeric %.10g, analytic %.10g"):format(what, i, num, af[i]))
  end
end

local function gradcheck(m, x)
  m:double()
  local y = m:forward(x)
  local r = rand(y:size(), 17)
  m:zero_grad()
  local gx = m:backward(r)
  local function loss() return (m:forward(x) * r):sum() end
  check_entries(x, gx, loss, "input")
  for _, p in ipairs(m:named_parameters()) do check_entries(p.tensor, p.module:grad_of(p.key), loss, p.name) end
end

describe("nn.Normalize", function()
  it("gives unit rows along the chosen dim, like F.normalize", function()
    local x = rand({ 4, 5 }, 1)
    local y = nn.Normalize():forward(x)
    assert.is_true(lt.allclose(y:norm(2, 2), lt.ones(4, "float64"), 1e-12))
    assert.is_true(lt.allclose(y, x / x:norm(2, 2, true), 1e-12))
    local y1 = nn.Normalize { dim = 1 }:forward(x)
    assert.is_true(lt.allclose(y1:norm(2, 1), lt.ones(5, "float64"), 1e-12))
    local z = nn.Normalize():forward(lt.zeros(2, 3))
    assert.are.equal(0, z:abs():sum())
  end)

  it("has the exact gradient", function()
    gradcheck(nn.Normalize(), rand({ 3, 6 }, 2))
    gradcheck(nn.Normalize { dim = 1 }, rand({ 4, 3 }, 3))
    gradcheck(nn.Sequential { nn.Linear(5, 4, { seed = 1 }), nn.LayerNorm(4), nn.Normalize() }, rand({ 3, 5 }, 4))
  end)

  it("rejects bad options and inputs", function()
    assert.has_error(function() nn.Normalize { p = 1 } end, "bad argument #1 to 'Normalize' (only p = 2 is supported, got 1)")
    assert.has_error(function() nn.Normalize { dim = 3 }:forward(lt.zeros(2, 2)) end,
      "bad argument #1 to 'forward' (Normalize(dim=3) got a 2-d input [2x2])")
    assert.has_error(function() nn.Normalize():forward(lt.zeros({ 2 }, "int64")) end,
      "bad argument #1 to 'forward' (Normalize expects a float32 or float64 tensor, got int64)")
  end)
end)

describe("nn.Parallel", function()
  local function branches()
    return { nn.Linear(3, 4, { seed = 1 }), nn.Linear(2, 4, { seed = 2 }) }
  end

  it("averages, sums or concatenates the branches of a split input", function()
    local x = rand({ 5, 5 }, 5)
    local b = branches()
    b[1]:double(); b[2]:double()
    local y1, y2 = b[1]:forward(x:narrow(2, 1, 3):contiguous()), b[2]:forward(x:narrow(2, 4, 2):contiguous())
    local p = nn.Parallel(b, { split = { 3, 2 } })
    assert.is_true(lt.allclose(p:forward(x), (y1 + y2) / 2, 1e-12))
    assert.is_true(lt.allclose(nn.Parallel(b, { split = { 3, 2 }, combine = "sum" }):forward(x), y1 + y2, 1e-12))
    assert.is_true(lt.allclose(nn.Parallel(b, { split = { 3, 2 }, combine = "cat" }):forward(x), lt.cat({ y1, y2 }, 2), 1e-12))
    assert.is_true(lt.allclose(nn.Parallel(b):forward({ x:narrow(2, 1, 3):contiguous(), x:narrow(2, 4, 2):contiguous() }),
      (y1 + y2) / 2, 1e-12))
  end)

  it("has exact gradients in every mode", function()
    for _, c in ipairs { "mean", "sum", "cat" } do
      gradcheck(nn.Parallel(branches(), { split = { 3, 2 }, combine = c }), rand({ 4, 5 }, 6))
    end
  end)

  it("names branches as torch's ModuleList (or as given)", function()
    local p = nn.Sequential { { "projectors", nn.Parallel({ nn.Sequential { { "proj", nn.Linear(3, 2) } },
      { "x", nn.Linear(2, 2) } }, { split = { 3, 2 } }) } }
    local _, keys = p:state_dict()
    assert.are.same({ "projectors.0.proj.weight", "projectors.0.proj.bias", "projectors.x.weight", "projectors.x.bias" }, keys)
  end)

  it("rejects bad branches, options and inputs", function()
    assert.has_error(function() nn.Parallel({}) end, "bad argument #1 to 'Parallel' (a list of branch modules expected)")
    assert.has_error(function() nn.Parallel(branches(), { combine = "max" }) end,
      "bad argument #2 to 'Parallel' (combine must be 'mean', 'sum' or 'cat', got 'max')")
    assert.has_error(function() nn.Parallel(branches(), { split = { 3 } }) end,
      "bad argument #2 to 'Parallel' (split must list one block width per branch (2))")
    assert.has_error(function() nn.Parallel(branches(), { split = { 3, 2 } }):forward(lt.zeros(2, 4)) end,
      "bad argument #1 to 'forward' (Parallel(split=3+2) expects input [* x 5], got [2x4])")
    assert.has_error(function() nn.Parallel(branches()):forward(lt.zeros(2, 5)) end,
      "bad argument #1 to 'forward' (Parallel of 2 branches expects a list of 2 inputs (or the split option))")
  end)
end)

describe("nn.Anchors", function()
  it("starts on the unit sphere and gives cosines", function()
    local a = nn.Anchors(7, 4, { seed = 3 })
    assert.is_true(lt.allclose(a.anchors:norm(2, 2), lt.ones(7), 1e-5))
    local x = lt.randn(5, 4)
    local c = a:forward(x)
    local want = x:normalize(2, 2, 1e-12):matmul(a.anchors:normalize(2, 2, 1e-12):t())
    assert.is_true(lt.allclose(c, want, 1e-5))
    assert.is_true(c:abs():max() <= 1 + 1e-5)
    local _, keys = nn.Sequential { { "constellation", a } }:state_dict()
    assert.are.same({ "constellation.anchors" }, keys)
  end)

  it("has exact gradients (anchors off the sphere too)", function()
    local a = nn.Anchors(6, 4, { seed = 4 })
    a:double()
    a.anchors:mul_(rand({ 6, 1 }, 8):abs() + 0.5)
    gradcheck(a, rand({ 3, 4 }, 9))
    gradcheck(nn.Anchors(5, 3, { seed = 5, normalize_input = false }), rand({ 4, 3 }, 10))
  end)

  it("gives per-sample gradients equal to the per-sample loop", function()
    local model = nn.Sequential { { "p", nn.Linear(6, 4, { seed = 1 }) }, nn.Normalize(),
                                  { "constellation", nn.Anchors(5, 4, { seed = 2 }) }, { "head", nn.Linear(5, 3, { seed = 3 }) } }
    model:double()
    local x, y = rand({ 4, 6 }, 11), lt.tensor { 1, 3, 2, 3 }
    local G = nn.per_sample_grads(model, x, y)
    local R = nn.per_sample_grads(model, x, y, { method = "loop" })
    assert.is_true((G - R):abs():max() < 1e-10)
    assert.has_error(function() nn.per_sample_norms(model, x, y) end)
  end)

  it("trains with nn.fit inside a constellation model", function()
    lt.seed(1)
    local n, d = 400, 6
    local y = lt.randint(1, 4, n)
    local centers = rand({ 3, d }, 12):float() * 3
    local x = centers:index_select(1, y) + lt.randn(n, d)
    local function branch(w, seed)
      return nn.Sequential({ { "proj", nn.Sequential { nn.Linear(w, 8, { seed = seed }), nn.LayerNorm(8) } }, nn.Normalize() },
                           { anonymous = true })
    end
    local model = nn.Sequential({ { "projectors", nn.Parallel({ branch(3, 1), branch(3, 2) }, { split = { 3, 3 } }) },
      nn.Normalize(), { "constellation", nn.Anchors(12, 8, { seed = 3 }) }, { "classifier", nn.Linear(12, 3, { seed = 4 }) } },
      { anonymous = true })
    local _, keys = model:state_dict()
    assert.are.equal("projectors.0.proj.0.weight", keys[1])
    assert.are.equal("projectors.1.proj.1.bias", keys[8])
    assert.are.equal("constellation.anchors", keys[9])
    nn.fit(model, { x = x, y = y }, { epochs = 15, batch_size = 50, optimizer = nn.Adam(model, { lr = 0.02 }), seed = 1, progress = false })
    assert.is_true(nn.evaluate(model, { x = x, y = y }).accuracy > 0.9)
  end)

  it("rejects bad sizes and inputs", function()
    assert.has_error(function() nn.Anchors(0, 4) end, "bad argument #1 to 'Anchors' (n must be a positive integer, got 0)")
    assert.has_error(function() nn.Anchors(3, 4):forward(lt.zeros(2, 5)) end,
      "bad argument #1 to 'forward' (Anchors(3 x 4) expects input [B x 4], got [2x5])")
    assert.has_error(function() nn.Anchors(3, 4):forward(lt.zeros({ 2, 4 }, "float64")) end,
      "bad argument #1 to 'forward' (Anchors computes in float32 but the input is float64)")
  end)
end)

describe("load_state_dict with a prefix", function()
  it("loads the part of a larger checkpoint under the prefix", function()
    local big = nn.Sequential { { "projectors", nn.Sequential { { "0", nn.Sequential { nn.Linear(3, 2, { seed = 1 }), nn.LayerNorm(2) } } } } }
    local part = nn.Sequential { nn.Linear(3, 2, { seed = 9 }), nn.LayerNorm(2), nn.Normalize() }
    part:load_state_dict(big:state_dict(), { prefix = "projectors.0." })
    assert.is_true(lt.equal(part:seq(1).weight, big:state_dict()["projectors.0.0.weight"]))
    assert.has_error(function() part:load_state_dict(big:state_dict(), { prefix = "projectors.1." }) end,
      "load_state_dict (prefix 'projectors.1.'): missing keys: 0.bias, 0.weight, 1.bias, 1.weight")
  end)
end)
