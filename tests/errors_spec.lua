-- errors_spec.lua: every family of tensor function refuses bad input with a
-- message of the form "bad argument #N to 'name' (reason)" and never crashes.
local lt = require "lunette"
local T = lt.tensor

-- Asserts fn raises an error whose message contains every pattern (plain).
local function fails(fn, ...)
  local ok, err = pcall(fn)
  assert.is_false(ok, "expected an error")
  err = tostring(err)
  for _, p in ipairs { ... } do
    assert.truthy(err:find(p, 1, true), ("message %q lacks %q"):format(err, p))
  end
  return err
end

describe("constructors", function()
  it("reject negative, fractional and non-numeric sizes", function()
    fails(function() lt.zeros(-1) end, "bad argument #1 to 'zeros'", "non-negative")
    fails(function() lt.ones(2, 3.5) end, "bad argument #1 to 'ones'", "got 3.5")
    fails(function() lt.zeros(2.5) end, "size must be a non-negative integer, got 2.5")
    fails(function() lt.ones({2, "x"}) end, "size must be a non-negative integer")
    fails(function() lt.empty(1, 2, 3, 4, 5, 6, 7, 8, 9) end, "at most 8 dims")
  end)

  it("reject unknown dtypes by name", function()
    fails(function() lt.zeros(2, "float128") end, "unknown dtype 'float128'")
    fails(function() T{1}:to("complex") end, "bad argument #2 to 'to'", "unknown dtype 'complex'")
  end)

  it("refuse sizes whose element count overflows, naming the function", function()
    fails(function() lt.zeros(2^40, 2^40) end, "bad argument #1 to 'zeros'",
      "shape [1099511627776x1099511627776] has too many elements")
    fails(function() lt.zeros(4611686018427387904, 4) end, "bad argument #1 to 'zeros'",
      "[4611686018427387904x4] has too many elements")
    -- a zero size does not excuse the others: strides are still their products
    fails(function() lt.empty(0, 1 << 62, 4) end, "bad argument #1 to 'empty'", "too many elements")
  end)

  -- issue 13 (4): the message used to be "invalid option '%z' to 'lua_pushfstring'"
  it("refuse a tensor past the storage limit with its real message", function()
    fails(function() lt.zeros(1 << 45) end, "bad argument #1 to 'zeros'",
      "tensor too large: [35184372088832] float32 needs 140737488355328 bytes",
      "over the limit of 70368744177664")
    fails(function() lt.ones(1 << 44, "float64") end, "bad argument #1 to 'ones'",
      "tensor too large")
  end)

  it("check arange, linspace and eye", function()
    fails(function() lt.arange(0, 10, 0) end, "bad argument #3 to 'arange'", "non-zero")
    fails(function() lt.arange(0, 1 / 0) end, "finite")
    fails(function() lt.linspace(0, 1, -2) end, "bad argument #3 to 'linspace'")
    fails(function() lt.eye(-1) end, "bad argument #1 to 'eye'")
  end)

  it("check tensor() input", function()
    fails(function() lt.tensor("abc") end, "bad argument #1 to 'tensor'")
    fails(function() T{{1, 2}, {3}} end, "ragged")
    fails(function() T{{1}, 2} end, "ragged")
  end)
end)

describe("shape mismatches name both shapes", function()
  it("in broadcasting arithmetic", function()
    fails(function() return lt.zeros(3, 4) + lt.zeros(5) end, "bad argument #2 to 'add'", "[3x4] and [5]")
    fails(function() return lt.zeros(2, 3) * lt.zeros(3, 2) end, "'mul'", "[2x3] and [3x2]")
    fails(function() lt.where(T{true}, lt.zeros(2), lt.zeros(3)) end, "'where'", "do not broadcast")
  end)

  it("in reshape, view and expand", function()
    fails(function() lt.zeros(3, 4):reshape(5, 2) end, "bad argument #2 to 'reshape'", "[3x4]", "[5x2]")
    fails(function() lt.zeros(3, 4):reshape(-1, -1) end, "only one size may be -1")
    fails(function() lt.zeros(3):expand(2, 4) end, "cannot expand [3] to [2x4]")
  end)

  it("in copy_, cat and masks", function()
    fails(function() lt.zeros(2, 2):copy_(lt.zeros(3)) end, "bad argument #2 to 'copy_'", "[3]", "[2x2]")
    fails(function() lt.cat({lt.zeros(2, 2), lt.zeros(2, 3)}) end, "'cat'", "[2x3]", "[2x2]")
    fails(function() lt.zeros(2, 2):masked_select(T{true, false, true}) end, "mask [3]", "[2x2]")
  end)
end)

describe("dims and indices", function()
  it("reject out-of-range and non-integer dims", function()
    fails(function() lt.zeros(2, 3):sum(3) end, "bad argument #2 to 'sum'", "dim 3 out of range for a 2-d tensor")
    fails(function() lt.zeros(2, 3):sum(0) end, "dim 0 out of range")
    fails(function() lt.zeros(2, 3):transpose(1, 5) end, "'transpose'", "dim 5")
    fails(function() lt.zeros(2, 3):mean(1.5) end, "dim must be an integer, got 1.5")
    fails(function() lt.zeros(2, 3):sum({1, 1}) end, "dim 1 repeated")
    fails(function() lt.zeros(2, 2):permute(1, 1) end, "permutation")
  end)

  it("reject out-of-range indices and slices", function()
    local a = lt.zeros(3, 4)
    fails(function() return a[4] end, "bad argument #3 to 'select'", "index 4 out of range for size 3")
    fails(function() return a:get(1, 9) end, "'get'", "index 9 out of range for dim 2 of size 4")
    fails(function() return a:slice(2, 1, 9) end, "'slice'", "last index 9 out of range for size 4")
    fails(function() return a:slice(1, 1, 2, 0) end, "step must be >= 1")
    fails(function() return a:narrow(1, 2, 5) end, "'narrow'", "exceeds size 3")
    fails(function() return a[{1, 2, 3}] end, "too many indices")
    fails(function() return a[{"x"}] end, "must be an integer")
  end)

  it("reject bad index tensors", function()
    fails(function() T{1, 2}:index_select(1, T{1.5}) end, "integer index tensor expected, got float32")
    fails(function() T{1, 2}:index_select(1, {1, "a"}) end, "non-integer")
    fails(function() T{{1, 2}}:gather(2, T{1, 2}) end, "as many dims")
    fails(function() T{1, 2}:masked_select(T{1, 0}) end, "bool mask expected, got int64")
    fails(function() T{1, 2}:masked_assign_(T{true, true}, T{1, 2, 3}) end, "must hold 1 or 2 values")
  end)
end)

describe("wrong types", function()
  it("name the expected type", function()
    fails(function() return lt.zeros(2) + "x" end, "'add'", "tensor or number expected, got string")
    fails(function() return lt.exp(5) end, "bad argument #1 to 'exp'", "tensor expected, got number")
    fails(function() lt.sum({}) end, "bad argument #1 to 'sum'", "tensor expected, got table")
    fails(function() lt.zeros(2):clamp("a") end, "clamp")
    fails(function() lt.zeros(2):fill_({}) end, "bad argument #2 to 'fill_'")
    fails(function() lt.cat({lt.zeros(1), 5}) end, "element 2 is not a tensor")
    fails(function() lt.zeros(2).foo = 1 end, "cannot assign to field 'foo'")
  end)

  it("dtype restrictions", function()
    fails(function() T{1.5}:bincount() end, "1-d integer tensor expected, got float32")
    fails(function() T{1, 2}:div_(2) end, "in-place true division needs a float tensor")
    fails(function() T{1, 2}:item() end, "a tensor with one element expected, got shape [2]")
  end)
end)

describe("empty tensors and NaN", function()
  it("reductions of empty tensors", function()
    assert.equal(0, lt.zeros(0):sum())
    assert.is_true(lt.zeros(0):mean() ~= lt.zeros(0):mean()) -- NaN, as numpy
    fails(function() lt.zeros(0, 3):max() end, "cannot reduce an empty tensor [0x3]")
    fails(function() lt.zeros(0):argmin() end, "'argmin'", "empty")
    assert.same({3}, lt.zeros(0, 3):sum(1):size())
  end)

  it("ops on empty tensors return empty tensors", function()
    local e = lt.zeros(0, 4)
    assert.equal(0, (e + 1):numel())
    assert.equal(0, e:exp():numel())
    assert.same({0, 4}, e:sort(2):size())
    assert.equal(0, e:t():contiguous():numel())
    assert.equal(0, lt.cat({e, e}):numel())
    assert.equal(0, T{1, 2}:masked_select(T{false, false}):numel())
  end)

  it("NaN input is refused where it matters", function()
    fails(function() lt.zeros(2):clamp(0 / 0, 1) end, "bound is NaN")
    fails(function() T{1}:histogram(2, 0, 0 / 0) end, "not finite")
    local c = T{0 / 0, 1, 2}:histogram(2)
    assert.equal(2, c:sum()) -- NaN ignored, not crashed on
  end)
end)

describe("hostile sizes", function()
  it("frombytes refuses mismatched byte counts", function()
    fails(function() lt.frombytes(("x"):rep(7), "float32", {2}) end, "7 bytes do not make")
    fails(function() lt.frombytes("", "float64", {-1}) end, "non-negative")
  end)

  it("histogram and bincount bound their allocations", function()
    fails(function() T{1}:histogram(0) end, "bins must be in 1..1e8")
    fails(function() T{1}:histogram(10^12) end, "bins must be in 1..1e8")
  end)

  -- issue 13 (3): expand(1<<62, 1<<62) gave numel 0, expand(3, 1<<62) a
  -- negative numel; every size product is now checked
  it("expand, reshape and view refuse shapes whose element count overflows", function()
    local one = lt.ones(1, 1)
    fails(function() one:expand(1 << 62, 1 << 62) end, "bad argument #2 to 'expand'",
      "shape [4611686018427387904x4611686018427387904] has too many elements")
    fails(function() one:expand(3, 1 << 62) end, "bad argument #2 to 'expand'",
      "shape [3x4611686018427387904] has too many elements")
    fails(function() one:expand(-1, 1 << 62):expand(4, -1, -1) end, "'expand'", "too many elements")
    fails(function() lt.ones(4):reshape(1 << 62, 1 << 62, -1) end, "bad argument #2 to 'reshape'",
      "too many elements")
    fails(function() lt.ones(4):view(1 << 62, 4, 0) end, "bad argument #2 to 'view'",
      "too many elements")
    -- views that fit stay views, with exact counts
    local big = lt.ones(1, 1, "uint8"):expand(1 << 30, 1 << 31)
    assert.equal(1 << 61, big:numel())
    assert.equal(1 << 61, big:nbytes())
    assert.equal(1 << 61, big:flatten():numel())
    assert.same({ 1 << 20, 1 << 41 }, big:reshape(1 << 20, -1):size())
    fails(function() big:contiguous() end, "contiguous", "tensor too large")
  end)

  it("constructors, random draws and index ops name themselves on overflow", function()
    local huge, many = 1 << 40, "too many elements"
    fails(function() lt.randn(huge, huge) end, "bad argument #1 to 'randn'", many)
    fails(function() lt.rand({ huge, huge }) end, "bad argument #1 to 'rand'", many)
    fails(function() lt.randint(1, 3, 1 << 62, 4) end, "bad argument #3 to 'randint'", many)
    fails(function() lt.randperm(1 << 62) end, "bad argument #1 to 'randperm'", many)
    fails(function() lt.random.choice(10, 1 << 62, { replace = true }) end,
      "bad argument #2 to 'choice'")
    fails(function() lt.linspace(0, 1, math.maxinteger) end, "bad argument #3 to 'linspace'", many)
    fails(function() lt.eye(huge) end, "bad argument #1 to 'eye'", many)
    fails(function() T{1, 2}:one_hot(1 << 62) end, "bad argument #2 to 'one_hot'", many)
    fails(function() T{math.maxinteger}:bincount() end, "bad argument #1 to 'bincount'",
      "too many bins")
    fails(function() T{1}:bincount(1 << 60) end, "bad argument #2 to 'bincount'", many)
    local row = lt.ones(1, "uint8"):expand(1 << 61)
    fails(function() lt.cat({ row, row, row, row, row }) end, "bad argument #1 to 'cat'", many)
    local short = lt.ones(1, "uint8"):expand(1 << 50)
    fails(function() lt.cat({ short, short }) end, "bad argument #1 to 'cat'", "tensor too large")
    fails(function() lt.stack({ row, row }) end, "bad argument #1 to 'stack'", many)
    -- a table holding the same row 1e5 times, four levels deep: 1e20 elements
    local nested = {}
    for i = 1, 100000 do nested[i] = 0 end
    for _ = 1, 3 do
      local up = {}
      for i = 1, 100000 do up[i] = nested end
      nested = up
    end
    fails(function() lt.tensor(nested) end, "bad argument #1 to 'tensor'", many)
    local col = lt.ones(1, 1):expand(huge, 1)
    fails(function() return col + col:t() end,
      "add: shape [1099511627776x1099511627776] has too many elements")
  end)

  it("narrow, slice and layer geometry never overflow", function()
    local nn, big = lt.nn, math.maxinteger
    fails(function() lt.ones(3):narrow(1, 2, big) end, "bad argument #4 to 'narrow'",
      "exceeds size 3")
    assert.same({ 1 }, lt.ones(3):slice(1, 1, -1, big):size())
    fails(function() nn.Linear(1 << 62, 4) end, "bad argument #2 to 'Linear'", "too many elements")
    fails(function() nn.Conv2d(3, 4, { 1 << 32, 1 << 32 }) end, "bad argument #3 to 'Conv2d'",
      "too many elements")
    local x = lt.ones(1, 3, 8, 8)
    fails(function() nn.Conv2d(3, 4, 3, { padding = 1 << 62 })(x) end, "'conv2d'",
      "smaller than the kernel")
    fails(function() nn.Conv2d(3, 4, 3, { dilation = 1 << 62 })(x) end, "'conv2d'",
      "smaller than the kernel")
    assert.same({ 1, 4, 1, 1 }, nn.Conv2d(3, 4, 3, { stride = big })(x):size())
    fails(function() nn.MaxPool2d(big)(x) end, "'max_pool2d'", "does not fit")
    local pool = nn.MaxPool2d(2, { padding = 1, stride = big, ceil_mode = true })
    assert.same({ 1, 3, 1, 1 }, pool(x):size())
    fails(function() nn.AdaptiveAvgPool2d(1 << 40)(x) end, "'adaptive_avg_pool2d'",
      "too many elements")
  end)

  it("topk and chunk check their counts", function()
    fails(function() T{1, 2}:topk(-1) end, "'topk'", "out of range")
    fails(function() T{1, 2}:chunk(0) end, "'chunk'", "positive integer count")
    fails(function() T{1, 2}:split(1.5) end, "'split'")
  end)
end)
