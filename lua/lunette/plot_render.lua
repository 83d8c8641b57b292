-- lunette.plot_render: draws a 2-D axes on a renderer: background, artists
-- in z-order, ticks and tick labels (matplotlib's locator and formatter),
-- grid, spines, axis labels and titles. Positions are figure pixels, y down.
local T = require "lunette.tensor"
local C = require "lunette._plot"
local S = require "lunette.plot_style"
local U = require "lunette.plot_util"

local R = {}
local log10 = function(v) return math.log(v, 10) end

-- Data -> pixel transform for a box {x0, y0, x1, y1} and view limits.
function R.transform(box, xlo, xhi, ylo, yhi, logx, logy)
  if logx then xlo, xhi = log10(xlo), log10(xhi) end
  if logy then ylo, yhi = log10(ylo), log10(yhi) end
  local sx = (box[3] - box[1]) / (xhi - xlo)
  local sy = -(box[4] - box[2]) / (yhi - ylo)
  local tr = { sx = sx, ox = box[1] - sx * xlo, sy = sy, oy = box[4] - sy * ylo, logx = logx, logy = logy }
  -- a value <= 0 on a log axis is clipped far outside the axes, as plot.c's map_coord does
  local function coord(v, o, s, log)
    if not log then return o + s * v end
    if v > 0 then return o + s * log10(v) end
    if v ~= v then return v end
    return math.max(-4194304, math.min(4194304, o + s * -1000))
  end
  function tr.px(v) return coord(v, tr.ox, tr.sx, logx) end
  function tr.py(v) return coord(v, tr.oy, tr.sy, logy) end
  return tr
end

local function color(rc, spec, fallback, alpha)
  if spec == nil or spec == "inherit" or spec == "auto" then spec = fallback end
  return U.color(spec, rc, "draw", 1, alpha)
end
R.color = color

local function vec(t) return T.new(t, "float64") end

---------------------------------------------------------------------------
-- ticks
---------------------------------------------------------------------------

local function contains_close(lo, hi, v)
  local tol = 1e-10 * (hi - lo)
  return v >= lo - tol and v <= hi + tol
end

-- The ticks of axis n ("x"/"y") for a box: {major = {{loc, label}...},
-- minor = {locs}, offset = "..."}; locations inside the view only.
function R.ticks(ax, n, box, ppt)
  local a = ax[n]
  local lo, hi = ax:view_limits(n)
  local vmin, vmax = math.min(lo, hi), math.max(lo, hi)
  local locs, labels, offset, minor = nil, nil, "", {}
  if a.fixed_locs then
    locs = a.fixed_locs
    if a.fixed_labels then
      labels = {}
      for i = 1, #locs do labels[i] = a.fixed_labels[i] or "" end
    else
      labels, offset = C.format_ticks(locs, vmin, vmax)
    end
  elseif a.scale == "log" then
    local len_pt = (n == "x" and box[3] - box[1] or box[4] - box[2]) / ppt
    local size = S.fontsize(ax.rc, a.tick.labelsize)
    local numticks = C.auto_nbins(len_pt, size, n == "x" and 3 or 2)
    locs = C.log_ticks(vmin, vmax, math.max(2, numticks))
    labels = {}
    for i, v in ipairs(locs) do labels[i] = { sup = ("%d"):format(math.floor(log10(v) + 0.5)):gsub("-", "\u{2212}") } end
    local step = #locs > 1 and log10(locs[2]) - log10(locs[1]) or 1
    if step < 1.5 then
      for _, d in ipairs(locs) do
        for k = 2, 9 do
          local v = d * k
          if contains_close(vmin, vmax, v) then minor[#minor + 1] = v end
        end
      end
    end
  else
    local len_pt = (n == "x" and box[3] - box[1] or box[4] - box[2]) / ppt
    local size = S.fontsize(ax.rc, a.tick.labelsize)
    local nbins = C.auto_nbins(len_pt, size, n == "x" and 3 or 2)
    locs = C.ticks(vmin, vmax, nbins)
    labels, offset = C.format_ticks(locs, vmin, vmax)
  end
  local major = {}
  local tlo, thi = vmin, vmax
  if a.scale == "log" then tlo, thi = log10(vmin), log10(vmax) end
  for i, v in ipairs(locs) do
    local tv = a.scale == "log" and (v > 0 and log10(v) or -math.huge) or v
    if contains_close(tlo, thi, tv) then major[#major + 1] = { loc = v, label = labels[i] } end
  end
  return { major = major, minor = minor, offset = offset }
end

---------------------------------------------------------------------------
-- axis decorations
---------------------------------------------------------------------------

local function tick_extent(t, ppt)
  local len = t.size * ppt
  if t.direction == "in" then return 0, len end
  if t.direction == "inout" then return len / 2, len / 2 end
  return len, 0
end

-- A tick label; log labels {sup = "k"} draw as 10 with a superscript.
local function tick_label(r, label, x, y, o)
  if type(label) ~= "table" then return r:text(label, x, y, o) end
  local big = { size = o.size, family = o.family, ha = "left", va = "baseline", layout = o.layout }
  local small = { size = o.size * 0.7, family = o.family, ha = "left", va = "baseline", layout = o.layout }
  local w1 = C.text_size("10", big)
  local w2 = C.text_size(label.sup, small)
  local _, h1, d1 = C.text_size("10", big)
  local width, ascent = w1 + w2, (h1 - d1) * 1.3
  local x0 = o.ha == "center" and x - width / 2 or o.ha == "right" and x - width or x
  local base
  if o.va == "top" then base = y + ascent
  elseif o.va == "center" or o.va == "center_baseline" then base = y + (ascent - d1) / 2
  elseif o.va == "bottom" then base = y - d1
  else base = y end
  big.color, small.color = o.color, o.color
  local a0, b0, a1, b1 = r:text("10", x0, base, big)
  local c0, e0, c1, e1 = r:text(label.sup, x0 + w1, base - (h1 - d1) * 0.5, small)
  return math.min(a0, c0), math.min(b0, e0), math.max(a1, c1), math.max(b1, e1)
end

-- R.tick_label(r, label, x, y, opts) -> x0, y0, x1, y1
-- Draws a tick label (colorbars share it); returns its box.
R.tick_label = tick_label

local function union_box(list)
  local u
  for _, b in ipairs(list) do
    if not u then u = { b[1], b[2], b[3], b[4] }
    else
      u[1], u[2] = math.min(u[1], b[1]), math.min(u[2], b[2])
      u[3], u[4] = math.max(u[3], b[3]), math.max(u[4], b[4])
    end
  end
  return u
end

local function grid_lines(ax, r, n, box, tr, ticks, ppt)
  local g = ax[n].grid
  if not g.on or #ticks.major == 0 then return end
  local lw = g.linewidth * ppt
  local dash = U.dashes(g.linestyle, g.linewidth, ppt, "grid", 1)
  if dash == "none" then return end
  for _, t in ipairs(ticks.major) do
    local xs, ys
    if n == "x" then local p = tr.px(t.loc) xs, ys = { p, p }, { box[2], box[4] }
    else local p = tr.py(t.loc) xs, ys = { box[1], box[3] }, { p, p } end
    r:path(vec(xs), vec(ys), { stroke = { width = lw, color = color(ax.rc, g.color, nil, g.alpha),
                                          dash = dash or nil, cap = "butt" }, snap = true })
  end
end

local function tick_marks(ax, r, n, box, tr, list, ppt, minor)
  local t = ax[n].tick
  if not t.ticks then return end
  local size = minor and t.minor_size or t.size
  local width = (minor and t.minor_width or t.width) * ppt
  if size <= 0 or width <= 0 then return end
  local out, inn = tick_extent({ size = size, direction = t.direction }, ppt)
  local col = color(ax.rc, t.color, "black")
  for _, v in ipairs(list) do
    local loc = minor and v or v.loc
    local xs, ys
    if n == "x" then local p = tr.px(loc) xs, ys = { p, p }, { box[4] - inn, box[4] + out }
    else local p = tr.py(loc) xs, ys = { box[1] - out, box[1] + inn }, { p, p } end
    r:path(vec(xs), vec(ys), { stroke = { width = width, color = col, cap = "butt" }, snap = true })
  end
end

local function label_opts(ax, n, ppt)
  local t = ax[n].tick
  local lc = t.labelcolor
  if lc == "inherit" or lc == nil then lc = t.color end
  return U.text_opts({ size = t.labelsize, color = lc, rotation = t.rotation }, ax.rc, ppt, {}, "ticks")
end

-- Draws axis n: grid (if at this z-order), ticks, labels, offset text and
-- the axis label; returns nothing.
function R.draw_axis(ax, r, n, box, tr, ticks, ppt)
  if not ax.axison or not ax[n].visible or (ax.hidden_axis and ax.hidden_axis[n]) then return end
  if ax[n].side then return R.draw_far_axis(ax, r, n, box, tr, ticks, ppt) end
  grid_lines(ax, r, n, box, tr, ticks, ppt)
  local rc, t = ax.rc, ax[n].tick
  tick_marks(ax, r, n, box, tr, ticks.major, ppt, false)
  tick_marks(ax, r, n, box, tr, ticks.minor, ppt, true)
  local out = tick_extent(t, ppt)
  local o = label_opts(ax, n, ppt)
  local boxes = {}
  if t.labels then
    for _, tk in ipairs(ticks.major) do
      if tk.label ~= "" then
        local b
        if n == "x" then
          o.ha = t.rotation ~= 0 and (t.rotation > 0 and "right" or "left") or "center"
          o.va = "top"
          if t.rotation ~= 0 then o.anchor = true o.va = "top" end
          b = { tick_label(r, tk.label, tr.px(tk.loc), box[4] + out + t.pad * ppt, o) }
        else
          o.ha, o.va = "right", "center_baseline"
          b = { tick_label(r, tk.label, box[1] - out - t.pad * ppt, tr.py(tk.loc), o) }
        end
        boxes[#boxes + 1] = b
      end
    end
  end
  local spine = n == "x" and { box[1], box[4], box[3], box[4] } or { box[1], box[2], box[1], box[4] }
  local u = union_box({ spine, table.unpack(boxes) })
  if ticks.offset and ticks.offset ~= "" and t.labels then
    o.ha = n == "x" and "right" or "left"
    o.va = n == "x" and "top" or "baseline"
    if n == "x" then r:text(ticks.offset, box[3], u[4] + 3 * ppt, o)
    else r:text(ticks.offset, box[1], box[2] - 3 * ppt, o) end
  end
  local a = ax[n]
  if a.label and a.label ~= "" then
    local lo = U.text_opts(a.label_opts, rc, ppt,
      { size = rc["axes.labelsize"], color = rc["axes.labelcolor"], layout = n }, n .. "label")
    local pad = (a.label_opts.labelpad or rc["axes.labelpad"]) * ppt
    if n == "x" then
      lo.ha, lo.va = "center", "top"
      r:text(a.label, (box[1] + box[3]) / 2, u[4] + pad, lo)
    else
      lo.ha, lo.va, lo.rotation, lo.anchor = "center", "bottom", 90, true
      r:text(a.label, u[1] - pad, (box[2] + box[4]) / 2, lo)
    end
  end
end

-- The axis of a twin on the far side (y on the right, x on top): ticks, labels and the
-- axis label mirrored from R.draw_axis; the grid is the first axes' business.
function R.draw_far_axis(ax, r, n, box, tr, ticks, ppt)
  local rc, t = ax.rc, ax[n].tick
  local out, inn = tick_extent(t, ppt)
  local col = color(rc, t.color, "black")
  local function marks(list, minor)
    if not t.ticks then return end
    local size = minor and t.minor_size or t.size
    local width = (minor and t.minor_width or t.width) * ppt
    if size <= 0 or width <= 0 then return end
    local o2, i2 = tick_extent({ size = size, direction = t.direction }, ppt)
    for _, v in ipairs(list) do
      local loc = minor and v or v.loc
      local xs, ys
      if n == "x" then local p = tr.px(loc) xs, ys = { p, p }, { box[2] - o2, box[2] + i2 }
      else local p = tr.py(loc) xs, ys = { box[3] - i2, box[3] + o2 }, { p, p } end
      r:path(vec(xs), vec(ys), { stroke = { width = width, color = col, cap = "butt" },
                                 snap = true })
    end
  end
  marks(ticks.major, false)
  marks(ticks.minor, true)
  local o = label_opts(ax, n, ppt)
  local boxes = {}
  if t.labels then
    for _, tk in ipairs(ticks.major) do
      if tk.label ~= "" then
        if n == "x" then
          o.ha, o.va = "center", "bottom"
          local y = box[2] - out - t.pad * ppt
          boxes[#boxes + 1] = { tick_label(r, tk.label, tr.px(tk.loc), y, o) }
        else
          o.ha, o.va = "left", "center_baseline"
          local x = box[3] + out + t.pad * ppt
          boxes[#boxes + 1] = { tick_label(r, tk.label, x, tr.py(tk.loc), o) }
        end
      end
    end
  end
  local spine = { box[3], box[2], box[3], box[4] }
  if n == "x" then spine = { box[1], box[2], box[3], box[2] } end
  local u = union_box({ spine, table.unpack(boxes) })
  local a = ax[n]
  if a.label and a.label ~= "" then
    local lo = U.text_opts(a.label_opts, rc, ppt,
      { size = rc["axes.labelsize"], color = rc["axes.labelcolor"], layout = n }, n .. "label")
    local pad = (a.label_opts.labelpad or rc["axes.labelpad"]) * ppt
    if n == "x" then
      lo.ha, lo.va = "center", "bottom"
      r:text(a.label, (box[1] + box[3]) / 2, u[2] - pad, lo)
    else
      lo.ha, lo.va, lo.rotation, lo.anchor = "center", "top", 90, true
      r:text(a.label, u[3] + pad, (box[2] + box[4]) / 2, lo)
    end
  end
end

local function draw_spines(ax, r, box, ppt)
  if not (ax.axison and ax.frameon) then return end
  local geo = { left = { box[1], box[2], box[1], box[4] }, right = { box[3], box[2], box[3], box[4] },
                bottom = { box[1], box[4], box[3], box[4] }, top = { box[1], box[2], box[3], box[2] } }
  for _, k in ipairs { "left", "right", "bottom", "top" } do
    local s = ax.spine_props[k]
    if s.visible and s.linewidth > 0 then
      local g = geo[k]
      r:path(vec { g[1], g[3] }, vec { g[2], g[4] },
        { stroke = { width = s.linewidth * ppt, color = color(ax.rc, s.color, "black"), cap = "projecting" }, snap = true })
    end
  end
end

-- The top pixel of the x axis a twiny draws above box (its tick labels and label).
local function far_axis_top(tw, box, ppt)
  local m = U.measurer()
  local xlo, xhi = tw:view_limits("x")
  local ylo, yhi = tw:view_limits("y")
  local tr = R.transform(box, xlo, xhi, ylo, yhi, tw.x.scale == "log", tw.y.scale == "log")
  R.draw_far_axis(tw, m, "x", box, tr, R.ticks(tw, "x", box, ppt), ppt)
  local u = U.union(m.boxes)
  return u and math.min(u[2], box[2]) or box[2]
end

function R.draw_titles(ax, r, box, ppt)
  local rc = ax.rc
  -- as matplotlib, a title rises above a twin's top axis
  local top = box[2]
  for _, tw in ipairs(ax.twins or {}) do
    if tw.x.side == "top" and tw.axison and not (tw.hidden_axis and tw.hidden_axis.x) then
      top = math.min(top, far_axis_top(tw, box, ppt))
    end
  end
  for loc, t in pairs(ax.title_parts) do
    local o = U.text_opts(t.opts, rc, ppt, { size = rc["axes.titlesize"],
      color = rc["axes.titlecolor"] ~= "auto" and rc["axes.titlecolor"] or rc["text.color"], layout = "x",
      weight = rc["axes.titleweight"] }, "title")
    o.ha = loc == "left" and "left" or loc == "right" and "right" or "center"
    o.va = "baseline"
    local x = loc == "left" and box[1] or loc == "right" and box[3] or (box[1] + box[3]) / 2
    local pad = (t.opts.pad or rc["axes.titlepad"]) * ppt
    r:text(t.s, x, top - pad - (t.opts.y and (t.opts.y - 1) * (box[4] - box[2]) or 0), o)
  end
end

---------------------------------------------------------------------------
-- artists
---------------------------------------------------------------------------

local CAPS = { projecting = "projecting", round = "round", butt = "butt" }

local function scatter_colors(a)
  return a.colors.many or a.colors.one
end

-- Draws scatter markers (2-D): sizes are points^2.
local function draw_scatter(ax, r, a, tr, ppt)
  local size = U.is_tensor(a.sizes) and (a.sizes:sqrt() * ppt):contiguous() or math.sqrt(a.sizes) * ppt
  local face = scatter_colors(a)
  local o = { xform = tr, marker = a.marker, size = size, edge_width = a.lw * ppt,
              order = a.density_order }
  if a.filled then
    o.face = face
    if a.edge == "face" then o.edge = face
    elseif a.edge ~= "none" then o.edge = a.edge end
  else
    o.edge = face
  end
  r:markers(a.x, a.y, o)
end

local function draw_line(ax, r, a, tr, ppt)
  local dash = U.dashes(a.ls, a.lw, ppt, "plot", 1)
  if (dash ~= "none" and a.lw > 0) or a.fill then
    local stroke
    if dash ~= "none" and a.lw > 0 then
      stroke = { width = a.lw * ppt, color = a.color, dash = dash or nil,
                 cap = dash and "butt" or CAPS[a.cap] or "projecting", join = "round" }
    end
    r:path(a.x, a.y, { xform = tr, stroke = stroke, fill = a.fill, closed = a.closed or a.fill ~= nil })
  end
  if a.marker then
    local filled = ax.MARKERS[a.marker]
    local face = a.mfc or a.color
    local edge = a.mec or a.color
    local o = { xform = tr, marker = a.marker, size = a.ms * ppt, edge_width = a.mew * ppt }
    if filled then o.face = face; o.edge = edge
    else o.edge = a.mec or a.color; o.edge_width = math.max(a.mew, 1) * ppt end
    r:markers(a.mx or a.x, a.my or a.y, o) -- mx/my: a step line's markers stay at its data points
  end
end

local function draw_rects(ax, r, a, tr, ppt)
  local edge
  if a.edge then edge = { width = a.edge.width * ppt, color = a.edge.color, join = "miter" } end
  r:rects(a.x0, a.y0, a.x1, a.y1, { xform = tr, fill = a.colors.many or a.colors.one, edge = edge, snap = true })
end

local function flip_rows(rgba, dim)
  local n = rgba:size(dim)
  return rgba:index_select(dim, T.arange(n, 0, -1, "int64")):contiguous()
end

local function draw_image(ax, r, a, tr, ppt)
  local e = a.extent
  local h, w = a.rgba:size(1), a.rgba:size(2)
  local xa, xb = tr.px(e[1]), tr.px(e[2])
  local row0, rowl
  if a.flip then row0, rowl = e[3], e[4] else row0, rowl = e[4], e[3] end
  local ya, yb = tr.py(row0), tr.py(rowl)
  local img = a.rgba
  if xa > xb then img = flip_rows(img, 2) end
  if ya > yb then img = flip_rows(img, 1) end
  local x0, x1, y0, y1 = math.min(xa, xb), math.max(xa, xb), math.min(ya, yb), math.max(ya, yb)
  local dx, dy = x1 - x0, y1 - y0
  local smooth = a.interp == "bilinear"
  if a.interp == "antialiased" then
    local function ok(d, k) return d > 3 * k or math.abs(d - k) < 0.5 or math.abs(d - 2 * k) < 0.5 end
    smooth = not (ok(dx, w) and ok(dy, h))
  end
  r:image(img, x0, y0, dx, dy, { smooth = smooth, alpha = a.alpha })
end

-- Text boxes: "round", "round,pad=0.5", "square" (matplotlib boxstyles).
local function bbox_style(b)
  local style = b.boxstyle or "square"
  local name = style:match("^%s*([%a_]+)") or "square"
  local pad = tonumber(style:match("pad%s*=%s*([%d%.]+)") or "") or b.pad or 0.3
  return name, pad
end

function R.text_at(ax, r, a, x, y, ppt)
  local rc = ax.rc
  local o = U.text_opts(a.opts, rc, ppt, { size = rc["font.size"], color = rc["text.color"] }, "text")
  if a.offset then x, y = x + a.offset[1] * ppt, y - a.offset[2] * ppt end
  local b = a.opts.bbox
  if b then
    local x0, y0, x1, y1 = C.text_extent(a.s, x, y, o)
    local name, pad = bbox_style(b)
    local p = pad * o.size
    local fc = color(rc, b.facecolor or b.fc, "white", b.alpha)
    local ec = color(rc, b.edgecolor or b.ec, "black", b.alpha)
    local lw = (b.linewidth or b.lw or rc["patch.linewidth"]) * ppt
    r:round_rect(x0 - p, y0 - p, x1 + p, y1 + p, name == "round" and p or 0,
      { fill = fc, stroke = { width = lw, color = ec, join = "miter" } })
  end
  r:text(a.s, x, y, o)
end

local function draw_text(ax, r, a, tr, ppt, box)
  local x, y
  if a.coords == "axes" then x, y = box[1] + a.x * (box[3] - box[1]), box[4] - a.y * (box[4] - box[2])
  else x, y = tr.px(a.x), tr.py(a.y) end
  if x ~= x or y ~= y then return end
  R.text_at(ax, r, a, x, y, ppt)
end

local function draw_refline(ax, r, a, tr, ppt, box)
  local dash = U.dashes(a.ls, a.lw, ppt, "axhline", 1)
  if dash == "none" then return end
  local xs, ys
  if a.kind == "hline" then
    local p = tr.py(a.v)
    xs, ys = { box[1] + a.lo * (box[3] - box[1]), box[1] + a.hi * (box[3] - box[1]) }, { p, p }
  else
    local p = tr.px(a.v)
    xs, ys = { p, p }, { box[4] - a.lo * (box[4] - box[2]), box[4] - a.hi * (box[4] - box[2]) }
  end
  r:path(vec(xs), vec(ys), { stroke = { width = a.lw * ppt, color = a.color, dash = dash or nil, cap = "butt" } })
end

R.DRAW = { scatter = draw_scatter, line = draw_line, rects = draw_rects, image = draw_image,
           text = draw_text, hline = draw_refline, vline = draw_refline }
for kind, draw in pairs(require("lunette.plot_fields").DRAW) do R.DRAW[kind] = draw end

---------------------------------------------------------------------------
-- the axes
---------------------------------------------------------------------------

local function axis_zorder(rc)
  local b = rc["axes.axisbelow"]
  if b == true then return 0.5 elseif b == "line" then return 1.5 end
  return 2.5
end

-- Shrinks the box to the data aspect (aspect "equal", adjustable "box"), centred.
function R.apply_aspect(ax, box)
  if ax.aspect ~= "equal" then return box end
  local xlo, xhi = ax:view_limits("x")
  local ylo, yhi = ax:view_limits("y")
  local want = math.abs(yhi - ylo) / math.abs(xhi - xlo)
  local w, h = box[3] - box[1], box[4] - box[2]
  if w <= 0 or h <= 0 or want ~= want or want == math.huge or want == 0 then return box end
  if h / w > want then
    local nh = w * want
    local y0 = box[2] + (h - nh) / 2
    return { box[1], y0, box[3], y0 + nh }
  end
  local nw = h / want
  local x0 = box[1] + (w - nw) / 2
  return { x0, box[2], x0 + nw, box[4] }
end

-- Draws the whole axes on renderer r (ctx.ppt = pixels per point).
function R.draw(ax, r, ctx)
  local ppt, rc, box = ctx.ppt, ax.rc, ax.box
  local xlo, xhi = ax:view_limits("x")
  local ylo, yhi = ax:view_limits("y")
  local tr = R.transform(box, xlo, xhi, ylo, yhi, ax.x.scale == "log", ax.y.scale == "log")
  ax.tr = tr
  r:extent(box[1], box[2], box[3], box[4])
  if ax.axison and ax.frameon then
    r:rects(vec { box[1] }, vec { box[2] }, vec { box[3] }, vec { box[4] },
      { fill = color(rc, ax.facecolor, "white"), snap = true })
  end
  local xt, yt = R.ticks(ax, "x", box, ppt), R.ticks(ax, "y", box, ppt)
  local items = {}
  for _, a in ipairs(ax.artists) do
    if not r.measuring or a.kind == "text" then items[#items + 1] = { z = a.zorder, artist = a } end
  end
  items[#items + 1] = { z = axis_zorder(rc), axis = true }
  items[#items + 1] = { z = 2.5, spines = true }
  if ax.legend_opts then items[#items + 1] = { z = 5, legend = true } end
  U.stable_sort(items, function(it) return it.z end)
  for _, it in ipairs(items) do
    if it.artist then
      local a = it.artist
      if a.clip then r:clip(box[1], box[2], box[3] - box[1], box[4] - box[2]) end
      R.DRAW[a.kind](ax, r, a, tr, ppt, box)
      if a.clip then r:clip() end
    elseif it.axis then
      R.draw_axis(ax, r, "x", box, tr, xt, ppt)
      R.draw_axis(ax, r, "y", box, tr, yt, ppt)
    elseif it.spines then
      draw_spines(ax, r, box, ppt)
    elseif it.legend then
      require("lunette.plot_legend").draw(ax, r, ctx, tr, box)
    end
  end
  R.draw_titles(ax, r, box, ppt)
  if ax.cbar then require("lunette.plot_legend").draw_colorbar(ax.cbar, r, ctx) end
end

return R
