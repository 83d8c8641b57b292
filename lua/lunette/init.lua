-- lunette: the top-level table. Tensor functions are also reachable directly
-- (lunette.zeros, lunette.matmul, lunette.seed, ...) as in torch. Every module
-- but tensor (lunette.random, lunette.linalg, lunette.io, ...) is loaded on
-- first use, so a script pays at start-up only for what it touches.
local tensor = require "lunette.tensor"
local C = require "lunette._tensor"

local lunette = { _VERSION = "lunette 0.1.0", tensor = tensor }

local MODULES = { random = true, linalg = true, io = true, data = true, nn = true, sketch = true,
                  select = true, embed = true, plot = true, args = true,
                  display = true, dist = true, cuda = true }
-- A module name wins over a tensor function of the same name: lunette.select is the
-- selection module (t:select(d, i) stays a tensor method).
for k, v in pairs(tensor) do
  if lunette[k] == nil and not MODULES[k] then lunette[k] = v end
end

-- Live bytes held by tensor storages (what the GC will give back when they die).
lunette.memory = C.memory
-- memory_cache([cap]) -> {held, cap, blocks, hits, misses}
-- Blocks of 1 MiB or more that the collector frees are kept (up to cap bytes, 2 GiB to
-- start; the oldest go first) and handed to the next storage that fits in one (the smallest
-- such), so a model's layers reuse mapped pages from one batch to the next instead of
-- faulting in fresh zeroed ones; a miss first gives back held blocks too small for it. held: bytes kept now; blocks: how many; hits and misses: large requests served
-- from the cache and not. A cap (bytes, >= 0) is set first; 0 gives every held block back.
lunette.memory_cache = C.memory_cache
-- Wall-clock seconds (monotonic), for timing scripts and benchmarks.
lunette.time = C.clock

-- help([f | module | "embed.tsne"]): prints the doc of a function, a module
-- (its summary and functions), a class or instance (its methods), or with no
-- argument the list of modules. An unknown name prints a message, not an
-- error. The docs are parsed on the first call (lunette.doc).
function lunette.help(x) require("lunette.doc").help(x) end

-- Top-level shortcuts and the module that provides each.
local SHORTCUTS = {
  random = { "seed", "manual_seed", "rand", "randn", "randint", "randperm", "choice", "bernoulli", "uniform",
             "normal", "rand_like", "randn_like", "Generator", "shuffle" },
  linalg = { "matmul", "bmm", "mm", "mv", "outer", "dot", "cosine_similarity", "cdist" },
}
local provider = {}
for mod, names in pairs(SHORTCUTS) do
  for _, n in ipairs(names) do provider[n] = mod end
end

-- The names __index provides, for the REPL's and the kernel's completion (host/shell.h's
-- __lazy convention): each module with the name completion may load to list its fields, each
-- shortcut listed only.
local lazy = {}
for k in pairs(MODULES) do lazy[k] = "lunette." .. k end
for k in pairs(provider) do lazy[k] = true end

-- Started by mpirun (Open MPI's launcher sets these): join the job at once, so that every
-- rank knows its rank, prints once and aborts the job on an error. Otherwise MPI stays
-- unloaded until a script calls lunette.dist.init().
if os.getenv("OMPI_COMM_WORLD_SIZE") or os.getenv("PMIX_RANK") then
  lunette.dist = require "lunette.dist"
  lunette.dist.init()
end

return setmetatable(lunette, {
  __lazy = lazy,
  __index = function(t, k)
    if MODULES[k] then
      local m = require("lunette." .. k)
      rawset(t, k, m)
      return m
    end
    local mod = provider[k]
    if mod then
      local v = t[mod][k]
      rawset(t, k, v)
      return v
    end
  end,
})
