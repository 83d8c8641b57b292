-- density_cpu.lua: the two figures of cases/81_density.lua (hexbin and density scatter of 10^6
-- points, colorbar, 300 dpi), three times each, with wall and process CPU seconds per figure (CPU
-- time is what a shared, loaded machine inflates least). build/lunette scripts/bench/density_cpu.lua
local lt = require "lunette"
local plot = lt.plot
local out = os.tmpname()
os.remove(out)
out = out .. ".png"
local M = 1000000
local i = lt.arange(1, M + 1, 1, "int64"):double()
local function frac(t) return t - t:floor() end
local u1 = frac(i * 0.7548776662466927)
local u2 = frac(i * 0.5698402909980532)
local r = ((u1 * (1 - 1e-12) + 1e-12):log() * -2):sqrt()
local t = u2 * (2 * math.pi)
local g1, g2 = r * t:cos(), r * t:sin()
local x = g1:contiguous()
local y = (g1 * 0.5 + g2 * 0.8):contiguous()
for rep = 1, 3 do
  for _, what in ipairs { "hexbin", "density" } do
    local w0, c0 = lt.time(), os.clock()
    local fig, ax = plot.subplots(1, 1, { size = { 6.4, 4.8 } })
    local a = what == "hexbin" and ax:hexbin(x, y, { gridsize = 100, bins = "log" })
      or ax:scatter(x, y, { density = true, s = 1 })
    fig:colorbar(a)
    assert(fig:save(out, { dpi = 300 }))
    print(("%-8s wall %.3f s  cpu %.3f s"):format(what, lt.time() - w0, os.clock() - c0))
  end
end
os.remove(out)
