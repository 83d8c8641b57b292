-- lunette.plot_artists2: more 2-D artists, matched to matplotlib's look for the same call:
-- errorbar (and the error bars of bar/barh), step and plot's drawstyle, semilogx/semilogy/loglog,
-- axhspan/axvspan, fill_between's where= and fill_betweenx, annotate (text with an arrow) and
-- twinx/twiny. Like lunette.plot_artists, each method validates its options and appends artist
-- tables; lunette.plot_axes copies these methods into its Axes class, and the two artist kinds
-- drawn here ("span", "annotation") register their draw functions in lunette.plot_render.
local T = require "lunette.tensor"
local C = require "lunette._plot"
local U = require "lunette.plot_util"
local O = require "lunette.options"
local R = require "lunette.plot_render"
local A1 = require "lunette.plot_artists"

local Axes = {}

local function fail(...) return U.fail(...) end

-- Options o (nil -> {}) after checking that every key is one of known.
local function opts(o, fname, n, known)
  if o ~= nil and (type(o) ~= "table" or U.is_tensor(o)) then
    fail(fname, n, "options table expected, got " .. type(o))
  end
  return O.check(fname, n, o, known) or {}
end

local function vector(t)
  return T.new(#t > 0 and t or { 0 }, "float64"):narrow(1, 1, #t):contiguous()
end

---------------------------------------------------------------------------
-- errorbar
---------------------------------------------------------------------------

-- The lower and upper error of each of n points as two Lua arrays: err is a number, n values
-- (symmetric) or two lists / a [2 x n] tensor (below, above), as matplotlib's xerr/yerr.
local function error_pairs(err, n, fname, argn, what)
  local lo, hi
  if type(err) == "number" then
    lo, hi = {}, {}
    for i = 1, n do lo[i], hi[i] = err, err end
  elseif U.is_tensor(err) and err:dim() == 2 then
    if err:size(1) ~= 2 or err:size(2) ~= n then
      fail(fname, argn, ("%s must be [2 x %d] for %d points"):format(what, n, n))
    end
    local t = err:to("float64", true):totable()
    lo, hi = t[1], t[2]
  elseif type(err) == "table" and not U.is_tensor(err)
      and (type(err[1]) == "table" or U.is_tensor(err[1])) then
    if #err ~= 2 then fail(fname, argn, what .. " as two lists {below, above} expected") end
    lo = U.vec(err[1], fname, argn, what):totable()
    hi = U.vec(err[2], fname, argn, what):totable()
  else
    lo = U.vec(err, fname, argn, what):totable()
    hi = lo
  end
  if #lo ~= n or #hi ~= n then
    fail(fname, argn, ("%d %s values for %d points"):format(#lo, what, n))
  end
  for i = 1, n do
    if lo[i] < 0 or hi[i] < 0 then
      fail(fname, argn, what .. " must not contain negative values")
    end
  end
  return lo, hi
end

-- Error segments along axis dep ("x" or "y") around points (xs, ys) as one line artist with
-- NaN gaps (butt caps, as a LineCollection), plus the cap markers when capsize > 0.
local function error_segments(self, dep, xs, ys, err, st, fname, argn)
  local n = #xs
  local lo, hi = error_pairs(err, n, fname, argn, dep .. "err")
  local px, py, capx, capy = {}, {}, {}, {}
  local nan = 0 / 0
  for i = 1, n do
    local a, b
    if dep == "y" then
      a, b = ys[i] - lo[i], ys[i] + hi[i]
    else
      a, b = xs[i] - lo[i], xs[i] + hi[i]
    end
    local k = #px
    if dep == "y" then
      px[k + 1], py[k + 1], px[k + 2], py[k + 2] = xs[i], a, xs[i], b
      capx[#capx + 1], capy[#capy + 1], capx[#capx + 2], capy[#capy + 2] = xs[i], a, xs[i], b
    else
      px[k + 1], py[k + 1], px[k + 2], py[k + 2] = a, ys[i], b, ys[i]
      capx[#capx + 1], capy[#capy + 1], capx[#capx + 2], capy[#capy + 2] = a, ys[i], b, ys[i]
    end
    px[k + 3], py[k + 3] = nan, nan
  end
  self:add {
    kind = "line", x = vector(px), y = vector(py), color = st.color, lw = st.lw, ls = "-",
    cap = "butt",
    ms = 0, mew = 0, zorder = st.zorder, clip = true,
  }
  if st.capsize > 0 then
    self:add {
      kind = "line", x = vector(capx), y = vector(capy), color = st.color, lw = 0, ls = "none",
      marker = dep == "y" and "_" or "|", ms = 2 * st.capsize, mew = st.capthick,
      zorder = st.zorder,
      clip = true,
    }
  end
end

local ERRORBAR_KEYS = { "yerr", "xerr", "fmt", "ecolor", "elinewidth", "capsize", "capthick",
                        "color", "c", "linewidth", "lw", "linestyle", "ls", "marker", "markersize",
                        "ms", "markerfacecolor", "mfc", "markeredgecolor", "mec", "alpha", "label",
                        "zorder", "barsabove" }

-- ax:errorbar(x, y [, {yerr =, xerr =, fmt = "", ecolor = line colour, elinewidth = 1.5,
--             capsize = 0, capthick = 1, color =, linewidth = 1.5, linestyle = "-", marker =,
--             markersize = 6, markerfacecolor =, markeredgecolor =, alpha =, label =, zorder = 2,
--             barsabove = false}]) -> line artist (nil for fmt = "none")
-- Points with error bars, as matplotlib: yerr / xerr are a number, one value per point, or
-- {below, above} (two lists or a [2 x n] tensor); fmt is a format string ("o", "s--", "none"
-- for bars alone); the bars take the line's colour unless ecolor; caps are capsize points
-- wide on each side. Negative errors or lengths that do not match raise.
function Axes:errorbar(x, y, o)
  o = opts(o, "errorbar", 3, ERRORBAR_KEYS)
  local xs = U.vec(x, "errorbar", 1, "x"):totable()
  local ys = U.vec(y, "errorbar", 2, "y"):totable()
  if #xs ~= #ys then
    fail("errorbar", 2, ("x and y must have the same length (x has %d, y has %d)"):format(#xs, #ys))
  end
  local fmt = o.fmt or ""
  local color = o.color or o.c or self:next_color("lines")
  local line
  local zorder = o.zorder or 2
  if fmt ~= "none" then
    local po = { color = color, linewidth = o.linewidth or o.lw, linestyle = o.linestyle or o.ls,
                 marker = o.marker, markersize = o.markersize or o.ms, alpha = o.alpha,
                 label = o.label, markerfacecolor = o.markerfacecolor or o.mfc,
                 markeredgecolor = o.markeredgecolor or o.mec,
                 zorder = zorder + (o.barsabove and -0.1 or 0.1) }
    if fmt ~= "" then line = self:plot(xs, ys, fmt, po) else line = self:plot(xs, ys, po) end
  end
  local rc = self.rc
  local st = {
    color = U.color(o.ecolor or color, rc, "errorbar", 3, o.alpha),
    lw = o.elinewidth or o.linewidth or o.lw or rc["lines.linewidth"],
    capsize = o.capsize or rc["errorbar.capsize"] or 0,
    capthick = o.capthick or rc["lines.markeredgewidth"],
    zorder = zorder,
  }
  if o.xerr ~= nil then error_segments(self, "x", xs, ys, o.xerr, st, "errorbar", 3) end
  if o.yerr ~= nil then error_segments(self, "y", xs, ys, o.yerr, st, "errorbar", 3) end
  if line then
    line.errbar = { color = st.color, lw = st.lw, capsize = st.capsize, capthick = st.capthick,
                    x = o.xerr ~= nil, y = o.yerr ~= nil }
  end
  return line
end

-- ax:_bar_errors(bars, o, fname, horizontal)
-- The yerr/xerr of ax:bar and ax:barh at the bar ends (ecolor "black", capsize 0, as matplotlib).
function Axes:_bar_errors(bars, o, fname, horizontal)
  if o.yerr == nil and o.xerr == nil then return end
  local xs, ys = {}, {}
  for i, b in ipairs(bars) do
    if horizontal then xs[i], ys[i] = b.x + b.width, b.y + b.height / 2
    else xs[i], ys[i] = b.x + b.width / 2, b.y + b.height end
  end
  local st = {
    color = U.color(o.ecolor or "black", self.rc, fname, 3, o.alpha),
    lw = self.rc["lines.linewidth"],
    capsize = o.capsize or self.rc["errorbar.capsize"] or 0,
    capthick = self.rc["lines.markeredgewidth"],
    zorder = 2,
  }
  if o.xerr ~= nil then error_segments(self, "x", xs, ys, o.xerr, st, fname, 3) end
  if o.yerr ~= nil then error_segments(self, "y", xs, ys, o.yerr, st, fname, 3) end
end

---------------------------------------------------------------------------
-- steps and drawstyle
---------------------------------------------------------------------------

local STEPS = { default = false, steps = "pre", ["steps-pre"] = "pre", ["steps-post"] = "post",
                ["steps-mid"] = "mid" }

-- The corner points of a step line through (x, y): "pre" steps up at each x from the left,
-- "post" at each x to the right, "mid" halfway between neighbours (matplotlib's drawstyles).
local function step_points(xs, ys, where)
  local n = #xs
  local px, py = {}, {}
  if n == 0 then return px, py end
  local function add(a, b) px[#px + 1], py[#py + 1] = a, b end
  add(xs[1], ys[1])
  for i = 2, n do
    if where == "pre" then
      add(xs[i - 1], ys[i])
    elseif where == "post" then
      add(xs[i], ys[i - 1])
    else
      local m = (xs[i - 1] + xs[i]) / 2
      add(m, ys[i - 1])
      add(m, ys[i])
    end
    add(xs[i], ys[i])
  end
  return px, py
end

-- ax:_apply_drawstyle(artist, drawstyle, fname, argn) -> artist
-- Turns a line artist into matplotlib's step drawing ("default", "steps", "steps-pre",
-- "steps-post", "steps-mid"); markers stay at the data points.
function Axes:_apply_drawstyle(a, ds, fname, argn)
  local where = STEPS[ds]
  if where == nil then
    fail(fname, argn,
      ("unknown drawstyle '%s' (default, steps, steps-pre, steps-post, steps-mid)"):format(
        tostring(ds)))
  end
  if not where then return a end
  local px, py = step_points(a.x:totable(), a.y:totable(), where)
  a.mx, a.my = a.x, a.y
  a.x, a.y = vector(px), vector(py)
  return a
end

local STEP_WHERE = { pre = "steps-pre", post = "steps-post", mid = "steps-mid" }

-- ax:step(x, y [, fmt] [, {where = "pre", ...plot options}]) -> artist
-- A step line, as matplotlib's step: where = "pre" (the y of each point holds to its left),
-- "post" (to its right) or "mid" (the step halfway between points); the other options are
-- ax:plot's.
function Axes:step(x, y, fmt, o)
  local argn = 4 -- where the options table was in the call, for its error message
  if type(fmt) == "table" then
    fmt, o = nil, fmt
    argn = 3
  end
  o = opts(o, "step", argn, A1._keys(A1.PLOT_KEYS, { "where" }))
  local po = {}
  for k, v in pairs(o) do if k ~= "where" then po[k] = v end end
  local where = o.where or "pre"
  if not STEP_WHERE[where] then
    fail("step", argn, ("unknown where '%s' (pre, post, mid)"):format(tostring(where)))
  end
  po.drawstyle = STEP_WHERE[where]
  if fmt then return self:plot(x, y, fmt, po) end
  return self:plot(x, y, po)
end

-- Checks the options table ending a semilogx/semilogy/loglog call under that call's name (ax:plot
-- would report them as its own). An array of numbers (y given as a Lua table) is data.
local function log_plot_options(fname, ...)
  local n = select("#", ...)
  local last = n > 0 and select(n, ...) or nil
  if type(last) == "table" and getmetatable(last) == nil and rawget(last, 1) == nil then
    opts(last, fname, n, A1.PLOT_KEYS)
  end
end

-- ax:semilogx(...) -> artist: ax:plot(...) on a log x axis.
function Axes:semilogx(...)
  log_plot_options("semilogx", ...)
  local a = self:plot(...)
  self:xscale("log")
  return a
end
-- ax:semilogy(...) -> artist: ax:plot(...) on a log y axis.
function Axes:semilogy(...)
  log_plot_options("semilogy", ...)
  local a = self:plot(...)
  self:yscale("log")
  return a
end
-- ax:loglog(...) -> artist: ax:plot(...) with both axes logarithmic.
function Axes:loglog(...)
  log_plot_options("loglog", ...)
  local a = self:plot(...)
  self:xscale("log")
  self:yscale("log")
  return a
end

---------------------------------------------------------------------------
-- spans
---------------------------------------------------------------------------

local SPAN_KEYS = { "xmin", "xmax", "ymin", "ymax", "color", "facecolor", "fc", "edgecolor", "ec",
                    "linewidth", "lw", "alpha", "label", "zorder" }

local function span(self, kind, a, b, o, fname)
  o = opts(o, fname, 3, SPAN_KEYS)
  if type(a) ~= "number" or type(b) ~= "number" or a ~= a or b ~= b then
    fail(fname, type(a) ~= "number" and 1 or 2, "span ends must be numbers")
  end
  local lo = kind == "hspan" and (o.xmin or 0) or (o.ymin or 0)
  local hi = kind == "hspan" and (o.xmax or 1) or (o.ymax or 1)
  local rc = self.rc
  local fill = U.color(o.facecolor or o.fc or o.color or rc["patch.facecolor"], rc, fname, 3,
                       o.alpha)
  local edge
  -- color= colours the edge too, as a matplotlib patch's color
  if o.edgecolor or o.ec or o.color then
    edge = { color = U.color(o.edgecolor or o.ec or o.color, rc, fname, 3, o.alpha),
             width = o.linewidth or o.lw or rc["patch.linewidth"] }
  end
  local dir = kind == "hspan" and "y" or "x"
  return self:add {
    kind = "span", dir = dir, a = math.min(a, b), b = math.max(a, b), lo = lo, hi = hi, fill = fill,
    edge = edge, zorder = o.zorder or 1, label = o.label, clip = true, patch_legend = true,
    ["lim_" .. dir] = { math.min(a, b), math.max(a, b) }, ignore_for_legend_placement = true,
  }
end

-- ax:axhspan(ymin, ymax [, {xmin = 0, xmax = 1, color | facecolor = "C0", edgecolor = none,
--            linewidth = 1, alpha =, label =, zorder = 1}]) -> artist
-- A band from data height ymin to ymax across the axes (xmin..xmax in axes fractions), as
-- matplotlib's axhspan; it widens the y limits to hold the band.
function Axes:axhspan(a, b, o) return span(self, "hspan", a, b, o, "axhspan") end
-- ax:axvspan(xmin, xmax [, {ymin = 0, ymax = 1, ...as axhspan}]) -> artist
-- A band from data position xmin to xmax up the axes (ymin..ymax in axes fractions).
function Axes:axvspan(a, b, o) return span(self, "vspan", a, b, o, "axvspan") end

local function draw_span(ax, r, a, tr, ppt, box)
  local x0, x1, y0, y1
  if a.dir == "y" then
    x0, x1 = box[1] + a.lo * (box[3] - box[1]), box[1] + a.hi * (box[3] - box[1])
    y0, y1 = tr.py(a.a), tr.py(a.b)
  else
    x0, x1 = tr.px(a.a), tr.px(a.b)
    y0, y1 = box[4] - a.lo * (box[4] - box[2]), box[4] - a.hi * (box[4] - box[2])
  end
  local edge
  if a.edge then edge = { width = a.edge.width * ppt, color = a.edge.color, join = "miter" } end
  r:rects(vector { x0 }, vector { y0 }, vector { x1 }, vector { y1 },
    { fill = a.fill, edge = edge })
end
R.DRAW.span = draw_span

---------------------------------------------------------------------------
-- fill_between with where=, fill_betweenx
---------------------------------------------------------------------------

-- The polygons between curves a and b over positions p, one per run of points where `where`
-- holds, as one path with NaN gaps (u = positions, v = values).
local function band_polygons(p, a, b, where)
  local u, v = {}, {}
  local nan = 0 / 0
  local n = #p
  local i = 1
  while i <= n do
    if where == nil or where[i] then
      local j = i
      while j < n and (where == nil or where[j + 1]) do j = j + 1 end
      for k = i, j do u[#u + 1], v[#v + 1] = p[k], a[k] end
      for k = j, i, -1 do u[#u + 1], v[#v + 1] = p[k], b[k] end
      u[#u + 1], v[#v + 1] = nan, nan
      i = j + 1
    else
      i = i + 1
    end
  end
  return u, v
end

local FILL_KEYS = { "where", "color", "facecolor", "fc", "edgecolor", "ec", "linewidth", "lw",
                    "alpha", "label", "zorder" }

-- The where= mask as a Lua array of booleans for n points.
local function where_mask(w, n, fname)
  if w == nil then return nil end
  local t = U.is_tensor(w) and w:totable() or w
  if type(t) ~= "table" or #t ~= n then
    fail(fname, 4, ("where must hold %d booleans"):format(n))
  end
  local m = {}
  for i = 1, n do m[i] = t[i] == true or (type(t[i]) == "number" and t[i] ~= 0) end
  return m
end

local function fill_band(self, fname, p, c1, c2, o, horizontal)
  if type(c2) == "table" and not U.is_tensor(c2) and type(c2[1]) ~= "number" then
    c2, o = nil, c2
  end
  o = opts(o, fname, 4, FILL_KEYS)
  local ps = U.vec(p, fname, 1, horizontal and "y" or "x"):totable()
  local n = #ps
  local a = U.vec(c1, fname, 2, horizontal and "x1" or "y1"):totable()
  local b = c2 and U.vec(c2, fname, 3, horizontal and "x2" or "y2"):totable() or { 0 }
  if #a == 1 then for i = 2, n do a[i] = a[1] end end -- a number broadcasts, as in matplotlib
  if #b == 1 then for i = 2, n do b[i] = b[1] end end
  if #a ~= n or #b ~= n then fail(fname, 2, "x, y1 and y2 must have the same length") end
  local u, v = band_polygons(ps, a, b, where_mask(o.where, n, fname))
  local col = o.facecolor or o.fc or o.color or self:next_color("patches")
  local rc = self.rc
  local edge = o.edgecolor or o.ec or o.color -- color= colours the edge too, as in matplotlib
  local art = {
    kind = "line", x = vector(horizontal and v or u), y = vector(horizontal and u or v),
    ls = edge and "-" or "none",
    lw = edge and (o.linewidth or o.lw or rc["patch.linewidth"]) or 0, closed = true,
    fill = U.color(col, rc, fname, 4, o.alpha or 1),
    color = U.color(edge or col, rc, fname, 4, o.alpha), zorder = o.zorder or 1, label = o.label,
    clip = true,
    patch_legend = true, ignore_for_legend_placement = true,
  }
  if edge then art.edge = { width = art.lw, color = art.color } end
  return self:add(art)
end

-- ax:fill_between(x, y1 [, y2 = 0] [, {where =, color | facecolor = next colour, edgecolor = none,
--                 linewidth = 1, alpha = 1, label =, zorder = 1}]) -> artist
-- The area between curves y1 and y2 (each a number or n values) over x; where (n booleans or a
-- boolean tensor) fills only the runs of points where it is true, as matplotlib's where=
-- without interpolate. Lengths that do not match raise.
function Axes:fill_between(x, y1, y2, o)
  return fill_band(self, "fill_between", x, y1, y2, o, false)
end

-- ax:fill_betweenx(y, x1 [, x2 = 0] [, opts as fill_between]) -> artist
-- The area between curves x1 and x2 along y (horizontal bands), as matplotlib's fill_betweenx.
function Axes:fill_betweenx(y, x1, x2, o)
  return fill_band(self, "fill_betweenx", y, x1, x2, o, true)
end

---------------------------------------------------------------------------
-- annotate
---------------------------------------------------------------------------

local ANNOTATE_KEYS = { "xytext", "xycoords", "textcoords", "arrowprops", "ha", "va",
                        "horizontalalignment", "verticalalignment", "fontsize", "size", "color",
                        "weight", "fontweight", "rotation", "bbox", "zorder", "alpha", "family" }
local ARROW_KEYS = { "arrowstyle", "color", "facecolor", "fc", "edgecolor", "ec", "linewidth", "lw",
                     "shrinkA", "shrinkB", "mutation_scale", "alpha", "shrink", "width",
                     "headwidth", "headlength", "linestyle", "ls" }
local COORDS = { data = true, ["axes fraction"] = true, ["offset points"] = true,
                 ["figure fraction"] = true, axes = true }
local ARROWS = { ["-"] = true, ["->"] = true, ["-|>"] = true, ["<-"] = true, ["<|-"] = true,
                 ["<->"] = true, ["<|-|>"] = true }

local function point_arg(p, fname, argn, what)
  if type(p) ~= "table" or type(p[1]) ~= "number" or type(p[2]) ~= "number" then
    fail(fname, argn, what .. " must be {x, y}")
  end
  return { p[1], p[2] }
end

-- ax:annotate(text, xy [, {xytext = xy, xycoords = "data", textcoords = xycoords,
--             arrowprops =, ha = "left", va = "baseline", fontsize =, color =, weight =,
--             rotation = 0, bbox =, zorder = 3}]) -> artist
-- Text at xytext pointing at xy, as matplotlib's annotate. Coordinates are "data", "axes
-- fraction" (0..1 across the axes), "figure fraction" or, for textcoords, "offset points"
-- from xy. arrowprops = {arrowstyle = "->" | "-|>" | "-" | "<-" | "<->", color = "black",
-- linewidth = 1, shrinkA = 2, shrinkB = 2, mutation_scale = fontsize} draws an arrow from the
-- text to xy; without arrowstyle it is matplotlib's filled arrow {width = 4, headwidth = 12,
-- headlength = 12, shrink = 0, facecolor =, edgecolor =} (points).
function Axes:annotate(s, xy, o)
  o = opts(o, "annotate", 3, ANNOTATE_KEYS)
  s = U.text(s, "annotate", 1)
  xy = point_arg(xy, "annotate", 2, "xy")
  local xycoords = o.xycoords or "data"
  local tc = o.textcoords or xycoords
  if not COORDS[xycoords] or xycoords == "offset points" then
    fail("annotate", 3, ("unknown xycoords '%s' (data, axes fraction, figure fraction)"):format(
      tostring(xycoords)))
  end
  if not COORDS[tc] then
    fail("annotate", 3,
      ("unknown textcoords '%s' (data, axes fraction, figure fraction, offset points)"):format(
        tostring(tc)))
  end
  local xytext = tc == "offset points" and { 0, 0 } or xy
  if o.xytext then xytext = point_arg(o.xytext, "annotate", 3, "xytext") end
  local ap = o.arrowprops
  if ap ~= nil then
    if type(ap) ~= "table" then fail("annotate", 3, "arrowprops must be a table") end
    O.check("annotate", 3, ap, ARROW_KEYS)
    if ap.arrowstyle and not ARROWS[ap.arrowstyle] then
      fail("annotate", 3, ("unknown arrowstyle '%s' (-, ->, -|>, <-, <|-, <->, <|-|>)"):format(
        tostring(ap.arrowstyle)))
    end
    U.color(ap.color or ap.edgecolor or ap.ec or "black", self.rc, "annotate", 3)
  end
  local to = {}
  for k, v in pairs(o) do
    if k ~= "xytext" and k ~= "xycoords" and k ~= "textcoords" and k ~= "arrowprops" then
      to[k] = v
    end
  end
  to.ha = o.ha or o.horizontalalignment
  to.va = o.va or o.verticalalignment
  to.horizontalalignment, to.verticalalignment = nil, nil
  U.text_opts(to, self.rc, 1, {}, "annotate")
  return self:add {
    kind = "annotation", s = tostring(s), xy = xy, xytext = xytext, xycoords = xycoords,
    textcoords = tc,
    arrow = ap, opts = to, zorder = o.zorder or 3,
  }
end

-- Pixel position of p in coordinates cs; base is the pixel of xy for "offset points".
local function to_pixels(p, cs, tr, box, ctx_ppt, base, fig_wh)
  if cs == "data" then return tr.px(p[1]), tr.py(p[2]) end
  if cs == "axes fraction" or cs == "axes" then
    return box[1] + p[1] * (box[3] - box[1]), box[4] - p[2] * (box[4] - box[2])
  end
  if cs == "figure fraction" then return p[1] * fig_wh[1], (1 - p[2]) * fig_wh[2] end
  return base[1] + p[1] * ctx_ppt, base[2] - p[2] * ctx_ppt
end

-- Where the ray from (cx, cy) towards (tx, ty) leaves the box b (x0, y0, x1, y1); the centre
-- itself when the target lies inside.
local function exit_point(cx, cy, tx, ty, b)
  local dx, dy = tx - cx, ty - cy
  local t = 1
  if dx > 0 then
    t = math.min(t, (b[3] - cx) / dx)
  elseif dx < 0 then
    t = math.min(t, (b[1] - cx) / dx)
  end
  if dy > 0 then
    t = math.min(t, (b[4] - cy) / dy)
  elseif dy < 0 then
    t = math.min(t, (b[2] - cy) / dy)
  end
  return cx + dx * t, cy + dy * t
end

-- A head at tip (x, y) pointing along unit (ux, uy): length l, half width w (pixels).
local function head(x, y, ux, uy, l, w)
  local xs = { x - ux * l + uy * w, x, x - ux * l - uy * w }
  local ys = { y - uy * l - ux * w, y, y - uy * l + ux * w }
  return xs, ys
end

local function draw_arrow(r, rc, ap, sx, sy, ex, ey, ppt, fontsize)
  local dx, dy = ex - sx, ey - sy
  local len = math.sqrt(dx * dx + dy * dy)
  if len < 1e-9 then return end
  local ux, uy = dx / len, dy / len
  local col = R.color(rc, ap.color or ap.edgecolor or ap.ec, "black", ap.alpha)
  if not ap.arrowstyle then
    -- matplotlib's default (YAArrow-like "simple" polygon): shaft width, head width and length in
    -- points, both ends pulled in by shrink (a fraction of the length)
    local sh = (ap.shrink or 0) * len
    sx, sy, ex, ey = sx + ux * sh, sy + uy * sh, ex - ux * sh, ey - uy * sh
    local w = (ap.width or 4) * ppt / 2
    local hw = (ap.headwidth or 12) * ppt / 2
    local hl = (ap.headlength or 12) * ppt
    local bx, by = ex - ux * hl, ey - uy * hl
    local px = { sx + uy * w, bx + uy * w, bx + uy * hw, ex, bx - uy * hw, bx - uy * w,
                 sx - uy * w }
    local py = { sy - ux * w, by - ux * w, by - ux * hw, ey, by + ux * hw, by + ux * w,
                 sy + ux * w }
    local fc = R.color(rc, ap.facecolor or ap.fc or ap.color, "black", ap.alpha)
    local ec = R.color(rc, ap.edgecolor or ap.ec or ap.color, "black", ap.alpha)
    r:path(vector(px), vector(py), { fill = fc, closed = true,
      stroke = { width = (ap.linewidth or ap.lw or rc["patch.linewidth"]) * ppt, color = ec,
                 join = "miter" } })
    return
  end
  local sa, sb = (ap.shrinkA or 2) * ppt, (ap.shrinkB or 2) * ppt
  sx, sy, ex, ey = sx + ux * sa, sy + uy * sa, ex - ux * sb, ey - uy * sb
  local ms = (ap.mutation_scale or fontsize) * ppt
  local hl, hw = 0.4 * ms, 0.2 * ms
  local lw = (ap.linewidth or ap.lw or rc["patch.linewidth"]) * ppt
  local stroke = { width = lw, color = col, join = "miter", cap = "butt",
                   dash = U.dashes(ap.linestyle or ap.ls or "-", lw / ppt, ppt, "annotate", 3)
                     or nil }
  local style = ap.arrowstyle
  local at_end = style:sub(-1) == ">"
  local at_start = style:sub(1, 1) == "<"
  local filled = style:find("|", 1, true) ~= nil
  -- a filled head ends the shaft at its base; an open one lets the shaft run to the tip
  local x0, y0, x1, y1 = sx, sy, ex, ey
  if filled and at_end then x1, y1 = ex - ux * hl, ey - uy * hl end
  if filled and at_start then x0, y0 = sx + ux * hl, sy + uy * hl end
  r:path(vector { x0, x1 }, vector { y0, y1 }, { stroke = stroke })
  local function tip(x, y, vx, vy)
    local hx, hy = head(x, y, vx, vy, hl, hw)
    if filled then
      r:path(vector(hx), vector(hy), { closed = true, fill = col, stroke = stroke })
    else
      r:path(vector(hx), vector(hy), { stroke = stroke })
    end
  end
  if at_end then tip(ex, ey, ux, uy) end
  if at_start then tip(sx, sy, -ux, -uy) end
end

local function draw_annotation(ax, r, a, tr, ppt, box)
  local rc = ax.rc
  local dpi = ppt * 72
  local wh = { ax.fig.w * dpi, ax.fig.h * dpi }
  local bx, by = to_pixels(a.xy, a.xycoords, tr, box, ppt, nil, wh)
  if bx ~= bx or by ~= by then return end
  local tx, ty = to_pixels(a.xytext, a.textcoords, tr, box, ppt, { bx, by }, wh)
  if a.arrow then
    local o = U.text_opts(a.opts, rc, ppt, { size = rc["font.size"], color = rc["text.color"] },
                          "annotate")
    local x0, y0, x1, y1 = C.text_extent(a.s, tx, ty, o)
    local pad = 4 * ppt
    local cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    local sx, sy = exit_point(cx, cy, bx, by, { x0 - pad, y0 - pad, x1 + pad, y1 + pad })
    if not r.measuring then draw_arrow(r, rc, a.arrow, sx, sy, bx, by, ppt, o.size / ppt) end
  end
  R.text_at(ax, r, a, tx, ty, ppt)
end
R.DRAW.annotation = draw_annotation

---------------------------------------------------------------------------
-- twin axes
---------------------------------------------------------------------------

-- A new axes over self sharing axis `shared` ("x" for twinx) and drawing it not at all (self
-- does); the other axis sits on the opposite side.
local function twin(self, shared, fname)
  if self.kind ~= "2d" then fail(fname, 1, "twin axes need 2-D axes") end
  local other = shared == "x" and "y" or "x"
  local fig = self.fig
  local ax = getmetatable(self).new(fig, self.where)
  fig.axes[#fig.axes + 1] = ax
  -- the shared axis: limits, scale, margins, fixed ticks and direction live in the first axes'
  -- table (reads and writes of those keys go there); tick style, grid and label stay the twin's
  -- own, as matplotlib shares an axis's scale and limits but not its decorations
  local own = ax[shared]
  local proxy = { tick = own.tick, grid = own.grid, label = "", label_opts = {}, visible = true,
                  name = own.name }
  ax[shared] = setmetatable(proxy, { __index = self[shared], __newindex = self[shared] })
  local members = self[shared].members or { self }
  members[#members + 1] = ax
  self[shared].members = members
  ax.hidden_axis = { [shared] = true }
  ax[other].side = other == "y" and "right" or "top"
  ax.twin_of = self
  self.twins = self.twins or {}
  self.twins[#self.twins + 1] = ax
  ax.frameon = false -- matplotlib's twin has an invisible background: the first axes shows through
  return ax
end

-- ax:twinx() -> Axes
-- A second axes over ax sharing its x axis, with its own y axis (ticks and label on the
-- right), colour cycle and legend, as matplotlib's twinx.
function Axes:twinx() return twin(self, "x", "twinx") end
-- ax:twiny() -> Axes
-- A second axes over ax sharing its y axis, with its own x axis on top, as matplotlib's twiny.
function Axes:twiny() return twin(self, "y", "twiny") end

return Axes
