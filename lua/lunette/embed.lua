-- lunette.embed: PCA, t-SNE, UMAP, nearest neighbours, embedding quality, and
-- the hypersphere helpers (anchors, centroids, effective dimension, spherical k-means).
--
--   local embed = require("lunette").embed
--   local Z, pca = embed.pca(X, 50)                      -- scores [n x 50] and the fitted model
--   local Y, kl  = embed.tsne(Z, {perplexity = 30, seed = 42})
--   local U      = embed.umap(Z, {n_neighbors = 15, min_dist = 0.1, seed = 42})
--   local Yn     = embed.tsne_transform(Z, Y, Znew)      -- new rows placed into the map Y
--   local Un     = embed.umap_transform(Z, U, Znew, {n_neighbors = 15, min_dist = 0.1})
--   print(embed.trustworthiness(Z, Y, 10))
--   local idx, dist = embed.knn(Z, 15)                    -- 1-based indices, ascending distances
--   local S, proj, radii = embed.to_sphere(E, {sample = 5000})   -- PCA-3 then onto S^2
--   local near, cos = embed.nearest_anchor(E, anchors)
--
-- Every random algorithm takes opts.seed (default 0; any integer, negative too, as
-- every seed in lunette; 1.5 or "7" is an error): the same seed gives the
-- same bits on any thread count for kNN, t-SNE and UMAP (lunette's own kernels,
-- fixed reduction order). PCA's default solvers use OpenBLAS, whose sums depend
-- on its thread count and CPU kernel: the same bits for the same thread count,
-- agreement to float rounding across thread counts; pca{deterministic = true}
-- gives the same bits on any thread count. Long runs (kNN, t-SNE, UMAP) draw a
-- progress bar on stderr when it is a terminal; opts.progress = false turns
-- it off, a function(stage, done, total) receives the ticks instead (return
-- false from it to stop the run), and LUNETTE_PROGRESS=0 silences all bars.

-- raise(msg): a façade error at the user's line (lunette.options).
local function raise(msg) require("lunette.options").raise(msg) end
local check = require("lunette.options").check
local C = require "lunette._embed"
local tensor = require "lunette.tensor"

local M = {}

---------------------------------------------------------------------------
-- progress
---------------------------------------------------------------------------

local function bars_enabled()
  local env = os.getenv("LUNETTE_PROGRESS")
  if env == "0" then return false end
  return env == "1" or C._stderr_isatty()
end

-- A tiny fallback bar, used when lunette.data (which has the full one) cannot load.
local function simple_bar(desc, total)
  local t0, last = os.clock(), -1
  return {
    update = function(_, n)
      local now = os.clock()
      if now - last < 0.1 and n < total then return end
      last = now
      local frac = total > 0 and n / total or 1
      io.stderr:write(("\r%s %3d%% %d/%d [%.1fs]\27[K"):format(desc, math.floor(frac * 100), n, total, now - t0))
    end,
    close = function() io.stderr:write("\n") end,
  }
end

-- Returns the function the C side calls, or nil (no bar). arg: the options' position (2).
local function progress_hook(name, p, arg)
  if p == false then return nil end
  if type(p) == "function" then return p end
  if p ~= nil and p ~= true then
    raise(("bad argument #%d to '%s' (option 'progress' must be a boolean or a function, got %s)")
      :format(arg or 2, name, type(p)))
  end
  if not bars_enabled() then return nil end
  local ok, data = pcall(require, "lunette.data")
  local bar, stage, shown = nil, nil, 0
  return function(st, done, total)
    if st ~= stage then
      if bar then bar:close() end
      stage, shown = st, 0
      local desc = name .. " " .. st
      bar = ok and data.progress(total, {desc = desc}) or simple_bar(desc, total)
    end
    if bar.n ~= nil then bar:update(done - shown) else bar:update(done) end
    shown = done
    if done >= total then bar:close(); bar, stage = nil, nil end
  end
end

-- A shallow copy of opts (argument #arg, default 2) with the progress hook resolved.
local function with_progress(name, opts, arg)
  if opts ~= nil and type(opts) ~= "table" then
    raise(("bad argument #%d to '%s' (options table expected, got %s)")
      :format(arg or 2, name, type(opts)))
  end
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.progress = progress_hook(name, o.progress, arg)
  return o
end

---------------------------------------------------------------------------
-- PCA
---------------------------------------------------------------------------

local PCA = {}
PCA.__index = PCA
PCA.__name = "PCA"

--- pca(X, k, {solver = "auto"|"exact"|"randomized", center = true, seed = 0,
--- n_iter, n_oversamples, deterministic = false, scores = true}) -> scores [n x k], model.
-- model fields: components [k x d], mean [d], explained_variance,
-- explained_variance_ratio, singular_values (float64 [k]), total_variance.
-- Signs as scikit-learn: each component's largest-magnitude score is positive.
-- solver "auto" is exact when min(n, d) <= 1000 or k > min(n, d) / 4. seed drives the
-- randomized solver; n_iter (default 7 if k < min(n, d) / 10, else 4) and
-- n_oversamples (default 10) tune it. scores = false skips the scores (nil).
-- The default solvers sum through OpenBLAS: the same bits for the same thread count,
-- float rounding across thread counts. deterministic = true uses the exact solver
-- with fixed-order float64 sums and one BLAS thread: the same bits on any thread
-- count, slower for large d (t-SNE's and UMAP's PCA initialisation use it).
--
-- dist = true (under lunette.dist): X is this rank's rows (its shard) and the model is the
-- PCA of every rank's rows stacked: the mean and the d x d scatter matrix (float64, centred on
-- the global mean) are allreduced and every rank takes the same eigendecomposition, so the
-- components, variances and mean are the same on every rank and those of one process on the
-- stacked rows (to float rounding; signs by the same rule, over every rank's scores). The
-- scores are this rank's rows'. Costs O(n d^2) per rank, d^2 float64 on the wire and an
-- O(d^3) eigendecomposition: for d up to a few thousand (d = 4096 is a 128 MiB matrix);
-- solver, seed, n_iter, n_oversamples and deterministic do not apply (the exact solution).
function M.pca(X, k, opts)
  local o = {}
  for key, v in pairs(opts or {}) do o[key] = v end
  if o.dist then return M._pca_dist(X, k, o) end
  o.dist = nil
  local Z, comp, ev, sv, mean, total = C.pca(X, k, o)
  local model = setmetatable({
    components = comp, mean = mean, explained_variance = ev, singular_values = sv,
    explained_variance_ratio = total > 0 and ev / total or ev * 0, total_variance = total,
    k = k, n_features = comp:size(2),
  }, PCA)
  return Z, model
end

-- pca{dist = true}: the allreduced mean and scatter matrix, their eigendecomposition, the signs
-- chosen from every rank's largest-magnitude score.
function M._pca_dist(X, k, o)
  check("pca", 3, o, { "solver", "center", "seed", "n_iter", "n_oversamples", "scores",
                       "deterministic", "dist" })
  if not tensor.is_tensor(X) or X:dim() ~= 2 then
    raise("bad argument #1 to 'pca' (2-d tensor expected (this rank's rows))")
  end
  if o.solver == "randomized" then
    raise("bad argument #3 to 'pca' (dist = true is the exact solver, not randomized)")
  end
  local lt = require "lunette"
  local dist = require "lunette.dist"
  local linalg = require "lunette.linalg"
  local Xd = X:double()
  local n, d = X:size(1), X:size(2)
  local N = dist.allreduce(lt.tensor({ n }, "int64")):sum()
  local mn = math.min(N, d)
  if math.type(k) ~= "integer" or k < 1 or k > mn then
    raise(("bad argument #2 to 'pca' (k must be in 1..min(n, d) = %d over every rank, got %s)")
      :format(mn, tostring(k)))
  end
  local mean = lt.zeros({ d }, "float64")
  if o.center ~= false then
    mean = dist.allreduce(n > 0 and Xd:sum(1) or lt.zeros({ d }, "float64")) / N
  end
  local Xc = Xd - mean
  local S = dist.allreduce(linalg.matmul(Xc:t(), Xc))
  local w, V = linalg.eigh(S)
  -- The k largest eigenvalues, descending; eigh gives them ascending.
  local top = lt.arange(d, d - k, -1, "int64")
  local eig = w:index_select(1, top):maximum(0)
  local comp = V:index_select(2, top):t():contiguous()
  -- Signs as one process: each component's largest-magnitude score (over every rank) positive.
  local Z = linalg.matmul(Xc, comp:t())
  local best = lt.zeros({ k }, "float64")
  if n > 0 then
    local _, at = Z:abs():max(1)
    best = Z:gather(1, at:reshape { 1, k }):reshape { k }
  end
  local all = dist.allgather(best:reshape { 1, k })
  local _, who = all:abs():max(1)
  local sign = all:gather(1, who:reshape { 1, k }):reshape { k }:sign()
  sign = lt.where(sign:eq(0), 1, sign)
  comp = comp * sign:reshape { k, 1 }
  local dof = math.max(N - 1, 1)
  local total = S:diagonal():sum() / dof
  local ev = eig / dof
  local model = setmetatable({
    components = comp:float(), mean = mean:float(), explained_variance = ev,
    singular_values = eig:sqrt(),
    explained_variance_ratio = total > 0 and ev / total or ev * 0, total_variance = total,
    k = k, n_features = d,
  }, PCA)
  if o.scores == false then return nil, model end
  return (Z * sign:reshape { 1, k }):float(), model
end

--- model:transform(Z) -> (Z - mean) components^T  [m x k]
function PCA:transform(Z) return C.pca_transform(Z, self.components, self.mean) end

--- model:project(Z) -> Z components^T without centring (the hypersphere script's emb @ pca3.T)
function PCA:project(Z) return C.pca_transform(Z, self.components, nil) end

--- model:inverse_transform(S) -> S components + mean  [m x d]
function PCA:inverse_transform(S) return S:float():matmul(self.components) + self.mean end

--- singular_values(X, {center = true}) -> all min(n, d) singular values (float64), descending
function M.singular_values(X, opts)
  check("singular_values", 2, opts, { "center" })
  local center = true
  if type(opts) == "table" and opts.center ~= nil then center = opts.center end
  return C.singular_values(X, center)
end

--- effective_dim(X or S, {center = true, sample = nil}) -> d_svd, d_pr
-- d_svd = (sum_i (s_i / sum s)^2)^-1 over singular values (the hypersphere
-- script's eff_dim); d_pr = (sum s^2)^2 / sum s^4, the participation ratio of
-- the variances. X: data rows (the first `sample` rows if given, centred);
-- or a 1-d tensor of singular values.
function M.effective_dim(X, opts)
  opts = check("effective_dim", 2, opts, { "center", "sample" }) or {}
  if tensor.is_tensor(X) and X:dim() == 1 then return C.effective_dim_of(X) end
  if opts.sample and tensor.is_tensor(X) and X:dim() == 2 and X:size(1) > opts.sample then
    X = X:narrow(1, 1, opts.sample)
  end
  return C.effective_dim_of(M.singular_values(X, {center = opts.center ~= false}))
end

---------------------------------------------------------------------------
-- t-SNE and UMAP
---------------------------------------------------------------------------

--- tsne(X, {dim = 2, perplexity = 30, early_exaggeration = 12, exaggeration_iter = 250,
---   learning_rate = "auto", n_iter = 1000, theta = 0.5,
---   method = "auto"|"barnes_hut"|"fft"|"exact", init = "pca"|"random"|tensor, dof,
---   min_grad_norm = 1e-7, n_iter_without_progress = 300, knn = "auto"|"exact"|"approx", seed = 0,
---   progress}) -> Y [n x dim], kl, info
-- Defaults are scikit-learn 1.2's; learning_rate "auto" = max(n / early_exaggeration / 4, 50).
-- method "fft" computes the repulsion by FFT-accelerated interpolation (FIt-SNE's method: a grid
-- of spacing 1/2 over the layout, each point spread to its 6 x 6 nearest nodes, single-precision
-- FFTW), O(n) per step plus a grid FFT; it needs dim = 2 and dof = 1. "auto" picks it
-- for such layouts from 4,000,000 points on (an extrapolation: Barnes-Hut was faster at every
-- size measured, 2,000 to 70,000 points whole and 1,000,000 per step; see BENCHMARKS.md),
-- Barnes-Hut otherwise. Same seed, same result on any
-- thread count, for every method.
-- info = {kl =, iterations =, learning_rate =, method =} (method: the one used).
-- One process: under lunette.dist (mpirun) t-SNE and UMAP do not spread over ranks (every
-- step touches every point's neighbours); gather a subset on one rank and embed it there,
-- e.g. pca{dist = true} over every rank's rows, then each rank's sample of 500 scores:
--   local _, pca = embed.pca(F, 50, {dist = true})
--   local Z = lt.dist.gather(pca:transform(F:index_select(1, sample)))  -- nil on ranks > 0
--   if lt.dist.is_root() then Y = embed.tsne(Z) end
function M.tsne(X, opts)
  local o = with_progress("tsne", opts)
  if o.learning_rate == "auto" then o.learning_rate = nil end
  local Y, kl, it, lr, method = C.tsne(X, o)
  return Y, kl, {kl = kl, iterations = it, learning_rate = lr, method = method}
end

--- tsne_affinities(X, {perplexity = 30, knn, seed}) -> rows, cols (1-based), values of the sparse joint P
function M.tsne_affinities(X, opts) return C.tsne_affinities(X, with_progress("tsne_affinities", opts)) end

--- umap(X, {dim = 2, n_neighbors = 15, min_dist = 0.1, spread = 1, n_epochs (500 if n <= 10000 else 200),
---   learning_rate = 1, repulsion_strength = 1, negative_sample_rate = 5, local_connectivity = 1,
---   set_op_mix_ratio = 1, a, b, init = "spectral"|"random"|tensor, metric = "euclidean"|"cosine",
---   knn = "auto"|"exact"|"approx", seed = 0, progress}) -> Y [n x dim], info
-- info = {a, b, n_epochs, n_edges, components, spectral}. n_neighbors counts the point itself.
-- info.spectral: whether Laplacian eigenvectors placed the start (false when every point started
-- at random: init "random" or a tensor, or components of fewer than 2 dim points).
-- negative_sample_rate = 0 samples no repulsions (attraction only), as umap-learn.
-- One process, as tsne: under lunette.dist gather a subset on one rank (dist.gather, or
-- dist.gather_values for Lua values) and run umap there.
function M.umap(X, opts) return C.umap(X, with_progress("umap", opts)) end

--- umap_graph(X [, opts]) -> rows, cols (1-based), weights, sigmas, rhos of the fuzzy simplicial set
-- opts as umap's (n_neighbors, metric, knn, local_connectivity, set_op_mix_ratio, seed, progress
-- shape the graph; the layout options are accepted and unused).
function M.umap_graph(X, opts) return C.umap_graph(X, with_progress("umap_graph", opts)) end

--- umap_ab(spread, min_dist) -> a, b of the curve 1 / (1 + a d^(2b))
M.umap_ab = C.umap_ab

---------------------------------------------------------------------------
-- out-of-sample: new points into an existing embedding
---------------------------------------------------------------------------

--- tsne_transform(X_ref, Y_ref, X_new [, {perplexity = 5, k = min(n, floor(3 perplexity)),
---   init = "median"|"weighted"|"random"|tensor, n_iter = 250, exaggeration_iter = 0,
---   early_exaggeration = 4, exaggeration = 1.5, learning_rate = 0.1, momentum = 0.8,
---   max_grad_norm = 0.25, theta = 0.5, dof, seed = 0, progress}]) -> Y_new [m x dim], kl, info
-- Places the rows of X_new into the t-SNE map Y_ref of X_ref (dim 1..3) as openTSNE's
-- TSNEEmbedding.transform, whose defaults these are: each new point's affinities to its k nearest
-- reference rows at the given perplexity (its own row of P, summing to 1, not symmetrised), a
-- start at the per-coordinate median of those neighbours' positions ("weighted": their mean
-- weighted by the affinities; "random": N(0, 1e-4^2), seeded; or a float tensor [m x dim]), then
-- n_iter steps of gradient descent on KL(P_i || Q_i), Q_i the new point's Student-t similarities
-- to the reference points only (Barnes-Hut over Y_ref, opening angle theta; 0 is exact). The
-- first exaggeration_iter steps multiply P by early_exaggeration, the others by exaggeration.
-- The gradient is openTSNE's (tsne's divided by 4), each point's clipped to norm max_grad_norm
-- (0: no clipping), with openTSNE's gains and momentum. dof: the Student-t degrees of freedom,
-- that of the fit (default as tsne: max(dim - 1, 1)). kl = info.kl: the mean over the new points
-- of KL(P_i || Q_i) at the end; info = {kl =, iterations =}. seed matters for init "random" only.
-- Why X_ref and Y_ref rather than a fitted object: tsne and umap return plain tensors, and a fit
-- would hold nothing else that the transform needs (openTSNE and umap-learn also compute the new
-- points' affinities afresh from the reference data). Y_ref is only read: the reference does not
-- move and the new points do not interact (each is placed as if it came alone), so a map can take
-- batch after batch; with the default start a batch in parts gives the same rows as in one call.
-- The neighbours are exact (knn{query}'s sgemm screen): O(m n d) work. The same bits on any
-- thread count; a progress bar ("knn", then "optimize"; opts.progress as tsne's); Ctrl-C stops it.
-- Measured with scripts/bench/embed_transform_scale.lua N 10000 (50-d rows, 10,000 new points, a
-- clustered 2-d map; CPU seconds over both threads of a shared 2-core machine at load 10 to 11,
-- whose wall times were 3 to 3.5 times longer): 200,000 reference rows, tsne_transform 23.8 s
-- (kNN 7.0, optimisation 16.8), umap_transform 13.9 s (kNN 7.0, optimisation 6.9); 1,000,000
-- rows, tsne_transform 82.6 s (kNN 30.3, optimisation 52.3), umap_transform 37.5 s (kNN 29.8,
-- optimisation 7.7). Both parts are linear in m by construction (the new points are independent).
function M.tsne_transform(X_ref, Y_ref, X_new, opts)
  local Y, kl, it = C.tsne_transform(X_ref, Y_ref, X_new, with_progress("tsne_transform", opts, 4))
  return Y, kl, {kl = kl, iterations = it}
end

--- umap_transform(X_ref, Y_ref, X_new [, opts]) -> Y_new [m x dim], info
-- Places the rows of X_new into the UMAP map Y_ref of X_ref as umap-learn's UMAP.transform. opts
-- are umap's (every key of it is accepted, so the table given to umap can be passed unchanged)
-- and must match the fit's where they shape the graph and the curve: n_neighbors (15, at most
-- n), metric ("euclidean"), local_connectivity (1), min_dist (0.1), spread (1), a, b,
-- repulsion_strength (1), negative_sample_rate (5). For each new point: its n_neighbors nearest
-- reference rows, memberships exp(-(d - rho) / sigma) with rho from local_connectivity - 1 (0 by
-- default) and sigma by umap's bisection; the start at the membership-weighted mean of the
-- neighbours' positions (on a reference point it duplicates: a membership of 1), or init as a
-- float tensor [m x dim]; then n_epochs of umap's SGD moving the new points only, the reference
-- fixed (negative samples drawn from it; seed). As umap-learn: n_epochs = the fit's n_epochs / 3
-- when given (at least 1), else 100 for m <= 10000 new points and 30 beyond; the step starts at
-- learning_rate / 4 (default 1 / 4) and decays linearly; edges lighter than max / n_epochs are
-- dropped. init "spectral"/"random", knn and set_op_mix_ratio are accepted (checked) and unused;
-- dim, when given, must be Y_ref's column count.
-- info = {a, b, n_epochs, n_edges} (n_edges: the new-to-reference edges sampled).
-- Stateless for the reason tsne_transform gives; the reference is only read and the new points do
-- not interact, exact neighbours, the same bits for a seed on any thread count (the negative
-- samples are keyed by seed, epoch and the row's position in X_new), progress bar and Ctrl-C as
-- tsne_transform's.
function M.umap_transform(X_ref, Y_ref, X_new, opts)
  return C.umap_transform(X_ref, Y_ref, X_new, with_progress("umap_transform", opts, 4))
end

---------------------------------------------------------------------------
-- neighbours and quality
---------------------------------------------------------------------------

--- knn(X, k, {query = Q, metric = "euclidean"|"sqeuclidean"|"cosine", method = "auto"|"exact"|"approx",
---   seed = 0, n_trees, leaf_size, max_iter, max_candidates, delta, progress}) -> idx [m x k] (1-based), dist [m x k]
-- Without query, the k nearest other rows of each row of X. Cosine distance is 1 - cos, and 1
-- between a zero row and any other row (scikit-learn's convention). NN-descent settings (0 or
-- absent: derived from n and k): n_trees <= 256 (4 + n^(1/4)/2, at most 16), leaf_size <= 10000
-- (max(10, k)), max_iter <= 1000 (max(5, log2 n)), max_candidates <= 1000 (min(30, k)), delta in
-- [0, 1] (stop once fewer than delta n k entries change in a round: 0.01). method "auto" picks
-- NN-descent when a cost model says it beats the exact search (about n > 36,000 at d = 50).
function M.knn(X, k, opts)
  local o = with_progress("knn", opts)
  return C.knn(X, k, o)
end

--- knn_recall(approx_idx, exact_idx) -> mean fraction of each exact neighbour list found
M.knn_recall = C.knn_recall

--- quality(X, Y, k = 5 [, {progress = true}]) -> {trustworthiness, continuity, knn_preservation}
function M.quality(X, Y, k, opts)
  check("quality", 4, opts, { "progress" })
  local p = progress_hook("quality", type(opts) == "table" and opts.progress or nil)
  local t, c, q = C.quality(X, Y, k or 5, p)
  return {trustworthiness = t, continuity = c, knn_preservation = q}
end

--- trustworthiness(X, Y, k = 5): as sklearn.manifold.trustworthiness (Euclidean)
function M.trustworthiness(X, Y, k) return (C.quality(X, Y, k or 5)) end

--- continuity(X, Y, k = 5): trustworthiness with the two spaces swapped
function M.continuity(X, Y, k) local _, c = C.quality(X, Y, k or 5) return c end

--- knn_preservation(X, Y, k = 5): mean fraction of each point's k input-space neighbours kept
function M.knn_preservation(X, Y, k) local _, _, q = C.quality(X, Y, k or 5) return q end

---------------------------------------------------------------------------
-- the hypersphere
---------------------------------------------------------------------------

--- normalize(X, eps = 1e-12) -> rows scaled to unit L2 norm
function M.normalize(X, eps) return X:normalize(2, 2, eps or 1e-12) end

local Sphere = {}
Sphere.__index = Sphere
Sphere.__name = "SphereProjection"

--- to_sphere(X, {dim = 3, sample = 5000, center = false}) -> S [n x dim] (unit rows), projection, radii [n]
-- As the hypersphere script: principal axes of the centred first `sample`
-- rows, then every row projected (uncentred unless center = true) and put
-- on the unit sphere; radii are the projections' norms before that.
-- projection:apply(Y) does the same to other rows (anchors):
--   S_a, radii_a = projection:apply(anchors)
-- projection.explained_variance_ratio is the share of variance of the axes.
function M.to_sphere(X, opts)
  opts = check("to_sphere", 2, opts, { "dim", "sample", "center" }) or {}
  local dim, sample = opts.dim or 3, opts.sample or 5000
  local fit = X:size(1) > sample and X:narrow(1, 1, sample) or X
  local _, model = M.pca(fit, dim, {solver = "exact", scores = false})
  local proj = setmetatable({model = model, center = opts.center == true,
                             components = model.components,
                             explained_variance_ratio = model.explained_variance_ratio}, Sphere)
  local S, radii = proj:apply(X)
  return S, proj, radii
end

function Sphere:apply(Y)
  local P = self.center and self.model:transform(Y) or self.model:project(Y)
  local radii = P:norm(2, 2)
  return P / (radii:unsqueeze(2) + 1e-8), radii
end

--- nearest_anchor(E, A, {normalize = true}) -> idx [n] (1-based), cos [n]
function M.nearest_anchor(E, A, opts)
  check("nearest_anchor", 3, opts, { "normalize" })
  local idx, sim = C.anchor_topk(E, A, 1, opts)
  return idx:select(2, 1), sim:select(2, 1)
end

--- topk_anchors(E, A, k, {normalize = true}) -> idx [n x k], cos [n x k], most similar first
function M.topk_anchors(E, A, k, opts)
  check("topk_anchors", 4, opts, { "normalize" })
  return C.anchor_topk(E, A, k, opts)
end

--- anchor_usage(E, A [, {normalize = true}]) -> counts [m] (int64: rows whose nearest anchor it is),
--- active, dead (bool [m])
function M.anchor_usage(E, A, opts)
  check("anchor_usage", 3, opts, { "normalize" })
  local near = M.nearest_anchor(E, A, opts)
  local counts = near:bincount(A:size(1) + 1):narrow(1, 2, A:size(1))
  local dead = counts:eq(0)
  return counts, A:size(1) - dead:sum(), dead
end

--- anchor_isolation(A [, {normalize = true}]) -> max cosine to another anchor [m], that anchor [m]
--- (1-based)
function M.anchor_isolation(A, opts)
  check("anchor_isolation", 2, opts, { "normalize" })
  local idx, sim = C.anchor_topk(A, nil, 1, opts)
  return sim:select(2, 1), idx:select(2, 1)
end

--- closest_anchor_pairs(A, count [, {normalize = true}]) -> array of {i, j, cos}, the most similar
--- distinct pairs first
function M.closest_anchor_pairs(A, count, opts)
  check("closest_anchor_pairs", 3, opts, { "normalize" })
  local m = A:size(1)
  local k = math.min(m - 1, count)
  local idx, sim = C.anchor_topk(A, nil, k, opts)
  local cand = {}
  local it, st = idx:totable(), sim:totable()
  for i = 1, m do
    for r = 1, k do
      local j = it[i][r]
      if i < j then cand[#cand + 1] = {i, j, st[i][r]} end
    end
  end
  table.sort(cand, function(a, b)
    if a[3] ~= b[3] then return a[3] > b[3] end
    if a[1] ~= b[1] then return a[1] < b[1] end
    return a[2] < b[2]
  end)
  local out = {}
  for r = 1, math.min(count, #cand) do out[r] = cand[r] end
  return out
end

--- class_centroids(E, labels, C) -> centroids [C x d], counts [C]
-- labels: integer classes 1..C, or a multi-label membership matrix [n x C].
function M.class_centroids(E, labels, nclasses)
  if tensor.is_tensor(labels) and labels:dtype() == "bool" then labels = labels:float() end
  return C.class_centroids(E, labels, nclasses)
end

--- anchor_divergence({E1, E2, ...}, A) -> [m] mean over rows of the std across embeddings of 1 - <e, a>
M.anchor_divergence = C.anchor_divergence

--- spherical_kmeans(X, k, {seed = 0, max_iter = 100, tol = 1e-6}) -> centroids [k x d], labels [n], info
function M.spherical_kmeans(X, k, opts)
  local cen, labels, mean_cos, it = C.spherical_kmeans(X, k, opts)
  return cen, labels, {mean_cos = mean_cos, iterations = it}
end

return M
