-- replay_spec.lua: every seed of tests/fuzz/corpus and every input the
-- fuzzers ever found (tests/fuzz/crashes) through the lunette readers: each
-- must load or fail with a message, never raise or crash (run under
-- `make test-asan` this is the sanitizer replay of the corpora).
package.path = "tests/fuzz/?.lua;" .. package.path
local H = require "hostile"
local lio = require("lunette").io

local READERS = {
  npy = {"npy"}, zip = {"npz"}, safetensors = {"safetensors"}, pt = {"pt"}, idx = {"idx", "cifar"},
  png = {"png"}, csv = {"csv"}, pickle = {"pt"},
}

local function files(dir)
  local out = {}
  local p = io.popen("ls -A '" .. dir .. "' 2>/dev/null")
  for name in p:lines() do out[#out + 1] = dir .. "/" .. name end
  p:close()
  return out
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

describe("fuzz corpora and crash inputs", function()
  for harness, formats in pairs(READERS) do
    it("replay through the " .. harness .. " readers", function()
      local n = 0
      for _, base in ipairs { "tests/fuzz/corpus/", "tests/fuzz/crashes/" } do
        for _, path in ipairs(files(base .. harness)) do
          local bytes = slurp(path)
          if harness == "pickle" then bytes = H.pt(bytes) end
          for _, fmt in ipairs(formats) do
            local ok, v, err = pcall(lio.read_bytes, fmt, bytes, {max_inflate = 64 << 20})
            assert.is_true(ok, path .. " raised: " .. tostring(v))
            assert.is_true(v ~= nil or type(err) == "string", path)
          end
          n = n + 1
        end
      end
      assert.is_true(n > 0, "no inputs for " .. harness)
    end)
  end

  -- Parquet and Arrow are read from paths only (their readers seek to the footer): each input
  -- goes through a temporary file.
  for harness, read in pairs { parquet = lio.read_parquet, arrow = lio.read_arrow } do
    it("replay through read_" .. harness, function()
      local tmp, n = os.tmpname(), 0
      for _, base in ipairs { "tests/fuzz/corpus/", "tests/fuzz/crashes/" } do
        for _, path in ipairs(files(base .. harness)) do
          local f = assert(io.open(tmp, "wb"))
          f:write(slurp(path))
          f:close()
          local ok, v, err = pcall(read, tmp, {max_inflate = 64 << 20})
          assert.is_true(ok, path .. " raised: " .. tostring(v))
          assert.is_true(v ~= nil or type(err) == "string", path)
          n = n + 1
        end
      end
      os.remove(tmp)
      assert.is_true(n > 0, "no inputs for " .. harness)
    end)
  end

  -- The sketch harness's inputs are states, not files: each goes through from_state and,
  -- when restored, on through add and finalize; every step works or fails with a message.
  it("replay through sketch.from_state", function()
    local S = require "sketch_state"
    local sk = require("lunette").sketch
    local n, restored = 0, 0
    local function fine(ok, v, path, what)
      assert.is_true(ok or type(v) == "string", path .. " " .. what .. " raised a non-message")
      if not ok then
        assert.is_nil(v:find("attempt to", 1, true), path .. " " .. what .. ": " .. v)
      end
    end
    for _, base in ipairs { "tests/fuzz/corpus/", "tests/fuzz/crashes/" } do
      for _, path in ipairs(files(base .. "sketch")) do
        local s, extra = S.decode(slurp(path))
        if s then
          local ok, fd = pcall(sk.from_state, s)
          fine(ok, fd, path, "from_state")
          if ok then
            restored = restored + 1
            if extra then
              local oka, err = pcall(fd.add, fd, extra)
              fine(oka, err, path, "add")
            end
            local okf, B = pcall(fd.finalize, fd)
            fine(okf, B, path, "finalize")
            if okf then assert.is_true(fd:error_bound() >= 0, path) end
          end
        end
        n = n + 1
      end
    end
    assert.is_true(n > 0 and restored > 0, "no sketch states replayed")
  end)
end)
