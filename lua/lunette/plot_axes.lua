-- lunette.plot_axes: the 2-D Axes class and its axis state: placement, the colour cycle,
-- limits and autoscaling, scales, titles and labels, ticks, grid, spines, legend options.
-- The artists users add (scatter, plot, bar, hist, boxplot, imshow, text, ...) are defined
-- in lunette.plot_artists and copied in here; drawing lives in lunette.plot_render.
local C = require "lunette._plot"
local U = require "lunette.plot_util"
local Artists = require "lunette.plot_artists"

local Axes = {}
Axes.__index = Axes
Axes.kind = "2d"
-- the artist methods and their helpers (Axes.MARKERS, Axes.opts_table, ...)
for k, v in pairs(Artists) do Axes[k] = v end
for k, v in pairs(require "lunette.plot_artists2") do Axes[k] = v end
-- violinplot, contour, contourf, clabel, hexbin, heatmap (their drawing stays in Fields.DRAW)
for k, v in pairs(require "lunette.plot_fields") do
  if k ~= "DRAW" then Axes[k] = v end
end
local opts_table = Axes.opts_table
local keys, TEXT_KEYS = Axes._keys, Axes.TEXT_KEYS

local function new_axis(rc, n)
  local k = n .. "tick."
  return {
    name = n, scale = "linear", lim = nil, margin = rc["axes." .. n .. "margin"],
    visible = true, label = nil, label_opts = {},
    tick = { size = rc[k .. "major.size"], width = rc[k .. "major.width"], pad = rc[k .. "major.pad"],
             minor_size = rc[k .. "minor.size"], minor_width = rc[k .. "minor.width"],
             color = rc[k .. "color"], labelcolor = rc[k .. "labelcolor"], labelsize = rc[k .. "labelsize"],
             direction = rc[k .. "direction"], rotation = 0, ticks = true, labels = true },
    grid = { on = rc["axes.grid"] and (rc["axes.grid.axis"] == "both" or rc["axes.grid.axis"] == n),
             color = rc["grid.color"], alpha = rc["grid.alpha"], linewidth = rc["grid.linewidth"],
             linestyle = rc["grid.linestyle"] },
  }
end

-- Axes.new(fig, where) -> Axes
-- A new 2-D axes of fig placed by `where` ({spec = subplotspec} or {rect =
-- {l, b, w, h}}); scripts get axes from fig:subplot, plot.subplots, ...
function Axes.new(fig, where)
  local rc = fig.rc
  local ax = setmetatable({
    fig = fig, rc = rc, where = where, artists = {}, ncycle = { lines = 0, patches = 0 },
    facecolor = rc["axes.facecolor"], axison = true, frameon = true, aspect = "auto",
    x = new_axis(rc, "x"), y = new_axis(rc, "y"), title_parts = {},
  }, Axes)
  ax.spine_props = {}
  for _, s in ipairs { "left", "right", "bottom", "top" } do
    ax.spine_props[s] = { visible = true, color = rc["axes.edgecolor"], linewidth = rc["axes.linewidth"] }
  end
  return ax
end

local function fail(...) return U.fail(...) end

-- ax:next_color([which = "lines"]) -> colour
-- The next colour of the axes' property cycle for lines or "patches".
function Axes:next_color(which)
  local cyc = self.rc["axes.prop_cycle"]
  local k = self.ncycle[which or "lines"]
  self.ncycle[which or "lines"] = k + 1
  return cyc[k % #cyc + 1]
end

-- ax:add(artist) -> artist
-- Appends an artist table (what the plotting methods build) to the axes.
function Axes:add(artist)
  if artist.label ~= nil then artist.label = U.text(artist.label, "label", 1) end
  artist.order = #self.artists + 1
  self.artists[#self.artists + 1] = artist
  return artist
end

---------------------------------------------------------------------------
-- limits and autoscaling (matplotlib's margins and sticky edges)
---------------------------------------------------------------------------

-- Data limits of one artist along axis n ("x"/"y"): lo, hi or nil.
local function artist_limits(a, n, positive)
  local lim = a["lim_" .. n] -- an artist's own data limits along n (spans)
  if lim then
    if positive and lim[1] <= 0 then
      if lim[2] <= 0 then return nil end
      return lim[2], lim[2]
    end
    return lim[1], lim[2]
  end
  if a.limits then -- fields (contour, hexbin, heatmap) keep their limits per axis
    local l = a.limits[n]
    if positive and l[1] <= 0 then return nil end
    return l[1], l[2]
  elseif a.kind == "scatter" or a.kind == "line" then
    local lo, hi = C.finite_range(a[n], positive)
    if a.extra_xlim and n == "x" then
      lo, hi = math.min(lo or a.extra_xlim[1], a.extra_xlim[1]), math.max(hi or a.extra_xlim[2], a.extra_xlim[2])
    end
    return lo, hi
  elseif a.kind == "rects" then
    local l1, h1 = C.finite_range(a[n .. "0"], positive)
    local l2, h2 = C.finite_range(a[n .. "1"], positive)
    if not l1 then return l2, h2 end
    if not l2 then return l1, h1 end
    return math.min(l1, l2), math.max(h1, h2)
  elseif a.kind == "image" then
    local e = a.extent
    local lo, hi = n == "x" and e[1] or e[3], n == "x" and e[2] or e[4]
    return math.min(lo, hi), math.max(lo, hi)
  elseif a.kind == "hline" and n == "y" then return a.v, a.v
  elseif a.kind == "vline" and n == "x" then return a.v, a.v
  elseif a.kind == "text" and a.coords == "data" and a.update_limits then return a[n], a[n]
  end
end

local function axis_transform(scale)
  if scale == "log" then return function(v) return math.log(v, 10) end end
  return function(v) return v end
end

-- ax:autoscale_axis(n) -> lo, hi
-- The limits of axis n ("x" or "y"): the user's, else from the artists
-- with margins (as matplotlib's autoscale).
function Axes:autoscale_axis(n)
  local ax = self[n]
  if ax.lim then return ax.lim[1], ax.lim[2] end
  local positive = ax.scale == "log"
  local lo, hi, stickies = nil, nil, {}
  -- a shared axis (twinx/twiny) scales to the artists of every axes that shares it
  for _, member in ipairs(ax.members or { self }) do
    for _, a in ipairs(member.artists) do
      local l, h = artist_limits(a, n, positive)
      if l then lo, hi = math.min(lo or l, l), math.max(hi or h, h) end
      for _, s in ipairs(a["sticky_" .. n] or {}) do stickies[#stickies + 1] = s end
    end
  end
  if lo == nil then
    if positive then return 1, 10 end
    return 0, 1
  end
  local fwd = axis_transform(ax.scale)
  local inv = ax.scale == "log" and function(v) return 10 ^ v end or function(v) return v end
  table.sort(stickies)
  local tol = 1e-5 * math.max(math.abs(lo), math.abs(hi), hi - lo)
  local lo_bound, hi_bound
  for _, s in ipairs(stickies) do if s < lo + tol then lo_bound = s end end
  for i = #stickies, 1, -1 do if stickies[i] > hi - tol then hi_bound = stickies[i] end end
  if lo == hi then
    if ax.scale == "log" then lo, hi = lo / 10, hi * 10
    else lo, hi = C.nonsingular(lo, hi, 0.05, 1e-15) end
    -- matplotlib expands a single value by 5 % around it, then adds margins
    if lo == hi then lo, hi = lo - 0.05, hi + 0.05 end
  end
  local lt, ht = fwd(lo), fwd(hi)
  local delta = (ht - lt) * ax.margin
  if delta ~= delta or delta == math.huge then delta = 0 end
  lo, hi = inv(lt - delta), inv(ht + delta)
  if lo_bound then lo = math.max(lo, lo_bound) end
  if hi_bound then hi = math.min(hi, hi_bound) end
  lo, hi = C.nonsingular(lo, hi, 0.001, 1e-15)
  return lo, hi
end

-- ax:view_limits(n) -> lo, hi
-- The current view limits of axis n ("x" or "y"), swapped when inverted.
function Axes:view_limits(n)
  local lo, hi = self:autoscale_axis(n)
  if self[n].inverted and lo < hi then lo, hi = hi, lo end
  return lo, hi
end

---------------------------------------------------------------------------
-- setters / getters
---------------------------------------------------------------------------

local function set_lim(self, n, a, b, fname)
  if a == nil and b == nil then return self:view_limits(n) end
  if type(a) == "table" then a, b = a[1], a[2] end
  local cur_lo, cur_hi = self:view_limits(n)
  a = a == nil and cur_lo or a
  b = b == nil and cur_hi or b
  if type(a) ~= "number" or type(b) ~= "number" or a ~= a or b ~= b or math.abs(a) == math.huge or math.abs(b) == math.huge then
    fail(fname, 1, "limits must be finite numbers")
  end
  if a == b then fail(fname, 2, ("empty range [%g, %g]"):format(a, b)) end
  if self[n].scale == "log" and (a <= 0 or b <= 0) then fail(fname, 1, "log axis limits must be positive") end
  self[n].lim = { a, b }
  return a, b
end
-- ax:xlim([lo, hi | {lo, hi}]) -> lo, hi
-- ax:set_xlim(lo, hi) -> lo, hi
-- Sets the x view limits (a nil end keeps the current one) or, without
-- arguments, returns them. Non-finite, equal or (log scale) non-positive
-- limits raise.
function Axes:xlim(a, b) return set_lim(self, "x", a, b, "xlim") end
-- ax:ylim([lo, hi | {lo, hi}]) -> lo, hi
-- ax:set_ylim(lo, hi) -> lo, hi
-- As xlim, for the y axis.
function Axes:ylim(a, b) return set_lim(self, "y", a, b, "ylim") end
Axes.set_xlim, Axes.set_ylim = Axes.xlim, Axes.ylim

-- ax:invert_xaxis(): flips the direction of the x axis (again: back).
function Axes:invert_xaxis() self.x.inverted = not self.x.inverted end
-- ax:invert_yaxis(): flips the direction of the y axis (images use it).
function Axes:invert_yaxis() self.y.inverted = not self.y.inverted end

local function set_scale(self, n, s, fname)
  if s ~= "linear" and s ~= "log" then fail(fname, 1, ("unknown scale '%s' (linear, log)"):format(tostring(s))) end
  self[n].scale = s
end
-- ax:xscale("linear" | "log")
-- ax:set_xscale(s)
-- The x axis scale; anything else raises.
function Axes:xscale(s) set_scale(self, "x", s, "xscale") end
-- ax:yscale("linear" | "log")
-- ax:set_yscale(s)
-- The y axis scale; anything else raises.
function Axes:yscale(s) set_scale(self, "y", s, "yscale") end
Axes.set_xscale, Axes.set_yscale = Axes.xscale, Axes.yscale

-- ax:title([s [, opts]]) -> string
-- ax:set_title(s [, opts])
-- Sets the title at loc (a string, or a number shown as text); without s
-- returns the centre title. opts: {loc = "center"|"left"|"right", pad = 6 (points),
-- y = 1 (axes fraction), fontsize | size = 12, color = "black", weight | fontweight = "normal",
-- ...the other text options of ax:text}.
function Axes:title(s, o)
  if s == nil then return self.title_parts.center and self.title_parts.center.s end
  o = opts_table(o, "title", 2, keys(TEXT_KEYS, { "loc", "pad", "y" }))
  local loc = o.loc or "center"
  if loc ~= "center" and loc ~= "left" and loc ~= "right" then fail("title", 2, "loc must be 'center', 'left' or 'right'") end
  self.title_parts[loc] = { s = U.text(s, "title", 1), opts = o }
end
local LABEL_KEYS = keys(TEXT_KEYS, { "labelpad" })
-- ax:xlabel(s [, opts])
-- ax:set_xlabel(s [, opts])
-- The x axis label; opts: {fontsize | size = 10, color = "black", labelpad = 4 (points), ...the
-- other text options of ax:text}.
function Axes:xlabel(s, o)
  self.x.label, self.x.label_opts = U.text(s, "xlabel", 1), opts_table(o, "xlabel", 2, LABEL_KEYS)
end
-- ax:ylabel(s [, opts as xlabel])
-- ax:set_ylabel(s [, opts])
-- The y axis label.
function Axes:ylabel(s, o)
  self.y.label, self.y.label_opts = U.text(s, "ylabel", 1), opts_table(o, "ylabel", 2, LABEL_KEYS)
end
Axes.set_title, Axes.set_xlabel, Axes.set_ylabel = Axes.title, Axes.xlabel, Axes.ylabel

local function set_ticks(self, n, locs, labels, o, fname)
  if locs ~= nil then
    local v = U.vec(locs, fname, 1, "tick locations"):totable()
    self[n].fixed_locs = v
  end
  if labels ~= nil then
    if type(labels) ~= "table" or U.is_tensor(labels) then
      if U.is_tensor(labels) then labels = labels:totable() else fail(fname, 2, "labels must be a table") end
    end
    local l = {}
    for i, s in ipairs(labels) do l[i] = U.text(s, fname, 2) end
    self[n].fixed_labels = l
  end
  if o then
    opts_table(o, fname, 3, { "rotation", "fontsize", "size" })
    if o.rotation then self[n].tick.rotation = o.rotation end
    if o.fontsize or o.size then self[n].tick.labelsize = o.fontsize or o.size end
  end
end
-- ax:xticks([locs [, labels [, {rotation = 0, fontsize | size = 10}]]])
-- ax:set_xticks(locs [, labels [, opts]])
-- Fixes the x tick positions (a tensor or table) and optionally their
-- labels (strings, one per tick) and label rotation/size.
function Axes:xticks(locs, labels, o) set_ticks(self, "x", locs, labels, o, "xticks") end
-- ax:yticks([locs [, labels [, opts]]])
-- ax:set_yticks(locs [, labels [, opts]])
-- As xticks, for the y axis.
function Axes:yticks(locs, labels, o) set_ticks(self, "y", locs, labels, o, "yticks") end
function Axes:set_xticks(locs, labels, o) set_ticks(self, "x", locs, labels, o, "set_xticks") end
function Axes:set_yticks(locs, labels, o) set_ticks(self, "y", locs, labels, o, "set_yticks") end
-- ax:set_xticklabels(labels [, opts])
-- Labels for the current x ticks (labels must be a table).
function Axes:set_xticklabels(labels, o) set_ticks(self, "x", nil, labels, o, "set_xticklabels") end
-- ax:set_yticklabels(labels [, opts])
-- Labels for the current y ticks.
function Axes:set_yticklabels(labels, o) set_ticks(self, "y", nil, labels, o, "set_yticklabels") end

-- ax:grid([on = true] [, {axis = "both"|"x"|"y", alpha = 1, color = "#b0b0b0",
--         linewidth | lw = 0.8, linestyle | ls = "-"}])
-- Shows (or with false hides) the grid lines at the major ticks.
function Axes:grid(on, o)
  if type(on) == "table" then on, o = true, on end
  o = opts_table(o, "grid", 2, { "axis", "alpha", "color", "linewidth", "lw", "linestyle", "ls" })
  if on == nil then on = true end
  local which = o.axis or "both"
  for _, n in ipairs { "x", "y" } do
    if which == "both" or which == n then
      local g = self[n].grid
      g.on = on and true or false
      g.alpha = o.alpha or g.alpha
      g.color = o.color or g.color
      g.linewidth = o.linewidth or o.lw or g.linewidth
      g.linestyle = o.linestyle or o.ls or g.linestyle
    end
  end
end

-- ax:axis("off" | "on" | "equal" | "auto" | "tight")
function Axes:axis(mode)
  if mode == "off" or mode == false then self.axison = false
  elseif mode == "on" or mode == true then self.axison = true
  elseif mode == "equal" or mode == "scaled" or mode == "image" then self.aspect = "equal"
  elseif mode == "auto" then self.aspect = "auto"
  elseif mode == "tight" then self.x.margin, self.y.margin = 0, 0
  else fail("axis", 1, ("unknown mode '%s' (on, off, equal, auto, tight)"):format(tostring(mode))) end
end
-- ax:set_aspect("equal" | 1 | "auto"): equal data units on both axes, or not.
function Axes:set_aspect(a) self.aspect = a == 1 and "equal" or a end
-- ax:margins(x [, y = x]): autoscale padding as fractions of the data range.
function Axes:margins(x, y) self.x.margin = x; self.y.margin = y or x end

-- ax:set_facecolor(color)
-- ax:facecolor_(color)
-- The background colour of the axes; an invalid colour raises.
function Axes:set_facecolor(c) U.color(c, self.rc, "set_facecolor", 1); self.facecolor = c end
Axes.facecolor_ = Axes.set_facecolor

-- ax:tick_params{axis = "both"|"x"|"y", colors =, color = "black", labelcolor = color,
--                labelsize = 10, length = 3.5, width = 0.8, pad = 3.5,
--                direction = "out"|"in"|"inout", rotation | labelrotation = 0,
--                bottom | left = true, labelbottom | labelleft = true}
-- Tick and tick label style (sizes in points; colors sets both colours); unknown keys raise.
function Axes:tick_params(o)
  o = opts_table(o, "tick_params", 1, { "axis", "colors", "color", "labelcolor", "labelsize",
                                        "length", "width", "pad", "direction", "rotation",
                                        "labelrotation", "bottom", "left", "labelbottom",
                                        "labelleft" })
  local which = o.axis or "both"
  for _, n in ipairs { "x", "y" } do
    if which == "both" or which == n then
      local t = self[n].tick
      if o.colors then t.color, t.labelcolor = o.colors, o.colors end
      if o.color then t.color = o.color end
      if o.labelcolor then t.labelcolor = o.labelcolor end
      t.labelsize = o.labelsize or t.labelsize
      t.size = o.length or t.size
      t.width = o.width or t.width
      t.pad = o.pad or t.pad
      t.direction = o.direction or t.direction
      t.rotation = o.rotation or o.labelrotation or t.rotation
      local on = n == "x" and o.bottom or o.left
      if on ~= nil then t.ticks = on end
      local lab = n == "x" and o.labelbottom or o.labelleft
      if lab ~= nil then t.labels = lab end
    end
  end
end

-- ax:spines{top=false, right={visible = true, color="gray", linewidth | lw = 0.8}}
-- ax:spines("all", false)
-- ax:set_spines(spec [, value])
-- Shows, hides or styles the frame lines; unknown spines raise.
function Axes:spines(spec, value)
  if type(spec) == "string" then
    local names = spec == "all" and { "left", "right", "bottom", "top" } or { spec }
    local t = {}
    for _, k in ipairs(names) do t[k] = value end
    spec = t
  end
  for k, v in pairs(opts_table(spec, "spines", 1)) do
    local sp = self.spine_props[k]
    if not sp then fail("spines", 1, ("unknown spine '%s' (left, right, bottom, top)"):format(tostring(k))) end
    if type(v) == "boolean" then sp.visible = v
    elseif type(v) == "table" then
      require("lunette.options").check("spines", 1, v, { "visible", "color", "linewidth", "lw" })
      if v.visible ~= nil then sp.visible = v.visible end
      if v.color then U.color(v.color, self.rc, "spines", 1); sp.color = v.color end
      sp.linewidth = v.linewidth or v.lw or sp.linewidth
    else
      fail("spines", 1, "spine settings must be booleans or tables")
    end
  end
end
Axes.set_spines = Axes.spines

-- ax:set{title=, xlabel=, ylabel=, xlim=, ylim=, xscale=, yscale=, xticks=, yticks=, facecolor=,
--        aspect=, legend=, grid=, axis=} -> ax
-- Several properties in one call, as matplotlib's Axes.set. A text property
-- may carry its options: title = {"Loss", fontsize = 14} is ax:title("Loss",
-- {fontsize = 14}). legend = true | {loc = ...} draws the legend, grid = true |
-- false | {alpha = 0.3} the grid, axis = "off" | "equal" | ... as ax:axis.
-- Returns the axes, so calls chain; an unknown property raises.
function Axes:set(o)
  local function text(method, v)
    if type(v) == "table" then
      local opts = {}
      for k2, x in pairs(v) do if k2 ~= 1 then opts[k2] = x end end
      return method(self, v[1], opts)
    end
    return method(self, v)
  end
  o = opts_table(o, "set", 1, { "title", "xlabel", "ylabel", "xlim", "ylim", "xscale", "yscale",
                                "xticks", "yticks", "facecolor", "aspect", "legend",
                                "grid", "axis" })
  for k, v in pairs(o) do
    if k == "title" then text(self.title, v)
    elseif k == "xlabel" then text(self.xlabel, v)
    elseif k == "ylabel" then text(self.ylabel, v)
    elseif k == "xlim" then self:xlim(v)
    elseif k == "ylim" then self:ylim(v)
    elseif k == "xscale" then self:xscale(v)
    elseif k == "yscale" then self:yscale(v)
    elseif k == "xticks" then self:xticks(v)
    elseif k == "yticks" then self:yticks(v)
    elseif k == "facecolor" then self:set_facecolor(v)
    elseif k == "aspect" then self:set_aspect(v)
    elseif k == "legend" then if v then self:legend(v ~= true and v or nil) end
    elseif k == "grid" then self:grid(v ~= false, type(v) == "table" and v or nil)
    elseif k == "axis" then self:axis(v)
    else fail("set", 1, ("unknown property '%s'"):format(tostring(k))) end
  end
  return self
end

-- The options of ax:legend (and of the `legend` of ax:set and the quick looks).
Axes.LEGEND_KEYS = { "loc", "fontsize", "size", "frameon", "framealpha", "facecolor", "edgecolor",
                     "labelcolor", "title", "title_fontsize", "ncol", "ncols", "markerscale",
                     "fancybox",
                     "borderaxespad", "borderpad", "columnspacing", "handleheight", "handlelength",
                     "handletextpad", "labelspacing" }

-- ax:legend{loc = "best" (or "upper right", ..., "center", 1..10), fontsize | size = 10,
--           frameon = true, framealpha = 0.8, facecolor = "white", edgecolor = "0.8",
--           labelcolor = "black", title =, title_fontsize = fontsize, ncol | ncols = 1,
--           markerscale = 1, fancybox = true, borderaxespad = 0.5, borderpad = 0.4,
--           columnspacing = 2, handleheight = 0.7, handlelength = 2, handletextpad = 0.8,
--           labelspacing = 0.5} -> ax
-- A legend of the labelled artists (spacings in font sizes, as matplotlib's rc legend.*).
function Axes:legend(o)
  self.legend_opts = opts_table(o, "legend", 1, Axes.LEGEND_KEYS)
  local loc = self.legend_opts.loc
  if loc ~= nil then require("lunette.plot_legend").check_loc(loc) end
  return self
end

-- ax:rc_color(key [, other]) -> colour
-- The colour of rc setting key in this axes' style (other if unset).
function Axes:rc_color(key, other) return U.rc_color(self.rc, key, other) end

return Axes
