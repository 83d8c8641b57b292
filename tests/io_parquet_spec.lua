-- io_parquet_spec.lua: read_parquet/open_parquet against files independent writers made
-- (parquet-wasm, i.e. Apache Arrow's Rust writer, fed by apache-arrow JS; and hyparquet-writer;
-- scripts/fixtures/parquet.sh), every codec and encoding they use; then hostile files built
-- here byte by byte, each of which must give nil, "path: reason".
local lt = require "lunette"
local lio = lt.io
local T = lt.tensor

local DIR = "tests/fixtures/parquet/"
local EXP = dofile(DIR .. "arrow.lua")
local EXP_HY = dofile(DIR .. "hyparquet.lua")
local N = #EXP.id

-- file, row groups, what it covers (see scripts/fixtures/parquet.mjs)
local FILES = {
  { "plain_none_v1", 4 }, -- uncompressed, PLAIN, BYTE_STREAM_SPLIT, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY
  { "dict_snappy_v1", 3 }, -- SNAPPY, dictionary pages, RLE_DICTIONARY
  { "dict_gzip_v2", 1 }, -- GZIP, data pages v2, RLE booleans
  { "plain_zstd_v2", 4 }, -- ZSTD, v2, DELTA_BINARY_PACKED ints, DELTA_BYTE_ARRAY strings
  { "dict_zstd_v1", 1 },
  { "dict_lz4raw_v2", 2 }, -- LZ4_RAW
}

local function flat(t) return t:numel() == 0 and {} or t:contiguous():reshape(t:numel()):totable() end

-- Text columns arrive as string arrays or {codes, levels}: both become an array of strings with
-- false for a null, as the expected values write them.
local function texts(v)
  local out = {}
  if v.codes then
    assert.equal("int64", v.codes:dtype())
    for i, c in ipairs(flat(v.codes)) do
      if c == 0 then out[i] = false else out[i] = v.levels[c] end
    end
  else
    for i = 1, #v do
      if v[i] == lio.null then out[i] = false else out[i] = v[i] end
    end
    assert.equal(#v, #out)
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

-- Checks the columns of rows [a, b] of the arrow fixture.
local function check_arrow(d, a, b)
  local function sub(col) return table.move(EXP[col], a, b, 1, {}) end
  assert.equal("int64", d.id:dtype())
  numbers(d.id, sub "id", "id")
  assert.equal("int32", d.i32:dtype())
  numbers(d.i32, sub "i32", "i32")
  assert.equal("float32", d.f32:dtype())
  numbers(d.f32, sub "f32", "f32")
  assert.equal("float64", d.f64:dtype())
  numbers(d.f64, sub "f64", "f64")
  -- int32 with nulls becomes float64 with NaN
  assert.equal("float64", d.opt_i32:dtype())
  numbers(d.opt_i32, sub "opt_i32", "opt_i32")
  assert.equal("bool", d.flag:dtype())
  assert.same(sub "flag", flat(d.flag))
  assert.same(sub "name", texts(d.name))
  assert.same(sub "label", texts(d.label))
  -- list<float32> of equal lengths: a 2-D tensor
  assert.equal("float32", d.emb:dtype())
  assert.same({ b - a + 1, 4 }, d.emb:size())
  local e = {}
  for i = a, b do for _, x in ipairs(EXP.emb[i]) do e[#e + 1] = x end end
  numbers(d.emb, e, "emb")
  -- ragged list<float64>: a table of 1-D tensors, a null list an empty one
  assert.equal(b - a + 1, #d.ragged)
  for i = a, b do
    local r = d.ragged[i - a + 1]
    assert.equal("float64", r:dtype())
    assert.same(EXP.ragged[i] or {}, flat(r), "ragged row " .. i)
  end
end

describe("read_parquet", function()
  for _, f in ipairs(FILES) do
    it("reads " .. f[1] .. " as written", function()
      local path = DIR .. f[1] .. ".parquet"
      local d = assert(lio.read_parquet(path))
      check_arrow(d, 1, N)
      local p = assert(lio.open_parquet(path))
      assert.equal(N, p.num_rows)
      assert.equal(f[2], p.num_row_groups)
      assert.same({ "id", "i32", "f32", "f64", "opt_i32", "flag", "name", "label", "emb", "ragged" },
        p.columns)
      assert.is_true(p.schema[9].list)
      assert.equal("float", p.schema[9].type)
    end)
  end

  it("reads a row range across row groups, and picked columns only", function()
    for _, f in ipairs(FILES) do
      local path = DIR .. f[1] .. ".parquet"
      local d = assert(lio.read_parquet(path, { rows = { 14, 43 } }))
      check_arrow(d, 14, 43)
      d = assert(lio.read_parquet(path, { rows = 5, columns = { "label", "emb" } }))
      assert.same(table.move(EXP.label, 1, 5, 1, {}), texts(d.label))
      assert.same({ 5, 4 }, d.emb:size())
      assert.is_nil(d.id)
    end
  end)

  it("merges each row group's dictionary into one set of levels", function()
    -- dict_snappy_v1 has 3 row groups, each with its own dictionary
    local d = assert(lio.read_parquet(DIR .. "dict_snappy_v1.parquet", { columns = { "label" } }))
    assert.same({ "cat", "dog", "bird" }, d.label.levels)
    assert.same(EXP.label, texts(d.label))
  end)

  it("streams row groups with open_parquet", function()
    local p = assert(lio.open_parquet(DIR .. "plain_none_v1.parquet"))
    assert.same({ 16, 16, 16, 2 }, p.row_groups)
    local start = 1
    for g = 1, p.num_row_groups do
      local d = assert(p:read_row_group(g, { columns = { "id", "emb" } }))
      local n = p.row_groups[g]
      numbers(d.id, table.move(EXP.id, start, start + n - 1, 1, {}), "id")
      assert.same({ n, 4 }, d.emb:size())
      start = start + n
    end
    assert.has_error(function() p:read_row_group(5) end)
    assert.has_error(function() p:read_row_group(1, { columns = { "nope" } }) end)
  end)

  it("reads hyparquet-writer's file", function()
    local d = assert(lio.read_parquet(DIR .. "hyparquet.parquet"))
    numbers(d.x, EXP_HY.x, "x")
    assert.equal("int32", d.k:dtype())
    numbers(d.k, EXP_HY.k, "k")
    assert.same(EXP_HY.word, texts(d.word))
  end)

  it("refuses unknown options and columns at the caller's line", function()
    local ok, err = pcall(lio.read_parquet, DIR .. "dict_zstd_v1.parquet", { colums = { "id" } })
    assert.is_false(ok)
    assert.matches("read_parquet", err)
    ok, err = pcall(lio.read_parquet, DIR .. "dict_zstd_v1.parquet", { columns = { "idd" } })
    assert.is_false(ok)
    assert.matches("bad argument #2 to 'read_parquet' %(columns%[1%]: no column 'idd'", err)
    ok, err = pcall(lio.read_parquet, DIR .. "dict_zstd_v1.parquet", { rows = "all" })
    assert.is_false(ok)
    assert.matches("rows must be", err)
  end)

  it("is what io.load gives for a .parquet name or PAR1 bytes", function()
    local d = assert(lio.load(DIR .. "hyparquet.parquet", { columns = { "k" } }))
    numbers(d.k, EXP_HY.k, "k")
    assert.is_nil(d.x)
    local tmp = os.tmpname()
    local src = assert(io.open(DIR .. "hyparquet.parquet", "rb"))
    local f = assert(io.open(tmp, "wb"))
    f:write(src:read("a"))
    f:close()
    src:close()
    d = assert(lio.load(tmp))
    numbers(d.x, EXP_HY.x, "x")
    os.remove(tmp)
  end)

  it("gives nil, message for a missing file", function()
    local d, err = lio.read_parquet("tests/fixtures/parquet/none.parquet")
    assert.is_nil(d)
    assert.matches("^tests/fixtures/parquet/none.parquet: ", err)
  end)
end)

---------------------------------------------------------------------------
-- hostile files, built here: a tiny Thrift compact encoder and Parquet writer
---------------------------------------------------------------------------

local function varint(n)
  local out = {}
  repeat
    local b = n & 0x7f
    n = n >> 7
    out[#out + 1] = string.char(n ~= 0 and (b | 0x80) or b)
  until n == 0
  return table.concat(out)
end
local function zz(n) return varint(n >= 0 and 2 * n or -2 * n - 1) end
local TYPES = { i32 = 5, i64 = 6, bin = 8, list = 9, struct = 12 }

-- A struct from {id, kind, value} fields (kind: i32, i64, bin, struct, list = {etype, items}).
local function struct(fields)
  local out, last = {}, 0
  for _, f in ipairs(fields) do
    local id, kind, v = f[1], f[2], f[3]
    local t = TYPES[kind]
    out[#out + 1] = (id > last and id - last <= 15) and string.char((id - last) * 16 + t)
      or (string.char(t) .. zz(id))
    last = id
    if kind == "i32" or kind == "i64" then
      out[#out + 1] = zz(v)
    elseif kind == "bin" then
      out[#out + 1] = varint(#v) .. v
    elseif kind == "struct" then
      out[#out + 1] = struct(v)
    else
      local et, items = TYPES[v[1]], v[2]
      out[#out + 1] = #items < 15 and string.char(#items * 16 + et) or (string.char(0xf0 + et) .. varint(#items))
      for _, x in ipairs(items) do
        out[#out + 1] = v[1] == "struct" and struct(x) or v[1] == "bin" and (varint(#x) .. x) or zz(x)
      end
    end
  end
  return table.concat(out) .. "\0"
end

local function le32(n) return string.pack("<I4", n) end

-- A page: header fields (o.type, o.usize, o.csize, o.nvals, o.enc) and its body.
local function page(o)
  local sub = { { 1, "i32", o.nvals }, { 2, "i32", o.enc or 0 } }
  if o.type ~= 2 then
    sub[3] = { 3, "i32", 3 }
    sub[4] = { 4, "i32", 3 }
  end
  return struct {
    { 1, "i32", o.type or 0 }, { 2, "i32", o.usize or #o.body }, { 3, "i32", o.csize or #o.body },
    { o.type == 2 and 7 or 5, "struct", sub },
  } .. o.body
end

-- A one-column, one-row-group file: o.ptype (physical type), o.rep (0 required, 1 optional),
-- o.rows, o.pages (bytes), o.codec, o.num_values, o.dict_off (true when pages start with a
-- dictionary); o.meta replaces the footer, o.mlen its length field.
local function pq_file(o)
  local chunk = table.concat(o.pages)
  local meta = o.meta or struct {
    { 1, "i32", 1 },
    { 2, "list", { "struct", o.schema or {
      { { 4, "bin", "schema" }, { 5, "i32", 1 } },
      { { 1, "i32", o.ptype or 1 }, { 3, "i32", o.rep or 0 }, { 4, "bin", "x" } },
    } } },
    { 3, "i64", o.rows },
    { 4, "list", { "struct", { {
      { 1, "list", { "struct", { { { 2, "i64", 4 }, { 3, "struct", {
        { 1, "i32", o.ptype or 1 }, { 2, "list", { "i32", { 0 } } }, { 3, "list", { "bin", { "x" } } },
        { 4, "i32", o.codec or 0 }, { 5, "i64", o.num_values or o.rows }, { 6, "i64", #chunk },
        { 7, "i64", o.chunk_size or #chunk }, { 9, "i64", 4 }, o.dict and { 11, "i64", 4 } or nil,
      } } } } } },
      { 2, "i64", #chunk }, { 3, "i64", o.rows },
    } } } },
  }
  return "PAR1" .. chunk .. meta .. le32(o.mlen or #meta) .. "PAR1"
end

local tmp = os.tmpname()
local function read_bytes(bytes, opts)
  local f = assert(io.open(tmp, "wb"))
  f:write(bytes)
  f:close()
  return lio.read_parquet(tmp, opts)
end
local function int32s(...) local t = {} for i, v in ipairs { ... } do t[i] = string.pack("<i4", v) end return table.concat(t) end
-- An RLE run of `count` copies of value (bit width <= 8).
local function run(count, value) return varint(count << 1) .. string.char(value) end

-- A valid file to start from: x = {7, 8, 9}.
local function good(over)
  local o = { rows = 3, pages = { page { nvals = 3, body = int32s(7, 8, 9) } } }
  for k, v in pairs(over or {}) do o[k] = v end
  return pq_file(o)
end

describe("read_parquet on hostile files", function()
  after_each(function() os.remove(tmp) end)

  local function refuses(bytes, pattern, opts)
    local d, err = read_bytes(bytes, opts)
    assert.is_nil(d)
    assert.is_string(err)
    assert.equal(tmp .. ": ", err:sub(1, #tmp + 2))
    if pattern then assert.matches(pattern, err) end
  end

  it("reads the hand-built baseline (so the cases below fail for their one fault)", function()
    local d = assert(read_bytes(good()))
    assert.same({ 7, 8, 9 }, flat(d.x))
    -- an optional column: definition levels then the non-null values
    local levels = run(1, 1) .. run(1, 0) .. run(1, 1)
    d = assert(read_bytes(good { rep = 1, pages = {
      page { nvals = 3, body = le32(#levels) .. levels .. int32s(7, 9) } } }))
    local x = flat(d.x)
    assert.same({ 7, 9 }, { x[1], x[3] })
    assert.is_true(x[2] ~= x[2])
    -- a dictionary page, then indices (bit width 1: 1, 0, 1)
    d = assert(read_bytes(good { dict = true, pages = {
      page { type = 2, nvals = 2, body = int32s(5, 6) },
      page { nvals = 3, enc = 8, body = "\1" .. run(1, 1) .. run(1, 0) .. run(1, 1) } } }))
    assert.same({ 6, 5, 6 }, flat(d.x))
  end)

  it("widens UINT_32 to int64, with or without nulls", function()
    local schema = {
      { { 4, "bin", "schema" }, { 5, "i32", 1 } },
      { { 1, "i32", 1 }, { 3, "i32", 0 }, { 4, "bin", "x" }, { 6, "i32", 22 } },
    }
    local d = assert(read_bytes(good { schema = schema,
      pages = { page { nvals = 3, body = int32s(7, -1, 9) } } }))
    assert.equal("int64", d.x:dtype())
    assert.same({ 7, 4294967295, 9 }, flat(d.x))
  end)

  it("reads list<float> levels: null elements as NaN, empty lists as empty rows", function()
    -- optional group x (LIST) { repeated group list { optional float element } }
    local schema = {
      { { 4, "bin", "schema" }, { 5, "i32", 1 } },
      { { 3, "i32", 1 }, { 4, "bin", "x" }, { 5, "i32", 1 }, { 6, "i32", 3 } },
      { { 3, "i32", 2 }, { 4, "bin", "list" }, { 5, "i32", 1 } },
      { { 1, "i32", 4 }, { 3, "i32", 1 }, { 4, "bin", "element" } },
    }
    local function list_page(reps, defs, values)
      local r, d = table.concat(reps), table.concat(defs)
      local v = {}
      for i, x in ipairs(values) do v[i] = string.pack("<f", x) end
      return page { nvals = 4, body = le32(#r) .. r .. le32(#d) .. d .. table.concat(v) }
    end
    -- rows {1, 2} and {null, 4}: a 2-D tensor with NaN
    local d = assert(read_bytes(good { schema = schema, ptype = 4, rows = 2, num_values = 4,
      pages = { list_page({ run(1, 0), run(1, 1), run(1, 0), run(1, 1) },
        { run(2, 3), run(1, 2), run(1, 3) }, { 1, 2, 4 }) } }))
    assert.same({ 2, 2 }, d.x:size())
    local x = flat(d.x)
    assert.same({ 1, 2, 4 }, { x[1], x[2], x[4] })
    assert.is_true(x[3] ~= x[3])
    -- rows {1, 2}, {}, {3}: a table of rows
    d = assert(read_bytes(good { schema = schema, ptype = 4, rows = 3, num_values = 4,
      pages = { list_page({ run(1, 0), run(1, 1), run(2, 0) }, { run(2, 3), run(1, 1), run(1, 3) },
        { 1, 2, 3 }) } }))
    assert.equal(3, #d.x)
    assert.same({ { 1, 2 }, {}, { 3 } }, { flat(d.x[1]), flat(d.x[2]), flat(d.x[3]) })
    -- a repetition level over its maximum
    local none, err = read_bytes(good { schema = schema, ptype = 4, rows = 3, num_values = 4,
      pages = { list_page({ run(4, 2) }, { run(4, 3) }, { 1, 2, 3, 4 }) } })
    assert.is_nil(none)
    assert.matches("repetition level 2 over its maximum 1", err)
  end)

  it("refuses a truncated file and a footer cut short", function()
    local b = good()
    refuses(b:sub(1, #b - 3), "not a Parquet file")
    refuses(b:sub(1, 10), "not a Parquet file")
    refuses("PAR1", "too short")
    refuses(good { mlen = 6 }, "footer")
  end)

  it("refuses a metadata length past the file", function()
    refuses(good { mlen = 0x7fffffff }, "footer length")
  end)

  it("refuses Thrift nested a million deep", function()
    refuses(pq_file { rows = 0, pages = {}, meta = ("\x1c"):rep(1000000) }, "nested too deep")
    -- a list of lists of ... (skipped, unknown field 15)
    refuses(pq_file { rows = 0, pages = {}, meta = "\xf9" .. ("\x19"):rep(1000000) }, "Thrift")
  end)

  it("refuses a chunk or page size past its container", function()
    refuses(good { chunk_size = 1 << 40 }, "past the file")
    refuses(good { pages = { page { nvals = 3, csize = 1000, body = int32s(7, 8, 9) } } },
      "page size past the chunk")
    refuses(good { pages = { page { nvals = 3, body = int32s(7, 8) } } }, "values past the page")
  end)

  it("refuses a dictionary index out of range", function()
    refuses(good { dict = true, pages = {
      page { type = 2, nvals = 2, body = int32s(5, 6) },
      page { nvals = 3, enc = 8, body = "\3" .. run(3, 7) } } }, "dictionary index 7 out of range")
  end)

  it("refuses a decompressed size that lies", function()
    -- SNAPPY: length 12, one literal of 12 bytes; the header claims 100 bytes
    local snappy = varint(12) .. string.char((12 - 1) << 2) .. int32s(7, 8, 9)
    assert(read_bytes(good { codec = 1, pages = { page { nvals = 3, usize = 12, body = snappy } } }))
    refuses(good { codec = 1, pages = { page { nvals = 3, usize = 100, body = snappy } } },
      "SNAPPY page size differs")
    refuses(good { codec = 1, pages = { page { nvals = 3, usize = 0x7fffffff, body = snappy } } },
      "over the 64%-byte limit", { max_inflate = 64 })
    refuses(good { codec = 2, pages = { page { nvals = 3, usize = 12, body = snappy } } }, "GZIP")
    refuses(good { codec = 6, pages = { page { nvals = 3, usize = 12, body = snappy } } }, "ZSTD")
  end)

  it("refuses levels over their maximum and value counts that disagree", function()
    local levels = run(3, 3)
    refuses(good { rep = 1, pages = { page { nvals = 3, body = le32(#levels) .. levels } } },
      "definition level 3 over its maximum 1")
    refuses(good { pages = { page { nvals = 4, body = int32s(7, 8, 9, 10) } } },
      "pages hold more values than the chunk")
    refuses(good { num_values = 5 }, "values for 3 rows")
  end)

  it("refuses a string length past the page", function()
    refuses(good { ptype = 6, pages = { page { nvals = 3, body = le32(1000) .. "abc" } } },
      "string past the page")
  end)

  it("refuses a huge allocation without making it", function()
    -- 2^40 values claimed by a tiny file
    local rows = 1 << 40
    local d, err = read_bytes(good { rows = rows, num_values = rows })
    assert.is_nil(d)
    assert.matches("limit", err)
  end)
end)

describe("data.from_parquet", function()
  it("builds a dataset from an embedding column and a label column", function()
    local ds = lt.data.from_parquet { path = DIR .. "dict_zstd_v1.parquet", x = "emb", y = "label",
      rows = { 1, 5 } }
    assert.equal(5, #ds)
    assert.same({ "cat", "dog", "bird" }, ds.classes)
    assert.same({ 1, 2, 3, 1, 2 }, ds:labels():totable())
    local x = ds:get(2)
    assert.same({ 1, -1, 0.25, 1 }, x:totable())
    -- plain text labels are numbered in sorted order; two shards read as one
    local a = DIR .. "plain_none_v1.parquet"
    ds = lt.data.from_parquet { path = { a, a }, x = "emb", y = "i32", base = -100 }
    assert.equal(2 * N, #ds)
    assert.equal(1, ds:labels():totable()[1])
  end)

  it("refuses null labels, a ragged column and an unknown column, naming the file", function()
    assert.error_matches(function()
      lt.data.from_parquet { path = DIR .. "dict_zstd_v1.parquet", x = "emb", y = "label" }
    end, "null labels")
    assert.error_matches(function()
      lt.data.from_parquet { path = DIR .. "dict_zstd_v1.parquet", x = "ragged" }
    end, "not a list<float> column of equal lengths")
    assert.error_matches(function()
      lt.data.from_parquet { path = DIR .. "hyparquet.parquet", x = "emb" }
    end, "hyparquet.parquet has no column 'emb'")
  end)
end)

-- issue 18: a string member no longer makes the whole .npz fail (scripts/fixtures/io_numpy_text.py)
describe("npy/npz text members", function()
  local TX = "tests/fixtures/io_numpy_text/"
  local WORDS = { "cat", "dog", "", "héllo", "日本" }

  it("reads '<U', '>U' and '|S' arrays as Lua strings, nested by dimension", function()
    assert.same(WORDS, assert(lio.read_npy(TX .. "words_u.npy")))
    assert.same(WORDS, assert(lio.load(TX .. "words_be.npy")))
    assert.same({ "ab", "c", "\0x" }, assert(lio.read_npy(TX .. "bytes_s.npy")))
    assert.same({ { "a", "bb" }, { "ccc", "d" } }, assert(lio.read_npy(TX .. "grid_u.npy")))
    assert.equal("one", assert(lio.read_npy(TX .. "scalar_u.npy")))
  end)

  it("reads an .npz whose members mix numbers and text, stored or deflated", function()
    for _, f in ipairs { "mixed.npz", "mixed_deflated.npz" } do
      local z = assert(lio.read_npz(TX .. f))
      assert.same({ 0, 1, 2 }, z.x:totable())
      assert.same({ "x", "yy", "z" }, z.label)
    end
  end)

  it("refuses to read a text array by rows", function()
    local f, err = lio.open_npy(TX .. "words_u.npy")
    assert.is_nil(f)
    assert.matches("string arrays are read whole", err)
  end)
end)

describe("read_parquet on shards", function()
  it("reads an array of files as one, rows across the seam", function()
    local a, b = DIR .. "dict_snappy_v1.parquet", DIR .. "plain_none_v1.parquet"
    local d = assert(lio.read_parquet({ a, b }, { columns = { "id", "label", "emb" } }))
    assert.equal(2 * N, d.id:size(1))
    assert.same({ 2 * N, 4 }, d.emb:size())
    -- dictionary text in one shard, plain text in the other: joined as strings
    local l = texts(d.label)
    assert.same(EXP.label, table.move(l, 1, N, 1, {}))
    assert.same(EXP.label, table.move(l, N + 1, 2 * N, 1, {}))
    d = assert(lio.read_parquet({ a, b }, { columns = { "id" }, rows = { N - 1, N + 2 } }))
    assert.same({ N - 2, N - 1, 0, 1 }, flat(d.id))
    assert.error_matches(function()
      lio.read_parquet({ a, DIR .. "hyparquet.parquet" }, { columns = { "id" } })
    end, "no column 'id'")
    local none, err = lio.read_parquet({ a, DIR .. "none.parquet" })
    assert.is_nil(none)
    assert.matches("none.parquet", err)
  end)
end)

-- issue 18 (read speed): numeric columns without nulls, and lists of one length, are decoded
-- straight into one tensor across row groups (compressed PLAIN pages in place, row groups on
-- the OpenMP threads); these must give what the row-group-by-row-group reader gives.
describe("read_parquet dense columns", function()
  local path = os.tmpname()
  after_each(function() os.remove(path) end)
  local X = T.arange(0, 53 * 6, 1, "float32"):reshape(53, 6) * 0.5 - 7
  local ID = T.arange(0, 53, 1, "int64") * 3
  local F64 = T.arange(0, 53, 1, "float64") / 7

  for _, codec in ipairs { "snappy", "zstd", "none" } do
    it("equals the written values whole, by row range, by row group (" .. codec .. ")", function()
      -- 7 rows per group: 8 row groups, the last one short; each row group's first page
      -- decompresses into the previous one's last values and must put them back
      assert(lio.write_parquet(path, { emb = X, id = ID, f64 = F64 },
        { compression = codec, row_group_rows = 7 }))
      local d = assert(lio.read_parquet(path))
      assert.equal("float32", d.emb:dtype())
      assert.same({ 53, 6 }, d.emb:size())
      assert.same(X:totable(), d.emb:totable())
      assert.same(ID:totable(), d.id:totable())
      assert.same(F64:totable(), d.f64:totable())
      -- rows cut two row groups (through a buffer) and take whole ones between
      d = assert(lio.read_parquet(path, { rows = { 5, 40 }, columns = { "emb", "id" } }))
      assert.same(X:narrow(1, 5, 36):totable(), d.emb:totable())
      assert.same(ID:narrow(1, 5, 36):totable(), d.id:totable())
      assert.is_nil(d.f64)
      local f = assert(lio.open_parquet(path))
      local start = 1
      for g = 1, f.num_row_groups do
        local n = f.row_groups[g]
        local r = assert(f:read_row_group(g))
        assert.same(X:narrow(1, start, n):totable(), r.emb:totable())
        assert.same(ID:narrow(1, start, n):totable(), r.id:totable())
        start = start + n
      end
      f:close()
      assert.error_matches(function() f:read_row_group(1) end, "closed")
    end)
  end

  it("falls back to the general reader for a column with nulls or ragged rows", function()
    -- the fixtures' opt_i32 (nulls) and ragged (lists of several lengths), next to dense columns
    -- in the same call, over a row range that cuts row groups
    for _, f in ipairs(FILES) do
      local d = assert(lio.read_parquet(DIR .. f[1] .. ".parquet",
        { rows = { 3, N - 2 }, columns = { "opt_i32", "ragged", "emb", "f32" } }))
      local function sub(col) return table.move(EXP[col], 3, N - 2, 1, {}) end
      assert.equal("float64", d.opt_i32:dtype())
      numbers(d.opt_i32, sub "opt_i32", "opt_i32")
      numbers(d.f32, sub "f32", "f32")
      local e = {}
      for i = 3, N - 2 do for _, x in ipairs(EXP.emb[i]) do e[#e + 1] = x end end
      numbers(d.emb, e, "emb")
      assert.equal(N - 4, #d.ragged)
      for i = 3, N - 2 do assert.same(EXP.ragged[i] or {}, flat(d.ragged[i - 2])) end
    end
  end)
end)
