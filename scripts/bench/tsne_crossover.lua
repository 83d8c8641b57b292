-- tsne_crossover.lua [N ...]: the crossover table between t-SNE's Barnes-Hut and FFT repulsion.
-- Usage: OMP_NUM_THREADS=2 build/lunette scripts/bench/tsne_crossover.lua 2000 5000 10000 20000 70000
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
