-- cuda_bench.lua - the GPU bench rows (scripts/gpu_check.sh runs it on a lent GPU machine):
-- each row times one op on the GPU (lunette.cuda, synchronised) and the same op on the CPU
-- (lunette, same machine, same run), median of a few repeats after one warm-up, and prints a
-- Markdown row. UNVERIFIED until it has run on a GPU: no GPU has run it yet.
-- usage: build/lunette scripts/bench/cuda_bench.lua [--quick]
local lt = require "lunette"
local cuda = lt.cuda
local quick = arg and arg[1] == "--quick"

local ok, why = cuda.is_available()
if not ok then
  print("cuda_bench: no CUDA device (" .. tostring(why) .. "): no GPU rows")
  return
end

-- Median seconds of fn over `reps` runs after one warm-up; sync() after each run.
local function time(fn, reps, sync)
  fn()
  if sync then sync() end
  local ts = {}
  for i = 1, reps do
    local t0 = lt.time()
    fn()
    if sync then sync() end
    ts[i] = lt.time() - t0
  end
  table.sort(ts)
  return ts[(reps + 1) // 2]
end

local sync = function() cuda.synchronize() end
local rows = {}
local function row(name, gpu_s, cpu_s, unit_of)
  local u = unit_of and (" (" .. unit_of(gpu_s) .. " GPU, " .. unit_of(cpu_s) .. " CPU)") or ""
  rows[#rows + 1] = ("| %s | %.3f ms | %.3f ms | %.1fx |%s"):format(name, gpu_s * 1e3,
                                                                 cpu_s * 1e3, cpu_s / gpu_s, u)
  print(rows[#rows])
end

print("device: " .. cuda.device_name() .. ", CPU threads: " .. (os.getenv("OMP_NUM_THREADS")
      or "default"))
print("| op | GPU (lunette.cuda) | CPU (lunette) | CPU/GPU | rates")
print("|---|---|---|---|---|")

local reps = quick and 3 or 7
local mib = quick and 64 or 256
local host = lt.randn(mib * 262144)
local dev = host:cuda()
local gb = function(s) return ("%.1f GB/s"):format(mib / 1024 / s) end
-- The CPU column of the copies is a host clone of the same bytes (a memory-bandwidth yardstick).
row(("copy to device %d MiB (CPU: a host clone)"):format(mib),
    time(function() return host:cuda() end, reps, sync),
    time(function() return host:clone() end, reps), gb)
row(("copy to host %d MiB (CPU: a host clone)"):format(mib),
    time(function() return dev:cpu() end, reps, sync),
    time(function() return host:clone() end, reps), gb)

local a, b = lt.randn(4096, 4096), lt.randn(4096)
local ga, gbv = a:cuda(), b:cuda()
row("add [4096x4096] + [4096] (broadcast)", time(function() return ga + gbv end, reps, sync),
    time(function() return a + b end, reps))
row("sum of 16M", time(function() return ga:sum() end, reps, sync),
    time(function() return a:sum() end, reps))
local sm = lt.nn.Softmax()
row("softmax [4096x4096] last dim", time(function() return ga:softmax() end, reps, sync),
    time(function() return sm:forward(a) end, reps))

local n = quick and 2048 or 4096
local m1, m2 = lt.randn(n, n), lt.randn(n, n)
local g1, g2 = m1:cuda(), m2:cuda()
local flops = function(s) return ("%.0f GFLOP/s"):format(2 * n ^ 3 / s / 1e9) end
row(("sgemm %d^3 (cuBLAS)"):format(n), time(function() return g1:matmul(g2) end, reps, sync),
    time(function() return m1:matmul(m2) end, 2), flops)

-- kNN input of 70,000 x 50 (the issue's row): distances of all 70,000 points to a block of
-- 10,000 queries (the full 70,000^2 matrix is 19.6 GB).
local pts = lt.randn(70000, 50)
local q = pts:narrow(1, 1, 10000):contiguous()
local gp, gq = pts:cuda(), q:cuda()
row("cdist 10,000 x 70,000 (d = 50)", time(function() return cuda.cdist(gq, gp) end, 3, sync),
    time(function() return lt.cdist(q, pts) end, 1))

-- FD shrink: eigen-decomposition of the 2l x 2l Gram matrix, l = 256.
local r = lt.randn(512, 2048)
local gram = r:matmul(r:t())
local gg = gram:cuda()
row("eigh 512x512 (FD shrink, l = 256; cuSOLVER syevd)",
    time(function() return cuda.eigh(gg) end, reps, sync),
    time(function() return lt.linalg.eigh(gram) end, reps))

local mem = cuda.memory()
print(("memory: %.0f MiB free of %.0f; allocator: %d cudaMalloc calls, %d cache hits"):format(
  mem.free / 2 ^ 20, mem.total / 2 ^ 20, mem.device_mallocs, mem.cache_hits))
