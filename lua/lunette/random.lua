-- lunette.random: seeded generators, the default generator behind the module functions, and sampling sugar.
--
--   local g = lunette.random.Generator(42)
--   g:rand(3, 4)                         -- uniform [0, 1), float32
--   g:randn({3, 4}, "float64")           -- standard normal
--   g:uniform(-1, 1, 5)  g:normal(0, 2, 5)
--   g:randint(1, 7, 10)                  -- 10 dice rolls: 1..6 (hi excluded, as numpy)
--   g:randperm(5)                        -- a permutation of 1..5
--   g:choice(100, 10)                    -- 10 distinct indices of 1..100
--   g:choice(t, 3, {replace = true, weights = w})  -- 3 rows of t
--   g:choice({"a", "b", "c"}, 2)         -- 2 elements of a Lua array
--   g:bernoulli(0.3, 100)                -- bool mask; bernoulli(p_tensor) per element
--   g:shuffle(t)                         -- rows of t in random order
--   g:state(), g:set_state(s), g:clone(), g:seed(n)
--   lunette.random.rand(3, {generator = g, dtype = "float64"})
--
-- The module functions (rand, randn, ..., seed, state, set_state) draw from
-- the default generator, which starts as Generator(DEFAULT_SEED = 0), so a
-- script that never seeds still gives the same numbers on every run;
-- lunette.seed(n) restarts it. Draws are sequential: a seed gives the same
-- numbers whatever the thread count.
--
-- An options table may stand where a dtype does (opts below): dtype (float32; int64 for
-- randint and randperm) and generator (the default generator); choice's also holds replace
-- (false) and weights (nil: uniform). An unknown key raises, naming the function.

-- raise(msg): a façade error at the user's line (lunette.options).
local function raise(msg) require("lunette.options").raise(msg) end
local C = require "lunette._random"
local tensor = require "lunette.tensor"

local M = {}
local methods = C.methods

-- Generator([seed = 0]) -> Generator
-- A new random generator (any integer seed, negative too); its methods
-- (g:rand, g:randn, ...) mirror the module functions, which draw from
-- random.default_generator.
M.Generator = C.Generator
M.DEFAULT_SEED = C.DEFAULT_SEED
M.default_generator = C.default_generator

for _, name in ipairs { "rand", "randn", "uniform", "normal", "randint", "randperm", "choice",
                        "bernoulli", "rand_like", "randn_like", "seed", "state", "set_state" } do
  M[name] = C[name]
end

-- Each function below is also a Generator method (g:rand(...)); the module
-- function draws from the default generator. Shapes are given as sizes...
-- or {sizes}, optionally followed by a dtype name or an options table
-- {dtype =, generator = g}.

--- rand(sizes... [, dtype | opts]) -> Tensor
-- g:rand(sizes... [, dtype | opts]) -> Tensor
-- Uniform samples in [0, 1), float32 unless dtype is another float type.

--- randn(sizes... [, dtype | opts]) -> Tensor
-- g:randn(sizes... [, dtype | opts]) -> Tensor
-- Standard normal samples, float32 unless dtype says otherwise.

--- uniform(lo, hi, sizes... [, dtype | opts]) -> Tensor
-- g:uniform(lo, hi, sizes...) -> Tensor
-- Uniform samples in [lo, hi).

--- normal(mean, std, sizes... [, dtype | opts]) -> Tensor
-- g:normal(mean, std, sizes...) -> Tensor
-- Normal samples with that mean and standard deviation.

--- rand_like(t [, dtype | opts]) -> Tensor
-- randn_like(t [, dtype | opts]) -> Tensor
-- g:rand_like(t) -> Tensor
-- g:randn_like(t) -> Tensor
-- rand / randn of t's shape, and of t's dtype when it is a float type.

--- randint(lo, hi, sizes... [, dtype | opts]) -> Tensor
-- g:randint(lo, hi, sizes...) -> Tensor
-- Integers in [lo, hi): hi is excluded, as numpy's and torch's randint
-- (randint(0, 10, {5}) never draws 10). Options: dtype (default "int64";
-- another type must hold the range exactly), generator, endpoint = false
-- (true includes hi, as numpy's Generator.integers: the only way to draw
-- up to math.maxinteger). Fails when hi <= lo (hi < lo with endpoint).

--- randperm(n [, dtype | opts]) -> Tensor [n]
-- g:randperm(n) -> Tensor
-- A random permutation of 1..n (int64).

--- choice(n | t | array, k [, {replace = false, weights = w, generator = g}]) -> indices | rows | array
-- g:choice(x, k [, opts]) -> ...
-- k draws from 1..n (1-based int64 indices), from the rows of tensor t (a
-- tensor of k rows) or from the elements of a Lua array (a Lua array);
-- without replacement unless replace, uniformly unless weights (n
-- non-negative numbers, a tensor or an array) are given. Fails when k
-- exceeds n without replacement or the weights are invalid.

--- bernoulli(p, sizes... [, opts]) -> bool Tensor
-- g:bernoulli(p | p_tensor, ...) -> bool Tensor
-- true with probability p in [0, 1]; with a tensor of probabilities, one
-- draw per element (its shape).

--- seed(n) -> Generator
-- g:seed(n) -> g
-- Restarts the (default) generator from seed n (any integer, negative too,
-- as every seed in lunette): the same seed gives the same draws, on any
-- thread count. lunette.seed is random.seed.

-- manual_seed(n) -> Generator
-- torch's name for seed(n): restarts the default generator (also lunette.manual_seed).
function M.manual_seed(n)
  local g = C.seed(n)
  return g
end

--- state() -> string
-- g:state() -> string
-- The whole generator state as a printable string, for set_state.

--- set_state(s) -> Generator
-- g:set_state(s) -> g
-- Restores a state taken with state(): draws continue exactly from there;
-- fails on a malformed string.

--- g:clone() -> Generator
-- An independent generator in the same state as g.

-- The rows of a tensor, or the elements of a Lua array, in random order.
local function shuffle(g, x, opts)
  require("lunette.options").check("shuffle", 2, opts, { "generator" })
  local gen = type(opts) == "table" and opts.generator or g
  if tensor.is_tensor(x) then
    if x:dim() == 0 then raise("bad argument #1 to 'shuffle' (cannot shuffle a 0-d tensor)") end
    return x:index_select(1, gen:randperm(x:size(1)))
  elseif type(x) == "table" then
    local out = {}
    for i, j in ipairs(gen:randperm(#x):totable()) do out[i] = x[j] end
    return out
  end
  raise("bad argument #1 to 'shuffle' (tensor or table expected, got " .. type(x) .. ")")
end

-- g:shuffle(x [, {generator = h}]) -> copy
-- A copy of x with the rows of a tensor (or the elements of a Lua array)
-- in random order; fails on a 0-d tensor or any other type.
function methods.shuffle(g, x, opts) local r = shuffle(g, x, opts) return r end
-- shuffle(x [, {generator = g}]) -> copy
-- g:shuffle(x) with the default generator (or opts.generator).
function M.shuffle(x, opts) local r = shuffle(C.default_generator, x, opts) return r end

return M
