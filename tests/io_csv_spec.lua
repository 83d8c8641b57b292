-- io_csv_spec.lua: read_csv's frame mode (per-column inference, text as strings or codes,
-- missing values, usecols, dtype overrides) against files Python's csv module wrote
-- (scripts/fixtures/csv_text.py), and write_csv of columns read back by lunette and,
-- when /usr/bin/python3 is there, by Python's csv module.
local lt = require "lunette"
local lio = lt.io
local FX = "tests/fixtures/io_csv/"

local function tmpname()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".csv"
end

describe("read_csv frame mode", function()
  it("infers int64, float64 and text columns from a file Python's csv module wrote", function()
    local cols, names = assert(lio.read_csv(FX .. "people.csv", { frame = true }))
    assert.same({ "id", "name", "score", "label", "note" }, names)
    assert.equal("int64", cols.id:dtype())
    assert.same({ 1, 2, 3, 4, 5 }, cols.id:totable())
    assert.equal("float64", cols.score:dtype())
    local s = cols.score:totable()
    assert.equal(3.5, s[1])
    assert.equal(-0.25, s[2])
    assert.is_true(s[3] ~= s[3]) -- the empty cell is NaN
    assert.equal(1e-300, s[4])
    assert.equal(12, s[5])
    -- quoted separators, doubled quotes, newlines and edge spaces come back as written
    assert.same({ "Ada", "Bob, Jr.", "Cleo", "Dee", "  Eve  " }, cols.name)
    assert.same({ "plain", 'says "hi"', "two\nlines", lio.null, "x;y" }, cols.note)
    -- an unquoted NA is missing
    assert.same({ "cat", "dog", "cat", lio.null, "bird" }, cols.label)
  end)

  it("reads a semicolon, CRLF, QUOTE_NONNUMERIC file: a quoted \"\" is NaN in numbers, text in text", function()
    local cols = assert(lio.read_csv(FX .. "semicolon.csv", { frame = true, sep = ";" }))
    assert.equal("int64", cols.id:dtype())
    assert.equal("float64", cols.score:dtype())
    local s = cols.score:totable()
    assert.is_true(s[3] ~= s[3])
    assert.same({ "cat", "dog", "cat", "NA", "bird" }, cols.label) -- "NA" quoted is text
    assert.same({ "plain", 'says "hi"', "two\nlines", "", "x;y" }, cols.note)
  end)

  it("gives text as {codes, levels} (first-appearance order, 0 missing)", function()
    local cols = assert(lio.read_csv(FX .. "people.csv", { frame = true, text = "codes" }))
    assert.same({ "cat", "dog", "bird" }, cols.label.levels)
    assert.same({ 1, 2, 1, 0, 3 }, cols.label.codes:totable())
    assert.equal("int64", cols.label.codes:dtype())
    for i, c in ipairs(cols.name.codes:totable()) do
      assert.equal(({ "Ada", "Bob, Jr.", "Cleo", "Dee", "  Eve  " })[i], cols.name.levels[c])
    end
  end)

  it("an integer column with a missing value becomes float64 with NaN, as pandas does", function()
    local cols = assert(lio.read_bytes("csv", "a,b\n1,x\nNA,y\n3,z\n", { frame = true }))
    assert.equal("float64", cols.a:dtype())
    local a = cols.a:totable()
    assert.equal(1, a[1])
    assert.is_true(a[2] ~= a[2])
    assert.equal(3, a[3])
    -- a column of missing values only is float64 NaN
    local e = assert(lio.read_bytes("csv", "a,b\n,1\nNA,2\n", { frame = true }))
    assert.equal("float64", e.a:dtype())
    assert.is_true(e.a:isnan():all())
  end)

  it("usecols picks and orders columns by name or position; names follow", function()
    local cols, names = assert(lio.read_csv(FX .. "people.csv",
      { frame = true, usecols = { "label", 1 } }))
    assert.same({ "label", "id" }, names)
    assert.is_nil(cols.score)
    assert.same({ 1, 2, 3, 4, 5 }, cols.id:totable())
    -- without frame: the matrix of the selected numeric columns
    local m, mn = assert(lio.read_csv(FX .. "people.csv", { usecols = { "score", "id" } }))
    assert.same({ 5, 2 }, m:size())
    assert.same({ "score", "id" }, mn)
    assert.same({ -0.25, 2 }, m:totable()[2])
  end)

  it("dtype overrides: a kind for all columns, or per column by name or position", function()
    local cols = assert(lio.read_csv(FX .. "people.csv",
      { frame = true, dtype = { id = "text", score = "float32", [4] = "codes" } }))
    assert.same({ "1", "2", "3", "4", "5" }, cols.id)
    assert.equal("float32", cols.score:dtype())
    assert.same({ "cat", "dog", "bird" }, cols.label.levels)
    local all = assert(lio.read_csv(FX .. "people.csv", { frame = true, dtype = "text" }))
    assert.same({ "3.5", "-0.25", lio.null, "1e-300", "12" }, all.score)
    -- a forced number kind on text fails naming line and column
    local ok, err = lio.read_csv(FX .. "people.csv", { frame = true, dtype = { name = "float64" } })
    assert.is_nil(ok)
    assert.matches("people.csv: line 2, column 3: not a number", err, 1, true)
    local ok2, err2 = lio.read_bytes("csv", "a\n1\n\"\"\n", { frame = true, dtype = "int64" })
    assert.is_nil(ok2)
    assert.matches("missing value in an int64 column", err2, 1, true)
  end)

  it("na replaces the markers, in frame and matrix mode", function()
    local cols = assert(lio.read_bytes("csv", "a,b\n1,-\n-,q\n", { frame = true, na = { "-" } }))
    assert.same({ lio.null, "q" }, cols.b)
    assert.is_true(cols.a:totable()[2] ~= cols.a:totable()[2])
    local m = assert(lio.read_bytes("csv", "a,b\n1,?\n2,3\n", { na = { "?" } }))
    local v = m:totable()[1][2]
    assert.is_true(v ~= v)
    -- with na = {}, NA is text
    local t = assert(lio.read_bytes("csv", "a\nNA\nx\n", { frame = true, na = {} }))
    assert.same({ "NA", "x" }, t.a)
  end)

  it("without a header, columns are keyed by position", function()
    local cols, names = assert(lio.read_bytes("csv", "1,a\n2,b\n", { frame = true, header = false }))
    assert.same({ 1, 2 }, names)
    assert.same({ 1, 2 }, cols[1]:totable())
    assert.same({ "a", "b" }, cols[2])
  end)

  it("a header-only file gives empty columns; duplicate names are refused", function()
    local cols, names = assert(lio.read_bytes("csv", "a,b\n", { frame = true }))
    assert.same({ "a", "b" }, names)
    assert.same({ 0 }, cols.a:size())
    local ok, err = lio.read_bytes("csv", "a,a\n1,2\n", { frame = true })
    assert.is_nil(ok)
    assert.matches("columns 1 and 2 are both named 'a'", err, 1, true)
    local c2 = assert(lio.read_bytes("csv", "a,a\n1,2\n", { frame = true, usecols = { 2 } }))
    assert.same({ 2 }, c2.a:totable())
  end)

  it("without frame, a text column fails with a hint to use frame = true", function()
    local ok, err = lio.read_csv(FX .. "people.csv")
    assert.is_nil(ok)
    assert.matches("people.csv: line 2, column 3: not a number (frame = true reads text columns)",
      err, 1, true)
  end)

  it("bad options raise naming read_csv", function()
    assert.error_matches(function() lio.read_csv(FX .. "people.csv", { frame = true, usecols = { "nope" } }) end,
      "bad argument #2 to 'read_csv' (usecols: no column named 'nope')", 1, true)
    assert.error_matches(function() lio.read_csv(FX .. "people.csv", { usecols = { 9 } }) end,
      "bad argument #2 to 'read_csv' (usecols: column 9 is not in 1..5)", 1, true)
    assert.error_matches(function() lio.read_csv(FX .. "people.csv", { usecols = { 1, "id" } }) end,
      "bad argument #2 to 'read_csv' (usecols: column 1 is listed twice)", 1, true)
    assert.has_error(function() lio.read_csv(FX .. "people.csv", { frame = true, dtype = { id = "int" } }) end)
    assert.has_error(function() lio.read_csv(FX .. "people.csv", { text = "factor" }) end)
    assert.error_matches(function() lio.read_csv(FX .. "people.csv", { na = { 1 } }) end,
      "bad argument #2 to 'read_csv' (na entry 1 is not a string)", 1, true)
    assert.has_error(function() lio.read_csv(FX .. "people.csv", { usecol = { 1 } }) end)
  end)
end)

describe("read_csv frame mode on hostile text", function()
  it("gives nil, '<bytes>: line, column: reason' for broken quoting, ragged rows, NUL bytes", function()
    local cases = {
      { 'a,b\n1,"x\n', "line 2, column 3: unterminated quoted field" },
      { 'a,b\n1,"x"y\n', "line 2, column 6: text after a closing quote" },
      { "a,b\n1,2\n3\n", "line 3 has 1 fields, expected 2" },
      { "a,b\n1,x\0y\n", "line 2, column 4: NUL byte" },
    }
    for _, c in ipairs(cases) do
      local ok, err = lio.read_bytes("csv", c[1], { frame = true })
      assert.is_nil(ok)
      assert.matches("<bytes>: " .. c[2], err, 1, true)
    end
  end)

  it("fails cleanly at every internal allocation (fault injection)", function()
    local text = 'id,name,score\n1,"a,b",2.5\n2,,NA\n3,c,4\n'
    local ok_seen = false
    for i = 0, 40 do
      local cols, err = lio.read_bytes("csv", text, { frame = true, text = "codes", fail_at = i })
      if cols then
        ok_seen = true
        assert.same({ "a,b", "c" }, cols.name.levels)
      else
        assert.matches("not enough memory", err, 1, true)
      end
    end
    assert.is_true(ok_seen)
  end)
end)

describe("write_csv of columns", function()
  it("round-trips numbers, text with quotes and newlines, missing values and codes", function()
    local cols = assert(lio.read_csv(FX .. "people.csv", { frame = true }))
    cols.empty = { "", "NA", " pad", "a\r\nb", lio.null }
    cols.label = { codes = lt.tensor({ 2, 1, 0, 2, 1 }):long(), levels = { "x", "y" } }
    local p = tmpname()
    local order = { "id", "name", "score", "label", "note", "empty" }
    assert(lio.write_csv(p, cols, { header = order }))
    local back, names = assert(lio.read_csv(p, { frame = true }))
    assert.same(order, names)
    assert.same(cols.id:totable(), back.id:totable())
    assert.same(cols.name, back.name)
    assert.same(cols.note, back.note)
    assert.same(cols.empty, back.empty) -- "" and "NA" quoted, so text again
    assert.same({ "y", "x", lio.null, "y", "x" }, back.label)
    local s, b = cols.score:totable(), back.score:totable()
    for i = 1, 5 do assert.is_true(s[i] == b[i] or (s[i] ~= s[i] and b[i] ~= b[i])) end
    os.remove(p)
  end)

  it("sorts the names when header is not given, and Python's csv module reads the file", function()
    local p = tmpname()
    assert(lio.write_csv(p, { b = { "x,y", 'q"' }, a = lt.tensor({ 1.5, 2 }) }))
    local f = assert(io.open(p))
    local text = f:read("a")
    f:close()
    assert.equal('a,b\n1.5,"x,y"\n2,"q"""\n', text)
    local py = io.open("/usr/bin/python3") and io.popen(
      "/usr/bin/python3 -c 'import csv,sys; print(repr(list(csv.reader(open(sys.argv[1])))))' " .. p)
    if py then
      local out = py:read("a")
      py:close()
      assert.equal("[['a', 'b'], ['1.5', 'x,y'], ['2', 'q\"']]\n", out)
    end
    os.remove(p)
  end)

  it("refuses columns of different lengths and bad cells, leaving no file", function()
    local p = tmpname()
    assert.error_matches(function() lio.write_csv(p, { a = lt.tensor({ 1, 2 }), b = { "x" } }) end,
      "write_csv' (column 'b' has 1 rows, column 'a' 2", 1, true)
    assert.error_matches(function() lio.write_csv(p, { a = { "x", 3 } }) end,
      "write_csv' (column 'a': row 2 is a number, not a string or io.null", 1, true)
    assert.error_matches(function() lio.write_csv(p, { a = { codes = lt.tensor({ 3 }):long(), levels = { "x" } } }) end,
      "write_csv' (column 'a': code 3 at row 1 is not in 0..1", 1, true)
    assert.error_matches(function() lio.write_csv(p, { a = { "x" } }, { header = { "z" } }) end,
      "write_csv' (no column named 'z' in the table", 1, true)
    assert.is_nil(io.open(p))
  end)
end)

-- issue 18 (read speed): short decimals skip strtod's slow path (io_csv.c fast_decimal); every
-- number must still read as strtod reads it (Lua's tonumber is strtod), in both modes.
describe("read_csv numbers", function()
  it("reads decimals exactly as strtod does, fast path or not", function()
    local cells = { "0", "-0", "+7", "1.5", ".5", "5.", "-0.000", "0.1", "0.3", "1e22", "1e23",
      "9007199254740993", "9007199254740992", "123456789012345678", "1234567890123456789012",
      "1.8843961", "-0.18978089", "3.4028235e38", "1.17549435e-38", "4.9e-324",
      "2.2250738585072014e-308",
      "1e-22", "1e-23", "12345678901234567e-5", "0.000000000000000000001", "1E5", "-2.5E-3",
      "1.7976931348623157e308", "99999999999999999999", "0.1e1", "100e-2", "nan", "inf", "-inf" }
    -- and many random ones: up to 19 digits, exponents around the fast path's edges
    local g = lt.random.Generator(5)
    local r = g:randint(0, 1000000000, 600):totable()
    for i = 1, 600, 3 do
      local digits = tostring(r[i]) .. tostring(r[i + 1])
      local cut = r[i + 2] % #digits + 1
      local e = r[i + 2] % 60 - 30
      cells[#cells + 1] = digits:sub(1, cut) .. "." .. digits:sub(cut + 1) .. "e" .. e
      local sign = i % 2 == 0 and "-" or ""
      cells[#cells + 1] = sign .. digits:sub(1, cut) .. "." .. digits:sub(cut + 1)
    end
    local p = tmpname()
    local f = assert(io.open(p, "w"))
    f:write("x\n", table.concat(cells, "\n"), "\n")
    f:close()
    local m = assert(lio.read_csv(p, { header = true, dtype = "float64" }))
    m = m:reshape(#cells):totable()
    local fr = assert(lio.read_csv(p, { header = true, frame = true })).x:totable()
    for i, c in ipairs(cells) do
      local want = tonumber(c) or (c == "nan" and 0 / 0) or (c == "inf" and math.huge)
        or (c == "-inf" and -math.huge)
      -- tonumber reads integer text as an integer: the double strtod gives is that of c .. ".0"
      if math.type(want) == "integer" then want = tonumber(c .. ".0") end
      if want ~= want then
        assert.is_true(m[i] ~= m[i] and fr[i] ~= fr[i], c)
      else
        assert.equal(want, m[i], c)
        assert.equal(want, fr[i], c)
        -- the sign of zero too
        assert.equal(1 / want, 1 / m[i], c)
      end
    end
    os.remove(p)
  end)
end)
