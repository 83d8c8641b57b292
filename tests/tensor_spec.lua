-- tensor_spec.lua: construction, views, indexing, elementwise ops, reductions, printing, memory.
local lt = require "lunette"
local T = lt.tensor

local function close(a, b, tol) return math.abs(a - b) <= (tol or 1e-6) * math.max(1, math.abs(b)) end
local function same(t, expected) assert.are.same(expected, t:totable()) end

describe("construction", function()
  it("infers dtypes from nested tables like numpy", function()
    assert.equal("int64", T{1, 2, 3}:dtype())
    assert.equal("float32", T{1, 2.5}:dtype())
    assert.equal("bool", T{true, false}:dtype())
    assert.equal("float64", T({1, 2}, "float64"):dtype())
    assert.same({2, 3}, T{{1, 2, 3}, {4, 5, 6}}:size())
  end)

  it("rejects ragged and non-numeric tables", function()
    assert.has_error(function() T{{1, 2}, {3}} end)
    assert.error_matches(function() T{1, "x"} end, "number expected")
  end)

  it("zeros/ones/full/empty accept sizes, tables and dtypes", function()
    same(lt.zeros(2, 2), {{0, 0}, {0, 0}})
    same(lt.ones({3}, "int64"), {1, 1, 1})
    assert.equal("int32", lt.zeros(2, {dtype = "int32"}):dtype())
    same(lt.full({2}, 7), {7, 7})
    assert.same({4, 0}, lt.empty(4, 0):size())
    assert.equal(0, lt.zeros(0):numel())
  end)

  it("arange and linspace match numpy", function()
    same(lt.arange(5), {0, 1, 2, 3, 4})
    same(lt.arange(1, 2, 0.25), {1, 1.25, 1.5, 1.75})
    assert.equal("int64", lt.arange(3):dtype())
    same(lt.arange(5, 1, -2), {5, 3})
    local l = lt.linspace(0, 1, 5):totable()
    assert.same({0, 0.25, 0.5, 0.75, 1}, l)
    assert.equal(0, lt.arange(3, 3):numel())
  end)

  it("eye and *_like", function()
    same(lt.eye(2, 3), {{1, 0, 0}, {0, 1, 0}})
    local a = T({{1, 2}}, "float64")
    assert.equal("float64", lt.zeros_like(a):dtype())
    same(lt.ones_like(a), {{1, 1}})
    same(lt.full_like(a, 3), {{3, 3}})
    assert.same({1, 2}, lt.empty_like(a):size())
  end)

  it("round-trips through bytes", function()
    local a = T({{1.5, -2}, {3, 4}}, "float32")
    local s = a:tobytes()
    assert.equal(16, #s)
    assert.same(a:totable(), lt.frombytes(s, "float32", {2, 2}):totable())
    assert.error_matches(function() lt.frombytes("abc", "float32", {1}) end, "bytes do not make")
  end)

  it("item, get and scalars", function()
    assert.equal(5, T{5}:item())
    assert.equal(6, T{{1, 2}, {3, 6}}:get(2, 2))
    assert.equal(6, T{{1, 2}, {3, 6}}:get(-1, -1))
    assert.equal(2.5, T(2.5):item())
    assert.equal(0, T(2.5):dim())
  end)

  it("converts between every dtype", function()
    local a = T{-1.5, 0, 2.7, 300}
    same(a:to("int64"), {-1, 0, 2, 300})
    same(a:to("uint8"), {0, 0, 2, 255}) -- saturates
    same(a:to("bool"), {true, false, true, true})
    same(a:to("float64"), {-1.5, 0, 2.700000047683716, 300})
    same(T{1, 2, 65504}:to("float16"):to("float32"), {1, 2, 65504})
    same(T{1, 0.1}:to("bfloat16"):to("float32"), {1, 0.10009765625})
    assert.equal(math.huge, T{70000}:to("float16"):to("float32")[1])
  end)

  it("float16 rounds to nearest even and keeps subnormals", function()
    same(T({2049, 2051, 6e-8}, "float32"):to("float16"):to("float64"), {2048, 2052, 5.960464477539063e-08})
    local n = T{0 / 0}:to("float16"):to("float32")[1]
    assert.is_true(n ~= n)
  end)
end)

describe("views", function()
  it("reshape/view share memory with the base", function()
    local a = lt.arange(6)
    local b = a:reshape(2, 3)
    b[{1, 1}] = 42
    assert.equal(42, a[1])
    assert.is_true(a:same_storage(b))
    assert.same({3, 2}, a:view(3, -1):size())
  end)

  it("reshape copies when strides forbid a view, view refuses", function()
    local a = lt.arange(6):reshape(2, 3):t()
    local r = a:reshape(6)
    same(r, {0, 3, 1, 4, 2, 5})
    assert.is_false(a:same_storage(r))
    assert.error_matches(function() a:view(6) end, "cannot be viewed")
  end)

  it("transpose, permute and contiguous", function()
    local a = lt.arange(24):reshape(2, 3, 4)
    local p = a:permute(3, 1, 2)
    assert.same({4, 2, 3}, p:size())
    assert.equal(a:get(2, 3, 4), p:get(4, 2, 3))
    assert.is_false(p:is_contiguous())
    assert.is_true(p:contiguous():is_contiguous())
    same(lt.arange(6):reshape(2, 3):t(), {{0, 3}, {1, 4}, {2, 5}})
  end)

  it("slice with 1-based inclusive ranges, steps and negatives", function()
    local a = lt.arange(10)
    same(a:slice(1, 2, 4), {1, 2, 3})
    same(a:slice(1, 1, -1, 3), {0, 3, 6, 9})
    same(a:slice(1, -3), {7, 8, 9})
    same(a[{{2, 4}}], {1, 2, 3})
    same(a[{{1, 10, 4}}], {0, 4, 8})
    assert.equal(0, a:slice(1, 5, 4):numel())
  end)

  it("select, narrow, squeeze, unsqueeze, expand, flatten, diagonal", function()
    local a = lt.arange(12):reshape(3, 4)
    same(a:select(1, 2), {4, 5, 6, 7})
    same(a:select(2, -1), {3, 7, 11})
    same(a:narrow(2, 2, 2), {{1, 2}, {5, 6}, {9, 10}})
    assert.same({3, 1, 4}, a:unsqueeze(2):size())
    assert.same({3, 4}, a:unsqueeze(1):squeeze():size())
    assert.same({2, 3, 4}, a:expand(2, 3, 4):size())
    assert.same({12}, a:flatten():size())
    same(a:narrow(2, 1, 3):diagonal(), {0, 5, 10})
  end)

  it("a view keeps its base alive after the base is collected", function()
    local v
    do v = lt.arange(1000):reshape(10, 100):select(1, 10) end
    collectgarbage(); collectgarbage()
    assert.equal(999, v[100])
  end)

  it("multi-dim index syntax", function()
    local a = lt.arange(24):reshape(2, 3, 4)
    assert.equal(23, a[{2, 3, 4}])
    same(a[{2, {}, 1}], {12, 16, 20})
    same(a[{1, {2, 3}, {1, 4, 3}}], {{4, 7}, {8, 11}})
    same(a[{":", 1, 1}], {0, 12})
    same(a[2][3], {20, 21, 22, 23})
    assert.equal(2, #a)
    assert.same({2, 3, 4}, a.shape)
    assert.equal(3, a.ndim)
  end)

  it("assignment through indices, slices and masks", function()
    local a = lt.zeros(3, 3)
    a[2] = 5
    a[{{1, 3}, 3}] = T{7, 8, 9}
    a[{1, 1}] = -1
    same(a, {{-1, 0, 7}, {5, 5, 8}, {0, 0, 9}})
    a[a:lt(0)] = 100
    assert.equal(100, a[1][1])
    local b = lt.arange(5)
    b[b:gt(2)] = T{30, 40}
    same(b, {0, 1, 2, 30, 40})
  end)
end)

describe("indexing ops", function()
  it("index_select, gather and scatter", function()
    local a = T{{1, 2, 3}, {4, 5, 6}}
    same(a:index_select(2, {3, 1}), {{3, 1}, {6, 4}})
    same(a:index_select(1, T{2, 2}), {{4, 5, 6}, {4, 5, 6}})
    same(a:gather(2, T{{3, 1}, {2, 2}}), {{3, 1}, {5, 5}})
    same(lt.zeros(2, 3):scatter(2, T{{1}, {3}}, 9), {{9, 0, 0}, {0, 0, 9}})
    same(lt.zeros(3):scatter_add(1, T{1, 1, 3}, T{1, 2, 5}), {3, 0, 5})
    same(a[T{2}], {{4, 5, 6}})
  end)

  it("rejects out-of-range indices with the index and size", function()
    local a = T{1, 2, 3}
    assert.error_matches(function() a:index_select(1, {4}) end, "index 4 out of range for size 3")
    assert.error_matches(function() a:gather(1, T{0}) end, "index 0 out of range")
  end)

  it("masked_select, masked_fill, nonzero", function()
    local a = T{{1, -2}, {-3, 4}}
    same(a:masked_select(a:gt(0)), {1, 4})
    same(a:masked_fill(a:lt(0), 0), {{1, 0}, {0, 4}})
    same(a[a:lt(0)], {-2, -3})
    same(a:gt(0):nonzero(), {{1, 1}, {2, 2}})
  end)

  it("cat, stack, split, chunk and one_hot", function()
    local a, b = T{{1, 2}}, T{{3, 4}}
    same(lt.cat({a, b}), {{1, 2}, {3, 4}})
    same(lt.cat({a, b}, 2), {{1, 2, 3, 4}})
    same(lt.stack({T{1, 2}, T{3, 4}}, 2), {{1, 3}, {2, 4}})
    local parts = lt.arange(7):split(3)
    assert.equal(3, #parts); same(parts[3], {6})
    assert.equal(2, #lt.arange(4):chunk(2))
    same(lt.one_hot(T{1, 3}, 3), {{1, 0, 0}, {0, 0, 1}})
    assert.error_matches(function() lt.cat({a, T{1, 2, 3}}) end, "shape mismatch")
  end)
end)

describe("elementwise", function()
  it("broadcasts numpy-style", function()
    local a = lt.arange(6):reshape(2, 3)
    same(a + T{10, 20, 30}, {{10, 21, 32}, {13, 24, 35}})
    same(a + T{{100}, {200}}, {{100, 101, 102}, {203, 204, 205}})
    assert.same({4, 2, 3}, (a + lt.zeros(4, 1, 1, "int64")):size())
    assert.error_matches(function() return a + T{1, 2} end, "shape mismatch: %[2x3%] and %[2%] do not broadcast")
  end)

  it("mixes numbers on either side and promotes dtypes", function()
    local a = T{1, 2, 3}
    same(2 - a, {1, 0, -1})
    same(a * 2, {2, 4, 6})
    assert.equal("float32", (a * 0.5):dtype())
    assert.equal("float32", (a / 2):dtype())
    same(a / 2, {0.5, 1, 1.5})
    assert.equal("float64", (T({1}, "float64") + T({1}, "float32")):dtype())
    assert.equal("int64", (T{true} + 1):dtype())
    same(-a, {-1, -2, -3})
    same(a ^ 2, {1, 4, 9})
  end)

  it("integer floor division and remainder follow Lua's rules", function()
    local a = T{7, -7, 7, -7}
    local b = T{2, 2, -2, -2}
    same(a // b, {7 // 2, -7 // 2, 7 // -2, -7 // -2})
    same(a % b, {7 % 2, -7 % 2, 7 % -2, -7 % -2})
    same(T{7.5} % 2, {1.5})
  end)

  it("math functions agree with Lua's math library", function()
    local xs = {0.1, 0.5, 1, 2, 3.5}
    local t = T(xs, "float64")
    local checks = {
      exp = math.exp, log = math.log, sqrt = math.sqrt, sin = math.sin, cos = math.cos,
      tanh = function(x) return (math.exp(x) - math.exp(-x)) / (math.exp(x) + math.exp(-x)) end,
      sigmoid = function(x) return 1 / (1 + math.exp(-x)) end,
      log1p = function(x) return math.log(1 + x) end, abs = math.abs, floor = math.floor,
      ceil = math.ceil, atan = math.atan,
    }
    for name, f in pairs(checks) do
      local r = t[name](t):totable()
      for i, x in ipairs(xs) do assert.is_true(close(r[i], f(x), 1e-12), name) end
    end
    local f32 = T(xs):exp():totable()
    for i, x in ipairs(xs) do assert.is_true(close(f32[i], math.exp(x), 1e-6)) end
  end)

  it("relu, sign, clamp, where, maximum/minimum", function()
    local a = T{-2, -0.5, 0, 3}
    same(a:relu(), {0, 0, 0, 3})
    same(a:sign(), {-1, -1, 0, 1})
    same(a:clamp(-1, 1), {-1, -0.5, 0, 1})
    same(a:clamp(nil, 0), {-2, -0.5, 0, 0})
    same(lt.where(a:gt(0), a, 0), {0, 0, 0, 3})
    same(lt.maximum(a, T{0}), {0, 0, 0, 3})
    same(lt.minimum(a, 0), {-2, -0.5, 0, 0})
    assert.error_matches(function() a:clamp(1, -1) end, "below min")
  end)

  it("comparisons give bool tensors; logical ops combine them", function()
    local a = T{1, 2, 3}
    same(a:eq(2), {false, true, false})
    same(a:ne(2), {true, false, true})
    same(a:le(2), {true, true, false})
    same(a:ge(T{3, 2, 1}), {false, true, true})
    same(lt.logical_and(a:gt(1), a:lt(3)), {false, true, false})
    same(a:gt(1):logical_not(), {true, false, false})
    assert.is_true(a:equal(T{1, 2, 3}))
    assert.is_false(a:equal(T{1, 2}))
  end)

  it("in-place variants write into the tensor and return it", function()
    local a = T{1, 2, 3}
    local r = a:add_(1)
    assert.equal(a, r)
    same(a, {2, 3, 4})
    a:mul_(T{2, 2, 2})
    same(a, {4, 6, 8})
    local f = T({1, 4}, "float32")
    f:sqrt_()
    same(f, {1, 2})
    assert.error_matches(function() T{1, 2}:exp_() end, "in place needs a float32 tensor")
    assert.error_matches(function() T{1, 2}:add_(lt.zeros(3, 2, "int64")) end, "cannot be broadcast")
  end)

  it("works on non-contiguous and broadcast views", function()
    local a = lt.arange(12, "float32"):reshape(3, 4):t()
    local s = a + 1
    assert.equal(a:get(4, 3) + 1, s:get(4, 3))
    local e = a:slice(1, 1, 4, 2):exp()
    assert.is_true(close(e:get(2, 3), math.exp(a:get(3, 3)), 1e-6))
  end)

  it("handles NaN and infinities", function()
    local a = T{0 / 0, 1, math.huge}
    local isn = a:isnan():totable()
    assert.same({true, false, false}, isn)
    assert.same({false, false, true}, a:isinf():totable())
    assert.same({false, true, false}, a:isfinite():totable())
    local m = a:max()
    assert.is_true(m ~= m) -- NaN propagates
  end)
end)

describe("reductions", function()
  local a = T{{1, 2, 3}, {4, 5, 6}}

  it("sum/mean over all, one or several dims, with keepdim", function()
    assert.equal(21, a:sum())
    assert.equal(3.5, a:mean())
    same(a:sum(1), {5, 7, 9})
    same(a:sum(2), {6, 15})
    same(a:sum(-1, true), {{6}, {15}})
    assert.equal(21, a:sum({1, 2}):item())
    same(a:mean(1), {2.5, 3.5, 4.5})
    assert.equal("float32", a:mean(1):dtype())
  end)

  it("reduces non-adjacent dims of a 3-d tensor", function()
    local b = lt.arange(24):reshape(2, 3, 4)
    local s = b:sum({1, 3})
    local expect = {}
    for j = 1, 3 do
      local acc = 0
      for i = 1, 2 do for k = 1, 4 do acc = acc + b:get(i, j, k) end end
      expect[j] = acc
    end
    same(s, expect)
  end)

  it("var and std, unbiased by default", function()
    local x = T{2, 4, 4, 4, 5, 5, 7, 9}
    assert.is_true(close(x:var(nil, false, false), 4))
    assert.is_true(close(x:std(nil, false, false), 2))
    assert.is_true(close(x:var(), 32 / 7))
    local v = a:var(2):totable()
    assert.is_true(close(v[1], 1) and close(v[2], 1))
  end)

  it("max/min with dim return values and 1-based indices", function()
    local v, i = a:max(2)
    same(v, {3, 6}); same(i, {3, 3})
    v, i = a:min(1)
    same(v, {1, 2, 3}); same(i, {1, 1, 1})
    assert.equal(6, a:argmax())
    same(T{{5, 1, 5}}:argmax(2), {1}) -- first of ties
    same(a:argmin(1), {1, 1, 1})
    assert.error_matches(function() lt.zeros(0):max() end, "empty")
  end)

  it("norms, prod, logsumexp, count_nonzero", function()
    local x = T{3, -4}
    assert.is_true(close(x:norm(), 5))
    assert.is_true(close(x:norm(1), 7))
    assert.is_true(close(x:norm(math.huge), 4))
    assert.equal(720, a:prod())
    same(a:prod(2), {6, 120})
    assert.is_true(close(T{0, 0}:logsumexp(), math.log(2)))
    assert.is_true(close(T({1000, 1000}, "float64"):logsumexp(), 1000 + math.log(2)))
    assert.equal(2, T{0, 1, 0, 3}:count_nonzero())
  end)

  it("all/any", function()
    assert.is_true(T{true, true}:all())
    assert.is_false(T{true, false}:all())
    assert.is_true(T{0, 2}:any())
    same(T{{true, false}, {true, true}}:all(2), {false, true})
  end)

  it("cumsum and cumprod", function()
    same(T{1, 2, 3}:cumsum(), {1, 3, 6})
    same(a:cumsum(1), {{1, 2, 3}, {5, 7, 9}})
    same(a:cumprod(2), {{1, 2, 6}, {4, 20, 120}})
  end)

  it("sums 10^6 float32 values accurately", function()
    local x = lt.full({1000000}, 0.1)
    assert.is_true(close(x:sum(), 1e6 * 0.10000000149011612, 1e-12))
  end)

  it("large reductions do not depend on blocking", function()
    local n = 300000
    local x = lt.arange(n, "float64")
    assert.equal(n * (n - 1) / 2, x:sum())
    local m = x:reshape(600, 500)
    assert.equal(n * (n - 1) / 2, m:sum(1):sum())
    assert.equal(n * (n - 1) / 2, m:sum(2):sum())
    local _, idx = m:max(1)
    assert.is_true(idx:eq(600):all())
  end)
end)

describe("sorting and counting", function()
  it("sort is stable and puts NaN last", function()
    local v, i = T{3, 1, 2, 1}:sort()
    same(v, {1, 1, 2, 3}); same(i, {2, 4, 3, 1})
    v, i = T{3, 1, 2}:sort(1, true)
    same(v, {3, 2, 1}); same(i, {1, 3, 2})
    local s = T{2, 0 / 0, 1}:sort():totable()
    assert.equal(1, s[1]); assert.equal(2, s[2]); assert.is_true(s[3] ~= s[3])
  end)

  it("sorts along any dim", function()
    local m = T{{3, 1}, {1, 2}}
    local v, i = m:sort(1)
    same(v, {{1, 1}, {3, 2}}); same(i, {{2, 1}, {1, 2}})
  end)

  it("topk and unique", function()
    local v, i = T{5, 1, 9, 3}:topk(2)
    same(v, {9, 5}); same(i, {3, 1})
    v = T{5, 1, 9, 3}:topk(2, 1, false)
    same(v, {1, 3})
    local u, c = T{3, 1, 3, 2, 1, 3}:unique()
    same(u, {1, 2, 3}); same(c, {2, 1, 3})
    assert.error_matches(function() T{1, 2}:topk(3) end, "k = 3 out of range")
  end)

  it("bincount and histogram", function()
    same(T{0, 1, 1, 3}:bincount(), {1, 2, 0, 1})
    same(T{0, 1}:bincount(4), {1, 1, 0, 0})
    same(T{0, 1, 1}:bincount(nil, T{0.5, 1, 2}), {0.5, 3})
    local counts, edges = T{0, 0.1, 0.5, 0.9, 1}:histogram(2, 0, 1)
    same(counts, {2, 3}); same(edges, {0, 0.5, 1})
    assert.error_matches(function() T{-1}:bincount() end, "negative value")
  end)
end)

describe("normalize and helpers", function()
  it("normalize rows to unit L2 norm", function()
    local x = T{{3, 4}, {0, 0}}
    local n = x:normalize(2)
    same(n, {{0.6000000238418579, 0.800000011920929}, {0, 0}})
  end)

  it("allclose", function()
    assert.is_true(T{1, 2}:allclose(T{1, 2 + 1e-7}))
    assert.is_false(T{1, 2}:allclose(T{1, 2.1}))
  end)
end)

describe("printing", function()
  it("shows dtype, shape and aligned columns", function()
    local s = tostring(T{{1, 22}, {333, 4}})
    assert.equal("Tensor int64 [2x2]\n[[  1,  22],\n [333,   4]]", s)
    assert.equal("Tensor float32 [3]\n[0.5 , 1.  , 1.25]", tostring(T{0.5, 1, 1.25}))
  end)

  it("summarises large tensors with ...", function()
    local s = tostring(lt.arange(10000):reshape(100, 100))
    assert.truthy(s:find("...", 1, true))
    assert.truthy(s:find("[100x100]", 1, true))
    assert.truthy(s:find("9999", 1, true))
    assert.is_true(#s < 2000)
  end)

  it("uses scientific notation for wide ranges and honours precision", function()
    local s = tostring(T{1e-5, 1, 1e5})
    assert.truthy(s:find("e-05", 1, true))
    lt.tensor.set_printoptions{precision = 2}
    local p = tostring(T{math.pi})
    lt.tensor.set_printoptions{precision = 4}
    assert.truthy(p:find("3.14", 1, true))
    assert.falsy(p:find("3.142", 1, true))
  end)

  it("prints empty and 0-d tensors", function()
    assert.equal("Tensor float32 [0] (empty)", tostring(lt.zeros(0)))
    assert.equal("Tensor int64 []\n7", tostring(T(7)))
  end)
end)

describe("memory", function()
  it("counts live tensor bytes and gives them back", function()
    collectgarbage(); collectgarbage()
    local before = lt.memory()
    local x = lt.zeros(1000, 1000)
    assert.equal(before + 4000000, lt.memory())
    x = nil
    collectgarbage(); collectgarbage()
    assert.equal(before, lt.memory())
  end)

  it("keeps RSS flat while creating gigabytes of temporaries", function()
    local function rss()
      local f = io.open("/proc/self/statm")
      if not f then return 0 end
      local _, res = f:read("n", "n"); f:close()
      return res * 4096
    end
    local x = lt.ones(2500, 1000) -- 10 MB
    for _ = 1, 20 do local y = (x + 1):exp() end
    local base = rss()
    for _ = 1, 150 do local y = (x + 1):exp() end -- 3 GB of temporaries in all
    local grown = rss() - base
    assert.is_true(grown < 200 * 1024 * 1024, ("RSS grew by %d bytes"):format(grown))
    assert.is_true(lt.memory() < 400 * 1024 * 1024)
  end)
end)

describe("isin and row masks", function()
  it("isin marks the elements found among the values", function()
    same(T.new { 5, 1, 9, 3 }:isin(T.new { 9, 5 }), { true, false, true, false })
    same(lt.isin(T.new { { 1.5, 2 }, { 3, 4 } }, { 2, 4.0 }), { { false, true }, { false, true } })
    same(T.new { -3, 1 << 40 }:isin { 1 << 40 }, { false, true })     -- a wide range goes through a set
    same(T.new { 1, 2 }:isin(lt.empty({ 0 }, "int64")), { false, false })
    assert.has_error(function() lt.isin(T.new { 1 }, "x") end, "bad argument #2 to 'isin' (tensor or table expected, got string)")
  end)

  it("a 1-d bool mask over the rows of a matrix keeps those rows, as numpy", function()
    local Y = T.new { { 1, 2 }, { 3, 4 }, { 5, 6 } }
    same(Y[T.new { true, false, true }], { { 1, 2 }, { 5, 6 } })
    assert.are.same({ 0, 2 }, Y[T.new { false, false, false }].shape)
    same(Y[Y:gt(3)], { 4, 5, 6 })                            -- a full-shape mask still flattens
    assert.has_error(function() return Y[T.new { true, false, true, true }] end)
  end)
end)

-- gather/scatter walked the index's shape in the input without checking it fits (a [2x5] index
-- on a [2x2] input read and wrote outside it); t:transpose(1) on a 1-d tensor swapped in a slot
-- past its shape.
describe("index shapes that do not fit the input", function()
  local lt = require "lunette"

  it("gather and scatter refuse an index larger than the input off dim", function()
    local t = lt.tensor({ { 1, 2 }, { 3, 4 } })
    local ix = lt.tensor({ { 1, 1, 1, 1, 1 }, { 2, 2, 2, 2, 2 } }, "int64")
    for _, name in ipairs { "gather", "scatter", "scatter_add", "scatter_", "scatter_add_" } do
      local ok, err = pcall(t[name], t, 1, ix, 0)
      assert.is_false(ok, name)
      assert.matches("bad argument #3 to '" .. name:gsub("_", "%%_")
                     .. "' %(index %[2x5%] is larger than the input %[2x2%] in dim 2%)", err)
    end
    assert.same({ 1, 2, 3, 4 }, t:flatten():totable())
    -- a smaller index still works, as torch allows
    assert.same({ { 2 }, { 3 } }, t:gather(2, lt.tensor({ { 2 }, { 1 } }, "int64")):totable())
  end)

  it("transpose of a 1-d tensor with one dim asks for the second", function()
    local v = lt.arange(1, 6):reshape(1, 5):select(2, 5)
    assert.has_error(function() v:transpose(1) end,
                     "bad argument #3 to 'transpose' (second dim required for a 1-d tensor)")
    assert.same({ 1, 2, 3, 4, 5 }, lt.arange(1, 6):transpose(1, 1):totable())
  end)
end)

-- A code review found values that crashed or came back silently wrong: sign and logsumexp of
-- infinities, int64 keys past 2^53 compared as doubles, fractional sizes read as 0, a 1-based
-- index shifted without a guard, dropped interrupt statuses, histograms over ranges whose width
-- overflows, and reductions over an empty dims table.
describe("review: infinities, int64 past 2^53, sizes, indices, statuses", function()
  local inf, nan = math.huge, 0 / 0
  local function isnan(x) return x ~= x end

  it("sign maps +-inf to +-1, +-0 to 0 and keeps NaN", function()
    for _, dt in ipairs { "float32", "float64", "float16", "bfloat16" } do
      local s = T({ inf, -inf, nan, 0, -0.0, 2.5, -3 }, dt):sign():totable()
      assert.same({ 1, -1 }, { s[1], s[2] }, dt)
      assert.is_true(isnan(s[3]), dt)
      assert.same({ 0, 0, 1, -1 }, { s[4], s[5], s[6], s[7] }, dt)
      local t = T({ -inf, inf }, dt)
      same(t:sign_(), { -1, 1 })
    end
  end)

  it("logsumexp of infinities and NaN, over all elements and over dims", function()
    for _, dt in ipairs { "float32", "float64" } do
      assert.equal(inf, T({ inf, inf }, dt):logsumexp(), dt)
      assert.equal(inf, T({ 1, inf, inf, -inf }, dt):logsumexp(), dt)
      assert.equal(-inf, T({ -inf, -inf }, dt):logsumexp(), dt)
      for _, v in ipairs { { nan }, { nan, 1 }, { -inf, nan }, { nan, -inf }, { inf, nan }, { nan, inf } } do
        assert.is_true(isnan(T(v, dt):logsumexp()), dt .. " " .. tostring(v[1]) .. " " .. tostring(v[2]))
      end
      -- rows reduced along their length, and columns (the strided path)
      local m = T({ { inf, inf }, { -inf, -inf }, { nan, 1 }, { inf, 1 }, { 0, 0 } }, dt)
      for _, r in ipairs { m:logsumexp(2):totable(), m:t():contiguous():logsumexp(1):totable() } do
        assert.same({ inf, -inf }, { r[1], r[2] }, dt)
        assert.is_true(isnan(r[3]), dt)
        assert.equal(inf, r[4], dt)
        assert.is_true(close(r[5], math.log(2)), dt)
      end
    end
    -- long runs are cut into blocks whose partial results are combined
    local n = 300000
    assert.equal(inf, lt.full({ n }, inf, "float64"):logsumexp())
    assert.equal(-inf, lt.full({ n }, -inf, "float64"):logsumexp())
    local x = lt.zeros(n, "float64")
    x[n - 5] = nan
    assert.is_true(isnan(x:logsumexp()))
    x[n - 5] = inf
    x[7] = inf
    assert.equal(inf, x:logsumexp())
  end)

  it("sort, topk, unique, max, min and their arg forms compare int64 as integers", function()
    local a, b = (1 << 53) + 1, 1 << 53
    local t = T({ a, b }, "int64")
    local v, i = t:sort()
    same(v, { b, a }); same(i, { 2, 1 })
    v, i = T({ b, a }, "int64"):sort(1, true)
    same(v, { a, b }); same(i, { 2, 1 })
    v, i = t:topk(1, 1, false)
    same(v, { b }); same(i, { 2 })
    local u, c = T({ a, b, a }, "int64"):unique()
    same(u, { b, a }); same(c, { 1, 2 })
    assert.equal(a, t:max()); assert.equal(b, t:min())
    assert.equal(1, t:argmax()); assert.equal(2, t:argmin())
    assert.equal(2, T({ b, a }, "int64"):argmax())
    local m = T({ { b, a }, { a, b } }, "int64")
    v, i = m:max(2)
    same(v, { a, a }); same(i, { 2, 1 })
    v, i = m:min(1)
    same(v, { b, b }); same(i, { 1, 2 })
    same(m:argmax(1), { 2, 1 })
    local mi, ma = math.mininteger, math.maxinteger
    same(T({ ma, mi, 0, ma - 1, mi + 1 }, "int64"):sort(), { mi, mi + 1, 0, ma - 1, ma })
    same(T({ a, b }, "int64"):clamp(mi, ma), { a, b })
    same(T({ a, b + 5 }, "int64"):clamp(b + 2, a + 1), { b + 2, a + 1 })
    same(T({ a, 0 }, "int64"):isin { b }, { false, false })
    same(T({ mi, ma }, "int64"):isin { ma }, { false, true })
    -- integer dtypes still tie-break and order as before
    v, i = T({ 3, 1, 2, 1 }, "int32"):sort()
    same(v, { 1, 1, 2, 3 }); same(i, { 2, 4, 3, 1 })
    same(T({ 5, 1, 5 }, "uint8"):argmax(1), 1)
  end)

  it("eye refuses a non-integer size instead of reading it as 0", function()
    assert.has_error(function() lt.eye(3, 2.5) end,
                     "bad argument #2 to 'eye' (columns must be an integer, got 2.5)")
    assert.has_error(function() lt.eye(3, "float64") end,
                     "bad argument #2 to 'eye' (columns expected (integer), got string)")
    assert.same({ 3, 2 }, lt.eye(3, 2):size())
    assert.same({ 3, 3 }, lt.eye(3, nil, "float64"):size())
  end)

  it("an index of math.mininteger (or any out of range) is refused before the 1-based shift", function()
    local t = T { 10, 20, 30 }
    local msg = "index " .. math.mininteger .. " out of range for size 3"
    for _, ix in ipairs { { math.mininteger }, T({ math.mininteger }, "int64") } do
      assert.has_error(function() t:index_select(1, ix) end, "bad argument #3 to 'index_select' (" .. msg .. ")")
      assert.has_error(function() t:gather(1, ix) end, "bad argument #3 to 'gather' (" .. msg .. ")")
      assert.has_error(function() t:scatter(1, ix, 0) end, "bad argument #3 to 'scatter' (" .. msg .. ")")
    end
    assert.has_error(function() T({ math.mininteger }, "int64"):one_hot(3) end,
                     "bad argument #1 to 'one_hot' (" .. msg .. ")")
    assert.has_error(function() t:index_select(1, { 0 }) end,
                     "bad argument #3 to 'index_select' (index 0 out of range for size 3)")
    assert.has_error(function() t:index_select(1, T { 4 }) end,
                     "bad argument #3 to 'index_select' (index 4 out of range for size 3)")
    same(t:index_select(1, { 3, 1 }), { 30, 10 })
  end)

  -- A child lunette sends itself SIGINT from inside a coroutine: the host's hook is set on the
  -- main thread only, so the flag is still pending when the next call runs, and only a binding
  -- that reports LT_EINTR clears it. A dropped status leaves the flag for the hook, which then
  -- raises "interrupted!" outside the pcall and kills the child.
  it("fills, copies and finite ranges report an interrupt instead of dropping it", function()
    local host = (os.getenv("LUNETTE_BUILD") or "build") .. "/lunette"
    local cases = {
      full = "lt.full({n}, 1)",
      one_hot = "lt.ones(1 << 20, 'int64'):one_hot(4)",
      scatter = "x:scatter(1, {1}, 0)",
      masked_fill = "x:masked_fill(lt.tensor{true}, 0)",
      histogram = "x:histogram(4)",
    }
    for name, call in pairs(cases) do
      local script = ([[
local lt = require "lunette"
local n = (1 << 22) + 1
local x = lt.zeros(n)
local ok, err = coroutine.wrap(function()
  io.popen("kill -INT $PPID"):close()
  return pcall(function() return %s end)
end)()
print(ok, err)
print("survived")]]):format(call)
      -- The script goes through a file: on a command line, the outer shell would expand $PPID.
      local path = os.tmpname()
      local f = assert(io.open(path, "w"))
      f:write(script)
      f:close()
      local p = io.popen(("'%s' '%s' 2>&1"):format(host, path))
      local out = p:read("a")
      p:close()
      os.remove(path)
      assert.matches("^false\t[^\n]*interrupted!\nsurvived\n$", out, 1, name .. ": " .. out)
    end
  end)

  it("histogram refuses a range whose width overflows and bins tiny ranges without NaN", function()
    assert.has_error(function() T { 1, 2 }:histogram(4, -1e308, 1e308) end,
                     "bad argument #3 to 'histogram' (range [-1e+308, 1e+308] is too wide: its width overflows)")
    assert.has_error(function() T({ -1e308, 1e308 }, "float64"):histogram(4) end,
                     "bad argument #3 to 'histogram' (range [-1e+308, 1e+308] is too wide: its width overflows)")
    -- the widest range that fits still bins every value
    local c, e = T({ -8e307, 0, 8e307 }, "float64"):histogram(2, -8e307, 8e307)
    same(c, { 1, 2 }); same(e, { -8e307, 0, 8e307 })
    -- a subnormal width: bins / width is inf, and inf * 0 was NaN
    local tiny = 5e-324
    c = T({ 0, tiny }, "float64"):histogram(4, 0, tiny)
    same(c, { 1, 0, 0, 1 })
    -- a single value past 2^53, where widening by 0.5 rounds back to the value itself
    c, e = T({ 1e300 }, "float64"):histogram(3)
    same(c, { 0, 1, 0 })
    assert.is_true(e[1] < 1e300 and e[4] > 1e300)
  end)

  it("reductions over an empty dims table reduce each element alone; max and argmax need one dim", function()
    local a = T { { 1, -2 }, { 0, 4 } }
    local s = a:sum({})
    assert.is_false(rawequal(a, s))
    same(s, { { 1, -2 }, { 0, 4 } }); assert.equal("int64", s:dtype())
    s[1][1] = 9
    assert.equal(1, a:get(1, 1)) -- a copy, not t itself
    same(a:mean({}), { { 1, -2 }, { 0, 4 } }); assert.equal("float32", a:mean({}):dtype())
    same(a:prod({}), { { 1, -2 }, { 0, 4 } })
    same(a:count_nonzero({}), { { 1, 1 }, { 0, 1 } })
    same(a:any({}), { { true, true }, { false, true } })
    same(a:norm(1, {}), { { 1, 2 }, { 0, 4 } })
    same(T({ 1, 2 }, "float64"):logsumexp({}), { 1, 2 })
    local v = T({ 1, 2 }, "float64"):var({}):totable()
    assert.is_true(isnan(v[1]) and isnan(v[2]))
    same(T({ 1, 2 }, "float64"):var({}, false, false), { 0, 0 })
    for _, name in ipairs { "argmax", "argmin", "max", "min" } do
      assert.has_error(function() a[name](a, {}) end,
                       "bad argument #2 to '" .. name .. "' (one dim expected, got a table of 0)")
      assert.has_error(function() a[name](a, { 1, 2 }) end,
                       "bad argument #2 to '" .. name .. "' (one dim expected, got a table of 2)")
    end
    same(a:argmax({ 2 }), { 1, 2 })
    -- a 0-d tensor has nothing to reduce either way
    assert.equal(5, T(5):sum())
    same(T(5):sum({}), 5)
    assert.equal(1, T(5):argmax())
  end)
end)

describe("memory_cache", function()
  -- Runs fn with the collector running at its own pace and the cache's counters read before.
  local function fresh_cap(cap)
    collectgarbage("collect")
    lt.memory_cache(0)
    return lt.memory_cache(cap)
  end

  it("hands a freed large storage to the next one that fits, and stays within its cap", function()
    local c0 = fresh_cap(64 * 2 ^ 20 // 1)
    assert.equal(0, c0.held)
    local a = lt.empty(2 ^ 20 // 1) -- 4 MiB of float32
    a:fill_(3)
    a = nil -- luacheck: ignore
    collectgarbage("collect")
    local c1 = lt.memory_cache()
    assert.equal(1, c1.blocks)
    assert.is_true(c1.held >= 4 * 2 ^ 20 and c1.held < 5 * 2 ^ 20)
    -- a smaller storage takes the held block (best fit); its values are what the new tensor sets
    local b = lt.zeros(2 ^ 19 // 1)
    local c2 = lt.memory_cache()
    assert.equal(c1.hits + 1, c2.hits)
    assert.equal(0, c2.held)
    assert.equal(0, b:abs():max())
    b = nil -- luacheck: ignore
    collectgarbage("collect")
    -- its true size came back with it, so it serves the original size again
    assert.is_true(lt.memory_cache().held >= 4 * 2 ^ 20)
    local d = lt.ones(2 ^ 20 // 1)
    assert.equal(c2.hits + 1, lt.memory_cache().hits)
    assert.equal(2 ^ 20, d:sum())
    -- never more than the cap: 16 freed blocks of 8 MiB under a 64 MiB cap
    local keep = {}
    for i = 1, 16 do keep[i] = lt.empty(2 * 2 ^ 20 // 1) end
    keep = nil -- luacheck: ignore
    collectgarbage("collect")
    local c3 = lt.memory_cache()
    assert.is_true(c3.held <= 64 * 2 ^ 20 and c3.held > 0)
    -- cap 0 gives every block back
    assert.equal(0, lt.memory_cache(0).held)
    lt.memory_cache(2 * 2 ^ 30 // 1)
  end)

  it("a miss gives back held blocks too small for it; small storages never enter", function()
    fresh_cap(256 * 2 ^ 20 // 1)
    local small = {}
    for i = 1, 3 do small[i] = lt.empty(2 ^ 18 // 1) end -- 1 MiB each
    small = nil -- luacheck: ignore
    collectgarbage("collect")
    assert.equal(3, lt.memory_cache().blocks)
    local big = lt.empty(2 ^ 21 // 1) -- 8 MiB: none fits, the three 1 MiB blocks go
    assert.equal(0, lt.memory_cache().blocks)
    big = nil -- luacheck: ignore
    local tiny = lt.empty(1000)
    tiny = nil -- luacheck: ignore
    collectgarbage("collect")
    assert.equal(1, lt.memory_cache().blocks)
    lt.memory_cache(2 * 2 ^ 30 // 1)
  end)

  it("rejects a negative cap", function()
    assert.error_matches(function() lt.memory_cache(-1) end, "memory_cache.*cap must be >= 0")
  end)
end)
