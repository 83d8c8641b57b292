-- lunette.random: seeded generators, the default generator behind the module functions, and sampling sugar.
--
--   local g = lunette.random.Generator(42)
--   g:rand(3, 4)                         -- uniform [0, 1), float32
--   g:randn({3, 4}, "float64")           -- standard normal
--   g:uniform(-1, 1, 5)  g:normal(0, 2, 5)
--   g:randint(1, 6, 10)                  -- 10 dice rolls, both ends included
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
local C = require "lunette._random"
local tensor = require "lunette.tensor"

local M = {}
local methods = C.methods

M.Generator = C.Generator
M.DEFAULT_SEED = C.DEFAULT_SEED
M.default_generator = C.default_generator

for _, name in ipairs { "rand", "randn", "uniform", "normal", "randint", "randperm", "choice",
                        "bernoulli", "rand_like", "randn_like", "seed", "state", "set_state" } do
  M[name] = C[name]
end

-- The rows of a tensor, or the elements of a Lua array, in random order.
local function shuffle(g, x, opts)
  local gen = type(opts) == "table" and opts.generator or g
  if tensor.is_tensor(x) then
    if x:dim() == 0 then error("bad argument #1 to 'shuffle' (cannot shuffle a 0-d tensor)", 3) end
    return x:index_select(1, gen:randperm(x:size(1)))
  elseif type(x) == "table" then
    local out = {}
    for i, j in ipairs(gen:randperm(#x):totable()) do out[i] = x[j] end
    return out
  end
  error("bad argument #1 to 'shuffle' (tensor or table expected, got " .. type(x) .. ")", 3)
end

-- g:shuffle(x [, {generator = h}]) / lunette.random.shuffle(x): a shuffled copy.
function methods.shuffle(g, x, opts) local r = shuffle(g, x, opts) return r end
function M.shuffle(x, opts) local r = shuffle(C.default_generator, x, opts) return r end

return M
