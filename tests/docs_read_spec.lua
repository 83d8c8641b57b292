-- docs_read_spec.lua: the docs read as written (issue 16, points 4 and 7): each signature is one
-- code block in docs/API.md, help()'s module list gives whole sentences, the indexing section's
-- examples hold, fit's and the per-sample functions' options are in their help, and fit prints
-- one line per epoch when no progress bar draws.
local lt = require "lunette"
local doc = require "lunette.doc"

local BUILD = os.getenv("LUNETTE_BUILD") or "build"

-- How many more brackets s opens than it closes.
local function depth(s)
  local d = 0
  for c in s:gmatch("[%(%)%{%}%[%]]") do d = d + (("({["):find(c, 1, true) and 1 or -1) end
  return d
end

-- The API.md entries: {heading, signature (the first code block), after (the text after it)}.
local function entries(md)
  local out, pos = {}, 1
  while true do
    local s = md:find("\n### ", pos, true)
    if not s then break end
    local e = md:find("\n### ", s + 1, true) or #md + 1
    local head, sig, after = md:sub(s + 5, e - 1):match("^([^\n]*)\n\n```lua\n(.-)\n```\n(.*)$")
    if head then out[#out + 1] = { head = head, sig = sig, after = after } end
    pos = e
  end
  return out
end

describe("docs/API.md", function()
  local md = doc.markdown()
  local list = entries(md)

  it("keeps every signature in one code block, its brackets closed", function()
    assert(#list > 300, "expected the whole API, got " .. #list .. " entries")
    local bad = {}
    for _, e in ipairs(list) do
      if depth(e.sig) ~= 0 then bad[#bad + 1] = e.head end
    end
    assert.equal("", table.concat(bad, "\n"))
  end)

  it("shows the long signatures of issue 16 whole (Conv2d, tsne, umap, loader, evaluate)", function()
    local want = {
      ["`nn.Conv2d`"] = "%-> module$",
      ["`embed.tsne`"] = "%-> Y %[n x dim%], kl, info$",
      ["`embed.umap`"] = "%-> Y %[n x dim%], info$",
      ["`data.Dataset:loader`, `data.loader`"] = "%-> loader$",
      ["`nn.Module:evaluate`, `nn.evaluate`"] = "%-> {accuracy, loss, n, per_class, counts, pred}$",
    }
    local seen = 0
    for _, e in ipairs(list) do
      if want[e.head] then
        seen = seen + 1
        assert.truthy(e.sig:find(want[e.head]), e.head .. ":\n" .. e.sig)
        assert.is_nil(e.after:match("^```lua"), e.head .. " goes on in a second block")
      end
    end
    assert.equal(5, seen)
  end)

  it("has an indexing section whose examples hold", function()
    local tensor_part = md:match("\n## lunette%.tensor\n(.-)\n## ")
    assert.truthy(tensor_part and tensor_part:find("\nIndexing%. "), "no indexing section")
    local t = lt.arange(12):reshape(3, 4)
    assert.same({ 0, 1, 2, 3 }, t[1]:totable())
    assert.same({ 8, 9, 10, 11 }, t[-1]:totable())
    assert.equal(6, t[{ 2, 3 }])
    assert.same({ { 1, 2 }, { 5, 6 }, { 9, 10 } }, t[{ {}, { 2, 3 } }]:totable())
    assert.same({ { 0, 2 }, { 4, 6 }, { 8, 10 } }, t[{ ":", { 1, 4, 2 } }]:totable())
    assert.same({ { 4, 5, 6, 7 }, { 8, 9, 10, 11 } }, t[{ { -2, -1 } }]:totable())
    assert.same({ 6, 7, 8, 9, 10, 11 }, t[t:gt(5)]:totable())
    assert.same({ { 8, 9, 10, 11 }, { 0, 1, 2, 3 } }, t[lt.tensor({ 3, 1 })]:totable())
    assert.same({ { 0, 1, 2, 3 }, { 8, 9, 10, 11 } }, t[lt.tensor({ true, false, true })]:totable())
    t[{ 1, { 1, 2 } }] = 0
    t[t:gt(9)] = -1
    t[lt.tensor({ 2 })] = 7
    assert.same({ { 0, 0, 2, 3 }, { 7, 7, 7, 7 }, { 8, 9, -1, -1 } }, t:totable())
    assert.same({ 3, 4 }, t.shape)
    assert.equal(2, t.ndim)
    assert.equal(3, #t)
  end)
end)

describe("README", function()
  it("quotes the error a misspelt option raises as lunette raises it", function()
    local f = assert(io.open("README.md", "rb"))
    local readme = f:read("a")
    f:close()
    local quoted = readme:match("{batchsize = 16}%)` raises\n`([^`]+)`")
    assert.truthy(quoted, "README no longer quotes the fit example")
    local m = lt.nn.mlp { 2, 2, seed = 1 }
    local ok, err = pcall(lt.nn.fit, m, { x = lt.randn(4, 2), y = lt.ones(4):long() },
      { batchsize = 16 })
    assert.is_false(ok)
    assert.equal(quoted, tostring(err):match("^[^:]*:%d+: (.*)$") or tostring(err))
  end)
end)

describe("help", function()
  it("lists every module with a whole sentence, not its header's first line", function()
    local text = doc.text()
    local block = text:match("\nModules:\n(.-)\n\n")
    assert.truthy(block, text)
    local list = {}
    for line in block:gmatch("[^\n]+") do
      if line:match("^  %S") then
        list[#list + 1] = line:match("^  %S+ +(.*)$")
      else
        list[#list] = list[#list] .. " " .. line:match("^%s*(.*)$")
      end
    end
    for _, entry in ipairs(list) do assert.truthy(entry:find("%.$"), "cut short: " .. entry) end
    local n = #list
    assert.equal(#doc.MODULES, n)
  end)

  it("gives fit's options with their defaults, and the per-sample functions' last_layer", function()
    local fit = doc.text(lt.nn.fit)
    for _, k in ipairs { "optimizer", "lr", "momentum", "batch_size", "epochs", "schedule",
                         "augment", "indices", "weights", "test", "verbose", "hooks", "seed" } do
      assert.truthy(fit:find("%f[%w_]" .. k .. " %("), "help(nn.fit) lacks " .. k .. ":\n" .. fit)
    end
    assert.truthy(fit:find("epochs (1)", 1, true), fit)
    assert.truthy(fit:find("batch_size (128)", 1, true), fit)
    for _, f in ipairs { lt.nn.per_sample_grads, lt.nn.per_sample_norms, lt.nn.projected_grads } do
      assert.truthy(doc.text(f):find("last_layer (false", 1, true), doc.text(f))
    end
  end)
end)

describe("nn.fit without a progress bar", function()
  -- Runs a 2-epoch fit in a child lunette whose bars are off (LUNETTE_PROGRESS=0, as when
  -- stderr is a file or a pipe); returns its stderr.
  local function run_fit(verbose)
    local script = ([[
      local lt = require "lunette"
      local X, Y = lt.Generator(1):randn(64, 4), (lt.arange(64):remainder(3) + 1):long()
      lt.nn.fit(lt.nn.mlp { 4, 3, seed = 1 }, { x = X, y = Y }, { epochs = 2, batch_size = 16,
        seed = 1, verbose = %s })
    ]]):format(tostring(verbose))
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(script)
    f:close()
    local p = io.popen(("LUNETTE_PROGRESS=0 %s/lunette %s 2>&1"):format(BUILD, path))
    local out = p:read("a")
    p:close()
    os.remove(path)
    return out
  end

  local LINE = "epoch (%d)/2  loss %d+%.%d+  acc %d%.%d+  %d+%.%d s  %d+ samples/s\n"

  it("prints one line per epoch (loss, accuracy, time) by default and with verbose = true", function()
    for _, v in ipairs { "nil", "true" } do
      local out = run_fit(v)
      local epochs = {}
      for e in out:gmatch(LINE) do epochs[#epochs + 1] = tonumber(e) end
      assert.same({ 1, 2 }, epochs, out)
    end
  end)

  it("prints nothing with verbose = false", function()
    assert.equal("", run_fit(false))
  end)
end)
