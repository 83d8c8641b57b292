-- matmul: float32 GEMM through lunette (OpenBLAS sgemm underneath) vs numpy (same OpenBLAS).
-- @row matmul_1024 goal=0.95 title="matmul f32 1024×1024 · 1024×1024"
-- @row matmul_4096x256 goal=0.95 title="matmul f32 4096×256 · 256×4096"
local bench = require "bench"
local lt = bench.lt

local shapes = {
  { "matmul_1024", 1024, 1024, 1024 },
  { "matmul_4096x256", 4096, 256, 4096 },
}

-- lunette.matmul, else the tensor method; nil when linear algebra is not built yet.
local function find_matmul(a)
  if type(lt.matmul) == "function" then return lt.matmul end
  local ok, m = pcall(function() return a.matmul end)
  if ok and m then return function(x, y) return x:matmul(y) end end
  return nil
end

for _, s in ipairs(shapes) do
  local name, m, k, n = s[1], s[2], s[3], s[4]
  local a, b = bench.pattern(m, k), bench.pattern(k, n)
  local mm = find_matmul(a)
  if not mm then
    bench.na(name, "not available")
  else
    bench.run(name, function() return mm(a, b) end,
      { flops = 2 * m * n * k, check = bench.total })
  end
end
