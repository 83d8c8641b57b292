-- nn_zoo_spec.lua: the zoo models' state_dict names and shapes equal their PyTorch definitions
-- (listing written by scripts/fixtures/nn_torch.py), and the full-size models run forward.
local lt = require "lunette"
local nn = lt.nn
local dir = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "tests") .. "/fixtures"
local names = dofile(dir .. "/nn_names.lua")

local function listing(m)
  local sd, keys = m:state_dict()
  local out = {}
  for i, k in ipairs(keys) do out[i] = { k, sd[k]:size() } end
  return out
end

describe("model zoo", function()
  local cases = {
    resnext29 = function() return nn.resnext29 { classes = 10 } end,
    resnet18 = function() return nn.resnet18 { classes = 10 } end,
    resnet18_tv = function() return nn.resnet18 { style = "torchvision" } end,
    small_cnn = function() return nn.small_cnn {} end,
    small_cnn32 = function() return nn.small_cnn { in_channels = 3, size = 32 } end,
  }
  for name, make in pairs(cases) do
    it(name .. " has PyTorch's state_dict keys and shapes, in order", function()
      assert.same(names[name], listing(make()))
    end)
  end

  it("mlp is named like torch.nn.Sequential(Linear, ReLU, Linear, ...)", function()
    local _, keys = nn.mlp { 784, 256, 128, 10 }:state_dict()
    assert.same({ "0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias" }, keys)
    local _, k2 = nn.mlp { 10, 8, 3, dropout = 0.5 }:state_dict()
    assert.same({ "0.weight", "0.bias", "3.weight", "3.bias" }, k2)
    assert.equal(203530, nn.mlp { 784, 256, 10 }:num_parameters())
  end)

  it("full-size models run forward and give features of the expected width", function()
    local x = lt.randn(1, 3, 32, 32)
    local rx = nn.resnext29 { classes = 100, seed = 1 }
    rx:eval()
    assert.same({ 1, 100 }, rx:forward(x):size())
    assert.same({ 1, 1024 }, rx:features(x):size())
    local r18 = nn.resnet18 { classes = 10, seed = 1 }
    r18:eval()
    assert.same({ 1, 10 }, r18:forward(x):size())
    assert.same({ 1, 512 }, r18:features(x):size())
    local tv = nn.resnet18 { style = "torchvision", classes = 7, seed = 1 }
    tv:eval()
    assert.same({ 1, 7 }, tv:forward(lt.randn(1, 3, 64, 64)):size())
    local c = nn.small_cnn { seed = 1 }
    assert.same({ 2, 10 }, c:forward(lt.randn(2, 1, 28, 28)):size())
    assert.same({ 2, 128 }, c:features(lt.randn(2, 1, 28, 28)):size())
  end)

  it("initial weights are seeded and follow PyTorch's default bounds", function()
    local a, b = nn.small_cnn { seed = 3 }, nn.small_cnn { seed = 3 }
    assert.is_true(a:state_dict()["fc1.weight"]:equal(b:state_dict()["fc1.weight"]))
    local w = a:state_dict()["fc1.weight"]
    local bound = 1 / math.sqrt(64 * 7 * 7)
    assert.is_true(w:abs():max() <= bound)
    assert.is_true(w:abs():max() > 0.9 * bound)
    assert.is_false(nn.small_cnn { seed = 4 }:state_dict()["fc1.weight"]:equal(w))
  end)
end)

describe("state dicts through lunette.io", function()
  local ok_io, lio = pcall(function() return lt.io end)
  local has_io = ok_io and type(lio) == "table" and type(lio.load) == "function" and type(lio.save) == "function"

  it("a torch.save'd state dict loads into the zoo model and gives torch's logits", function()
    if not has_io then pending("lunette.io is not built") return end
    local U = dofile(dir .. "/nn_util.lua")
    local fx = U.load("resnext")
    local m = nn.resnext29 { in_channels = 3, blocks = { 1, 1, 1 }, cardinality = 4, width = 2, classes = 5 }
    m:load_state_dict(assert(lio.load(dir .. "/nn_resnext.pt")))
    m:eval()
    assert(U.relerr(m:forward(fx.x), fx["eval.logits"]) < 1e-5)
    local cnn = nn.small_cnn { in_channels = 1, size = 8, classes = 5, width = 4, hidden = 16 }
    cnn:load_state_dict(assert(lio.load(dir .. "/nn_cnn.pt")))
    assert(U.relerr(cnn:forward(U.load("cnn").x), U.load("cnn")["eval.logits"]) < 1e-5)
  end)

  it("a lunette state dict saved as .pt and .safetensors is read back by torch", function()
    if not has_io then pending("lunette.io is not built") return end
    local py = io.popen("/usr/bin/python3 -c 'import torch' 2>/dev/null && echo yes"):read("a")
    if not py:match("yes") then pending("python3-torch is not installed") return end
    local m = nn.resnext29 { in_channels = 3, blocks = { 1, 1, 1 }, cardinality = 4, width = 2, classes = 5 }
    m:load_state_dict(assert(lio.load(dir .. "/nn_resnext.pt")))
    local base = os.tmpname()
    assert(lio.save(base .. ".pt", m:state_dict()))
    assert(lio.save(base .. ".safetensors", m:state_dict()))
    local script = ([[
import torch
from collections import OrderedDict
ref = torch.load('%s/nn_resnext.pt')
a = torch.load('%s.pt')
try:
    from safetensors.torch import load_file
    b = load_file('%s.safetensors')
except ImportError:
    b = a
ok = list(a.keys()) == list(ref.keys()) and all(torch.equal(a[k], ref[k]) and torch.equal(b[k], ref[k]) for k in ref)
print('same' if ok else 'different')
]]):format(dir, base, base)
    local p = io.popen("/usr/bin/python3 - 2>&1 <<'EOF'\n" .. script .. "EOF\n")
    local out = p:read("a")
    p:close()
    os.remove(base); os.remove(base .. ".pt"); os.remove(base .. ".safetensors")
    assert.matches("same", out)
  end)
end)
