-- io: reading a 400 MB float32 .npy and a 400 MB safetensors file (4 tensors
-- of [25000×1000]) from the page cache: lunette.io vs numpy.load / the
-- obvious Python reader (json header + readinto). The files are written
-- once into build/bench/io/ by whichever side runs first (same bytes).
-- @row io_npy_400mb goal=1 title="read .npy f32 [100000×1000] (400 MB)"
-- @row io_safetensors_400mb goal=1 title="read safetensors 4×[25000×1000] f32 (400 MB)"
local bench = require "bench"
local lt = bench.lt
local lio = lt.io

local DIR = "build/bench/io"
os.execute("mkdir -p " .. DIR)
local NPY, ST = DIR .. "/x400.npy", DIR .. "/x400.safetensors"

local function exists(p) local f = io.open(p, "rb") if f then f:close() return true end return false end

if not exists(NPY) or not exists(ST) then
  local x = bench.pattern(100000, 1000)
  if not exists(NPY) then assert(lio.write_npy(NPY, x)) end
  if not exists(ST) then
    local t = {}
    for i = 0, 3 do t["t" .. i] = x:narrow(1, i * 25000 + 1, 25000) end
    assert(lio.write_safetensors(ST, t))
  end
  x = nil
  collectgarbage()
end

bench.run("io_npy_400mb", function() return assert(lio.read_npy(NPY)) end, { check = bench.total })
bench.run("io_safetensors_400mb", function() return assert(lio.read_safetensors(ST)) end, {
  check = function(t)
    local s = 0
    for _, v in pairs(t) do s = s + bench.total(v) end
    return s
  end,
})
