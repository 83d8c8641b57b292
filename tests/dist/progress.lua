-- progress.lua: run by tests/dist_spec.lua under mpirun with LUNETTE_PROGRESS=1 (bars forced
-- on). Only rank 0 may draw; a dist bar counts rank 0's updates for every rank's, up to the
-- total, and a SAGE pass with dist = true draws its two passes on rank 0 only.
local d, data = lt.dist, lt.data
d.print_all = true
local me, size = d.rank(), d.size()
local bar = data.progress(10 * size, { desc = "rank" .. me .. " hand", dist = true })
for _ = 1, 10 do bar:update(1) end
bar:close()
print(("rank %d: enabled %s n %d total %d"):format(me, tostring(bar.enabled), bar.n, bar.total))
local plain = data.progress(3, { desc = "rank" .. me .. " plain" })
plain:update(3)
plain:close()
local seen = 0
for _ in data.progress({ 1, 2, 3, 4, 5 }, { desc = "rank" .. me .. " array", dist = true }) do
  seen = seen + 1
end
print(("rank %d: array %d"):format(me, seen))
local ds = data.fashion_mnist { split = "test" }:subset(lt.arange(1, 101))
lt.seed(3)
local model = lt.nn.mlp { 784, 8, 10 }
lt.select.sage { model = model, dataset = ds, ell = 4, fraction = 0.1, batch_size = 10,
                 dist = true }
lt.nn.evaluate(model, ds, { batch_size = 10, dist = true })
print(("rank %d: done"):format(me))
