-- plot_fields_spec.lua: violinplot, contour/contourf/clabel, hexbin and heatmap
-- (lunette.plot_fields and src/plot/plot_{contour,density}.c): geometry against exact answers
-- and naive references, levels against matplotlib's, rendered pixels, colorbars for every
-- mappable, and bad input.
local lt = require "lunette"
local plot = require "lunette.plot"
local P = require "lunette._plot"

local TMP = os.tmpname()
os.remove(TMP)
os.execute("mkdir -p '" .. TMP .. "'")
teardown(function() os.execute("rm -rf '" .. TMP .. "'") end)

local function render(fig, name)
  local path = TMP .. "/" .. (name or "f.png")
  assert(fig:save(path))
  return assert(plot.read_png(path))
end

local function num(v) return type(v) == "number" and v or v:item() end

-- Pixel (x, y) (0-based) as r, g, b.
local function px(img, x, y)
  local p = img[{ y + 1, x + 1 }]:totable()
  return p[1], p[2], p[3]
end
local px_of = px

local function near(img, x, y, r, g, b, tol)
  local pr, pg, pb = px(img, x, y)
  tol = tol or 4
  assert(math.abs(pr - r) <= tol and math.abs(pg - g) <= tol and math.abs(pb - b) <= tol,
    ("pixel (%d, %d) is (%d, %d, %d), expected (%d, %d, %d)"):format(x, y, pr, pg, pb, r, g, b))
end

-- A 200 x 200 px figure whose one axes fills it, limits [0, 1] x [0, 1] unless given.
local function canvas(xlim, ylim)
  local fig = plot.figure { size = { 2, 2 }, dpi = 100, layout = "none" }
  local ax = fig:add_axes { 0, 0, 1, 1 }
  ax:xlim(table.unpack(xlim or { 0, 1 }))
  ax:ylim(table.unpack(ylim or { 0, 1 }))
  ax:axis("off")
  return fig, ax
end

-- z = f(x, y) on an n x n grid over [0, 1]^2 as z, X, Y [n x n] float64.
local function grid(n, f)
  local z, X, Y = {}, {}, {}
  for j = 1, n do
    z[j], X[j], Y[j] = {}, {}, {}
    for i = 1, n do
      local x, y = (i - 1) / (n - 1), (j - 1) / (n - 1)
      X[j][i], Y[j][i], z[j][i] = x, y, f(x, y)
    end
  end
  return lt.tensor(z, "float64"), lt.tensor(X, "float64"), lt.tensor(Y, "float64")
end

-- The NaN-separated pieces of xs, ys as lists of {x, y}.
local function pieces(xs, ys)
  local out, cur = {}, nil
  local xt, yt = xs:totable(), ys:totable()
  for k = 1, #xt do
    if xt[k] ~= xt[k] then cur = nil
    else
      if not cur then cur = {} out[#out + 1] = cur end
      cur[#cur + 1] = { xt[k], yt[k] }
    end
  end
  return out
end

local function area(poly)
  local a = 0
  for k = 1, #poly do
    local p, q = poly[k], poly[k % #poly + 1]
    a = a + p[1] * q[2] - q[1] * p[2]
  end
  return a / 2
end

---------------------------------------------------------------------------
describe("contour lines (marching triangles)", function()
  it("are exact on a linear field and stitched into one polyline", function()
    local z, X, Y = grid(11, function(x, y) return x + 0.25 * y end)
    local xs, ys = P.contour_lines(z, X, Y, 0.5)
    local ps = pieces(xs, ys)
    assert.equal(1, #ps)
    for _, p in ipairs(ps[1]) do assert.near(0.5, p[1] + 0.25 * p[2], 1e-12) end
    -- above the level on the left: walking the line, +x (higher z) is to the left
    local a, b = ps[1][1], ps[1][#ps[1]]
    assert.is_true(b[2] < a[2])
  end)

  it("closes a loop around a peak, repeating its first point", function()
    local z, X, Y = grid(41, function(x, y) return math.sqrt((x - 0.5) ^ 2 + (y - 0.5) ^ 2) end)
    local ps = pieces(P.contour_lines(z, X, Y, 0.3))
    assert.equal(1, #ps)
    local p = ps[1]
    assert.same(p[1], p[#p])
    for _, q in ipairs(p) do
      assert.near(0.3, math.sqrt((q[1] - 0.5) ^ 2 + (q[2] - 0.5) ^ 2), 2e-3)
    end
    -- counter-clockwise: the higher values (outside) are on the left, so the loop turns clockwise
    assert.is_true(area(p) < 0)
  end)

  it("skips the cells around a NaN node", function()
    local z, X, Y = grid(11, function(x) return x end)
    z[{ 6, 6 }] = 0 / 0 -- node (0.5, 0.5)
    local ps = pieces(P.contour_lines(z, X, Y, 0.45))
    assert.equal(2, #ps)
    for _, p in ipairs(ps) do
      for _, q in ipairs(p) do assert.is_true(math.abs(q[2] - 0.5) >= 0.1 - 1e-12) end
    end
  end)
end)

describe("contour bands", function()
  it("tile the band exactly: areas add up and equal the analytic area", function()
    local z, X, Y = grid(9, function(x, y) return x + y end)
    local total = 0
    local levels = { 0, 0.5, 1, 1.5, 2 }
    for k = 1, 4 do
      local a = 0
      for _, p in ipairs(pieces(P.contour_band(z, X, Y, levels[k], levels[k + 1]))) do
        a = a + area(p)
      end
      local want = ({ 0.125, 0.375, 0.375, 0.125 })[k]
      assert.near(want, a, 1e-12)
      total = total + a
    end
    assert.near(1, total, 1e-12)
  end)

  it("merge whole cells into one polygon per row run, on sheared grids too", function()
    local z, X, Y = grid(9, function(x) return x end)
    local pr = pieces(P.contour_band(z, X, Y, -1, 2))
    assert.equal(8, #pr) -- one rectangle per row
    assert.equal(4, #pr[1])
    local sheared = (X + Y * 0.3):contiguous()
    local ps = pieces(P.contour_band(z, sheared, Y, -1, 2))
    assert.equal(8, #ps)
    assert.equal(18, #ps[1]) -- 9 lower and 9 upper nodes: the inner nodes need not be collinear
    local a = 0
    for _, p in ipairs(ps) do a = a + area(p) end
    assert.near(1, a, 1e-12) -- a shear keeps the unit area
  end)

  it("leave NaN cells empty", function()
    local z, X, Y = grid(11, function(x) return x end)
    z[{ 6, 6 }] = 0 / 0
    local a = 0
    for _, p in ipairs(pieces(P.contour_band(z, X, Y, -1, 2))) do a = a + area(p) end
    assert.near(1 - 4 * 0.01, a, 1e-12)
  end)
end)

describe("ax:contour / ax:contourf", function()
  local x = lt.linspace(-3, 3, 120):double()
  local y = lt.linspace(-2, 2, 100):double()
  local X = x:reshape(1, 120):expand(100, 120)
  local Y = y:reshape(100, 1):expand(100, 120)
  local Z = (((-(X ^ 2) - Y ^ 2):exp() - (-((X - 1) ^ 2) - (Y - 1) ^ 2):exp()) * 2):contiguous()

  it("choose levels as matplotlib's MaxNLocator does", function()
    local _, ax = canvas()
    -- matplotlib 3.6: contour(x, y, Z).levels and contour(x, y, Z, levels=10).levels
    assert.same({ -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2 }, ax:contour(x, y, Z).levels)
    local l10 = ax:contourf(x, y, Z, { levels = 10 }).levels
    local want = { -2, -1.6, -1.2, -0.8, -0.4, 0, 0.4, 0.8, 1.2, 1.6, 2 }
    assert.equal(#want, #l10)
    for i = 1, #want do assert.near(want[i], l10[i], 1e-12) end
  end)

  it("colour levels through the colormap over the level range, bands by their middle", function()
    local _, ax = canvas()
    local cs = ax:contourf(x, y, Z, { levels = { -2, 0, 2 }, cmap = "viridis" })
    local want = P.cmap_map("viridis", lt.tensor({ -1, 1 }, "float64"), -2, 2, 1):totable()
    assert.same(want, cs.colors)
    local cl = ax:contour(x, y, Z, { levels = { -1, 1 }, colors = "k" })
    assert.same({ "--", "-" }, cl.styles) -- one colour: negative levels dashed
  end)

  it("draw bands without seams and lines where the level is", function()
    local z, Xg, Yg = grid(21, function(xx) return xx end)
    local fig, ax = canvas()
    ax:contourf(Xg, Yg, z, { levels = { 0, 0.5, 1 }, colors = { "red", "blue" } })
    ax:contour(Xg, Yg, z, { levels = { 0.25 }, colors = "black", linewidths = 2 })
    local img = render(fig, "bands.png")
    near(img, 150, 100, 0, 0, 255)
    near(img, 80, 100, 255, 0, 0)
    near(img, 50, 100, 0, 0, 0, 40) -- the line at x = 0.25
    -- across the red/blue edge no pixel lets the white background through
    for yy = 10, 190, 20 do
      for xx = 97, 103 do
        local r, g = px(img, xx, yy)
        assert.is_true(g < 20, ("pixel (%d, %d) has green %d"):format(xx, yy, g))
        assert.is_true(r > 0 or true)
      end
    end
  end)

  it("set tight data limits (sticky edges) and accept 1-d or 2-d coordinates", function()
    local fig = plot.figure { size = { 3, 3 } }
    local ax = fig:subplot(1, 1, 1)
    ax:contourf(x, y, Z)
    local lo, hi = ax:view_limits("x")
    assert.near(-3, lo, 1e-12)
    assert.near(3, hi, 1e-12)
    local a = ax:contour(X:contiguous(), Y:contiguous(), Z)
    assert.is_true(#a.levels > 0)
  end)

  it("label lines with clabel, breaking them under the label", function()
    local fig, ax = canvas({ -3, 3 }, { -2, 2 })
    local cs = ax:contour(x, y, Z, { colors = "k" })
    assert.equal(cs, ax:clabel(cs, { fmt = "%.1f" }))
    assert.equal("0.5", cs.clabel.texts[6])
    render(fig, "clabel.png")
  end)

  it("break a labelled line under its label (inline), upright along the line", function()
    local z, Xg, Yg = grid(21, function(xx) return xx end)
    local function dark_in_column(label)
      local fig, ax = canvas()
      local cs = ax:contour(Xg, Yg, z, { levels = { 0.5 }, colors = "black", linewidths = 1 })
      if label then ax:clabel(cs, { fontsize = 12 }) end
      local img = render(fig, "inline.png")
      local col = img:narrow(2, 99, 4):to("int64"):select(3, 1):min(2)
      return num(col:lt(100):sum())
    end
    local plain, labelled = dark_in_column(false), dark_in_column(true)
    assert.is_true(plain >= 195, "the line spans the axes")
    assert.is_true(plain - labelled >= 20, ("gap of %d px"):format(plain - labelled))
  end)

  it("reject bad input with clear errors", function()
    local _, ax = canvas()
    assert.has_error(function() ax:contour(x, y, Z, { colour = "k" }) end,
      "bad argument #4 to 'contour' (unknown option 'colour' to 'contour' "
      .. "(did you mean 'colors'?))")
    local bad = x:clone()
    bad[3] = 5
    assert.has_error(function() ax:contour(bad, y, Z) end,
      "bad argument #1 to 'contour' (x must be strictly increasing or decreasing)")
    assert.has_error(function() ax:contour(y, y, Z) end,
      "bad argument #1 to 'contour' (x has 100 values but z has 120 columns)")
    assert.has_error(function() ax:contour(lt.zeros(5):double()) end,
      "bad argument #1 to 'contour' (z must be 2-d, got 1-d)")
    assert.has_error(function() ax:contourf(Z, { levels = { 1 } }) end,
      "bad argument #2 to 'contourf' (filled contours need at least 2 levels)")
    assert.has_error(function() ax:contour(Z, { levels = { 1, 0 } }) end,
      "bad argument #2 to 'contour' (levels must be increasing)")
    assert.has_error(function() ax:contour(lt.full({ 3, 3 }, 0 / 0, "float64")) end,
      "bad argument #1 to 'contour' (z has no finite values)")
    assert.has_error(function() ax:contour(lt.zeros(1, 4):double()) end,
      "bad argument #1 to 'contour' (z must be at least 2 x 2, got 1 x 4)")
    assert.has_error(function() ax:clabel({}) end,
      "bad argument #1 to 'clabel' (a contour set from ax:contour expected)")
  end)
end)

---------------------------------------------------------------------------
-- matplotlib's hexbin binning written out point by point (the reference for the C kernel).
local function naive_hexbin(xs, ys, nx, ny, xmin, xmax, ymin, ymax)
  local sx, sy = (xmax - xmin) / nx, (ymax - ymin) / ny
  local nx1, ny1 = nx + 1, ny + 1
  local counts = {}
  for k = 1, nx1 * ny1 + nx * ny do counts[k] = 0 end
  local function round_even(v)
    local f = math.floor(v)
    local d = v - f
    if d > 0.5 or (d == 0.5 and f % 2 == 1) then return f + 1 end
    return f
  end
  for i = 1, #xs do
    local ix, iy = (xs[i] - xmin) / sx, (ys[i] - ymin) / sy
    local ix1, iy1, ix2, iy2 = round_even(ix), round_even(iy), math.floor(ix), math.floor(iy)
    local d1 = (ix - ix1) ^ 2 + 3 * (iy - iy1) ^ 2
    local d2 = (ix - ix2 - 0.5) ^ 2 + 3 * (iy - iy2 - 0.5) ^ 2
    if d1 < d2 then
      if ix1 >= 0 and ix1 < nx1 and iy1 >= 0 and iy1 < ny1 then
        local k = ix1 * ny1 + iy1 + 1
        counts[k] = counts[k] + 1
      end
    elseif ix2 >= 0 and ix2 < nx and iy2 >= 0 and iy2 < ny then
      local k = nx1 * ny1 + ix2 * ny + iy2 + 1
      counts[k] = counts[k] + 1
    end
  end
  return counts
end

describe("hexbin", function()
  lt.random.seed(3)
  local n = 5000
  local x = lt.randn(n):double()
  local y = (x * 0.3 + lt.randn(n):double()):contiguous()

  it("bins points as matplotlib's hexbin (naive reference)", function()
    local counts, acc, cx, cy = P.hexbin(x, y, nil, 20, 11, -3, 3, -3.5, 3.5)
    assert.is_nil(acc)
    assert.equal(21 * 12 + 20 * 11, counts:size(1))
    assert.same(naive_hexbin(x:totable(), y:totable(), 20, 11, -3, 3, -3.5, 3.5), counts:totable())
    assert.near(-3, cx[1], 1e-12)
    assert.near(-3.5, cy[1], 1e-12)
    assert.near(-3 + 0.5 * 6 / 20, cx[21 * 12 + 1], 1e-12)
  end)

  it("reduces C per hexagon (mean, sum, max, min); NaN points are dropped", function()
    local xs = lt.tensor({ 0, 0, 0, 0.01, 5, 0 / 0 }, "float64")
    local ys = lt.tensor({ 0, 0, 0, 0, 5, 0 }, "float64")
    local c = lt.tensor({ 1, 2, 6, 3, 7, 100 }, "float64")
    local want = { mean = 3, sum = 12, max = 6, min = 1 }
    for red, v in pairs(want) do
      local counts, acc = P.hexbin(xs, ys, c, 4, 2, -1, 1, -1, 1, red)
      local k = num(counts:argmax())
      assert.equal(4, num(counts:max()))
      assert.equal(4, num(counts:sum()))
      assert.near(v, acc[k], 1e-12)
    end
  end)

  it("draws counts, hides empty hexagons with bins = 'log', and is a colorbar mappable", function()
    local fig = plot.figure { size = { 3, 3 }, dpi = 50 }
    local ax = fig:subplot(1, 1, 1)
    local hb = ax:hexbin(x, y, { gridsize = 30, bins = "log" })
    assert.equal("log", hb.norm)
    assert.equal(n, num(hb.counts:sum()))
    assert.equal(hb.values:size(1), num(hb.counts:gt(0):sum()))
    fig:colorbar(hb)
    render(fig, "hexbin.png")
    local fig2, ax2 = canvas({ -1, 1 }, { -1, 1 })
    local one = ax2:hexbin({ 0, 0, 0 }, { 0, 0, 0 }, { gridsize = 4, extent = { -1, 1, -1, 1 },
      cmap = "gray", mincnt = 1 })
    assert.equal(1, one.values:size(1))
    assert.equal(3, one.values[1])
    local img = render(fig2, "hex1.png")
    near(img, 100, 100, 0, 0, 0) -- one value: vmin = vmax maps to the bottom colour, as Normalize
    near(img, 100, 40, 255, 255, 255) -- above the hexagon (half height 1/3: 33 px)
    near(img, 140, 100, 255, 255, 255) -- beside it (half width 1/4: 25 px)
  end)

  it("rejects bad input", function()
    local _, ax = canvas()
    assert.has_error(function() ax:hexbin(x, y, { gridsize = 0 }) end,
      "bad argument #3 to 'hexbin' (gridsize must be an integer in 1..10000 or {nx, ny})")
    assert.has_error(function() ax:hexbin(x, y:narrow(1, 1, 10)) end,
      "bad argument #2 to 'hexbin' (x and y must be the same size (x has 5000, y has 10))")
    assert.has_error(function() ax:hexbin(x, y, { bins = 10 }) end,
      "bad argument #3 to 'hexbin' (bins must be 'log' or nil, got 10)")
    assert.has_error(function() ax:hexbin(x, y, { C = { 1, 2 } }) end,
      "bad argument #3 to 'hexbin' (C has 2 values for 5000 points)")
    assert.has_error(function() ax:hexbin(x, y, { reduce_C_function = "median" }) end,
      "bad argument #3 to 'hexbin' (reduce must be 'mean', 'sum', 'max' or 'min', got median)")
    assert.has_error(function() ax:hexbin(x, y, { reduce = "sum", reduce_C_function = "sum" }) end,
      "bad argument #3 to 'hexbin' (give reduce or reduce_C_function, not both)")
    assert.has_error(function() ax:hexbin(x, y, { mincnt = "2" }) end,
      "bad argument #3 to 'hexbin' (mincnt must be a number, got 2)")
    assert.has_error(function() ax:hexbin(x, y, { extent = { 0, 1 } }) end,
      "bad argument #3 to 'hexbin' (extent must be {xmin, xmax, ymin, ymax})")
    assert.has_error(function() ax:hexbin(x, y, { gridsize = { 10, 0 } }) end,
      "bad argument #3 to 'hexbin' (gridsize gives 0 rows; need 1..10000)")
    assert.has_error(function() ax:hexbin(x, y, { grid_size = 10 }) end)
    assert.has_error(function() ax:hexbin(x, y, { edgecolor = "nocolour" }) end)
    assert.has_error(function() ax:hexbin(x, { "a" }) end,
      "bad argument #2 to 'hexbin' (y must be numbers; element 1 is a string)")
  end)

  it("counts a hand-computed case: two lattices, ties to the even centre, points outside", function()
    -- extent {0, 2, 0, 1}, gridsize {2, 1}: lattice 1 centres at x = 0, 1, 2 and y = 0, 1
    -- (indices x * 2 + y), lattice 2 at (0.5, 0.5) and (1.5, 0.5) (indices 6, 7).
    local _, ax = canvas()
    local px = { 0.1, 0.5, 1.9, 1.4, 0.2, 3, 0 / 0 }
    local py = { 0.1, 0.45, 0.9, 0.6, 0.4, 0.5, 0.5 }
    -- (0.1, 0.1): d1 = 0.04 to (0, 0) < d2 = 0.64: hexagon 1. (0.5, 0.45): x = 0.5 rounds to 0,
    -- d1 = 0.8575 > d2 = 0.0075: lattice 2's first (7). (1.9, 0.9): (2, 1), index 6. (1.4, 0.6):
    -- d2 = 0.04 < d1 = 0.64: index 8. (0.2, 0.4): d2 = 0.12 < d1 = 0.52: 7 again. (3, 0.5) lies
    -- outside the extent and the NaN point is skipped.
    local hb = ax:hexbin(px, py, { gridsize = { 2, 1 }, extent = { 0, 2, 0, 1 } })
    assert.same({ 1, 0, 0, 0, 0, 1, 2, 1 }, hb.counts:totable())
  end)

  it("matches matplotlib's hexbin: centres, counts, C reductions, mincnt, log bins", function()
    local R = dofile("tests/fixtures/plot_hexbin.lua")
    local function close(want, got, what)
      assert.equal(#want, got:size(1), what .. ": hexagon count")
      local g = got:totable()
      for i = 1, #want do
        local w = want[i]
        assert(math.abs(g[i] - w) <= 1e-9 * math.max(1, math.abs(w)),
          ("%s[%d]: %.17g, matplotlib %.17g"):format(what, i, g[i], w))
      end
    end
    local cases = { "counts", "grid_xy_extent", "mincnt", "log", "c_mean", "c_sum_mincnt", "c_max",
                    "c_min", "nonfinite" }
    for _, name in ipairs(cases) do
      local ref = R[name]
      local o = {}
      for k, v in pairs(ref.opts) do o[k] = v end
      if o.C then o.C = R.c end
      local _, ax = canvas()
      local xs, ys = R.x, R.y
      if name == "nonfinite" then xs, ys = R.xn, R.yn end
      local hb = ax:hexbin(xs, ys, o)
      local cx, cy, vals = ref.cx, ref.cy, ref.values
      if name == "log" then
        -- matplotlib keeps the empty hexagons (LogNorm masks them when drawn); lunette drops them
        local kx, ky, kv = {}, {}, {}
        for i, v in ipairs(vals) do
          if v > 0 then kx[#kx + 1], ky[#ky + 1], kv[#kv + 1] = cx[i], cy[i], v end
        end
        cx, cy, vals = kx, ky, kv
      end
      close(cx, hb.cx, name .. " cx")
      close(cy, hb.cy, name .. " cy")
      close(vals, hb.values, name .. " values")
      assert.near(ref.vmin, hb.vmin, 1e-12, name .. " vmin")
      assert.near(ref.vmax, hb.vmax, 1e-12, name .. " vmax")
    end
  end)

  it("draws an empty axes for empty or all-NaN input, and labels a legend entry", function()
    for _, pts in ipairs { { {}, {} }, { { 0 / 0, 1 }, { 1, 0 / 0 } } } do
      local fig, ax = canvas({ -1, 1 }, { -1, 1 })
      local hb = ax:hexbin(pts[1], pts[2], { gridsize = 5 })
      assert.equal(0, hb.values:size(1))
      fig:colorbar(hb)
      local img = render(fig, "hexempty.png")
      near(img, 100, 100, 255, 255, 255)
    end
    local fig, ax = canvas({ -1, 1 }, { -1, 1 })
    ax:hexbin({ 0, 0 }, { 0, 0 }, { gridsize = 4, extent = { -1, 1, -1, 1 }, cmap = "gray",
      label = "counts", edgecolor = "none" })
    ax:legend()
    render(fig, "hexlegend.png")
  end)
end)

---------------------------------------------------------------------------
-- scatter {density = true}: the binned kernel density against the exact one, draw order.
describe("scatter density", function()
  -- The exact product-Gaussian kernel density at each point (O(n^2)), Scott's factor.
  local function naive_density(xs, ys)
    local n = #xs
    local function sd(v)
      local m = 0
      for i = 1, n do m = m + v[i] / n end
      local s = 0
      for i = 1, n do s = s + (v[i] - m) ^ 2 end
      return math.sqrt(s / (n - 1))
    end
    local f = n ^ (-1 / 6)
    local hx, hy = f * sd(xs), f * sd(ys)
    local out = {}
    for i = 1, n do
      local s = 0
      for j = 1, n do
        s = s + math.exp(-0.5 * ((xs[i] - xs[j]) / hx) ^ 2 - 0.5 * ((ys[i] - ys[j]) / hy) ^ 2)
      end
      out[i] = s / (n * 2 * math.pi * hx * hy)
    end
    return out
  end

  lt.random.seed(7)
  local n = 400
  local x = lt.randn(n):double()
  local y = (x * 0.5 + lt.randn(n):double() * 0.6):contiguous()

  it("matches the exact kernel density at every point", function()
    local _, ax = canvas()
    local sc = ax:scatter(x, y, { density = true })
    local want = naive_density(x:totable(), y:totable())
    local got = sc.density:totable()
    local worst = 0
    for i = 1, n do worst = math.max(worst, math.abs(got[i] - want[i]) / want[i]) end
    assert(worst < 0.01, ("worst relative error %.4f"):format(worst))
    -- a coarser grid is further off: the tolerance above can fail
    local coarse = ax:scatter(x, y, { density = { gridsize = 8 } }).density:totable()
    local cworst = 0
    for i = 1, n do cworst = math.max(cworst, math.abs(coarse[i] - want[i]) / want[i]) end
    assert(cworst > 0.01, ("coarse grid error %.4f"):format(cworst))
    -- bw_method scales the kernel: a wider one flattens the peak
    local wide = ax:scatter(x, y, { density = { bw_method = 1 } }).density
    assert(num(wide:max()) < num(sc.density:max()))
  end)

  it("orders points by increasing density, ties in input order, NaN points skipped", function()
    local _, ax = canvas()
    local px = { 0.5, 0.9, 0.5, 0 / 0, 0.5, 0.1, 0.5 }
    local py = { 0.5, 0.9, 0.5, 0.2, 0.5, 0.1, 0.5 }
    local sc = ax:scatter(px, py, { density = true })
    assert.equal(6, sc.density:size(1))
    local d, ord = sc.density:totable(), sc.density_order:totable()
    assert.equal(6, #ord)
    local seen = {}
    for k = 1, #ord do
      seen[ord[k]] = true
      if k > 1 then
        assert(d[ord[k] + 1] >= d[ord[k - 1] + 1], "densities ascend along the order")
        if d[ord[k] + 1] == d[ord[k - 1] + 1] then assert(ord[k] > ord[k - 1], "ties keep order") end
      end
    end
    for i = 0, 5 do assert(seen[i], "a permutation") end
    -- the four points at (0.5, 0.5) (kept indices 0, 1, 3, 5) are the densest, drawn last
    assert.same({ 0, 2, 3, 5 }, { ord[3], ord[4], ord[5], ord[6] })
  end)

  it("draws dense cores on top and labels its colorbar 'density'", function()
    -- 40 points at the centre, then one sparse point beside them whose big marker covers the
    -- centre: drawn in input order it would paint the centre pixel dark.
    local px, py = {}, {}
    for i = 1, 40 do px[i], py[i] = 0.5, 0.5 end
    px[41], py[41] = 0.55, 0.5
    for i = 42, 60 do px[i], py[i] = (i - 42) / 18, 0.05 end
    local fig, ax = canvas()
    local sc = ax:scatter(px, py, { density = true, s = 400, linewidths = 0 })
    local img = render(fig, "dens.png")
    near(img, 100, 100, 253, 231, 37, 6) -- viridis' top colour: the densest points on top
    local fig2, ax2 = canvas()
    ax2:scatter(px, py, { c = sc.density, s = 400, linewidths = 0 })
    local img2 = render(fig2, "dens_input_order.png")
    local r = px_of(img2, 100, 100)
    assert(r < 200, "in input order the sparse point covers the centre")
    local fig3 = plot.figure { size = { 3, 2 }, dpi = 50 }
    local sc3 = fig3:subplot(1, 1, 1):scatter(px, py, { density = true })
    assert.equal("density", fig3:colorbar(sc3).label)
    assert.equal("counts", fig3:colorbar(sc3, { label = "counts" }).label)
    render(fig3, "dens_cbar.png")
  end)

  it("paints the same pixels in parallel row bands as in one serial pass", function()
    -- One marker size for all takes the banded path (20,000 points and more); a size per point
    -- takes the serial one. Big overlapping markers make any change of order visible.
    lt.random.seed(11)
    local m = 30000
    local bx = lt.randn(m):double() * 0.15 + 0.5
    local by = lt.randn(m):double() * 0.15 + 0.5
    local imgs = {}
    for k, size in ipairs { 30, lt.full({ m }, 30, "float64") } do
      local fig, ax = canvas()
      ax:scatter(bx, by, { density = true, s = size, edgecolors = "k", linewidths = 0.5 })
      imgs[k] = render(fig, "bands" .. k .. ".png")
    end
    assert.equal(0, num((imgs[1]:double() - imgs[2]:double()):abs():max()))
  end)

  it("draws an empty axes for empty input; rejects bad options", function()
    local fig, ax = canvas()
    local sc = ax:scatter({}, {}, { density = true })
    assert.equal(0, sc.density:size(1))
    fig:colorbar(sc)
    near(render(fig, "dens_empty.png"), 100, 100, 255, 255, 255)
    local one = ax:scatter({ 0.3 }, { 0.3 }, { density = true })
    assert(num(one.density[1]) > 0)
    assert.has_error(function() ax:scatter(x, y, { density = true, c = "red" }) end,
      "bad argument #3 to 'scatter' (c (or color) and density cannot both be given: density "
      .. "sets the colours)")
    assert.has_error(function() ax:scatter(x, y, { density = "yes" }) end,
      "bad argument #3 to 'scatter' (density must be true or {gridsize =, bw_method =}, got yes)")
    assert.has_error(function() ax:scatter(x, y, { density = { gridsize = 1 } }) end,
      "bad argument #3 to 'scatter' (density gridsize must be an integer in 2..4096 or {nx, ny})")
    assert.has_error(function() ax:scatter(x, y, { density = { bw_method = -1 } }) end,
      "bad argument #3 to 'scatter' (density bw_method must be 'scott', 'silverman' or a "
      .. "positive number, got -1)")
    assert.has_error(function() ax:scatter(x, y, { density = { grid = 10 } }) end)
    assert.has_error(function() ax:scatter(x, y:narrow(1, 1, 5), { density = true }) end,
      "bad argument #2 to 'scatter' (x and y must be the same size (x has 400, y has 5))")
    assert.has_error(function() P.point_density(x, y, 1, 10, 0, 1, 0, 1, 1, 1) end)
    assert.has_error(function() P.point_density(x, y, 10, 10, 0, 1, 0, 1, 0, 1) end)
  end)
end)

---------------------------------------------------------------------------
describe("violinplot", function()
  it("estimates densities with matplotlib's GaussianKDE (Scott's rule)", function()
    local d = { 0, 1, 1.5, 3, 4.2, 4.4, 7 }
    local n = #d
    local mean = 0
    for _, v in ipairs(d) do mean = mean + v / n end
    local var = 0
    for _, v in ipairs(d) do var = var + (v - mean) ^ 2 / (n - 1) end
    local bw = var * n ^ (-2 / 5)
    local at = lt.tensor({ -1, 0, 2.5, 7 }, "float64")
    local got = P.kde(lt.tensor(d, "float64"), bw, at):totable()
    for k, a in ipairs(at:totable()) do
      local s = 0
      for _, v in ipairs(d) do s = s + math.exp(-(a - v) ^ 2 / (2 * bw)) end
      assert.near(s / (n * math.sqrt(2 * math.pi * bw)), got[k], 1e-14)
    end
  end)

  it("draws bodies at alpha 0.3 and extrema/median lines; returns the statistics", function()
    local fig, ax = canvas({ 0.5, 2.5 }, { -3, 3 })
    local v = lt.tensor({ -2, -1, -0.5, 0, 0, 0.5, 1, 2 }, "float64")
    local r = ax:violinplot({ v, v * 0.5 }, { showmedians = true, widths = 0.8 })
    assert.equal(2, #r.bodies)
    assert.same({ min = -2, max = 2, mean = 0, median = 0 }, r.stats[1])
    local img = render(fig, "violin.png")
    -- C0 (#1f77b4) at alpha 0.3 over white, inside the first body away from the lines
    near(img, 30, 110, 187, 214, 233, 3)
    near(img, 50, 100, 31, 119, 180, 40) -- the median line at 0 (body centre x = 1)
    near(img, 2, 5, 255, 255, 255) -- outside
  end)

  it("lies along y when vert = false, with Silverman's bandwidth when asked", function()
    local _, ax = canvas()
    local v = lt.tensor({ 0, 1, 1, 2, 5 }, "float64")
    local r = ax:violinplot(v, { vert = false, positions = { 3 }, bw_method = "silverman" })
    local b = r.bodies[1]
    local xlo, xhi = P.finite_range(b.x)
    local ylo, yhi = P.finite_range(b.y)
    assert.same({ 0, 5 }, { xlo, xhi })
    assert.near(3 - 0.25, ylo, 1e-12)
    assert.near(3 + 0.25, yhi, 1e-12)
    -- the body's half-width is the density at 100 points over [0, 5], scaled to 0.25 at its top
    local n = 5
    local ss = 1.8 ^ 2 + 0.8 ^ 2 * 2 + 0.2 ^ 2 + 3.2 ^ 2
    local coords = lt.linspace(0, 5, 100):double()
    local function half(factor)
      local dens = P.kde(v, ss / (n - 1) * factor ^ 2, coords)
      return (dens * (0.25 / dens:max())):totable()
    end
    local silverman, scott = half((n * 3 / 4) ^ (-1 / 5)), half(n ^ (-1 / 5))
    local got = (b.y:narrow(1, 1, 100) - 3):totable()
    for k = 1, 100, 11 do assert.near(silverman[k], got[k], 1e-12) end
    assert.is_true(math.abs(scott[1] - silverman[1]) > 1e-3)
  end)

  it("rejects bad input", function()
    local _, ax = canvas()
    assert.has_error(function() ax:violinplot({ lt.tensor({ 1, 0 / 0 }, "float64") }) end,
      "bad argument #1 to 'violinplot' (dataset 1 contains NaN or infinite values)")
    assert.has_error(function() ax:violinplot({ { 1, 2 }, {} }) end,
      "bad argument #1 to 'violinplot' (dataset 2 is empty)")
    assert.has_error(function() ax:violinplot({ 1, 2, 3 }, { positions = { 1, 2 } }) end,
      "bad argument #2 to 'violinplot' (2 positions for 1 datasets)")
    assert.has_error(function() ax:violinplot({ 1, 2, 3 }, { bw_method = "wide" }) end,
      "bad argument #2 to 'violinplot' (bw_method must be 'scott', 'silverman' or a positive "
      .. "number, got wide)")
    assert.has_error(function() ax:violinplot({ 1, 2, 3 }, { showmedian = true }) end)
  end)
end)

---------------------------------------------------------------------------
describe("heatmap", function()
  it("annotates cells, black on light and white on dark, with a tick per row and column", function()
    local fig, ax = canvas()
    local m = lt.tensor({ { 90, 1 }, { 3, 0 / 0 } }, "float64")
    local im = ax:heatmap(m, { cmap = "Blues", xticklabels = { "a", "b" },
                               yticklabels = { "c", "d" } })
    local texts = {}
    for _, a in ipairs(ax.artists) do
      if a.kind == "text" then texts[#texts + 1] = { a.s, a.opts.color, a.x, a.y } end
    end
    -- NaN cell left blank; integral data formatted with %d
    assert.same({ { "90", "white", 0, 0 }, { "1", "black", 1, 0 }, { "3", "black", 0, 1 } }, texts)
    assert.same({ "a", "b" }, ax.x.fixed_labels)
    assert.same({ "c", "d" }, ax.y.fixed_labels)
    assert.equal("Blues", im.cmap)
    fig:colorbar(im)
    render(fig, "heatmap.png")
    local _, ax2 = canvas()
    ax2:heatmap({ { 0.5, 0.25 } }, { fmt = "%.1f" })
    local s = {}
    for _, a in ipairs(ax2.artists) do if a.kind == "text" then s[#s + 1] = a.s end end
    assert.same({ "0.5", "0.2" }, s)
    local _, ax3 = canvas()
    ax3:heatmap({ { 3, 0.25 } }, { fmt = ".1f" }) -- seaborn's spelling
    s = {}
    for _, a in ipairs(ax3.artists) do if a.kind == "text" then s[#s + 1] = a.s end end
    assert.same({ "3.0", "0.2" }, s)
  end)

  it("rejects bad input", function()
    local _, ax = canvas()
    assert.has_error(function() ax:heatmap(lt.zeros(3):double()) end,
      "bad argument #1 to 'heatmap' (a 2-d tensor or a table of rows expected)")
    assert.has_error(function() ax:heatmap({ { 1, 2 } }, { xticklabels = { "a" } }) end,
      "bad argument #2 to 'heatmap' (xticklabels must be a list of 2 labels)")
    assert.has_error(function() ax:heatmap({ { 1, 2 } }, { annot_kws = { size = 3 } }) end)
    assert.has_error(function() ax:heatmap({ { 1, 2 } }, { anot = true }) end)
    assert.has_error(function() ax:heatmap({ { 1, 2 } }, { fmt = "%s%s%s" }) end,
      "bad argument #2 to 'heatmap' (fmt '%s%s%s' is not a number format)")
  end)
end)

---------------------------------------------------------------------------
describe("colorbar", function()
  local z, X, Y = grid(11, function(x) return x end)

  -- Renders ax with a colorbar for the mappable built by make(ax); returns the image and bar box.
  local function with_bar(make, name)
    local fig = plot.figure { size = { 4, 3 }, dpi = 50 }
    local ax = fig:subplot(1, 1, 1)
    local cb = fig:colorbar(make(ax), { ax = ax })
    local img = render(fig, name)
    return img, cb.box
  end

  it("accepts every mappable: scatter c, imshow, heatmap, hexbin, contour, contourf", function()
    local makers = {
      scatter = function(ax) return ax:scatter({ 1, 2 }, { 1, 2 }, { c = { 0, 1 } }) end,
      imshow = function(ax) return ax:imshow(z) end,
      heatmap = function(ax) return ax:heatmap({ { 1, 2 }, { 3, 4 } }) end,
      hexbin = function(ax) return ax:hexbin({ 1, 2, 2 }, { 1, 2, 2 }, { gridsize = 5 }) end,
      contour = function(ax) return ax:contour(X, Y, z) end,
      contourf = function(ax) return ax:contourf(X, Y, z) end,
    }
    for name, make in pairs(makers) do
      local img, box = with_bar(make, name .. ".png")
      assert.is_true(box[3] > box[1], name)
      assert.is_true(img:size(2) > 0)
    end
  end)

  it("shows a contourf's bands and a contour's level lines", function()
    local img, box = with_bar(function(ax)
      return ax:contourf(X, Y, z, { levels = { 0, 0.5, 1 }, colors = { "red", "blue" } })
    end, "cbf.png")
    local cx = math.floor((box[1] + box[3]) / 2)
    near(img, cx, math.floor(box[4] - 0.25 * (box[4] - box[2])), 255, 0, 0)
    near(img, cx, math.floor(box[2] + 0.25 * (box[4] - box[2])), 0, 0, 255)
    img, box = with_bar(function(ax)
      return ax:contour(X, Y, z, { levels = { 0.2, 0.4, 0.6, 0.8 }, colors = "red" })
    end, "cbl.png")
    cx = math.floor((box[1] + box[3]) / 2)
    local h = box[4] - box[2]
    near(img, cx, math.floor(box[4] - 0.5 * h), 255, 255, 255) -- white between the lines
    local y4 = box[4] - (0.4 - 0.2) / 0.6 * h -- the line at level 0.4
    local best = 255
    for yy = math.floor(y4) - 1, math.floor(y4) + 1 do
      best = math.min(best, select(2, px(img, cx, yy)))
    end
    assert.is_true(best < 120, "no red line at level 0.4")
  end)

  it("refuses an artist without colours to map", function()
    local fig = plot.figure()
    local ax = fig:subplot(1, 1, 1)
    local line = ax:plot({ 1, 2 }, { 1, 2 })
    assert.has_error(function() fig:colorbar(line) end)
  end)
end)
