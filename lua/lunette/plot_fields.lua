-- lunette.plot_fields: the 2-D axes calls for densities and scalar fields: violinplot, contour,
-- contourf, clabel, hexbin and heatmap (an annotated imshow), each drawn as matplotlib draws the
-- same call. The heavy loops (marching triangles, hexagonal binning, kernel densities) are in C
-- (src/plot/plot_contour.c, plot_density.c). lunette.plot_axes copies these methods into its
-- Axes class as it does lunette.plot_artists'; Fields.DRAW holds the drawing functions of the
-- artist kinds added here, which lunette.plot_render merges into its table.
local T = require "lunette.tensor"
local C = require "lunette._plot"
local U = require "lunette.plot_util"
local check = require("lunette.options").check

local Axes = {}
local DRAW = {}

local function fail(...) return U.fail(...) end

-- Options of fname at argument argn: nil -> {}; unknown keys raise with a did-you-mean.
local function options(fname, argn, o, known)
  if o ~= nil and (type(o) ~= "table" or T.is_tensor(o)) then
    fail(fname, argn, "options table expected, got " .. type(o))
  end
  return check(fname, argn, o, known) or {}
end

local function vec(t) return T.new(t, "float64") end

-- A finite number option or its default.
local function number_opt(v, def, fname, argn, what)
  if v == nil then return def end
  if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
    fail(fname, argn, ("%s must be a finite number, got %s"):format(what, tostring(v)))
  end
  return v
end

---------------------------------------------------------------------------
-- violinplot
---------------------------------------------------------------------------

-- The datasets of violinplot/boxplot-like data: a 1-d tensor or table of numbers (one), a 2-d
-- tensor (one per column, as matplotlib) or a list of tensors/tables.
local function datasets(data, fname)
  local sets = {}
  if T.is_tensor(data) and data:dim() == 2 then
    for j = 1, data:size(2) do sets[j] = data:select(2, j) end
  elseif type(data) == "table" and not T.is_tensor(data)
      and (T.is_tensor(data[1]) or type(data[1]) == "table") then
    sets = data
  elseif T.is_tensor(data) or type(data) == "table" then
    sets = { data }
  else
    fail(fname, 1, "data must be a tensor, a table of numbers or a list of them, got "
      .. type(data))
  end
  if #sets == 0 then fail(fname, 1, "no datasets") end
  local out = {}
  for i, d in ipairs(sets) do
    local v = U.vec(d, fname, 1, "data")
    if v:size(1) == 0 then fail(fname, 1, ("dataset %d is empty"):format(i)) end
    if not v:isfinite():all() then
      fail(fname, 1, ("dataset %d contains NaN or infinite values"):format(i))
    end
    out[i] = v
  end
  return out
end

-- matplotlib.mlab.GaussianKDE's kernel variance: the unbiased variance times the squared
-- bandwidth factor (Scott: n^(-1/5), Silverman: (3n/4)^(-1/5), or a number).
local function kde_variance(v, bw, fname)
  local n = v:size(1)
  local factor
  if bw == nil or bw == "scott" then factor = n ^ (-1 / 5)
  elseif bw == "silverman" then factor = (n * 3 / 4) ^ (-1 / 5)
  elseif type(bw) == "number" and bw > 0 and bw < math.huge then factor = bw
  else
    fail(fname, 2, ("bw_method must be 'scott', 'silverman' or a positive number, got %s"):format(
      tostring(bw)))
  end
  local mean = v:mean()
  if type(mean) ~= "number" then mean = mean:item() end
  local ss = ((v - mean) ^ 2):sum()
  if type(ss) ~= "number" then ss = ss:item() end
  return ss / (n - 1) * factor * factor
end

-- min, max, mean, median and the density curve (coords, vals) of one dataset (cbook.violin_stats
-- with matplotlib's violinplot kernel method).
local function violin_stats(v, bw, points, fname)
  local lo, hi = C.finite_range(v)
  local n = v:size(1)
  local st = { min = lo, max = hi, mean = v:mean(), n = n }
  if type(st.mean) ~= "number" then st.mean = st.mean:item() end
  st.median = C.box_stats(v).med
  st.coords = T.linspace(lo, hi, points):double():contiguous()
  if lo == hi then
    st.vals = T.ones(points, "float64")
  else
    st.vals = C.kde(v:contiguous(), kde_variance(v, bw, fname), st.coords)
  end
  return st
end

-- ax:violinplot(data [, opts]) -> {bodies = {artists}, stats = {{min, max, mean, median}...}}
-- A violin per dataset: a 1-d tensor or table (one), the columns of a 2-d tensor, or a list of
-- them. Each body is the Gaussian kernel density (matplotlib's GaussianKDE) evaluated at
-- `points` values from the minimum to the maximum, scaled to half the width and filled in the
-- next colour at alpha 0.3, with lines at the extrema, means and medians as asked. Options
-- (defaults): positions = {1, 2, ...}, widths = 0.5 (a number or one per dataset),
-- showmeans = false, showmedians = false, showextrema = true, bw_method = "scott"
-- ("silverman" or a bandwidth factor), points = 100, vert = true (false: horizontal violins).
-- Empty datasets, NaN and unknown options raise.
function Axes:violinplot(data, o)
  o = options("violinplot", 2, o, { "positions", "widths", "showmeans", "showmedians",
    "showextrema", "bw_method", "points", "vert" })
  local sets = datasets(data, "violinplot")
  local n = #sets
  local pos = o.positions and U.vec(o.positions, "violinplot", 2, "positions"):totable() or {}
  if o.positions and #pos ~= n then
    fail("violinplot", 2, ("%d positions for %d datasets"):format(#pos, n))
  end
  for i = 1, n do pos[i] = pos[i] or i end
  local widths = o.widths or 0.5
  if type(widths) == "number" then
    local w = widths
    widths = {}
    for i = 1, n do widths[i] = w end
  elseif type(widths) ~= "table" or #widths ~= n then
    fail("violinplot", 2, ("widths must be a number or %d numbers"):format(n))
  end
  local points = o.points or 100
  if math.type(points) ~= "integer" or points < 2 or points > 100000 then
    fail("violinplot", 2, "points must be an integer in 2..100000")
  end
  local vert = o.vert ~= false
  local col = U.color(self:next_color("lines"), self.rc, "violinplot", 2)
  local fillc = { col[1], col[2], col[3], 0.3 }
  local lw = self.rc["lines.linewidth"]
  local result = { bodies = {}, stats = {} }
  -- a line through {x1, x2}, {y1, y2} given for a vertical violin (swapped when horizontal)
  local function seg(a, b)
    local xs, ys = a, b
    if not vert then xs, ys = b, a end
    return self:add { kind = "line", x = vec(xs), y = vec(ys), color = col, lw = lw, ls = "-",
                      cap = "butt", zorder = 2, clip = true }
  end
  for i, v in ipairs(sets) do
    local st = violin_stats(v, o.bw_method, points, "violinplot")
    result.stats[i] = { min = st.min, max = st.max, mean = st.mean, median = st.median }
    local vmax = st.vals:max()
    if type(vmax) ~= "number" then vmax = vmax:item() end
    local half = st.vals * (0.5 * widths[i] / vmax)
    local rev = T.arange(points, 0, -1, "int64")
    local across = T.cat({ half + pos[i], (-half + pos[i]):index_select(1, rev) }, 1):contiguous()
    local along = T.cat({ st.coords, st.coords:index_select(1, rev) }, 1):contiguous()
    local px, py = across, along
    if not vert then px, py = along, across end
    result.bodies[i] = self:add {
      kind = "line", x = px, y = py, ls = "none", lw = 0, closed = true, fill = fillc, color = col,
      zorder = 1, clip = true, patch_legend = true,
    }
    local l, r = pos[i] - 0.25 * widths[i], pos[i] + 0.25 * widths[i]
    local function across_line(value) return seg({ l, r }, { value, value }) end
    if o.showmeans then across_line(st.mean) end
    if o.showextrema ~= false then
      across_line(st.max)
      across_line(st.min)
      seg({ pos[i], pos[i] }, { st.min, st.max })
    end
    if o.showmedians then across_line(st.median) end
  end
  return result
end

---------------------------------------------------------------------------
-- contour / contourf
---------------------------------------------------------------------------

-- A 1-d coordinate vector of length n, finite and strictly monotonic.
local function axis_coords(v, n, fname, argn, what)
  local t = U.vec(v, fname, argn, what)
  if t:size(1) ~= n then
    fail(fname, argn, ("%s has %d values but z has %d %s"):format(what, t:size(1), n,
      what == "x" and "columns" or "rows"))
  end
  if not t:isfinite():all() then fail(fname, argn, what .. " must be finite") end
  if n > 1 then
    local d = t:narrow(1, 2, n - 1) - t:narrow(1, 1, n - 1)
    if not ((d:gt(0)):all() or (d:lt(0)):all()) then
      fail(fname, argn, what .. " must be strictly increasing or decreasing")
    end
  end
  return t
end

-- z [ny x nx] and node coordinates X, Y [ny x nx] from (z), (x, y, z) with 1-d x (nx) and y (ny)
-- or 2-d x, y of z's shape.
local function grid_args(fname, x, y, z)
  if z == nil then x, y, z = nil, nil, x end
  if type(z) == "table" and not T.is_tensor(z) then z = T.new(z, "float64") end
  local zarg = x and 3 or 1
  if not T.is_tensor(z) then
    fail(fname, zarg, "z must be a 2-d tensor or a table of rows, got " .. type(z))
  end
  if z:dim() ~= 2 then fail(fname, zarg, ("z must be 2-d, got %d-d"):format(z:dim())) end
  local ny, nx = z:size(1), z:size(2)
  if ny < 2 or nx < 2 then
    fail(fname, zarg, ("z must be at least 2 x 2, got %d x %d"):format(ny, nx))
  end
  z = z:to("float64", true):contiguous()
  local X, Y
  if x == nil then
    X = T.arange(0, nx, 1, "float64"):reshape(1, nx):expand(ny, nx):contiguous()
    Y = T.arange(0, ny, 1, "float64"):reshape(ny, 1):expand(ny, nx):contiguous()
  elseif T.is_tensor(x) and x:dim() == 2 then
    if not (T.is_tensor(y) and y:dim() == 2) then fail(fname, 2, "y must be 2-d like x") end
    if x:size(1) ~= ny or x:size(2) ~= nx or y:size(1) ~= ny or y:size(2) ~= nx then
      fail(fname, 1, ("2-d x and y must have z's shape %d x %d"):format(ny, nx))
    end
    X, Y = x:to("float64", true):contiguous(), y:to("float64", true):contiguous()
    if not (X:isfinite():all() and Y:isfinite():all()) then
      fail(fname, 1, "x and y must be finite")
    end
  else
    local xs = axis_coords(x, nx, fname, 1, "x")
    local ys = axis_coords(y, ny, fname, 2, "y")
    X = xs:reshape(1, nx):expand(ny, nx):contiguous()
    Y = ys:reshape(ny, 1):expand(ny, nx):contiguous()
  end
  return z, X, Y
end

-- matplotlib's ContourSet._autolev: MaxNLocator(n + 1) levels over [zmin, zmax], trimmed to
-- one level outside the data on each side.
local function auto_levels(zmin, zmax, n)
  local lev = C.ticks(zmin, zmax, n + 1, { 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10 }, false, 1)
  local i0, i1 = 1, #lev
  for i = 1, #lev do if lev[i] < zmin then i0 = i end end
  for i = #lev, 1, -1 do if lev[i] > zmax then i1 = i end end
  if i1 - i0 + 1 < 3 then i0, i1 = 1, #lev end
  local out = {}
  for i = i0, i1 do out[#out + 1] = lev[i] end
  return out
end

local function contour_levels(levels, z, filled, fname)
  local zmin, zmax = C.finite_range(z:reshape(z:numel()))
  if zmin == nil then fail(fname, 1, "z has no finite values") end
  if levels == nil or type(levels) == "number" then
    local n = levels or 7
    if math.type(n) ~= "integer" or n < 1 or n > 1000 then
      fail(fname, 2, ("levels must be an integer in 1..1000 or a list of levels, got %s"):format(
        tostring(levels)))
    end
    if zmin == zmax then zmin, zmax = C.nonsingular(zmin, zmax, 0.001, 1e-15) end
    return auto_levels(zmin, zmax, n), zmin, zmax
  end
  local lev = U.vec(levels, fname, 2, "levels"):totable()
  if filled and #lev < 2 then fail(fname, 2, "filled contours need at least 2 levels") end
  if #lev == 0 then fail(fname, 2, "levels is empty") end
  for i, v in ipairs(lev) do
    if v ~= v or (i > 1 and v <= lev[i - 1]) then fail(fname, 2, "levels must be increasing") end
  end
  return lev, zmin, zmax
end

-- One colour per value: a single colour, a list cycled, or cmap over [vmin, vmax].
local function level_colors(self, values, o, vmin, vmax, fname)
  local cols = {}
  if o.colors ~= nil then
    if o.cmap ~= nil then fail(fname, 2, "give colors or cmap, not both") end
    -- one colour (a name, or {r, g, b[, a]}) or a list of them
    local list = o.colors
    if type(list) == "string" or (U.is_colorlike(list) and type(list[1]) == "number") then
      list = { list }
    end
    if type(list) ~= "table" or #list == 0 then
      fail(fname, 2, "colors must be a colour or a list of colours")
    end
    for i = 1, #values do
      cols[i] = U.color(list[(i - 1) % #list + 1], self.rc, fname, 2, o.alpha)
    end
    return cols, #list == 1
  end
  local name = o.cmap or self.rc["image.cmap"]
  U.check_cmap(name, fname, 2)
  local rgba = C.cmap_map(name, vec(values), vmin, vmax, o.alpha or 1):totable()
  for i = 1, #values do cols[i] = rgba[i] end
  return cols, false, name
end

local function grid_extent(X, Y)
  local xlo, xhi = C.finite_range(X:reshape(X:numel()))
  local ylo, yhi = C.finite_range(Y:reshape(Y:numel()))
  return { x = { xlo, xhi }, y = { ylo, yhi } }
end

-- (z [, opts]) or (x, y, z [, opts]) -> x, y, z, opts (x and y nil in the first form).
local function shuffle_args(x, y, z, o)
  local is_opts = type(y) == "table" and not T.is_tensor(y) and z == nil
    and type(y[1]) ~= "table" and type(y[1]) ~= "number"
  if is_opts or y == nil then return nil, nil, x, y end
  return x, y, z, o
end

local CONTOUR_OPTS = { "levels", "colors", "cmap", "linewidths", "linestyles", "alpha", "vmin",
  "vmax", "zorder" }

-- ax:contour([x, y,] z [, opts]) -> contour set
-- Contour lines of z [ny x nx] (tensor or table of rows) over x (nx) and y (ny) coordinates,
-- finite and strictly monotonic, or 2-d x, y of z's shape (default: column and row indices).
-- Lines take colours from cmap over the levels, or from colors. Cells with a NaN corner are
-- left out; the axes limits stick to the grid's extent. Options (defaults): levels = 7 (a count,
-- levels picked by matplotlib's MaxNLocator over the data, or an increasing list),
-- colors = nil (one colour, or a list cycled over the levels), cmap = rc "image.cmap",
-- linewidths = rc "lines.linewidth" (a number or a list), linestyles = "-" (with one colour,
-- negative levels "--"), alpha = 1, vmin, vmax = the first and last level, zorder = 2. The set is a mappable for fig:colorbar and the argument of ax:clabel.
function Axes:contour(x, y, z, o)
  x, y, z, o = shuffle_args(x, y, z, o)
  o = options("contour", x and 4 or 2, o, CONTOUR_OPTS)
  local Z, X, Y = grid_args("contour", x, y, z)
  local levels = contour_levels(o.levels, Z, false, "contour")
  local vmin = o.vmin or levels[1]
  local vmax = o.vmax or levels[#levels]
  local cols, mono, cmap = level_colors(self, levels, o, vmin, vmax, "contour")
  local lw = o.linewidths or self.rc["lines.linewidth"]
  local paths, widths, styles = {}, {}, {}
  for i, lev in ipairs(levels) do
    local px, py = C.contour_lines(Z, X, Y, lev)
    paths[i] = { x = px, y = py }
    widths[i] = type(lw) == "table" and lw[(i - 1) % #lw + 1] or lw
    local ls = o.linestyles
    if type(ls) == "table" then ls = ls[(i - 1) % #ls + 1] end
    styles[i] = ls or ((mono and lev < 0) and "--" or "-")
    U.dashes(styles[i], 1, 1, "contour", 2)
  end
  local ext = grid_extent(X, Y)
  return self:add {
    kind = "contour", levels = levels, paths = paths, colors = cols, widths = widths,
    styles = styles,
    cmap = cmap, vmin = vmin, vmax = vmax, filled = false, limits = ext, sticky_x = ext.x,
    sticky_y = ext.y, zorder = o.zorder or 2, clip = true,
  }
end

-- ax:contourf([x, y,] z [, opts]) -> contour set
-- Filled contours: the bands between consecutive levels (at least 2), each filled with cmap at
-- the band's middle value or with colors. Arguments as ax:contour; cells with a NaN corner stay
-- empty. Options (defaults): levels = 7 (a count, picked as matplotlib does spanning the
-- data, or an increasing list), colors = nil (a list cycled over the bands), cmap =
-- rc "image.cmap", alpha = 1, vmin, vmax = the first and last level, zorder = 1.
-- A mappable for fig:colorbar, which then shows the bands with ticks at the levels.
function Axes:contourf(x, y, z, o)
  x, y, z, o = shuffle_args(x, y, z, o)
  o = options("contourf", x and 4 or 2, o, { "levels", "colors", "cmap", "alpha", "vmin", "vmax",
    "zorder" })
  local Z, X, Y = grid_args("contourf", x, y, z)
  local levels = contour_levels(o.levels, Z, true, "contourf")
  local mids = {}
  for i = 1, #levels - 1 do mids[i] = 0.5 * (levels[i] + levels[i + 1]) end
  local vmin = o.vmin or levels[1]
  local vmax = o.vmax or levels[#levels]
  local cols, _, cmap = level_colors(self, mids, o, vmin, vmax, "contourf")
  -- Without transparency each band is drawn as everything from its lower level up to the top
  -- level, bottom band first: the next band covers it, so antialiased edges blend band into
  -- band instead of letting the background show through a seam. With alpha, exact bands.
  local layered = (o.alpha or 1) >= 1
  local bands = {}
  for i = 1, #levels - 1 do
    local hi = layered and levels[#levels] or levels[i + 1]
    local px, py = C.contour_band(Z, X, Y, levels[i], hi)
    bands[i] = { x = px, y = py }
  end
  local ext = grid_extent(X, Y)
  return self:add {
    kind = "contourf", levels = levels, bands = bands, colors = cols, cmap = cmap, vmin = vmin,
    vmax = vmax, filled = true, limits = ext, sticky_x = ext.x, sticky_y = ext.y,
    zorder = o.zorder or 1, clip = true,
  }
end

-- ax:clabel(cs [, opts]) -> cs
-- Labels the lines of a contour set from ax:contour with their level: one label per line long
-- enough to hold it, on its straightest stretch away from earlier labels and along it
-- (matplotlib's placement), drawn when the figure is. Options (defaults): fmt = nil
-- (matplotlib's ScalarFormatter labels; else a printf format such as "%.1f" or a function of
-- the level), fontsize = rc "font.size", colors = nil (each line's colour), inline = true
-- (break the line under its label), inline_spacing = 5 (gap either side of the label, in
-- pixels at 100 dpi: matplotlib counts pixels).
function Axes:clabel(cs, o)
  o = options("clabel", 2, o, { "fmt", "fontsize", "colors", "inline", "inline_spacing" })
  if type(cs) ~= "table" or cs.kind ~= "contour" then
    fail("clabel", 1, "a contour set from ax:contour expected")
  end
  local texts
  if o.fmt == nil then
    texts = C.format_ticks(cs.levels, cs.levels[1], cs.levels[#cs.levels])
  else
    texts = {}
    for i, lev in ipairs(cs.levels) do
      if type(o.fmt) == "function" then texts[i] = U.text(o.fmt(lev), "clabel", 2)
      elseif type(o.fmt) == "string" then texts[i] = o.fmt:format(lev)
      else fail("clabel", 2, "fmt must be a format string or a function") end
    end
  end
  local colors
  if o.colors ~= nil then colors = U.color(o.colors, self.rc, "clabel", 2) end
  cs.clabel = { texts = texts, size = o.fontsize or self.rc["font.size"], color = colors,
                inline = o.inline ~= false, spacing = o.inline_spacing or 5 }
  return cs
end

-- The pieces of a NaN-separated polyline in pixels: {{xs}, {ys}} each.
local function pieces(px, py)
  local out, cur = {}, nil
  local xt, yt = px:totable(), py:totable()
  for i = 1, #xt do
    local a, b = xt[i], yt[i]
    if a ~= a or b ~= b then
      cur = nil
    else
      if not cur then cur = { x = {}, y = {} } out[#out + 1] = cur end
      cur.x[#cur.x + 1], cur.y[#cur.y + 1] = a, b
    end
  end
  return out
end

-- numpy.interp of xv over the increasing xs with values vs (clamped at the ends).
local function interp(xv, xs, vs)
  if xv <= xs[1] then return vs[1] end
  if xv >= xs[#xs] then return vs[#vs] end
  local lo, hi = 1, #xs
  while hi - lo > 1 do
    local mid = (lo + hi) // 2
    if xs[mid] <= xv then lo = mid else hi = mid end
  end
  local d = xs[hi] - xs[lo]
  return d > 0 and vs[lo] + (xv - xs[lo]) / d * (vs[hi] - vs[lo]) or vs[lo]
end

-- matplotlib's ContourLabeler.locate_label: the middle of the block of the piece (blocks of
-- about a label width of vertices) that is straightest, unless near a label already placed.
-- Our lines have two vertices per cell crossed where matplotlib's have one: blocks are twice as
-- many vertices. Returns the 1-based index of the label's vertex.
local function locate_label(p, lw, placed)
  local n = #p.x
  local bs = math.max(2 * math.floor(lw), 1)
  local nb = math.max(math.ceil(n / bs), 1)
  if nb == 1 then bs = n end
  local dist, order = {}, {}
  for b = 0, nb - 1 do
    local function at(k) return ((b * bs + k) % n) + 1 end
    local xf, yf, xl, yl = p.x[at(0)], p.y[at(0)], p.x[at(bs - 1)], p.y[at(bs - 1)]
    local l = math.sqrt((xl - xf) ^ 2 + (yl - yf) ^ 2)
    local sum = 0
    for k = 0, bs - 1 do
      local q = at(k)
      sum = sum + math.abs((yf - p.y[q]) * (xl - xf) - (xf - p.x[q]) * (yl - yf)) / l
    end
    dist[b + 1] = sum ~= sum and math.huge or sum
    order[b + 1] = b + 1
  end
  table.sort(order, function(u, v)
    if dist[u] ~= dist[v] then return dist[u] < dist[v] end
    return u < v
  end)
  local hb = bs // 2
  local thresh = (1.2 * lw) ^ 2
  for _, b in ipairs(order) do
    local q = (((b - 1) * bs + hb) % n) + 1
    local near = false
    for _, o in ipairs(placed) do
      if (p.x[q] - o[1]) ^ 2 + (p.y[q] - o[2]) ^ 2 < thresh then near = true break end
    end
    if not near then return q end
  end
  return (((order[1] - 1) * bs + hb) % n) + 1
end

-- matplotlib's calc_label_rot_and_inline: the label's angle from the points half a label width
-- either side of vertex q along the line, and (inline) the piece with that stretch plus spacing
-- cut out. Returns the rotation (degrees, kept upright) and the runs left to draw.
local function rotate_and_cut(p, q, lw, inline, spacing)
  local xs, ys = p.x, p.y
  local n = #xs
  local closed = n > 2 and xs[1] == xs[n] and ys[1] == ys[n]
  if closed then
    local rx, ry = {}, {}
    for k = q, n - 1 do rx[#rx + 1], ry[#ry + 1] = xs[k], ys[k] end
    for k = 1, q do rx[#rx + 1], ry[#ry + 1] = xs[k], ys[k] end
    xs, ys, q, n = rx, ry, 1, #rx
  end
  local pl = { 0 }
  for k = 2, n do
    pl[k] = pl[k - 1] + math.sqrt((xs[k] - xs[k - 1]) ^ 2 + (ys[k] - ys[k - 1]) ^ 2)
  end
  local base = pl[q]
  for k = 1, n do pl[k] = pl[k] - base end
  local hlw = lw / 2
  local d1, d2 = closed and pl[n] or 0, 0
  local x1, y1 = interp(d1 - hlw, pl, xs), interp(d1 - hlw, pl, ys)
  local x2, y2 = interp(d2 + hlw, pl, xs), interp(d2 + hlw, pl, ys)
  local rot = math.deg(math.atan(-(y2 - y1), x2 - x1)) -- pixels point down
  rot = (rot + 90) % 180 - 90
  if not inline then return rot, { { x = xs, y = ys } } end
  local a, b = d1 - hlw - spacing, d2 + hlw + spacing
  local idx = {}
  for k = 1, n do idx[k] = k end
  local i1 = (a < pl[1] or a > pl[n]) and -1 or math.floor(interp(a, pl, idx))
  local i2 = (b < pl[1] or b > pl[n]) and -1 or math.ceil(interp(b, pl, idx))
  local runs = {}
  local function run(from, to, head, tail)
    local r = { x = {}, y = {} }
    if head then r.x[1], r.y[1] = head[1], head[2] end
    for k = from, to do r.x[#r.x + 1], r.y[#r.y + 1] = xs[k], ys[k] end
    if tail then r.x[#r.x + 1], r.y[#r.y + 1] = tail[1], tail[2] end
    runs[#runs + 1] = r
  end
  local xy1 = i1 ~= -1 and { interp(a, pl, xs), interp(a, pl, ys) }
  local xy2 = i2 ~= -1 and { interp(b, pl, xs), interp(b, pl, ys) }
  if closed then
    if i1 ~= -1 and i2 ~= -1 then run(i2, i1, xy2, xy1) end
  else
    if i1 ~= -1 then run(1, i1, nil, xy1) end
    if i2 ~= -1 then run(i2, n, xy2, nil) end
  end
  return rot, runs
end

-- matplotlib's print_label: a piece takes a label when it has over 10 label widths of
-- vertices (20 here, two per cell) or spans 1.2 label widths along x or y.
local function long_enough(p, lw)
  local n = #p.x
  if n / 2 > 10 * lw then return true end
  local xlo, xhi, ylo, yhi = math.huge, -math.huge, math.huge, -math.huge
  for k = 1, n do
    xlo, xhi = math.min(xlo, p.x[k]), math.max(xhi, p.x[k])
    ylo, yhi = math.min(ylo, p.y[k]), math.max(yhi, p.y[k])
  end
  return xhi - xlo > 1.2 * lw or yhi - ylo > 1.2 * lw
end

-- A level's line in pixels as a NaN-separated tensor pair.
local function to_pixels(path, tr)
  local x, y = path.x, path.y
  local ln10 = math.log(10)
  local px = tr.logx and x:log() * (tr.sx / ln10) + tr.ox or x * tr.sx + tr.ox
  local py = tr.logy and y:log() * (tr.sy / ln10) + tr.oy or y * tr.sy + tr.oy
  return px:contiguous(), py:contiguous()
end

function DRAW.contour(ax, r, a, tr, ppt)
  local lab, placed = a.clabel, {}
  for i = 1, #a.levels do
    local path = a.paths[i]
    if path.x:size(1) > 0 then
      local dash = U.dashes(a.styles[i], a.widths[i], ppt, "contour", 1)
      local stroke = { width = a.widths[i] * ppt, color = a.colors[i], dash = dash or nil,
                       cap = "butt", join = "round" }
      local px, py = to_pixels(path, tr)
      if not lab then
        r:path(px, py, { stroke = stroke })
      else
        local to = { size = lab.size * ppt, color = lab.color or a.colors[i], ha = "center",
                     va = "center" }
        local lw = C.text_size(lab.texts[i], { size = to.size })
        for _, p in ipairs(pieces(px, py)) do
          local runs = { p }
          if long_enough(p, lw) then
            local q = locate_label(p, lw, placed)
            local rot
            rot, runs = rotate_and_cut(p, q, lw, lab.inline, lab.spacing * ppt * 0.72)
            placed[#placed + 1] = { p.x[q], p.y[q] }
            to.rotation = rot
            r:text(lab.texts[i], p.x[q], p.y[q], to)
          end
          for _, run in ipairs(runs) do
            if #run.x > 1 then r:path(vec(run.x), vec(run.y), { stroke = stroke }) end
          end
        end
      end
    end
  end
end

function DRAW.contourf(ax, r, a, tr, ppt)
  for i, b in ipairs(a.bands) do
    if b.x:size(1) > 0 then r:path(b.x, b.y, { xform = tr, fill = a.colors[i] }) end
  end
end

---------------------------------------------------------------------------
-- hexbin
---------------------------------------------------------------------------

local REDUCE = { mean = true, sum = true, max = true, min = true }

-- ax:hexbin(x, y [, opts]) -> artist
-- A hexagonal 2-d histogram binned as matplotlib's hexbin (pointy-top hexagons on its two offset
-- lattices; binned in C), each hexagon coloured by its count or, with C, by the reduction of its
-- C values. Points with a non-finite coordinate (or C value) are skipped, as scatter skips
-- them; with no finite point the axes stay empty (matplotlib would paint every hexagon in the
-- colour of 0). Options (defaults): gridsize = 100 (hexagons across x, or {nx, ny}), C = nil
-- (one value per point), reduce = "mean" ("sum", "max", "min"; matplotlib's name
-- reduce_C_function is accepted too), mincnt = nil (hide hexagons with fewer points; with C,
-- those with no more than mincnt, default 0), bins = nil ("log": colours on a log scale, empty
-- hexagons not drawn), extent = data range ({xmin, xmax, ymin, ymax}), cmap = rc "image.cmap",
-- vmin, vmax = the value range, alpha = 1, linewidths = 1.0, edgecolors | edgecolor = "face"
-- (or a colour, "none"), label = nil, zorder = 1. A mappable for fig:colorbar (log ticks with
-- bins = "log"); the artist's counts, all_values, all_cx, all_cy hold every hexagon's result.
function Axes:hexbin(x, y, o)
  o = options("hexbin", 3, o, { "gridsize", "C", "reduce", "reduce_C_function", "mincnt", "bins",
    "extent", "cmap", "vmin", "vmax", "alpha", "linewidths", "edgecolors", "edgecolor", "label",
    "zorder" })
  local xs, ys = U.vec(x, "hexbin", 1, "x"), U.vec(y, "hexbin", 2, "y")
  if xs:size(1) ~= ys:size(1) then
    fail("hexbin", 2, ("x and y must be the same size (x has %d, y has %d)"):format(xs:size(1),
      ys:size(1)))
  end
  local cv = o.C and U.vec(o.C, "hexbin", 3, "C")
  if cv and cv:size(1) ~= xs:size(1) then
    fail("hexbin", 3, ("C has %d values for %d points"):format(cv:size(1), xs:size(1)))
  end
  if o.reduce ~= nil and o.reduce_C_function ~= nil then
    fail("hexbin", 3, "give reduce or reduce_C_function, not both")
  end
  local red = o.reduce or o.reduce_C_function or "mean"
  if not REDUCE[red] then
    fail("hexbin", 3, ("reduce must be 'mean', 'sum', 'max' or 'min', got %s"):format(
      tostring(red)))
  end
  if o.mincnt ~= nil and (type(o.mincnt) ~= "number" or o.mincnt ~= o.mincnt) then
    fail("hexbin", 3, ("mincnt must be a number, got %s"):format(tostring(o.mincnt)))
  end
  local gs = o.gridsize or 100
  local nx, ny
  if type(gs) == "table" then nx, ny = gs[1], gs[2] else nx = gs end
  if math.type(nx) ~= "integer" or nx < 1 or nx > 10000 then
    fail("hexbin", 3, "gridsize must be an integer in 1..10000 or {nx, ny}")
  end
  ny = ny or math.floor(nx / math.sqrt(3))
  if math.type(ny) ~= "integer" or ny < 1 or ny > 10000 then
    fail("hexbin", 3, ("gridsize gives %s rows; need 1..10000"):format(tostring(ny)))
  end
  if o.bins ~= nil and o.bins ~= "log" then
    fail("hexbin", 3, ("bins must be 'log' or nil, got %s"):format(tostring(o.bins)))
  end
  local xmin, xmax, ymin, ymax
  if o.extent then
    local e = o.extent
    if type(e) ~= "table" or #e ~= 4 then
      fail("hexbin", 3, "extent must be {xmin, xmax, ymin, ymax}")
    end
    xmin, xmax, ymin, ymax = e[1], e[2], e[3], e[4]
  else
    local keep = xs:isfinite():logical_and(ys:isfinite())
    if cv then keep = keep:logical_and(cv:isfinite()) end
    local fx, fy = xs, ys
    if not keep:all() then
      fx, fy = xs:masked_select(keep):contiguous(), ys:masked_select(keep):contiguous()
    end
    xmin, xmax = C.finite_range(fx)
    ymin, ymax = C.finite_range(fy)
    if xmin == nil or ymin == nil then xmin, xmax, ymin, ymax = 0, 1, 0, 1 end
    xmin, xmax = C.nonsingular(xmin, xmax, 0.1, 1e-15)
    ymin, ymax = C.nonsingular(ymin, ymax, 0.1, 1e-15)
  end
  local pad = 1e-9 * (xmax - xmin)
  xmin, xmax = xmin - pad, xmax + pad
  local count, acc, cx, cy, nfinite = C.hexbin(xs:contiguous(), ys:contiguous(),
    cv and cv:contiguous() or nil, nx, ny, xmin, xmax, ymin, ymax, red)
  local values = count
  if cv then
    values = acc
    local m = o.mincnt or 0
    values = values:masked_fill(count:le(m), 0 / 0)
  elseif o.mincnt then
    values = values:masked_fill(count:lt(o.mincnt), 0 / 0)
  end
  local name = o.cmap or self.rc["image.cmap"]
  U.check_cmap(name, "hexbin", 3)
  local edge = o.edgecolors or o.edgecolor or "face"
  -- a bad colour raises here, at the caller's line, not when the figure is saved
  if edge ~= "face" and edge ~= "none" then U.color(edge, self.rc, "hexbin", 3) end
  local finite = values:isfinite()
  if o.bins == "log" then finite = finite:logical_and(values:gt(0)) end
  local vals = values:masked_select(finite):contiguous()
  local hx, hy = cx:masked_select(finite):contiguous(), cy:masked_select(finite):contiguous()
  local lo, hi = C.finite_range(vals)
  if nfinite == 0 then
    -- Nothing to bin: an empty axes, not a sheet of empty hexagons.
    vals, hx, hy = vals:narrow(1, 1, 0), hx:narrow(1, 1, 0), hy:narrow(1, 1, 0)
    lo, hi = nil, nil
  end
  local vmin, vmax = o.vmin or lo or 0, o.vmax or hi or 1
  local mapped = vals
  local norm
  if o.bins == "log" then
    if not (vmin > 0 and vmax > 0) then
      fail("hexbin", 3, "vmin and vmax must be positive with bins = 'log'")
    end
    mapped = vals:log() / math.log(10)
    norm = "log"
  end
  local cmin = norm and math.log(vmin, 10) or vmin
  local cmax = norm and math.log(vmax, 10) or vmax
  local ext = { x = { xmin, xmax }, y = { ymin, ymax } }
  -- The legend's patch shows the first hexagon's colour, as matplotlib's handle for a collection.
  local first = mapped:size(1) > 0 and C.cmap_map(name, mapped:narrow(1, 1, 1):contiguous(), cmin,
    cmax, o.alpha or 1):totable()[1] or nil
  return self:add {
    kind = "hexbin", cx = hx, cy = hy, values = vals, mapped = mapped:contiguous(), cmap = name,
    vmin = vmin, vmax = vmax, cmin = cmin, cmax = cmax, norm = norm,
    sx = (xmax - xmin) / nx, sy = (ymax - ymin) / ny, alpha = o.alpha,
    lw = o.linewidths or 1.0, hex_edge = edge, counts = count,
    all_values = values, all_cx = cx, all_cy = cy, limits = ext, label = o.label,
    patch_legend = true, fill = first,
    zorder = o.zorder or 1, clip = true,
  }
end

-- matplotlib's hexagon around a centre: (sx, sy / 3) times these offsets.
local HEX_X = { 0.5, 0.5, 0, -0.5, -0.5, 0, 0.5 }
local HEX_Y = { -0.5, 0.5, 1, 0.5, -0.5, -1, -0.5 }

function DRAW.hexbin(ax, r, a, tr, ppt)
  local n = a.cx:size(1)
  if n == 0 then return end
  local lut = C.cmap_lut(a.cmap):size(1)
  local span = a.cmax - a.cmin
  -- matplotlib quantises to the colormap's N entries: one path per entry used
  local idx = ((a.mapped - a.cmin) * (span > 0 and lut / span or 0)):floor():clamp(0, lut - 1)
  local groups = {}
  local it = idx:totable()
  for k = 1, n do
    local g = groups[it[k]]
    if not g then g = {} groups[it[k]] = g end
    g[#g + 1] = k
  end
  local dx, dy = vec(HEX_X) * a.sx, vec(HEX_Y) * (a.sy / 3)
  local nanc = T.full({ 1 }, 0 / 0, "float64")
  local ox, oy = T.cat({ dx, nanc }, 1):reshape(1, 8), T.cat({ dy, nanc }, 1):reshape(1, 8)
  local keys = {}
  for k in pairs(groups) do keys[#keys + 1] = k end
  table.sort(keys)
  local alpha = a.alpha or 1
  for _, k in ipairs(keys) do
    local sel, m = T.new(groups[k], "int64"), #groups[k]
    local gx = (a.cx:index_select(1, sel):reshape(m, 1) + ox):reshape(m * 8):contiguous()
    local gy = (a.cy:index_select(1, sel):reshape(m, 1) + oy):reshape(m * 8):contiguous()
    local col = C.cmap_map(a.cmap, vec { (k + 0.5) / lut }, 0, 1, alpha):totable()[1]
    local stroke
    if a.lw > 0 and a.hex_edge ~= "none" then
      local ec = a.hex_edge == "face" and col or U.color(a.hex_edge, ax.rc, "hexbin", 3, a.alpha)
      stroke = { width = a.lw * ppt, color = ec, join = "round" }
    end
    r:path(gx, gy, { xform = tr, fill = col, stroke = stroke })
  end
end

---------------------------------------------------------------------------
-- heatmap
---------------------------------------------------------------------------

-- Relative luminance of an sRGB colour (seaborn's rule for the text colour on a cell).
local function luminance(c)
  local function lin(v) return v <= 0.03928 and v / 12.92 or ((v + 0.055) / 1.055) ^ 2.4 end
  return 0.2126 * lin(c[1]) + 0.7152 * lin(c[2]) + 0.0722 * lin(c[3])
end

local function tick_labels(labels, n, fname, what)
  if labels == nil or labels == true then
    local t = {}
    for i = 1, n do t[i] = tostring(i - 1) end
    return t
  end
  if labels == false then return {} end
  if type(labels) ~= "table" or #labels ~= n then
    fail(fname, 2, ("%s must be a list of %d labels"):format(what, n))
  end
  local t = {}
  for i = 1, n do t[i] = U.text(labels[i], fname, 2) end
  return t
end

-- ax:heatmap(m [, opts]) -> image artist
-- A matrix (a confusion matrix, a correlation table) shown as imshow shows it, row 1 at the
-- top, with a tick and a label at every row and column and each cell's value written in it,
-- black on light cells and white on dark ones (seaborn's luminance rule); NaN cells stay blank.
-- Options (defaults): annot = true, fmt = "%d" for integral data else "%.2f" (seaborn's "d",
-- ".2f" read as "%d", "%.2f"), cmap = rc "image.cmap", vmin, vmax = the data range,
-- xticklabels, yticklabels = {"0", "1", ...} (a list, or false for none), annot_kws = {}
-- ({fontsize =, color =} of the cell texts), aspect = "equal" (or "auto"). The result is a
-- mappable for fig:colorbar.
function Axes:heatmap(m, o)
  o = options("heatmap", 2, o, { "annot", "fmt", "cmap", "vmin", "vmax", "xticklabels",
    "yticklabels", "annot_kws", "aspect" })
  if type(m) == "table" and not T.is_tensor(m) then m = T.new(m, "float64") end
  if not T.is_tensor(m) or m:dim() ~= 2 then
    fail("heatmap", 1, "a 2-d tensor or a table of rows expected")
  end
  local nr, nc = m:size(1), m:size(2)
  if nr == 0 or nc == 0 then fail("heatmap", 1, "matrix is empty") end
  local v = m:to("float64", true):contiguous()
  local im = self:imshow(v, { cmap = o.cmap, vmin = o.vmin, vmax = o.vmax,
                              aspect = o.aspect or "equal" })
  local xl = tick_labels(o.xticklabels, nc, "heatmap", "xticklabels")
  local yl = tick_labels(o.yticklabels, nr, "heatmap", "yticklabels")
  local xlocs, ylocs = {}, {}
  for j = 1, #xl do xlocs[j] = j - 1 end
  for i = 1, #yl do ylocs[i] = i - 1 end
  self.x.fixed_locs, self.x.fixed_labels = xlocs, xl
  self.y.fixed_locs, self.y.fixed_labels = ylocs, yl
  if o.annot ~= false then
    local kws = o.annot_kws or {}
    check("heatmap", 2, kws, { "fontsize", "color" })
    local integral = v:isfinite():logical_not():logical_or(v:eq(v:floor())):all()
    local fmt = o.fmt or (integral and "%d" or "%.2f")
    if type(fmt) ~= "string" then fail("heatmap", 2, "fmt must be a format string") end
    if not fmt:find("%", 1, true) then fmt = "%" .. fmt end -- seaborn's "d", ".2f"
    local integer_fmt = fmt:find("%%[-+ #0-9.]*[di]") ~= nil
    if not pcall(string.format, fmt, integer_fmt and 1 or 1.5) then
      fail("heatmap", 2, ("fmt '%s' is not a number format"):format(fmt))
    end
    local flat = v:reshape(nr * nc)
    local cols = C.cmap_map(im.cmap, flat, im.vmin, im.vmax, 1):totable()
    local vals = flat:totable()
    for i = 1, nr do
      for j = 1, nc do
        local k = (i - 1) * nc + j
        local val = vals[k]
        if val == val then
          local s = integer_fmt and fmt:format(math.floor(val + 0.5)) or fmt:format(val)
          local tc = kws.color or (luminance(cols[k]) > 0.408 and "black" or "white")
          self:add { kind = "text", x = j - 1, y = i - 1, s = s, coords = "data", zorder = 3,
                     opts = { ha = "center", va = "center", color = tc, size = kws.fontsize } }
        end
      end
    end
  end
  return im
end

Axes.DRAW = DRAW
return Axes
