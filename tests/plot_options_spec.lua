-- plot_options_spec.lua: every options table of lunette.plot (figures, 2-D and 3-D axes, the
-- module functions, legend, colorbar, save) rejects a key it does not know, naming the
-- function, and the matplotlib aliases that work keep working (issue 16, point 1).
local lt = require "lunette"
local plot = require "lunette.plot"

local function raises(f, fname, key)
  local ok, err = pcall(f)
  assert.is_false(ok, fname .. " accepted an unknown option")
  err = tostring(err)
  assert.truthy(err:find("to '" .. fname .. "'", 1, true), err)
  assert.truthy(err:find("unknown option '" .. key .. "'", 1, true), err)
  return err
end

describe("plot options", function()
  it("ax:scatter(v, v, {colour = 'red'}) raises and suggests color (issue 16)", function()
    local _, ax = plot.subplots()
    local v = lt.randn(10)
    local err = raises(function() ax:scatter(v, v, { colour = "red" }) end, "scatter", "colour")
    assert.truthy(err:find("color", err:find("colour", 1, true) + 7, true), err)
  end)

  it("every 2-D axes call rejects an unknown key", function()
    local fig, ax = plot.subplots()
    local v = lt.tensor({ 1, 2, 3 }, "float64")
    local img = lt.ones(3, 3):double()
    local calls = {
      scatter = function(o) ax:scatter(v, v, o) end,
      plot = function(o) ax:plot(v, v, o) end,
      bar = function(o) ax:bar(v, v, o) end,
      barh = function(o) ax:barh(v, v, o) end,
      bar_label = function(o) ax:bar_label(ax:bar(v, v), o) end,
      hist = function(o) ax:hist(v, o) end,
      boxplot = function(o) ax:boxplot(v, o) end,
      imshow = function(o) ax:imshow(img, o) end,
      text = function(o) ax:text(1, 1, "t", o) end,
      axhline = function(o) ax:axhline(1, o) end,
      axvline = function(o) ax:axvline(1, o) end,
      axhspan = function(o) ax:axhspan(1, 2, o) end,
      axvspan = function(o) ax:axvspan(1, 2, o) end,
      fill_between = function(o) ax:fill_between(v, v, 0, o) end,
      fill_betweenx = function(o) ax:fill_betweenx(v, v, 0, o) end,
      errorbar = function(o) ax:errorbar(v, v, o) end,
      step = function(o) ax:step(v, v, o) end,
      annotate = function(o) ax:annotate("a", { 1, 1 }, o) end,
      title = function(o) ax:title("t", o) end,
      xlabel = function(o) ax:xlabel("x", o) end,
      ylabel = function(o) ax:ylabel("y", o) end,
      xticks = function(o) ax:xticks({ 1 }, { "a" }, o) end,
      grid = function(o) ax:grid(true, o) end,
      tick_params = function(o) ax:tick_params(o) end,
      set = function(o) ax:set(o) end,
      legend = function(o) ax:legend(o) end,
      colorbar = function(o) fig:colorbar(ax:imshow(img), o) end,
      save = function(o) fig:save(os.tmpname() .. ".png", o) end,
      render = function(o) fig:render(o) end,
      suptitle = function(o) fig:suptitle("s", o) end,
      subplots_adjust = function(o) fig:subplots_adjust(o) end,
      tight_layout = function(o) fig:tight_layout(o) end,
      gridspec = function(o) fig:gridspec(2, 2, o) end,
      subplot = function(o) fig:subplot(2, 2, 1, o) end,
      subplots = function(o) fig:subplots(1, 2, o) end,
    }
    for fname, call in pairs(calls) do
      raises(function() call { bogus_key = 1 } end, fname, "bogus_key")
    end
    raises(function() ax:spines { top = { colour = "red" } } end, "spines", "colour")
    raises(function() ax:annotate("a", { 1, 1 }, { arrowprops = { headwidht = 3 } }) end,
           "annotate", "headwidht")
  end)

  it("every 3-D axes call rejects an unknown key", function()
    local _, ax = plot.subplots(1, 1, { projection = "3d" })
    local v = lt.tensor({ 1, 2, 3 }, "float64")
    local X = lt.ones(3, 3):double()
    local calls = {
      scatter = function(o) ax:scatter(v, v, v, o) end,
      plot = function(o) ax:plot(v, v, v, o) end,
      plot_wireframe = function(o) ax:plot_wireframe(X, X, X, o) end,
      sphere = function(o) ax:sphere(o) end,
      segments = function(o) ax:segments(lt.zeros(2, 3):double(), lt.ones(2, 3):double(), o) end,
      sphere_frame = function(o) ax:sphere_frame(o) end,
      text = function(o) ax:text(1, 1, 1, "t", o) end,
      zlabel = function(o) ax:zlabel("z", o) end,
      panes = function(o) ax:panes(o) end,
      tick_params = function(o) ax:tick_params(o) end,
    }
    for fname, call in pairs(calls) do
      raises(function() call { bogus_key = 1 } end, fname, "bogus_key")
    end
  end)

  it("the module functions reject an unknown key", function()
    local imgs = lt.rand(2, 4, 4):double()
    raises(function() plot.figure { sise = { 3, 3 } } end, "figure", "sise")
    raises(function() plot.subplots(1, 2, { sharex = true }) end, "subplots", "sharex")
    raises(function() plot.montage(imgs, { ncol = 2 }) end, "montage", "ncol")
    raises(function() plot.image_grid(imgs, { ncol = 2 }) end, "image_grid", "ncol")
    raises(function() plot.palette("husl", 3, { hue = 1 }) end, "palette", "hue")
    raises(function() plot.cmap("viridis")({ 0.5 }, { vmn = 0 }) end, "cmap", "vmn")
    raises(function() plot.scatter({ 1 }, { 1 }, { colour = "red" }) end, "scatter", "colour")
  end)

  it("keeps the matplotlib aliases and the options the quick looks add", function()
    local fig, ax = plot.subplots(1, 1, { figsize = { 3, 2 }, dpi = 50, squeeze = true })
    ax:scatter({ 1 }, { 1 }, { c = "red", s = 10, lw = 1, edgecolor = "black" })
    local l = ax:plot({ 1, 2 }, { 1, 2 }, { c = "red", lw = 2, ls = "--", ms = 3, marker = "o",
                                            mfc = "blue", mec = "green", mew = 2 })
    assert.same(plot.color("blue"), l.mfc)
    ax:axhline(0, { c = "k", lw = 1, ls = ":" })
    ax:grid(true, { lw = 0.5, ls = "--" })
    assert.truthy(fig:render { dpi = 30 })
    local f2 = plot.scatter({ 1, 2 }, { 1, 2 }, { title = "t", xlabel = "x", figsize = { 3, 2 },
                                                  legend = true, grid = true, color = "red" })
    assert.truthy(f2)
  end)

  it("axhline takes lines.color, not the next colour of the cycle, as matplotlib", function()
    local _, ax = plot.subplots()
    ax:axhline(1)
    local l = ax:plot({ 1, 2 }, { 1, 2 })
    assert.same(plot.color("C0"), l.color)
    assert.same(plot.color("C0"), ax.artists[1].color)
  end)
end)
