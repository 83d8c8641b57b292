-- fit.lua: run by tests/dist_spec.lua under mpirun. nn.fit{dist = true} for one epoch must
-- match nn.fit in one process with the same global batch (computed here too) to float32
-- rounding, and leave the same bits on every rank.
local d, nn = lt.dist, lt.nn
d.print_all = true
local me = d.rank()
local g = lt.Generator(11)
local X = g:randn(203, 10)
local Y = (X:narrow(2, 1, 3):argmax(2)):long()
local W = g:rand(203):add_(0.5)
local function model_at(seed)
  lt.seed(seed + me) -- a different start on every rank: fit must broadcast rank 0's
  return nn.mlp { 10, 16, 3 }
end
local function train(model, dist, weights)
  return nn.fit(model, { x = X, y = Y }, { epochs = 1, batch_size = 32, lr = 0.1, seed = 1,
                                           dist = dist, weights = weights, progress = false })
end
local function flat(model)
  local parts = {}
  for _, p in ipairs(model:parameters()) do parts[#parts + 1] = p:reshape(-1) end
  return lt.cat(parts, 1)
end
for _, weights in ipairs { false, true } do
  local m = model_at(5)
  local h = train(m, true, weights and W or nil)
  lt.seed(5) -- rank 0's start, in this one process
  local ref = nn.mlp { 10, 16, 3 }
  local hr = train(ref, false, weights and W or nil)
  local a, b = flat(m), flat(ref)
  local diff = (a - b):abs():max()
  local same = true
  for _, s in ipairs(d.gather_values(a:tobytes())) do same = same and s == a:tobytes() end
  local loss_diff = math.abs(h.epochs[1].loss - hr.epochs[1].loss)
  print(("rank %d weights=%s: %s diff %.3g loss diff %.3g acc %s"):format(me, tostring(weights),
    (diff <= 1e-5 and same and loss_diff < 1e-5
     and h.epochs[1].accuracy == hr.epochs[1].accuracy) and "match" or "FAIL", diff, loss_diff,
    tostring(h.epochs[1].accuracy == hr.epochs[1].accuracy)))
end

-- evaluate{dist = true}: each rank its share, the whole result everywhere
lt.seed(5) -- the same model on every rank
local m = nn.mlp { 10, 16, 3 }
local e1 = nn.evaluate(m, { x = X, y = Y }, { batch_size = 16, dist = true, progress = false })
local e0 = nn.evaluate(m, { x = X, y = Y }, { batch_size = 16, progress = false })
local same = e1.accuracy == e0.accuracy and math.abs(e1.loss - e0.loss) < 1e-6 and e1.n == e0.n
  and e1.pred:tobytes() == e0.pred:tobytes() and e1.counts[2] == e0.counts[2]
print(("rank %d evaluate: %s"):format(me, same and "match" or "FAIL"))

-- Bucketed gradients (every parameter its own bucket, each reduction started during backward)
-- against one allreduce after backward (bucket_mb = 0): the same sums, so the same weights --
-- bit for bit on 2 ranks (a + b is b + a), to rounding on more (MPI may add in another order).
-- The second case has a last batch of one row, which leaves rank 1 without rows: it starts
-- every bucket after its empty pass. (A layer used twice, which would be ready only after its
-- second backward, is refused by fit: backward keeps one record per module.)
for _, case in ipairs { { bs = 32 }, { bs = 101, deep = true } } do
  local function run(mb)
    lt.seed(7)
    local model
    if case.deep then
      model = nn.Sequential { nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(),
                              nn.Linear(16, 16), nn.Linear(16, 3) }
    else
      model = nn.mlp { 10, 16, 16, 3 }
    end
    local h = nn.fit(model, { x = X, y = Y }, { epochs = 1, batch_size = case.bs, lr = 0.1, seed = 1,
                                                dist = true, bucket_mb = mb, progress = false })
    return flat(model), h
  end
  local a, ha = run(1e-5)
  local b, hb = run(0)
  local steps = math.ceil(X:size(1) / case.bs)
  local diff = (a - b):abs():max()
  local same = true
  for _, s in ipairs(d.gather_values(a:tobytes())) do same = same and s == a:tobytes() end
  local want = d.size() == 2 and 0 or 1e-6
  local early_ok = ha.buckets_early >= (ha.buckets - 1) * (steps - 1) and hb.buckets_early == 0
  print(("rank %d buckets bs=%d: %s diff %.3g buckets %d/%d early %d"):format(me, case.bs,
    (diff <= want and same and ha.buckets > 4 and hb.buckets == 1 and early_ok) and "match"
      or "FAIL", diff, ha.buckets, hb.buckets, ha.buckets_early))
end
