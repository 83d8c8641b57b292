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

-- Without dist the same call under several ranks is distributed all the same (automatic), as
-- it is given this rank's contiguous part (ds:shard()) instead of the whole dataset; dist =
-- false selects from what this rank passes, alone; a strided shard is refused with dist.
local function sage_of(dataset, dist)
  lt.seed(3)
  return S.sage { model = nn.mlp { 784, 16, 10 }, dataset = dataset, ell = 8, fraction = 0.3,
                  batch_size = 32, progress = false, dist = dist }
end
local auto, given_part = sage_of(ds), sage_of(ds:shard())
local ref3 = sage_of(ds, true)
local part = ds:shard()
local alone = sage_of(part, false)
local ok2, err = pcall(sage_of, ds:shard { mode = "strided" })
print(("rank %d: auto %s, part %s, alone %s, strided %s"):format(me,
  (auto:tobytes() == ref3:tobytes() and ref3:numel() > 0) and "same" or "FAIL",
  given_part:tobytes() == ref3:tobytes() and "same" or "FAIL",
  (alone:numel() > 0 and alone:max() <= part:size()) and "within its shard" or "FAIL",
  (not ok2 and err:find("dataset is a strided shard, rank %d of %d, not this job's")) and "refused"
    or ("FAIL " .. tostring(err))))
