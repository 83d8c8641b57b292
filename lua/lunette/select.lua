-- lunette.select: data-subset selection - SAGE (gradient agreement over a Frequent
-- Directions sketch) and the baselines it is judged against.
--
-- One calling convention for every method:
--   indices, scores[, weights] = select.<method>{ <inputs>, budget = 0.05 | 3000,
--                                                 labels = y, per_class = true, seed = 0 }
-- budget: a fraction in (0, 1] (a float) or a row count (an integer); `fraction` is an alias.
-- seed (random, kcenter, gradmatch; default 0): any integer, negative too, as every
-- seed in lunette. An unknown option is an error naming the one meant, or the known ones.
-- labels: class numbers 1..C, one per row, as lunette.data and lunette.nn number them
--   (num_classes = C when the last classes are missing from the labels).
-- per_class (default: true when labels are given) keeps floor(fraction * N / C) rows of
--   every class - SAGE's class-balanced rule - and runs centroids, greedy searches and OMP
--   inside each class; a budget larger than a class, or an empty class, is an error.
-- indices: int64, 1-based. Score methods return them by score (best first); greedy
--   methods in pick order (per class: first picks of every class, then second picks, ...).
--
--   agreement{grads, diversity = 0 | lambda | true}   SAGE: unit gradient . its class's mean unit gradient
--   grand{grads}  el2n{probs | logits, labels}  uncertainty{probs | logits, kind}
--   forgetting{record}                                  per-row scores, top budget
--                                                       (dist = true: over every rank's rows)
--   forgetting_recorder(n, epochs) -> record, hooks     fills the record during nn.fit
--   kcenter{features, start}  herding{features}         greedy coverage / mean matching
--   craig{features | grads, metric}                     facility location (weights)
--   gradmatch{grads, lam, tol, target}                  OMP on gradient sums (weights)
--                                                       (these four: dist = true, GreeDi)
--   glister{grads, val_grad | val, eta, update}         greedy validation-loss Taylor model
--   random{n | labels}                                  uniform or class-balanced
--   sage{model, dataset, ell, fraction, last_layer}     both passes: sketch, then score
--   agreement_scores(G, labels, opts)  scores.<method>{...}  class_stats(indices, labels, C)

-- raise(msg): a façade error at the user's line (lunette.options).
local function raise(msg) require("lunette.options").raise(msg) end
local C = require "lunette._select"
local Opts = require "lunette.options"

local M = {}

local COMMON = { "budget", "fraction", "labels", "per_class", "num_classes" }

local function fail(fname, msg)
  raise(("bad argument #1 to '%s' (%s)"):format(fname, msg))
end

-- A checked shallow copy of the options: keys not in known are errors (typos
-- would otherwise be silently ignored), fraction becomes budget.
local function options(fname, o, known, argn)
  argn = argn or 1
  if type(o) ~= "table" then Opts.argerror(fname, argn, "options table expected, got " .. type(o)) end
  Opts.check(fname, argn, o, known)
  local c = {}
  for k, v in pairs(o) do c[k] = v end
  if c.fraction ~= nil then
    if c.budget ~= nil then Opts.argerror(fname, argn, "give budget or fraction, not both") end
    if math.type(c.fraction) == "integer" and c.fraction ~= 1 then
      Opts.argerror(fname, argn, ("fraction %d must be in (0, 1]"):format(c.fraction))
    end
    c.budget, c.fraction = c.fraction + 0.0, nil
  end
  return c
end

-- The options a method knows: the common ones, then its own.
local function keys(...)
  local k = table.move(COMMON, 1, #COMMON, 1, {})
  for _, name in ipairs { ... } do k[#k + 1] = name end
  return k
end

---------------------------------------------------------------------------
-- SAGE on given (projected) gradients
---------------------------------------------------------------------------

-- agreement_scores(G, labels, {per_class = true, num_classes}) -> scores [N], centroids
-- (the seed's compute_agreement_scores: with labels = nil or per_class = false, one
-- global centroid).
function M.agreement_scores(G, labels, opts)
  local o = options("agreement_scores", opts or {}, { "per_class", "num_classes" }, 3)
  o.grads, o.labels, o.budget = G, labels, nil
  if labels == nil then o.per_class = false end
  return C.agreement_scores(o)
end

local AGREEMENT = keys("grads", "diversity")
-- agreement{grads, labels, budget, per_class = true, diversity = 0} -> indices, scores
-- diversity = lambda (true: 0.2) scores agreement - lambda * max cos to the rows already
-- chosen (the seed's select_agreeing_subset_with_diversity), greedily.
function M.agreement(o)
  o = options("agreement", o, AGREEMENT)
  if o.diversity == true then o.diversity = 0.2 elseif o.diversity == false then o.diversity = nil end
  return C.agreement(o)
end

---------------------------------------------------------------------------
-- per-row scores, then the top budget
---------------------------------------------------------------------------

-- With dist = true (under lunette.dist) each rank passes its own rows (its contiguous shard,
-- ds:shard(), in rank order) and labels: scores are computed locally, then every rank's scores
-- and labels are gathered and every rank takes the same top budget over all of them; indices
-- count rows in rank order (rank 0's first), so with contiguous shards they index the whole
-- dataset, and the budget is a fraction or count of all ranks' rows.
local function scored(name, scorer, allowed)
  local known = keys("largest", "dist", table.unpack(allowed))
  return function(o)
    o = options(name, o, known)
    local s = scorer(o)
    if o.dist then
      local dist = require "lunette.dist"
      s = dist.allgather(s)
      if o.labels ~= nil then o.labels = dist.allgather(o.labels) end
    end
    o.scores, o._name = s, name
    return C.topk(o)
  end, function(o)
    return scorer(options(name, o, known))
  end
end

M.scores = {}
-- grand{grads} -> rows with the largest per-sample gradient norm (Paul et al. 2021)
M.grand, M.scores.grand = scored("grand", C.grand_scores, { "grads" })
-- el2n{probs | logits, labels} -> rows with the largest ||p - onehot(y)||
M.el2n, M.scores.el2n = scored("el2n", C.el2n_scores, { "probs", "logits" })
-- uncertainty{probs | logits, kind = "least_confidence" | "margin" | "entropy"}
M.uncertainty, M.scores.uncertainty = scored("uncertainty", C.uncertainty_scores, { "probs", "logits", "kind" })
-- forgetting{record = [N x epochs] correctness} -> rows forgotten most often (never learned first)
M.forgetting, M.scores.forgetting = scored("forgetting", C.forgetting_scores, { "record" })
-- forgetting_recorder(n, epochs) -> record [n x epochs] uint8, hooks: pass hooks to nn.fit
-- ({hooks = hooks}) and record[i][e] becomes 1 when training example i was classified
-- correctly in its mini-batch of epoch e (Toneva et al.'s protocol); then
-- forgetting{record = record, ...}.
function M.forgetting_recorder(n, epochs)
  if math.type(n) ~= "integer" or n < 1 then
    raise(("bad argument #1 to 'forgetting_recorder' (positive integer row count expected, got %s)"):format(tostring(n)))
  end
  if math.type(epochs) ~= "integer" or epochs < 1 then
    raise(("bad argument #2 to 'forgetting_recorder' (positive integer epoch count expected, got %s)"):format(tostring(epochs)))
  end
  local record = require("lunette").zeros({ n, epochs }, "uint8")
  local hooks = {
    on_batch = function(info)
      if info.epoch <= epochs then
        record:select(2, info.epoch):scatter_(1, info.indices, info.correct:to("uint8"))
      end
    end,
  }
  return record, hooks
end

M.scores.agreement = function(o)
  o = options("agreement", o, keys("grads"))
  if o.labels == nil then o.per_class = false end
  return (C.agreement_scores(o))
end

---------------------------------------------------------------------------
-- greedy and optimisation-based baselines
---------------------------------------------------------------------------

-- GREEDI: the methods that take dist = true, and the option holding their rows.
local GREEDI = { craig = "features", kcenter = "features", herding = "features",
                 gradmatch = "grads" }

local function method(name, allowed, prepare)
  local known = keys(table.unpack(allowed))
  if GREEDI[name] then known[#known + 1] = "dist" end
  return function(o)
    o = options(name, o, known)
    if prepare then prepare(o) end
    if o.dist then return require("lunette.select_greedi").run(name, o, GREEDI[name]) end
    o.dist = nil
    return C[name](o)
  end
end

-- random{n | labels, budget, per_class, seed}: uniform, or class-balanced with labels
M.random = method("random", { "n", "seed" })
-- kcenter{features, budget, start = row | {row per class}, seed}: k-center greedy (Sener & Savarese 2018)
-- dist = true: GreeDi's two rounds over the ranks (see select.craig).
M.kcenter = method("kcenter", { "features", "start", "seed" })
-- herding{features, budget}: keep the mean of the picks closest to the class mean
-- dist = true: GreeDi's two rounds over the ranks (see select.craig).
M.herding = method("herding", { "features" })
-- craig{features | grads, budget, metric = "euclidean" | "cosine"} -> indices, gains, weights
-- dist = true (craig, kcenter, herding, gradmatch; under lunette.dist): each rank passes its
-- own rows (its contiguous shard, in rank order) and labels, and GreeDi's two rounds
-- (Mirzasoleiman et al., NeurIPS 2013) run: every rank's greedy on its rows (the budget of each
-- class, or all its rows of a class when fewer), the candidates gathered, the method on their
-- union on rank 0 with the whole dataset's budget, the picks broadcast; indices count rows in
-- rank order, and the subset is the same on every rank. An approximation of one process's
-- greedy: for craig (facility location, monotone submodular) each rank's k picks are also
-- scored on every rank's rows and the best of them and the union's is kept, GreeDi's algorithm,
-- whose picks reach at least (1 - 1/e)^2 / min(ranks, k) of the optimum (and (1 - 1/e) / 2 in
-- expectation when rows are assigned to ranks at random: Barbosa et al., ICML 2015); round 1
-- scores each rank's rows only (the paper's decomposable case), so the bound assumes every
-- shard represents the whole (shuffle before sharding); weights are the global cluster sizes. kcenter keeps the best radius likewise; Gonzalez's greedy on
-- each part, then on the union, is a 4-approximation of the optimal radius (Malkomes et al.,
-- NeurIPS 2015). herding and gradmatch are not submodular: their two rounds are a heuristic
-- with no bound (gradmatch matches each class's gradient sum over every rank, allreduced;
-- herding's second round matches the candidates' mean). Measured (craig, 10%, per class):
-- facility location 0.993 (2 ranks) and 0.992 (4 ranks) of one process's greedy on 301
-- clustered rows; 0.992 and 0.991 on 10,000 Fashion-MNIST test images (pixels), where the
-- subsets share 38% and 48% of their rows with one process's: close in value, not the same.
-- Round 1 shrinks the data only where a rank holds more than k rows of a class (on fewer than
-- 1 / fraction ranks); beyond that rank 0 gathers every row (docs/SCALING.md). kcenter's start
-- is not supported with dist.
M.craig = method("craig", { "features", "grads", "metric" }, function(o)
  if o.features == nil then o.features, o.grads = o.grads, nil end
end)
-- gradmatch{grads, budget, lam = 0.5, tol = 1e-4, target, seed} -> indices, scores, weights
-- dist = true: GreeDi's two rounds over the ranks (see select.craig).
M.gradmatch = method("gradmatch", { "grads", "lam", "tol", "target", "seed" })
-- glister{grads, val_grad = [D] | [C x D], budget, eta = 0.1} -> indices, gains
-- glister{grads, val = {features, logits, labels}, budget, eta = 0.1, update = "sum" | "mean"}
-- With val (validation rows' penultimate features, logits and labels), the validation
-- gradient is recomputed after each pick at the updated last layer, as CORDS does;
-- with val_grad, a fixed validation gradient and an identity-curvature update.
-- grads are last-layer per-sample gradients in lunette's layout (weight [C x F]
-- row-major, then bias [C]); the update is theta - eta * S with S the sum (CORDS) or
-- the mean ("mean", DeepCore) of the picks so far.
M.glister = method("glister", { "grads", "val_grad", "eta", "val", "update" })

---------------------------------------------------------------------------
-- analysis
---------------------------------------------------------------------------

-- class_stats(indices, labels, C) -> {counts = int64 [C], mean, std, cv}: the class
-- balance of a subset (labels 1..C), as the seed's analyze_class_distribution
-- (population std; cv = std / mean).
function M.class_stats(indices, labels, num_classes)
  local lt = require "lunette"
  if type(indices) == "table" and not lt.is_tensor(indices) then indices = lt.tensor(indices, "int64") end
  if not lt.is_tensor(indices) or indices:dim() ~= 1 then
    raise("bad argument #1 to 'class_stats' (1-d tensor or table of 1-based indices expected)")
  end
  if not lt.is_tensor(labels) or labels:dim() ~= 1 then
    raise("bad argument #2 to 'class_stats' (1-d tensor of class ids expected)")
  end
  num_classes = num_classes or (labels:numel() > 0 and labels:max() or 0)
  if math.type(num_classes) ~= "integer" or num_classes < 1 then
    raise("bad argument #3 to 'class_stats' (positive integer class count expected)")
  end
  if labels:numel() > 0 and labels:max() > num_classes then
    raise(("bad argument #3 to 'class_stats' (labels hold class %d but C is %d)"):format(labels:max(), num_classes))
  end
  if labels:numel() > 0 and labels:min() < 1 then
    raise("bad argument #2 to 'class_stats' (classes are numbered from 1)")
  end
  local picked = labels:index_select(1, indices:long())
  local counts = (picked:long() - 1):bincount(num_classes)
  local c = counts:double()
  local mean = c:mean()
  local std = math.sqrt(((c - mean) ^ 2):mean())
  return { counts = counts, mean = mean, std = std, cv = mean > 0 and std / mean or 0 }
end

---------------------------------------------------------------------------
-- the SAGE pipeline
---------------------------------------------------------------------------

local SAGE = keys("model", "dataset", "ell", "batch_size", "last_layer", "dtype", "variant",
                  "diversity", "progress", "return_grads", "dist")

-- What the pipeline needs from lunette.nn and lunette.data; nil when present,
-- else why not (so specs and scripts can skip with the reason).
-- (Only preloaded modules are probed: a plain require of a missing lunette.x
-- would make Lua's all-in-one searcher load a second copy of lunette.so.)
local function probe(name)
  if package.loaded[name] == nil and package.preload[name] == nil then return nil end
  local ok, m = pcall(require, name)
  return ok and type(m) == "table" and m or nil
end

-- sage_unavailable() -> nil | reason
-- nil when the SAGE pipeline (select.sage with a model and a dataset) can
-- run, else why not (lunette.nn or lunette.data missing), for specs and
-- scripts to skip with the reason.
function M.sage_unavailable()
  local nn, data = probe "lunette.nn", probe "lunette.data"
  if not nn or not nn.per_sample_grads or not nn.projected_grads or not nn.param_dim then
    return "lunette.nn has no per_sample_grads / projected_grads / param_dim yet"
  end
  if not data or not data.loader or not data.progress then return "lunette.data has no loader / progress yet" end
  return nil
end

-- The batches of a dataset in order (x, y, positions), behind a progress bar
-- (drawn only when stderr is a terminal) unless show == false.
-- dist: the dataset is this rank's shard, and the bar (rank 0's) shows the whole job.
local function batches(data, dataset, bs, desc, show, dist)
  local loader = data.loader(dataset, { batch_size = bs, shuffle = false })
  if show == false then return loader:iter() end
  return data.progress(loader, { desc = desc, dist = dist })
end

-- A lunette.data dataset, or {x = X, y = Y} tensors made into one.
local function as_dataset(data, ds)
  if type(ds) == "table" and type(ds.batch) == "function" and type(ds.size) == "function" then return ds end
  if type(ds) == "table" and ds.x ~= nil and ds.y ~= nil then return data.tensor_dataset(ds.x, ds.y) end
  fail("sage", "dataset must be a lunette.data dataset or {x = X, y = Y}", 4)
end

-- Collects the per-batch garbage (gradients, activations) every few batches:
-- left to the collector's default pace it piles up to about the live size
-- (the dataset and the N x ell projections) before a cycle, doubling the peak.
-- every = 1 when a batch's gradients are large (all parameters: batch x D floats,
-- 200 MB for the MLP), so at most one batch of them is ever alive.
local function tidy(batch, every)
  if batch % (every or 8) == 0 then collectgarbage() end
end

-- fd:add(G) for sage: gradients the sketch refuses (NaN/Inf from a diverged
-- model or bad inputs, or beyond the storage dtype's range) are the caller's
-- model or data, so the error names sage and the batch, not the internal add.
local function sketch_add(fd, G, batch)
  local ok, err = pcall(fd.add, fd, G)
  if ok then return end
  local why = tostring(err):match("%(rows (.-) %(sketch unchanged%)%)")
  if not why then error(err, 0) end
  local hint = why:find("range", 1, true) and "; or use dtype = \"float32\"" or ""
  local msg = "the per-sample gradients of batch %d %s (check the model's weights and the inputs%s)"
  fail("sage", msg:format(batch, why, hint), 4)
end

-- Pass 1 for the last layer: the penultimate features of every batch are
-- kept (N x F) and the head's per-sample gradients - (softmax - onehot) x
-- [h, 1], all a last-layer gradient depends on - go into the sketch.
local function sketch_last_layer(o, ds, data, nn, fd, bs, dist)
  local lt = require "lunette"
  local split = nn.split_head(o.model, "sage")
  local head = split.module -- the head and the parameter-free modules after it
  local H
  local row, nb = 1, 0
  -- Evaluation mode (dropout off, batch norm on running statistics) as the seed's
  -- model.eval(); each module's flag comes back afterwards.
  require("lunette.nn_module").in_eval(o.model, function()
    for x, y in batches(data, ds, bs, "SAGE 1/2 sketch", o.progress, dist) do
      local h = split.features(x)
      H = H or lt.empty(ds:size(), h:size(2))
      H:narrow(1, row, h:size(1)):copy_(h)
      row, nb = row + h:size(1), nb + 1
      sketch_add(fd, (nn.per_sample_grads(head, h, y)), nb)
      tidy(nb)
    end
  end)
  return H, head
end

-- Pass 2's scoring under lunette.dist: every rank holds its shard's projections P; the class
-- centroids are sums of unit rows (float64, allreduced) over counts, rounded to float32 as
-- agreement{} rounds them, each rank scores its rows against them with agreement{}'s kernel,
-- and every rank gathers all the scores (4 bytes a row: fewer bytes than gathering each rank's
-- per-class top k once the budget passes N / (3 size)) and takes agreement{}'s per-class top-k
-- over the whole dataset. Returns indices, scores and the full labels.
local function dist_scores(o, dist, full, P, labels)
  local lt = require "lunette"
  local all_labels = full:labels()
  local nc = o.num_classes or (all_labels and all_labels:numel() > 0 and all_labels:max()) or nil
  local q = { grads = P, labels = labels, per_class = o.per_class, num_classes = nc }
  if labels == nil then q.per_class = false end
  local sums, counts = C._agreement_sums(q)
  sums, counts = dist.allreduce(sums), dist.allreduce(counts)
  -- agreement{}'s centroid: (float)(sum / m), and 0 for an empty class (sums are 0 there)
  q.centroids = (sums / lt.maximum(counts, 1):double():reshape(-1, 1)):to("float32"):contiguous()
  local scores = dist.allgather((C.agreement_scores(q)))
  local idx, top = C.topk { scores = scores, labels = all_labels, budget = o.budget,
                            per_class = q.per_class, num_classes = nc, _name = "sage" }
  return idx, top, all_labels
end

-- sage{model, dataset, fraction | budget, ell = 256, last_layer = true, batch_size = 256,
--      dtype = "float32" | "float16", variant = "fast" | "classic", per_class, diversity,
--      progress = true, return_grads = false} -> indices, scores, info
-- Pass 1 streams each batch's per-sample gradients (the final Linear layer's when
-- last_layer, else every trainable parameter's) into a Frequent Directions sketch B
-- (ell x D, stored as dtype); pass 2 projects every sample's gradient on B (G B^T,
-- formed layer by layer, never B x D) into an N x ell matrix; agreement{} then keeps the
-- top floor(fraction * N / C) per class. Memory O(ell * D + N * ell). With last_layer the
-- model runs forward once: pass 1 keeps the penultimate features (N x F floats) and pass 2
-- projects the head's gradients from them. ell is capped at D - 1.
-- info = {sketch = B, labels, dim = D, ell, seconds = {sketch, project, score, total}}
-- (+ grads, the N x ell projections, when return_grads).
-- dist = true, under lunette.dist (mpirun): every rank passes the whole dataset and works on
-- its contiguous shard (ds:shard()); pass 1's sketches are merged with fd:allmerge(), pass 2's
-- class centroids are allreduced and the scores gathered, so every rank returns the same
-- indices into the whole dataset: the subset one process picks from the same merged sketch
-- (the centroids' float64 sums are added in another order, then rounded to float32 as one
-- process rounds them). info.grads then holds this rank's rows; diversity is refused.
function M.sage(o)
  o = options("sage", o, SAGE)
  local why = M.sage_unavailable()
  if why then raise("select.sage: " .. why) end
  if o.model == nil or o.dataset == nil then fail("sage", "model and dataset required") end
  local lt, nn, data, sketch = require "lunette", require "lunette.nn", require "lunette.data", require "lunette.sketch"
  local ds = as_dataset(data, o.dataset)
  local bs, ell = o.batch_size or 256, o.ell or 256
  if math.type(bs) ~= "integer" or bs < 1 then fail("sage", "batch_size must be a positive integer") end
  if math.type(ell) ~= "integer" or ell < 1 then fail("sage", "ell must be a positive integer") end
  local last = o.last_layer ~= false
  local full, dist = ds, nil
  if o.dist then
    if o.diversity then fail("sage", "diversity is a greedy pass over every row: not with dist") end
    dist = require "lunette.dist"
    ds = full:shard()
  end
  local n, t0 = ds:size(), lt.time()
  local D = nn.param_dim(o.model, { last_layer = last }, "sage")
  ell = math.min(ell, D - 1)
  local fd = sketch.fd { ell = ell, dim = D, dtype = o.dtype, variant = o.variant }
  local labels = ds:labels()
  local P, H, head = lt.empty(n, ell), nil, nil
  if last then
    H, head = sketch_last_layer(o, ds, data, nn, fd, bs, dist ~= nil)
  else
    local b = 0
    for x, y in batches(data, ds, bs, "SAGE 1/2 sketch", o.progress, dist ~= nil) do
      b = b + 1
      sketch_add(fd, (nn.per_sample_grads(o.model, x, y)), b)
      tidy(b, 1)
    end
  end
  if dist then fd = fd:allmerge() end
  local B = fd:finalize()
  fd = nil
  local t1 = lt.time()
  if last then
    -- dist: the bar's total is every rank's batches, rank 0's count standing for each rank's
    local total = -(-n // bs)
    if dist then
      total = 0
      for r = 0, dist.size() - 1 do
        local _, cnt = dist.shard_range(full:size(), r)
        total = total + -(-cnt // bs)
      end
    end
    local bar = o.progress ~= false
      and data.progress(total, { desc = "SAGE 2/2 project", dist = dist ~= nil }) or nil
    for r = 1, n, bs do
      local m = math.min(bs, n - r + 1)
      P:narrow(1, r, m):copy_((nn.projected_grads(head, H:narrow(1, r, m), labels:narrow(1, r, m), B)))
      if bar then bar:update(1) end
      tidy(r // bs)
    end
    if bar then bar:close() end
  else
    local row = 1
    for x, y in batches(data, ds, bs, "SAGE 2/2 project", o.progress, dist ~= nil) do
      local Z = nn.projected_grads(o.model, x, y, B)
      P:narrow(1, row, Z:size(1)):copy_(Z)
      row = row + Z:size(1)
      Z = nil
      tidy(row // bs, 1)
    end
  end
  H = nil
  local t2 = lt.time()
  local idx, scores
  if dist then
    idx, scores, labels = dist_scores(o, dist, full, P, labels)
  else
    idx, scores = M.agreement { grads = P, labels = labels, budget = o.budget, per_class = o.per_class,
                                num_classes = o.num_classes, diversity = o.diversity }
  end
  local t3 = lt.time()
  local info = { sketch = B, labels = labels, dim = D, ell = ell,
                 seconds = { sketch = t1 - t0, project = t2 - t1, score = t3 - t2, total = t3 - t0 } }
  if o.return_grads then info.grads = P end
  return idx, scores, info
end

return M
