-- lunette.select_greedi (internal): the greedy selections of lunette.select (craig, kcenter,
-- herding, gradmatch) with dist = true, in GreeDi's two rounds (Mirzasoleiman, Karbasi, Sarkar,
-- Krause, NeurIPS 2013). Round 1: every rank runs the method on its own rows, k picks per group
-- (or all its rows of a group when it has fewer). Round 2: the candidates (at most size x k
-- rows per group) are gathered, rank 0 runs the method on their union with the global budget,
-- and broadcasts its picks. For craig and kcenter the objective over every rank's rows then
-- decides between the union's picks and each rank's own k picks (GreeDi's last step): every
-- rank scores them on its rows, the scores are allreduced, and the best is kept; craig's
-- weights are the global cluster sizes (allreduced). Budgets and classes are those of the
-- whole dataset (the labels are gathered). The result is the same on every rank.
local lt = require "lunette"
local dist = require "lunette.dist"
local C = require "lunette._select"

local M = {}

-- The options each method passes through to its per-group calls.
local PASS = { craig = { "metric" }, kcenter = { "seed" }, herding = {},
               gradmatch = { "lam", "tol", "seed" } }

local function ints(list)
  return #list == 0 and lt.zeros({ 0 }, "int64") or lt.cat(list)
end

-- The local rows (1-based int64) of each of the ng groups.
local function local_groups(labels, n, ng, per_class)
  local rows = {}
  for g = 1, ng do
    if not per_class then
      rows[g] = lt.arange(1, n + 1)
    elseif n == 0 then
      rows[g] = lt.zeros({ 0 }, "int64")
    else
      rows[g] = labels:eq(g):nonzero():reshape { -1 }
    end
  end
  return rows
end

-- Each candidate solution's objective on this rank's rows of one group (smaller is better):
-- craig euclidean, the sum of distances to the nearest pick; craig cosine, minus the sum of
-- the best similarities; kcenter, the largest distance to the nearest pick. sols: lists of
-- positions into the group's candidate rows Cg.
local function objectives(name, o, Xg, Cg, sols)
  local out = lt.zeros({ #sols }, "float64")
  if Xg.shape[1] == 0 then return out end
  local cosine = name == "craig" and o.metric == "cosine"
  local D
  if cosine then
    D = lt.linalg.cosine_similarity(Xg, Cg)
  else
    D = lt.linalg.cdist(Xg, Cg)
  end
  for s, pos in ipairs(sols) do
    local sub = D:index_select(2, pos)
    local v
    if cosine then
      v = -sub:max(2):sum()
    elseif name == "craig" then
      v = sub:min(2):sum()
    else
      v = sub:min(2):max()
    end
    out[s] = v
  end
  return out
end

-- The global cluster sizes of picks (positions into Cg): every row of the group counts for its
-- nearest pick (the most similar one under the cosine metric), summed over the ranks.
local function weights(o, Xg, Cg, pos)
  local w = lt.zeros({ pos:numel() }, "float64")
  if Xg.shape[1] > 0 then
    local P = Cg:index_select(1, pos)
    local nearest
    if o.metric == "cosine" then
      nearest = lt.linalg.cosine_similarity(Xg, P):argmax(2)
    else
      nearest = lt.linalg.cdist(Xg, P):argmin(2)
    end
    w = lt.bincount(nearest - 1, pos:numel()):to("float64")
  end
  return dist.allreduce(w):to("float32")
end

--- run(name, o, key) -> indices, scores[, weights]
-- o: the checked options (this rank's rows in o[key], its labels in o.labels).
function M.run(name, o, key)
  local fname = name
  local function fail(msg) require("lunette.options").argerror(fname, 1, msg) end
  local X = o[key]
  if not lt.is_tensor(X) or #X.shape ~= 2 then
    fail(("%s must be a 2-d tensor of this rank's rows"):format(key))
  end
  if o.start ~= nil then
    fail("start is not supported with dist (each rank starts its own search)")
  end
  X = X:to("float32")
  local n, d = X.shape[1], X.shape[2]
  local per_class = o.per_class
  if per_class == nil then per_class = o.labels ~= nil end
  local labels = o.labels
  if labels ~= nil then labels = lt.tensor(labels):to("int64") end
  local counts = dist.allgather(lt.tensor({ n }, "int64"))
  local offset, N = 0, counts:sum()
  for r = 1, dist.rank() do offset = offset + counts[r] end
  -- The whole dataset's groups and budget, with the checks of one process.
  local all_labels = labels and dist.allgather(labels) or nil
  local _, _, k = C.groups { n = N, labels = all_labels, budget = o.budget, per_class = per_class,
                             num_classes = o.num_classes, _name = name }
  local ng = k:numel()
  local rows = local_groups(labels, n, ng, per_class)
  local function opts(rowsX, budget)
    local c = { [key] = rowsX, budget = budget, per_class = false }
    for _, p in ipairs(PASS[name]) do c[p] = o[p] end
    return c
  end
  -- GradMatch matches each group's gradient sum over the whole dataset (or the given target).
  local targets
  if name == "gradmatch" then
    local sums = lt.zeros({ ng, d }, "float64")
    for g = 1, ng do
      if rows[g]:numel() > 0 then sums[g] = X:index_select(1, rows[g]):to("float64"):sum(1) end
    end
    targets = dist.allreduce(sums):to("float32")
  end
  -- Round 1: each rank's greedy on its own rows of each group.
  local ci, cg, cx, cs = {}, {}, {}, {}
  for g = 1, ng do
    local m = rows[g]:numel()
    if m > 0 then
      local kl = math.min(k[g], m)
      local idx, sc = C[name](opts(X:index_select(1, rows[g]), kl))
      local picked = rows[g]:index_select(1, idx)
      ci[#ci + 1], cx[#cx + 1] = picked + offset, X:index_select(1, picked)
      cg[#cg + 1], cs[#cs + 1] = lt.full({ kl }, g, "int64"), sc:to("float32")
    end
  end
  local CI = dist.allgather(ints(ci))
  local CG = dist.allgather(ints(cg))
  local CS = dist.allgather(#cs == 0 and lt.zeros({ 0 }) or lt.cat(cs))
  local CX = dist.allgather(#cx == 0 and lt.zeros({ 0, d }) or lt.cat(cx))
  local CR = dist.allgather(lt.full({ #ci == 0 and 0 or ints(ci):numel() }, dist.rank(), "int64"))
  -- Round 2 on rank 0: the method on the union of each group's candidates, the global budget.
  local union = {}
  local gpos = {}
  for g = 1, ng do gpos[g] = CG:eq(g):nonzero():reshape { -1 } end
  if dist.is_root() then
    for g = 1, ng do
      local c = opts(CX:index_select(1, gpos[g]), k[g])
      if targets then c.target = o.target or targets[g] end
      local idx, sc, w = C[name](c)
      union[g] = { pos = idx, scores = sc:to("float32"), weights = w }
    end
  end
  union = dist.broadcast_value(union)
  -- GreeDi's last step (craig, kcenter): the union's picks or one rank's own, by the objective
  -- over every row.
  local picks = {}
  for g = 1, ng do
    local pick = union[g]
    if name == "craig" or name == "kcenter" then
      local sols, from = { union[g].pos }, { false }
      local grank = CR:index_select(1, gpos[g])
      for r = 0, dist.size() - 1 do
        local own = grank:eq(r):nonzero():reshape { -1 }
        if own:numel() == k[g] then
          sols[#sols + 1], from[#from + 1] = own, own
        end
      end
      local Cg = CX:index_select(1, gpos[g])
      local Xg = X:index_select(1, rows[g])
      local obj = objectives(name, o, Xg, Cg, sols)
      obj = name == "kcenter" and dist.allreduce(obj, "max") or dist.allreduce(obj)
      local best = obj:argmin()
      if best > 1 then
        local own = from[best]
        pick = { pos = own, scores = CS:index_select(1, gpos[g]):index_select(1, own) }
      end
      if name == "craig" then pick.weights = weights(o, Xg, Cg, pick.pos) end
    end
    picks[g] = pick
  end
  -- Picks in the one-process order: the first pick of every group, then the second, ...
  local idx, sc, w = {}, {}, {}
  for p = 1, k:max() do
    for g = 1, ng do
      local pick = picks[g]
      if p <= pick.pos:numel() then
        local at = gpos[g][pick.pos[p]]
        idx[#idx + 1], sc[#sc + 1] = CI[at], pick.scores[p]
        if pick.weights then w[#w + 1] = pick.weights[p] end
      end
    end
  end
  local I, S = lt.tensor(idx, "int64"), lt.tensor(sc, "float32")
  if name == "craig" or name == "gradmatch" then return I, S, lt.tensor(w, "float32") end
  return I, S
end

return M
