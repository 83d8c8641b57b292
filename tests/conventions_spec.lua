-- conventions_spec.lua: the conventions docs/CONVENTIONS.md states against numpy and torch
-- (randint's excluded end, inclusive slices, unbiased std, positional dims), the calls that
-- must fail loudly rather than return something else, and the names numpy and torch users
-- type first (x.T, t(), astype, argsort, meshgrid, einsum, manual_seed), each against
-- results computed by hand.
local lt = require "lunette"

local function fails(pattern, f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error matching " .. pattern)
  assert.matches(pattern, tostring(err))
end

describe("conventions", function()
  it("randint excludes hi, as numpy and torch; {endpoint = true} includes it", function()
    local x = lt.random.Generator(1):randint(0, 10, { 2000 })
    assert.equal(0, x:min())
    assert.equal(9, x:max())
    local d = lt.random.Generator(1):randint(1, 7, 3000)
    assert.same({ 1, 2, 3, 4, 5, 6 }, d:unique():totable())
    assert.same({ 1, 2, 3, 4, 5, 6, 7 }, lt.random.Generator(1):randint(1, 7, 3000, { endpoint = true }):unique():totable())
    fails("hi 5 must be above lo 5 %(hi is excluded", lt.random.randint, 5, 5, 3)
  end)

  it("slices include their end, arange excludes its stop, and a slice past the end raises", function()
    local x = lt.tensor { { 1, 2, 3, 4 }, { 5, 6, 7, 8 } }
    assert.same({ 6, 7 }, x[{ 2, { 2, 3 } }]:totable())
    assert.same({ 2, 3, 4 }, x[{ 1, { 2, -1 } }]:totable())
    assert.same({ 2, 3 }, lt.arange(2, 4):totable())
    fails("last index 5 out of range for size 4", function() return x[{ 1, { 2, 5 } }] end)
  end)

  it("std and var are unbiased by default (torch); unbiased = false is numpy's", function()
    local x = lt.tensor({ 1, 2, 3, 4 }, "float64") -- mean 2.5, squared deviations sum to 5
    assert.near(5 / 3, x:var(), 1e-12)
    assert.near(math.sqrt(5 / 3), x:std(), 1e-12)
    assert.near(1.25, x:var(nil, false, false), 1e-12)
    assert.near(math.sqrt(1.25), lt.std(x, nil, false, false), 1e-12)
    fails("bad argument #4 to 'var' %(unbiased must be a boolean, got number%)", lt.var, x, 1, false, 0)
    fails("bad argument #4 to 'std' %(unbiased must be a boolean, got number%)", lt.std, x, 1, false, 0)
  end)

  it("reductions take dims positionally: an options table raises naming the function", function()
    local x = lt.tensor { { 1, 2 }, { 3, 4 } }:float()
    for _, name in ipairs { "mean", "sum", "prod", "var", "logsumexp", "any", "max", "argmin" } do
      fails("bad argument #2 to '" .. name .. "' %(dims must be an integer or an array of dims, got a table with key 'dim' %("
        .. name .. " takes no options table", lt[name], x, { dim = 1 })
    end
    fails("bad argument #2 to 'std' %(dims must be", lt.std, x, { dim = 1 })
    fails("bad argument #2 to 'std_mean' %(dims must be", x.std_mean, x, { axis = 1 })
    fails("bad argument #3 to 'mean' %(keepdim must be a boolean, got table%)", lt.mean, x, 1, { keepdim = true })
    fails("bad argument #3 to 'sum' %(keepdim must be a boolean, got number%)", lt.sum, x, 1, 1)
    assert.same({ 2, 3 }, lt.mean(x, 1):totable())
    assert.same({ { 1.5 }, { 3.5 } }, lt.mean(x, { 2 }, true):totable())
  end)
end)

describe("names numpy and torch users type first", function()
  it("x.T reverses the dims (numpy), x:t() transposes at most 2 dims (torch)", function()
    local a = lt.tensor { { 1, 2, 3 }, { 4, 5, 6 } }
    assert.same({ { 1, 4 }, { 2, 5 }, { 3, 6 } }, a.T:totable())
    assert.same({ { 1, 4 }, { 2, 5 }, { 3, 6 } }, a:t():totable())
    assert.is_true(a.T:same_storage(a)) -- a view
    local b = lt.arange(24):reshape(2, 3, 4)
    assert.same({ 4, 3, 2 }, b.T.shape)
    assert.equal(b:get(2, 1, 3), b.T:get(3, 1, 2))
    assert.same({ 1, 2 }, lt.tensor { 1, 2 }.T:totable())
    assert.same({ 1, 2 }, lt.tensor { 1, 2 }:t():totable())
    fails("bad argument #1 to 't' %(expects a tensor of at most 2 dims, got 3", b.t, b)
  end)

  it("x.shape is a field and x:size() the method; there is no x:shape()", function()
    local a = lt.zeros(2, 3)
    assert.same({ 2, 3 }, a.shape)
    assert.same({ 2, 3 }, a:size())
    assert.is_false(pcall(function() return a:shape() end))
  end)

  it("astype is to", function()
    local a = lt.tensor { 1.7, -2.5 }
    assert.equal("int64", a:astype("int64"):dtype())
    assert.same({ 1, -2 }, a:astype("int64"):totable())
    assert.is_true(rawequal(a, a:astype("float32")))
    assert.is_false(rawequal(a, a:astype("float32", true)))
    assert.equal("float64", lt.astype(a, "float64"):dtype())
  end)

  it("argsort is stable and 1-based, along dim, descending too", function()
    local x = lt.tensor { 3, 1, 3, 2, 1 }
    assert.same({ 2, 5, 4, 1, 3 }, lt.argsort(x):totable())
    assert.same({ 1, 3, 4, 2, 5 }, x:argsort(1, true):totable())
    local m = lt.tensor { { 3, 1, 2 }, { 0, 5, 4 } }
    assert.same({ { 2, 3, 1 }, { 1, 3, 2 } }, m:argsort():totable())
    assert.same({ { 2, 1, 1 }, { 1, 2, 2 } }, m:argsort(1):totable())
    assert.equal("int64", m:argsort():dtype())
    fails("bad argument #3 to 'argsort' %(descending must be a boolean", lt.argsort, x, 1, "desc")
  end)

  it("meshgrid: xy (numpy's default) and ij (torch's)", function()
    local X, Y = lt.meshgrid(lt.tensor { 1, 2, 3 }, lt.tensor { 10, 20 })
    assert.same({ { 1, 2, 3 }, { 1, 2, 3 } }, X:totable())
    assert.same({ { 10, 10, 10 }, { 20, 20, 20 } }, Y:totable())
    local I, J = lt.meshgrid({ 1, 2, 3 }, { 10, 20 }, { indexing = "ij" })
    assert.same({ { 1, 1 }, { 2, 2 }, { 3, 3 } }, I:totable())
    assert.same({ { 10, 20 }, { 10, 20 }, { 10, 20 } }, J:totable())
    local A, B, C = lt.meshgrid(lt.arange(2), lt.arange(3), lt.arange(4))
    assert.same({ 3, 2, 4 }, A.shape)
    assert.equal(1, A:get(1, 2, 1))
    assert.equal(2, B:get(3, 1, 1))
    assert.equal(3, C:get(1, 1, 4))
    X[1][1] = 99 -- copies: writing one cell changes only that cell
    assert.equal(2, X:get(1, 2))
    fails("indexing must be 'xy' or 'ij', got 'yx'", lt.meshgrid, lt.arange(2), { indexing = "yx" })
    fails("bad argument #1 to 'meshgrid' %(1%-d tensor expected, got 2%-d tensor", lt.meshgrid, lt.zeros(2, 2))
  end)

  it("einsum against hand-computed contractions", function()
    local A = lt.tensor { { 1, 2, 3 }, { 4, 5, 6 } }
    local B = lt.tensor { { 1, 0 }, { 0, 1 }, { 1, 1 } }
    assert.same({ { 4, 5 }, { 10, 11 } }, lt.einsum("ij,jk->ik", A, B):totable())
    assert.same({ { 4, 5 }, { 10, 11 } }, lt.einsum("ij,jk", A, B):totable()) -- implicit output
    assert.same({ { 1, 4 }, { 2, 5 }, { 3, 6 } }, lt.einsum("ij->ji", A):totable())
    assert.same({ { 1, 4 }, { 2, 5 }, { 3, 6 } }, lt.einsum("ji", A):totable())
    local S = lt.tensor { { 1, 2 }, { 3, 4 } }
    assert.equal(5, lt.einsum("ii", S))
    assert.same({ 1, 4 }, lt.einsum("ii->i", S):totable())
    assert.same({ { 3, 4, 5 }, { 6, 8, 10 } }, lt.einsum("i,j->ij", lt.tensor { 1, 2 }, lt.tensor { 3, 4, 5 }):totable())
    assert.equal(11, lt.einsum("i,i", lt.tensor { 1, 2 }, lt.tensor { 3, 4 }))
    assert.same({ 5, 7, 9 }, lt.einsum("ij->j", A):totable())
    assert.same({ 6, 15 }, lt.einsum("ij->i", A):totable())
    assert.equal(21, lt.einsum("ij->", A))
    assert.same({ 20, 47 }, lt.einsum("ij,j->i", A, lt.tensor { 2, 3, 4 }):totable()) -- 2+6+12, 8+15+24
    -- batched: two 2x2 products by hand
    local X = lt.tensor { { { 1, 2 }, { 3, 4 } }, { { 0, 1 }, { 1, 0 } } }
    local Y = lt.tensor { { { 1, 0 }, { 0, 1 } }, { { 2, 3 }, { 4, 5 } } }
    assert.same({ { { 1, 2 }, { 3, 4 } }, { { 4, 5 }, { 2, 3 } } }, lt.einsum("bij,bjk->bik", X, Y):totable())
    -- a chain of three: (A B) C with C = [[1], [2]] gives [[14], [32]]
    assert.same({ { 14 }, { 32 } }, lt.einsum("ij,jk,kl->il", A, B, lt.tensor { { 1 }, { 2 } }):totable())
    assert.same({ { 1, 4 }, { 9, 16 } }, lt.einsum("ij,ij->ij", S, S):totable()) -- elementwise
    assert.equal(30, lt.einsum("ij,ij->", S, S))
    assert.same({ { 5, 11 }, { 11, 25 } }, lt.einsum("ij,kj->ik", S, S):totable()) -- S Sᵀ
    assert.same({ 1, 5, 3, 15, 2, 10, 6, 30 },
      lt.einsum("i,j,k->ijk", lt.tensor { 1, 2 }, lt.tensor { 1, 3 }, lt.tensor { 1, 5 }):reshape(-1):totable())
    assert.same({ 2, 2, 2 }, lt.einsum("iij->j", lt.ones(2, 2, 3, "int64")):totable())
    -- floats against the product it maps to
    local P, Q = lt.random.Generator(2):randn(3, 4, 5), lt.random.Generator(3):randn(3, 5, 2)
    assert.is_true(lt.einsum("bij,bjk->bik", P, Q):allclose(P:bmm(Q), 1e-5, 1e-6))
  end)

  it("einsum errors name the problem", function()
    local A = lt.ones(2, 3)
    fails("bad argument #1 to 'einsum' %(letter 'j' has sizes 3 and 2%)", lt.einsum, "ij,jk", A, A)
    fails("'%.%.%.' %(broadcast dims%) is not supported", lt.einsum, "...ij->ij", A)
    fails("names 2 operands, 1 given", lt.einsum, "ij,jk", A)
    fails("output letter 'z' is in no input", lt.einsum, "ij->z", A)
    fails("bad argument #2 to 'einsum' %('ijk' has 3 letters for a 2%-d tensor%)", lt.einsum, "ijk", A)
    fails("bad argument #2 to 'einsum' %(tensor expected, got table%)", lt.einsum, "ij", { 1 })
  end)

  it("evaluation mode keeps no activations; enable_grad keeps them for a backward", function()
    local nn = lt.nn
    local m = nn.Sequential { nn.Linear(3, 2), nn.ReLU() }
    m:eval()
    local y = m:forward(lt.randn(4, 3))
    fails("kept no activations: its last forward ran in evaluation mode or under nn.no_grad",
      m.backward, m, lt.ones(y:size()))
    y = nn.enable_grad(m.forward, m, lt.randn(4, 3))
    m:zero_grad()
    m:backward(lt.ones(y:size()))
    assert.is_true(m:seq(1).grad.weight:abs():sum() > 0)
  end)

  it("manual_seed is seed", function()
    lt.manual_seed(7)
    local a = lt.rand(5)
    lt.seed(7)
    assert.is_true(a:equal(lt.rand(5)))
    lt.random.manual_seed(7)
    assert.is_true(a:equal(lt.rand(5)))
  end)
end)
