-- plot_artists2_spec.lua: every 2-D artist under log scales on both axes (rendered, pixels
-- counted inside the axes), and the calls of lunette.plot_artists2 (errorbar and bar error
-- bars, step/drawstyle, semilog*, spans, fill_between where=/fill_betweenx, annotate,
-- twinx/twiny) checked in their geometry, their pixels and their errors.
local lt = require "lunette"
local plot = require "lunette.plot"

local TMP = os.tmpname()
os.remove(TMP)
os.execute("mkdir -p '" .. TMP .. "'")
teardown(function() os.execute("rm -rf '" .. TMP .. "'") end)

local RED = { 255, 0, 0 }

-- Renders fig and returns its pixels [h x w x 4] and the first axes' box (pixels).
local function render(fig, ax)
  local path = TMP .. "/fig.png"
  assert(fig:save(path, { dpi = 50 }))
  return assert(plot.read_png(path)), (ax or fig.axes[1]).box
end

-- Pixels of colour c (within tol per channel) inside box (shrunk by 2 px, so spines and
-- ticks do not count), or inside the whole image when box is nil.
local function count(img, c, box, tol)
  local h, w = img:size(1), img:size(2)
  local x0, y0, x1, y1 = 0, 0, w, h
  if box then
    x0, y0 = math.floor(box[1]) + 2, math.floor(box[2]) + 2
    x1, y1 = math.ceil(box[3]) - 2, math.ceil(box[4]) - 2
  end
  local region = img:narrow(1, y0 + 1, y1 - y0):narrow(2, x0 + 1, x1 - x0):to("int64")
  local ok
  for k = 1, 3 do
    local m = (region:select(3, k) - c[k]):abs():le(tol or 40)
    ok = ok and ok:logical_and(m) or m
  end
  local n = ok:sum()
  return type(n) == "number" and n or n:item()
end

local function fig1()
  local fig = plot.figure { size = { 3, 3 } }
  return fig, fig:subplot(1, 1, 1)
end

local function raises(f, pattern)
  local ok, err = pcall(f)
  assert.is_false(ok)
  assert.truthy(tostring(err):find(pattern, 1, true), tostring(err))
end

---------------------------------------------------------------------------
describe("artists on log axes", function()
  -- each case draws in red on a fresh axes; scales = which axes are logarithmic
  local cases = {
    { "bar from 0 (issue 16)", "y", function(ax)
      ax:bar({ 1, 2, 3 }, { 10, 100, 1000 }, { color = "red" })
    end, 400 },
    { "hist from 0 (issue 16)", "y", function(ax)
      ax:hist(lt.tensor({ 1, 2, 2, 3, 3, 3, 4, 4, 4, 4 }, "float64"), { bins = 4, color = "red" })
    end, 400 },
    { "barh from 0", "x", function(ax)
      ax:barh({ 1, 2, 3 }, { 10, 100, 1000 }, { color = "red" })
    end, 400 },
    { "scatter", "xy", function(ax)
      ax:scatter({ 1, 10, 100 }, { 1, 10, 100 }, { color = "red", s = 80 })
    end, 30 },
    { "plot through 0", "xy", function(ax)
      ax:plot({ 1, 10, 100, 1000 }, { 1, 0, 100, 1000 }, { color = "red", linewidth = 3 })
    end, 60 },
    { "step", "y", function(ax)
      ax:step({ 1, 2, 3 }, { 1, 10, 100 }, { color = "red", linewidth = 3 })
    end, 60 },
    { "errorbar", "xy", function(ax)
      ax:errorbar({ 1, 10, 100 }, { 1, 10, 100 }, { yerr = { 0.5, 5, 50 }, color = "red",
                                                    linewidth = 3 })
    end, 60 },
    { "fill_between down to 0", "y", function(ax)
      ax:fill_between({ 1, 2, 3, 4 }, { 1, 10, 100, 10 }, 0, { color = "red" })
    end, 400 },
    { "fill_betweenx", "x", function(ax)
      ax:fill_betweenx({ 1, 2, 3, 4 }, { 1, 10, 100, 10 }, 0, { color = "red" })
    end, 400 },
    { "boxplot", "y", function(ax)
      local data = lt.tensor({ 1, 2, 5, 10, 20, 50, 100 }, "float64")
      ax:boxplot({ data }, { patch_artist = true, facecolor = "red" })
    end, 100 },
    { "axhline/axvline", "xy", function(ax)
      ax:plot({ 1, 100 }, { 1, 100 }, { color = "white" })
      ax:axhline(10, { color = "red", linewidth = 3 })
      ax:axvline(10, { color = "red", linewidth = 3 })
    end, 100 },
    { "axhspan/axvspan", "xy", function(ax)
      ax:plot({ 1, 100 }, { 1, 100 }, { color = "white" })
      ax:axhspan(5, 20, { facecolor = "red" })
      ax:axvspan(0, 20, { facecolor = "red" }) -- from 0: clipped, not dropped
    end, 400 },
    { "text", "xy", function(ax)
      ax:plot({ 1, 100 }, { 1, 100 }, { color = "white" })
      ax:text(10, 10, "XX", { color = "red", fontsize = 20 })
    end, 20 },
    { "annotate", "xy", function(ax)
      ax:plot({ 1, 100 }, { 1, 100 }, { color = "white" })
      ax:annotate("XX", { 3, 3 }, { xytext = { 30, 30 }, color = "red", fontsize = 20,
        arrowprops = { arrowstyle = "->", color = "red", linewidth = 2 } })
    end, 40 },
    { "imshow extent", "xy", function(ax)
      ax:imshow(lt.tensor({ { { 1, 0, 0 } } }, "float64"), { extent = { 1, 100, 1, 100 },
                                                             aspect = "auto" })
    end, 400 },
    { "scatter with x = 0 skipped, not an error", "x", function(ax)
      ax:scatter({ 0, 10, 100 }, { 1, 2, 3 }, { color = "red", s = 80 })
    end, 20 },
  }
  for _, c in ipairs(cases) do
    it(c[1] .. " is drawn", function()
      local fig, ax = fig1()
      c[3](ax)
      if c[2]:find("x") then ax:xscale("log") end
      if c[2]:find("y") then ax:yscale("log") end
      local img, box = render(fig, ax)
      local n = count(img, RED, box)
      assert.is_true(n >= c[4], ("%s: %d red pixels, expected at least %d"):format(c[1], n, c[4]))
    end)
  end

  it("bars on a log y axis keep matplotlib's limits (the smallest height, not 0)", function()
    local _, ax = fig1()
    ax:bar({ 1, 2, 3 }, { 10, 100, 1000 })
    ax:yscale("log")
    local lo, hi = ax:ylim()
    assert.near(7.9432823472428, lo, 1e-9)
    assert.near(1258.9254117942, hi, 1e-6)
  end)

  it("a bar from 0 on a log axis fills down to the bottom edge", function()
    local fig, ax = fig1()
    ax:bar({ 1 }, { 100 }, { color = "red", width = 0.5 })
    ax:ylim(10, 1000)
    ax:yscale("log")
    local img, box = render(fig, ax)
    local cx = math.floor((box[1] + box[3]) / 2)
    -- the bottom rows of the axes under the bar are red
    local p = img[{ math.floor(box[4]) - 3 + 1, cx + 1 }]:totable()
    assert.same({ 255, 0, 0 }, { p[1], p[2], p[3] })
  end)

  it("hist{log = true} puts the counts on a log axis, as matplotlib", function()
    local fig, ax = fig1()
    local v = lt.tensor({ 1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3 }, "float64")
    ax:hist(v, { bins = 3, log = true, color = "red" })
    assert.equal("log", ax.y.scale)
    local img, box = render(fig, ax)
    assert.is_true(count(img, RED, box) > 400)
  end)
end)

---------------------------------------------------------------------------
describe("errorbar", function()
  -- the error segments of the last errorbar call: x, y tables with NaN gaps
  local function segments(ax)
    for i = #ax.artists, 1, -1 do
      local a = ax.artists[i]
      if a.kind == "line" and a.cap == "butt" and a.ls == "-" and not a.marker then
        return a.x:totable(), a.y:totable()
      end
    end
  end

  it("draws symmetric, per-point and asymmetric bars", function()
    local _, ax = fig1()
    ax:errorbar({ 1, 2 }, { 10, 20 }, { yerr = 1 })
    local x, y = segments(ax)
    assert.same({ 1, 1 }, { x[1], x[2] })
    assert.same({ 9, 11, 19, 21 }, { y[1], y[2], y[4], y[5] })
    assert.is_true(y[3] ~= y[3])
    ax:errorbar({ 1, 2 }, { 10, 20 }, { yerr = { 1, 2 } })
    x, y = segments(ax)
    assert.same({ 9, 11, 18, 22 }, { y[1], y[2], y[4], y[5] })
    ax:errorbar({ 1, 2 }, { 10, 20 }, { yerr = { { 1, 2 }, { 3, 4 } } })
    x, y = segments(ax)
    assert.same({ 9, 13, 18, 24 }, { y[1], y[2], y[4], y[5] })
    ax:errorbar({ 1, 2 }, { 10, 20 }, { yerr = lt.tensor({ { 1, 2 }, { 3, 4 } }, "float64") })
    x, y = segments(ax)
    assert.same({ 9, 13, 18, 24 }, { y[1], y[2], y[4], y[5] })
    ax:errorbar({ 1, 2 }, { 10, 20 }, { xerr = 0.5, fmt = "none" })
    x, y = segments(ax)
    assert.same({ 0.5, 1.5, 1.5, 2.5 }, { x[1], x[2], x[4], x[5] })
    assert.same({ 10, 10 }, { y[1], y[2] })
  end)

  it("caps are capsize points on each side, in ecolor; the line takes the cycle colour", function()
    local _, ax = fig1()
    local line = ax:errorbar({ 1, 2 }, { 1, 2 }, { yerr = 0.1, capsize = 4, ecolor = "red" })
    local caps = ax.artists[#ax.artists]
    assert.equal("_", caps.marker)
    assert.equal(8, caps.ms)
    assert.same(plot.color("red"), caps.color)
    assert.same(plot.color("C0"), line.color)
    assert.is_nil(ax:errorbar({ 1 }, { 1 }, { yerr = 1, fmt = "none" }))
  end)

  it("rejects negative errors, wrong lengths and unknown options", function()
    local _, ax = fig1()
    raises(function() ax:errorbar({ 1, 2 }, { 1, 2 }, { yerr = -1 }) end,
           "must not contain negative values")
    raises(function() ax:errorbar({ 1, 2 }, { 1, 2 }, { yerr = { 1, 2, 3 } }) end,
           "3 yerr values for 2 points")
    raises(function() ax:errorbar({ 1, 2 }, { 1 }) end, "same length")
    raises(function() ax:errorbar({ 1 }, { 1 }, { yerror = 1 }) end, "unknown option 'yerror'")
  end)

  it("ax:bar(x, m, {yerr = s, capsize = 4}) draws black error bars above the bars", function()
    local fig, ax = fig1()
    ax:bar({ 1, 2, 3 }, { 3, 5, 4 }, { yerr = { 1, 1, 1 }, capsize = 4, color = "white" })
    ax:ylim(0, 7)
    local img, box = render(fig, ax)
    -- above the tallest bar (5 .. 6 in data) only the error bar is dark
    local top = math.floor(box[4] - (box[4] - box[2]) * 6 / 7)
    local mid = math.floor(box[4] - (box[4] - box[2]) * 5.5 / 7)
    local band = { box[1], top - 2, box[3], mid + 2 }
    assert.is_true(count(img, { 0, 0, 0 }, band) >= 5)
    local caps = ax.artists[#ax.artists]
    assert.equal("_", caps.marker)
  end)

  it("barh takes xerr at the bar ends", function()
    local _, ax = fig1()
    ax:barh({ 1, 2 }, { 3, 5 }, { xerr = 1 })
    local x = ax.artists[#ax.artists].x:totable()
    assert.same({ 2, 4, 4, 6 }, { x[1], x[2], x[4], x[5] })
  end)
end)

---------------------------------------------------------------------------
describe("step and drawstyle", function()
  it("places the corners as matplotlib's steps-pre, -post and -mid", function()
    local _, ax = fig1()
    local a = ax:step({ 1, 2, 3 }, { 1, 2, 3 })
    assert.same({ 1, 1, 2, 2, 3 }, a.x:totable())
    assert.same({ 1, 2, 2, 3, 3 }, a.y:totable())
    a = ax:step({ 1, 2, 3 }, { 1, 2, 3 }, { where = "post" })
    assert.same({ 1, 2, 2, 3, 3 }, a.x:totable())
    assert.same({ 1, 1, 2, 2, 3 }, a.y:totable())
    a = ax:plot({ 1, 2, 3 }, { 1, 2, 3 }, "o-", { drawstyle = "steps-mid" })
    assert.same({ 1, 1.5, 1.5, 2, 2.5, 2.5, 3 }, a.x:totable())
    assert.same({ 1, 2, 3 }, a.mx:totable(), "markers stay at the data points")
  end)

  it("rejects unknown where and drawstyle", function()
    local _, ax = fig1()
    raises(function() ax:step({ 1 }, { 1 }, { where = "before" }) end, "unknown where 'before'")
    raises(function() ax:plot({ 1 }, { 1 }, { drawstyle = "stairs" }) end,
           "unknown drawstyle 'stairs'")
  end)

  it("semilogx, semilogy and loglog set the scales", function()
    local _, ax = fig1()
    ax:semilogy({ 1, 2 }, { 1, 10 })
    assert.same({ "linear", "log" }, { ax.x.scale, ax.y.scale })
    _, ax = fig1()
    ax:semilogx({ 1, 2 }, { 1, 10 })
    assert.same({ "log", "linear" }, { ax.x.scale, ax.y.scale })
    _, ax = fig1()
    ax:loglog({ 1, 2 }, { 1, 10 }, "o")
    assert.same({ "log", "log" }, { ax.x.scale, ax.y.scale })
  end)
end)

---------------------------------------------------------------------------
describe("spans and bands", function()
  it("axhspan widens the y limits and spans the axes' width in axes fractions", function()
    local fig, ax = fig1()
    ax:plot({ 0, 1 }, { 0, 1 }, { color = "white" })
    ax:axhspan(2, 3, { facecolor = "red", xmin = 0, xmax = 0.5 })
    local lo, hi = ax:ylim()
    assert.is_true(lo <= 0 and hi >= 3)
    local img, box = render(fig, ax)
    local left = { box[1], box[2], (box[1] + box[3]) / 2, box[4] }
    local right = { (box[1] + box[3]) / 2 + 2, box[2], box[3], box[4] }
    assert.is_true(count(img, RED, left) > 100)
    assert.equal(0, count(img, RED, right))
  end)

  it("fill_between where= fills only where the mask holds", function()
    local fig, ax = fig1()
    local x = lt.linspace(0, 10, 101):double()
    ax:fill_between(x, 0, 1, { where = x:lt(5), color = "red" })
    ax:xlim(0, 10)
    local img, box = render(fig, ax)
    local mid = (box[1] + box[3]) / 2
    assert.is_true(count(img, RED, { box[1], box[2], mid - 2, box[4] }) > 400)
    assert.equal(0, count(img, RED, { mid + 3, box[2], box[3], box[4] }))
  end)

  it("fill_betweenx fills between two x curves along y", function()
    local _, ax = fig1()
    local a = ax:fill_betweenx({ 0, 1 }, { 1, 1 }, { 3, 3 })
    assert.same({ 1, 1, 3, 3 }, { a.x[1], a.x[2], a.x[3], a.x[4] })
    assert.same({ 0, 1, 1, 0 }, { a.y[1], a.y[2], a.y[3], a.y[4] })
  end)

  it("rejects a where of the wrong length and unknown options", function()
    local _, ax = fig1()
    raises(function() ax:fill_between({ 1, 2 }, { 1, 2 }, 0, { where = { true } }) end,
           "where must hold 2")
    raises(function() ax:axhspan(1, 2, { colour = "red" }) end, "unknown option 'colour'")
  end)
end)

---------------------------------------------------------------------------
describe("annotate", function()
  it("draws the text and an arrow ending at xy", function()
    local fig, ax = fig1()
    ax:plot({ 0, 10 }, { 0, 10 }, { color = "white" })
    local arrow = { arrowstyle = "->", color = "red", linewidth = 2 }
    ax:annotate("note", { 2, 2 }, { xytext = { 7, 7 }, arrowprops = arrow })
    local img, box = render(fig, ax)
    -- the arrow's shaft crosses the middle of the axes (data 4.5, 4.5)
    local function pxl(v, lo, hi, a, b) return a + (b - a) * (v - lo) / (hi - lo) end
    local xlo, xhi = ax:xlim()
    local ylo, yhi = ax:ylim()
    local cx, cy = pxl(4.5, xlo, xhi, box[1], box[3]), pxl(4.5, ylo, yhi, box[4], box[2])
    assert.is_true(count(img, RED, { cx - 6, cy - 6, cx + 6, cy + 6 }) > 3)
  end)

  it("checks coordinates, arrow styles and options", function()
    local _, ax = fig1()
    raises(function() ax:annotate("a", { 1 }) end, "xy must be {x, y}")
    raises(function() ax:annotate("a", { 1, 1 }, { textcoords = "pixels" }) end,
           "unknown textcoords 'pixels'")
    raises(function() ax:annotate("a", { 1, 1 }, { arrowprops = { arrowstyle = "=>" } }) end,
      "unknown arrowstyle '=>'")
    raises(function() ax:annotate("a", { 1, 1 }, { arrowprops = { colour = "red" } }) end,
      "unknown option 'colour'")
    raises(function() ax:annotate("a", { 1, 1 }, { xytxt = { 1, 1 } }) end,
           "unknown option 'xytxt'")
  end)
end)

---------------------------------------------------------------------------
describe("twinx and twiny", function()
  it("share the x axis, keep their own y axis, colour cycle and legend", function()
    local fig, ax = fig1()
    ax:plot({ 0, 1 }, { 0, 1 })
    local ax2 = ax:twinx()
    local l2 = ax2:plot({ 5, 10 }, { 100, 200 })
    assert.same(plot.color("C0"), l2.color, "a fresh colour cycle, as matplotlib")
    local xlo, xhi = ax:xlim()
    local xlo2, xhi2 = ax2:xlim()
    assert.same({ xlo, xhi }, { xlo2, xhi2 })
    assert.is_true(xhi >= 10, "the first axes' x limits hold the twin's data")
    local ylo = ax:ylim()
    local ylo2 = ax2:ylim()
    assert.is_true(ylo < 1 and ylo2 > 50)
    ax2:xlim(0, 20)
    assert.same({ 0, 20 }, { ax:xlim() })
    assert.equal(2, #fig.axes)
  end)

  it("draws the twin's tick labels on the right", function()
    local fig, ax = fig1()
    ax:plot({ 0, 1 }, { 0, 1 })
    local ax2 = ax:twinx()
    ax2:plot({ 0, 1 }, { 0, 1000 })
    ax2:tick_params { labelcolor = "red", labelsize = 16 }
    ax2:ylabel("right", { color = "red" })
    local img, box = render(fig, ax)
    local w = img:size(2)
    assert.is_true(count(img, RED, { box[3] + 2, 0, w, img:size(1) }, 110) > 20)
    assert.equal(0, count(img, RED, { 0, 0, box[1], img:size(1) }, 110))
  end)

  it("twiny puts its x axis on top and the title above it", function()
    local fig, ax = fig1()
    ax:plot({ 0, 1 }, { 0, 1 })
    ax:title("T")
    local ax2 = ax:twiny()
    ax2:plot({ 0, 1000 }, { 0, 1 })
    ax2:tick_params { labelcolor = "red", labelsize = 16 }
    local img, box = render(fig, ax)
    assert.is_true(count(img, RED, { 0, 0, img:size(2), box[2] - 2 }, 110) > 20)
    assert.equal(0, count(img, RED, { 0, box[4] + 2, img:size(2), img:size(1) }, 110))
  end)
end)
