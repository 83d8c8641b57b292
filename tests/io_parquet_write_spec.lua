-- io_parquet_write_spec.lua: io.write_parquet. The committed lunette_*.parquet were written by
-- lunette and read back by two independent readers (parquet-wasm through apache-arrow, and
-- hyparquet: scripts/fixtures/parquet_readback.mjs); the spec compares what they saw with the
-- values lunette was given, checks the writer still produces those exact bytes, and round-trips
-- every column kind through lunette's own reader.
local lt = require "lunette"
local lio = lt.io
local PQ = "tests/fixtures/parquet/"
local BACK = dofile(PQ .. "lunette_readback.lua")

local function slurp(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function tmpname()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".parquet"
end

-- A plain value as the readback file writes it: false for a null, "NaN" for NaN, 0/1 booleans.
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

describe("write_parquet read by independent readers", function()
  local cols, order, plain = dofile(PQ .. "lunette_cols.lua")(lt)

  for _, comp in ipairs { "none", "snappy", "zstd" } do
    local name = "lunette_" .. comp .. ".parquet"
    it(name .. ": parquet-wasm and hyparquet read the values lunette was given", function()
      local seen = BACK[name]
      assert.equal(3, seen.row_groups)
      assert.same({ id = "Int64", x = "Float64", emb = "List<Float32>", name = "Utf8", uid = "Utf8",
                    flag = "Bool", small = "Int32", label = "Utf8" }, seen.arrow_types)
      for _, reader in ipairs { "parquet_wasm", "hyparquet" } do
        for _, c in ipairs(order) do
          same_column(plain[c], seen[reader][c], name .. " " .. reader .. " " .. c)
        end
      end
    end)

    it(name .. ": the writer still produces these bytes", function()
      local p = tmpname()
      assert(lio.write_parquet(p, cols, { columns = order, compression = comp, row_group_rows = 16 }))
      assert.equal(slurp(PQ .. name), slurp(p))
      os.remove(p)
    end)
  end
end)

describe("write_parquet round trips through read_parquet", function()
  it("numbers, bool, embeddings, text with nulls, dictionary and plain strings", function()
    local cols, order, plain = dofile(PQ .. "lunette_cols.lua")(lt)
    for _, comp in ipairs { "none", "snappy", "zstd" } do
      local p = tmpname()
      assert(lio.write_parquet(p, cols, { compression = comp, row_group_rows = 7 }))
      local f = assert(lio.open_parquet(p))
      assert.equal(6, f.num_row_groups)
      assert.equal(40, f.num_rows)
      local back = assert(lio.read_parquet(p))
      assert.equal("int64", back.id:dtype())
      assert.same(plain.id, back.id:totable())
      assert.equal("int32", back.small:dtype())
      assert.same(plain.small, back.small:totable())
      assert.equal("bool", back.flag:dtype())
      assert.is_true(back.flag:equal(cols.flag))
      assert.equal("float64", back.x:dtype())
      assert.is_true(back.x:isnan():equal(cols.x:isnan()))
      assert.same({ 40, 8 }, back.emb:size())
      assert.is_true(back.emb:equal(cols.emb))
      -- dictionary-encoded text comes back as codes; levels in first-appearance order
      local nc, lc = back.name.codes:totable(), back.label.codes:totable()
      for i = 1, 40 do
        local c = nc[i]
        assert.equal(plain.name[i], c == 0 and lio.null or back.name.levels[c])
        local l = lc[i]
        assert.equal(plain.label[i], l == 0 and lio.null or back.label.levels[l])
      end
      -- 40 distinct uids: more than half the rows, so PLAIN, read as a string array
      assert.same(plain.uid, back.uid)
      os.remove(p)
    end
  end)

  it("dictionary = false writes text PLAIN; float16 is widened; no rows", function()
    local p = tmpname()
    local h = lt.tensor({ 0.5, 1.5, -2 }):half()
    assert(lio.write_parquet(p, { s = { "a", "a", lio.null }, h = h },
      { dictionary = false }))
    local back = assert(lio.read_parquet(p))
    assert.same({ "a", "a", lio.null }, back.s)
    assert.equal("float32", back.h:dtype())
    assert.same({ 0.5, 1.5, -2 }, back.h:totable())
    os.remove(p)
    assert(lio.write_parquet(p, { a = lt.zeros(0):long() }))
    local f = assert(lio.open_parquet(p))
    assert.equal(0, f.num_rows)
    assert.same({ "a" }, f.columns)
    os.remove(p)
  end)

  it("a column read from CSV goes to Parquet and back", function()
    local cols, names = assert(lio.read_csv("tests/fixtures/io_csv/people.csv",
      { frame = true, text = "codes" }))
    local p = tmpname()
    assert(lio.write_parquet(p, cols, { columns = names }))
    local back = assert(lio.read_parquet(p))
    assert.same(cols.id:totable(), back.id:totable())
    assert.same(cols.label.levels, back.label.levels)
    assert.same(cols.label.codes:totable(), back.label.codes:totable())
    assert.same(cols.note.levels, back.note.levels)
    os.remove(p)
  end)
end)

describe("write_parquet refuses bad input", function()
  it("raises naming write_parquet for bad options and columns, and leaves no file", function()
    local p = tmpname()
    local E = "bad argument #%d to 'write_parquet' (%s)"
    local cases = {
      { { a = lt.zeros(2) }, { compression = "lz4" }, 3, 'compression must be "snappy", "zstd" or "none"' },
      { { a = lt.zeros(2) }, { row_group_rows = 0 }, 3, "row_group_rows must be a positive integer" },
      { { a = lt.zeros(2) }, { zstd_level = 30 }, 3, "zstd_level must be an integer in 1..22" },
      { { a = lt.zeros(2) }, { columns = { "b" } }, 2, "no column named 'b'" },
      { { a = lt.zeros(2) }, { columns = { "a", "a" } }, 3, "column 'a' is listed twice" },
      { { a = lt.zeros(2, 2, 2) }, nil, 2, "column 'a' must be a 1-d or 2-d tensor, got 3-d" },
      { { a = lt.zeros(2), b = { "x" } }, nil, 2, "column 'b' has 1 rows, column 'a' 2" },
      { { a = { "x", 1 } }, nil, 2, "column 'a': row 2 is a number, not a string or io.null" },
      { { a = { codes = lt.zeros(2), levels = { "x" } } }, nil, 2, "column 'a': codes must be a 1-d integer tensor" },
      { {}, nil, 2, "no columns to write" },
      { { a = 5 }, nil, 2, "column 'a' must be a tensor, a string array or {codes, levels}, got number" },
    }
    for _, c in ipairs(cases) do
      assert.error_matches(function() lio.write_parquet(p, c[1], c[2]) end, E:format(c[3], c[4]), 1, true)
    end
    assert.error_matches(function() lio.write_parquet(p, { a = lt.zeros(1) }, { compresion = "zstd" }) end,
      "compresion", 1, true)
    -- a code out of range is found by the writer: nil, message, and no file
    local ok, err = lio.write_parquet(p, { a = { codes = lt.tensor({ 1, 3 }):long(), levels = { "x" } } })
    assert.is_nil(ok)
    assert.matches("column 'a': code 3 at row 2 is not in 0..1", err, 1, true)
    assert.is_nil(io.open(p))
  end)
end)

describe("write_parquet on random tables", function()
  it("reads back what it wrote: row counts, group sizes, null patterns, dictionary widths", function()
    local g = lt.random.Generator(11)
    local function rint(a, b) return a + math.floor(g:rand(1):item() * (b - a + 1)) end
    local p = tmpname()
    for case = 1, 40 do
      local n = rint(0, 300)
      local card = rint(1, 600) -- distinct texts: dictionary index widths 0..10 bits, or PLAIN
      local pnull = ({ 0, 0.1, 0.9, 1 })[rint(1, 4)]
      local text, codes, levels = {}, {}, {}
      for i = 1, card do levels[i] = ("v%d"):format(i) end
      for i = 1, n do
        text[i] = g:rand(1):item() < pnull and lio.null or ("t%d"):format(rint(1, card))
        codes[i] = g:rand(1):item() < pnull and 0 or rint(1, card)
      end
      local w = rint(0, 5)
      local cols = {
        f = g:randn(n), i = lt.tensor(codes):long() * 7 - 3, b = g:randn(n):gt(0),
        l = g:randn(n, w), s = text, c = { codes = lt.tensor(codes):long(), levels = levels },
      }
      if n == 0 then cols.l = lt.zeros(0, w) end
      local opts = { row_group_rows = rint(1, 120), compression = ({ "none", "snappy", "zstd" })[rint(1, 3)],
                     dictionary = rint(0, 1) == 1 }
      assert(lio.write_parquet(p, cols, opts))
      local f = assert(lio.open_parquet(p))
      local what = ("case %d: n=%d card=%d pnull=%s w=%d groups of %d, %s"):format(case, n, card,
        pnull, w, opts.row_group_rows, opts.compression)
      assert.equal(n, f.num_rows, what)
      if n > 0 then
        local back = assert(lio.read_parquet(p))
        assert.is_true(back.f:equal(cols.f), what)
        assert.is_true(back.i:equal(cols.i), what)
        assert.is_true(back.b:equal(cols.b), what)
        if w > 0 then assert.is_true(back.l:equal(cols.l), what) end
        local function texts(v)
          if v.codes then
            local out = {}
            for k, c in ipairs(v.codes:totable()) do out[k] = c == 0 and lio.null or v.levels[c] end
            return out
          end
          return v
        end
        assert.same(text, texts(back.s), what)
        local want = {}
        for k, c in ipairs(codes) do want[k] = c == 0 and lio.null or levels[c] end
        assert.same(want, texts(back.c), what)
      end
    end
    os.remove(p)
  end)
end)
