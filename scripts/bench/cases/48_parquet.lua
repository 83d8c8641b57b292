-- parquet: reading an embedding file as Hugging Face datasets ship them (47_parquet_data writes
-- the files: N x 256 float32 normal draws as a list<float> column plus an int64 label column,
-- 8,128 rows per row group, SNAPPY and ZSTD; the same floats as .npy; the first NCSV rows as CSV),
-- read whole from the page cache. Debian 12 has no Python Parquet reader, so the peer of the
-- Parquet rows reads the same floats from .npy with numpy.load (the speed reference the issue
-- sets: goal within 1.5x, i.e. ratio >= 0.67; lunette reads the 8 MB of labels besides). The
-- other rows: io.load of that .npy against numpy.load, and the CSV (256 float columns and the
-- label, header) with io.read_csv in frame mode (a column per name, types inferred, as pandas
-- does) against pandas.read_csv. Checksums: the sum of the floats (Parquet, .npy), of every cell
-- (CSV).
-- @row parquet_snappy_emb goal=0.67 title="Parquet SNAPPY emb [10^6×256] f32 + labels vs np.load"
-- @row parquet_zstd_emb goal=0.67 title="Parquet ZSTD emb [10^6×256] f32 + labels vs np.load"
-- @row parquet_npy_load goal=1 title="io.load .npy [10^6×256] f32 (1 GB) vs np.load"
-- @row parquet_csv goal=1 title="read CSV [10^5×(256 f32 + label)] frame vs pandas.read_csv"
-- @rounds 1
local bench = require "bench"
local lt = bench.lt
local lio = lt.io

local N = tonumber(os.getenv("BENCH_PARQUET_ROWS") or "") or 1000000
local NCSV = math.min(N, tonumber(os.getenv("BENCH_PARQUET_CSV_ROWS") or "") or 100000)
local DIR = "build/bench/parquet"
local NPY = ("%s/r%d.npy"):format(DIR, N)
local SNAPPY = ("%s/r%d_snappy.parquet"):format(DIR, N)
local ZSTD = ("%s/r%d_zstd.parquet"):format(DIR, N)
local CSV = ("%s/r%d_%d.csv"):format(DIR, N, NCSV)

local function exists(p)
  local f = io.open(p, "rb")
  if f then f:close() end
  return f ~= nil
end
local function na_all(why)
  for _, c in ipairs { "parquet_snappy_emb", "parquet_zstd_emb", "parquet_npy_load",
    "parquet_csv" } do
    bench.na(c, why)
  end
end
if not (exists(NPY) and exists(SNAPPY) and exists(ZSTD) and exists(CSV)) then
  na_all("no files from 47_parquet_data")
  return
end

-- A second of work per call or more: a few calls per round, as the other multi-second rows
-- (7 at least: on a shared machine some calls of either side wait for the disk when the page
-- cache has dropped part of a file).
local BIG = { min = 7, max = 15, budget = 8 }
local function check(t) return bench.total(t.emb) end
bench.run("parquet_snappy_emb", function() return assert(lio.read_parquet(SNAPPY)) end,
  { check = check, min = BIG.min, max = BIG.max, budget = BIG.budget })
bench.run("parquet_zstd_emb", function() return assert(lio.read_parquet(ZSTD)) end,
  { check = check, min = BIG.min, max = BIG.max, budget = BIG.budget })
bench.run("parquet_npy_load", function() return assert(lio.load(NPY)) end,
  { check = bench.total, min = BIG.min, max = BIG.max, budget = BIG.budget })
local function read_csv() return assert(lio.read_csv(CSV, { header = true, frame = true })) end
bench.run("parquet_csv", read_csv, {
  warmup = 0, min = 3, max = 3, budget = 0,
  check = function(t)
    local s = 0
    for _, v in pairs(t) do s = s + bench.total(v) end
    return s
  end,
})
