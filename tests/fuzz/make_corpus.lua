-- make_corpus.lua: (re)writes the seed corpora tests/fuzz/corpus/<harness>/
-- from the committed fixtures, files lunette writes, and every hostile case
-- of hostile.lua. Run from the repository root:
--   build/lunette tests/fuzz/make_corpus.lua
package.path = "tests/fuzz/?.lua;" .. package.path
local H = require "hostile"
local lt = require "lunette"
local lio = lt.io

local NP, TH, OUT = "tests/fixtures/io_numpy/", "tests/fixtures/io_torch/", "tests/fuzz/corpus/"
local HARNESS = { npy = "npy", npz = "zip", safetensors = "safetensors", pt = "pt", idx = "idx", png = "png",
                  csv = "csv", cifar = "idx" }

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local count = {}
local function put(h, name, bytes)
  if #bytes > 65536 then return end -- past the fuzzers' -max_len; hostile_spec.lua runs those
  os.execute("mkdir -p " .. OUT .. h)
  name = name:gsub("[^%w%.%-]+", "_"):sub(1, 60)
  local f = assert(io.open(OUT .. h .. "/" .. name, "wb"))
  f:write(bytes)
  f:close()
  count[h] = (count[h] or 0) + 1
end

-- The stored member `name` of a zip, found through its central directory.
local function member(zip, suffix)
  local eocd = zip:find("PK\5\6", #zip - 65557, true)
  while true do local nxt = zip:find("PK\5\6", eocd + 1, true); if not nxt then break end; eocd = nxt end
  local n, _, off = string.unpack("<I2I4I4", zip, eocd + 10)
  local p = off + 1
  for _ = 1, n do
    local csize, usize, nl, xl, cl = string.unpack("<I4I4I2I2I2", zip, p + 20)
    local lho = string.unpack("<I4", zip, p + 42)
    local name = zip:sub(p + 46, p + 45 + nl)
    local x = p + 46 + nl
    while x < p + 46 + nl + xl do -- ZIP64 sizes, as lunette and numpy write them
      local id, sz = string.unpack("<I2I2", zip, x)
      if id == 1 then
        local q = x + 4
        if usize == 0xFFFFFFFF then usize, q = string.unpack("<I8", zip, q) end
        if csize == 0xFFFFFFFF then csize, q = string.unpack("<I8", zip, q) end
        if lho == 0xFFFFFFFF then lho = string.unpack("<I8", zip, q) end
      end
      x = x + 4 + sz
    end
    if name:sub(-#suffix) == suffix then
      local lnl, lxl = string.unpack("<I2I2", zip, lho + 27)
      local start = lho + 31 + lnl + lxl
      return zip:sub(start, start + csize - 1)
    end
    p = p + 46 + nl + xl + cl
  end
end

os.execute("rm -rf " .. OUT .. "*")
for file in io.popen("ls " .. NP):lines() do
  local h = file:match("%.npy$") and "npy" or file:match("%.npz$") and "zip" or file:match("%.safetensors$") and "safetensors"
    or file:match("%.png$") and "png" or file:match("%.csv$") and "csv" or file:match("ubyte") and "idx"
    or file:match("%.idx$") and "idx" or file:match("%.bin$") and "idx"
  if h then put(h, file, slurp(NP .. file)) end
end
for file in io.popen("ls " .. TH):lines() do
  if file:match("%.pth?$") then
    local b = slurp(TH .. file)
    put("pt", file, b)
    local pkl = b:sub(1, 2) == "PK" and member(b, "data.pkl")
    if pkl then put("pickle", file .. ".pkl", pkl) end
  end
end

-- files lunette writes
local tmp = os.tmpname()
local x = lt.arange(12):reshape(3, 4):float()
local function written(h, name, save)
  assert(save(tmp))
  put(h, name, slurp(tmp))
end
written("zip", "lunette_stored.npz", function(p) return lio.write_npz(p, {a = x, b = lt.tensor({true, false})}) end)
written("zip", "lunette_deflated.npz", function(p) return lio.write_npz(p, {a = x, h = x:half()}, {compress = true}) end)
written("safetensors", "lunette.safetensors", function(p) return lio.write_safetensors(p, {a = x, b = x:to("bfloat16")}, {k = "v"}) end)
written("pt", "lunette.pt", function(p) return lio.save_pt(p, {w = x, wt = x:t(), cfg = {1, "a", lio.null, 2.5}}) end)
written("png", "lunette_rgb.png", function(p) return lio.write_png(p, lt.arange(0, 48):reshape(4, 4, 3):to("uint8")) end)
written("csv", "lunette.csv", function(p) return lio.write_csv(p, x, {header = {"a", "b,c", "d", "e"}}) end)
assert(lio.save_pt(tmp, {w = x, c = {1, 2}}))
put("pickle", "lunette.pkl", member(slurp(tmp), "data.pkl"))
os.remove(tmp)

-- saved sketch states (tests/fuzz/sketch_state.lua gives the layout)
for name, bytes in pairs(require("sketch_state").seeds()) do put("sketch", name, bytes) end

-- the hostile cases
for i, c in ipairs(H.cases) do
  put(HARNESS[c.fmt], ("hostile%03d-%s"):format(i, c.name), c.bytes)
  if c.fmt == "pt" and c.bytes:sub(1, 2) == "PK" then
    local pkl = member(c.bytes, "data.pkl")
    if pkl then put("pickle", ("hostile%03d-%s.pkl"):format(i, c.name), pkl) end
  end
end

for h, n in pairs(count) do print(("%-12s %d seeds"):format(h, n)) end
