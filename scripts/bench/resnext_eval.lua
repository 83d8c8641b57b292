-- resnext_eval.lua N BS [eval|nograd]: evaluation forward of nn.resnext29{classes = 100} on N
-- random 32x32 images in batches of BS, in evaluation mode (eval) or also under nn.no_grad
-- (nograd); prints CPU and wall time and the block cache to stderr. Run it under
-- `/usr/bin/time -v` for peak RSS (BENCHMARKS.md, ResNeXt-29 section).
local lt = require "lunette"
local nn = lt.nn
local N, BS, mode = tonumber(arg[1] or 250), tonumber(arg[2] or 250), arg[3] or "eval"
lt.seed(1)
if os.getenv("RXCAP") then lt.memory_cache(tonumber(os.getenv("RXCAP")) * 2^20 // 1) end
local m = nn.resnext29 { classes = 100 }
m:eval()
local x = lt.randn(N, 3, 32, 32)
local t0 = os.clock()
local w0 = lt.time()
local sum = 0
local function run()
  for b0 = 1, N, BS do
    local n = math.min(BS, N - b0 + 1)
    local y = m:forward(x:narrow(1, b0, n))
    sum = sum + y:sum()
  end
end
if mode == "nograd" and nn.no_grad then nn.no_grad(run) else run() end
io.stderr:write(("sum %.6g cpu %.2f wall %.2f\n"):format(sum, os.clock() - t0, lt.time() - w0))
local c = lt.memory_cache()
io.stderr:write(("cache held %.0f MB blocks %d hits %d misses %d live %.0f MB\n"):format(
  c.held / 2^20, c.blocks, c.hits, c.misses, lt.memory() / 2^20))
