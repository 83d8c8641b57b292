-- io_arrow_spec.lua: read_arrow/open_arrow against files an independent writer made (apache-arrow
-- JS, with the zstd and lz4 tools as its codecs: scripts/fixtures/arrow.sh), write_arrow read
-- back by apache-arrow, round trips, then hostile files built here from valid ones, each of
-- which must give nil, "path: reason".
local lt = require "lunette"
local lio = lt.io
local T = lt.tensor

local DIR = "tests/fixtures/arrow/"
local EXP = dofile(DIR .. "expected.lua")
local BACK = dofile(DIR .. "lunette_readback.lua")
local N = #EXP.id

local FILES = {
  { "plain.arrow", false }, -- file format (Feather v2), uncompressed
  { "plain.arrows", true }, -- stream format
  { "lz4.arrow", false },   -- LZ4_FRAME bodies (the lz4 tool's frames)
  { "zstd.arrow", false },  -- ZSTD bodies (the zstd tool's frames)
}

local function flat(t) return t:numel() == 0 and {} or t:contiguous():reshape(t:numel()):totable() end

local function slurp(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- Text columns as an array of strings with false for a null, as expected.lua writes them.
local function texts(v)
  local out = {}
  if v.codes then
    assert.equal("int64", v.codes:dtype())
    for i, c in ipairs(flat(v.codes)) do out[i] = c ~= 0 and v.levels[c] end
  else
    for i = 1, #v do out[i] = v[i] ~= lio.null and v[i] end
  end
  return out
end

-- Numbers with NaN where the expected value is false (a null).
local function numbers(t, e, what)
  local got = flat(t)
  assert.equal(#e, #got, what .. " count")
  for i, v in ipairs(e) do
    if v == false then
      assert.is_true(got[i] ~= got[i], what .. " element " .. i .. " should be NaN")
    else
      assert.equal(v, got[i], what .. " element " .. i)
    end
  end
end

-- Checks every column of rows [a, b] of the apache-arrow fixture.
local function check_all(d, a, b)
  local function sub(col) return table.move(EXP[col], a, b, 1, {}) end
  local dtypes = { id = "int64", i8 = "int32", u16 = "int32", u32 = "int64", i32 = "int32",
                   f16 = "float16", f32 = "float32", f64 = "float64", opt_i32 = "float64",
                   ts = "int64", day = "int32" }
  for col, dt in pairs(dtypes) do
    assert.equal(dt, d[col]:dtype(), col)
    numbers(d[col], sub(col), col)
  end
  assert.equal("bool", d.flag:dtype())
  assert.same(sub "flag", flat(d.flag))
  assert.same(sub "name", texts(d.name))
  assert.same(sub "big", texts(d.big))
  assert.same(sub "bin", texts(d.bin))
  assert.same(sub "label", texts(d.label))
  -- FixedSizeList<float32>[4] and a List<float32> whose rows all hold 3: 2-D tensors
  for col, w in pairs { emb = 4, vec = 3 } do
    assert.equal("float32", d[col]:dtype())
    assert.same({ b - a + 1, w }, d[col]:size())
    local e = {}
    for i = a, b do for _, x in ipairs(EXP[col][i]) do e[#e + 1] = x end end
    numbers(d[col], e, col)
  end
  -- ragged lists: a table of rows, a null list an empty row
  assert.equal(b - a + 1, #d.ragged)
  for i = a, b do
    local r = d.ragged[i - a + 1]
    assert.equal("float64", r:dtype())
    assert.same(EXP.ragged[i] or {}, flat(r), "ragged row " .. i)
    assert.same(EXP.words[i] or {}, d.words[i - a + 1], "words row " .. i)
  end
  -- struct fields flattened; a null struct makes both fields null (y then float64 with NaN)
  local x, y = {}, {}
  for i = a, b do
    local p = EXP.pt[i]
    x[#x + 1] = p and p.x
    y[#y + 1] = p and p.y
  end
  numbers(d["pt.x"], x, "pt.x")
  numbers(d["pt.y"], y, "pt.y")
end

describe("read_arrow", function()
  for _, f in ipairs(FILES) do
    it("reads apache-arrow's " .. f[1] .. " as written", function()
      local path = DIR .. f[1]
      check_all(assert(lio.read_arrow(path)), 1, N)
      local a = assert(lio.open_arrow(path))
      assert.equal(N, a.num_rows)
      assert.same(EXP.batches, a.batches)
      assert.equal(f[2], a.stream)
      assert.equal("label", a.columns[14])
      assert.is_true(a.schema[14].dictionary)
      assert.is_true(a.schema[15].list)
      assert.equal("float32", a.schema[15].type)
      assert.same({ "pt.x", "pt.y" }, { a.columns[19], a.columns[20] })
    end)
  end

  it("reads a row range across batches, and picked columns only", function()
    for _, f in ipairs(FILES) do
      local d = assert(lio.read_arrow(DIR .. f[1], { rows = { 14, 35 } }))
      check_all(d, 14, 35)
      d = assert(lio.read_arrow(DIR .. f[1], { rows = 5, columns = { "label", "emb" } }))
      assert.same(table.move(EXP.label, 1, 5, 1, {}), texts(d.label))
      assert.same({ 5, 4 }, d.emb:size())
      assert.is_nil(d.id)
      d = assert(lio.read_arrow(DIR .. f[1], { rows = 0, columns = { "id", "name" } }))
      assert.same({ 0 }, d.id:size())
      assert.same({}, d.name)
    end
  end)

  it("appends a delta dictionary to the levels", function()
    -- batch 1 carries the dictionary {cat, dog}; batch 2 a delta {bird}
    local a = assert(lio.open_arrow(DIR .. "plain.arrow"))
    local b1 = assert(a:read_batch(1, { columns = { "label" } }))
    assert.same({ "cat", "dog", "bird" }, b1.label.levels)
    local d = assert(lio.read_arrow(DIR .. "plain.arrows", { columns = { "label" } }))
    assert.same({ "cat", "dog", "bird" }, d.label.levels)
    assert.same(EXP.label, texts(d.label))
  end)

  it("streams record batches with open_arrow", function()
    local a = assert(lio.open_arrow(DIR .. "zstd.arrow"))
    local start = 1
    for b = 1, a.num_batches do
      local d = assert(a:read_batch(b, { columns = { "id", "emb" } }))
      local n = a.batches[b]
      numbers(d.id, table.move(EXP.id, start, start + n - 1, 1, {}), "id")
      assert.same({ n, 4 }, d.emb:size())
      assert.is_nil(d.name)
      start = start + n
    end
    assert.has_error(function() a:read_batch(4) end)
    assert.error_matches(function() a:read_batch(1, { columns = { "nope" } }) end,
      "no column 'nope'")
    assert.error_matches(function() a:read_batch(1, { colums = { "id" } }) end, "read_batch")
  end)

  it("names a column of a type it does not read, and reads the others", function()
    local p = DIR .. "unsupported.arrow"
    local d, err = lio.read_arrow(p)
    assert.is_nil(d)
    assert.equal(p .. ": column 'u64': uint64 is not supported (lunette has no uint64)", err)
    d, err = lio.read_arrow(p, { columns = { "nested" } })
    assert.is_nil(d)
    assert.matches("column 'nested': lists of lists", err)
    assert.same({ 7, 8, 9 }, flat(assert(lio.read_arrow(p, { columns = { "ok" } })).ok))
    local a = assert(lio.open_arrow(p))
    assert.matches("uint64", a.schema[1].unsupported)
    assert.is_nil(a.schema[3].unsupported)
  end)

  it("refuses unknown options, columns and row ranges at the caller's line", function()
    local p = DIR .. "plain.arrow"
    assert.error_matches(function() lio.read_arrow(p, { colums = { "id" } }) end, "read_arrow")
    assert.error_matches(function() lio.read_arrow(p, { columns = { "idd" } }) end,
      "bad argument #2 to 'read_arrow' %(columns%[1%]: no column 'idd'")
    assert.error_matches(function() lio.read_arrow(p, { rows = "all" }) end, "rows must be")
    assert.error_matches(function() lio.open_arrow(p, { max_inflat = 1 }) end, "open_arrow")
    assert.error_matches(function() lio.open_arrow(42) end, "string expected")
  end)

  it("is what io.load gives for .arrow, .feather, .ipc and .arrows names, or ARROW1 bytes", function()
    local d = assert(lio.load(DIR .. "plain.arrow", { columns = { "id" } }))
    numbers(d.id, EXP.id, "id")
    local base = os.tmpname()
    for _, ext in ipairs { ".feather", ".ipc", "" } do
      local f = assert(io.open(base .. ext, "wb"))
      f:write(slurp(DIR .. "plain.arrow"))
      f:close()
      d = assert(lio.load(base .. ext, { columns = { "i32" } }))
      numbers(d.i32, EXP.i32, "i32 " .. ext)
      os.remove(base .. ext)
    end
    local f = assert(io.open(base, "wb"))
    f:write(slurp(DIR .. "plain.arrows"))
    f:close()
    d = assert(lio.load(base))
    assert.same(EXP.name, texts(d.name))
    os.remove(base)
  end)

  it("fails cleanly at every allocation (fault injection)", function()
    -- the Nth allocation fails: a message naming it, then success once N passes them all
    for _, f in ipairs { "plain.arrows", "zstd.arrow" } do
      local k, d, err = 0, nil, nil
      repeat
        d, err = lio.read_arrow(DIR .. f, { fail_at = k, columns = { "label", "ragged", "pt.y" } })
        if not d then assert.matches("injected failure at allocation " .. k, err) end
        k = k + 1
      until d or k > 5000
      assert.is_table(d)
      assert.is_true(k > 20, f .. ": only " .. k .. " allocations")
    end
  end)

  it("gives nil, message for a missing file", function()
    local d, err = lio.read_arrow(DIR .. "none.arrow")
    assert.is_nil(d)
    assert.matches("^tests/fixtures/arrow/none.arrow: ", err)
  end)
end)

---------------------------------------------------------------------------
-- the writer
---------------------------------------------------------------------------

local function tmpname(ext)
  local p = os.tmpname()
  os.remove(p)
  return p .. (ext or ".arrow")
end

-- A value as the readback file writes it: false for a null, "NaN" for NaN.
local function as_seen(v)
  if v == lio.null then return false end
  if type(v) == "number" and v ~= v then return "NaN" end
  return v
end

local function same_column(expect, got, what)
  assert.equal(#expect, #got, what .. " rows")
  for i, v in ipairs(expect) do
    if type(v) == "table" then
      same_column(v, got[i], what .. " row " .. i)
    else
      assert.equal(as_seen(v), got[i], what .. " row " .. i)
    end
  end
end

local LUNETTE = { { "lunette_none.arrow", "none" }, { "lunette_lz4.arrow", "lz4" },
                  { "lunette_zstd.arrow", "zstd" }, { "lunette_stream.arrows", "none", true } }

describe("write_arrow read by apache-arrow", function()
  local cols, order, plain = dofile(DIR .. "lunette_cols.lua")(lt)

  for _, f in ipairs(LUNETTE) do
    it(f[1] .. ": apache-arrow reads the values lunette was given", function()
      local seen = BACK[f[1]]
      assert.same({ 16, 16, 8 }, seen.batches)
      assert.same({ id = "Int64", x = "Float64", emb = "FixedSizeList[8]<Float32>", name = "Utf8",
                    uid = "Utf8", flag = "Bool", small = "Int32", label = "Dictionary<Int32, Utf8>",
                    half = "Float16", byte = "Uint8" }, seen.types)
      for _, c in ipairs(order) do same_column(plain[c], seen.values[c], f[1] .. " " .. c) end
    end)

    it(f[1] .. ": the writer still produces these bytes", function()
      local p = tmpname()
      assert(lio.write_arrow(p, cols, { columns = order, compression = f[2], batch_rows = 16,
                                        stream = f[3] or false }))
      assert.equal(slurp(DIR .. f[1]), slurp(p))
      os.remove(p)
    end)
  end
end)

describe("write_arrow round trips through read_arrow", function()
  it("every column kind, every codec, both formats", function()
    local cols, _, plain = dofile(DIR .. "lunette_cols.lua")(lt)
    for _, comp in ipairs { "none", "lz4", "zstd" } do
      for _, stream in ipairs { false, true } do
        local p = tmpname()
        assert(lio.write_arrow(p, cols, { compression = comp, batch_rows = 7, stream = stream }))
        local a = assert(lio.open_arrow(p))
        assert.equal(stream, a.stream)
        assert.same({ 7, 7, 7, 7, 7, 5 }, a.batches)
        local back = assert(lio.read_arrow(p))
        assert.same(plain.id, back.id:totable())
        assert.equal("int32", back.small:dtype())
        assert.same(plain.small, back.small:totable())
        assert.equal("float16", back.half:dtype())
        assert.same(plain.half, back.half:float():totable())
        assert.equal("uint8", back.byte:dtype())
        assert.same(plain.byte, back.byte:totable())
        assert.same(plain.flag, back.flag:long():totable())
        assert.same(plain.emb, back.emb:totable())
        numbers(back.x, (function()
          local e = {}
          for i, v in ipairs(plain.x) do e[i] = v == v and v end
          return e
        end)(), "x")
        assert.same(plain.name, back.name)
        assert.same(plain.uid, back.uid)
        assert.same({ "cat", "dog", "bird" }, back.label.levels)
        assert.same(cols.label.codes:totable(), back.label.codes:totable())
        os.remove(p)
      end
    end
  end)

  it("io.save writes .arrow/.feather files and .arrows streams", function()
    local X = T.arange(0, 15):reshape(5, 3):float()
    local p = tmpname(".feather")
    assert(lio.save(p, { X = X, w = { "a", "b", "c", "d", "e" } }, { compression = "lz4" }))
    local d = assert(lio.load(p))
    assert.same(X:totable(), d.X:totable())
    assert.same({ "a", "b", "c", "d", "e" }, d.w)
    os.remove(p)
    p = tmpname(".arrows")
    assert(lio.save(p, { X = X }))
    assert.is_true(assert(lio.open_arrow(p)).stream)
    os.remove(p)
    assert.error_matches(function() lio.save(p, { X = X }, { row_group_rows = 3 }) end, "save")
  end)

  it("checks its options and columns, and leaves no partial file", function()
    local p = tmpname()
    local ok = { x = T { 1, 2, 3 } }
    assert.error_matches(function() lio.write_arrow(p, ok, { compresion = "lz4" }) end, "write_arrow")
    assert.error_matches(function() lio.write_arrow(p, ok, { compression = "snappy" }) end,
      "compression must be")
    assert.error_matches(function() lio.write_arrow(p, ok, { batch_rows = 0 }) end, "batch_rows")
    assert.error_matches(function() lio.write_arrow(p, ok, { zstd_level = 30 }) end, "zstd_level")
    assert.error_matches(function() lio.write_arrow(p, ok, { stream = 1 }) end, "stream must be")
    assert.error_matches(function() lio.write_arrow(p, { x = T.zeros(2, 2, 2) }) end, "1%-d or 2%-d")
    assert.error_matches(function() lio.write_arrow(p, { x = { 1, 2 } }) end, "row 1 is a number")
    assert.error_matches(function() lio.write_arrow(p, { a = T.zeros(2), b = T.zeros(3) }) end,
      "has 3 rows")
    -- a code past the levels fails after the file was opened: nothing is left behind
    assert(lio.write_arrow(p, ok))
    local before = slurp(p)
    local r, err = lio.write_arrow(p, { c = { codes = T { 1, 5 }:long(), levels = { "a" } } })
    assert.is_nil(r)
    assert.matches("code 5 out of 0..1", err)
    assert.equal(before, slurp(p))
    os.remove(p)
    r = lio.write_arrow(p, { c = { codes = T { 1, 5 }:long(), levels = { "a" } } })
    assert.is_nil(r)
    assert.is_nil(io.open(p, "rb"))
  end)
end)

---------------------------------------------------------------------------
-- hostile files: valid files lunette writes, with one fault each
---------------------------------------------------------------------------

local tmp = os.tmpname()
local function read_bytes(bytes, opts)
  local f = assert(io.open(tmp, "wb"))
  f:write(bytes)
  f:close()
  return lio.read_arrow(tmp, opts)
end

-- The bytes of a small file lunette writes: x = {7, 8, 9} (int32) and more columns.
local function written(cols, opts)
  local p = tmpname()
  assert(lio.write_arrow(p, cols, opts))
  local s = slurp(p)
  os.remove(p)
  return s
end
local X3 = { x = T { 7, 8, 9 }:int() }

-- bytes with the one occurrence of `from` replaced by `to` (same length).
local function patch(bytes, from, to)
  local a, b = bytes:find(from, 1, true)
  assert(a, "pattern not found")
  assert(not bytes:find(from, b + 1, true), "pattern found twice")
  assert(#from == #to)
  return bytes:sub(1, a - 1) .. to .. bytes:sub(b + 1)
end

-- A stream holding one Schema message whose fields nest `depth` structs deep, each level's
-- children vector naming the next level `fanout` times (flatbuffers share tables, so a few
-- hundred bytes can describe a tree of fanout^depth fields).
local function nested_schema(depth, fanout)
  local out = {}
  local function len() local n = 0 for _, s in ipairs(out) do n = n + #s end return n end
  local function put(s) out[#out + 1] = s end
  local function align(k) while len() % k ~= 0 do put("\0") end end
  local p32 = function(v) return string.pack("<I4", v) end
  -- Message: root offset, vtable {version, header_type, header}, table
  put(p32(0)) -- patched: the root
  local patches = {}
  align(2)
  local vt = len()
  put(string.pack("<I2I2I2I2I2", 10, 12, 4, 6, 8))
  align(4)
  local msg = len()
  put(string.pack("<i4I2BBI4", msg - vt, 4, 1, 0, 0)) -- version V5, header_type Schema
  local hdr_slot = msg + 8
  -- Schema: vtable {endianness, fields}, table with the fields offset
  align(2)
  vt = len()
  put(string.pack("<I2I2I2I2", 8, 8, 0, 4))
  align(4)
  local schema = len()
  put(string.pack("<i4I4", schema - vt, 0))
  patches[#patches + 1] = { hdr_slot, schema }
  local fields_slot = schema + 4
  local vec = len()
  put(p32(1) .. p32(0))
  patches[#patches + 1] = { fields_slot, vec }
  local prev_slots = { vec + 4 }
  for level = 1, depth do
    local kids = level < depth and fanout or 0 -- the last level has no children
    -- Field: vtable {name, nullable, type_type, type, dictionary, children}
    align(2)
    vt = len()
    put(string.pack("<I2I2I2I2I2I2I2I2", 16, 16, 0, 0, 4, 8, 0, 12))
    align(4)
    local fld = len()
    put(string.pack("<i4BBBBI4I4", fld - vt, 13, 0, 0, 0, 0, 0)) -- type_type Struct_
    for _, s in ipairs(prev_slots) do patches[#patches + 1] = { s, fld } end
    -- the (empty) Struct_ type table: vtable {} then table
    align(2)
    local tvt = len()
    put(string.pack("<I2I2", 4, 4))
    local tt = len()
    put(string.pack("<i4", tt - tvt))
    patches[#patches + 1] = { fld + 8, tt }
    local cv = len()
    put(p32(kids))
    prev_slots = {}
    for k = 1, kids do
      prev_slots[k] = cv + 4 * k
      put(p32(0))
    end
    patches[#patches + 1] = { fld + 12, cv }
  end
  align(8)
  local meta = table.concat(out)
  local bytes = { string.byte(meta, 1, -1) }
  local function set(at, v)
    local q = p32(v)
    for i = 1, 4 do bytes[at + i] = q:byte(i) end
  end
  set(0, msg)
  for _, pt in ipairs(patches) do set(pt[1], pt[2] - pt[1]) end
  local chunks = {}
  for i = 1, #bytes, 4096 do
    chunks[#chunks + 1] = string.char(table.unpack(bytes, i, math.min(i + 4095, #bytes)))
  end
  meta = table.concat(chunks)
  return "\255\255\255\255" .. string.pack("<i4", #meta) .. meta .. "\255\255\255\255\0\0\0\0"
end

describe("read_arrow on hostile files", function()
  after_each(function() os.remove(tmp) end)

  local function refuses(bytes, pattern, opts)
    local d, err = read_bytes(bytes, opts)
    assert.is_nil(d)
    assert.is_string(err)
    assert.equal(tmp .. ": ", err:sub(1, #tmp + 2))
    if pattern then assert.matches(pattern, err) end
  end

  it("reads the baselines (so the cases below fail for their one fault)", function()
    assert.same({ 7, 8, 9 }, flat(assert(read_bytes(written(X3))).x))
    assert.same({ 7, 8, 9 }, flat(assert(read_bytes(written(X3, { stream = true }))).x))
    local d = assert(read_bytes(nested_schema(3, 2)))
    assert.same({}, d)
  end)

  it("refuses a truncated file and a footer cut short", function()
    local b = written(X3)
    refuses(b:sub(1, #b - 3), "no ARROW1 at the end")
    refuses(b:sub(1, 12), "too short")
    refuses("ARROW1", "too short")
    refuses("FEA1" .. ("\0"):rep(40), "Feather v1")
    refuses("PAR1" .. ("\0"):rep(40), "not an Arrow file or stream")
    local s = written(X3, { stream = true })
    refuses(s:sub(1, 100), "past the end of the file")
  end)

  it("refuses a metadata or footer length past the file", function()
    local s = written(X3, { stream = true })
    refuses(string.pack("<I4i4", 0xffffffff, 0x7fffffff) .. s:sub(9), "metadata length 2147483647")
    local b = written(X3)
    refuses(b:sub(1, #b - 10) .. string.pack("<i4", 0x7fffffff) .. "ARROW1", "footer length")
    refuses(b:sub(1, #b - 10) .. string.pack("<i4", -5) .. "ARROW1", "footer length")
  end)

  it("refuses flatbuffer offsets out of bounds", function()
    local s = written(X3, { stream = true })
    refuses(s:sub(1, 8) .. string.pack("<I4", 0x7fff0000) .. s:sub(13), "corrupt")
    -- the footer's root offset pointing past it
    local b = written(X3)
    local flen = string.unpack("<i4", b, #b - 9)
    local at = #b - 10 - flen
    refuses(b:sub(1, at) .. string.pack("<I4", 0xfffffff0) .. b:sub(at + 5), "corrupt footer")
  end)

  it("refuses fields nested too deep and a schema tree of shared tables", function()
    refuses(nested_schema(1000, 1), "nested more than 64 deep")
    refuses(nested_schema(20, 2), "more than 65536 fields")
  end)

  it("refuses buffer offsets and lengths past the body, and negative ones", function()
    local s = written(X3, { stream = true })
    local bufs = string.pack("<I4i8i8i8i8", 2, 0, 0, 0, 12)
    refuses(patch(s, bufs, string.pack("<I4i8i8i8i8", 2, 0, 0, 0, 1000)), "past the body")
    refuses(patch(s, bufs, string.pack("<I4i8i8i8i8", 2, 0, 0, 8, 12)), "past the body")
    refuses(patch(s, bufs, string.pack("<I4i8i8i8i8", 2, 0, 0, -8, 12)), "past the body")
    refuses(patch(s, bufs, string.pack("<I4i8i8i8i8", 2, 0, 0, 0, 4)), "values buffer holds 4 bytes")
    -- a negative node length, a null count over it, a negative row count
    local node = string.pack("<I4i8i8", 1, 3, 0)
    refuses(patch(s, node, string.pack("<I4i8i8", 1, -1, 0)), "field node length %-1")
    refuses(patch(s, node, string.pack("<I4i8i8", 1, 3, 4)), "null count 4")
    refuses(patch(s, node, string.pack("<I4i8i8", 1, 2, 0)), "2 values in a batch of 3 rows")
  end)

  it("refuses huge counts without allocating them", function()
    local s = written(X3, { stream = true })
    local rows = 1 << 40
    -- the record batch's length, then its nodes and buffers offsets (12 and 32 bytes on)
    local node = string.pack("<I4i8i8", 1, 3, 0)
    local huge = patch(s, node, string.pack("<I4i8i8", 1, rows, 0))
    huge = patch(huge, string.pack("<i8I4I4", 3, 12, 32), string.pack("<i8I4I4", rows, 12, 32))
    refuses(huge, "values buffer holds 12 bytes", { max_alloc = 1 << 20 })
  end)

  it("refuses offsets that go back or past their data", function()
    local s = written({ w = { "ab", "c", "def" } }, { stream = true })
    refuses(patch(s, string.pack("<i4i4i4i4", 0, 2, 3, 6), string.pack("<i4i4i4i4", 0, 4, 3, 6)),
      "offset 3 at 2 goes back")
    refuses(patch(s, string.pack("<i4i4i4i4", 0, 2, 3, 6), string.pack("<i4i4i4i4", 0, 2, 3, 60)),
      "past its data")
  end)

  it("refuses a dictionary index out of range", function()
    local s = written({ c = { codes = T { 1, 2, 1 }:long(), levels = { "a", "b" } } })
    refuses(patch(s, string.pack("<i4i4i4", 0, 1, 0), string.pack("<i4i4i4", 0, 7, 0)),
      "dictionary index 7 out of range 0..1")
    refuses(patch(s, string.pack("<i4i4i4", 0, 1, 0), string.pack("<i4i4i4", 0, -2, 0)),
      "dictionary index %-2 out of range")
  end)

  it("refuses a decompressed size that lies", function()
    local big = { x = T.zeros(1000):int() }
    for _, comp in ipairs { "zstd", "lz4" } do
      local s = written(big, { compression = comp })
      assert.same(flat(big.x), flat(assert(read_bytes(s)).x))
      -- the values buffer: 4000 bytes, compressed, its prefix the uncompressed size
      local prefix = string.pack("<i8", 4000)
      refuses(patch(s, prefix, string.pack("<i8", 4100)), "does not decompress to the 4100 bytes")
      refuses(patch(s, prefix, string.pack("<i8", 3000)), "values buffer holds")
      refuses(patch(s, prefix, string.pack("<i8", 1 << 40)), "over the 65536%-byte limit",
        { max_inflate = 65536 })
      refuses(patch(s, prefix, string.pack("<i8", -7)), "negative decompressed size")
    end
  end)

  it("refuses metadata older than V4", function()
    local s = written(X3, { stream = true })
    -- the Message's version field (V5 = 4) in the schema message
    refuses(patch(s:sub(1, 64), string.pack("<I2", 4) .. "\1", string.pack("<I2", 2) .. "\1") ..
      s:sub(65), "too old")
  end)
end)
