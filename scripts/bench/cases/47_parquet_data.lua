-- parquet data (no rows): the files 48_parquet and 49_parquet_stream read, written once into
-- build/bench/parquet/ by lunette (the peer reads only the .npy and the CSV, whose bytes are
-- the same for both sides that way). An embedding column as Hugging Face datasets ship them:
-- N x 256 float32 (N = BENCH_PARQUET_ROWS, default 1,000,000: 1 GB of floats) standard normal
-- draws (Generator(18)), which compress about as little as real embeddings do (ZSTD saves ~8 %,
-- SNAPPY nothing; the bench's usual pattern data would let ZSTD shrink it 200-fold), next to an
-- int64 label column (row i: i mod 10), 8,128 rows (about 8 MiB) per row group (write_parquet's
-- default), SNAPPY and ZSTD (level 3, the default); the same floats as .npy; the first
-- BENCH_PARQUET_CSV_ROWS rows (default 100,000) as CSV (256 float columns e1..e256 and the label,
-- with a header), since a 1,000,000-row CSV (~2.8 GB) takes minutes per read.
local bench = require "bench"
local lt = bench.lt
local lio = lt.io

local N = tonumber(os.getenv("BENCH_PARQUET_ROWS") or "") or 1000000
local NCSV = math.min(N, tonumber(os.getenv("BENCH_PARQUET_CSV_ROWS") or "") or 100000)
local D = 256
local DIR = "build/bench/parquet"
os.execute("mkdir -p " .. DIR)
-- "r" for the random data (files of the earlier pattern data had other names)
local NPY = ("%s/r%d.npy"):format(DIR, N)
local SNAPPY = ("%s/r%d_snappy.parquet"):format(DIR, N)
local ZSTD = ("%s/r%d_zstd.parquet"):format(DIR, N)
local CSV = ("%s/r%d_%d.csv"):format(DIR, N, NCSV)

local function exists(p)
  local f = io.open(p, "rb")
  if f then f:close() end
  return f ~= nil
end

if exists(NPY) and exists(SNAPPY) and exists(ZSTD) and exists(CSV) then return end
-- 65,536 rows at a time: randn draws in float64 before the cast would double the peak
local x = lt.empty(N, D)
local g = lt.random.Generator(18)
for r0 = 0, N - 1, 65536 do
  local n = math.min(65536, N - r0)
  x:narrow(1, r0 + 1, n):copy_(g:randn({ n, D }))
end
local label = lt.arange(0, N, 1, "int64") % 10
local tmp = function(p) return p .. ".tmp" end
-- each file under a temporary name, renamed when whole: an interrupted run leaves no file that
-- a later one would take as done
local function put(path, write)
  if exists(path) then return end
  assert(write(tmp(path)))
  assert(os.rename(tmp(path), path))
end
put(NPY, function(p) return lio.write_npy(p, x) end)
local cols = { emb = x, label = label }
put(SNAPPY, function(p) return lio.write_parquet(p, cols, { compression = "snappy" }) end)
put(ZSTD, function(p) return lio.write_parquet(p, cols, { compression = "zstd" }) end)
put(CSV, function(p)
  local m = lt.empty(NCSV, D + 1) -- float32: each value in its shortest float32 form
  m:narrow(2, 1, D):copy_(x:narrow(1, 1, NCSV))
  m:narrow(2, D + 1, 1):copy_(label:narrow(1, 1, NCSV):reshape(NCSV, 1))
  local header = {}
  for j = 1, D do header[j] = "e" .. j end
  header[D + 1] = "label"
  return lio.write_csv(p, m, { header = header })
end)
