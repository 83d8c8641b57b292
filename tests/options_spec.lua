-- options_spec.lua: one rule for options tables and seeds across the modules. Seeds are
-- any integer, negative too, and a non-integer seed raises the same message everywhere;
-- an unknown key raises "unknown option 'k' to 'f' (did you mean 'x'?)", or "(expected ...)"
-- when no known key is close, whether a binding (lbase.h's ltL_check_options) or a façade
-- (lunette.options) caught it.
-- lunette.linalg and lunette.plot take no seed; linalg's options are checked below.
local lt = require "lunette"
local embed = require "lunette.embed"
local S = require "lunette.select"
local sk = require "lunette.sketch"
local R = lt.random
local la = lt.linalg

local function err_of(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return tostring(msg)
end

-- The message f raises, minus the "options_spec.lua:N: " that must start it (the
-- error points at the caller's line, not into lunette).
local function message(f, ...)
  local msg = err_of(f, ...)
  local rest = msg:match("^[^:]*options_spec%.lua:%d+: (.*)$")
  assert(rest, ("error %q does not point at the caller"):format(msg))
  return rest
end

local X = lt.Generator(1):randn(40, 3)

-- Every function of lunette that reads a seed from an options table, as (name, argument
-- number of the table, call with opts).
local SEEDED = {
  { "tsne", 2, function(o) o.perplexity, o.n_iter = 5, 250 return embed.tsne(X, o) end },
  { "tsne_affinities", 2, function(o) o.perplexity = 5 return embed.tsne_affinities(X, o) end },
  { "umap", 2, function(o) o.n_epochs = 10 return embed.umap(X, o) end },
  { "knn", 3, function(o) o.method = "approx" return embed.knn(X, 3, o) end },
  { "pca", 3, function(o) o.solver = "randomized" return embed.pca(X, 2, o) end },
  { "spherical_kmeans", 3, function(o) return embed.spherical_kmeans(X, 2, o) end },
  { "random", 1, function(o) o.n, o.budget = 10, 3 return S.random(o) end },
  { "kcenter", 1, function(o) o.features, o.budget = X, 3 return S.kcenter(o) end },
  { "gradmatch", 1, function(o) o.grads, o.budget = X, 3 return S.gradmatch(o) end },
  { "gaussian", 3, function(o) return sk.gaussian(4, 5, o) end },
  { "sparse_sign", 3, function(o) return sk.sparse_sign(4, 5, o) end },
  { "countsketch", 3, function(o) return sk.countsketch(4, 5, o) end },
}

-- The first result as a comparable value.
local function first(f)
  local r = f()
  if lt.is_tensor(r) then return r end
  return r.components or r
end

-- Runs c's call twice with the same options and says whether the results agree.
local function same(c, o1, o2)
  return first(function() return c[3](o1) end):equal(first(function() return c[3](o2) end))
end

describe("seeds", function()
  it("are any integer, negative too, in every module", function()
    for _, c in ipairs(SEEDED) do
      assert.is_true(same(c, { seed = -1 }, { seed = -1 }), c[1] .. ": seed = -1 does not repeat")
      assert.is_true(same(c, { seed = 2.0 }, { seed = 2 }), c[1] .. ": seed = 2.0 differs from 2")
    end
    assert.is_true(R.Generator(-1):rand(5):equal(R.Generator(-1):rand(5)))
  end)

  it("raise the same message for a non-integer or a non-number", function()
    for _, c in ipairs(SEEDED) do
      local head = ("bad argument #%d to '%s' "):format(c[2], c[1])
      local float, str = message(c[3], { seed = 1.5 }), message(c[3], { seed = "7" })
      assert.equal(head .. "(option 'seed' must be an integer, got 1.5)", float)
      assert.equal(head .. "(option seed: integer expected, got string)", str)
    end
    -- a seed given as an argument rather than in a table: the same rule and wording
    assert.equal("bad argument #1 to 'Generator' (seed must be an integer, got 1.5)",
      message(R.Generator, 1.5))
    assert.equal("bad argument #1 to 'seed' (seed must be an integer, got 1.5)",
      message(lt.seed, 1.5))
    assert.equal("bad argument #1 to 'seed' (seed expected (integer), got string)",
      message(lt.seed, "7"))
  end)
end)

describe("unknown options", function()
  local E = lt.eye(2)
  -- {call, function name, argument number, the key given, the key suggested}
  local CASES = {
    { function() return embed.tsne(X, { perplexty = 5 }) end, "tsne", 2, "perplexty",
      "perplexity" },
    { function() return embed.pca(X, 2, { solvr = "exact" }) end, "pca", 3, "solvr", "solver" },
    { function() return S.agreement { grads = X, budget = 2, budjet = 3 } end, "agreement", 1,
      "budjet", "budget" },
    { function() return S.random { n = 10, budget = 3, sed = 1 } end, "random", 1, "sed", "seed" },
    { function() return lt.rand(3, { dtyp = "float64" }) end, "rand", 2, "dtyp", "dtype" },
    { function() return lt.choice(3, 1, { weight = { 1, 2, 3 } }) end, "choice", 3, "weight",
      "weights" },
    { function() return la.svd(E, { ful = true }) end, "svd", 2, "ful", "full" },
    { function() return lt.cdist(E, E, { sqared = true }) end, "cdist", 3, "sqared", "squared" },
    { function() return la.matrix_rank(E, { tl = 1 }) end, "matrix_rank", 2, "tl", "tol" },
    { function() return sk.gaussian(4, 5, { sed = 1 }) end, "gaussian", 3, "sed", "seed" },
    { function() return lt.set_printoptions { precison = 3 } end, "set_printoptions", 1,
      "precison", "precision" },
  }

  it("raise with the function's name and a did-you-mean, in bindings and façades alike", function()
    for _, c in ipairs(CASES) do
      assert.equal(("bad argument #%d to '%s' (unknown option '%s' to '%s' (did you mean '%s'?))")
        :format(c[3], c[2], c[4], c[2], c[5]), message(c[1]))
    end
  end)

  it("list the known keys when no known key is close", function()
    for _, f in ipairs {
      function() return embed.tsne(X, { zzz = 1 }) end,
      function() return S.random { n = 10, budget = 3, zzz = 1 } end,
      function() return la.svd(E, { zzz = true }) end,
    } do
      local msg = message(f)
      assert.truthy(msg:find("%(unknown option 'zzz' to '[%a_]+' %(expected [%w_, ]+%)%)$"), msg)
    end
    -- one letter off a one-letter key is no evidence of a typo
    local msg = message(function() return S.random { n = 10, budget = 3, k = 1 } end)
    assert.equal("bad argument #1 to 'random' (unknown option 'k' to 'random' (expected budget, "
      .. "fraction, labels, per_class, num_classes, n, seed))", msg)
    -- a function without options says so (torch's inplace = true does nothing here)
    msg = message(function() return lt.nn.ReLU { inplace = true } end)
    assert.equal("bad argument #1 to 'ReLU' (unknown option 'inplace' to 'ReLU' (it takes no "
      .. "options))", msg)
    -- a key that is not a string is named as Lua prints it
    msg = message(function() return la.svd(E, { [1] = true }) end)
    assert.truthy(msg:find("(unknown option '1' to 'svd' (expected ", 1, true), msg)
  end)

  it("read the same from a binding and from a façade", function()
    -- lt.rand's table is checked in C, select.random's in Lua: one format
    local c = message(function() return lt.rand(3, { colour = 1 }) end)
    local l = message(function() return S.random { n = 10, budget = 3, colour = 1 } end)
    assert.equal("bad argument #2 to 'rand' (unknown option 'colour' to 'rand' (expected ", c:sub(1, 71))
    assert.equal("bad argument #1 to 'random' (unknown option 'colour' to 'random' (expected ",
      l:sub(1, 75))
  end)
end)
