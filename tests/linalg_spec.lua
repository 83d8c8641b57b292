-- linalg_spec.lua: products against a naive Lua reference, decompositions by their identities, norms, cosine, cdist, errors.
local lt = require "lunette"
local la = lt.linalg

-- Deterministic data: a small LCG giving numbers in [-1, 1).
local function lcg(seed)
  local s = seed
  return function()
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 1073741824 - 1
  end
end

local function numel(shape)
  local n = 1
  for _, d in ipairs(shape) do n = n * d end
  return n
end

local function rand(shape, seed, dtype)
  local r, flat = lcg(seed or 1), {}
  for i = 1, numel(shape) do flat[i] = r() end
  if #flat == 0 then return lt.zeros(shape, dtype or "float32") end
  return lt.tensor(flat, dtype or "float32"):reshape(shape)
end

local function randint(shape, seed, lo, hi)
  local r, flat = lcg(seed or 1), {}
  for i = 1, numel(shape) do flat[i] = lo + math.floor((r() + 1) / 2 * (hi - lo + 1)) end
  return lt.tensor(flat, "int64"):reshape(shape)
end

-- The reference product of two 2-d tensors, in Lua numbers.
local function naive_mm(A, B)
  local a, b = A:totable(), B:totable()
  local m, k, n = A:size(1), A:size(2), B:size(2)
  local c = {}
  for i = 1, m do
    c[i] = {}
    for j = 1, n do
      local s = 0
      for p = 1, k do s = s + a[i][p] * b[p][j] end
      c[i][j] = s
    end
  end
  return c
end

local function same_shape(x, y)
  local sx, sy = x:size(), y:size()
  if #sx ~= #sy then return false end
  for i = 1, #sx do if sx[i] ~= sy[i] then return false end end
  return true
end

-- Asserts max |x - y| <= tol; y may be a nested table.
local function assert_close(x, y, tol)
  if type(y) == "table" and not lt.is_tensor(y) then y = lt.tensor(y, "float64") end
  if type(x) == "number" then
    assert(math.abs(x - y) <= tol, ("|%.17g - %.17g| > %g"):format(x, y, tol))
    return
  end
  assert(same_shape(x, y), ("shape [%s] vs [%s]"):format(table.concat(x:size(), "x"), table.concat(y:size(), "x")))
  if x:numel() == 0 then return end
  local d = (x:double() - y:double()):abs():max()
  assert(d <= tol, ("max |diff| = %g > %g"):format(d, tol))
end

local function eye(n) return lt.eye(n, n, "float64") end

-- Runs f and returns its error message (failing when it does not raise).
local function err(f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error")
  return tostring(msg)
end

describe("matmul", function()
  it("matches a naive triple loop on 2-d float32 for several shapes", function()
    for i, s in ipairs { { 3, 4, 5 }, { 1, 7, 1 }, { 17, 33, 9 }, { 64, 3, 70 }, { 2, 1, 2 } } do
      local A, B = rand({ s[1], s[2] }, i), rand({ s[2], s[3] }, 100 + i)
      local C = lt.matmul(A, B)
      assert.equal("float32", C:dtype())
      assert_close(C, naive_mm(A, B), 1e-5 * s[2])
    end
  end)

  it("computes float64 to double precision", function()
    local A, B = rand({ 13, 21 }, 3, "float64"), rand({ 21, 8 }, 4, "float64")
    local C = lt.matmul(A, B)
    assert.equal("float64", C:dtype())
    assert_close(C, naive_mm(A, B), 1e-13)
  end)

  it("reads transposed views without changing the result", function()
    local A, B = rand({ 6, 9 }, 5), rand({ 9, 4 }, 6)
    local At, Bt = A:t():contiguous():t(), B:t():contiguous():t() -- same values, transposed storage
    assert.is_false(At:is_contiguous())
    local want = naive_mm(A, B)
    assert_close(lt.matmul(At, B), want, 1e-5)
    assert_close(lt.matmul(A, Bt), want, 1e-5)
    assert_close(lt.matmul(At, Bt), want, 1e-5)
    assert_close(lt.matmul(B:t(), A:t()), naive_mm(B:t():contiguous(), A:t():contiguous()), 1e-5)
  end)

  it("hands transposed views and strided vectors to BLAS without copying", function()
    -- bytes allocated by one call, with the collector stopped so copies stay counted
    local function allocated(f)
      collectgarbage()
      collectgarbage("stop")
      local m0 = lt.memory()
      local r = f()
      local used = lt.memory() - m0
      collectgarbage("restart")
      return used, r
    end
    local A, B = rand({ 40, 30 }, 35), rand({ 20, 30 }, 36)
    local used, C = allocated(function() return lt.matmul(A, B:t()) end)
    assert.equal(C:nbytes(), used)
    used, C = allocated(function() return lt.matmul(B, A:t()):t() end)
    assert.equal(C:nbytes(), used)
    local X = rand({ 4, 40, 30 }, 37)
    used, C = allocated(function() return lt.matmul(X, B:t()) end) -- one gemm over stacked batches
    assert.equal(C:nbytes(), used)
    local v = rand({ 60 }, 38):slice(1, 1, 60, 2)
    used, C = allocated(function() return lt.mv(A, v) end)
    assert.equal(C:nbytes(), used)
    used, C = allocated(function() return lt.matmul(A:slice(2, 1, 30, 2), B:slice(2, 1, 30, 2):t()) end)
    assert.is_true(used > C:nbytes()) -- a column-strided operand has to be copied
  end)

  it("handles non-contiguous slices and expanded operands", function()
    local big = rand({ 10, 12 }, 7)
    local A = big:slice(1, 1, 10, 2):slice(2, 2, 12, 3) -- [5x4], strides (24, 3)
    local B = rand({ 8, 6 }, 8):slice(1, 1, 8, 2) -- [4x6], row stride 12
    assert_close(lt.matmul(A, B), naive_mm(A:contiguous(), B:contiguous()), 1e-5)
    local row = lt.tensor { { 1, 2, 3 } }:expand(4, 3):float() -- stride 0 rows
    local E = lt.matmul(row:expand(4, 3), rand({ 3, 2 }, 9))
    assert_close(E:select(1, 1), E:select(1, 4), 0)
  end)

  it("follows numpy for 1-d operands", function()
    local u, M = lt.tensor { 1, 2, 3 }:float(), lt.tensor { { 1, 2 }, { 3, 4 }, { 5, 6 } }:float()
    local r = lt.matmul(u, M)
    assert.same({ 2 }, r:size())
    assert_close(r, { 22, 28 }, 0)
    local c = lt.matmul(M:t(), u)
    assert.same({ 2 }, c:size())
    assert_close(c, { 22, 28 }, 0)
    local d = lt.matmul(u, lt.tensor { 4, 5, 6 }:float())
    assert.equal("number", type(d))
    assert.equal(32, d)
    -- strided vectors go to BLAS without a copy
    local v = lt.arange(1, 7):float():slice(1, 1, 6, 2) -- {1, 3, 5}
    assert_close(lt.matmul(M:t(), v), { 35, 44 }, 0)
    assert_close(lt.matmul(v, M), { 35, 44 }, 0)
  end)

  it("broadcasts batch dims", function()
    local A, B = rand({ 2, 1, 3, 4 }, 10), rand({ 5, 4, 2 }, 11)
    local C = lt.matmul(A, B)
    assert.same({ 2, 5, 3, 2 }, C:size())
    for i = 1, 2 do
      for j = 1, 5 do
        assert_close(C:select(1, i):select(1, j), naive_mm(A:select(1, i):select(1, 1), B:select(1, j)), 1e-5)
      end
    end
  end)

  it("stacks batches onto one gemm when b is shared, and loops when it cannot", function()
    local A, B = rand({ 3, 5, 4 }, 12), rand({ 4, 6 }, 13)
    local C = lt.matmul(A, B)
    assert.same({ 3, 5, 6 }, C:size())
    local P = A:permute(2, 1, 3) -- [5x3x4], batches not stackable
    local D = lt.matmul(P, B)
    for i = 1, 3 do
      assert_close(C:select(1, i), naive_mm(A:select(1, i), B), 1e-5)
      assert_close(D:select(2, i), naive_mm(A:select(1, i), B), 1e-5)
    end
  end)

  it("multiplies a batch by a vector on either side", function()
    local A, v = rand({ 2, 3, 4 }, 14), rand({ 4 }, 15)
    local r = lt.matmul(A, v)
    assert.same({ 2, 3 }, r:size())
    local w = rand({ 3 }, 16)
    local l = lt.matmul(w, A)
    assert.same({ 2, 4 }, l:size())
    for b = 1, 2 do
      assert_close(r:select(1, b), lt.tensor(naive_mm(A:select(1, b), v:reshape(4, 1)), "float64"):reshape(3), 1e-5)
      assert_close(l:select(1, b), lt.tensor(naive_mm(w:reshape(1, 3), A:select(1, b)), "float64"):reshape(4), 1e-5)
    end
  end)

  it("multiplies integers exactly and returns int64", function()
    local A, B = randint({ 4, 5 }, 17, -50, 50), randint({ 5, 3 }, 18, -50, 50)
    local C = lt.matmul(A, B)
    assert.equal("int64", C:dtype())
    assert.same(naive_mm(A, B), C:totable())
    local Ai = A:int()
    assert.equal("int64", lt.matmul(Ai, B:t():int():t()):dtype())
    assert.same(naive_mm(A, B), lt.matmul(Ai, B:int()):totable())
    local big = lt.tensor({ { 3000000000 } }, "int64")
    assert.equal(9000000000000000000, lt.matmul(big, big):item())
    assert.equal(14, lt.matmul(lt.tensor { 1, 2, 3 }, lt.tensor { 1, 2, 3 }))
    assert.equal("integer", math.type(lt.dot(lt.tensor { 1, 2 }, lt.tensor { 3, 4 })))
  end)

  it("promotes mixed dtypes and keeps half precision as the result dtype", function()
    local A, B = rand({ 3, 4 }, 19), rand({ 4, 2 }, 20, "float64")
    assert.equal("float64", lt.matmul(A, B):dtype())
    assert.equal("float32", lt.matmul(A, randint({ 4, 2 }, 21, 0, 3)):dtype())
    local H = lt.matmul(A:half(), A:t():half())
    assert.equal("float16", H:dtype())
    assert_close(H, naive_mm(A, A:t():contiguous()), 1e-2)
    local bf = lt.matmul(A:to("bfloat16"), B:to("bfloat16"))
    assert.equal("bfloat16", bf:dtype())
  end)

  it("gives zeros for k = 0 and empty results for m or n = 0", function()
    local Z = lt.matmul(lt.zeros(3, 0), lt.zeros(0, 4))
    assert.same({ 3, 4 }, Z:size())
    assert.equal(0, Z:abs():sum())
    assert.same({ 0, 4 }, lt.matmul(lt.zeros(0, 2), lt.ones(2, 4)):size())
    assert.same({ 2, 3, 0 }, lt.matmul(lt.ones(2, 3, 5), lt.ones(5, 0)):size())
    assert.equal(0, lt.matmul(lt.zeros(0), lt.zeros(0)))
    assert.equal(0, lt.matmul(lt.zeros(2, 0, "int64"), lt.zeros(0, 2, "int64")):abs():sum())
  end)

  it("multiplies 1024x1024 float32 matrices quickly", function()
    local A = lt.ones(1024, 1024)
    -- CPU seconds (os.clock, every thread's), not wall time: other processes on a loaded
    -- machine stretch the wall time, not the work. BLAS takes about 0.05 s; a naive loop, seconds.
    local t0 = os.clock()
    local C = lt.matmul(A, A:t())
    local dt = os.clock() - t0
    assert.equal(1024, C[{ 1, 1 }])
    assert.equal(1024, C[{ 1024, 17 }])
    assert.is_true(dt < 1, ("took %.3f s"):format(dt))
  end)
end)

describe("mm, bmm, mv, dot, outer", function()
  it("are strict versions of matmul", function()
    local A, B = rand({ 3, 4 }, 22), rand({ 4, 5 }, 23)
    assert_close(lt.mm(A, B), naive_mm(A, B), 1e-5)
    local X, Y = rand({ 2, 3, 4 }, 24), rand({ 2, 4, 5 }, 25)
    local Z = lt.bmm(X, Y)
    for b = 1, 2 do assert_close(Z:select(1, b), naive_mm(X:select(1, b), Y:select(1, b)), 1e-5) end
    local v = rand({ 4 }, 26)
    assert_close(lt.mv(A, v), lt.tensor(naive_mm(A, v:reshape(4, 1)), "float64"):reshape(3), 1e-5)
    assert_close(lt.dot(v, v), (v:double() * v:double()):sum(), 1e-6)
    local o = lt.outer(lt.tensor { 1, 2 }:float(), lt.tensor { 3, 4, 5 }:float())
    assert_close(o, { { 3, 4, 5 }, { 6, 8, 10 } }, 0)
    assert.equal("int64", lt.outer(lt.tensor { 1, 2 }, lt.tensor { 3 }):dtype())
  end)

  it("are tensor methods", function()
    local A, B = rand({ 3, 4 }, 27), rand({ 4, 2 }, 28)
    assert_close(A:matmul(B), naive_mm(A, B), 1e-5)
    assert_close(A:mm(B), naive_mm(A, B), 1e-5)
    local u = lt.tensor { 1, 2, 3 }:double()
    assert.equal(14, u:dot(u))
    assert_close(u:outer(u), { { 1, 2, 3 }, { 2, 4, 6 }, { 3, 6, 9 } }, 0)
    assert.is_nil(getmetatable(A).__concat)
  end)
end)

describe("product errors", function()
  it("name the function, argument and shapes", function()
    assert.matches("bad argument #2 to 'matmul' (shape mismatch: [3x4] @ [5x2])",
      err(lt.matmul, lt.zeros(3, 4), lt.zeros(5, 2)), 1, true)
    assert.matches("bad argument #2 to 'matmul' (shape mismatch: [2x3x4] @ [3x4x5])",
      err(lt.matmul, lt.zeros(2, 3, 4), lt.zeros(3, 4, 5)), 1, true)
    assert.matches("bad argument #2 to 'matmul' (shape mismatch: [3] @ [4])",
      err(lt.matmul, lt.zeros(3), lt.zeros(4)), 1, true)
    assert.matches("bad argument #2 to 'matmul' (shape mismatch: [3x4] @ [5x2])",
      err(function() return lt.zeros(3, 4):matmul(lt.zeros(5, 2)) end), 1, true)
    assert.matches("bad argument #1 to 'mm' (2-d tensor expected, got [3])", err(lt.mm, lt.zeros(3), lt.zeros(3, 2)), 1, true)
    assert.matches("bad argument #2 to 'bmm' (shape mismatch: [2x3x4] @ [3x4x5])",
      err(lt.bmm, lt.zeros(2, 3, 4), lt.zeros(3, 4, 5)), 1, true)
    assert.matches("bad argument #2 to 'mv' (1-d tensor expected, got [3x1])", err(lt.mv, lt.zeros(2, 3), lt.zeros(3, 1)), 1, true)
    assert.matches("bad argument #2 to 'dot' (shape mismatch: [3] @ [2])", err(lt.dot, lt.zeros(3), lt.zeros(2)), 1, true)
    assert.matches("bad argument #1 to 'matmul' (at least 1-d tensor expected", err(lt.matmul, lt.tensor(2), lt.zeros(2)), 1, true)
    assert.matches("bad argument #2 to 'matmul' (tensor expected, got number)", err(lt.matmul, lt.zeros(2), 3), 1, true)
  end)
end)

describe("svd", function()
  local function check_svd(A, tol)
    local U, S, Vt = la.svd(A)
    local k = math.min(A:size(1), A:size(2))
    assert.same({ A:size(1), k }, U:size())
    assert.same({ k }, S:size())
    assert.same({ k, A:size(2) }, Vt:size())
    assert_close(lt.matmul(U * S, Vt), A, tol)
    assert_close(lt.matmul(U:t(), U), eye(k), tol)
    assert_close(lt.matmul(Vt, Vt:t()), eye(k), tol)
    local s = S:totable()
    for i = 2, #s do assert.is_true(s[i - 1] >= s[i]) end
  end

  it("reconstructs tall, wide and float64 matrices from thin factors", function()
    check_svd(rand({ 7, 4 }, 30), 1e-5)
    check_svd(rand({ 3, 8 }, 31), 1e-5)
    check_svd(rand({ 20, 20 }, 32, "float64"), 1e-12)
    assert.equal("float64", la.svd(rand({ 2, 2 }, 1, "float64")):dtype())
  end)

  it("finds known singular values and gives square factors when full", function()
    local A = lt.tensor({ { 3, 0 }, { 4, 5 } }, "float64")
    assert_close(la.svdvals(A), { 3 * math.sqrt(5), math.sqrt(5) }, 1e-12)
    local U, S, Vt = la.svd(rand({ 5, 3 }, 33), { full = true })
    assert.same({ 5, 5 }, U:size())
    assert.same({ 3, 3 }, Vt:size())
    assert_close(lt.matmul(U:t(), U), eye(5), 1e-5)
    local E = la.svd(lt.zeros(3, 0), { full = true })
    assert_close(E, eye(3), 0)
  end)

  it("refuses NaN and Inf before calling LAPACK", function()
    local A = lt.tensor { { 1, 0 / 0 }, { 0, 1 } }
    assert.matches("bad argument #1 to 'svd' (matrix contains NaN or Inf)", err(la.svd, A), 1, true)
    assert.matches("bad argument #1 to 'svd' (matrix contains NaN or Inf)",
      err(la.svd, lt.tensor { { math.huge } }), 1, true)
    assert.matches("unknown option 'ful'", err(la.svd, A, { ful = true }), 1, true)
    assert.matches("bad argument #1 to 'svd' (2-d tensor expected, got [2x2x2])", err(la.svd, lt.zeros(2, 2, 2)), 1, true)
  end)
end)

describe("eigh", function()
  it("gives ascending eigenvalues and orthonormal eigenvectors with A v = lambda v", function()
    local w, V = la.eigh(lt.tensor { { 2, 1 }, { 1, 2 } })
    assert_close(w, { 1, 3 }, 1e-6)
    local R = rand({ 6, 6 }, 34, "float64")
    local A = R + R:t()
    w, V = la.eigh(A)
    assert.equal("float64", w:dtype())
    for j = 1, 6 do
      local v = V:select(2, j)
      assert_close(lt.mv(A, v), v * w[j], 1e-12)
      if j > 1 then assert.is_true(w[j - 1] <= w[j]) end
    end
    assert_close(lt.matmul(V:t(), V), eye(6), 1e-12)
  end)

  it("reads one triangle only", function()
    local lower = lt.tensor { { 2, 99 }, { 1, 2 } }
    assert_close(la.eigh(lower), { 1, 3 }, 1e-5)
    local upper = lt.tensor { { 2, 1 }, { 99, 2 } }
    assert_close(la.eigh(upper, { upper = true }), { 1, 3 }, 1e-5)
  end)

  it("rejects non-square and non-finite matrices", function()
    assert.matches("bad argument #1 to 'eigh' (square matrix expected, got [2x3])", err(la.eigh, lt.zeros(2, 3)), 1, true)
    assert.matches("bad argument #1 to 'eigh' (matrix contains NaN or Inf)",
      err(la.eigh, lt.tensor { { 0 / 0, 0 }, { 0, 1 } }), 1, true)
  end)
end)

describe("qr", function()
  it("factors tall and wide matrices into orthonormal Q and upper R", function()
    for i, s in ipairs { { 6, 4 }, { 3, 5 }, { 4, 4 } } do
      local A = rand(s, 40 + i, "float64")
      local Q, R = la.qr(A)
      local k = math.min(s[1], s[2])
      assert.same({ s[1], k }, Q:size())
      assert.same({ k, s[2] }, R:size())
      assert_close(lt.matmul(Q, R), A, 1e-12)
      assert_close(lt.matmul(Q:t(), Q), eye(k), 1e-12)
      local r = R:totable()
      for a = 1, k do for b = 1, math.min(a - 1, s[2]) do assert.equal(0, r[a][b]) end end
    end
  end)
end)

describe("solve, inv, det", function()
  local A = lt.tensor({ { 4, -2, 1 }, { 3, 6, -4 }, { 2, 1, 8 } }, "float64")

  it("solves for a vector and for several right-hand sides", function()
    local x = la.solve(A, lt.tensor { 12, -25, 32 })
    assert.same({ 3 }, x:size())
    assert.equal("float64", x:dtype())
    assert_close(lt.mv(A, x), { 12, -25, 32 }, 1e-12)
    local B = rand({ 3, 4 }, 50, "float64")
    local X = la.solve(A, B)
    assert_close(lt.matmul(A, X), B, 1e-12)
    local x32 = la.solve(A:float(), lt.tensor { 1, 2, 3 }:float())
    assert.equal("float32", x32:dtype())
  end)

  it("inverts so that inv(A) A = I", function()
    assert_close(lt.matmul(la.inv(A), A), eye(3), 1e-13)
    local R = rand({ 8, 8 }, 51) + lt.eye(8) * 4
    assert_close(lt.matmul(la.inv(R), R), eye(8), 1e-5)
  end)

  it("reports singular matrices clearly", function()
    local S = lt.tensor { { 1, 2 }, { 2, 4 } }
    assert.matches("bad argument #1 to 'solve' (matrix is singular)", err(la.solve, S, lt.tensor { 1, 2 }), 1, true)
    assert.matches("bad argument #1 to 'inv' (matrix is singular)", err(la.inv, S), 1, true)
    assert.matches("bad argument #2 to 'solve' (shape mismatch: [3x3] and [2] (B needs 3 rows))",
      err(la.solve, A, lt.zeros(2)), 1, true)
    assert.matches("bad argument #1 to 'inv' (square matrix expected, got [2x3])", err(la.inv, lt.zeros(2, 3)), 1, true)
  end)

  it("computes determinants of known matrices", function()
    assert_close(la.det(lt.tensor({ { 1, 2 }, { 3, 4 } }, "float64")), -2, 1e-14)
    assert_close(la.det(lt.tensor({ { 6, 1, 1 }, { 4, -2, 5 }, { 2, 8, 7 } }, "float64")), -306, 1e-12)
    assert_close(la.det(lt.tensor({ { 0, 1, 0 }, { 0, 0, 1 }, { 1, 0, 0 } }, "float64")), 1, 0)
    assert_close(la.det(lt.tensor({ { 0, 1 }, { 1, 0 } }, "float64")), -1, 0)
    assert.equal(0, la.det(lt.tensor { { 1, 2 }, { 2, 4 } }))
    assert.equal(1, la.det(lt.zeros(0, 0)))
    assert.matches("bad argument #1 to 'det' (square matrix expected, got [3x2])", err(la.det, lt.zeros(3, 2)), 1, true)
  end)

  it("gives sign and log|det| with slogdet", function()
    local sign, logabs = la.slogdet(lt.tensor({ { 6, 1, 1 }, { 4, -2, 5 }, { 2, 8, 7 } }, "float64"))
    assert.equal(-1, sign)
    assert_close(logabs, math.log(306), 1e-12)
    local big = lt.eye(200, 200, "float64") * 10
    sign, logabs = la.slogdet(big)
    assert.equal(1, sign)
    assert_close(logabs, 200 * math.log(10), 1e-9)
    sign, logabs = la.slogdet(lt.tensor { { 1, 2 }, { 2, 4 } })
    assert.equal(0, sign)
    assert.equal(-math.huge, logabs)
  end)
end)

describe("lstsq", function()
  it("agrees with the normal equations for a tall full-rank system", function()
    local A, b = rand({ 10, 3 }, 60, "float64"), rand({ 10 }, 61, "float64")
    local x, rank = la.lstsq(A, b)
    assert.same({ 3 }, x:size())
    assert.equal(3, rank)
    local xn = la.solve(lt.matmul(A:t(), A), lt.mv(A:t(), b))
    assert_close(x, xn, 1e-10)
    local B = rand({ 10, 2 }, 62, "float64")
    assert_close(la.lstsq(A, B), la.solve(lt.matmul(A:t(), A), lt.matmul(A:t(), B)), 1e-10)
  end)

  it("gives the minimum-norm solution of an underdetermined system", function()
    local A = lt.tensor({ { 1, 1 } }, "float64")
    local x, rank = la.lstsq(A, lt.tensor({ 2 }, "float64"))
    assert.equal(1, rank)
    assert_close(x, { 1, 1 }, 1e-12)
  end)
end)

describe("cholesky", function()
  it("factors a positive-definite matrix as L L^T with L lower", function()
    local R = rand({ 5, 5 }, 70, "float64")
    local A = lt.matmul(R, R:t()) + eye(5)
    local L = la.cholesky(A)
    assert_close(lt.matmul(L, L:t()), A, 1e-12)
    local l = L:totable()
    for i = 1, 5 do for j = i + 1, 5 do assert.equal(0, l[i][j]) end end
    local U = la.cholesky(A, { upper = true })
    assert_close(lt.matmul(U:t(), U), A, 1e-12)
    assert_close(U, L:t(), 1e-12)
  end)

  it("rejects matrices that are not positive definite", function()
    assert.matches("bad argument #1 to 'cholesky' (matrix contains NaN or Inf)",
      err(la.cholesky, lt.tensor { { 0 / 0 } }), 1, true)
    assert.matches("bad argument #1 to 'cholesky' (matrix is not positive definite)",
      err(la.cholesky, lt.tensor { { 1, 2 }, { 2, 1 } }), 1, true)
    assert.matches("bad argument #1 to 'cholesky' (square matrix expected, got [1x2])",
      err(la.cholesky, lt.zeros(1, 2)), 1, true)
  end)
end)

describe("norm", function()
  local A = lt.tensor({ { 1, -2 }, { 3, 4 } }, "float64")

  it("computes matrix norms against hand values", function()
    assert_close(la.norm(A), math.sqrt(30), 1e-14)
    assert_close(la.norm(A, "fro"), math.sqrt(30), 1e-14)
    assert_close(la.norm(A, 1), 6, 0)
    assert_close(la.norm(A, -1), 4, 0)
    assert_close(la.norm(A, math.huge), 7, 0)
    assert_close(la.norm(A, -math.huge), 3, 0)
    -- singular values of A: sqrt(15 +- sqrt(125))
    local s1, s2 = math.sqrt(15 + math.sqrt(125)), math.sqrt(15 - math.sqrt(125))
    assert_close(la.norm(A, 2), s1, 1e-12)
    assert_close(la.norm(A, -2), s2, 1e-12)
    assert_close(la.norm(A, "nuc"), s1 + s2, 1e-12)
    assert_close(la.norm(A:t()), math.sqrt(30), 1e-14)
    assert.equal(math.huge, la.norm(lt.tensor { { 1, math.huge } }, 2))
  end)

  it("computes vector norms", function()
    local v = lt.tensor { 3, -4, 0 }
    assert_close(la.norm(v), 5, 1e-12)
    assert_close(la.norm(v, 1), 7, 0)
    assert_close(la.norm(v, math.huge), 4, 0)
    assert_close(la.norm(v, 0), 2, 0)
    assert_close(la.norm(v, 3), (27 + 64) ^ (1 / 3), 1e-12)
    assert_close(la.norm(lt.tensor({ 3e200, 4e200 }, "float64")), 5e200, 1e188)
  end)

  it("rejects unknown orders", function()
    assert.matches("bad argument #2 to 'norm' (matrix norm order must be 'fro', 'nuc'", err(la.norm, A, 3), 1, true)
    assert.matches("bad argument #2 to 'norm' (vector norm order must be a number, got fro)",
      err(la.norm, lt.zeros(3), "fro"), 1, true)
  end)
end)

describe("cosine_similarity", function()
  it("matches per-pair computation for row sets", function()
    local A, B = rand({ 5, 7 }, 80), rand({ 3, 7 }, 81)
    local S = lt.cosine_similarity(A, B)
    assert.same({ 5, 3 }, S:size())
    for i = 1, 5 do
      for j = 1, 3 do
        local a, b = A:select(1, i):double(), B:select(1, j):double()
        local want = (a * b):sum() / math.sqrt((a * a):sum() * (b * b):sum())
        assert_close(S[{ i, j }], want, 1e-6)
      end
    end
  end)

  it("returns a number for two vectors and handles zero vectors with eps", function()
    assert_close(lt.cosine_similarity(lt.tensor { 1, 0 }, lt.tensor { 1, 1 }), 1 / math.sqrt(2), 1e-12)
    assert.equal(0, lt.cosine_similarity(lt.tensor { 0, 0 }, lt.tensor { 1, 1 }))
    local r = lt.cosine_similarity(lt.tensor { 1, 0 }:float(), lt.tensor { { 1, 0 }, { 0, 2 }, { -3, 0 } })
    assert_close(r, { 1, 0, -1 }, 1e-6)
    assert.matches("bad argument #2 to 'cosine_similarity' (shape mismatch: [2x3] and [2x4]",
      err(lt.cosine_similarity, lt.zeros(2, 3), lt.zeros(2, 4)), 1, true)
  end)
end)

describe("cdist", function()
  local function brute(A, B, squared)
    local a, b, out = A:double():totable(), B:double():totable(), {}
    for i = 1, #a do
      out[i] = {}
      for j = 1, #b do
        local s = 0
        for k = 1, #a[i] do s = s + (a[i][k] - b[j][k]) ^ 2 end
        out[i][j] = squared and s or math.sqrt(s)
      end
    end
    return out
  end

  it("matches brute-force Euclidean distances", function()
    local A, B = rand({ 6, 5 }, 90), rand({ 4, 5 }, 91)
    assert_close(lt.cdist(A, B), brute(A, B), 1e-5)
    assert_close(lt.cdist(A, B, { squared = true }), brute(A, B, true), 1e-5)
    local D = lt.cdist(A, A)
    for i = 1, 6 do assert.is_true(D[{ i, i }] < 1e-3) end
    assert.equal("float64", lt.cdist(A:double(), B):dtype())
  end)

  it("works blockwise on strided, integer and transposed inputs", function()
    local A = randint({ 2500, 6 }, 92, -5, 5):slice(2, 1, 6, 2) -- [2500x3] int64, strided
    local B = rand({ 4, 3 }, 93, "float64"):t():contiguous():t() -- transposed storage
    local D = lt.cdist(A, B)
    assert.same({ 2500, 4 }, D:size())
    local rows = lt.tensor { 1, 1024, 1025, 2048, 2049, 2500 }
    assert_close(D:index_select(1, rows), brute(A:index_select(1, rows), B), 1e-12)
  end)

  it("handles empty inputs and rejects mismatched rows", function()
    assert.same({ 0, 3 }, lt.cdist(lt.zeros(0, 2), lt.zeros(3, 2)):size())
    assert_close(lt.cdist(lt.zeros(2, 0), lt.zeros(3, 0)), lt.zeros(2, 3), 0)
    assert.matches("bad argument #2 to 'cdist' (shape mismatch: [3x4] and [5x2] (rows must have the same length))",
      err(lt.cdist, lt.zeros(3, 4), lt.zeros(5, 2)), 1, true)
    assert.matches("bad argument #1 to 'cdist' (2-d tensor expected, got [3])", err(lt.cdist, lt.zeros(3), lt.zeros(5, 3)), 1, true)
  end)
end)

describe("options", function()
  it("are checked for type and unknown keys", function()
    local A = lt.eye(2)
    assert.matches("bad argument #2 to 'svd' (options table expected, got number)", err(la.svd, A, 5), 1, true)
    assert.matches("bad argument #2 to 'eigh' (unknown option 'uper' to 'eigh' (did you mean 'upper'?))",
      err(la.eigh, A, { uper = true }), 1, true)
    assert.matches("bad argument #3 to 'cdist' (unknown option 'sqared' to 'cdist' (did you mean 'squared'?))",
      err(lt.cdist, A, A, { sqared = true }), 1, true)
    assert.matches("bad argument #3 to 'cosine_similarity' (eps must be >= 0, got -1)",
      err(lt.cosine_similarity, A, A, -1), 1, true)
    assert_close(lt.cosine_similarity(lt.tensor { 0, 0 }:float(), A, { eps = 0.5 }), { 0, 0 }, 0)
  end)
end)

describe("pinv and matrix_rank", function()
  it("invert what can be inverted and count independent rows", function()
    local A = lt.tensor({ { 1, 2 }, { 2, 4 }, { 3, 6 } }, "float64")
    assert.equal(1, la.matrix_rank(A))
    local P = la.pinv(A)
    assert.same({ 2, 3 }, P:size())
    assert_close(lt.matmul(lt.matmul(A, P), A), A, 1e-12)
    local R = rand({ 4, 4 }, 95, "float64") + eye(4) * 3
    assert_close(la.pinv(R), la.inv(R), 1e-12)
    assert.equal(4, la.matrix_rank(R))
  end)
end)

describe("blas_info", function()
  it("names the OpenBLAS kernel set, configuration and thread count this process runs", function()
    local info = la.blas_info()
    assert.is_string(info.core)
    assert.is_true(#info.core > 0 and info.core ~= "unknown")
    assert.matches("OpenBLAS", info.config)
    assert.is_true(math.type(info.threads) == "integer" and info.threads >= 1)
    -- the same answer twice (nothing reloads)
    assert.same(info, la.blas_info())
  end)
end)
