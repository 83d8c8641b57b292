-- random_spec.lua: lunette.random - determinism, generator state, distributions, sampling without
-- replacement, weighted choice, dtype options and error messages.
local lt = require "lunette"
local R = lt.random

-- Tallies of the values of a tensor or array: counts[v] = how often v occurs.
local function tally(x)
  local counts = {}
  for _, v in ipairs(lt.tensor.is_tensor(x) and x:totable() or x) do counts[v] = (counts[v] or 0) + 1 end
  return counts
end

local function same(a, b) return a:dtype() == b:dtype() and a:equal(b) end

-- |got - want| within z standard errors of a proportion p over n draws.
local function assert_rate(got, p, n, z)
  local se = math.sqrt(p * (1 - p) / n)
  assert(math.abs(got - p) <= (z or 4.5) * se,
         ("rate %.5f, expected %.5f +- %.5f"):format(got, p, (z or 4.5) * se))
end

-- Calls f and returns its error message (failing the test if it succeeds).
local function err_of(f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error")
  return tostring(msg)
end

local function assert_err(pattern, f, ...)
  local msg = err_of(f, ...)
  assert(msg:find(pattern, 1, true), ("error %q does not contain %q"):format(msg, pattern))
end

describe("lunette.random", function()
  describe("determinism", function()
    it("gives identical tensors for the same seed, from every sampler", function()
      local function draw(g)
        return { g:rand(50), g:randn(3, 7, "float64"), g:randint(-5, 5, 40), g:randperm(30),
                 g:choice(1000, 20), g:choice(8, 30, { replace = true }), g:bernoulli(0.4, 64),
                 g:uniform(-2, 3, 10), g:normal(1, 2, 10), g:choice(5, 3, { weights = { 1, 2, 3, 4, 5 } }) }
      end
      local a, b = draw(R.Generator(123)), draw(R.Generator(123))
      for i = 1, #a do assert.is_true(same(a[i], b[i]), "sampler #" .. i .. " differs") end
    end)

    it("gives different streams for different seeds, negative seeds included", function()
      local x = R.Generator(1):rand(100)
      assert.is_false(x:equal(R.Generator(2):rand(100)))
      assert.is_false(x:equal(R.Generator(-1):rand(100)))
      assert.is_true(R.Generator(-1):rand(10):equal(R.Generator(-1):rand(10)))
      assert.is_true(R.Generator(math.maxinteger):rand(3):equal(R.Generator(math.maxinteger):rand(3)))
      assert.is_true(R.Generator(7.0):rand(5):equal(R.Generator(7):rand(5)))
    end)

    it("matches an independent xoshiro256** + splitmix64 reference bit for bit", function()
      -- randint over the whole int64 range returns each raw 64-bit output
      -- shifted by 2^63; the expected values come from a separate Python
      -- implementation of Blackman & Vigna's reference code.
      local want = {
        [0] = { 1867972634398290612, 4570625273314559274, -7322988658008267040 },
        [42] = { -7676373272452217066, -2232420343890232706, 3321214725393783201 },
        [-1] = { 1104825383502392584, 4933306470170198061, 134599743100700318 },
      }
      for seed, w in pairs(want) do
        assert.same(w, R.Generator(seed):randint(math.mininteger, math.maxinteger, 3, { endpoint = true }):totable())
      end
    end)

    it("seed(n) makes the module functions reproducible (lunette.seed is the same)", function()
      assert.equal(R.seed, lt.seed)
      lt.seed(99)
      local a, p = lt.rand(20), lt.randperm(10)
      R.seed(99)
      assert.is_true(same(a, lt.rand(20)))
      assert.is_true(same(p, lt.randperm(10)))
      lt.seed(99)
      assert.equal("Generator(seed=99)", tostring(R.default_generator))
      assert.is_true(same(a, R.Generator(99):rand(20)))
    end)

    it("starts the default generator from DEFAULT_SEED in a fresh interpreter", function()
      local host = (os.getenv("LUNETTE_BUILD") or "build") .. "/lunette"
      local p = io.popen(host .. [[ -e 'local lt = require "lunette"; io.write(table.concat(lt.randint(0, 1000000, 5):totable(), ","))']])
      local out = p:read("a")
      p:close()
      assert.equal(0, R.DEFAULT_SEED)
      assert.equal(table.concat(R.Generator(0):randint(0, 1000000, 5):totable(), ","), out)
    end)

    it("keeps generators independent of the default one and of each other", function()
      lt.seed(5)
      local a = lt.rand(10)
      lt.seed(5)
      local g = R.Generator(5)
      g:rand(1000)                                 -- drawing from g ...
      lt.rand(3, { generator = R.Generator(8) })   -- ... or through options ...
      assert.is_true(same(a, lt.rand(10)))         -- ... leaves the default stream alone
      local h = R.Generator(11)
      assert.is_true(same(lt.rand(6, { generator = h }), R.Generator(11):rand(6)))
      assert.is_true(same(R.Generator(11):rand(12):narrow(1, 7, 6), h:rand(6))) -- options advanced h
    end)

    it("round-trips state() / set_state(), including a pending normal", function()
      local g = R.Generator(3)
      g:randn(3) -- odd count: the second normal of a pair is pending
      local s = g:state()
      assert.equal("string", type(s))
      local x, y = g:randn(5), g:rand(4)
      local h = R.Generator(0):set_state(s)
      assert.is_true(same(x, h:randn(5)))
      assert.is_true(same(y, h:rand(4)))
      R.set_state(s)
      assert.equal(s, R.state())
      assert.is_true(same(x, lt.randn(5)))
    end)

    it("clone() copies the state and then goes its own way", function()
      local g = R.Generator(21)
      g:rand(7)
      local c = g:clone()
      local a = g:randint(1, 100, 20)
      assert.is_true(same(a, c:randint(1, 100, 20)))
      g:rand(5)                  -- advancing g leaves c behind
      local next_g = g:rand(4)
      c:rand(5)
      assert.is_true(same(next_g, c:rand(4)))
    end)

    it("draws one sequential stream whatever the shape or the call split", function()
      assert.is_true(same(R.Generator(4):rand(4, 5):reshape(20), R.Generator(4):rand(20)))
      local g = R.Generator(4)
      local parts = lt.cat({ g:randn(3, "float64"), g:randn(3, "float64") })
      assert.is_true(same(parts, R.Generator(4):randn(6, "float64")))
      local h = R.Generator(9)
      assert.is_true(same(lt.cat({ h:randint(0, 9, 4), h:randint(0, 9, 3) }), R.Generator(9):randint(0, 9, 7)))
    end)

    it("names generators by their seed", function()
      assert.equal("Generator(seed=42)", tostring(R.Generator(42)))
      assert.equal("Generator(seed=-3)", tostring(R.Generator(5):seed(-3)))
      local g = R.Generator(1):set_state(R.Generator(2):state())
      assert.equal("Generator(state restored)", tostring(g))
    end)
  end)

  describe("distributions", function()
    local N = 100000

    it("rand is uniform on [0, 1) in float32 and float64", function()
      for _, dt in ipairs { "float32", "float64" } do
        local x = R.Generator(17):rand(N, dt)
        assert.equal(dt, x:dtype())
        assert.is_true(x:min() >= 0 and x:max() < 1)
        assert.is_true(math.abs(x:mean() - 0.5) < 4.5 * math.sqrt(1 / 12 / N))
        assert.is_true(math.abs(x:var() - 1 / 12) < 0.0012)
        -- deciles: a generator stuck in part of the interval fails here
        local counts = tally((x * 10):floor():long())
        for d = 0, 9 do assert_rate((counts[d] or 0) / N, 0.1, N) end
      end
    end)

    it("uniform(lo, hi) stays in [lo, hi) even when rounding would reach hi", function()
      local x = R.Generator(2):uniform(-3, 5, N)
      assert.is_true(x:min() >= -3 and x:max() < 5)
      assert.is_true(math.abs(x:mean() - 1) < 4.5 * math.sqrt(64 / 12 / N))
      local f = R.Generator(2):uniform(0.1, 0.2, N)          -- float32: 0.2 is not representable
      assert.is_true(f:max() < 0.2 and f:min() >= 0.1 - 1e-8)
      -- eight values of the dtype lie in [1, hi); one draw in sixteen rounds to hi before the clamp
      for dt, ulp in pairs { float32 = 2 ^ -23, float64 = 2 ^ -52 } do
        local hi = 1 + 8 * ulp
        local v = R.Generator(2):uniform(1, hi, 2000, dt)
        assert.is_true(v:max() < hi and v:min() >= 1, dt)
        assert.equal(8, v:unique():numel(), dt)
      end
      local h = R.Generator(2):uniform(1, 1.001, 1000, "float16") -- only 1 and 1+2^-10 fit
      assert.is_true(h:max() < 1.001 and h:min() >= 1)
      assert.same({ 1, 1 + 2 ^ -10 }, h:double():unique():totable())
      assert.is_true(R.Generator(2):uniform(4, 4, 5):equal(lt.full({ 5 }, 4)))
    end)

    it("randn is standard normal (mean, std, and mass within one sigma)", function()
      local x = R.Generator(31):randn(N)
      assert.is_true(math.abs(x:mean()) < 4.5 / math.sqrt(N))
      assert.is_true(math.abs(x:std() - 1) < 4.5 / math.sqrt(2 * N))
      local inside = x:abs():le(1):double():mean()
      assert_rate(inside, 0.682689, N)                  -- a uniform of variance 1 gives 0.577
      assert_rate(x:gt(1.959964):double():mean(), 0.025, N)
    end)

    it("normal(mean, std) shifts and scales", function()
      local x = R.Generator(8):normal(3, 2, N, "float64")
      assert.is_true(math.abs(x:mean() - 3) < 4.5 * 2 / math.sqrt(N))
      assert.is_true(math.abs(x:std() - 2) < 4.5 * 2 / math.sqrt(2 * N))
      assert.is_true(R.Generator(8):normal(7, 0, 4):equal(lt.full({ 4 }, 7)))
    end)

    it("randint covers every value of [lo, hi) evenly and nothing outside", function()
      local n = 40000
      local x = R.Generator(6):randint(-3, 5, n)
      assert.equal("int64", x:dtype())
      assert.same({ -3, -2, -1, 0, 1, 2, 3, 4 }, x:unique():totable())
      local counts = tally(x)
      for v = -3, 4 do assert_rate(counts[v] / n, 1 / 8, n) end
      assert.same({ 5, 5, 5 }, R.Generator(1):randint(5, 6, 3):totable())
      assert.same({ 5, 5, 5 }, R.Generator(1):randint(5, 5, 3, { endpoint = true }):totable())
      local big = R.Generator(1):randint(0, 2 ^ 62, 1000)      -- wide spans stay in range
      assert.is_true(big:min() >= 0 and big:max() < 2 ^ 62 and big:max() > 2 ^ 61)
    end)

    it("bernoulli hits its rate; p = 0 and p = 1 are exact", function()
      local b = R.Generator(12):bernoulli(0.3, N)
      assert.equal("bool", b:dtype())
      assert_rate(b:double():mean(), 0.3, N)
      assert.is_false(R.Generator(1):bernoulli(0, 1000):any())
      assert.is_true(R.Generator(1):bernoulli(1, 1000):all())
    end)

    it("bernoulli of a probability tensor draws each element at its own rate", function()
      local p = lt.tensor({ 0.1, 0.9, 0, 1 }, "float64"):reshape(1, 4):expand(20000, 4) -- strided input
      local m = R.Generator(13):bernoulli(p, { dtype = "float32" })
      assert.same({ 20000, 4 }, m:size())
      assert.equal("float32", m:dtype())
      local rates = m:mean(1):totable()
      assert_rate(rates[1], 0.1, 20000)
      assert_rate(rates[2], 0.9, 20000)
      assert.same({ 0, 1 }, { rates[3], rates[4] })
    end)
  end)

  describe("permutations and choice", function()
    it("randperm(n) is a permutation of 1..n", function()
      local p = R.Generator(1):randperm(1000)
      assert.equal("int64", p:dtype())
      assert.is_true(p:sort():equal(lt.arange(1, 1001)))
      assert.equal(0, R.Generator(1):randperm(0):numel())
      assert.same({ 1 }, R.Generator(1):randperm(1):totable())
    end)

    it("randperm gives all orderings equally often", function()
      local g, n, counts = R.Generator(77), 6000, {}
      for _ = 1, n do
        local k = table.concat(g:randperm(3):totable())
        counts[k] = (counts[k] or 0) + 1
      end
      for _, k in ipairs { "123", "132", "213", "231", "312", "321" } do assert_rate(counts[k] / n, 1 / 6, n) end
    end)

    it("choice without replacement never repeats (dense and sparse paths)", function()
      for _, nk in ipairs { { 50, 40 }, { 50, 50 }, { 600, 100 }, { 1000000, 2000 }, { 2 ^ 40, 100 } } do
        local n, k = nk[1], nk[2]
        local c = R.Generator(3):choice(n, k)
        assert.equal(k, c:numel())
        assert.equal(k, c:unique():numel())
        assert.is_true(c:min() >= 1 and c:max() <= n)
      end
    end)

    it("choice(n, k) is the first k of randperm(n) from the same state", function()
      assert.is_true(R.Generator(5):choice(10000, 30):equal(R.Generator(5):randperm(10000):narrow(1, 1, 30)))
      assert.is_true(R.Generator(5):choice(5000, 500):equal(R.Generator(5):randperm(5000):narrow(1, 1, 500)))
      assert.is_true(R.Generator(5):choice(40, 30):equal(R.Generator(5):randperm(40):narrow(1, 1, 30)))
    end)

    it("choice without replacement includes every item equally often", function()
      local g, trials, counts = R.Generator(19), 10000, {}
      for _ = 1, trials do
        for _, v in ipairs(g:choice(5, 2):totable()) do counts[v] = (counts[v] or 0) + 1 end
      end
      for v = 1, 5 do assert_rate(counts[v] / trials, 0.4, trials) end
    end)

    it("choice with replacement repeats items at uniform rates", function()
      local n = 60000
      local c = R.Generator(4):choice(3, n, { replace = true })
      local counts = tally(c)
      for v = 1, 3 do assert_rate(counts[v] / n, 1 / 3, n) end
      assert.equal(5, R.Generator(4):choice(2, 5, { replace = true }):numel()) -- k > n is fine
    end)

    it("weighted choice with replacement follows the weights; zero weights never come up", function()
      local n = 100000
      local c = R.Generator(10):choice(5, n, { replace = true, weights = { 1, 0, 2, 3, 4 } })
      local counts = tally(c)
      assert.is_nil(counts[2])
      for v, w in pairs { [1] = 1, [3] = 2, [4] = 3, [5] = 4 } do assert_rate(counts[v] / n, w / 10, n) end
      local w = lt.tensor({ 0, 0, 5, 0 }) -- a float32 tensor works too
      assert.same({ 3, 3, 3 }, R.Generator(1):choice(4, 3, { replace = true, weights = w }):totable())
    end)

    it("weighted choice without replacement: distinct, zero weights excluded, first pick ~ w / sum", function()
      local g, trials, first = R.Generator(14), 8000, {}
      local w = lt.tensor({ 0, 5, 1, 0, 2 }, "float64")
      for _ = 1, trials do
        local c = g:choice(5, 3, { weights = w }):totable()
        table.sort(c)
        assert.same({ 2, 3, 5 }, c)
      end
      for _ = 1, trials do
        local v = g:choice(5, 2, { weights = w })[1]
        first[v] = (first[v] or 0) + 1
      end
      assert_rate(first[2] / trials, 5 / 8, trials)
      assert_rate(first[3] / trials, 1 / 8, trials)
      assert_rate(first[5] / trials, 2 / 8, trials)
    end)

    it("choice of a tensor returns rows, choice of an array returns elements", function()
      local t = lt.arange(12):reshape(4, 3)
      local rows = R.Generator(2):choice(t, 3)
      assert.same({ 3, 3 }, rows:size())
      assert.equal("int64", rows:dtype())
      local idx = R.Generator(2):choice(4, 3)
      assert.is_true(rows:equal(t:index_select(1, idx)))
      local picked = R.Generator(2):choice({ "a", "b", "c", "d" }, 3)
      assert.equal(3, #picked)
      local seen = {}
      for i, v in ipairs(picked) do
        assert.equal(({ "a", "b", "c", "d" })[idx[i]], v)
        assert.is_nil(seen[v]); seen[v] = true
      end
    end)

    it("shuffle permutes tensor rows and array elements", function()
      local t = lt.arange(1, 21)
      local s = R.Generator(3):shuffle(t)
      assert.is_false(s:equal(t))
      assert.is_true(s:sort():equal(t))
      local a = R.Generator(3):shuffle({ 10, 20, 30, 40 })
      table.sort(a)
      assert.same({ 10, 20, 30, 40 }, a)
    end)
  end)

  describe("shapes and dtypes", function()
    it("accepts sizes, a shape table, a dtype name or an options table", function()
      local g = R.Generator(1)
      assert.same({ 3, 4 }, g:rand(3, 4):size())
      assert.same({ 2, 3, 4 }, g:rand({ 2, 3, 4 }):size())
      assert.equal("float64", g:rand(3, 4, "float64"):dtype())
      assert.equal("float64", g:randn({ 3, 4 }, { dtype = "float64" }):dtype())
      assert.equal("float16", g:randn(5, { dtype = "float16" }):dtype())
      assert.equal(0, g:rand():dim())
      assert.equal(0, g:rand(0):numel())
      assert.equal(0, lt.rand({ dtype = "float64" }):dim())
      assert.is_true(R.Generator(6):rand(2, 3):equal(R.Generator(6):rand({ 2, 3 })))
    end)

    it("honours dtype for integer and index results", function()
      local g = R.Generator(1)
      local r = g:randint(0, 10, 100, "int32")
      assert.equal("int32", r:dtype())
      assert.is_true(r:min() >= 0 and r:max() <= 9)
      assert.equal("uint8", g:randint(0, 256, 10, { dtype = "uint8" }):dtype())
      assert.equal("int32", g:randperm(5, "int32"):dtype())
      assert.equal("float64", g:choice(10, 3, { dtype = "float64" }):dtype())
      local b = g:bernoulli(0.5, 1000, "float32")
      assert.equal("float32", b:dtype())
      assert.same({ 0, 1 }, b:unique():totable())
    end)

    it("rand_like / randn_like copy the shape and a float dtype", function()
      local t = lt.zeros({ 2, 5 }, "float64")
      local r = lt.rand_like(t)
      assert.same({ 2, 5 }, r:size())
      assert.equal("float64", r:dtype())
      assert.equal("float32", lt.randn_like(lt.zeros({ 3 }, "int64")):dtype())
      assert.equal("float16", lt.randn_like(t, "float16"):dtype())
      assert.is_true(R.Generator(2):rand_like(t):equal(R.Generator(2):rand(2, 5, "float64")))
    end)
  end)

  describe("errors", function()
    it("name the function and the argument for bad sizes and dtypes", function()
      assert_err("bad argument #1 to 'rand' (size must be non-negative, got -1)", lt.rand, -1)
      assert_err("bad argument #2 to 'rand' (size must be a non-negative integer, got 2.5)", lt.rand, 3, 2.5)
      assert_err("bad argument #2 to 'rand' (float dtype expected, got int64)", lt.rand, 3, "int64")
      assert_err("bad argument #2 to 'randn' (unknown dtype 'float31'", lt.randn, 3, "float31")
      assert_err("bad argument #2 to 'rand' (unknown option 'dtyp' to 'rand' (did you mean 'dtype'?))", lt.rand, 3, { dtyp = "float64" })
      assert_err("bad argument #2 to 'rand' (size, shape table, dtype name or options table expected, got boolean)",
                 lt.rand, 3, true, 4)
      assert_err("bad argument #2 to 'rand' (option generator: Generator expected, got number)", lt.rand, 3, { generator = 5 })
      assert_err("bad argument #1 to 'randperm' (n must be non-negative, got -1)", lt.randperm, -1)
      assert_err("bad argument #2 to 'randperm' (values in [1, 300] do not fit uint8 exactly)", lt.randperm, 300, "uint8")
      assert_err("bad argument #1 to 'rand_like' (tensor expected, got number)", lt.rand_like, 3)
    end)

    it("reject empty or inverted ranges and bad parameters", function()
      assert_err("bad argument #2 to 'randint' (hi 1 must be above lo 5 (hi is excluded", lt.randint, 5, 1)
      assert_err("bad argument #2 to 'randint' (hi 1 is below lo 5)", R.Generator(1).randint, R.Generator(1), 5, 1, { endpoint = true })
      assert_err("bad argument #1 to 'randint' (lo must be an integer, got 1.5)", lt.randint, 1.5, 3)
      assert_err("bad argument #2 to 'randint' (hi expected (integer), got no value)", lt.randint, 1)
      assert_err("bad argument #4 to 'randint' (values in [0, 300] do not fit uint8 exactly)", lt.randint, 0, 301, 4, "uint8")
      assert_err("bad argument #2 to 'uniform' (hi 1 is below lo 2)", lt.uniform, 2, 1)
      assert_err("bad argument #1 to 'uniform' (lo must be finite, got inf)", lt.uniform, math.huge, 1)
      assert_err("bad argument #2 to 'normal' (std must be non-negative, got -1)", lt.normal, 0, -1)
      assert_err("bad argument #1 to 'bernoulli' (probability must be in [0, 1], got 1.5)", lt.bernoulli, 1.5, 3)
      assert_err("bad argument #1 to 'bernoulli' (probability must be in [0, 1], got", lt.bernoulli, 0 / 0, 3)
      assert_err("bad argument #1 to 'bernoulli' (probability 2 at position 3 is outside [0, 1])",
                 lt.bernoulli, lt.tensor({ 0.5, 1, 2 }))
      assert_err("bad argument #2 to 'bernoulli' (dtype name or options table expected, got number)",
                 lt.bernoulli, lt.tensor({ 0.5 }), 3)
    end)

    it("reject impossible choices and bad weights", function()
      assert_err("bad argument #2 to 'choice' (cannot take 5 of 3 items without replacement)", lt.choice, 3, 5)
      assert_err("bad argument #1 to 'choice' (cannot choose from 0 items)", lt.choice, 0, 2, { replace = true })
      assert_err("bad argument #1 to 'choice' (item count, array or tensor expected, got string)", lt.choice, "x", 2)
      assert_err("bad argument #2 to 'choice' (k must be non-negative, got -1)", lt.choice, 3, -1)
      assert_err("bad argument #3 to 'choice' (weights[2] = -1 is negative)", lt.choice, 3, 1, { weights = { 1, -1, 2 } })
      assert_err("bad argument #3 to 'choice' (weights[1] is NaN)", lt.choice, 3, 1, { weights = { 0 / 0, 1, 2 } })
      assert_err("bad argument #3 to 'choice' (weights[3] is infinite)", lt.choice, 3, 1, { weights = { 1, 1, math.huge } })
      assert_err("bad argument #3 to 'choice' (weights are all zero)", lt.choice, 3, 1, { replace = true, weights = { 0, 0, 0 } })
      assert_err("bad argument #3 to 'choice' (weights must be 1-d with 3 elements (one per item), got [2])",
                 lt.choice, 3, 1, { weights = lt.tensor({ 1, 2 }) })
      assert_err("bad argument #2 to 'choice' (cannot take 3 items without replacement: only 2 have positive weight)",
                 lt.choice, 4, 3, { weights = { 1, 0, 1, 0 } })
      assert_err("bad argument #3 to 'choice' (option replace: boolean expected, got number)", lt.choice, 3, 1, { replace = 1 })
      assert_err("bad argument #3 to 'choice' (unknown option 'weight'", lt.choice, 3, 1, { weight = { 1, 2, 3 } })
      assert_err("bad argument #1 to 'choice' (cannot choose from a 0-d tensor)", lt.choice, lt.tensor(3), 1)
    end)

    it("reject non-integer seeds and foreign states; methods need a generator", function()
      assert_err("bad argument #1 to 'seed' (seed must be an integer, got 1.5)", lt.seed, 1.5)
      assert_err("bad argument #1 to 'seed' (seed expected (integer), got string)", lt.seed, "7")
      assert_err("bad argument #1 to 'seed' (seed expected (integer), got no value)", lt.seed)
      assert_err("bad argument #1 to 'Generator' (seed must be an integer, got 0.5)", R.Generator, 0.5)
      assert_err("bad argument #1 to 'set_state' (not a generator state (expected a string from g:state()))",
                 R.set_state, "hello")
      local zero = "xoshiro256**:" .. ("0"):rep(64) .. ":0:" .. ("0"):rep(16)
      assert_err("bad argument #1 to 'set_state' (not a generator state", R.Generator(1).set_state, R.Generator(1), zero)
      local g = R.Generator(1)
      assert_err("bad self to 'rand' (Generator expected, got number; call it as g:rand(...))", g.rand, 3)
    end)

    it("point at the caller's line, for module functions as for methods", function()
      local function where(f) return err_of(f):match("^(.-):%d+: bad argument") end
      assert.equal("random_spec.lua", where(function() lt.rand(-1) end):match("[^/]+$"))
      assert.equal("random_spec.lua", where(function() R.Generator(1):randint(2, 1) end):match("[^/]+$"))
      assert.equal("random_spec.lua", where(function() R.shuffle(3) end):match("[^/]+$"))
    end)

    it("are raised before anything is allocated or drawn", function()
      local g = R.Generator(8)
      local s = g:state()
      collectgarbage("collect")
      collectgarbage("stop")
      local before = lt.memory()
      err_of(g.rand, g, 3, "int64")
      err_of(g.randint, g, 5, 1, 1000)
      err_of(g.choice, g, 3, 5)
      err_of(g.bernoulli, g, 2, 100)
      local after = lt.memory()
      collectgarbage("restart")
      assert.equal(before, after)
      assert.equal(s, g:state())
    end)
  end)
end)
