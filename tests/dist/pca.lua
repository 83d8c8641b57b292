-- pca.lua: run by tests/dist_spec.lua under mpirun. embed.pca{dist = true} on each rank's
-- contiguous shard must give one process's PCA of the stacked rows: the same components (up
-- to sign, and with the same signs), variances, mean, and this rank's rows of the scores.
local d, embed = lt.dist, lt.embed
d.print_all = true
local g = lt.Generator(21)
local N, D, k = 203, 12, 4
local scale = lt.tensor({ 9, 7, 5, 4, 3, 2, 1.5, 1, 0.7, 0.5, 0.3, 0.2 })
local X = (g:randn(N, D) * scale):matmul(lt.linalg.qr(g:randn(D, D))) + 3
local first, count = d.shard_range(N)
local me, ok = d.rank(), true
local function close(a, b, tol, what)
  local err = (a:double() - b:double()):abs():max() / math.max(b:double():abs():max(), 1e-12)
  if err > tol then
    ok = false
    print(("FAIL rank %d: %s off by %.3g"):format(me, what, err))
  end
end
for _, center in ipairs { true, false } do
  local Zr, ref = embed.pca(X, k, { solver = "exact", center = center })
  local Z, m = embed.pca(X:narrow(1, first, count), k, { dist = true, center = center })
  -- up to sign: |<c, c_ref>| = 1 for unit components
  local dots = (m.components:double() * ref.components:double()):sum(2):abs()
  close(dots, lt.ones(k):double(), 1e-4, "components up to sign")
  close(m.components, ref.components, 1e-3, "components with signs")
  close(m.explained_variance, ref.explained_variance, 1e-4, "explained_variance")
  close(m.singular_values, ref.singular_values, 1e-4, "singular_values")
  close(m.explained_variance_ratio, ref.explained_variance_ratio, 1e-4, "ratio")
  close(m.mean, ref.mean, 1e-5, "mean")
  close(lt.tensor({ m.total_variance }), lt.tensor({ ref.total_variance }), 1e-5, "total")
  close(Z, Zr:narrow(1, first, count), 1e-3, "scores")
  local all = d.gather_values(m.components:tobytes())
  for r = 2, #all do
    if all[r] ~= all[1] then ok = false print("FAIL rank " .. me .. ": ranks differ") end
  end
end
-- 3 rows over up to 4 ranks: a rank with no rows takes part with an empty shard.
local f3, c3 = d.shard_range(3)
local _, ref3 = embed.pca(X:narrow(1, 1, 3), 2, { solver = "exact" })
local Z3, m3 = embed.pca(X:narrow(1, f3, c3), 2, { dist = true })
close(m3.components, ref3.components, 1e-3, "3 rows: components")
close(m3.explained_variance, ref3.explained_variance, 1e-4, "3 rows: explained_variance")
if Z3:size(1) ~= c3 then ok = false print("FAIL rank " .. me .. ": 3 rows: scores") end
print(("rank %d: pca %s"):format(me, ok and "match" or "FAIL"))
