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

-- Euclidean distances of the rows of A to those of B through one product (|a|^2 + |b|^2 -
-- 2 a.b, as CRAIG's own tiles): linalg.cdist's pairwise loop is ten times slower here.
local function distances(A, B)
  local a = (A * A):sum(2):reshape { -1, 1 }
  local b = (B * B):sum(2):reshape { 1, -1 }
  return (a + b - lt.linalg.matmul(A, B:t()) * 2):maximum(0):sqrt()
end

-- Each candidate solution's objective on this rank's rows of one group (smaller is better):
-- craig euclidean, the sum of distances to the nearest pick; craig cosine, minus the sum of
-- the best similarities; kcenter, the largest distance to the nearest pick. sols: lists of
-- positions into the group's candidate rows Cg. Also returns the rows' distances (cosine:
-- similarities) to the candidates, nil without rows.
local function objectives(name, o, Xg, Cg, sols)
  local out = lt.zeros({ #sols }, "float64")
  if Xg.shape[1] == 0 then return out, nil end
  local cosine = name == "craig" and o.metric == "cosine"
  local D = cosine and lt.linalg.cosine_similarity(Xg, Cg) or distances(Xg, Cg)
  for s, pos in ipairs(sols) do
    local sub = D:index_select(2, pos)
    if cosine then
      out[s] = -sub:max(2):sum()
    elseif name == "craig" then
      out[s] = sub:min(2):sum()
    else
      out[s] = sub:min(2):max()
    end
  end
  return out, D
end

-- The global cluster sizes of picks (positions into the candidates): every row of the group
-- counts for its nearest pick (the most similar under the cosine metric), summed over ranks.
-- D: the rows' distances (similarities) to the candidates, nil without rows.
local function weights(o, D, pos)
  local w = lt.zeros({ pos:numel() }, "float64")
  if D then
    local sub = D:index_select(2, pos)
    local nearest = o.metric == "cosine" and sub:argmax(2) or sub:argmin(2)
    w = lt.bincount(nearest - 1, pos:numel()):to("float64")
  end
  return dist.allreduce(w):to("float32")
end

-- The method on the rows R of each of ng groups (grp: the group of each row), ks[g] picks in
-- group g (all its rows when it has fewer): {pos = positions in R in pick order, scores,
-- weights} per group, nil for a group without rows. One call over every group when each has
-- its k rows (the method's per-class mode: its threads spread over the groups), one call per
-- group otherwise, or when targets (gradmatch's, per group) are given.
local function greedy_groups(name, key, R, grp, ng, ks, pass, targets)
  local out, one = {}, ng > 1 and targets == nil
  local rows = {}
  for g = 1, ng do
    rows[g] = ng == 1 and lt.arange(1, R.shape[1] + 1) or grp:eq(g):nonzero():reshape { -1 }
    one = one and rows[g]:numel() >= ks[g] and ks[g] == ks[1]
  end
  local function call(c)
    for _, p in ipairs(pass) do c[p] = pass[p] end
    return C[name](c)
  end
  if one then
    local idx, sc, w = call { [key] = R, labels = grp, per_class = true, num_classes = ng,
                              budget = ks[1] * ng }
    local of = grp:index_select(1, idx)
    for g = 1, ng do
      local sel = of:eq(g):nonzero():reshape { -1 }
      out[g] = { pos = idx:index_select(1, sel), scores = sc:index_select(1, sel):to("float32"),
                 weights = w and w:index_select(1, sel) or nil }
    end
    return out
  end
  for g = 1, ng do
    local m = rows[g]:numel()
    if m > 0 then
      local c = { [key] = R:index_select(1, rows[g]), budget = math.min(ks[g], m),
                  per_class = false, target = targets and targets[g] or nil }
      local idx, sc, w = call(c)
      out[g] = { pos = rows[g]:index_select(1, idx), scores = sc:to("float32"), weights = w }
    end
  end
  return out
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
  if o.target ~= nil and per_class then
    fail("target needs per_class = false (the class targets are the class sums)")
  end
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
  local grp = per_class and labels or lt.ones({ n }, "int64")
  local rows = local_groups(labels, n, ng, per_class)
  local pass = {}
  for _, p in ipairs(PASS[name]) do
    pass[#pass + 1] = p
    pass[p] = o[p]
  end
  -- GradMatch matches each group's gradient sum over the whole dataset (or the given target).
  local targets
  if name == "gradmatch" then
    local sums = lt.zeros({ ng, d }, "float64")
    for g = 1, ng do
      if rows[g]:numel() > 0 then sums[g] = X:index_select(1, rows[g]):to("float64"):sum(1) end
    end
    targets = dist.allreduce(sums):to("float32")
    if o.target ~= nil then targets = { o.target } end
  end
  local ks = {}
  for g = 1, ng do ks[g] = k[g] end
  -- Round 1: each rank's greedy on its own rows of each group.
  local ci, cg, cx, cs = {}, {}, {}, {}
  local local_picks = n > 0 and greedy_groups(name, key, X, grp, ng, ks, pass) or {}
  for g = 1, ng do
    local pick = local_picks[g]
    if pick then
      ci[#ci + 1], cx[#cx + 1] = pick.pos + offset, X:index_select(1, pick.pos)
      cg[#cg + 1], cs[#cs + 1] = lt.full({ pick.pos:numel() }, g, "int64"), pick.scores
    end
  end
  local CI = dist.allgather(ints(ci))
  local CG = dist.allgather(ints(cg))
  local CS = dist.allgather(#cs == 0 and lt.zeros({ 0 }) or lt.cat(cs))
  local CX = dist.allgather(#cx == 0 and lt.zeros({ 0, d }) or lt.cat(cx))
  local CR = dist.allgather(lt.full({ ints(ci):numel() }, dist.rank(), "int64"))
  -- Round 2 on rank 0: the method on the union of each group's candidates, the global budget.
  local union = {}
  local gpos = {}
  for g = 1, ng do gpos[g] = CG:eq(g):nonzero():reshape { -1 } end
  if dist.is_root() then
    union = greedy_groups(name, key, CX, CG, ng, ks, pass, targets)
    -- positions in the union's rows of each group, as the steps below count them
    for g = 1, ng do
      local inv = lt.zeros({ CX.shape[1] }, "int64")
      inv:scatter_(1, gpos[g], lt.arange(1, gpos[g]:numel() + 1))
      union[g].pos = inv:index_select(1, union[g].pos)
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
      local obj, D = objectives(name, o, Xg, Cg, sols)
      obj = name == "kcenter" and dist.allreduce(obj, "max") or dist.allreduce(obj)
      local best = obj:argmin()
      if best > 1 then
        local own = from[best]
        pick = { pos = own, scores = CS:index_select(1, gpos[g]):index_select(1, own) }
      end
      if name == "craig" then pick.weights = weights(o, D, pick.pos) end
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
