-- lunette: the top-level table. Tensor functions are also reachable directly
-- (lunette.zeros, lunette.matmul, ...) as in torch; modules hang off it.
local tensor = require "lunette.tensor"
local C = require "lunette._tensor"

local lunette = { _VERSION = "lunette 0.1.0", tensor = tensor }

for k, v in pairs(tensor) do
  if lunette[k] == nil then lunette[k] = v end
end

local ok_random, random = pcall(require, "lunette.random")
if ok_random then
  lunette.random = random
  for _, k in ipairs { "seed", "rand", "randn", "randint", "randperm", "choice", "bernoulli",
                       "uniform", "normal", "rand_like", "randn_like", "Generator" } do
    lunette[k] = random[k]
  end
end
local ok_linalg, linalg = pcall(require, "lunette.linalg")
if ok_linalg then
  lunette.linalg = linalg
  for _, k in ipairs { "matmul", "bmm", "mm", "mv", "outer", "dot", "cosine_similarity", "cdist" } do
    lunette[k] = linalg[k]
  end
end

-- Live bytes held by tensor storages (what the GC will give back when they die).
lunette.memory = C.memory
-- Wall-clock seconds (monotonic), for timing scripts and benchmarks.
lunette.time = C.clock

return lunette
