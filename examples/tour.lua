-- tour.lua: a ten-minute walk through lunette's tensors, run by `make demo`
-- until the seed analyses land. Run it with: build/lunette examples/tour.lua
local lt = require "lunette"

local function section(title) print(("\n== %s %s"):format(title, ("="):rep(60 - #title))) end

section("Construction")
local a = lt.tensor{{1, 2, 3}, {4, 5, 6}}        -- int64, inferred like numpy
print(a)
print(lt.zeros(2, 3, "float64"))
print(lt.arange(0, 1, 0.25))
print(lt.eye(3))

section("Views share memory")
local m = lt.arange(12):reshape(3, 4)
local col = m[{{}, 2}]                            -- column 2, 1-based, no copy
col:fill_(-1)
print(m)
print("transposed is a view:", m:t():same_storage(m), "contiguous:", m:t():is_contiguous())

section("Broadcasting arithmetic")
local x = lt.arange(6, "float32"):reshape(2, 3)
print(x + lt.tensor{10, 20, 30})
print((x - x:mean(1)) / x:std(1))

section("Reductions")
print("sum", x:sum(), "mean", x:mean(), "max", x:max())
local vals, idx = x:max(2)
print("row maxima", vals, "at", idx)
local v, i = lt.tensor{5, 1, 9, 3}:topk(2)
print("top-2", v, i)

section("Masks and indexing")
local y = lt.tensor{-2, 3, -1, 4}
print("positives:", y[y:gt(0)])
y[y:lt(0)] = 0
print("clipped:  ", y)

section("Linear algebra")
if lt.linalg and lt.linalg.svd then
  local A = lt.tensor({{3, 1}, {1, 3}}, "float64")
  local _, S = lt.linalg.svd(A)
  print("singular values of [[3,1],[1,3]]:", S)
  print("A @ A =", lt.matmul(A, A))
end

section("Random, seeded")
if lt.seed and lt.randn then
  lt.seed(42)
  local r = lt.randn(10000)
  print(("10,000 normals: mean %.3f, std %.3f"):format(r:mean(), r:std()))
end

section("Big tensors print as summaries")
print(lt.arange(1e6):reshape(1000, 1000))
print(("live tensor memory: %.1f MB"):format(lt.memory() / 1e6))
