-- io_spec.lua: every reader against files the real peers wrote (numpy, torch,
-- PIL; element by element), every writer read back by lunette and, when
-- /usr/bin/python3 has them, by numpy and torch; lazy access; atomic writes.
-- Hostile files are in tests/fuzz/hostile_spec.lua.
local lt = require "lunette"
local lio = lt.io

local NP = "tests/fixtures/io_numpy/"
local TH = "tests/fixtures/io_torch/"
local EXP_NP = dofile(NP .. "expected.lua")
local EXP_TH = dofile(TH .. "expected.lua")

local function flat(t)
  if t:numel() == 0 then return {} end
  return t:contiguous():reshape(t:numel()):totable()
end

-- Compares tensor t with an expected.lua entry, exactly (NaN equals NaN).
local function check(t, e, what)
  assert.is_true(lt.tensor.is_tensor(t), what .. ": not a tensor")
  assert.equal(e.dtype, t:dtype(), what .. " dtype")
  assert.same(e.shape, t:size(), what .. " shape")
  local got = flat(t)
  if e.sum then
    assert.near(e.sum, t:double():sum(), 1e-9 * math.max(1, math.abs(e.sum)), what .. " sum")
    for i, v in ipairs(e.first) do assert.equal(v, got[i], what .. " element " .. i) end
    return
  end
  assert.equal(#e.values, #got, what .. " count")
  for i, v in ipairs(e.values) do
    if v ~= v then assert.is_true(got[i] ~= got[i], what .. " element " .. i .. " should be NaN")
    else assert.equal(v, got[i], what .. " element " .. i) end
  end
end

local tmp
setup(function()
  tmp = os.tmpname()
  os.remove(tmp)
  os.execute("mkdir -p '" .. tmp .. "'")
end)
teardown(function() os.execute("rm -rf '" .. tmp .. "'") end)

local function leftovers(dir)
  local p = io.popen("ls -A '" .. dir .. "' | grep -c 'lunette-tmp' || true")
  local n = tonumber(p:read("a")) or 0
  p:close()
  return n
end

describe("npy files written by numpy", function()
  it("reads every dtype in both byte orders, element by element", function()
    local n = 0
    for name, e in pairs(EXP_NP) do
      if name:match("%.npy$") then
        check(assert(lio.read_npy(NP .. name)), e, name)
        n = n + 1
      end
    end
    assert.is_true(n >= 24)
  end)

  it("returns Fortran-order arrays as a transposed view, like numpy", function()
    local t = assert(lio.read_npy(NP .. "fortran_f4.npy"))
    assert.is_false(t:is_contiguous())
    check(t, EXP_NP["fortran_f4.npy"], "fortran")
  end)

  it("widens int8/int16/uint16 to int32 and uint32 to int64", function()
    assert.equal("int32", lio.read_npy(NP .. "i1.npy"):dtype())
    assert.equal("int32", lio.read_npy(NP .. "u2.npy"):dtype())
    assert.equal("int64", lio.read_npy(NP .. "u4.npy"):dtype())
  end)

  it("opens big arrays lazily and reads row ranges", function()
    local x = lt.arange(0, 5000):reshape(1000, 5):float()
    assert(lio.write_npy(tmp .. "/big.npy", x))
    local f = assert(lio.open_npy(tmp .. "/big.npy"))
    assert.same({1000, 5}, f:shape())
    assert.equal("float32", f:dtype())
    assert.equal(1000, #f)
    local before = lt.memory()
    local rows = f:read(101, 3)
    assert.is_true(lt.memory() - before < 1000)
    assert.same({{500, 501, 502, 503, 504}, {505, 506, 507, 508, 509}, {510, 511, 512, 513, 514}}, rows:totable())
    assert.equal(5, f:read(1000):numel())
    assert.equal(0, f:read(1001, 0):numel())
    assert.error_matches(function() f:read(0, 1) end, "out of range")
    assert.error_matches(function() f:read(999, 5) end, "out of range")
    assert.is_true(f:read():equal(x))
    f:close()
    assert.error_matches(function() f:read(1, 1) end, "closed")
  end)

  -- issue 13 (8): read(math.maxinteger, 2) overflowed first + count - 1 while
  -- building its error message (UBSan: signed integer overflow)
  it("refuses row ranges at the integer limits with the range it allows", function()
    assert(lio.write_npy(tmp .. "/rows.npy", lt.ones(10, 2)))
    local f = assert(lio.open_npy(tmp .. "/rows.npy"))
    local function refuses(want, ...)
      local args = table.pack(...)
      local ok, err = pcall(function() return f:read(table.unpack(args, 1, args.n)) end)
      assert.is_false(ok)
      assert.truthy(tostring(err):find(want, 1, true), tostring(err))
    end
    local big, small = math.maxinteger, math.mininteger
    local first_big = "bad argument #2 to 'read' (first row 9223372036854775807 out of range 1..11)"
    local first_small = "(first row -9223372036854775808 out of range 1..11)"
    refuses(first_big, big, 2)
    refuses(first_big, big)
    refuses(first_small, small)
    refuses(first_small, small, big)
    refuses("bad argument #3 to 'read' (count 9223372036854775807 from row 2 out of range 0..9", 2,
      big)
    refuses("bad argument #3 to 'read' (count -9223372036854775808 from row 2", 2, small)
    assert.same({ 1, 2 }, f:read(10, 1):size())
    f:close()
  end)
end)

describe("npz archives written by numpy", function()
  it("reads stored (ZIP64) and deflated members", function()
    for _, file in ipairs { "arrays.npz", "arrays_compressed.npz" } do
      local t = assert(lio.read_npz(NP .. file))
      for name, e in pairs(EXP_NP) do
        local f, k = name:match("^(.-):(.+)$")
        if f == file then check(t[k], e, name) end
      end
    end
  end)

  it("reads one member at a time without loading the others", function()
    local a = assert(lio.open_npz(NP .. "arrays_compressed.npz"))
    assert.same({"labels", "mask", "ramp", "weights", "zeros"}, a:names())
    assert.equal(5, #a)
    local info = a:info("ramp")
    assert.same({1000}, info.shape)
    assert.is_true(info.compressed)
    check(a:read("ramp"), EXP_NP["arrays_compressed.npz:ramp"], "ramp")
    local missing, err = a:read("nope")
    assert.is_nil(missing)
    assert.matches("no array named 'nope'", err)
    a:close()
  end)

  -- issue 13 (io 2, 3): read_npz and names() list a member "A.NPY" as array "A" but
  -- open_npz(...):read("A") looked for "A.npy" only; and read/info built the member name in a
  -- 4 KiB buffer, so names write_npz takes (up to 65531 bytes) were not found, and a name with
  -- a NUL byte was cut there ("a\0b" read array "a").
  it("finds every array names() lists, whatever the case of .npy and the length of the name", function()
    local H = dofile("tests/fuzz/hostile.lua")
    local function npy(t)
      assert(lio.write_npy(tmp .. "/m.npy", t))
      local f = assert(io.open(tmp .. "/m.npy", "rb"))
      local b = f:read("a")
      f:close()
      return b
    end
    local one, two, three = lt.tensor { 1, 2 }, lt.tensor { 3 }, lt.tensor { 4, 5, 6 }
    local path = tmp .. "/case.npz"
    local f = assert(io.open(path, "wb"))
    -- c.NPY and c.npy both map to "c": read_npz keeps the later in name order, c.npy
    f:write(H.zip { { name = "A.NPY", data = npy(one) }, { name = "b.Npy", data = npy(two) },
      { name = "c.NPY", data = npy(one) }, { name = "c.npy", data = npy(three) } })
    f:close()
    local all = assert(lio.read_npz(path))
    local a = assert(lio.open_npz(path))
    assert.same({ "A", "b", "c", "c" }, a:names())
    for _, k in ipairs { "A", "b", "c" } do
      local t, err = a:read(k)
      assert.is_nil(err, k)
      assert.is_true(t:equal(all[k]), k)
      assert.same(all[k]:size(), a:info(k).shape, k)
    end
    assert.is_true(a:read("c"):equal(three))
    assert.is_nil(a:read("a"))
    assert.is_nil(a:read("c\0z"))
    a:close()

    local long = { ("n"):rep(5000), ("m"):rep(65531) }
    assert(lio.write_npz(tmp .. "/long.npz", { [long[1]] = one, [long[2]] = two }))
    a = assert(lio.open_npz(tmp .. "/long.npz"))
    assert.same({ long[2], long[1] }, a:names())
    assert.is_true(assert(a:read(long[1])):equal(one))
    assert.is_true(assert(a:read(long[2])):equal(two))
    assert.same({ 1 }, a:info(long[2]).shape)
    assert.is_nil(a:read(long[1] .. "n"))
    assert.is_nil(a:read(long[1] .. "\0"))
    a:close()
  end)
end)

describe("safetensors", function()
  it("reads a file written from the format's README, with metadata", function()
    local t, meta = assert(lio.read_safetensors(NP .. "basic.safetensors"))
    for name, e in pairs(EXP_NP) do
      local k = name:match("^basic%.safetensors:(.+)$")
      if k then check(t[k], e, name) end
    end
    assert.same({format = "pt", note = 'café "quoted"'}, meta)
  end)

  it("opens lazily and reads single tensors", function()
    local f = assert(lio.open_safetensors(NP .. "basic.safetensors"))
    assert.equal(12, #f)
    assert.same({2, 3}, f:info("f32").shape)
    assert.equal("int16", f:info("i16").stored)
    check(f:read("i16"), EXP_NP["basic.safetensors:i16"], "i16")
    assert.equal("pt", f:metadata().format)
    f:close()
  end)

  it("round-trips every dtype, 0-d and empty tensors, aligned", function()
    local src = {
      f32 = lt.tensor({{1.5, -2}, {3, 4}}), f64 = lt.tensor({1, 2}, "float64"), h = lt.tensor({0.5, 65504}, "float16"),
      bf = lt.tensor({1, -0.25}, "bfloat16"), i64 = lt.tensor({-(1 << 40), 3}), i32 = lt.tensor({-7}, "int32"),
      u8 = lt.tensor({0, 255}, "uint8"), b = lt.tensor({true, false}), s = lt.tensor(2.5), e = lt.zeros(0, 3),
      ["név/ü\"x"] = lt.ones(1),
    }
    assert(lio.write_safetensors(tmp .. "/all.safetensors", src, {who = "lunette", ["ké"] = "v\n"}))
    local back, meta = assert(lio.read_safetensors(tmp .. "/all.safetensors"))
    for k, v in pairs(src) do
      assert.equal(v:dtype(), back[k]:dtype(), k)
      assert.is_true(v:equal(back[k]), k)
    end
    assert.same({who = "lunette", ["ké"] = "v\n"}, meta)
    -- header padded to 8 bytes and tensors sorted widest first: every tensor aligned
    local f = io.open(tmp .. "/all.safetensors", "rb")
    local n = string.unpack("<I8", f:read(8))
    f:close()
    assert.equal(0, n % 8)
  end)
end)

describe("PyTorch checkpoints written by torch.save", function()
  it("reads a state dict of every dtype element by element", function()
    local sd = assert(lio.load_pt(TH .. "state_dict.pt"))
    local n = 0
    for name, e in pairs(EXP_TH) do
      local k = name:match("^state_dict%.pt:(.+)$")
      if k then check(sd[k], e, name); n = n + 1 end
    end
    assert.equal(16, n)
  end)

  it("keeps shared storages shared and views strided", function()
    local sd = assert(lio.load_pt(TH .. "state_dict.pt"))
    for _, k in ipairs { "w_t", "row", "col" } do assert.is_true(lt.same_storage(sd.w, sd[k]), k) end
    assert.same({1, 3}, sd.w_t:stride())
    assert.same({3}, sd.col:stride())
    assert.same({0, 1}, sd.expanded:stride())
    sd.w[1][2] = 100 -- writing through one view shows in the others, as in torch
    assert.equal(100, sd.w_t[2][1])
    assert.equal(100, sd.col[1])
  end)

  it("iterates dicts in file order and keeps the checkpoint's plain data", function()
    local sd = assert(lio.load_pt(TH .. "state_dict.pt"))
    local order = {}
    for k in pairs(sd) do order[#order + 1] = k end
    assert.same({"w", "w_t", "row", "col", "expanded", "half", "bf16", "f64", "i64", "i32", "i16", "i8", "u8",
                 "mask", "scalar", "empty"}, order)
    assert.same(order, lio.keys(sd))
    assert.equal("OrderedDict", getmetatable(sd).__name)
    local c = assert(lio.load("tests/fixtures/io_torch/checkpoint.pth"))
    assert.equal(0.61, c.mAP)
    assert.equal(12, c.epoch)
    assert.equal(8, c.config.d_anchor)
    assert.equal("dual_stream", c.config.name)
    assert.same({1, 2, 3}, c.config.layers)
    assert.same({2, 3}, c.config.shape)
    assert.equal(lio.null, c.config.dropout)
    assert.is_true(c.config.flag)
    assert.same({1, 2}, c.param:totable())
    for name, e in pairs(EXP_TH) do
      local k = name:match("^checkpoint%.pth:(.+)$")
      if k then check(c.state_dict[k], e, name) end
    end
  end)

  it("byte-swaps archives whose byteorder record says big", function()
    check(assert(lio.load_pt(TH .. "big_endian.pt")).x, EXP_TH["big_endian.pt:x"], "big endian")
  end)

  it("refuses legacy and TorchScript files with a clear message", function()
    local v, err = lio.load_pt(TH .. "legacy.pt")
    assert.is_nil(v)
    assert.matches("legacy torch.save format .* not supported", err)
    v, err = lio.load_pt(TH .. "torchscript.pt")
    assert.is_nil(v)
    assert.matches("TorchScript archives are not supported", err)
    assert.matches("^tests/fixtures/io_torch/torchscript.pt: ", err)
  end)

  it("saves checkpoints with shared storages, views and nested data", function()
    local w = lt.arange(12):reshape(3, 4):float()
    local ck = {state_dict = {w = w, wt = w:t(), row = w[2], b = lt.zeros(4, "bfloat16")},
                config = {d = 3, name = "x", list = {1, 2.5, lio.null, true}}, epoch = 3}
    assert(lio.save_pt(tmp .. "/ck.pt", ck))
    local back = assert(lio.load_pt(tmp .. "/ck.pt"))
    assert.is_true(back.state_dict.wt:equal(w:t()))
    assert.is_true(lt.same_storage(back.state_dict.w, back.state_dict.row))
    assert.is_true(back.state_dict.row:equal(w[2]))
    assert.equal("bfloat16", back.state_dict.b:dtype())
    assert.same({1, 2.5, lio.null, true}, back.config.list)
    assert.equal(3, back.epoch)
    -- a loaded checkpoint saves back in its own key order
    local sd = assert(lio.load_pt(TH .. "state_dict.pt"))
    assert(lio.save_pt(tmp .. "/again.pt", sd))
    assert.same(lio.keys(sd), lio.keys(assert(lio.load_pt(tmp .. "/again.pt"))))
  end)

  it("saves only the part of a storage that saved views use", function()
    local big = lt.zeros(100000)
    assert(lio.save_pt(tmp .. "/slice.pt", {x = big:narrow(1, 10, 5)}))
    local f = io.open(tmp .. "/slice.pt", "rb")
    local size = f:seek("end")
    f:close()
    assert.is_true(size < 4096)
  end)

  it("refuses values torch could not load", function()
    assert.error_matches(function() lio.save_pt(tmp .. "/bad.pt", {f = print}) end, "cannot save a function")
    local cyc = {}
    cyc.self = cyc
    assert.error_matches(function() lio.save_pt(tmp .. "/bad.pt", cyc) end, "cyclic")
    assert.error_matches(function() lio.save_pt(tmp .. "/bad.pt", {"\255"}) end, "UTF%-8")
    assert.is_nil(io.open(tmp .. "/bad.pt"))
  end)

  -- issue 13 (io 4): a table holding a 70 MB string was saved although load_pt refuses a
  -- data.pkl over 64 MiB: a checkpoint that could never be loaded.
  it("refuses a value whose data.pkl load_pt would refuse, leaving no file", function()
    local path = tmp .. "/huge.pt"
    os.remove(path)
    local big = ("x"):rep(70 * 1000 * 1000)
    assert.error_matches(function() lio.save_pt(path, { s = big }) end,
      "bad argument #2 to 'save_pt' %(the value pickles to %d+ bytes, over the 67108864%-byte data.pkl limit")
    assert.is_nil(io.open(path))
    big = nil
    -- just under the limit still saves and loads back
    local fits = ("y"):rep(64 * 1024 * 1024 - 1000)
    assert(lio.save_pt(path, { s = fits }))
    assert.equal(fits, assert(lio.load_pt(path)).s)
    os.remove(path)
  end)
end)

describe("IDX and CIFAR", function()
  it("reads IDX files raw and gzipped, big-endian types converted", function()
    for _, n in ipairs { "tiny-images-idx3-ubyte", "tiny-labels-idx1-ubyte.gz", "floats.idx", "shorts.idx" } do
      check(assert(lio.read_idx(NP .. n)), EXP_NP[n], n)
    end
    assert.is_true(lio.read_idx(NP .. "tiny-images-idx3-ubyte.gz"):equal(lio.read_idx(NP .. "tiny-images-idx3-ubyte")))
  end)

  it("reads straight to float32 with a scale in one pass", function()
    local u8 = lio.read_idx(NP .. "tiny-images-idx3-ubyte.gz")
    local f = assert(lio.read_idx(NP .. "tiny-images-idx3-ubyte.gz", {dtype = "float32", scale = 0.5}))
    assert.equal("float32", f:dtype())
    assert.is_true(f:equal(u8:float() * 0.5))
    local s = assert(lio.read_idx(NP .. "shorts.idx", {scale = 2}))
    assert.same({-246, -164, -82, 0}, s:totable())
    assert.error_matches(function() lio.read_idx(NP .. "floats.idx", {dtype = "int64"}) end, "dtype must be float32")
  end)

  it("reads CIFAR-10 and CIFAR-100 batches", function()
    local x, y = assert(lio.read_cifar(NP .. "cifar10_tiny.bin"))
    check(x, EXP_NP["cifar.images"], "images")
    check(y, EXP_NP["cifar10.labels"], "labels")
    local x2, fine, coarse = lio.read_cifar(NP .. "cifar100_tiny.bin", {classes = 100})
    check(x2, EXP_NP["cifar.images"], "images")
    check(fine, EXP_NP["cifar100.fine"], "fine")
    check(coarse, EXP_NP["cifar100.coarse"], "coarse")
    local v, err = lio.read_cifar(NP .. "cifar100_tiny.bin")
    assert.is_nil(v)
    assert.matches("whole number of 3073%-byte records", err)
  end)

  -- issue 13 (io 1): a second gzip member whose header began on the last byte of the reader's
  -- 256 KiB input buffer was not recognised (its two magic bytes straddled two reads), and a
  -- valid file failed with "decompressed data ends after ...".
  it("reads multi-member gzip wherever the next member starts", function()
    local crc32 = dofile("tests/fuzz/hostile.lua").crc32
    -- A gzip member of stored DEFLATE blocks: its size is 18 + 5 per block + #data, exactly.
    local function member(data)
      local out = { "\x1f\x8b\x08\0\0\0\0\0\0\xff" }
      for i = 1, #data, 65535 do
        local chunk = data:sub(i, i + 65534)
        local final = i + 65535 > #data and 1 or 0
        out[#out + 1] = string.pack("<BI2I2", final, #chunk, ~#chunk & 0xFFFF) .. chunk
      end
      out[#out + 1] = string.pack("<I4I4", crc32(data), #data)
      return table.concat(out)
    end
    local buf = 256 * 1024
    -- the second member starts one byte before, on, and one byte after the buffer's last byte
    for _, first in ipairs { buf - 2, buf - 1, buf } do
      local head = first - 18 - 4 * 5 -- four stored blocks
      local n = head - 8 + 100
      local bytes = {}
      for i = 1, n do bytes[i] = string.char(i % 251) end
      local raw = string.pack(">I4I4", 0x0801, n) .. table.concat(bytes)
      local m1 = member(raw:sub(1, head))
      assert.equal(first, #m1)
      local path = tmp .. "/split.idx.gz"
      local f = assert(io.open(path, "wb"))
      f:write(m1, member(raw:sub(head + 1)))
      f:close()
      local want = assert(lio.read_bytes("idx", raw))
      local got, err = lio.read_idx(path)
      assert.is_nil(err, "second member at byte " .. first)
      assert.is_true(got:equal(want), "second member at byte " .. first)
    end
  end)
end)

describe("PNG", function()
  it("reads every color type PIL writes", function()
    for _, n in ipairs { "gray.png", "rgb.png", "rgba.png", "rgb_interlaced.png", "gray16.png", "bw1.png", "palette_trns.png" } do
      check(assert(lio.read_png(NP .. n)), EXP_NP[n], n)
    end
  end)

  it("writes uint8 and float images that read back", function()
    local img = lt.arange(0, 60):reshape(4, 5, 3):to("uint8")
    assert(lio.write_png(tmp .. "/u8.png", img))
    assert.is_true(lio.read_png(tmp .. "/u8.png"):equal(img))
    local g = lt.linspace(0, 1, 12):reshape(3, 4)
    assert(lio.write_png(tmp .. "/f.png", g))
    local back = lio.read_png(tmp .. "/f.png")
    assert.same({3, 4}, back:size())
    assert.equal(0, back:get(1, 1))
    assert.equal(255, back:get(3, 4))
    local rgba = lt.ones(2, 2, 4)
    assert(lio.write_png(tmp .. "/rgba.png", rgba))
    assert.same({2, 2, 4}, lio.read_png(tmp .. "/rgba.png"):size())
    assert.error_matches(function() lio.write_png(tmp .. "/x.png", lt.zeros(2, 2, 5)) end, "C in 1..4")
    assert.error_matches(function() lio.write_png(tmp .. "/x.png", lt.zeros(2, 2, "int64")) end, "uint8 or float")
  end)
end)

describe("CSV", function()
  it("reads RFC 4180 quoting, BOM, CRLF, blank lines, nan and inf", function()
    local t, names = assert(lio.read_csv(NP .. "table.csv"))
    check(t, EXP_NP["table.csv"], "table.csv")
    assert.same({"x, first", "y", 'say "hi"'}, names)
  end)

  it("round-trips with the shortest exact numbers", function()
    local t = lt.tensor({{0.1, -2.5e-8, 1 / 3}, {0 / 0, math.huge, 7}}, "float64")
    assert(lio.write_csv(tmp .. "/t.csv", t, {header = {"a", "b,c", 'q"'}}))
    local back, names = lio.read_csv(tmp .. "/t.csv")
    local want, got = flat(t), flat(back)
    for i = 1, #want do assert.is_true(want[i] == got[i] or (want[i] ~= want[i] and got[i] ~= got[i]), i) end
    assert.same({"a", "b,c", 'q"'}, names)
    local f = io.open(tmp .. "/t.csv")
    local text = f:read("a")
    f:close()
    assert.matches('^a,"b,c","q"""\n0%.1,', text)
    local i = lt.tensor({{1, -2}, {3, 4}})
    assert(lio.write_csv(tmp .. "/i.csv", i))
    assert.is_true(lio.read_csv(tmp .. "/i.csv", {header = false, dtype = "int64"}):equal(i))
    assert.is_true(lio.read_csv(tmp .. "/i.csv", {header = false, dtype = "float32"}):equal(i:float()))
  end)

  it("reports malformed tables with line and column", function()
    local cases = {
      {'a,b\n"1,2\n', "unterminated quoted field"},
      {'a,b\n"1"x,2\n', "line 2, column 4: text after a closing quote"},
      {"a,b\n1,2\n3\n", "line 3 has 1 fields, expected 2"},
      {"a\n0x10\n", "hexadecimal"},
      {"a\nabc\n", "line 2, column 1: not a number"},
      {"a\n1\0\n", "NUL byte"},
    }
    for _, c in ipairs(cases) do
      local t, err = lio.read_bytes("csv", c[1])
      assert.is_nil(t, c[1])
      assert.matches(c[2], err, 1, true)
    end
    local t, err = lio.read_bytes("csv", "a\n9223372036854775808\n", {dtype = "int64"})
    assert.is_nil(t)
    assert.matches("fits int64", err)
  end)
end)

describe("load and save by file type", function()
  it("dispatches on the extension and on the first bytes", function()
    assert.equal("float32", lio.load(NP .. "f4.npy"):dtype())
    assert.is_table(lio.load(NP .. "arrays.npz"))
    assert.is_table(lio.load(NP .. "basic.safetensors"))
    assert.is_table(lio.load(TH .. "checkpoint.pth"))
    assert.same({3, 4, 5}, lio.load(NP .. "tiny-images-idx3-ubyte"):size())
    os.execute("cp " .. TH .. "state_dict.pt '" .. tmp .. "/noext'")
    assert.is_table(lio.load(tmp .. "/noext"))
    local v, err = lio.load(tmp .. "/nothing.xyz")
    assert.is_nil(v)
    assert.matches("unknown file type", err)
    local x = lt.arange(6):reshape(2, 3)
    for _, ext in ipairs { "npy", "csv" } do
      assert(lio.save(tmp .. "/s." .. ext, x, ext == "csv" and {header = {"a", "b", "c"}} or nil))
      assert.is_true(lio.load(tmp .. "/s." .. ext):long():equal(x), ext)
    end
    assert(lio.save(tmp .. "/s.npz", {x = x}, {compress = true}))
    assert.is_true(lio.load(tmp .. "/s.npz").x:equal(x))
    assert.error_matches(function() lio.save(tmp .. "/s.weird", x) end, "unknown file type")
  end)

  it("round-trips npy and npz for every dtype numpy has", function()
    local ts = {lt.tensor({1.5, -2}), lt.tensor({1, 2}, "float64"), lt.tensor({0.5}, "float16"), lt.tensor({-(1 << 40)}),
                lt.tensor({-3}, "int32"), lt.tensor({250}, "uint8"), lt.tensor({true, false}), lt.zeros(0, 2), lt.tensor(7.5)}
    local all = {}
    for i, t in ipairs(ts) do
      assert(lio.write_npy(tmp .. "/r.npy", t))
      local b = lio.read_npy(tmp .. "/r.npy")
      assert.equal(t:dtype(), b:dtype())
      assert.is_true(t:equal(b), t:dtype())
      all["a" .. i] = t
    end
    assert(lio.write_npz(tmp .. "/r.npz", all))
    for k, v in pairs(lio.read_npz(tmp .. "/r.npz")) do assert.is_true(all[k]:equal(v), k) end
    assert.error_matches(function() lio.write_npy(tmp .. "/b.npy", lt.ones(2, "bfloat16")) end, "NumPy has no bfloat16")
  end)
end)

describe("writers never leave partial files", function()
  it("leave the old file intact and no temporary when a write fails", function()
    assert(lio.write_npy(tmp .. "/keep.npy", lt.ones(3)))
    local x = {a = lt.arange(1000):float(), b = lt.ones(10)}
    local failures = 0
    for k = 0, 40 do
      local call, ok, err = pcall(lio.save_pt, tmp .. "/keep.npy", x, {fail_at = k})
      if not call then err = ok end
      if call and ok then break end
      failures = failures + 1
      assert.matches("injected failure", err)
      assert.is_true(lio.read_npy(tmp .. "/keep.npy"):equal(lt.ones(3)), "old file damaged at k=" .. k)
      assert.equal(0, leftovers(tmp))
    end
    assert.is_true(failures > 3)
    local ok, err = lio.write_npy(tmp .. "/no/such/dir/x.npy", lt.ones(2))
    assert.is_nil(ok)
    assert.matches("no/such/dir/x.npy: cannot create", err)
  end)

  it("need no temporary after a successful write", function()
    assert(lio.write_npz(tmp .. "/ok.npz", {x = lt.ones(2)}))
    assert.equal(0, leftovers(tmp))
  end)

  local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "tests"
  local H = dofile(here .. "/fixtures/host.lua")

  local function fresh_dir(name)
    local dir = tmp .. "/" .. name
    os.execute("rm -rf '" .. dir .. "' && mkdir -p '" .. dir .. "'")
    return dir
  end

  local function listing(dir)
    local out = {}
    local p = io.popen("ls -A '" .. dir .. "'")
    for l in p:lines() do out[#out + 1] = l end
    p:close()
    table.sort(out)
    return out
  end

  local function script(name, code)
    local path = tmp .. "/" .. name
    local f = assert(io.open(path, "w"))
    f:write(code)
    f:close()
    return path
  end

  it("roll back and exit 143 when SIGTERM comes in the middle of a write", function()
    -- The shim raises SIGTERM inside the first write(2) to the temporary:
    -- the writer is half-way through 4 MiB, whatever the machine's load.
    local dir = fresh_dir("term")
    assert(lio.write_npy(dir .. "/big.npy", lt.ones(3)))
    local child = script("term.lua", ([[
      local lt = require "lunette"
      print(lt.io.write_npy(%q, lt.ones(1 << 20)))
      print("survived")]]):format(dir .. "/big.npy"))
    local out, status = H.run(child, H.shim_env { LUNETTE_SHIM_TERM_DIR = dir })
    assert.equal(143, status, out)
    assert.is_nil(out:find("survived"), out)
    assert.same({"big.npy"}, listing(dir))
    assert.is_true(lio.read_npy(dir .. "/big.npy"):equal(lt.ones(3)), "the old file is untouched")
  end)

  it("remove the temporaries a killed writer left, on the next write of the same target", function()
    -- What kill -9 leaves: a temporary whose process is gone.
    local dir = fresh_dir("stale")
    local dead = H.temp_name("x.npy", H.dead_pid())
    local other = H.temp_name("y.npz", H.dead_pid(), "00c0ffee")
    local live = H.temp_name("x.npy", 1, "0000beef")  -- pid 1 always runs: a writer at work
    for _, name in ipairs({dead, other, live}) do
      local f = assert(io.open(dir .. "/" .. name, "wb"))
      f:write(("\0"):rep(1000))
      f:close()
    end
    assert(lio.write_npy(dir .. "/x.npy", lt.ones(2)))
    assert.same({live, other, "x.npy"}, listing(dir))
    assert(lio.write_npz(dir .. "/y.npz", {a = lt.ones(2)}))
    assert.same({live, "x.npy", "y.npz"}, listing(dir))
  end)

  it("flush the temporary to disk before the rename, and the directory after", function()
    local dir, log = fresh_dir("sync"), tmp .. "/sync.log"
    os.remove(log)
    local child = script("sync.lua", ([[
      local lt = require "lunette"
      assert(lt.io.write_npy(%q, lt.ones(5)))
      assert(lt.io.save_pt(%q, {w = lt.ones(2)}))]]):format(dir .. "/a.npy", dir .. "/b.pt"))
    local out, status = H.run(child, H.shim_env { LUNETTE_SHIM_LOG = log })
    assert.equal(0, status, out)
    local lines = {}
    for l in io.lines(log) do lines[#lines + 1] = l end
    local dirname = dir:match("[^/]+$")
    for _, target in ipairs({"a.npy", "b.pt"}) do
      local r, temp
      for i, l in ipairs(lines) do
        local from, to = l:match("^rename (%S+) (%S+)$")
        if to == target then r, temp = i, from end
      end
      assert.is_truthy(r, target .. " renamed into place:\n" .. table.concat(lines, "\n"))
      assert.is_truthy(temp:find("^%." .. target:gsub("%.", "%%.") .. "%.lunette%-tmp%."), temp)
      local synced, dsynced = false, false
      for i, l in ipairs(lines) do
        if i < r and l == "sync " .. temp then synced = true end
        if i > r and l == "sync " .. dirname then dsynced = true end
      end
      assert.is_true(synced, target .. ": temporary not flushed before the rename")
      assert.is_true(dsynced, target .. ": directory not flushed after the rename")
    end
    assert.same({"a.npy", "b.pt"}, listing(dir))
  end)
end)

-- issue 13 (6): write_npz took {["../evil"] = t} and wrote a member
-- "../evil.npy" that read_npz then refused; every writer now refuses, before
-- opening anything, the names its reader refuses.
describe("writers refuse the names their readers refuse", function()
  local t = lt.ones(2)

  -- Runs write(path) in an empty directory; returns the error it raised and
  -- what the directory holds afterwards.
  local function refused(ext, write)
    local dir = tmp .. "/names"
    os.execute("rm -rf '" .. dir .. "' && mkdir '" .. dir .. "'")
    local ok, err = pcall(write, dir .. "/x." .. ext)
    assert.is_false(ok, "expected an error")
    local p = io.popen("ls -A '" .. dir .. "'")
    local left = p:read("a")
    p:close()
    return tostring(err), left
  end

  local function assert_refused(ext, write, ...)
    local err, left = refused(ext, write)
    for _, want in ipairs { ... } do
      assert.truthy(err:find(want, 1, true), ("message %q lacks %q"):format(err, want))
    end
    assert.equal("", left, "a refused write left files behind")
  end

  it("npz: member names with '..', absolute, backslash, NUL or too long", function()
    local cases = {
      ["../evil"] = "member name '../evil.npy' contains '..'",
      ["a/../../evil"] = "member name 'a/../../evil.npy' contains '..'",
      ["/tmp/evil"] = "member name '/tmp/evil.npy' is not a safe relative path (absolute)",
      ["a\\b"] = "member name 'a\\b.npy' is not a safe relative path (a backslash)",
      ["a\0b"] = "member name 'a\\0b.npy' is not a safe relative path (a NUL byte)",
      [("e"):rep(70000)] = "is longer than 65535 bytes",
    }
    for name, why in pairs(cases) do
      assert_refused("npz", function(path) return lio.save(path, { ok = t, [name] = t }) end,
        "bad argument #2 to 'write_npz'", why)
    end
    -- names the reader takes still round-trip, sub-folders and dots included
    local names = { [""] = t, ["ok/sub"] = t, ["."] = t, [".."] = t, ["a.b"] = t }
    assert(lio.save(tmp .. "/fine.npz", names))
    local back = assert(lio.load(tmp .. "/fine.npz"))
    for k in pairs(names) do assert.is_true(back[k]:equal(t), k) end
  end)

  it("pt: archive names with '/', '..', backslash, NUL, empty or too long", function()
    local cases = {
      [".."] = "member name '../data.pkl' contains '..'",
      ["a/b"] = "archive name 'a/b' is not a plain folder name",
      [""] = "archive name is empty",
      ["x\0y"] = "member name 'x\\0y/data.pkl' is not a safe relative path (a NUL byte)",
      ["a\\b"] = "is not a safe relative path (a backslash)",
      [("n"):rep(255)] = "is longer than 254 bytes",
    }
    for name, why in pairs(cases) do
      assert_refused("pt", function(path) return lio.save(path, { w = t }, { name = name }) end,
        "bad argument #3 to 'save_pt'", why)
    end
    for _, name in ipairs { ".", ("n"):rep(254), "model-1.v2" } do
      assert(lio.save(tmp .. "/fine.pt", { w = t }, { name = name }))
      assert.is_true(assert(lio.load(tmp .. "/fine.pt")).w:equal(t), name)
    end
  end)

  it("safetensors: the reserved __metadata__ key and invalid UTF-8", function()
    assert_refused("safetensors", function(path) return lio.save(path, { __metadata__ = t }) end,
      "bad argument #2 to 'write_safetensors'", "tensor name '__metadata__' is the format's key")
    assert_refused("safetensors", function(path) return lio.save(path, { ["\xff"] = t }) end,
      "bad argument #2 to 'write_safetensors'", "not valid UTF-8")
    local names = { [""] = t, ["a\0b"] = t, ["é/..\\x"] = t }
    assert(lio.save(tmp .. "/fine.safetensors", names))
    local back = assert(lio.load(tmp .. "/fine.safetensors"))
    for k in pairs(names) do assert.is_true(back[k]:equal(t), k) end
  end)
end)

-- Files lunette writes, read by numpy and torch themselves.
describe("python peers read what lunette writes", function()
  local py = "/usr/bin/python3"
  local function has(mod)
    return os.execute(py .. " -c 'import " .. mod .. "' >/dev/null 2>&1") == true
  end

  -- Runs a python snippet that prints a Lua table constructor; returns it.
  local function python(code)
    local f = io.open(tmp .. "/peer.py", "w")
    f:write(code)
    f:close()
    local p = io.popen(py .. " '" .. tmp .. "/peer.py' 2>&1")
    local out = p:read("a")
    p:close()
    local chunk = load("return " .. out)
    assert(chunk, "python said: " .. out)
    return chunk()
  end

  it("numpy.load reads .npy and .npz", function()
    if not has("numpy") then pending("skipped: /usr/bin/python3 has no numpy") return end
    local a = lt.tensor({{1.5, -2}, {3, 4}})
    assert(lio.write_npy(tmp .. "/p.npy", a))
    assert(lio.write_npz(tmp .. "/p.npz", {a = a, i = lt.arange(5), m = lt.tensor({true, false})}, {compress = true}))
    assert(lio.write_npz(tmp .. "/q.npz", {h = lt.tensor({0.5, 2}, "float16"), u = lt.tensor({7}, "uint8")}))
    local r = python(([==[
import numpy as np
a = np.load('%s/p.npy'); z = np.load('%s/p.npz'); q = np.load('%s/q.npz')
def lua(x): return '{' + ','.join(repr(float(v)) for v in x.reshape(-1)) + '}'
print('{a=%%s, dt="%%s", zi=%%s, zm=%%s, zidt="%%s", h=%%s, hdt="%%s", u=%%s}' %% (lua(a), a.dtype, lua(z['i']), lua(z['m']), z['i'].dtype, lua(q['h']), q['h'].dtype, lua(q['u'])))
]==]):format(tmp, tmp, tmp))
    assert.same({1.5, -2, 3, 4}, r.a)
    assert.equal("float32", r.dt)
    assert.same({0, 1, 2, 3, 4}, r.zi)
    assert.equal("int64", r.zidt)
    assert.same({1, 0}, r.zm)
    assert.same({0.5, 2}, r.h)
    assert.equal("float16", r.hdt)
    assert.same({7}, r.u)
  end)

  it("torch.load reads checkpoints with shared storages and views", function()
    if not has("torch") then pending("skipped: /usr/bin/python3 has no torch") return end
    local w = lt.arange(12):reshape(3, 4):float()
    assert(lio.save_pt(tmp .. "/p.pt", {state_dict = {w = w, wt = w:t(), col = w:select(2, 2),
                                                      bf = lt.tensor({1, 2}, "bfloat16"), m = lt.tensor({true})},
                                        config = {d = 3, name = "x", l = {1, lio.null}}}))
    local r = python(([==[
import torch
c = torch.load('%s/p.pt')
sd = c['state_dict']
same = sd['w'].storage().data_ptr() == sd['wt'].storage().data_ptr() == sd['col'].storage().data_ptr()
def lua(x): return '{' + ','.join(repr(float(v)) for v in x.reshape(-1)) + '}'
print('{wt=%%s, col=%%s, stride={%%d,%%d}, same=%%s, bf="%%s", m="%%s", d=%%d, name="%%s", none=%%s}' %% (
  lua(sd['wt'].contiguous()), lua(sd['col']), sd['wt'].stride()[0], sd['wt'].stride()[1], str(same).lower(),
  sd['bf'].dtype, sd['m'].dtype, c['config']['d'], c['config']['name'], str(c['config']['l'][1] is None).lower()))
]==]):format(tmp))
    assert.same(flat(w:t()), r.wt)
    assert.same({1, 5, 9}, r.col)
    assert.same({1, 4}, r.stride)
    assert.is_true(r.same)
    assert.equal("torch.bfloat16", r.bf)
    assert.equal("torch.bool", r.m)
    assert.equal(3, r.d)
    assert.equal("x", r.name)
    assert.is_true(r.none)
  end)

  it("Python's zlib and a reference unfilter decode the PNGs lunette writes", function()
    if not has("zlib") then pending("skipped: /usr/bin/python3 has no zlib") return end
    -- random bytes do not compress: over 1 MiB of IDAT, so the stream spans several chunks
    local noise = (lt.random.Generator(4):rand(600, 600, 3) * 256):floor():clamp(0, 255):to("uint8")
    local ga = lt.tensor.new({{{0, 255}, {9, 128}, {200, 0}}, {{255, 1}, {7, 7}, {64, 32}}}, "uint8")
    local row = lt.tensor.new({{{1, 2, 3}, {250, 251, 252}, {1, 2, 3}}}, "uint8")
    assert(lio.write_png(tmp .. "/noise.png", noise))
    assert(lio.write_png(tmp .. "/ga.png", ga))
    assert(lio.write_png(tmp .. "/row.png", row))
    local r = python(([==[
import struct, zlib
def decode(path):
    b = open(path, 'rb').read()
    assert b[:8] == b'\x89PNG\r\n\x1a\n'
    pos, chunks, idat = 8, [], b''
    while pos < len(b):
        n, = struct.unpack('>I', b[pos:pos + 4]); kind = b[pos + 4:pos + 8]; data = b[pos + 8:pos + 8 + n]
        assert struct.unpack('>I', b[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(kind + data)
        chunks.append(kind.decode()); pos += 12 + n
        if kind == b'IHDR': w, h, depth, color = struct.unpack('>IIBB', data[:10])
        if kind == b'IDAT': idat += data
    raw = zlib.decompress(idat)
    bpp = {0: 1, 4: 2, 2: 3, 6: 4}[color]; rb = w * bpp; out = bytearray(); prev = bytearray(rb)
    for y in range(h):
        f = raw[y * (rb + 1)]; cur = bytearray(raw[y * (rb + 1) + 1:(y + 1) * (rb + 1)])
        for i in range(rb):
            a = cur[i - bpp] if i >= bpp else 0; up = prev[i]; c = prev[i - bpp] if i >= bpp else 0
            p = a + up - c; pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
            pred = [0, a, up, (a + up) // 2, a if pa <= pb and pa <= pc else up if pb <= pc else c][f]
            cur[i] = (cur[i] + pred) & 255
        out += cur; prev = cur
    return '{w=%%d, h=%%d, depth=%%d, color=%%d, chunks="%%s", sum=%%d, wsum=%%d, first={%%s}}' %% (
        w, h, depth, color, ' '.join(chunks), sum(out), sum(v * (i %% 251) for i, v in enumerate(out)),
        ','.join(str(v) for v in out[:18]))
print('{' + ','.join(decode('%s/' + n + '.png') for n in ('noise', 'ga', 'row')) + '}')
]==]):format(tmp))
    local function sums(t)
      local v = flat(t)
      local s, ws = 0, 0
      for i, x in ipairs(v) do
        s = s + x
        ws = ws + x * ((i - 1) % 251)
      end
      return s, ws, {table.unpack(v, 1, math.min(18, #v))}
    end
    for i, case in ipairs {{noise, 2}, {ga, 4}, {row, 2}} do
      local img, color = case[1], case[2]
      local got = r[i]
      assert.same({img:size(1), img:size(2), 8, color}, {got.h, got.w, got.depth, got.color})
      local s, ws, first = sums(img)
      assert.equal(s, got.sum)
      assert.equal(ws, got.wsum)
      assert.same(first, got.first)
    end
    local rest, idats = r[1].chunks:gsub(" IDAT", "")
    assert.equal("IHDR IEND", rest)
    assert.is_true(idats >= 2, r[1].chunks)
    assert.equal("IHDR IDAT IEND", r[2].chunks)
  end)

  it("safetensors written by lunette parse with Python's json and numpy", function()
    if not has("numpy") then pending("skipped: /usr/bin/python3 has no numpy") return end
    assert(lio.write_safetensors(tmp .. "/p.safetensors", {a = lt.tensor({1.5, 2}), b = lt.tensor({3}, "int32")}, {k = "v"}))
    local r = python(([==[
import json, struct, numpy as np
b = open('%s/p.safetensors', 'rb').read()
n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n]); base = 8 + n
a = np.frombuffer(b[base + h['a']['data_offsets'][0]: base + h['a']['data_offsets'][1]], dtype='<f4')
print('{a={%%s}, k="%%s", exact=%%s}' %% (','.join(repr(float(v)) for v in a), h['__metadata__']['k'], str(base + max(v['data_offsets'][1] for k, v in h.items() if k != '__metadata__') == len(b)).lower()))
]==]):format(tmp))
    assert.same({1.5, 2}, r.a)
    assert.equal("v", r.k)
    assert.is_true(r.exact)
  end)
end)

describe("io.makedirs", function()
  it("creates missing parents and accepts an existing directory", function()
    local root = os.tmpname()
    os.remove(root)
    assert.is_true(lio.makedirs(root .. "/a/b/"))
    assert.is_true(lio.makedirs(root .. "/a/b"))
    local f = assert(io.open(root .. "/a/b/file", "w"))
    f:close()
    local ok, err = lio.makedirs(root .. "/a/b/file/c")
    assert.is_nil(ok)
    assert.are.equal(root .. "/a/b/file exists and is not a directory", err)
    assert.is_nil((lio.makedirs("")))
    os.remove(root .. "/a/b/file"); os.remove(root .. "/a/b"); os.remove(root .. "/a"); os.remove(root)
  end)
end)

-- write_safetensors kept one stack slot per tensor but reserved slots for at most 100,000:
-- 200,000 tensors overflowed Lua's stack (a crash).
describe("write_safetensors with very many tensors", function()
  local lt = require "lunette"
  it("writes 201,000 tensors, and refuses more than 400,000 with a message", function()
    local path = os.tmpname() .. ".safetensors"
    local t, x = {}, lt.zeros(1)
    for i = 1, 201000 do t["t" .. i] = x end
    assert.is_true(lt.io.save(path, t))
    local n = 0
    for _ in pairs(lt.io.load(path)) do n = n + 1 end
    assert.equal(201000, n)
    os.remove(path)
    for i = 201001, 400001 do t["t" .. i] = x end
    assert.has_error(function() lt.io.save(path, t) end)
    local ok, err = pcall(lt.io.save, path, t)
    assert.matches("400001 tensors, at most 400000 per file", err)
    assert.is_nil(io.open(path))
  end)
end)
