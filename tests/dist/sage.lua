-- sage.lua: run by tests/dist_spec.lua under mpirun. select.sage{dist = true} on a slice of
-- Fashion-MNIST; the subset must be the one a single process picks (agreement{}) from the same
-- merged sketch's projections, gathered here, and the same on every rank.
local d, S, nn, data = lt.dist, lt.select, lt.nn, lt.data
d.print_all = true
local me = d.rank()
local ds = data.fashion_mnist { split = "test" }:subset(lt.arange(1, 301))
lt.seed(3)
local model = nn.mlp { 784, 16, 10 }
local idx, sc, info = S.sage { model = model, dataset = ds, ell = 8, fraction = 0.1, batch_size = 32,
                               progress = false, return_grads = true, dist = true }
local P = d.allgather(info.grads)
local ref, ref_sc = S.agreement { grads = P, labels = ds:labels(), budget = 0.1 }
local ok = idx:numel() == 30 and idx:tobytes() == ref:tobytes() and sc:tobytes() == ref_sc:tobytes()
local all = d.gather_values(idx:tobytes())
for r = 1, #all do ok = ok and all[r] == all[1] end
print(("rank %d: sage %s %d rows, P %d"):format(me, ok and "same" or "FAIL", idx:numel(), P:size(1)))
