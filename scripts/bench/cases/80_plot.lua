-- plot: the seed figures end to end (build the figure, draw, encode, write the file).
-- @row plot_seed1_grid goal=10 title="2×3 scatter grid, 5000 pts/panel, legends+grids, 300 dpi PNG"
-- @row plot_seed2_3d goal=10 title="six 3-D panels, 5000 pts+512 anchors+wireframe+50 lines, 200 dpi PNG"
-- @row plot_scatter_1e6 goal=1 title="scatter of 10^6 points, per-point colours, 100 dpi PNG (lunette goal < 2 s)"
local bench = require "bench"
local lt = bench.lt
-- matplotlib needs seconds per figure, so this group runs one round per side
-- with a short per-case policy (the same in 80_plot.py):
-- @rounds 1
local SEED = { warmup = 1, min = 3, budget = 0 }
local plot = lt.plot

local out = os.tmpname()
os.remove(out)
out = out .. ".png"

-- Same data as 80_plot.py: bench.pattern values in [0, 1) against a
-- quadratic scramble of the index (a linear one puts the points on lines).
local function scramble(n, shift)
  local i = lt.arange(shift or 0, (shift or 0) + n, 1, "int64")
  return ((i * i * 7919 + i * 104729) % 10007):double() / 10007
end
local N = 5000
local px, py = bench.pattern(N):double() * 80 - 40, scramble(N) * 80 - 40
local keep = (lt.arange(N) % 20):eq(0)
local kx, ky = px[keep], py[keep]
local dx, dy = px[keep:logical_not()], py[keep:logical_not()]

local function seed1()
  local fig, axes = plot.subplots(2, 3, { size = { 18, 12 }, style = "seaborn", rc = { ["font.size"] = 12 } })
  for r = 1, 2 do
    for c = 1, 3 do
      local ax = axes[r][c]
      ax:scatter(dx, dy, { c = "lightgray", alpha = 0.3, s = 1, label = "Discarded" })
      ax:scatter(kx, ky, { c = ({ "red", "blue", "green" })[c], alpha = 0.8, s = 10, label = "Selected" })
      ax:title("Selection " .. r .. c, { fontsize = 14 })
      ax:xlabel("t-SNE 1")
      ax:ylabel("t-SNE 2")
      ax:legend()
      ax:grid(true, { alpha = 0.3 })
    end
  end
  assert(fig:save(out, { dpi = 300, bbox = "tight" }))
end

-- points on the unit sphere from the same pattern
local u, sz = bench.pattern(N):double() * 2 * math.pi, scramble(N) * 2 - 1
local rr = (-(sz * sz) + 1):sqrt()
local sx, sy = u:cos() * rr, u:sin() * rr
local au, az_ = bench.pattern(512):double() * 2 * math.pi, scramble(512, N) * 2 - 1
local ar = (-(az_ * az_) + 1):sqrt()
local ax_, ay_ = au:cos() * ar, au:sin() * ar
local colors = plot.cmap("tab20")((lt.arange(N) % 20):double() / 19)
local X, Y, Z = plot.sphere_mesh(0.98, 60, 30)

local function seed2()
  local fig = plot.figure { size = { 24, 16 }, style = "dark" }
  fig:suptitle("Hypersphere panels", { fontsize = 16, y = 0.98 })
  for i = 1, 6 do
    local ax = fig:subplot(2, 3, i, { projection = "3d" })
    ax:xlabel("PC1", { fontsize = 8 }); ax:ylabel("PC2", { fontsize = 8 }); ax:zlabel("PC3", { fontsize = 8 })
    ax:tick_params { labelsize = 6 }
    ax:title("Panel " .. i, { fontsize = 11, pad = 10 })
    ax:plot_wireframe(X, Y, Z, { alpha = 0.03, color = "white", linewidth = 0.3 })
    ax:xlim(-1.3, 1.3); ax:ylim(-1.3, 1.3); ax:zlim(-1.3, 1.3)
    ax:scatter(sx, sy, sz, { c = colors, s = 1, alpha = 0.3 })
    ax:scatter(ax_, ay_, az_, { c = "red", s = 8, alpha = 0.6, marker = "^" })
    for k = 1, 50 do
      local a = (k * 7) % 512 + 1
      ax:plot({ sx[k], ax_[a] }, { sy[k], ay_[a] }, { sz[k], az_[a] }, { color = "yellow", alpha = 0.3, linewidth = 0.5 })
    end
  end
  fig:tight_layout { rect = { 0, 0, 1, 0.95 } }
  assert(fig:save(out, { dpi = 200, bbox = "tight", pad = 0.3, facecolor = "black" }))
end

local M = 1000000
local bx, by = bench.pattern(M):double(), scramble(M)
local bc = plot.cmap("viridis")(bench.pattern(M, 3):select(2, 3))

local function big()
  local fig, ax = plot.subplots(1, 1, { size = { 6.4, 4.8 }, style = "default" })
  ax:scatter(bx, by, { c = bc, s = 1 })
  assert(fig:save(out, { dpi = 100 }))
end

bench.run("plot_seed1_grid", seed1, SEED)
bench.run("plot_seed2_3d", seed2, SEED)
bench.run("plot_scatter_1e6", big, { warmup = 1, min = 3, budget = 0 })
os.remove(out)
