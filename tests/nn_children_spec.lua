-- nn_children_spec.lua: named children are fields (model.fc2.weight, as in torch), assigning a
-- module to a child's field replaces it where the model runs it, and io.save writes a whole zoo
-- model that io.load gives back working (any other model is refused, pointing at state_dict).
local lt = require "lunette"
local nn = lt.nn

-- The value at a dotted state-dict path ("layer1.0.conv1.weight"), field by field.
local function walk(m, path)
  local v = m
  for part in path:gmatch("[^.]+") do v = v[part] end
  return v
end

describe("named children as fields", function()
  local zoo = {
    small_cnn = function() return nn.small_cnn { dropout = 0.5 } end,
    mlp = function() return nn.mlp { 6, 5, 4 } end,
    resnet18 = function() return nn.resnet18 {} end,
    resnet18_tv = function() return nn.resnet18 { style = "torchvision", classes = 4 } end,
    resnext29 = function() return nn.resnext29 { blocks = { 1, 1, 1 }, cardinality = 2 } end,
  }
  for name, make in pairs(zoo) do
    it(name .. ": every state-dict entry and every named module is reachable by fields", function()
      local m = make()
      local sd, keys = m:state_dict()
      assert.is_true(#keys > 0)
      for _, k in ipairs(keys) do assert.is_true(rawequal(sd[k], walk(m, k)), k) end
      for _, e in ipairs(m:named_modules()) do
        if e.name ~= "" then assert.is_true(rawequal(e.module, walk(m, e.name)), e.name) end
      end
    end)
  end

  it("small_cnn's documented attributes exist and the parameters are the live tensors", function()
    local m = nn.small_cnn { seed = 1 }
    for _, k in ipairs { "conv1", "conv2", "fc1", "fc2" } do assert.is_true(nn.is_module(m[k]), k) end
    assert.equal("Linear", m.fc2.__name)
    assert.same({ 10, 128 }, m.fc2.weight.shape)
    m.fc2.weight:fill_(0)
    m.fc2.bias:fill_(0)
    local y = m(lt.randn(2, 1, 28, 28))
    assert.equal(0, y:abs():max()) -- the forward read the tensors we zeroed
    assert.equal(0, m:state_dict()["fc2.weight"]:abs():max())
  end)

  it("Sequential children by name and by position", function()
    local s = nn.Sequential { { "fc", nn.Linear(3, 2) } }
    assert.equal("Linear", s.fc.__name)
    assert.same({ 2, 3 }, s.fc.weight.shape)
    local p = nn.Sequential { nn.Linear(3, 2), nn.ReLU() }
    assert.equal("Linear", p["0"].__name)
    assert.equal("ReLU", p["1"].__name)
    assert.is_nil(p.missing)
  end)

  it("methods and the module's own fields win over a child of the same name; child() reaches it", function()
    local vgg = nn.Sequential { { "features", nn.Sequential { nn.Linear(4, 4) } }, { "classifier", nn.Linear(4, 2) } }
    assert.equal("function", type(vgg.features)) -- m:features(x) keeps its meaning
    assert.equal("Sequential", vgg:child("features").__name)
    assert.equal("Linear", vgg.classifier.__name)
    assert.truthy(vgg:state_dict()["features.0.weight"])
    assert.is_nil(vgg:child("nothing"))
  end)

  it("assigning a module replaces the child where the model runs it, head included", function()
    local m = nn.small_cnn { seed = 2 }
    local new = nn.Linear(128, 5, { seed = 3 })
    m.fc2 = new
    assert.is_true(rawequal(new, m.fc2))
    assert.is_true(rawequal(new, m.head))
    assert.same({ 3, 5 }, m(lt.randn(3, 1, 28, 28)).shape)
    assert.same({ 5, 128 }, m:state_dict()["fc2.weight"].shape)
    assert.same({ 3, 5 }, m:features(lt.randn(3, 1, 28, 28)):matmul(new.weight:t()).shape)
    -- inside a residual block: the shortcut runs the new module
    local r = nn.resnet18 { seed = 1 }
    local blk = r.layer2["0"]
    local x = lt.randn(1, 64, 8, 8)
    local sc = nn.Sequential { nn.Conv2d(64, 128, 1, { stride = 2, bias = false, seed = 4 }) }
    blk.shortcut = sc
    assert.is_true(rawequal(sc, blk.shortcut))
    assert.is_true(rawequal(sc, blk:child("shortcut")))
    local want = blk._post:forward(blk._body:forward(x) + sc:forward(x))
    assert.is_true(blk:forward(x):allclose(want, 1e-5, 1e-6))
  end)

  it("assigning a non-module to a child's name raises at the caller's line", function()
    local m = nn.small_cnn {}
    local ok, err = pcall(function() m.fc2 = 3 end)
    assert.is_false(ok)
    assert.matches("nn_children_spec.lua:%d+: cannot set child 'fc2' of SmallCNN to a number", err)
    assert.equal("Linear", m.fc2.__name)
  end)
end)

describe("io.save of a model", function()
  local dir = os.tmpname()
  os.remove(dir)
  assert(lt.io.makedirs(dir))
  local x = lt.randn(4, 1, 28, 28)

  for name, make in pairs {
    small_cnn = function() return nn.small_cnn { seed = 3, dropout = 0.25, hidden = 16 } end,
    mlp = function() return nn.mlp { 784, 20, 10, activation = "tanh", seed = 5 } end,
    resnet18_double = function() return nn.resnet18 { in_channels = 1, classes = 3, seed = 1 }:double() end,
  } do
    it(name .. " saves whole to .pt and loads back as a working model", function()
      local m = make()
      m.training = true
      m:eval()
      local path = dir .. "/" .. name .. ".pt"
      assert.is_true(lt.io.save(path, m))
      local back = assert(lt.io.load(path))
      assert.is_true(nn.is_module(back))
      assert.equal(m.__name, back.__name)
      assert.equal(m:dtype(), back:dtype())
      assert.is_false(back.training)
      local xx = x:to(m:dtype())
      assert.equal(0, (back(xx) - m(xx)):abs():max())
      -- the raw file is a dict a torch user reads: the constructor and the state dict
      local raw = lt.io.load_pt(path)
      assert.equal(m.__zoo, raw.lunette_model.constructor)
      for k, t in pairs(m:state_dict()) do assert.is_true(t:equal(raw.state_dict[k]), k) end
    end)
  end

  it("refuses what it cannot load back, pointing at state_dict", function()
    local path = dir .. "/no.pt"
    local function refused(value, pattern, p)
      local ok, err = pcall(lt.io.save, p or path, value)
      assert.is_false(ok)
      assert.matches(pattern, err)
      assert.matches("model:state_dict%(%)", err)
    end
    refused(nn.Sequential { nn.Linear(2, 2) }, "only zoo models")
    local m = nn.small_cnn {}
    m.fc2 = nn.Linear(128, 5)
    refused(m, "no longer what nn.small_cnn built")
    refused({ model = nn.mlp { 2, 2 } }, "value.model is a model")
    refused(nn.mlp { 2, 2 }, "only to .pt", dir .. "/m.npz")
    assert.is_nil(io.open(path, "rb"))
    assert.is_true(lt.io.save(path, nn.mlp { 2, 2 }:state_dict())) -- the pointed-at way works
  end)

  it("a tampered checkpoint is an error message, never a call of another function", function()
    local path = dir .. "/bad.pt"
    local sd = nn.mlp { 2, 2 }:state_dict()
    assert.is_true(lt.io.save(path, { lunette_model = { constructor = "os.exit", options = {} }, state_dict = sd }))
    local v, err = lt.io.load(path)
    assert.is_nil(v)
    assert.matches("not a lunette whole%-model checkpoint", err)
    assert.is_true(lt.io.save(path, { lunette_model = { constructor = "mlp", options = { 3, 2 } }, state_dict = sd }))
    v, err = lt.io.load(path)
    assert.is_nil(v)
    assert.matches("shape mismatch", err)
  end)
end)

describe("the REPL completes a module's methods", function()
  -- Module classes index through a function (children are fields), so they list their methods
  -- at __methods, the convention the REPL's completion follows (src/host/shell.c).
  it("#m:named_para<Tab> completes to m:named_parameters", function()
    local build = os.getenv("LUNETTE_BUILD") or "build"
    local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
    local home, hist, errf = os.tmpname(), os.tmpname(), os.tmpname()
    local steps = { "-w", "\n> ", "-s", "m = lt.nn.mlp{2, 3}\n", "-w", "\n> ", "-s", "#m:named_para\t",
                    "-w", "meters", "-s", "()\n", "-w", "\n> ", "-s", "\4" }
    for i, s in ipairs(steps) do if i % 2 == 0 then steps[i] = q(s) end end
    local cmd = ("env TERM=dumb INPUTRC=/dev/null HOME=%s LUNETTE_HISTORY=%s %s -t 3 %s -- %s 2>%s")
      :format(q(home), q(hist), q(build .. "/ptyrun"), table.concat(steps, " "), q(build .. "/lunette"), q(errf))
    local p = io.popen(cmd)
    local out = p:read("a"):gsub("\r", "")
    p:close()
    for _, f in ipairs { home, hist, errf } do os.remove(f) end
    assert.truthy(out:find("> #m:named_parameters()\n2\n", 1, true), out)
  end)
end)
