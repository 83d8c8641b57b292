-- knn_recall.lua N K: recall of NN-descent (embed.knn method "approx", seed 0) against the exact
-- kNN on the first N images of Fashion-MNIST (train then test, scaled to [0, 1]) after PCA-50,
-- with both wall times. Usage (OMP_NUM_THREADS=2 in the environment, as make bench):
--   build/lunette scripts/bench/knn_recall.lua 20000 90
local lt = require "lunette"
local embed = lt.embed
local DIR = "/usr/share/datasets/fashion-mnist/"
local n, k = assert(tonumber(arg[1]), "N expected"), assert(tonumber(arg[2]), "K expected")

local function images(file)
  return lt.io.read_idx(DIR .. file, {dtype = "float32", scale = 1 / 255}):reshape(-1, 784)
end

local all = lt.cat({images("train-images-idx3-ubyte.gz"), images("t10k-images-idx3-ubyte.gz")}, 1)
local Z = embed.pca(all:narrow(1, 1, n), 50)
local t0 = lt.time()
local approx = embed.knn(Z, k, {method = "approx", seed = 0, progress = false})
local ta = lt.time() - t0
t0 = lt.time()
local exact = embed.knn(Z, k, {method = "exact", progress = false})
local te = lt.time() - t0
print(("N=%d k=%d recall=%.4f NN-descent %.2f s, exact %.2f s"):format(n, k,
  embed.knn_recall(approx, exact), ta, te))
