-- scores.lua: run by tests/dist_spec.lua under mpirun. The score methods with dist = true, each
-- rank passing its contiguous shard, must pick what one process picks from all the rows.
local d, S = lt.dist, lt.select
d.print_all = true
local g = lt.Generator(5)
local N = 57
local G, logits = g:randn(N, 6), g:randn(N, 4)
local Y = (g:randint(0, 100, N) % 4 + 1):long()
for c = 1, 4 do Y[c] = c end -- every class present
local first, count = d.shard_range(N)
local function mine(t) return t:narrow(1, first, count) end
local ok = true
for _, case in ipairs {
  { "grand", { grads = G, labels = Y, budget = 0.2 } },
  { "grand", { grads = G, budget = 9, per_class = false } },
  { "el2n", { logits = logits, labels = Y, budget = 0.25 } },
  { "uncertainty", { logits = logits, budget = 7, kind = "margin" } },
} do
  local name, o = case[1], case[2]
  local ref, ref_sc = S[name](o)
  local l = {}
  for k, v in pairs(o) do l[k] = lt.is_tensor(v) and mine(v) or v end
  l.dist = true
  local idx, sc = S[name](l)
  if idx:tobytes() ~= ref:tobytes() or sc:tobytes() ~= ref_sc:tobytes() then
    ok = false
    print(("FAIL rank %d: %s"):format(d.rank(), name))
  end
end
print(("rank %d: scores %s"):format(d.rank(), ok and "same" or "differ"))
