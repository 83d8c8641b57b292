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
