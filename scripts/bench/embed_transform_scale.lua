-- embed_transform_scale.lua: the time embed.tsne_transform and embed.umap_transform take to place
-- m new points into a map of n reference points (50-d Gaussian mixture of 20 classes; the map is
-- the classes' 2-d centres, seeded, plus noise of std `spread`), split into the kNN query and the
-- optimisation; wall seconds and CPU seconds (all threads).
--   build/lunette scripts/bench/embed_transform_scale.lua N M [spread = 10]
local lt = require "lunette"
local embed = lt.embed
local n, m = tonumber(arg[1]) or 200000, tonumber(arg[2]) or 10000
local spread, d, C = tonumber(arg[3]) or 10, 50, 20
local g = lt.random.Generator(3)
local centres, centres2 = g:randn(C, d) * 6, g:randn(C, 2) * 30
local lab = (g:rand(n + m) * C):floor():long() + 1
local X = centres:index_select(1, lab) + g:randn(n + m, d)
local Y = centres2:index_select(1, lab:narrow(1, 1, n)) + g:randn(n, 2) * spread
local Xr, Xn = X:narrow(1, 1, n), X:narrow(1, n + 1, m)

local function wall()
  local p = io.popen("date +%s.%N")
  local t = tonumber(p:read("a"))
  p:close()
  return t
end

for _, name in ipairs { "tsne_transform", "umap_transform" } do
  local at = {}
  local w0, c0 = wall(), os.clock()
  embed[name](Xr, Y, Xn, { progress = function(stage)
    if not at[stage] then at[stage] = { wall(), os.clock() } end
  end })
  local w1, c1 = wall(), os.clock()
  local o = at.optimize
  print(("%s n=%d m=%d: %.1f s wall, %.1f s CPU (kNN %.1f s wall / %.1f s CPU, optimisation "
    .. "%.1f s wall / %.1f s CPU)"):format(name, n, m, w1 - w0, c1 - c0, o[1] - w0, o[2] - c0,
    w1 - o[1], c1 - o[2]))
end
