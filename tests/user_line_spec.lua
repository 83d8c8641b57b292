-- user_line_spec.lua: argument errors raised in lunette's Lua façades point at the caller's
-- line (this file's), never into lua/lunette/, and name the public function; however deep
-- the check ran (a layer inside a Sequential inside a model).
local lt = require "lunette"
local nn, S, data = lt.nn, lt.select, lt.data

-- The message of f(), checked to start at this file's line `line` and to hold no lunette path.
local function at_line(line, f, what)
  local ok, msg = pcall(f)
  assert.is_false(ok, "expected an error from " .. (what or "the call"))
  msg = tostring(msg)
  assert.is_nil(msg:find("lua/lunette/", 1, true), msg)
  local at, rest = msg:match("^[^:]*user_line_spec%.lua:(%d+): (.*)$")
  assert.equal(tostring(line), at, msg)
  return rest
end

local function here() return debug.getinfo(2, "l").currentline end
-- (The calls below are statements, not `return f()`: a tail call leaves no frame of the
-- caller for any error to point at, in Lua's own errors too.)

describe("façade errors", function()
  it("point at the user's line for a model's forward (issue 16's CNN)", function()
    local m = nn.small_cnn {}
    local line = here() + 1
    local msg = at_line(line, function() local _ = m:forward(lt.randn(4, 784)) end)
    assert.truthy(msg:find("^bad argument #1 to 'forward' %(Conv2d"), msg)
    -- a Linear deep inside containers
    local seq = nn.Sequential { nn.Sequential { nn.Linear(3, 2) } }
    line = here() + 1
    msg = at_line(line, function() local _ = seq(lt.randn(4, 5)) end)
    assert.truthy(msg:find("^bad argument #1 to 'forward' %(Linear%(3 %-> 2%)"), msg)
  end)

  it("point at the user's line for select.sage's options (issue 16's fraction = 2)", function()
    local line = here() + 1
    local msg = at_line(line, function() local _ = S.sage { fraction = 2 } end)
    assert.equal("bad argument #1 to 'sage' (fraction 2 must be in (0, 1])", msg)
    line = here() + 1
    msg = at_line(line, function() local _ = S.sage { frction = 0.5 } end)
    assert.equal("bad argument #1 to 'sage' (unknown option 'frction' to 'sage' "
      .. "(did you mean 'fraction'?))", msg)
  end)

  it("point at the user's line in data, io, random, select, tensor and nn alike", function()
    local ds = data.tensor_dataset(lt.randn(4, 2))
    local model = nn.mlp { 2, 3, seed = 1 }
    local cases = {
      { function() local _ = data.loader(ds, { batch_size = 0 }) end, "loader" },
      { function() local _ = ds:subset("x") end, "subset" },
      { function() local _ = data.tensor_dataset("x") end, "tensor_dataset" },
      { function() local _ = lt.io.save(5, lt.ones(2)) end, "save" },
      { function() local _ = lt.random.shuffle(lt.tensor(1)) end, "shuffle" },
      { function() local _ = S.class_stats("x", lt.ones(2)) end, "class_stats" },
      { function() local _ = lt.zeros(2, "x", 3) end, "zeros" },
      { function() local _ = lt.tensor(print) end, "tensor" },
      { function() local _ = nn.SGD(model, {}) end, "SGD" },
      { function() local _ = nn.fit(model, { x = lt.randn(4, 2), y = lt.ones(3):long() }) end, "fit" },
      { function() local _ = nn.Dropout(2) end, "Dropout" },
      { function() local _ = nn.StepLR(nn.SGD(model, { lr = 1 }), { step_size = 0 }) end, "StepLR" },
    }
    for _, c in ipairs(cases) do
      local info = debug.getinfo(c[1], "S")
      local msg = at_line(info.linedefined, c[1], c[2])
      assert.truthy(msg:find("^bad argument #%d to '" .. c[2] .. "'"), msg)
    end
  end)
end)

describe("load_state_dict", function()
  it("raises the message that comes with a nil state dict (io.load of a missing file)", function()
    local m = nn.mlp { 2, 3, seed = 1 }
    local path = os.tmpname() .. ".missing.pt"
    local line = here() + 1
    local msg = at_line(line, function() local _ = m:load_state_dict(lt.io.load(path)) end)
    assert.equal(select(2, lt.io.load(path)), msg)
    assert.truthy(msg:find(path, 1, true), msg)
    -- nil alone still says what was expected
    msg = at_line(here(), function() local _ = m:load_state_dict(nil) end)
    assert.equal("bad argument #1 to 'load_state_dict' (state dict table expected, got nil)", msg)
  end)
end)
