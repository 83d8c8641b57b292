-- repr_spec.lua - lunette.repr, the text the REPL (and the Jupyter kernel) shows for a table.
local lt = require "lunette"
local repr = require("lunette.repr").repr

describe("lunette.repr", function()
  it("shows arrays inline and sizes as their numbers", function()
    assert.are.equal("{1, 2, 3}", repr { 1, 2, 3 })
    assert.are.equal("{3, 4}", repr(lt.ones(3, 4):size()))
    assert.are.equal("{}", repr {})
    assert.are.equal('{1.5, "a", true, false}', repr { 1.5, "a", true, false })
  end)

  it("sorts keys (numbers, strings, booleans), with Lua's syntax for odd ones", function()
    assert.are.equal('{1, 2, [4] = 4, [9] = 9, a = 1, ["a b"] = 3, b = 2, ["end"] = 5, [true] = 0}',
      repr { 1, 2, nil, 4, b = 2, a = 1, ["a b"] = 3, [9] = 9, ["end"] = 5, [true] = 0 })
  end)

  it("nests tables, breaking lines past the width and indenting each level", function()
    local s = repr { alpha = { 1, 2 }, beta = { gamma = "a fairly long string to pass the width",
                                               delta = { 1, 2, 3 } } }
    assert.are.equal(table.concat({
      "{",
      "  alpha = {1, 2},",
      '  beta = {delta = {1, 2, 3}, gamma = "a fairly long string to pass the width"},',
      "}" }, "\n"), s)
    s = repr({ beta = { gamma = "a fairly long string to pass the width", delta = { 1, 2, 3 } } },
      { width = 40 })
    assert.are.equal(table.concat({
      "{",
      "  beta = {",
      "    delta = {1, 2, 3},",
      '    gamma = "a fairly long string to pass the width",',
      "  },",
      "}" }, "\n"), s)
  end)

  it("summarises tensors inside tables by their print head, with the value of a scalar", function()
    local s = repr { x = lt.zeros(3, 4), n = lt.tensor({ 1, 2 }, "int64"), loss = lt.tensor(0.5) }
    assert.are.equal("{loss = Tensor float32 [] 0.5, n = Tensor int64 [2], " ..
      "x = Tensor float32 [3x4]}", s)
  end)

  it("keeps the order of ordered dicts (state dicts)", function()
    local m = lt.nn.Sequential { lt.nn.Linear(3, 2), lt.nn.ReLU(), lt.nn.Linear(2, 1) }
    local sd = m:state_dict()
    local s = repr(sd)
    local w1, b1, w2 = s:find('["0.weight"]', 1, true), s:find('["0.bias"]', 1, true),
      s:find('["2.weight"]', 1, true)
    assert.is_truthy(w1 and b1 and w2, s)
    assert.is_true(w1 < b1 and b1 < w2, s) -- not sorted: "0.bias" would come first
    assert.is_truthy(s:find('["0.weight"] = Tensor float32 [2x3]', 1, true), s)
  end)

  it("shows nn.evaluate's result readably", function()
    local m = lt.nn.Sequential { lt.nn.Linear(4, 3) }
    local r = lt.nn.evaluate(m, { x = lt.randn(10, 4), y = lt.randint(1, 3, { 10 }) },
      { progress = false })
    local s = repr(r)
    assert.is_truthy(s:find("accuracy = %d"), s)
    assert.is_truthy(s:find("pred = Tensor int64 [10]", 1, true), s)
    assert.is_nil(s:find("table: 0x", 1, true), s)
  end)

  it("quotes strings, escaping control characters, and cuts long ones with a count", function()
    assert.are.equal('{"a\\"b\\n\\t\\0"}', repr { 'a"b\n\t\0' })
    assert.are.equal('{"aaaaa"… (5 more bytes)}', repr({ ("a"):rep(10) }, { strlen = 5 }))
  end)

  it("cuts long tables and deep nesting with a count", function()
    local big = {}
    for i = 1, 1000 do big[i] = i end
    assert.are.equal("{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, … 990 more}", repr(big, { items = 10 }))
    local s = repr(big)
    assert.is_truthy(s:find(" 100,\n  … 900 more\n}$"), s)
    assert.are.equal("{{{{{… 1 items}}}}}", repr { { { { { { 1 } } } } } })
    assert.are.equal("{{{… 1 items}}}", repr({ { { { 1 } } } }, { depth = 2 }))
    local nested = { inner = big }
    assert.is_truthy(repr(nested):find(" 20,\n    … 980 more\n  },", 1, true), repr(nested))
  end)

  it("marks cycles and stops a blow-up of shared tables at its budget", function()
    local c = { name = "c" }
    c.self = c
    c.list = { c }
    assert.are.equal('{list = {{<cycle>}}, name = "c", self = {<cycle>}}', repr(c))
    local node = { 1 }
    for _ = 1, 12 do node = { node, node, node, node } end -- 4^12 paths to the leaf
    local t0 = os.clock()
    local s = repr(node, { depth = 20, items = 4, nested_items = 4 })
    assert.is_true(os.clock() - t0 < 2, "repr of a shared DAG took too long")
    assert.is_truthy(s:find("… 4 items", 1, true))
  end)

  it("shows other values by __tostring or __name, and a failing __tostring without raising",
    function()
      local named = setmetatable({ a = 1 }, { __name = "Thing" })
      local shown = setmetatable({}, { __tostring = function() return "custom!" end })
      local bad = setmetatable({}, { __tostring = function() error("boom") end })
      local notstr = setmetatable({}, { __tostring = function() return 42 end })
      assert.are.equal("Thing {a = 1}", repr(named))
      assert.are.equal("{custom!}", repr { shown })
      local s = repr { bad, notstr }
      assert.is_truthy(s:find("<table: 0x%x+ %(__tostring failed: [^\n]*boom%)>,\n"), s)
      assert.is_truthy(s:find("must return a string", 1, true), s)
      assert.is_truthy(repr({ io.stdout }):find("^{file %(0x%x+%)}$"))
      assert.is_truthy(repr({ print }):find("^{function: 0x%x+}$"))
      assert.is_truthy(repr({ lt.nn.Linear(3, 2) }):find("Linear(3 -> 2)", 1, true))
    end)

  it("calls no __index, __pairs or __len metamethod, and honours no __metatable mask", function()
    local calls = 0
    local function count() calls = calls + 1; error("metamethod called") end
    local odd = setmetatable({ a = 1 }, { __index = count, __pairs = count, __len = count,
                                          __metatable = "locked", __name = "Odd" })
    assert.are.equal("{Odd {a = 1}}", repr { odd })
    assert.are.equal(0, calls)
  end)

  it("lists a huge table quickly", function()
    local big = {}
    for i = 1, 300000 do big["k" .. i] = i end
    local t0 = os.clock()
    local s = repr(big)
    assert.is_true(os.clock() - t0 < 3)
    assert.is_truthy(s:find("… 299900 more", 1, true), s:sub(-80))
  end)

  it("rejects unknown options", function()
    local ok, err = pcall(repr, {}, { widht = 3 })
    assert.is_false(ok)
    assert.is_truthy(err:find("bad argument #2 to 'repr' (unknown option 'widht'", 1, true), err)
    assert.is_truthy(err:find("(did you mean 'width'?)", 1, true), err)
  end)
end)
