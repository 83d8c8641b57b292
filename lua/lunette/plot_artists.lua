-- lunette.plot_artists: the artists users add to 2-D axes: scatter, plot, bar/barh/bar_label,
-- hist, boxplot, imshow, text, axhline/axvline, and the helpers they share (option
-- tables, finite-point masks, marker codes, histogram edges, image conversion). Each method
-- validates its arguments and appends an artist table with ax:add; lunette.plot_axes copies
-- them into its Axes class (the `Axes` below is that method set), lunette.plot_render draws
-- them. Axis state (limits, scales, ticks, labels, legend) lives in lunette.plot_axes.
local T = require "lunette.tensor"
local C = require "lunette._plot"
local U = require "lunette.plot_util"
local O = require "lunette.options"

local Axes = {}

local MARKERS = { o = true, ["."] = true, [","] = true, ["^"] = true, v = true, ["<"] = true, [">"] = true,
                  s = true, D = true, d = true, p = true, h = true, ["8"] = true, ["*"] = true,
                  ["+"] = false, x = false, ["|"] = false, _ = false }
Axes.MARKERS = MARKERS

local function fail(...) return U.fail(...) end

local function opts_table(o, fname, n, known)
  if o == nil then return {} end
  if type(o) ~= "table" or T.is_tensor(o) then fail(fname, n, "options table expected, got " .. type(o)) end
  if known then O.check(fname, n, o, known) end
  return o
end
-- Axes.opts_table(o, fname, n [, known]) -> table
-- o, or {} for nil; raises "bad argument #n to 'fname'" for a non-table and, given the list
-- known, for a key not in it (lunette.options.check: the did-you-mean message).
Axes.opts_table = opts_table

-- Axes._keys(list...) -> list: the option names of several lists in one (shared groups of
-- option names, as the text options every text-drawing call takes).
local function keys(...)
  local out = {}
  for _, l in ipairs { ... } do
    for _, k in ipairs(l) do out[#out + 1] = k end
  end
  return out
end
Axes._keys = keys
-- The options of every call that draws text (lunette.plot_util.text_opts reads them).
Axes.TEXT_KEYS = { "fontsize", "size", "color", "alpha", "ha", "va", "rotation", "weight",
                   "fontweight", "style", "family", "linespacing", "multialign", "rotation_mode" }

-- Axes.finite_mask(coords...) -> mask | nil
-- Keeps only the points whose coordinates are all finite (documented:
-- non-finite coordinates are skipped); returns the mask or nil.
local function finite_mask(...)
  local mask
  for _, v in ipairs { ... } do
    local m = v:isfinite()
    mask = mask and mask:logical_and(m) or m
  end
  if mask == nil or mask:numel() == 0 or mask:all() then return nil end
  return mask
end
Axes.finite_mask = finite_mask

local function select_rows(t, mask)
  if t == nil or mask == nil then return t end
  if t:dim() == 1 then return t:masked_select(mask):contiguous() end
  local idx = mask:nonzero()
  if idx:dim() == 2 then idx = idx:select(2, 1) end
  return t:index_select(1, idx):contiguous()
end
-- Axes.select_rows(t, mask) -> Tensor
-- The entries (rows) of t where mask is true; t itself when either is nil.
Axes.select_rows = select_rows

---------------------------------------------------------------------------
-- scatter
---------------------------------------------------------------------------

-- Sizes in points^2: a number, or n values (tensor or table).
local function scatter_sizes(s, n, rc, fname, argn)
  if s == nil then return rc["lines.markersize"] ^ 2 end
  if type(s) == "number" then
    if not (s >= 0) then fail(fname, argn, "marker size must be non-negative") end
    return s
  end
  local v = U.vec(s, fname, argn, "s")
  if v:size(1) ~= n and v:size(1) ~= 1 then fail(fname, argn, ("%d sizes for %d points"):format(v:size(1), n)) end
  if v:size(1) == 1 then return v[1] end
  return v
end

-- Edge colours of scatter markers: "face", "none" or a colour.
local function edge_spec(e, rc, alpha, fname, argn)
  if e == nil then e = rc["scatter.edgecolors"] end
  if e == "face" or e == "none" then return e end
  return U.color(e, rc, fname, argn, alpha)
end

local SCATTER_KEYS = { "c", "color", "s", "size", "marker", "alpha", "cmap", "vmin", "vmax",
                       "edgecolors", "edgecolor", "linewidths", "linewidth", "lw", "label",
                       "zorder", "clip_on", "density" }
local DENSITY_KEYS = { "gridsize", "bw_method" }

-- The kernel's standard deviation along one axis: Scott's factor n^(-1/6) (2-d; Silverman's
-- rule gives the same factor in 2-d) or the given factor, times the coordinates' standard
-- deviation (scipy's gaussian_kde with its covariance's off-diagonal dropped). Degenerate data
-- (one point, or all on a line) borrow the spread matplotlib's nonsingular gives the axis.
local function bandwidth(v, factor, lo, hi)
  local sd = v:size(1) > 1 and v:std() or 0
  if not (sd > 0) or sd == math.huge then
    local a, b = C.nonsingular(lo, hi, 0.1, 1e-15)
    sd = (b - a) / 2
  end
  return factor * sd
end

-- Each point's density for {density = spec}: a binned Gaussian kernel estimate in C
-- (plot_point_density: linear binning on a grid, separable smoothing, bilinear interpolation
-- back), and the 0-based order of increasing density to draw in. xs, ys are finite.
local function point_density(xs, ys, spec)
  local o = spec == true and {} or spec
  if type(o) ~= "table" or T.is_tensor(o) then
    fail("scatter", 3, "density must be true or {gridsize =, bw_method =}, got " .. tostring(spec))
  end
  O.check("scatter", 3, o, DENSITY_KEYS)
  local gs = o.gridsize or 256
  local nx, ny = gs, gs
  if type(gs) == "table" then nx, ny = gs[1], gs[2] end
  if math.type(nx) ~= "integer" or math.type(ny) ~= "integer" or nx < 2 or ny < 2
      or nx > 4096 or ny > 4096 then
    fail("scatter", 3, "density gridsize must be an integer in 2..4096 or {nx, ny}")
  end
  local n = xs:size(1)
  local bw = o.bw_method or "scott"
  local factor
  if bw == "scott" or bw == "silverman" then
    factor = math.max(n, 1) ^ (-1 / 6)
  elseif type(bw) == "number" and bw > 0 and bw < math.huge then
    factor = bw
  else
    fail("scatter", 3, ("density bw_method must be 'scott', 'silverman' or a positive number, "
      .. "got %s"):format(tostring(bw)))
  end
  if n == 0 then return T.zeros(0, "float64"), T.zeros(0, "int64") end
  local xlo, xhi = C.finite_range(xs)
  local ylo, yhi = C.finite_range(ys)
  local hx, hy = bandwidth(xs, factor, xlo, xhi), bandwidth(ys, factor, ylo, yhi)
  -- The grid reaches 4 kernel widths past the data, so no point's kernel is cut at its edge.
  local dens, order = C.point_density(xs, ys, nx, ny, xlo - 4 * hx, xhi + 4 * hx,
    ylo - 4 * hy, yhi + 4 * hy, hx, hy)
  return dens, order
end

-- ax:scatter(x, y [, {c | color = next colour, s | size = 36 (pt^2, a number or n values),
--            marker = "o", alpha = 1, cmap = "viridis", vmin = min, vmax = max,
--            edgecolors | edgecolor = "face", linewidths | linewidth | lw = 1, label =, zorder = 1,
--            clip_on = true, density = false}]) -> artist
-- A scatter plot of equal-length x and y (tensors or tables): c is a colour,
-- n colours, or n values mapped through cmap; points with a non-finite
-- coordinate are skipped. Mismatched sizes, an unknown marker or an unknown
-- option raise.
-- density = true (or {gridsize = 256, bw_method = "scott"}) colours each point by the density
-- of the points around it, through cmap, and draws the points in order of increasing density
-- so dense cores stay on top; c must then be absent. The density is a binned Gaussian kernel
-- estimate (per unit area, integrating to 1): the points are binned linearly onto a gridsize
-- (or {nx, ny}) grid spanning the data plus 4 kernel widths, smoothed by a product Gaussian
-- kernel whose widths are bw_method ("scott" or "silverman": n^(-1/6) in 2-d, or a number)
-- times each axis's standard deviation, and interpolated bilinearly back at every point:
-- scipy's gaussian_kde(xy)(xy) (without its covariance's off-diagonal) in O(n) instead of
-- O(n^2). The artist's density holds the values (kept points in input order) and
-- fig:colorbar labels its bar "density".
function Axes:scatter(x, y, o)
  o = opts_table(o, "scatter", 3, SCATTER_KEYS)
  local xs, ys = U.vec(x, "scatter", 1, "x"), U.vec(y, "scatter", 2, "y")
  if xs:size(1) ~= ys:size(1) then
    fail("scatter", 2, ("x and y must be the same size (x has %d, y has %d)"):format(xs:size(1), ys:size(1)))
  end
  local n, rc = xs:size(1), self.rc
  local c = o.c or o.color
  local density = o.density
  if density ~= nil and density ~= false and c ~= nil then
    fail("scatter", 3, "c (or color) and density cannot both be given: density sets the colours")
  end
  if density == false then density = nil end
  local marker = o.marker or rc["scatter.marker"]
  if MARKERS[marker] == nil then fail("scatter", 3, ("unknown marker '%s' (o . , ^ v < > s D d p h 8 * + x | _)"):format(tostring(marker))) end
  local default = c == nil and not density and self:next_color("patches") or nil
  local copts = { alpha = o.alpha, cmap = o.cmap, vmin = o.vmin, vmax = o.vmax, default = default }
  local cols = not density and U.point_colors(c, n, copts, rc, "scatter", 3)
  local sizes = scatter_sizes(o.s or o.size, n, rc, "scatter", 3)
  local filled = MARKERS[marker]
  local lw = o.linewidths or o.linewidth or o.lw
  if lw == nil then lw = filled and rc["patch.linewidth"] or rc["lines.linewidth"] end
  local edge = filled and edge_spec(o.edgecolors or o.edgecolor, rc, o.alpha, "scatter", 3) or "face"
  local mask = finite_mask(xs, ys)
  if mask then
    xs, ys = select_rows(xs, mask), select_rows(ys, mask)
    if cols and cols.many then cols.many = select_rows(cols.many, mask) end
    if U.is_tensor(sizes) then sizes = select_rows(sizes, mask) end
  end
  local dens, order
  if density then
    dens, order = point_density(xs, ys, density)
    cols = U.mapped_colors(dens, dens:size(1), copts, rc, "scatter", 3)
  end
  return self:add {
    kind = "scatter", x = xs, y = ys, colors = cols, sizes = sizes, marker = marker, filled = filled,
    edge = edge, lw = lw, zorder = o.zorder or 1, label = o.label, alpha = o.alpha,
    cmap = cols.cmap, vmin = cols.vmin, vmax = cols.vmax, clip = o.clip_on ~= false,
    density = dens, density_order = order, colorbar_label = dens and "density" or nil,
  }
end

---------------------------------------------------------------------------
-- plot (lines with optional markers)
---------------------------------------------------------------------------

local FMT_COLORS = { b = "b", g = "g", r = "r", c = "c", m = "m", y = "y", k = "k", w = "w" }

-- matplotlib format strings: "r--", "o", "k:", "g-o".
local function parse_fmt(fmt)
  local o = {}
  local rest = fmt
  for _, ls in ipairs { "--", "-.", "-", ":" } do
    local i = rest:find(ls, 1, true)
    if i then o.linestyle = ls; rest = rest:sub(1, i - 1) .. rest:sub(i + #ls) break end
  end
  for ch in rest:gmatch(".") do
    if FMT_COLORS[ch] then o.color = ch
    elseif MARKERS[ch] ~= nil then o.marker = ch
    elseif ch:match("%d") then o.color = "C" .. ch
    else return nil end
  end
  if o.marker and not o.linestyle then o.linestyle = "none" end
  return o
end

local PLOT_KEYS = { "color", "c", "linestyle", "ls", "linewidth", "lw", "marker", "markersize",
                    "ms", "markerfacecolor", "mfc", "markeredgecolor", "mec", "markeredgewidth",
                    "mew", "solid_capstyle", "alpha", "label", "zorder", "clip_on", "drawstyle",
                    "ds" }
Axes.PLOT_KEYS = PLOT_KEYS

-- ax:plot([x,] y [, fmt] [, {color | c = next colour, linestyle | ls = "-", linewidth | lw = 1.5,
--          marker = none, markersize | ms = 6, markerfacecolor | mfc = color,
--          markeredgecolor | mec = color, markeredgewidth | mew = 1, solid_capstyle = "projecting",
--          drawstyle | ds = "default", alpha = 1, label =, zorder = 2, clip_on = true}]) -> artist
-- A line through the points (x defaults to 0, 1, 2, ...); fmt is a
-- matplotlib format string ("r--", "o", "k:", "C1-o"); drawstyle "steps-pre", "steps-post",
-- "steps-mid" ("steps" = "steps-pre") draws steps, as ax:step.
function Axes:plot(x, y, fmt, o)
  -- argn: where the options table was in the call, for its error message (x and fmt may be
  -- left out, as in matplotlib).
  local argn = 4
  if type(y) == "string" or (type(y) == "table" and not U.is_tensor(y) and type(y[1]) ~= "number" and y[1] ~= nil) then
    x, y, fmt, o = nil, x, y, fmt
    argn = argn - 1
  elseif y == nil then
    x, y = nil, x
  end
  if type(fmt) == "table" then
    fmt, o = nil, fmt
    argn = argn - 1
  end
  o = opts_table(o, "plot", argn, PLOT_KEYS)
  local ys = U.vec(y, "plot", 2, "y")
  local xs = x and U.vec(x, "plot", 1, "x") or T.arange(0, ys:size(1), 1, "float64")
  if xs:size(1) ~= ys:size(1) then
    fail("plot", 2, ("x and y must have the same length (x has %d, y has %d)"):format(xs:size(1), ys:size(1)))
  end
  local f = {}
  if fmt then
    f = parse_fmt(fmt)
    if not f then fail("plot", 3, ("bad format string '%s'"):format(fmt)) end
  end
  local rc = self.rc
  local color = o.color or o.c or f.color or self:next_color("lines")
  local marker = o.marker or f.marker
  if marker and MARKERS[marker] == nil then fail("plot", 4, ("unknown marker '%s'"):format(tostring(marker))) end
  local ls = o.linestyle or o.ls or f.linestyle or "-"
  U.dashes(ls, 1, 1, "plot", 4)
  local a = self:add {
    kind = "line", x = xs, y = ys, color = U.color(color, rc, "plot", 4, o.alpha),
    lw = o.linewidth or o.lw or rc["lines.linewidth"], ls = ls, marker = marker,
    ms = o.markersize or o.ms or rc["lines.markersize"],
    mfc = (o.markerfacecolor or o.mfc) and U.color(o.markerfacecolor or o.mfc, rc, "plot", 4,
                                                   o.alpha) or nil,
    mec = (o.markeredgecolor or o.mec) and U.color(o.markeredgecolor or o.mec, rc, "plot", 4,
                                                   o.alpha) or nil,
    mew = o.markeredgewidth or o.mew or rc["lines.markeredgewidth"],
    cap = o.solid_capstyle or rc["lines.solid_capstyle"], zorder = o.zorder or 2, label = o.label,
    clip = o.clip_on ~= false,
  }
  if o.drawstyle or o.ds then self:_apply_drawstyle(a, o.drawstyle or o.ds, "plot", 4) end
  return a
end

---------------------------------------------------------------------------
-- bar / hist
---------------------------------------------------------------------------

local function per_item(v, n, fname, argn, what)
  if v == nil or type(v) == "number" then return function() return v end end
  local t = U.vec(v, fname, argn, what)
  if t:size(1) ~= n then fail(fname, argn, ("%d %s values for %d bars"):format(t:size(1), what, n)) end
  local tab = t:totable()
  return function(i) return tab[i] end
end

-- Bar colours: nil (next colour), one colour or one per bar.
local function bar_colors(self, c, n, alpha, fname, argn)
  if c == nil then return { one = U.color(self:next_color("patches"), self.rc, fname, argn, alpha) } end
  if U.is_colorlike(c) and not (type(c) == "table" and #c == n and type(c[1]) ~= "number") then
    return { one = U.color(c, self.rc, fname, argn, alpha) }
  end
  return U.point_colors(c, n, { alpha = alpha }, self.rc, fname, argn)
end

-- x positions of bars: numbers, or category names (placed at 0, 1, 2, ...).
local function bar_positions(self, x, fname, axis)
  if type(x) == "table" and not U.is_tensor(x) and type(x[1]) == "string" then
    local locs = {}
    for i = 1, #x do locs[i] = i - 1 end
    self[axis].fixed_locs, self[axis].fixed_labels = locs, x
    return T.new(locs, "float64")
  end
  return U.vec(x, fname, 1, axis)
end

-- ax:add_rects(x0, y0, x1, y1, colors, opts [, extra]) -> artist
-- The rectangles artist shared by bar, barh and hist.
function Axes:add_rects(x0, y0, x1, y1, cols, o, extra)
  local edge
  if o.edgecolor and o.edgecolor ~= "none" then
    edge = { color = U.color(o.edgecolor, self.rc, extra.fname, 3, o.alpha),
             width = o.linewidth or o.lw or self.rc["patch.linewidth"] }
  end
  local a = {
    kind = "rects", x0 = x0, y0 = y0, x1 = x1, y1 = y1, colors = cols, edge = edge,
    zorder = o.zorder or 1, label = o.label, sticky_x = extra.sticky_x, sticky_y = extra.sticky_y,
    clip = true,
  }
  return self:add(a)
end

local BAR_KEYS = { "width", "bottom", "align", "color", "alpha", "label", "edgecolor", "linewidth",
                   "lw", "zorder", "tick_label", "yerr", "xerr", "capsize", "ecolor" }

-- ax:bar(x, height [, {width = 0.8, bottom = 0, align = "center"|"edge", color = next colour
--        (one or one per bar), alpha = 1, label =, edgecolor = none, linewidth | lw = 1,
--        zorder = 1, tick_label =, yerr =, xerr =, capsize = 0, ecolor = "black"}]) -> bars
-- Bars at x (numbers, or category names placed at 0, 1, 2, ...); returns a list of bars
-- {x=, y=, width=, height=} (x is the left edge). yerr/xerr (a number, one per bar or
-- {below, above}) draw error bars at the bar tops, as ax:errorbar with capsize and ecolor.
function Axes:bar(x, height, o)
  o = opts_table(o, "bar", 3, BAR_KEYS)
  local xs = bar_positions(self, x, "bar", "x")
  local hs = U.vec(height, "bar", 2, "height")
  local n = xs:size(1)
  if hs:size(1) == 1 and n > 1 then hs = T.full({ n }, hs[1], "float64") end
  if xs:size(1) ~= hs:size(1) then
    fail("bar", 2, ("x has %d positions but height has %d values"):format(xs:size(1), hs:size(1)))
  end
  local width, bottom = per_item(o.width or 0.8, n, "bar", 3, "width"), per_item(o.bottom or 0, n, "bar", 3, "bottom")
  local xt, ht = xs:totable(), hs:totable()
  local x0, y0, x1, y1, bars, sticky = {}, {}, {}, {}, {}, {}
  for i = 1, n do
    local w, b = width(i), bottom(i)
    local left = o.align == "edge" and xt[i] or xt[i] - w / 2
    x0[i], x1[i], y0[i], y1[i] = left, left + w, b, b + ht[i]
    bars[i] = { x = left, y = b, width = w, height = ht[i] }
    sticky[#sticky + 1] = b
  end
  local cols = bar_colors(self, o.color, n, o.alpha, "bar", 3)
  local v = function(t) return T.new(#t > 0 and t or { 0 }, "float64"):narrow(1, 1, #t) end
  self:add_rects(v(x0), v(y0), v(x1), v(y1), cols, o, { fname = "bar", sticky_y = sticky })
  if o.tick_label then self.x.fixed_locs, self.x.fixed_labels = xt, o.tick_label end
  self:_bar_errors(bars, o, "bar", false)
  return bars
end

local BARH_KEYS = { "height", "left", "align", "color", "alpha", "label", "edgecolor", "linewidth",
                    "lw", "zorder", "yerr", "xerr", "capsize", "ecolor" }

-- ax:barh(y, width [, {height = 0.8, left = 0, align = "center"|"edge", color =, alpha = 1,
--         label =, edgecolor = none, linewidth | lw = 1, zorder = 1, xerr =, yerr =, capsize = 0,
--         ecolor = "black"}]) -> bars
-- Horizontal bars, as ax:bar; xerr draws error bars at the bar ends.
function Axes:barh(y, width, o)
  o = opts_table(o, "barh", 3, BARH_KEYS)
  local ys = bar_positions(self, y, "barh", "y")
  local ws = U.vec(width, "barh", 2, "width")
  local n = ys:size(1)
  if ws:size(1) ~= n then fail("barh", 2, ("y has %d positions but width has %d values"):format(n, ws:size(1))) end
  local hgt, left = per_item(o.height or 0.8, n, "barh", 3, "height"), per_item(o.left or 0, n, "barh", 3, "left")
  local yt, wt = ys:totable(), ws:totable()
  local x0, y0, x1, y1, bars, sticky = {}, {}, {}, {}, {}, {}
  for i = 1, n do
    local h, l = hgt(i), left(i)
    local b = o.align == "edge" and yt[i] or yt[i] - h / 2
    x0[i], x1[i], y0[i], y1[i] = l, l + wt[i], b, b + h
    bars[i] = { x = l, y = b, width = wt[i], height = h }
    sticky[#sticky + 1] = l
  end
  local cols = bar_colors(self, o.color, n, o.alpha, "barh", 3)
  local v = function(t) return T.new(#t > 0 and t or { 0 }, "float64"):narrow(1, 1, #t) end
  self:add_rects(v(x0), v(y0), v(x1), v(y1), cols, o, { fname = "barh", sticky_x = sticky })
  self:_bar_errors(bars, o, "barh", true)
  return bars
end

-- ax:bar_label(bars [, {fmt = "%g", padding = 0 (points), labels =, fontsize | size = 10,
-- color =}])
-- Writes each bar's value (or labels[i]) above it.
function Axes:bar_label(bars, o)
  o = opts_table(o, "bar_label", 2, { "fmt", "padding", "labels", "fontsize", "size", "color" })
  if type(bars) ~= "table" then fail("bar_label", 1, "bars returned by ax:bar expected") end
  for i, b in ipairs(bars) do
    local s = U.text(o.labels and o.labels[i] or (o.fmt or "%g"):format(b.height), "bar_label", 2)
    local up = b.height >= 0
    self:add {
      kind = "text", x = b.x + b.width / 2, y = b.y + b.height, s = tostring(s), coords = "data",
      offset = { 0, (o.padding or 0) * (up and 1 or -1) }, zorder = 3,
      opts = { ha = "center", va = up and "bottom" or "top", size = o.fontsize or o.size, color = o.color },
    }
  end
end

-- Axes.hist_edges(lo, hi, bins) -> Tensor
-- numpy.histogram edges: linspace(lo, hi, bins + 1) with numpy's rounding.
local function hist_edges(lo, hi, bins)
  if lo == hi then lo, hi = lo - 0.5, hi + 0.5 end
  local e, step = {}, (hi - lo) / bins
  for i = 0, bins - 1 do e[i + 1] = i * step + lo end
  e[bins + 1] = hi
  return T.new(e, "float64")
end
Axes.hist_edges = hist_edges

local HIST_KEYS = { "bins", "range", "density", "weights", "histtype", "color", "alpha", "label",
                    "rwidth", "edgecolor", "linewidth", "zorder", "log" }

-- ax:hist(x [, {bins = 10, range = {min, max}, density = false, weights =,
--            histtype = "bar"|"step"|"stepfilled", color = next colour, alpha = 1, label =,
--            rwidth = 1 (0.8 for several datasets), edgecolor = none, linewidth = 1.5,
--            zorder = 1, log = false}]) -> counts, edges
-- bins is a count (at most 1000000) or a list of edges (at most 1000001); log = true puts
-- the counts on a log axis, as matplotlib's log=True.
function Axes:hist(x, o)
  o = opts_table(o, "hist", 2, HIST_KEYS)
  local datasets = {}
  if type(x) == "table" and not U.is_tensor(x) and (U.is_tensor(x[1]) or type(x[1]) == "table") then
    for i, d in ipairs(x) do datasets[i] = U.vec(d, "hist", 1, "x") end
  else
    datasets[1] = U.vec(x, "hist", 1, "x")
  end
  local bins = o.bins or self.rc["hist.bins"]
  local edges
  if type(bins) == "number" then
    -- checked before the edges are made: bins = 1e8 built 1e8 edges for 11 s
    -- and then failed with a message about edges; inf never finished
    if not (bins >= 1 and bins <= C.HIST_MAX_BINS and bins == math.floor(bins)) then
      fail("hist", 2, ("bins must be an integer in 1..%d or a list of edges, got %s"):format(
        C.HIST_MAX_BINS, tostring(bins)))
    end
    bins = math.tointeger(bins)
    local lo, hi
    if o.range then
      lo, hi = o.range[1], o.range[2]
    else
      for _, d in ipairs(datasets) do
        local a, b = C.finite_range(d)
        if a then lo, hi = math.min(lo or a, a), math.max(hi or b, b) end
      end
    end
    if lo == nil then lo, hi = 0, 1 end
    edges = hist_edges(lo, hi, bins)
  else
    edges = U.vec(bins, "hist", 2, "bins")
    if edges:size(1) < 2 then fail("hist", 2, "bins needs at least 2 edges") end
  end
  local w = o.weights and U.vec(o.weights, "hist", 2, "weights") or nil
  local nb = edges:size(1) - 1
  local widths = edges:narrow(1, 2, nb) - edges:narrow(1, 1, nb)
  local results, nx = {}, #datasets
  local htype = o.histtype or "bar"
  if htype ~= "bar" and htype ~= "step" and htype ~= "stepfilled" then
    fail("hist", 2, ("unknown histtype '%s' (bar, step, stepfilled)"):format(tostring(htype)))
  end
  local colors = o.color
  if colors ~= nil and nx > 1 and not (type(colors) == "table" and #colors == nx) then colors = { colors } end
  for k, d in ipairs(datasets) do
    local counts = C.histogram(d, edges, w)
    if o.density then
      local total = counts:sum()
      if type(total) ~= "number" then total = total:item() end
      counts = counts / (widths * (total > 0 and total or 1))
    end
    results[k] = counts
    local col = colors and (nx > 1 and colors[k] or colors) or self:next_color("lines")
    local label = type(o.label) == "table" and o.label[k] or (k == 1 and o.label or nil)
    if htype == "bar" then
      local dr = o.rwidth or (nx > 1 and 0.8 or 1.0)
      local bw = widths * (dr / nx)
      local left = edges:narrow(1, 1, nb) + widths * ((1 - dr) / 2 + (k - 1) * dr / nx)
      local zero = T.zeros(nb, "float64")
      self:add_rects(left:contiguous(), zero, (left + bw):contiguous(), counts:contiguous(),
        { one = U.color(col, self.rc, "hist", 2, o.alpha) },
        { edgecolor = o.edgecolor, linewidth = o.linewidth, zorder = o.zorder, label = label },
        { fname = "hist", sticky_y = { 0 } })
    else
      -- step outline: (e0,0) (e0,c0) (e1,c0) (e1,c1) ... (en,0)
      local xs, ys = { edges[1] }, { 0 }
      local et, ct = edges:totable(), counts:totable()
      for i = 1, nb do
        xs[#xs + 1], ys[#ys + 1] = et[i], ct[i]
        xs[#xs + 1], ys[#ys + 1] = et[i + 1], ct[i]
      end
      xs[#xs + 1], ys[#ys + 1] = et[nb + 1], 0
      local a = self:plot(xs, ys, { color = col, linewidth = o.linewidth, alpha = htype == "step" and o.alpha or nil,
                                    label = label, zorder = o.zorder })
      a.sticky_y = { 0 }
      a.patch_legend = true
      if htype == "stepfilled" then
        a.fill = U.color(col, self.rc, "hist", 2, o.alpha)
        a.lw = 0
      else
        a.outline = true
      end
    end
  end
  if o.log then self:yscale("log") end -- matplotlib's log=True: a log count axis
  if nx == 1 then return results[1], edges end
  return results, edges
end

---------------------------------------------------------------------------
-- boxplot
---------------------------------------------------------------------------

-- ax:boxplot(data [, {labels = positions, whis = 1.5, widths = 0.15 x spread (0.15..0.5),
--             positions = {1, 2, ...}, showfliers = true, patch_artist = false,
--             facecolor = "C0", showmeans = false}]) -> stats list
function Axes:boxplot(data, o)
  o = opts_table(o, "boxplot", 2, { "labels", "whis", "widths", "positions", "showfliers",
                                    "patch_artist", "facecolor", "showmeans" })
  local sets = {}
  if U.is_tensor(data) and data:dim() == 2 then
    for j = 1, data:size(2) do sets[j] = data:select(2, j) end
  elseif type(data) == "table" and not U.is_tensor(data) and (U.is_tensor(data[1]) or type(data[1]) == "table") then
    sets = data
  else
    sets = { data }
  end
  local n = #sets
  local pos = o.positions or {}
  if o.positions and #pos ~= n then fail("boxplot", 2, ("%d positions for %d datasets"):format(#pos, n)) end
  for i = 1, n do pos[i] = pos[i] or i end
  local ptp = n > 1 and (math.max(table.unpack(pos)) - math.min(table.unpack(pos))) or 0
  local width0 = math.min(0.5, math.max(0.15, 0.15 * ptp))
  local rc, stats = self.rc, {}
  local function line(xs, ys, key, z)
    local a = self:plot(xs, ys, { color = rc["boxplot." .. key .. "props.color"],
                                  linewidth = rc["boxplot." .. key .. "props.linewidth"], zorder = z or 2 })
    return a
  end
  for i, d in ipairs(sets) do
    local v = U.vec(d, "boxplot", 1, "data")
    local s = C.box_stats(v, o.whis or rc["boxplot.whiskers"])
    stats[i] = s
    local p = pos[i]
    local w = type(o.widths) == "table" and o.widths[i] or o.widths or width0
    local cw = w * 0.5
    local l, r = p - w / 2, p + w / 2
    if o.patch_artist then
      local fc = U.color(o.facecolor or rc["patch.facecolor"], rc, "boxplot", 2)
      local a = line({ l, r, r, l, l }, { s.q1, s.q1, s.q3, s.q3, s.q1 }, "box")
      a.fill = fc
    else
      line({ l, r, r, l, l }, { s.q1, s.q1, s.q3, s.q3, s.q1 }, "box")
    end
    line({ p, p }, { s.q1, s.whislo }, "whisker")
    line({ p, p }, { s.q3, s.whishi }, "whisker")
    line({ p - cw / 2, p + cw / 2 }, { s.whislo, s.whislo }, "cap")
    line({ p - cw / 2, p + cw / 2 }, { s.whishi, s.whishi }, "cap")
    local med = line({ l, r }, { s.med, s.med }, "median", 2.1)
    med.sticky_x = { p - 0.5, p + 0.5 }
    med.extra_xlim = { p - 0.5, p + 0.5 }
    if o.showmeans then
      self:plot({ p }, { s.mean }, { marker = "^", linestyle = "none", color = "green", zorder = 2.1 })
    end
    if o.showfliers ~= false and s.fliers:size(1) > 0 then
      local nf = s.fliers:size(1)
      self:add {
        kind = "line", x = T.full({ nf }, p, "float64"), y = s.fliers, ls = "none",
        marker = rc["boxplot.flierprops.marker"], ms = rc["boxplot.flierprops.markersize"],
        mfc = U.color(rc["boxplot.flierprops.markerfacecolor"], rc, "boxplot", 2),
        mec = U.color(rc["boxplot.flierprops.markeredgecolor"], rc, "boxplot", 2),
        mew = rc["boxplot.flierprops.markeredgewidth"], color = U.color("black", rc, "boxplot", 2), lw = 1,
        zorder = 2, clip = true,
      }
    end
  end
  self.x.fixed_locs = pos
  local labels = {}
  for i = 1, n do labels[i] = o.labels and tostring(o.labels[i] or "") or ("%g"):format(pos[i]) end
  self.x.fixed_labels = labels
  return stats
end

---------------------------------------------------------------------------
-- images
---------------------------------------------------------------------------

-- Axes.image_rgba(img, opts, rc, fname) -> Tensor
-- An image as straight RGBA bytes [h x w x 4] from [h x w] values (through a
-- colormap), [h x w x 3|4] floats in [0, 1] or uint8, or [c x h x w] with c = 1 or 3.
local function image_rgba(img, o, rc, fname)
  if not U.is_tensor(img) then
    if type(img) == "table" then img = T.new(img, "float64")
    else fail(fname, 1, "image tensor expected, got " .. type(img)) end
  end
  local d = img:size()
  if #d == 3 and (d[1] == 1 or d[1] == 3) and d[3] ~= 3 and d[3] ~= 4 then
    img = img:permute(2, 3, 1)
    d = img:size()
  end
  if #d == 3 and d[3] == 1 then img = img:select(3, 1); d = img:size() end
  if #d == 2 then
    local v = img:to("float64", true):reshape(d[1] * d[2])
    local lo, hi = C.finite_range(v)
    local vmin, vmax = o.vmin or lo or 0, o.vmax or hi or 1
    local name = o.cmap or rc["image.cmap"]
    U.check_cmap(name, fname, 2)
    local rgba = C.cmap_map(name, v, vmin, vmax, 1)
    local u8 = (rgba * 255 + 0.5):clamp(0, 255):to("uint8"):reshape(d[1], d[2], 4)
    return u8:contiguous(), { cmap = name, vmin = vmin, vmax = vmax }
  end
  if #d ~= 3 or (d[3] ~= 3 and d[3] ~= 4) then
    fail(fname, 1, ("image must be [h x w], [h x w x 3|4] or [3 x h x w], got [%s]"):format(table.concat(d, "x")))
  end
  local u8
  if img:dtype() == "uint8" then
    u8 = img:contiguous()
  else
    u8 = (img:to("float64", true):clamp(0, 1) * 255 + 0.5):to("uint8")
  end
  if d[3] == 3 then u8 = T.cat({ u8, T.full({ d[1], d[2], 1 }, 255, "uint8") }, 3) end
  return u8:contiguous(), nil
end
Axes.image_rgba = image_rgba

-- ax:imshow(img [, {cmap = "viridis", vmin = min, vmax = max,
--             interpolation = "antialiased"|"nearest"|"bilinear"|"none",
--             extent = {-0.5, w - 0.5, h - 0.5, -0.5} ({l, r, b, t}), origin = "upper"|"lower",
--             aspect = "equal"|"auto", alpha = 1, zorder = 0}]) -> artist
function Axes:imshow(img, o)
  o = opts_table(o, "imshow", 2, { "cmap", "vmin", "vmax", "interpolation", "extent", "origin",
                                   "aspect", "alpha", "zorder" })
  local rgba, map = image_rgba(img, o, self.rc, "imshow")
  local h, w = rgba:size(1), rgba:size(2)
  local ext = o.extent
  if ext and (type(ext) ~= "table" or #ext ~= 4) then fail("imshow", 2, "extent must be {left, right, bottom, top}") end
  local origin = o.origin or "upper"
  if not ext then
    ext = origin == "upper" and { -0.5, w - 0.5, h - 0.5, -0.5 } or { -0.5, w - 0.5, -0.5, h - 0.5 }
  end
  local interp = o.interpolation or self.rc["image.interpolation"]
  if interp ~= "nearest" and interp ~= "bilinear" and interp ~= "antialiased" and interp ~= "none" then
    fail("imshow", 2, ("unknown interpolation '%s' (nearest, bilinear, antialiased)"):format(tostring(interp)))
  end
  self.aspect = o.aspect or "equal"
  self.x.lim = { ext[1], ext[2] }
  self.y.lim = { ext[3], ext[4] }
  return self:add {
    kind = "image", rgba = rgba, extent = ext, interp = interp, alpha = o.alpha or 1, zorder = o.zorder or 0,
    cmap = map and map.cmap, vmin = map and map.vmin, vmax = map and map.vmax, clip = true,
    flip = origin == "lower",
  }
end

---------------------------------------------------------------------------
-- text, reference lines, filled areas
---------------------------------------------------------------------------

-- ax:text(x, y, s [, {transform | coords = "data"|"axes", ha = "left", va = "baseline",
--          fontsize | size = 10, color = "black", alpha = 1, rotation = 0, weight | fontweight =,
--          style =, family =, linespacing = 1.2, multialign =, rotation_mode =, zorder = 3,
--          bbox = {boxstyle = "square"|"round[,pad=p]", facecolor = "white",
--          edgecolor = "black", alpha = 1, pad = 0.3, linewidth = 1}}]) -> artist
function Axes:text(x, y, s, o)
  o = opts_table(o, "text", 4, keys(Axes.TEXT_KEYS, { "transform", "coords", "bbox", "zorder" }))
  if type(x) ~= "number" or x ~= x then fail("text", 1, "x must be a finite number") end
  if type(y) ~= "number" or y ~= y then fail("text", 2, "y must be a finite number") end
  s = U.text(s, "text", 3)
  local coords = o.transform or o.coords or "data"
  if coords ~= "data" and coords ~= "axes" then fail("text", 4, "transform must be 'data' or 'axes'") end
  U.text_opts(o, self.rc, 1, {}, "text")
  return self:add { kind = "text", x = x, y = y, s = tostring(s), coords = coords, opts = o, zorder = o.zorder or 3 }
end

local function ref_line(self, kind, v, o, fname)
  local span = kind == "hline" and { "xmin", "xmax" } or { "ymin", "ymax" }
  o = opts_table(o, fname, 2, keys(span, { "color", "c", "linewidth", "lw", "linestyle", "ls",
                                           "alpha", "label", "zorder" }))
  if type(v) ~= "number" then fail(fname, 1, "position must be a number") end
  -- a Line2D's own default colour (lines.color), not the next of the cycle, as matplotlib
  local color = o.color or o.c or self.rc["lines.color"] or "C0"
  return self:add {
    kind = kind, v = v, lo = o.xmin or o.ymin or 0, hi = o.xmax or o.ymax or 1,
    color = U.color(color, self.rc, fname, 2, o.alpha), lw = o.linewidth or o.lw or self.rc["lines.linewidth"],
    ls = o.linestyle or o.ls or "-", zorder = o.zorder or 2, label = o.label, clip = true,
  }
end
-- ax:axhline([y = 0] [, {xmin = 0, xmax = 1, color | c = "C0", linewidth | lw = 1.5,
--             linestyle | ls = "-", alpha = 1, label =, zorder = 2}]) -> artist
-- A horizontal line at data height y across the axes (xmin..xmax in axes fractions).
function Axes:axhline(y, o) return ref_line(self, "hline", y or 0, o, "axhline") end
-- ax:axvline([x = 0] [, {ymin = 0, ymax = 1, ...as axhline}]) -> artist
-- A vertical line at data position x, as axhline.
function Axes:axvline(x, o) return ref_line(self, "vline", x or 0, o, "axvline") end

return Axes
