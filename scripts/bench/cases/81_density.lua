-- plot density: a million points at 300 dpi, as hexbin and as a density-coloured scatter, each
-- with a colorbar (build the figure, bin, draw, encode, write the file).
-- @row plot_hexbin_1e6 goal=1 title="hexbin of 10^6 points, gridsize 100, log bins, colorbar, 300 dpi PNG (lunette goal < 2 s)"
-- @row plot_density_scatter_1e6 goal=1 title="density scatter of 10^6 points (colour = density, densest on top), colorbar, 300 dpi PNG (peer: histogram2d + interpn + argsort; lunette goal < 2 s)"
local bench = require "bench"
local lt = bench.lt
-- matplotlib's density scatter of 10^6 points takes tens of seconds: one round per side
-- @rounds 1
local plot = lt.plot

local out = os.tmpname()
os.remove(out)
out = out .. ".png"

-- Same data as 81_density.py: a correlated Gaussian cloud by Box-Muller from the R2
-- low-discrepancy sequence (i * a mod 1), the same float64 operations on both sides.
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

local function hexbin()
  local fig, ax = plot.subplots(1, 1, { size = { 6.4, 4.8 } })
  local hb = ax:hexbin(x, y, { gridsize = 100, bins = "log" })
  fig:colorbar(hb)
  assert(fig:save(out, { dpi = 300 }))
end

local function density()
  local fig, ax = plot.subplots(1, 1, { size = { 6.4, 4.8 } })
  local sc = ax:scatter(x, y, { density = true, s = 1 })
  fig:colorbar(sc)
  assert(fig:save(out, { dpi = 300 }))
end

bench.run("plot_hexbin_1e6", hexbin, { warmup = 1, min = 3, budget = 0 })
bench.run("plot_density_scatter_1e6", density, { warmup = 1, min = 3, budget = 0 })
os.remove(out)
