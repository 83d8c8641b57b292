-- sketch.lua: run by tests/dist_spec.lua under mpirun. Every rank sketches its own rows; the
-- allmerged sketch must meet the Frequent Directions bound against all ranks' rows (which each
-- rank rebuilds here, in one process), be the same on every rank and on a second allmerge,
-- and equal the tree of merges replayed in one process. Prints "FAIL ..." lines, then the
-- merged sketch's checksum (compared between runs by the spec).
local d, sketch, linalg = lt.dist, lt.sketch, lt.linalg
d.print_all = true
local me, size = d.rank(), d.size()
local ELL, DIM = 6, 24
local function fail(fmt, ...) print(("FAIL rank %d: " .. fmt):format(me, ...)) end

-- Rank r's rows: a decaying spectrum, so that the bound is far from trivial.
local scale = lt.arange(1, DIM + 1, 1, "float64"):pow(-1)
local function rows(r) return (lt.Generator(100 + r):randn(20 + 7 * r, DIM):double() * scale):float() end
local function sketch_of(r) return sketch.fd { ell = ELL, dim = DIM }:add(rows(r)) end

local merged = sketch_of(me):allmerge()
local B = merged:finalize()
local parts = {}
for r = 0, size - 1 do parts[#parts + 1] = rows(r) end
local A = lt.cat(parts, 1):double()
local info = merged:info()
local err = linalg.norm(A:t():matmul(A) - B:double():t():matmul(B:double()), 2)
if info.rows_seen ~= A:size(1) then fail("rows_seen %d, want %d", info.rows_seen, A:size(1)) end
if err > merged:error_bound() then fail("error %g above bound %g", err, merged:error_bound()) end
for _, k in ipairs { 0, 2, ELL - 1 } do
  local fd_bound = sketch.fd_bound(A:float(), ELL, k)
  if info.delta > fd_bound * (1 + 1e-5) then fail("delta %g > fd_bound(k=%d) %g", info.delta, k, fd_bound) end
end
if me == 0 and info.delta <= 0 then fail("no shrinkage: the test is trivial") end

-- The same on every rank and on a second allmerge.
local again = sketch_of(me):allmerge():finalize()
if again:tobytes() ~= B:tobytes() then fail("second allmerge differs") end
local all = d.gather_values(B:tobytes())
for r = 1, size do if all[r] ~= B:tobytes() then fail("rank %d's sketch differs", r - 1) end end

-- The tree replayed in one process: same bits.
local acc = {}
for r = 0, size - 1 do acc[r] = sketch_of(r) end
local step = 1
while step < size do
  for r = 0, size - 1, 2 * step do
    if r + step < size then acc[r]:merge(acc[r + step]) end
  end
  step = step * 2
end
if acc[0]:finalize():tobytes() ~= B:tobytes() then fail("differs from the tree in one process") end

-- Mismatched sketches are refused on every rank.
local ok, msg = pcall(function() sketch.fd { ell = ELL, dim = DIM + me }:allmerge() end)
if size > 1 and (ok or not msg:find("collective mismatch: rank 0 called allmerge%(%) float32 %[6x24%]")) then
  fail("mismatch not raised: %s", tostring(msg))
end
print(("rank %d: checksum %a %a"):format(me, B:double():sum(), B:double():abs():sum()))
