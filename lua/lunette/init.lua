-- lunette: the top-level table. Tensor functions are also reachable directly
-- (lunette.zeros, lunette.matmul, ...) as in torch; modules (lunette.io,
-- lunette.nn, ...) are loaded on first use so a script pays only for what
-- it touches.
local tensor = require "lunette.tensor"
local C = require "lunette._tensor"

local lunette = { _VERSION = "lunette 0.1.0", tensor = tensor }

for k, v in pairs(tensor) do
  if lunette[k] == nil then lunette[k] = v end
end

local random = require "lunette.random"
lunette.random = random
for _, k in ipairs { "seed", "rand", "randn", "randint", "randperm", "choice", "bernoulli",
                     "uniform", "normal", "rand_like", "randn_like", "Generator" } do
  lunette[k] = random[k]
end

local linalg = require "lunette.linalg"
lunette.linalg = linalg
for _, k in ipairs { "matmul", "bmm", "mm", "mv", "outer", "dot", "cosine_similarity", "cdist" } do
  lunette[k] = linalg[k]
end

-- Live bytes held by tensor storages (what the GC will give back when they die).
lunette.memory = C.memory
-- Wall-clock seconds (monotonic), for timing scripts and benchmarks.
lunette.time = C.clock

local LAZY = { io = true, data = true, nn = true, sketch = true, select = true, embed = true, plot = true }
return setmetatable(lunette, {
  __index = function(t, k)
    if LAZY[k] then
      local m = require("lunette." .. k)
      rawset(t, k, m)
      return m
    end
  end,
})
