-- hostile_spec.lua: the classic hostile files (robustness.md §8) make every
-- reader return nil and a message naming the problem: no crash, no code run,
-- no allocation sized by a lie, the Lua state still usable afterwards.
package.path = "tests/fuzz/?.lua;" .. package.path
local H = require "hostile"
local lt = require "lunette"
local lio = lt.io

local NP = "tests/fixtures/io_numpy/"

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

describe("hostile files", function()
  it("each classic case fails cleanly with its message", function()
    local before = lt.memory()
    for _, c in ipairs(H.cases) do
      local ok, v, err = pcall(lio.read_bytes, c.fmt, c.bytes)
      assert.is_true(ok, c.name .. " raised: " .. tostring(v))
      assert.is_nil(v, c.name .. " was accepted")
      assert.is_string(err, c.name)
      assert.truthy(err:find(c.pat, 1, true), ("%s: message %q lacks %q"):format(c.name, err, c.pat))
    end
    collectgarbage()
    assert.is_true(lt.memory() - before < (1 << 20), "memory grew by " .. (lt.memory() - before))
    assert.is_nil(io.open("/tmp/lunette_pwned"), "the pickle ran a command")
    assert.is_true(#H.cases > 90)
  end)

  it("accepts the edge cases the formats allow", function()
    local t, meta = lio.read_bytes("safetensors", H.st("  {}   "))
    assert.same({}, t)
    assert.same({}, meta)
    t = lio.read_bytes("safetensors", H.st('{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[2,0],"data_offsets":[8,8]}}',
      string.pack("<ff", 1, 2)))
    assert.equal(1, t.a:item())
    assert.equal(2, t.b[1])
    assert.same({2, 0}, t.e:size())
    t = lio.read_bytes("safetensors", H.st('{"n":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', string.pack("<ff", 0 / 0, math.huge)))
    assert.is_true(t.n[1] ~= t.n[1])
    assert.equal(math.huge, t.n[2])
    local sc = lio.read_bytes("npy", H.npy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", string.pack("<d", 2.5)))
    assert.equal(2.5, sc:item())
    local py2 = lio.read_bytes("npy", H.npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2L,), }", string.pack("<i4i4", 1, 2)))
    assert.same({1, 2}, py2:totable())
    local empty = lio.read_bytes("npy", H.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }"))
    assert.same({0, 5}, empty:size())
  end)

  it("bounds decompression: a small zip or gzip cannot claim gigabytes", function()
    local tmp = os.tmpname()
    assert(lio.write_npz(tmp, {z = lt.zeros(1 << 22)}, {compress = true}))
    local bomb = slurp(tmp)
    assert.is_true(#bomb < 100000)
    local before = lt.memory()
    local v, err = lio.read_bytes("npz", bomb, {max_inflate = 1 << 20})
    assert.is_nil(v)
    assert.matches("exceeds the 1048576%-byte decompression limit", err)
    assert.is_true(lt.memory() - before < (1 << 20))
    assert.is_table(lio.read_bytes("npz", bomb)) -- within the default limit it is an ordinary file
    -- the same for a gzipped IDX whose header claims 16 MB
    local f = io.open(tmp, "wb")
    f:write(H.idx(8, {1 << 24}, string.rep("\0", 1 << 24)))
    f:close()
    os.execute("gzip -f -c '" .. tmp .. "' > '" .. tmp .. ".gz'")
    v, err = lio.read_idx(tmp .. ".gz", {max_inflate = 1 << 20})
    assert.is_nil(v)
    assert.matches("over the 1048576%-byte decompression limit", err)
    assert.equal(1 << 24, lio.read_idx(tmp .. ".gz"):numel())
    os.remove(tmp)
    os.remove(tmp .. ".gz")
  end)

  it("refuses truncated and corrupt gzip streams", function()
    local gz = slurp(NP .. "tiny-images-idx3-ubyte.gz")
    local v, err = lio.read_bytes("idx", gz:sub(1, #gz - 20))
    assert.is_nil(v)
    assert.matches("ends early", err)
    local bad = gz:sub(1, #gz - 8) .. string.char((gz:byte(#gz - 7) + 1) % 256) .. gz:sub(#gz - 6)
    v, err = lio.read_bytes("idx", bad)
    assert.is_nil(v)
    assert.matches("incorrect data check", err)
    v, err = lio.read_bytes("idx", gz .. "garbage!")
    assert.is_nil(v)
    assert.matches("trailing garbage", err)
    local two = lio.read_bytes("idx", slurp(NP .. "tiny-labels-idx1-ubyte.gz"))
    assert.same({2, 0, 1}, two:totable())
    local tmp = os.tmpname() .. ".gz"
    local f = io.open(tmp, "wb")
    f:write(slurp(NP .. "tiny-images-idx3-ubyte"))
    f:close()
    v, err = lio.read_idx(tmp)
    assert.is_nil(v)
    assert.matches("not a gzip file", err)
    os.remove(tmp)
  end)

  it("refuses directories, devices, FIFOs and missing files without hanging", function()
    local tmp = os.tmpname()
    os.remove(tmp)
    os.execute("mkfifo '" .. tmp .. "'")
    for _, path in ipairs { "tests", "/dev/zero", tmp } do
      for _, read in ipairs { lio.read_npy, lio.read_safetensors, lio.load_pt, lio.read_idx, lio.read_png, lio.read_csv } do
        local v, err = read(path)
        assert.is_nil(v)
        assert.matches("not a regular file", err)
      end
    end
    os.remove(tmp)
    local v, err = lio.read_npy("tests/no/such.npy")
    assert.is_nil(v)
    assert.equal("tests/no/such.npy: No such file or directory", err)
  end)

  it("survive an allocation failure at every step (SQLite-style fault injection)", function()
    local files = {
      {lio.read_npz, NP .. "arrays_compressed.npz"}, {lio.read_safetensors, NP .. "basic.safetensors"},
      {lio.load_pt, "tests/fixtures/io_torch/checkpoint.pth"}, {lio.read_png, NP .. "rgb_interlaced.png"},
      {lio.read_csv, NP .. "table.csv"}, {lio.read_idx, NP .. "tiny-images-idx3-ubyte.gz"},
      {lio.read_npy, NP .. "f4.npy"},
    }
    for _, f in ipairs(files) do
      local ok = false
      for k = 0, 500 do
        local v, err = f[1](f[2], {fail_at = k})
        if v then ok = true break end
        assert.matches("injected failure at allocation " .. k, err, 1, true)
      end
      assert.is_true(ok, f[2] .. " never loaded")
    end
  end)

  it("leave the Lua state usable", function()
    for _, c in ipairs(H.cases) do lio.read_bytes(c.fmt, c.bytes) end
    assert.equal(6, lio.read_npy(NP .. "f4.npy"):numel())
    assert.equal(3, lt.tensor({1, 2}):sum())
  end)
end)
