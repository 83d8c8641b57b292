-- tsne_crossover.lua [N ...]: the crossover table between t-SNE's Barnes-Hut and FFT repulsion.
-- Usage (OMP_NUM_THREADS=2 in the environment, as make bench):
--   build/lunette scripts/bench/tsne_crossover.lua 2000 5000 10000 20000 70000
--   build/lunette scripts/bench/tsne_crossover.lua steps 200000 1000000
-- Not a `make bench` group (the whole table takes about half an hour on 2 cores): its rows are
-- pasted into BENCHMARKS.md with the command that made them. For each N, the first N images of
-- Fashion-MNIST (train then test, scaled to [0, 1]), PCA-50, then embed.tsne with the defaults
-- (perplexity 30, 1000 steps, seed 42) by each method; wall time of the tsne call (affinities
-- included: they are the same for both) and the KL it reports.
local lt = require "lunette"
local embed = lt.embed
local DIR = "/usr/share/datasets/fashion-mnist/"

local function images(file)
  return lt.io.read_idx(DIR .. file, {dtype = "float32", scale = 1 / 255}):reshape(-1, 784)
end

-- steps N...: the median wall time of t-SNE steps 2 to 6 by each method from a layout of 200
-- Gaussian clusters (sd 3, centres sd 80: an extent of about 500, the FFT grid's 500-box cap),
-- 5-d Gaussian input, perplexity 3: the per-step cost at sizes whose whole runs take too long.
if arg[1] == "steps" then
  print("| N | extent | Barnes-Hut step | FFT step |")
  print("|---:|---:|---:|---:|")
  for i = 2, #arg do
    local n = assert(tonumber(arg[i]), "sizes must be numbers")
    local g = lt.random.Generator(1)
    local X, Y = g:randn(n, 5):float(), (g:randn(n, 2) * 3):float()
    local centres = (g:randn(200, 2) * 80):float()
    Y = (Y + centres:index_select(1, (lt.arange(0, n) % 200 + 1):long())):float()
    local med = {}
    for _, m in ipairs {"barnes_hut", "fft"} do
      local last, ts = nil, {}
      embed.tsne(X, {method = m, perplexity = 3, init = Y, knn = "approx", n_iter = 7,
        progress = function(stage)
          if stage ~= "optimize" then return end
          local t = lt.time()
          if last then ts[#ts + 1] = t - last end
          last = t
        end})
      table.sort(ts)
      med[m] = ts[#ts // 2 + 1]
    end
    print(("| %d | %.0f | %.3f s | %.3f s |"):format(n, Y:max() - Y:min(), med.barnes_hut, med.fft))
    io.stdout:flush()
  end
  return
end

local sizes = {}
for i = 1, #arg do sizes[i] = assert(tonumber(arg[i]), "sizes must be numbers") end
if #sizes == 0 then sizes = {2000, 5000, 10000, 20000, 70000} end
local all = lt.cat({images("train-images-idx3-ubyte.gz"), images("t10k-images-idx3-ubyte.gz")}, 1)
print("| N | Barnes-Hut | FFT | FFT / BH | KL BH | KL FFT |")
print("|---:|---:|---:|---:|---:|---:|")
for _, n in ipairs(sizes) do
  local Z = embed.pca(all:narrow(1, 1, n), 50)
  local t, kl = {}, {}
  for _, m in ipairs {"barnes_hut", "fft"} do
    local t0 = lt.time()
    local _, k = embed.tsne(Z, {seed = 42, method = m, progress = false})
    t[m], kl[m] = lt.time() - t0, k
  end
  print(("| %d | %.1f s | %.1f s | %.1f× | %.4f | %.4f |"):format(n, t.barnes_hut, t.fft,
    t.fft / t.barnes_hut, kl.barnes_hut, kl.fft))
  io.stdout:flush()
end
