-- parquet: reading an embedding file as Hugging Face datasets ship them: a list<float> column of
-- N x 256 float32 (N = BENCH_PARQUET_ROWS, default 1,000,000: 1 GB of floats) and a dictionary
-- label column, 8,192 rows (8 MiB) per row group (write_parquet's default), SNAPPY and ZSTD,
-- read whole with io.read_parquet from the page cache. Debian 12 has no Python Parquet reader,
-- so the peer reads the same floats from .npy with numpy.load (the speed reference the issue
-- sets: goal within 1.5x, i.e. ratio >= 0.67). The data is bench.pattern's, which compresses
-- far better than real embeddings (the ZSTD file is much smaller than a random one would be).
-- @row parquet_snappy_emb goal=0.67 title="read Parquet SNAPPY emb [N×256] f32 + labels vs .npy"
-- @row parquet_zstd_emb goal=0.67 title="read Parquet ZSTD emb [N×256] f32 + labels vs .npy"
local bench = require "bench"
local lt = bench.lt
local lio = lt.io

local N = tonumber(os.getenv("BENCH_PARQUET_ROWS") or "") or 1000000
local D = 256
local DIR = "build/bench/parquet"
os.execute("mkdir -p " .. DIR)
local NPY = ("%s/emb%d.npy"):format(DIR, N)
local SNAPPY, ZSTD = ("%s/emb%d_snappy.parquet"):format(DIR, N), ("%s/emb%d_zstd.parquet"):format(DIR, N)

local function exists(p) local f = io.open(p, "rb") if f then f:close() return true end return false end

-- bench.pattern(N, D), built 65,536 rows at a time (the whole index tensor would be 8 bytes per
-- element).
local function pattern()
  local x = lt.empty(N, D)
  local step = 65536
  for r0 = 0, N - 1, step do
    local n = math.min(step, N - r0)
    local i = lt.arange(r0 * D, (r0 + n) * D, 1, "int64")
    x:narrow(1, r0 + 1, n):copy_((((i * 7919) % 10007):to("float32") / 10007):reshape(n, D))
  end
  return x
end

if not exists(NPY) or not exists(SNAPPY) or not exists(ZSTD) then
  local x = pattern()
  if not exists(NPY) then assert(lio.write_npy(NPY, x)) end
  local codes = (lt.arange(0, N, 1, "int64") % 10) + 1
  local cols = { emb = x, label = { codes = codes, levels = { "airplane", "automobile", "bird",
    "cat", "deer", "dog", "frog", "horse", "ship", "truck" } } }
  if not exists(SNAPPY) then assert(lio.write_parquet(SNAPPY, cols, { compression = "snappy" })) end
  if not exists(ZSTD) then assert(lio.write_parquet(ZSTD, cols, { compression = "zstd" })) end
  x, cols = nil, nil
  collectgarbage()
end

local function check(t) return bench.total(t.emb) end
bench.run("parquet_snappy_emb", function() return assert(lio.read_parquet(SNAPPY)) end, { check = check })
bench.run("parquet_zstd_emb", function() return assert(lio.read_parquet(ZSTD)) end, { check = check })
