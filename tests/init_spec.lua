-- init_spec.lua - the top-level lunette table: lazy modules, shortcuts, name clashes.
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
end)
