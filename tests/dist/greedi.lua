-- greedi.lua: run by tests/dist_spec.lua under mpirun. craig, kcenter, herding and gradmatch
-- with dist = true (GreeDi's two rounds), each rank passing its contiguous shard: the subset
-- must be valid (distinct rows, the class-balanced count per class), the same on every rank,
-- and for craig (facility location) and kcenter the objective close to one process's greedy on
-- all the rows (printed; craig held to GreeDi's (1 - 1/e)^2 / min(ranks, k) at least).
local d, S = lt.dist, lt.select
d.print_all = true
local g = lt.Generator(11)
local N, C = 301, 3
local centres = g:randn(12, 8):mul(4)
local X = centres:index_select(1, g:randint(1, 13, N)):add(g:randn(N, 8))
local Y = (g:randint(0, 1000, N) % C + 1):long()
local first, count = d.shard_range(N)
local function mine(t) return t:narrow(1, first, count) end
local me, ok = d.rank(), true
local function check(cond, what)
  if not cond then
    ok = false
    print(("FAIL rank %d: %s"):format(me, what))
  end
end

-- Facility location (sum over rows of dmax - distance to the nearest pick, per class, dmax the
-- class's largest distance: CRAIG's euclidean objective) and k-center's radius, on all rows.
local function objective(name, idx)
  local total = 0
  for c = 1, C do
    local rows = Y:eq(c):nonzero():reshape { -1 }
    local Xc = X:index_select(1, rows)
    local picks = idx:index_select(1, Y:index_select(1, idx):eq(c):nonzero():reshape { -1 })
    local D = lt.linalg.cdist(Xc, X:index_select(1, picks)):min(2)
    if name == "craig" then
      local dmax = lt.linalg.cdist(Xc, Xc):max()
      total = total + (dmax * rows:numel() - D:sum())
    else
      total = math.max(total, D:max())
    end
  end
  return total
end

local k = math.floor(0.1 * N / C)
for _, name in ipairs { "craig", "kcenter", "herding", "gradmatch" } do
  local key = name == "gradmatch" and "grads" or "features"
  local idx, _, w = S[name] { [key] = mine(X), labels = mine(Y), budget = 0.1, dist = true }
  check(idx:numel() == C * k, name .. " size")
  check(idx:min() >= 1 and idx:max() <= N, name .. " range")
  check(lt.unique(idx):numel() == idx:numel(), name .. " distinct")
  local per = lt.bincount(Y:index_select(1, idx) - 1, C)
  for c = 1, C do check(per[c] == k, name .. " per class") end
  local all = d.gather_values(idx:tobytes() .. (w and w:tobytes() or ""))
  for r = 2, #all do check(all[r] == all[1], name .. " same on every rank") end
  if name == "craig" then check(w:sum() == N, "craig weights sum to the rows") end
  if name == "craig" or name == "kcenter" then
    local ref = S[name] { [key] = X, labels = Y, budget = 0.1 }
    local f, f1 = objective(name, idx), objective(name, ref)
    local ratio = name == "craig" and f / f1 or f1 / f
    if name == "craig" then
      local bound = (1 - math.exp(-1)) ^ 2 / math.min(d.size(), k)
      check(ratio >= bound, ("craig objective ratio %.4f below %.4f"):format(ratio, bound))
    end
    print(("rank %d: %s ratio %.4f"):format(me, name, ratio))
  end
end
-- cosine craig: the weights are global cluster sizes too; start is refused with dist
local _, _, wc = S.craig { features = mine(X), labels = mine(Y), budget = 0.1, metric = "cosine",
                           dist = true }
check(wc:sum() == N, "cosine craig weights sum to the rows")
local okk, err = pcall(S.kcenter, { features = mine(X), budget = 9, start = 1, dist = true })
check(not okk and err:find("start is not supported with dist"), "kcenter start refused")
print(("rank %d: greedi %s"):format(me, ok and "valid" or "FAIL"))
