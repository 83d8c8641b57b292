-- cuda_gpu_spec.lua: every CUDA op against the CPU result on random shapes, on a machine with
-- a GPU. Without one the whole file is one pending line (counted as skipped, never passed).
-- Tolerances (float32 both sides; the CPU sums in double, the GPU in float):
--   copies, views, max/min, fill: exact;  + - * / maximum minimum: 1e-6 relative;
--   exp log sqrt sigmoid tanh pow: 1e-5 relative;  sum/mean of 1e5 elements: 1e-4 relative;
--   softmax: 1e-6 absolute;  matmul: 1e-4 of the result's largest entry (no TF32: cuBLAS's
--   default math mode);  cdist: 1e-3 absolute on distances of O(10);  eigh: 1e-4 relative on
--   values, |<v_gpu, v_cpu>| within 1e-3 of 1 for well separated values.
local lt = require "lunette"
local cuda = lt.cuda
local HAVE, WHY = cuda.is_available()

if not HAVE then
  describe("cuda on a GPU", function()
    it("is skipped", function() pending("no CUDA device (" .. tostring(WHY) .. ")") end)
  end)
  return
end

-- max |a - b| / max(|b|, floor) over all elements: a relative error with a floor for zeros.
local function relerr(a, b, floor)
  local d = (a - b):abs():max()
  local s = math.max(b:abs():max(), floor or 1e-30)
  return d / s
end

-- Numbers (full reductions return numbers on both devices).
local function close_num(got, want, tol, what)
  local e = math.abs(got - want) / math.max(math.abs(want), 1)
  assert.truthy(e <= tol, ("%s: relative error %.3g > %.3g"):format(what, e, tol))
end

local function close(gpu, ref, tol, what)
  local got = gpu:cpu()
  assert.same(ref:size(), got:size(), what)
  local e = relerr(got, ref, 1)
  assert.truthy(e <= tol, ("%s: relative error %.3g > %.3g"):format(what, e, tol))
end

describe("cuda on " .. cuda.device_name(), function()
  lt.seed(7)

  it("round-trips tensors exactly, views included", function()
    local x = lt.randn(37, 53)
    local g = x:cuda()
    assert.equal("cuda:0", g:device())
    assert.is_true(x:equal(g:cpu()))
    assert.is_true(x:t():contiguous():equal(g:t():cpu()))
    assert.is_true(x:narrow(2, 5, 10):contiguous():equal(g:narrow(2, 5, 10):cpu()))
    assert.is_true(x:reshape(53, 37):equal(g:reshape(53, 37):cpu()))
    assert.equal(g, g:cuda(0))
    -- Larger than the 8 MiB pinned buffer: the copy goes in chunks.
    local big = lt.randn(3, 1000, 1000)
    assert.is_true(big:equal(big:cuda():cpu()))
  end)

  it("computes binary ops with broadcasting and scalars", function()
    local a, b = lt.randn(4, 1, 6), lt.randn(5, 1)
    local ga, gb = a:cuda(), b:cuda()
    close(ga + gb, a + b, 1e-6, "add")
    close(ga - gb, a - b, 1e-6, "sub")
    close(ga * gb, a * b, 1e-6, "mul")
    close(ga / (gb:abs() + 1), a / (b:abs() + 1), 1e-6, "div")
    close(ga:maximum(gb), lt.maximum(a, b), 0, "maximum")
    close(ga:minimum(gb), lt.minimum(a, b), 0, "minimum")
    close(ga * 3 + 1, a * 3 + 1, 1e-6, "scalar")
    close(2 - ga, -a + 2, 1e-6, "number - tensor")
    close(ga:abs() ^ 1.5, a:abs() ^ 1.5, 1e-5, "pow")
  end)

  it("computes unary ops", function()
    local x = lt.randn(300, 7)
    local g = x:cuda()
    for _, op in ipairs { "neg", "exp", "abs", "relu", "sigmoid", "tanh" } do
      close(g[op](g), x[op](x), 1e-5, op)
    end
    close(g:abs():log(), x:abs():log(), 1e-5, "log")
    close(g:abs():sqrt(), x:abs():sqrt(), 1e-5, "sqrt")
  end)

  it("reduces over everything and over each dim", function()
    local x = lt.randn(40, 50, 60)
    local g = x:cuda()
    close_num(g:sum(), x:sum(), 1e-4, "sum")
    close_num(g:mean(), x:mean(), 1e-4, "mean")
    close_num(g:max(), x:max(), 0, "max")
    close_num(g:min(), x:min(), 0, "min")
    for d = 1, 3 do
      close(g:sum(d), x:sum(d), 1e-4, "sum dim " .. d)
      close(g:mean(d, true), x:mean(d, true), 1e-4, "mean keepdim " .. d)
      close(g:max(d), (x:max(d)), 0, "max dim " .. d)
    end
  end)

  it("computes softmax and log_softmax over the last dim", function()
    local x = lt.randn(33, 1000) * 5
    local m = x:max(2, true)
    local e = (x - m):exp()
    local ref = e / e:sum(2, true)
    local g = x:cuda()
    close(g:softmax(), ref, 1e-5, "softmax")
    close(g:log_softmax(), ref:log(), 1e-5, "log_softmax")
  end)

  it("multiplies matrices with cuBLAS, transposed and batched", function()
    for _, s in ipairs { { 1, 1, 1 }, { 17, 31, 5 }, { 256, 300, 128 } } do
      local a, b = lt.randn(s[1], s[2]), lt.randn(s[2], s[3])
      close(a:cuda():matmul(b:cuda()), a:matmul(b), 1e-4, "matmul " .. table.concat(s, "x"))
    end
    local a, b = lt.randn(40, 30), lt.randn(20, 40)
    close(a:cuda():t():matmul(b:cuda():t()), a:t():matmul(b:t()), 1e-4, "transposed")
    local p, q = lt.randn(6, 9, 4), lt.randn(6, 4, 11)
    close(p:cuda():bmm(q:cuda()), lt.bmm(p, q), 1e-4, "bmm")
  end)

  it("computes cdist and eigh (cuBLAS, cuSOLVER syevd)", function()
    local x, y = lt.randn(500, 50), lt.randn(300, 50)
    local d = cuda.cdist(x:cuda(), y:cuda()):cpu()
    assert.truthy((d - lt.cdist(x, y)):abs():max() < 1e-3)
    local r = lt.randn(64, 64)
    local s = r:matmul(r:t()) + lt.eye(64) * 64
    local w, v = cuda.eigh(s:cuda())
    local cw, cv = lt.linalg.eigh(s)
    close(w, cw, 1e-4, "eigenvalues")
    local dots = (v:cpu() * cv):sum(1):abs()
    assert.truthy((dots - 1):abs():max() < 1e-3)
  end)

  it("shrinks an FD buffer as the CPU algorithm does (Gram, syevd, delta)", function()
    local B = lt.randn(64, 500)
    local rows, delta = cuda.fd_shrink(B:cuda(), 32)
    local lam = lt.linalg.eigh(B:double():matmul(B:double():t()))
    assert.truthy(math.abs(delta - lam[33]) <= 1e-4 * lam[64])
    local kept = rows:cpu():double()
    local got = lt.linalg.eigh(kept:matmul(kept:t()))
    local n = kept:size(1)
    assert.truthy(n <= 31)
    for j = 1, n do
      local want = lam[64 - n + j] - delta
      assert.truthy(math.abs(got[j] - want) <= 1e-3 * lam[64])
    end
  end)

  it("computes last-layer per-sample gradients, norms and projections as GEMMs", function()
    local n, d, c, l = 40, 30, 10, 16
    local h, logits = lt.randn(n, d), lt.randn(n, c)
    local labels = lt.randint(1, c + 1, { n })
    local e = (logits - logits:max(2, true)):exp()
    local gy = e / e:sum(2, true) - lt.eye(c):index_select(1, labels)
    local ggy = cuda.last_layer_gy(logits:cuda(), labels)
    close(ggy, gy, 1e-5, "gy")
    local G = lt.bmm(gy:reshape(n, c, 1), h:reshape(n, 1, d))
    close(cuda.per_sample_grads(h:cuda(), gy:cuda()), G, 1e-5, "per-sample grads")
    local flat = G:reshape(n, c * d)
    close(cuda.per_sample_norms(h:cuda(), gy:cuda()), (flat * flat):sum(2):sqrt(), 1e-5, "norms")
    local B = lt.randn(l, c * d)
    close(cuda.projected_grads(h:cuda(), gy:cuda(), B:cuda()), flat:matmul(B:t()), 1e-4,
          "projected")
  end)

  it("selects rows and takes top-k like the CPU", function()
    local x = lt.randn(50, 7)
    local idx = lt.tensor({ 3, 1, 50, 3 })
    close(x:cuda():index_select(1, idx), x:index_select(1, idx), 0, "index_select")
    local v, i = x:cuda():topk(5)
    local cv, ci = x:topk(5)
    close(v, cv, 0, "topk values")
    assert.is_true(i:cpu():equal(ci))
    v, i = x:cuda():topk(3, -1, false)
    cv, ci = x:topk(3, -1, false)
    close(v, cv, 0, "topk smallest")
    assert.is_true(i:cpu():equal(ci))
  end)

  it("finds k nearest neighbours (cdist + top-k, in blocks)", function()
    local x = lt.randn(3000, 20)
    local d, i = cuda.knn(x:cuda(), 10)
    local cd, ci = lt.cdist(x, x):topk(10, -1, false)
    assert.truthy((d:cpu() - cd):abs():max() < 1e-3)
    -- Ties aside, the same neighbours: compare as sets per row through the first column.
    assert.is_true(i:cpu():select(2, 1):equal(ci:select(2, 1)))
  end)

  it("draws Philox numbers reproducibly per seed", function()
    cuda.manual_seed(42)
    local u = cuda.rand(1000000):cpu()
    local n = cuda.randn(1000000):cpu()
    cuda.manual_seed(42)
    assert.is_true(u:equal(cuda.rand(1000000):cpu()))
    assert.truthy(u:min() >= 0 and u:max() < 1)
    assert.truthy(math.abs(u:mean() - 0.5) < 0.005)
    assert.truthy(math.abs(n:mean()) < 0.01)
    assert.truthy(math.abs(n:std() - 1) < 0.01)
  end)

  it("serves repeated allocations from the cache", function()
    local x = lt.randn(256, 256):cuda()
    local y = x * 2
    y = nil
    collectgarbage()
    local before = cuda.memory().device_mallocs
    for _ = 1, 100 do
      local z = x * 2 + 1
      z = nil
    end
    collectgarbage()
    cuda.synchronize()
    local m = cuda.memory()
    assert.truthy(m.device_mallocs - before <= 2, m.device_mallocs - before)
    assert.truthy(m.total > 0 and m.free <= m.total)
    assert.truthy(m.reserved >= m.allocated)
  end)

  it("prints only what it shows, as the CPU prints", function()
    local x = lt.randn(100, 200)
    local want = tostring(x):gsub("^Tensor float32 %[100x200%]", "")
    local got = tostring(x:cuda()):gsub("^Tensor float32 %[100x200%] on cuda:0", "")
    assert.equal(want, got)
  end)

  it("refuses to mix devices", function()
    local g = lt.randn(3):cuda()
    assert.has_error(function() return g + lt.randn(3) end)
    assert.has_error(function() return lt.randn(3) + g end)
  end)
end)
