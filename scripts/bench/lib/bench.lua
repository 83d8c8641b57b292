-- bench.lua - timing helper for the lunette side of `make bench`.
-- Policy (identical to bench.py on the peer side): `warmup` untimed calls, then
-- at least `min` timed calls, continuing until `budget` seconds of timed work or
-- `max` calls; each call is timed alone with lt.time() (monotonic wall clock).
-- The previous result is released and the GC run *between* calls, outside the
-- timed region (the peer frees its result outside the timed region too).
-- Output, one line per case on stdout (read by scripts/bench/collect.py):
--   case=<name> side=lunette seconds=<median> n=<calls> min=<s> times=<t1,t2,...> [flops=<per call>]
--     [bytes=<per call>] [check=<v>]
--   case=<name> side=lunette status=na reason=<text>
local lt = require "lunette"

local bench = { side = "lunette", lt = lt }

local function envnum(k, d) return tonumber(os.getenv(k) or "") or d end
bench.warmup = envnum("BENCH_WARMUP", 1)
bench.min    = envnum("BENCH_MIN_REPEATS", 7)
bench.max    = envnum("BENCH_MAX_REPEATS", 60)
bench.budget = envnum("BENCH_BUDGET", 1.0)

local function emit(fields)
  io.write(table.concat(fields, " "), "\n")
  io.flush()
end

local function fmt(x)
  if math.type(x) == "integer" then return tostring(x) end
  return string.format("%.9g", x)
end

local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end
bench.median = median

-- A case this side cannot run (e.g. the operation does not exist yet).
function bench.na(name, reason)
  local r = (reason or "not available"):gsub("[\r\n']", " ")
  emit { "case=" .. name, "side=" .. bench.side, "status=na", "reason='" .. r .. "'" }
end

-- Time fn() and print one result line.
-- opts.flops: floating-point operations per call (for GFLOP/s).
-- opts.bytes: bytes the call must write (for rows bound by memory: GB/s and the share of the
-- machine's measured bandwidth, scripts/bench/lib/stream.c).
-- opts.check: function(result) -> number, a checksum compared with the peer's.
-- opts.warmup / opts.min / opts.max / opts.budget: this case's policy (defaults:
-- the module fields above, i.e. the BENCH_* environment). Multi-second cases use
-- e.g. { warmup = 0, min = 1, budget = 0 }: one timed call per round.
function bench.run(name, fn, opts)
  opts = opts or {}
  local warmup, min, max, budget = opts.warmup or bench.warmup, opts.min or bench.min,
    opts.max or bench.max, opts.budget or bench.budget
  local ok, err = pcall(function()
    for _ = 1, warmup do fn() end
    local times, spent, result = {}, 0, nil
    while #times < min or (#times < max and spent < budget) do
      result = nil
      collectgarbage("collect")
      local t0 = lt.time()
      result = fn()
      local dt = lt.time() - t0
      times[#times + 1] = dt
      spent = spent + dt
    end
    local mn = math.huge
    for _, v in ipairs(times) do if v < mn then mn = v end end
    local tl = {}
    for i, v in ipairs(times) do tl[i] = string.format("%.6e", v) end
    local f = { "case=" .. name, "side=" .. bench.side, "seconds=" .. fmt(median(times)),
                "n=" .. #times, "min=" .. fmt(mn) }
    if opts.flops then f[#f + 1] = "flops=" .. fmt(opts.flops) end
    if opts.bytes then f[#f + 1] = "bytes=" .. fmt(opts.bytes) end
    if opts.check then
      local c = opts.check(result)
      if type(c) == "userdata" and c.item then c = c:item() end
      f[#f + 1] = "check=" .. fmt(tonumber(c))
    end
    f[#f + 1] = "times=" .. table.concat(tl, ",")
    emit(f)
  end)
  if not ok then
    io.stderr:write("bench: case ", name, " failed: ", tostring(err), "\n")
    bench.na(name, "error: " .. tostring(err):sub(1, 80))
  end
end

-- Deterministic float32 data shared with bench.py: element i (0-based, row-major)
-- is ((i * 7919) % 10007) / 10007, a scrambled pattern in [0, 1) with ties
-- (so argmax exercises the first-occurrence rule).
function bench.pattern(...)
  local shape = { ... }
  local n = 1
  for _, d in ipairs(shape) do n = n * d end
  local i = lt.arange(0, n, 1, "int64")
  local x = ((i * 7919) % 10007):to("float32") / 10007
  return x:reshape(table.unpack(shape))
end

-- Sum of a tensor (or a number) as a Lua number, for checksums.
function bench.total(r)
  if type(r) == "number" then return r end
  if r:dtype() ~= "float32" and r:dtype() ~= "float64" then r = r:to("float64") end
  local s = r:sum()
  if type(s) ~= "number" then s = s:item() end
  return s
end

return bench
