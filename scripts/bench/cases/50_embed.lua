-- Embeddings on Fashion-MNIST (the images scaled to [0, 1]; 60,000 train, or train + test for
-- @rounds 1  (slow group: one round per side keeps make bench near its time budget)
-- 70,000). Each side computes its own PCA-50 of the first N images and embeds that, as the SAGE
-- notebook does (PCA(50) then TSNE(perplexity=30) / UMAP(n_neighbors=15, min_dist=0.1)).
-- Peers: scikit-learn 1.2 PCA / TSNE and umap-learn 0.5 (warm: one untimed call first, so numba
-- has compiled). Checksums: t-SNE and UMAP report trustworthiness(k=10) on the input (on a fixed
-- 5,000-point sample for N > 5,000), so "checksums differ" flags a quality gap above 1%; PCA
-- reports the explained variance ratio of the 50 components. Each side also prints a
-- `note=` line with the quality numbers (see build/bench/50_embed.*.log).
-- Multi-second rows run one timed call, in the first round only. The 20k/70k rows are lunette
-- alone: scikit-learn's TSNE needs many minutes at those sizes on 2 cores.
-- @row pca50_fmnist_60k goal=1 tol=1e-3 title="PCA-50 of Fashion-MNIST 60,000×784 (explained variance)"
-- @row tsne_fmnist_5k goal=5 tol=0.01 title="t-SNE 2-D of FMNIST PCA-50, N=5,000 (trustworthiness@10)"
-- @row umap_fmnist_5k goal=3 tol=0.01 title="UMAP 2-D of FMNIST PCA-50, N=5,000, warm peer (trustworthiness@10)"
-- @row tsne_fmnist_20k goal=1 tol=0.01 title="t-SNE 2-D of FMNIST PCA-50, N=20,000 (lunette alone)"
-- @row tsne_fmnist_70k goal=1 tol=0.01 title="t-SNE 2-D of FMNIST PCA-50, N=70,000 (lunette alone)"
-- @row umap_fmnist_70k goal=1 tol=0.01 title="UMAP 2-D of FMNIST PCA-50, N=70,000 (lunette alone)"
local bench = require "bench"
local lt = bench.lt
local embed = lt.embed

local DIR = "/usr/share/datasets/fashion-mnist/"

-- [n x 784] float32 in [0, 1]: lunette.io when it reads IDX, else gzip + frombytes.
local function images(file, n)
  if lt.io and lt.io.read_idx then
    return lt.io.read_idx(DIR .. file, {dtype = "float32", scale = 1 / 255}):reshape(-1, 784):narrow(1, 1, n)
  end
  local p = assert(io.popen("gzip -dc " .. DIR .. file))
  local raw = p:read("a")
  p:close()
  return lt.frombytes(raw:sub(17, 16 + n * 784), "uint8", {n, 784}):float() / 255
end

local RAW = ((os.getenv("LUNETTE_HOST") or "build/lunette"):match("^(.*)/[^/]*$") or "build") .. "/bench/raw.txt"
local function measured(name)
  local f = io.open(RAW)
  if not f then return false end
  local text = f:read("a")
  f:close()
  return text:find("case=" .. name .. " side=lunette ", 1, true) ~= nil
end

local function note(name, text) io.write(("case=%s side=lunette note='%s'\n"):format(name, text)); io.flush() end

-- One timed call, no warm-up, first round only.
local function heavy(name, fn, check)
  if measured(name) then return end
  local saved = { bench.warmup, bench.min, bench.budget }
  bench.warmup, bench.min, bench.budget = 0, 1, 0
  bench.run(name, fn, { check = check })
  bench.warmup, bench.min, bench.budget = saved[1], saved[2], saved[3]
end

-- Trustworthiness(k=10) of Y for the input X, on every `step`-th row when N > 5,000.
local function trust(X, Y)
  local n = X:size(1)
  if n > 5000 then
    local rows = lt.arange(1, n + 1, n // 5000, "int64"):narrow(1, 1, 5000)
    X, Y = X:index_select(1, rows), Y:index_select(1, rows)
  end
  return embed.trustworthiness(X, Y, 10)
end

local train = images("train-images-idx3-ubyte.gz", 60000)

local ratio
heavy("pca50_fmnist_60k", function()
  local _, model = embed.pca(train, 50, {scores = false})
  return model
end, function(model) ratio = model.explained_variance_ratio:sum() return ratio end)

local function pca50(X) return (embed.pca(X, 50)) end

local function tsne_case(name, X)
  local kl
  heavy(name, function() local Y; Y, kl = embed.tsne(X, {perplexity = 30, seed = 42, progress = false}) return Y end,
    function(Y)
      local t = trust(X, Y)
      note(name, ("trustworthiness@10 %.4f, KL %.4f"):format(t, kl))
      return t
    end)
end

local function umap_case(name, X)
  heavy(name, function() return (embed.umap(X, {n_neighbors = 15, min_dist = 0.1, seed = 42, progress = false})) end,
    function(Y)
      local t = trust(X, Y)
      note(name, ("trustworthiness@10 %.4f"):format(t))
      return t
    end)
end

local Z5 = pca50(train:narrow(1, 1, 5000))
tsne_case("tsne_fmnist_5k", Z5)
umap_case("umap_fmnist_5k", Z5)
tsne_case("tsne_fmnist_20k", pca50(train:narrow(1, 1, 20000)))
local all = lt.cat({ train, images("t10k-images-idx3-ubyte.gz", 10000) }, 1)
train = nil
local Z70 = pca50(all)
all = nil
collectgarbage()
tsne_case("tsne_fmnist_70k", Z70)
umap_case("umap_fmnist_70k", Z70)
if ratio then note("pca50_fmnist_60k", ("explained variance ratio %.5f"):format(ratio)) end
