-- init_spec.lua - the top-level lunette table: lazy modules, shortcuts, name clashes; the
-- C bindings behind it, one preloaded table per module.
local lt = require "lunette"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "tests"
local H = dofile(here .. "/fixtures/host.lua")

-- Runs a chunk in a fresh `lunette -e` (nothing loaded but what start-up
-- loads); returns its stdout and stderr together, and whether it exited 0.
local function fresh(code)
  local p = io.popen(("%s -e %s 2>&1"):format(H.q(H.host()), H.q(code)))
  local out = p:read("a")
  return out, p:close()
end

describe("lunette table", function()
  it("reaches every module by its name, even where a tensor function has the same name", function()
    for _, m in ipairs { "random", "linalg", "io", "data", "nn", "sketch", "select", "embed", "plot" } do
      assert.are.equal("table", type(lt[m]), m)
    end
    assert.are.equal("function", type(lt.select.sage))
    -- the tensor function stays a method and a tensor-module function
    local x = lt.arange(6):reshape(2, 3)
    assert.are.same({ 3, 4, 5 }, x:select(1, 2):totable()) -- arange counts from 0, like numpy
    assert.are.equal("function", type(lt.tensor.select))
  end)

  it("gives the random and linalg shortcuts", function()
    assert.are.equal(lt.random.seed, lt.seed)
    assert.are.equal(lt.linalg.matmul, lt.matmul)
    assert.is_nil(lt.no_such_thing)
  end)

  -- issue 16 (2): the REPL's completion reads the names __index provides from __lazy
  it("lists every field its __index provides in __lazy, modules by their module name", function()
    local lazy = rawget(getmetatable(lt), "__lazy")
    assert.are.equal("table", type(lazy))
    local n = 0
    for k, v in pairs(lazy) do
      n = n + 1
      if type(v) == "string" then
        -- (other specs may reload a module, so its identity is not compared)
        assert.are.equal("table", type(lt[k]), k)
        assert.is_not_nil(package.preload[v] or package.loaded[v], v)
      else
        assert.is_true(v, k)
        assert.is_not_nil(lt[k], k)
      end
    end
    for _, m in ipairs { "random", "linalg", "io", "data", "nn", "sketch", "select", "embed", "plot",
                         "args", "display" } do
      assert.are.equal("lunette." .. m, lazy[m], m)
    end
    assert.is_true(lazy.randn and lazy.matmul and n > 20)
  end)

  it("loads each C binding as one table merging all its parts (src/lunette.c's list)", function()
    -- a name from every part of the multi-part modules
    local parts = {
      tensor = { "fromtable", "reshape", "add", "sum", "cat" },
      io = { "makedirs", "null", "read_npy", "read_npz", "read_safetensors", "load_pt",
             "read_idx", "read_png", "read_csv" },
      data = { "gather", "term_width" },
      nn = { "sgd_step", "psg_check", "augment_crop_flip" },
      embed = { "_stderr_isatty", "pca_transform" },
      plot = { "canvas", "text_size", "ticks", "husl", "depth_shade" },
    }
    for m, names in pairs(parts) do
      local C = require("lunette._" .. m)
      for _, k in ipairs(names) do assert.is_not_nil(C[k], m .. "." .. k) end
    end
    assert.is_nil(require("lunette._io").data) -- data is its own binding now
  end)
end)

-- issue 13 (5): t:matmul was nil until lunette.linalg was first touched
describe("tensor methods at start-up", function()
  it("include the linalg products, before and without lunette.linalg", function()
    local out, ok = fresh [[
      local loaded = package.loaded["lunette.linalg"] ~= nil
      local maps = io.open("/proc/self/maps")
      local blas = maps and maps:read("a"):find("blas") ~= nil
      local a, b = lt.randn(2, 3), lt.randn(3, 2)
      local p = a:matmul(b)
      local v = lt.tensor { 1, 2 }
      print(loaded, blas, p:dim(), p:size(1), a:mm(b):size(2), v:dot(v), v:outer(v):numel(),
            a:mv(lt.ones(3)):numel(), lt.ones(2, 2, 2):bmm(lt.ones(2, 2, 1)):numel())
    ]]
    assert.is_true(ok, out)
    -- start-up loaded neither the linalg façade nor OpenBLAS (still opened on first use)
    assert.are.equal("false\tfalse\t2\t2\t2\t5\t4\t2\t4\n", out)
  end)

  it("include every method docs/API.md documents for Tensor", function()
    local f = assert(io.open("docs/API.md"))
    local names, seen = {}, {}
    for name in f:read("a"):gmatch("`Tensor:([%w_]+)`") do
      if not seen[name] then names[#names + 1], seen[name] = name, true end
    end
    f:close()
    assert.is_true(#names > 100, "docs/API.md lists " .. #names .. " Tensor methods")
    local out, ok = fresh(([[
      local t, missing = lt.zeros(2, 2), {}
      for name in ("%s"):gmatch("%%S+") do
        if type(t[name]) ~= "function" then missing[#missing + 1] = name end
      end
      io.write(table.concat(missing, " "))
    ]]):format(table.concat(names, " ")))
    assert.is_true(ok, out)
    assert.are.equal("", out, "methods documented but missing on a fresh tensor: " .. out)
  end)
end)
