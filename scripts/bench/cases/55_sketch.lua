-- Frequent Directions throughput (issue 5): lunette's `fast` (2ℓ buffer) and `classic` (ℓ rows,
-- one shrink per row once full: the seed's algorithm) against the seed's FD (sage_core's
-- gpu_fd_stream in torch 1.13 on the CPU, float32 B and SVD: scripts/bench/lib/seed_fd.py),
-- for rows of D = 2,570 (MLP 784-256-10, last layer) and D = 203,530 (the whole MLP), ℓ = 64, 256.
-- Both sides store the sketch in float32 and use the same 2 threads.
--
-- Data (both sides, identical floats): row r (0-based) of bench.pattern(N, D) - 0.5, for any N.
-- The pattern has period 10,007 in the flat index, so row r is the D values of the tape
-- pattern(10,007 + D) - 0.5 from offset (r·D) mod 10,007: a stream of any length without the
-- N×D matrix (20,000 × 203,530 float32 would be 16 GB). The rows of each add are copied out of
-- the tape before the timed call; the spectrum is a sawtooth's, σ_k ∝ 1/k, like gradients'.
--
-- Steady-state rows: the time of one add, divided by the rows it adds, so **the columns are
-- seconds per row and the ratio is the rows/s ratio** even though the two sides add different
-- numbers of rows per call (the seed needs up to 30 s per row here, lunette's fast FD
-- milliseconds). The sketch is past its buffer-fill phase on both sides before any timed add:
--   seed and lunette classic: ℓ-1 rows first (no SVD yet), then adds of R rows (R = 16, 4, 1, 1
--     below) each running R shrinks (one SVD / eigensolve per row, every row the same cost);
--     `w` untimed adds, then `calls` timed ones; both sides see the same rows.
--   lunette fast: 2ℓ rows first (one shrink, untimed), then adds of exactly ℓ+1 rows, each
--     ending in exactly one shrink: the amortised steady state.
-- flops= (lunette): the two BLAS-3 products src/sketch.c runs per shrink, amortised per row:
-- Gram ssyrk n(n+1)·D + apply sgemm 2·(ℓ-1)·n·D, n = 2ℓ (fast, per ℓ+1 rows) or ℓ (classic, per
-- row); the float64 eigensolve of the n×n Gram (≈ 1e9 flops at n = 512) is not counted.
-- check (classic vs seed): Σδ (sum of the shrinkages, lunette's fd:info().delta; its
-- error_bound() adds a rounding term), which follows every step of the algorithm; the fast
-- variant shrinks differently by design, so its rows carry no checksum.
-- Whole-stream rows (lunette alone, `fast`): N = 20,000 rows in adds of 1,000 plus finalize(),
-- only the adds and the finalize timed; rows/s = 20,000 / seconds. The seed would need one SVD
-- per row (0.03-30 s each here), hours at D = 203,530, so its side is n/a. The D = 203,530,
-- ℓ = 256 stream takes minutes (≈ 20,000 × its steady-state time per row): it runs only with
-- BENCH_SKETCH_FULL=1 in the environment, else its row says n/a.
-- @rounds 1
-- @row fd_d2570_l64_fast goal=50 title="FD steady state, seconds per row, D=2,570, ℓ=64: fast vs the seed's FD (torch SVD per row)"
-- @row fd_d2570_l64_classic goal=1 title="the same, lunette classic (the seed's algorithm) vs the seed's FD; check Σδ"
-- @row fd_d2570_l256_fast goal=50 title="FD steady state, seconds per row, D=2,570, ℓ=256: fast vs the seed's FD"
-- @row fd_d2570_l256_classic goal=1 title="the same, lunette classic vs the seed's FD; check Σδ"
-- @row fd_d203530_l64_fast goal=50 title="FD steady state, seconds per row, D=203,530, ℓ=64: fast vs the seed's FD"
-- @row fd_d203530_l64_classic goal=1 title="the same, lunette classic vs the seed's FD; check Σδ"
-- @row fd_d203530_l256_fast goal=50 title="FD steady state, seconds per row, D=203,530, ℓ=256: fast vs the seed's FD"
-- @row fd_d203530_l256_classic goal=1 title="the same, lunette classic vs the seed's FD; check Σδ"
-- @row fd_d2570_l64_n20k goal=1 title="FD whole stream, N=20,000 rows, D=2,570, ℓ=64, fast (lunette alone)"
-- @row fd_d2570_l256_n20k goal=1 title="FD whole stream, N=20,000 rows, D=2,570, ℓ=256, fast (lunette alone)"
-- @row fd_d203530_l64_n20k goal=1 title="FD whole stream, N=20,000 rows, D=203,530, ℓ=64, fast (lunette alone)"
-- @row fd_d203530_l256_n20k goal=1 title="FD whole stream, N=20,000 rows, D=203,530, ℓ=256, fast (lunette alone)"
local bench = require "bench"
local lt = bench.lt

local P = 10007
-- stream(D)(r0, k) -> rows r0 .. r0+k-1 (0-based) of pattern(N, D) - 0.5, a k x D tensor
-- (the same one while k stays the same: first touches of fresh pages cost more than the copy).
local function stream(D)
  local tape, out = bench.pattern(P + D) - 0.5, nil
  return function(r0, k)
    if not out or out:size(1) ~= k then out = lt.empty(k, D) end
    for j = 0, k - 1 do
      out:select(1, j + 1):copy_(tape:narrow(1, (r0 + j) * D % P + 1, D))
    end
    return out
  end
end

local function emit(name, times, flops, check)
  local s, tl = {}, {}
  for i, v in ipairs(times) do s[i], tl[i] = v, ("%.6e"):format(v) end
  table.sort(s)
  local n = #s
  local med = n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
  local f = { "case=" .. name, "side=lunette", ("seconds=%.9g"):format(med), "n=" .. n, ("min=%.9g"):format(s[1]) }
  if flops then f[#f + 1] = ("flops=%.9g"):format(flops) end
  if check then f[#f + 1] = ("check=%.9g"):format(check) end
  f[#f + 1] = "times=" .. table.concat(tl, ",")
  io.write(table.concat(f, " "), "\n")
  io.flush()
end

-- Adds `warm` + `calls` chunks of R rows from row r0 on; returns the timed seconds per row.
local function per_row(fd, rows, r0, R, warm, calls)
  local times = {}
  for c = 1, warm + calls do
    local x = rows(r0, R)
    r0 = r0 + R
    collectgarbage()
    local t0 = lt.time()
    fd:add(x)
    local dt = lt.time() - t0
    if c > warm then times[#times + 1] = dt / R end
  end
  return times
end

-- D, ell, classic/seed rows per add R, untimed adds, timed adds; fast timed adds
-- (many short calls at D = 2,570: a median of milliseconds on a loaded machine needs them)
local SHAPES = {
  { 2570, 64, 16, 1, 8, 40 },
  { 2570, 256, 4, 1, 6, 20 },
  { 203530, 64, 1, 0, 3, 10 },
  { 203530, 256, 1, 0, 2, 4 },
}
local FULL_N, CHUNK = 20000, 1000

for _, sh in ipairs(SHAPES) do
  local D, ell, R, warm, calls, fcalls = table.unpack(sh)
  local tag = ("fd_d%d_l%d"):format(D, ell)
  local rows = stream(D)
  local ok, err = pcall(function()
    -- classic: the seed's protocol row for row
    local fd = lt.sketch.fd { ell = ell, dim = D, variant = "classic" }
    fd:add(rows(0, ell - 1))
    local t = per_row(fd, rows, ell - 1, R, warm, calls)
    emit(tag .. "_classic", t, ell * (ell + 1) * D + 2 * (ell - 1) * ell * D, fd:info().delta)
    fd = nil
    collectgarbage()
    -- fast: one shrink in the fill, then adds of ell + 1 rows (one shrink each)
    fd = lt.sketch.fd { ell = ell, dim = D, variant = "fast" }
    fd:add(rows(0, 2 * ell))
    local n = 2 * ell
    t = per_row(fd, rows, 2 * ell, ell + 1, 0, fcalls)
    emit(tag .. "_fast", t, (n * (n + 1) * D + 2 * (ell - 1) * n * D) / (ell + 1))
  end)
  if not ok then
    io.stderr:write("bench: ", tag, " failed: ", tostring(err), "\n")
    bench.na(tag .. "_fast", "error: " .. tostring(err):sub(1, 80))
    bench.na(tag .. "_classic", "error: " .. tostring(err):sub(1, 80))
  end
  collectgarbage()
end

-- Whole streams, lunette alone: adds of CHUNK rows, then finalize(); only those calls timed.
local function whole_stream(name, D, ell, rows)
  local fd, spent = lt.sketch.fd { ell = ell, dim = D, variant = "fast" }, 0
  for r0 = 0, FULL_N - 1, CHUNK do
    local x = rows(r0, math.min(CHUNK, FULL_N - r0))
    collectgarbage()
    local t0 = lt.time()
    fd:add(x)
    spent = spent + (lt.time() - t0)
  end
  local t0 = lt.time()
  local B = fd:finalize()
  spent = spent + (lt.time() - t0)
  assert(fd:rows_seen() == FULL_N and B:size(1) == ell)
  emit(name, { spent })
end

for _, sh in ipairs(SHAPES) do
  local D, ell = sh[1], sh[2]
  local name = ("fd_d%d_l%d_n20k"):format(D, ell)
  if D * ell > 20e6 and os.getenv("BENCH_SKETCH_FULL") ~= "1" then
    bench.na(name, "not run by default (20,000 x the steady-state time per row: minutes); BENCH_SKETCH_FULL=1 runs it")
  else
    local ok, err = pcall(whole_stream, name, D, ell, stream(D))
    if not ok then
      io.stderr:write("bench: ", name, " failed: ", tostring(err), "\n")
      bench.na(name, "error: " .. tostring(err):sub(1, 80))
    end
  end
  collectgarbage()
end
