-- docs_spec.lua: every public function has a doc naming it, help() finds it, docs/API.md is current.
local lunette = require "lunette"
local doc = require "lunette.doc"

local BUILD = os.getenv("LUNETTE_BUILD") or "build"

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

describe("doc comments", function()
  it("are parsed: attached blocks, free-standing --- blocks, not private functions", function()
    local d = doc.parse(table.concat({
      "-- mod: the summary.",
      "local M = {}",
      "-- f(x) -> y",
      "-- Doubles x.",
      "function M.f(x) return 2 * x end",
      "-- helper(x): private",
      "local function helper(x) return x end",
      "--- g(a) -> b",
      "-- g_(a) -> a",
      "-- Both from C.",
      "",
      "-- just a comment",
      "M.h = helper",
    }, "\n"), "test")
    assert.same({ "mod: the summary." }, d.header)
    assert.equal(5, d.byline[5].line)
    assert.same({ "f(x) -> y", "Doubles x." }, d.byname.f[1].lines)
    assert.equal(d.byname.g[1], d.byname.g_[1])
    assert.is_nil(d.byname.helper)
    assert.same({ "just a comment" }, d.byname.h[1].lines)
  end)

  it("flag a function without a doc or whose doc does not name it", function()
    local p = doc.problems {
      { key = "nodoc", qname = "x.nodoc", value = function() end },
      { key = "tsne", qname = "x.tsne", value = lunette.embed.umap },
    }
    assert.equal(2, #p)
    assert.matches("x.nodoc: no doc", p[1], 1, true)
    assert.matches("does not name it", p[2], 1, true)
  end)

  it("exist for every public function, method and class of lunette and its modules", function()
    local p = doc.problems()
    local n = #doc.index().list
    assert(n > 500, "expected the whole API to be indexed, got " .. n .. " names")
    assert(#p == 0, #p .. " of " .. n .. " public names lack a proper doc:\n  " .. table.concat(p, "\n  "))
  end)
end)

describe("help", function()
  it("shows a function's doc by value and by name", function()
    local t = doc.text(lunette.embed.tsne)
    assert.matches("^lunette%.embed%.tsne\n  tsne%(", t)
    assert.equal(t, doc.text("embed.tsne"))
    assert.equal(t, doc.text("lunette.embed.tsne"))
    assert.matches("^lunette%.linalg%.pinv\n  pinv%(", doc.text("pinv"))
    assert.matches("sum%(", doc.text("Tensor:sum"))
    assert.matches("sum%(", doc.text(lunette.zeros(2).sum))
    assert.matches("Linear%(", doc.text(lunette.nn.Linear))
    assert.matches("save%(", doc.text(lunette.plot.Figure.save))
  end)

  it("summarises a module, a class and an instance", function()
    local t = doc.text(lunette.embed)
    assert.matches("^lunette%.embed\n  lunette%.embed: ", t)
    assert.matches("\n  embed%.tsne +tsne%(", t)
    assert.matches("Methods:", doc.text(lunette.plot.Figure))
    assert.matches("\n  Tensor:sum +", doc.text(lunette.zeros(2)))
    assert.matches("Modules:", doc.text())
  end)

  it("answers an unknown name or value with a message, not an error", function()
    assert.matches("nothing in lunette is called 'no_such_fn'", doc.text("no_such_fn"))
    assert.matches("not part of lunette", doc.text(print))
    assert.matches("no doc for a number", doc.text(42))
  end)

  it("is lunette.help and a global in the host", function()
    assert.is_function(lunette.help)
    local p = io.popen(BUILD .. "/lunette -e 'help(\"embed.tsne\")' 2>&1")
    local out = p:read("a")
    p:close()
    assert.matches("^lunette%.embed%.tsne\n  tsne%(", out)
  end)
end)

describe("docs/API.md", function()
  it("is what `make docs` generates from the current sources", function()
    local committed = slurp("docs/API.md")
    assert(committed, "docs/API.md is missing: run `make docs`")
    assert(committed == doc.markdown() .. "\n", "docs/API.md is out of date: run `make docs`")
  end)
end)
