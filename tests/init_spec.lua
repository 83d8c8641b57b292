-- init_spec.lua - the top-level lunette table: lazy modules, shortcuts, name clashes; the
-- C bindings behind it, one preloaded table per module.
local lt = require "lunette"

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
