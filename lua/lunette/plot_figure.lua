-- lunette.plot_figure: figures: grids of axes (gridspecs with spans),
-- matplotlib's subplot parameters and tight layout, suptitle and figure
-- texts, and saving to PNG/PDF/SVG (tight bounding box, temp file + rename).
local C = require "lunette._plot"
local S = require "lunette.plot_style"
local U = require "lunette.plot_util"
local Axes = require "lunette.plot_axes"
local Render = require "lunette.plot_render"
local Legend = require "lunette.plot_legend"

local Figure = {}
Figure.__index = Figure

local GridSpec = {}
GridSpec.__index = GridSpec

local function fail(...) return U.fail(...) end
local check = require("lunette.options").check
local keys = Axes._keys

-- The options of Figure.new / plot.figure, of fig:subplot and of fig:subplots (plot.subplots
-- takes all three).
Figure.FIGURE_KEYS = { "size", "figsize", "dpi", "facecolor", "style", "rc", "layout" }
Figure.AXES_KEYS = { "projection", "facecolor", "elev", "azim", "roll", "proj_type",
                     "focal_length" }
Figure.SUBPLOTS_KEYS = keys(Figure.AXES_KEYS, { "gridspec", "squeeze" })

local function positive(v) return type(v) == "number" and v > 0 and v < math.huge end

-- Figure.new{size | figsize = {6.4, 4.8} (inches), dpi = 100, facecolor = "white", style = current,
--            rc = {}, layout = "tight"|"none"} -> Figure
-- A new empty figure; plot.figure(o) is Figure.new(o). Unknown options raise.
function Figure.new(o, known)
  o = o or {}
  if type(o) ~= "table" then fail("figure", 1, "options table expected, got " .. type(o)) end
  check("figure", 1, o, known or Figure.FIGURE_KEYS)
  local rc
  if o.style then rc = S.resolve(o.style, o.rc) else
    rc = S.current()
    for k, v in pairs(o.rc or {}) do rc[k] = v end
  end
  local size = o.size or o.figsize or rc["figure.figsize"]
  if type(size) ~= "table" or not positive(size[1]) or not positive(size[2]) then
    fail("figure", 1, ("figure size must be two positive numbers of inches, got %s"):format(
      type(size) == "table" and ("{%s, %s}"):format(tostring(size[1]), tostring(size[2])) or tostring(size)))
  end
  local dpi = o.dpi or rc["figure.dpi"]
  if not positive(dpi) then fail("figure", 1, "dpi must be a positive number") end
  if o.facecolor then U.color(o.facecolor, rc, "figure", 1) end
  local layout = o.layout or "tight"
  if layout ~= "tight" and layout ~= "none" then fail("figure", 1, "layout must be 'tight' or 'none'") end
  local fig = setmetatable({
    rc = rc, w = size[1], h = size[2], dpi = dpi, facecolor = o.facecolor or rc["figure.facecolor"],
    axes = {}, texts = {}, layout = layout, layout_opts = {}, grids = {},
    params = { left = rc["figure.subplot.left"], right = rc["figure.subplot.right"],
               bottom = rc["figure.subplot.bottom"], top = rc["figure.subplot.top"],
               wspace = rc["figure.subplot.wspace"], hspace = rc["figure.subplot.hspace"] },
  }, Figure)
  Figure.current = fig -- plot.show() and plot.gcf() act on the newest figure, as pyplot's do
  return fig
end

---------------------------------------------------------------------------
-- grids
---------------------------------------------------------------------------

-- The largest grid a figure takes: each axes costs about 4 KB and its share
-- of every draw, and plot.subplots(1000000, 1000000) ran 46 s to ENOMEM
-- instead of failing.
local MAX_GRID_SIDE, MAX_GRID_CELLS = 1000, 10000

-- Raises, naming fname, unless nrows x ncols is a grid a figure takes.
local function check_grid(fname, nrows, ncols)
  for i, v in ipairs { nrows, ncols } do
    if math.type(v) ~= "integer" or v < 1 then
      fail(fname, i, "grid sizes must be positive integers")
    end
    if v > MAX_GRID_SIDE then
      fail(fname, i, ("%d %s: a grid has at most %d rows and %d columns"):format(v,
        i == 1 and "rows" or "columns", MAX_GRID_SIDE, MAX_GRID_SIDE))
    end
  end
  if nrows * ncols > MAX_GRID_CELLS then
    fail(fname, 2, ("a %dx%d grid has %d cells, more than the %d a figure holds"):format(
      nrows, ncols, nrows * ncols, MAX_GRID_CELLS))
  end
end

-- fig:gridspec(nrows, ncols [, {hspace = 0.2, wspace = 0.2, left = 0.125, right = 0.9, top = 0.88,
--              bottom = 0.11, width_ratios = equal, height_ratios = equal}]) -> GridSpec
-- At most 1000 rows and 1000 columns, 10000 cells in all (spacings and margins default to
-- the figure's subplot parameters).
function Figure:gridspec(nrows, ncols, o)
  o = o or {}
  check("gridspec", 3, o, { "hspace", "wspace", "left", "right", "top", "bottom", "width_ratios",
                            "height_ratios" })
  check_grid("gridspec", nrows, ncols)
  for _, k in ipairs { "width_ratios", "height_ratios" } do
    local want = k == "width_ratios" and ncols or nrows
    if o[k] and #o[k] ~= want then fail("gridspec", 3, ("%s needs %d values"):format(k, want)) end
  end
  local gs = setmetatable({ fig = self, nrows = nrows, ncols = ncols, o = o }, GridSpec)
  self.grids[#self.grids + 1] = gs
  return gs
end

local function span(v, n, what, argn)
  if v == nil or v == ":" or v == "all" then return 1, n end
  if type(v) == "table" then
    local a, b = v[1] or 1, v[2] or n
    if a < 0 then a = n + a + 1 end
    if b < 0 then b = n + b + 1 end
    if math.type(a) ~= "integer" or math.type(b) ~= "integer" or a < 1 or b > n or a > b then
      fail("gridspec", argn, ("%s span {%s, %s} outside 1..%d"):format(what, tostring(v[1]), tostring(v[2]), n))
    end
    return a, b
  end
  if math.type(v) ~= "integer" then fail("gridspec", argn, what .. " must be an integer, {first, last} or ':'") end
  if v < 0 then v = n + v + 1 end
  if v < 1 or v > n then fail("gridspec", argn, ("%s %d outside 1..%d"):format(what, v, n)) end
  return v, v
end

-- gs:cell(rows, cols): rows/cols are indices, {first, last} (inclusive) or ":".
function GridSpec:cell(rows, cols)
  local r0, r1 = span(rows, self.nrows, "row", 1)
  local c0, c1 = span(cols, self.ncols, "column", 2)
  return { gs = self, r0 = r0, r1 = r1, c0 = c0, c1 = c1 }
end
GridSpec.__call = GridSpec.cell
GridSpec.span = GridSpec.cell

-- Left, bottom, width, height (figure fraction) of cells, as
-- matplotlib's GridSpec.get_grid_positions.
function GridSpec:positions(params)
  local o = self.o
  local function p(k) if o[k] ~= nil then return o[k] end return params[k] end
  local left, right, bottom, top = p("left"), p("right"), p("bottom"), p("top")
  local wspace, hspace = p("wspace"), p("hspace")
  local nr, nc = self.nrows, self.ncols
  local tot_w, tot_h = right - left, top - bottom
  local cell_h = tot_h / (nr + hspace * (nr - 1))
  local cell_w = tot_w / (nc + wspace * (nc - 1))
  local function acc(n, cell, sep, ratios)
    local sum = 0
    for i = 1, n do sum = sum + (ratios and ratios[i] or 1) end
    local norm = cell * n / sum
    local out, pos = {}, 0
    for i = 1, n do
      pos = pos + (i > 1 and sep * cell or 0)
      local a = pos
      pos = pos + (ratios and ratios[i] or 1) * norm
      out[i] = { a, pos }
    end
    return out
  end
  local rows = acc(nr, cell_h, hspace, o.height_ratios)
  local cols = acc(nc, cell_w, wspace, o.width_ratios)
  local tops, bottoms, lefts, rights = {}, {}, {}, {}
  for i = 1, nr do tops[i], bottoms[i] = top - rows[i][1], top - rows[i][2] end
  for j = 1, nc do lefts[j], rights[j] = left + cols[j][1], left + cols[j][2] end
  return tops, bottoms, lefts, rights
end

local function spec_position(spec, params)
  local tops, bottoms, lefts, rights = spec.gs:positions(params)
  local l, r = lefts[spec.c0], rights[spec.c1]
  local b, t = bottoms[spec.r1], tops[spec.r0]
  return { l, b, r - l, t - b }
end

---------------------------------------------------------------------------
-- axes
---------------------------------------------------------------------------

local function new_axes(self, where, o, fname, argn)
  o = o or {}
  if fname then check(fname, argn, o, Figure.AXES_KEYS) end
  local proj = o.projection
  local ax
  if proj == "3d" then
    ax = require("lunette.plot_axes3d").new(self, where, o)
  elseif proj == nil or proj == "2d" or proj == "rectilinear" then
    ax = Axes.new(self, where)
  else
    fail("subplot", 1, ("unknown projection '%s' (3d)"):format(tostring(proj)))
  end
  if o.facecolor then ax:set_facecolor(o.facecolor) end
  self.axes[#self.axes + 1] = ax
  return ax
end

-- fig:default_grid(nrows, ncols) -> GridSpec
-- The figure's shared nrows x ncols grid that fig:subplot(r, c, i) uses.
function Figure:default_grid(nrows, ncols)
  local key = nrows .. "x" .. ncols
  self.default_grids = self.default_grids or {}
  local gs = self.default_grids[key]
  if not gs then
    gs = self:gridspec(nrows, ncols)
    self.default_grids[key] = gs
  end
  return gs
end

-- fig:subplot(nrows, ncols, index[, opts]), fig:subplot(231[, opts]),
-- fig:add_subplot(...)
-- fig:subplot(gs:cell(...)[, opts]) -> Axes | Axes3D
-- opts: {projection = "2d"|"3d", facecolor = "white"; for 3-D axes elev = 30, azim = -60,
-- roll = 0, proj_type = "persp"|"ortho", focal_length = 1}.
function Figure:subplot(a, b, c, o)
  if type(a) == "table" and a.gs then return new_axes(self, { spec = a }, b, "subplot", 2) end
  if math.type(a) == "integer" and a >= 111 and a <= 999 and (b == nil or type(b) == "table") then
    o = b
    a, b, c = a // 100, (a // 10) % 10, a % 10
  end
  for i, v in ipairs { a, b, c } do
    if math.type(v) ~= "integer" or v < 1 then
      fail("subplot", i, "subplot(nrows, ncols, index) needs positive integers")
    end
  end
  check_grid("subplot", a, b)
  if c > a * b then
    fail("subplot", 3, ("index %d is outside a %dx%d grid (1..%d)"):format(c, a, b, a * b))
  end
  local gs = self:default_grid(a, b)
  local r = (c - 1) // b + 1
  local col = (c - 1) % b + 1
  return new_axes(self, { spec = gs:cell(r, col) }, o, "subplot", 4)
end
Figure.add_subplot = Figure.subplot

-- fig:add_axes({left, bottom, width, height}[, opts as fig:subplot]) in figure fractions.
function Figure:add_axes(rect, o)
  if type(rect) ~= "table" or #rect ~= 4 then fail("add_axes", 1, "rect {left, bottom, width, height} expected") end
  return new_axes(self, { rect = rect }, o, "add_axes", 2)
end

-- fig:subplots(nrows, ncols [, {gridspec = {} (fig:gridspec's options), squeeze = true, ...the
--               options of fig:subplot}]) -> grid of axes (axes[r][c]; squeezed like matplotlib)
-- At most 1000 rows and 1000 columns, 10000 axes in all.
function Figure:subplots(nrows, ncols, o, known)
  nrows, ncols = nrows or 1, ncols or 1
  check_grid("subplots", nrows, ncols)
  o = o or {}
  check("subplots", 3, o, known or Figure.SUBPLOTS_KEYS)
  local gs = self:gridspec(nrows, ncols, o.gridspec or {})
  local grid = {}
  for r = 1, nrows do
    grid[r] = {}
    -- o was checked above, against the keys of fig:subplots
    for c = 1, ncols do grid[r][c] = new_axes(self, { spec = gs:cell(r, c) }, o) end
  end
  if o.squeeze == false then return grid end
  if nrows == 1 and ncols == 1 then return grid[1][1] end
  if nrows == 1 then return grid[1] end
  if ncols == 1 then
    local col = {}
    for r = 1, nrows do col[r] = grid[r][1] end
    return col
  end
  return grid
end

-- fig:suptitle(text [, {x = 0.5, y = 0.98, fontsize | size = 12, color = "black", ha = "center",
--               va = "top", weight = "normal", ...the other text options of ax:text}])
function Figure:suptitle(s, o)
  o = o or {}
  check("suptitle", 2, o, keys(Axes.TEXT_KEYS, { "x", "y" }))
  self.sup = { s = U.text(s, "suptitle", 1), o = o }
end

-- fig:text(x, y, s [, opts]): text in figure fractions; opts are ax:text's text options
-- (fontsize = 10, color = "black", ha = "left", va = "baseline", ...).
function Figure:text(x, y, s, o)
  check("text", 4, o, Axes.TEXT_KEYS)
  if type(x) ~= "number" or type(y) ~= "number" then fail("text", 1, "x and y must be numbers (figure fractions)") end
  self.texts[#self.texts + 1] = { x = x, y = y, s = U.text(s, "text", 3), opts = o or {} }
end

-- fig:subplots_adjust{left = 0.125, right = 0.9, bottom = 0.11, top = 0.88, wspace = 0.2,
--                     hspace = 0.2}
-- Sets the subplot parameters (figure fractions) and turns the tight layout off.
function Figure:subplots_adjust(o)
  check("subplots_adjust", 1, o, { "left", "right", "bottom", "top", "wspace", "hspace" })
  for k, v in pairs(o or {}) do
    self.params[k] = v
  end
  self.layout = "none"
end

-- fig:tight_layout{pad = 1.08, h_pad = pad, w_pad = pad (font sizes), rect = {0, 0, 1, 1}}
function Figure:tight_layout(o)
  check("tight_layout", 1, o, { "pad", "h_pad", "w_pad", "rect" })
  self.layout = "tight"
  self.layout_opts = o or {}
end

-- fig:colorbar(mappable[, {ax=, label=, fraction=0.15, pad=0.05, shrink=1, aspect=20}])
-- A colorbar beside ax (default: the last axes) for a colour-mapped artist: scatter with c
-- values, imshow of a 2-d array, heatmap, hexbin (log ticks with bins = "log"), contourf (its
-- bands, ticks at the levels) or contour (its level lines). Other artists raise. label defaults
-- to the artist's own (scatter's density = true: "density").
function Figure:colorbar(m, o)
  o = o or {}
  check("colorbar", 2, o, { "ax", "label", "fraction", "pad", "shrink", "aspect" })
  if type(m) ~= "table" or not (m.cmap or m.kind == "contour" or m.kind == "contourf") then
    fail("colorbar", 1, "a colour-mapped artist expected (scatter with c values, imshow or "
      .. "heatmap of a 2-d array, hexbin, contour or contourf)")
  end
  local ax = o.ax or self.axes[#self.axes]
  if not ax then fail("colorbar", 2, "no axes to attach the colorbar to") end
  ax.cbar = { mappable = m, ax = ax, label = o.label or m.colorbar_label, fraction = o.fraction or 0.15, pad = o.pad or 0.05,
              shrink = o.shrink or 1, aspect = o.aspect or 20 }
  return ax.cbar
end

---------------------------------------------------------------------------
-- layout
---------------------------------------------------------------------------

local function fraction_box(pos, W, H)
  return { pos[1] * W, (1 - pos[2] - pos[4]) * H, (pos[1] + pos[3]) * W, (1 - pos[2]) * H }
end

-- fig:place(ctx)
-- Sets ax.box (pixels) for every axes from the current parameters.
function Figure:place(ctx)
  for _, ax in ipairs(self.axes) do
    local pos = ax.where.rect or spec_position(ax.where.spec, self.active or self.params)
    ax.position = pos
    local box = fraction_box(pos, ctx.W, ctx.H)
    if ax.cbar then
      local pbox, cbox = Legend.split_box(ax.cbar, box)
      box, ax.cbar.box = pbox, cbox
    end
    ax.box = ax.kind == "3d" and ax:active_box(box) or Render.apply_aspect(ax, box)
  end
end

local function draw_axes(ax, r, ctx)
  if ax.kind == "3d" then ax:draw(r, ctx) else Render.draw(ax, r, ctx) end
end

-- matplotlib's _auto_adjust_subplotpars for the grids in use.
local function adjust(self, ctx, boxes, pad, h_pad, w_pad, rect)
  local nrows, ncols = 1, 1
  for _, ax in ipairs(self.axes) do
    if ax.where.spec then
      nrows, ncols = math.max(nrows, ax.where.spec.gs.nrows), math.max(ncols, ax.where.spec.gs.ncols)
    end
  end
  local fs_in = self.rc["font.size"] / 72
  local pad_in, vpad_in, hpad_in = pad * fs_in, (h_pad or pad) * fs_in, (w_pad or pad) * fs_in
  local vs, hs = {}, {}
  for r = 1, nrows + 1 do vs[r] = {} for c = 1, ncols do vs[r][c] = 0 end end
  for r = 1, nrows do hs[r] = {} for c = 1, ncols + 1 do hs[r][c] = 0 end end
  local seen = {}
  for _, ax in ipairs(self.axes) do
    local spec = ax.where.spec
    if spec then
      local dr, dc = nrows // spec.gs.nrows, ncols // spec.gs.ncols
      if nrows % spec.gs.nrows ~= 0 or ncols % spec.gs.ncols ~= 0 then return nil end
      local r0, r1 = (spec.r0 - 1) * dr + 1, spec.r1 * dr
      local c0, c1 = (spec.c0 - 1) * dc + 1, spec.c1 * dc
      local key = table.concat({ tostring(spec.gs), r0, r1, c0, c1 }, ":")
      local tb = boxes[ax]
      if tb then
        local pos = spec_position(spec, self.params)
        local t = { tb[1] / ctx.W, 1 - tb[4] / ctx.H, tb[3] / ctx.W, 1 - tb[2] / ctx.H } -- l, b, r, t
        local prev = seen[key]
        if prev then t = { math.min(t[1], prev.t[1]), math.min(t[2], prev.t[2]), math.max(t[3], prev.t[3]), math.max(t[4], prev.t[4]) } end
        seen[key] = { t = t, pos = pos, r0 = r0, r1 = r1, c0 = c0, c1 = c1 }
      end
    end
  end
  for _, e in pairs(seen) do
    local t, pos = e.t, e.pos
    for r = e.r0, e.r1 do
      hs[r][e.c0] = hs[r][e.c0] + (pos[1] - t[1])
      hs[r][e.c1 + 1] = hs[r][e.c1 + 1] + (t[3] - (pos[1] + pos[3]))
    end
    for c = e.c0, e.c1 do
      vs[e.r0][c] = vs[e.r0][c] + (t[4] - (pos[2] + pos[4]))
      vs[e.r1 + 1][c] = vs[e.r1 + 1][c] + (pos[2] - t[2])
    end
  end
  local W_in, H_in = self.w, self.h
  local function colmax(t, idx, rows) local m = -math.huge for r = 1, rows do m = math.max(m, t[r][idx]) end return m end
  local function rowmax(t, idx, cols) local m = -math.huge for c = 1, cols do m = math.max(m, t[idx][c]) end return m end
  local ml, mb, mr, mt
  if rect then
    ml, mb = rect[1], rect[2]
    mr = rect[3] and (1 - rect[3]) or nil
    mt = rect[4] and (1 - rect[4]) or nil
    if ml == 0 then ml = nil end
    if mb == 0 then mb = nil end
    if mr == 0 then mr = nil end
    if mt == 0 then mt = nil end
  end
  ml = ml or math.max(colmax(hs, 1, nrows), 0) + pad_in / W_in
  mr = mr or math.max(colmax(hs, ncols + 1, nrows), 0) + pad_in / W_in
  if not mt then
    mt = math.max(rowmax(vs, 1, ncols), 0) + pad_in / H_in
    if boxes.sup then mt = mt + (boxes.sup[4] - boxes.sup[2]) / ctx.H + pad_in / H_in end
  end
  mb = mb or math.max(rowmax(vs, nrows + 1, ncols), 0) + pad_in / H_in
  if ml + mr >= 1 or mb + mt >= 1 then return nil end
  local kw = { left = ml, right = 1 - mr, bottom = mb, top = 1 - mt }
  if ncols > 1 then
    local m = -math.huge
    for r = 1, nrows do for c = 2, ncols do m = math.max(m, hs[r][c]) end end
    local hspace = m + hpad_in / W_in
    local h_axes = (1 - mr - ml - hspace * (ncols - 1)) / ncols
    if h_axes < 0 then return nil end
    kw.wspace = hspace / h_axes
  end
  if nrows > 1 then
    local m = -math.huge
    for r = 2, nrows do for c = 1, ncols do m = math.max(m, vs[r][c]) end end
    local vspace = m + vpad_in / H_in
    local v_axes = (1 - mt - mb - vspace * (nrows - 1)) / nrows
    if v_axes < 0 then return nil end
    kw.hspace = vspace / v_axes
  end
  return kw
end

-- fig:measure_axes(ctx) -> boxes
-- Tight bounding boxes of every axes (for layout) and of the suptitle.
function Figure:measure_axes(ctx)
  self:place(ctx)
  local m = U.measurer()
  local boxes = {}
  for _, ax in ipairs(self.axes) do
    m.owner = ax
    draw_axes(ax, m, ctx)
    boxes[ax] = U.union(m.boxes, ax, true)
  end
  if self.sup then
    m.owner = "sup"
    self:draw_texts(m, ctx)
    boxes.sup = U.union(m.boxes, "sup")
  end
  return boxes
end

-- fig:tight(ctx)
-- Runs the tight layout (fig:tight_layout's pad options) for drawing context ctx.
function Figure:tight(ctx)
  local o = self.layout_opts
  local pad = o.pad or 1.08
  local boxes = self:measure_axes(ctx)
  local kw = adjust(self, ctx, boxes, pad, o.h_pad, o.w_pad, nil)
  if kw and o.rect then
    local rect = { o.rect[1], o.rect[2], o.rect[3], o.rect[4] }
    if rect[1] then rect[1] = rect[1] + kw.left end
    if rect[2] then rect[2] = rect[2] + kw.bottom end
    if rect[3] then rect[3] = rect[3] - (1 - kw.right) end
    if rect[4] then rect[4] = rect[4] - (1 - kw.top) end
    kw = adjust(self, ctx, boxes, pad, o.h_pad, o.w_pad, rect)
  end
  if kw then
    local p = {}
    for k, v in pairs(self.params) do p[k] = v end
    for k, v in pairs(kw) do p[k] = v end
    self.active = p
  end
end

---------------------------------------------------------------------------
-- drawing and saving
---------------------------------------------------------------------------

-- fig:draw_texts(renderer, ctx): draws the suptitle and the figure texts.
function Figure:draw_texts(r, ctx)
  local rc, ppt = self.rc, ctx.ppt
  if self.sup then
    local o = self.sup.o
    local to = U.text_opts(o, rc, ppt, { size = rc["figure.titlesize"], color = rc["text.color"],
                                         ha = "center", va = "top", weight = rc["figure.titleweight"] }, "suptitle")
    to.multialign = to.multialign or "center"
    r:text(self.sup.s, (o.x or 0.5) * ctx.W, (1 - (o.y or 0.98)) * ctx.H, to)
  end
  for _, t in ipairs(self.texts) do
    local to = U.text_opts(t.opts, rc, ppt, { size = rc["font.size"], color = rc["text.color"] }, "text")
    r:text(t.s, t.x * ctx.W, (1 - t.y) * ctx.H, to)
  end
end

-- fig:draw(renderer, ctx): draws every axes, then the figure texts.
function Figure:draw(r, ctx)
  for _, ax in ipairs(self.axes) do
    r.owner = ax
    draw_axes(ax, r, ctx)
  end
  r.owner = "fig"
  self:draw_texts(r, ctx)
  r.owner = nil
end

local FORMATS = { png = true, pdf = true, svg = true }

-- fig:prepare([dpi]) -> ctx
-- The context (pixel sizes) for drawing at dpi, with the layout done.
function Figure:prepare(dpi)
  local ctx = { dpi = dpi, ppt = dpi / 72, W = math.floor(self.w * dpi + 0.5), H = math.floor(self.h * dpi + 0.5) }
  if ctx.W < 1 or ctx.H < 1 then fail("save", 2, ("figure of %gx%g inches at %g dpi has no pixels"):format(self.w, self.h, dpi)) end
  if ctx.W > 32767 or ctx.H > 32767 then fail("save", 2, ("figure of %dx%d pixels is too large (at most 32767 per side)"):format(ctx.W, ctx.H)) end
  self.active = nil
  if self.layout == "tight" and #self.axes > 0 then self:tight(ctx) end
  self:place(ctx)
  return ctx
end

-- fig:save(path [, opts])
-- fig:savefig(path [, opts])
-- -> true | nil, message (unwritable path)
-- opts: {dpi = the figure's, bbox | bbox_inches = "tight"|nil, pad | pad_inches = 0.1 (inches),
-- facecolor = "white", format = the path's extension (png, pdf, svg), compression = 6}.
-- compression is libdeflate's level for PNG files: 6 unless given; 9 is smaller and slower.
function Figure:save(path, o)
  o = o or {}
  if type(path) ~= "string" or path == "" then fail("save", 1, "file name expected, got " .. type(path)) end
  if type(o) ~= "table" then fail("save", 2, "options table expected, got " .. type(o)) end
  check("save", 2, o, { "dpi", "bbox", "bbox_inches", "pad", "pad_inches", "facecolor", "format",
                        "compression" })
  local ext = (o.format or path:match("%.([%w]+)$") or ""):lower()
  if not FORMATS[ext] then fail("save", 1, ("unsupported format '%s' (png, pdf, svg)"):format(ext)) end
  local dpi = o.dpi or self.dpi
  if not positive(dpi) then fail("save", 2, "dpi must be a positive number") end
  local ctx = self:prepare(dpi)
  local x0, y0, x1, y1 = 0, 0, ctx.W, ctx.H
  if o.bbox == "tight" or o.bbox_inches == "tight" then
    local m = U.measurer()
    self:draw(m, ctx)
    local u = U.union(m.boxes)
    if u then
      local pad = (o.pad or o.pad_inches or self.rc["savefig.pad_inches"]) * dpi
      x0, y0 = math.floor(u[1] - pad), math.floor(u[2] - pad)
      x1, y1 = math.ceil(u[3] + pad), math.ceil(u[4] + pad)
    end
  elseif o.bbox ~= nil then
    fail("save", 2, "bbox must be 'tight' or nil")
  end
  local canvas, err = C.canvas(ext, x1 - x0, y1 - y0, dpi, path)
  if not canvas then return nil, err end
  canvas:origin(-x0, -y0)
  local fc = o.facecolor or self.rc["savefig.facecolor"]
  if fc == "auto" then fc = self.facecolor end
  canvas:fill(U.color(fc, self.rc, "save", 2))
  local ok, perr = pcall(self.draw, self, U.drawer(canvas), ctx)
  if not ok then canvas:close() error(perr, 0) end
  local saved, serr = canvas:save(path, o.compression)
  canvas:close()
  if not saved then return nil, serr end
  return true
end
Figure.savefig = Figure.save

local ENCODINGS = { png = true, svg = true, pdf = true }
local ENCODE_OPTIONS = { "dpi", "bbox", "pad", "facecolor", "compression" }

-- fig:encode(format [, {dpi=, bbox="tight", pad=, facecolor=, compression=}]) -> string
-- The bytes fig:save would write for format "png", "svg" or "pdf", in memory (to send to a
-- terminal or a notebook); written to a temporary file and read back.
function Figure:encode(format, o)
  if type(format) ~= "string" or not ENCODINGS[format:lower()] then
    fail("encode", 1, ("format must be png, svg or pdf, got %s"):format(tostring(format)))
  end
  local opts = { format = format:lower() }
  for k, v in pairs(require("lunette.options").check("encode", 2, o, ENCODE_OPTIONS) or {}) do
    opts[k] = v
  end
  if opts.dpi ~= nil and not positive(opts.dpi) then fail("encode", 2, "dpi must be a positive number") end
  local tmp = os.tmpname()
  local ok, saved, err = pcall(self.save, self, tmp, opts)
  local bytes
  if ok and saved then
    local f = io.open(tmp, "rb")
    bytes = f and f:read("a")
    if f then f:close() end
  end
  os.remove(tmp)
  if not ok then error(saved, 0) end
  if not bytes then error(("encode: cannot write a temporary file (%s)"):format(err or tmp), 2) end
  return bytes
end

-- fig:show([{dpi=, protocol=}])
-- Shows the figure where the user is: inline in a notebook (the Jupyter kernel) or a terminal
-- that speaks the kitty, iTerm2 or sixel graphics protocol, else as a temporary PNG whose
-- path is printed (lunette.display.show).
function Figure:show(o)
  require("lunette.options").check("show", 1, o, { "dpi", "protocol" })
  require("lunette.display").show(self, o)
end

-- fig:render([{dpi = the figure's, facecolor = the figure's}]) -> canvas
-- Renders to a canvas and returns it (for tests and in-memory use).
function Figure:render(o)
  o = o or {}
  check("render", 1, o, { "dpi", "facecolor" })
  local dpi = o.dpi or self.dpi
  local ctx = self:prepare(dpi)
  local canvas = C.canvas("png", ctx.W, ctx.H, dpi)
  canvas:fill(U.color(o.facecolor or self.facecolor, self.rc, "render", 1))
  self:draw(U.drawer(canvas), ctx)
  return canvas, ctx
end

Figure.GridSpec = GridSpec
return Figure
