-- lunette.plot_legend: legends (entries from labelled artists, matplotlib's
-- box metrics and "best" placement) and colorbars.
local T = require "lunette.tensor"
local C = require "lunette._plot"
local S = require "lunette.plot_style"
local U = require "lunette.plot_util"

local L = {}

local LOCS = { ["best"] = 0, ["upper right"] = 1, ["upper left"] = 2, ["lower left"] = 3,
               ["lower right"] = 4, ["right"] = 5, ["center left"] = 6, ["center right"] = 7,
               ["lower center"] = 8, ["upper center"] = 9, ["center"] = 10 }

function L.check_loc(loc)
  if LOCS[loc] == nil then
    U.fail("legend", 1, ("unknown location '%s' (best, upper right, upper left, lower left, lower right, "
      .. "right, center left, center right, lower center, upper center, center)"):format(tostring(loc)))
  end
end

local function vec(t) return T.new(t, "float64") end

-- Labelled artists in drawing order, as legend entries.
local function entries(ax)
  local out = {}
  for _, a in ipairs(ax.artists) do
    if type(a.label) == "string" and a.label ~= "" and a.label:sub(1, 1) ~= "_" then out[#out + 1] = a end
  end
  return out
end
L.entries = entries

local function first_color(a)
  if a.kind == "scatter" then
    if a.colors.one then return a.colors.one end
    local m = a.colors.many
    if m:size(1) > 0 then return m[1]:totable() end
    return { 0, 0, 0, 0 }
  elseif a.kind == "rects" then
    if a.colors.one then return a.colors.one end
    return a.colors.many[1]:totable()
  end
  return a.fill or a.color
end

-- The bars of an errorbar's legend handle through (x, y): half a font size each way, with the
-- errorbar's caps, as matplotlib's HandlerErrorbar.
local function errbar_handle(r, e, x, y, fs, ppt)
  local half = 0.5 * fs
  local stroke = { width = e.lw * ppt, color = e.color, cap = "butt" }
  local caps = e.capsize > 0 and { size = 2 * e.capsize * ppt, edge_width = e.capthick * ppt,
                                   edge = e.color }
  local dirs = {}
  if e.x then dirs[#dirs + 1] = "x" end
  if e.y then dirs[#dirs + 1] = "y" end
  for _, d in ipairs(dirs) do
    local xs = d == "x" and { x - half, x + half } or { x, x }
    local ys = d == "y" and { y - half, y + half } or { y, y }
    r:path(vec(xs), vec(ys), { stroke = stroke })
    if caps then
      caps.marker = d == "y" and "_" or "|"
      r:markers(vec(xs), vec(ys), caps)
    end
  end
end

-- Draws the handle of artist a in the box (x0, y0 top-left, w, h px).
local function draw_handle(ax, r, a, x0, y0, w, h, ppt, fs, markerscale)
  if a.kind == "scatter" then
    local s
    if U.is_tensor(a.sizes) then
      local mx, mn = a.sizes:max(), a.sizes:min()
      if type(mx) ~= "number" then mx, mn = mx:item(), mn:item() end
      s = 0.5 * (mx + mn)
    else s = a.sizes end
    local col = first_color(a)
    local o = { marker = a.marker, size = math.sqrt(s) * markerscale * ppt, edge_width = a.lw * ppt }
    if a.filled then
      o.face = col
      if a.edge == "face" then o.edge = col elseif a.edge ~= "none" then o.edge = a.edge end
    else o.edge = col end
    r:markers(vec { x0 + w / 2 }, vec { y0 + h - h * (0.5 * 0.375 + 0.5) }, o)
  elseif a.kind == "rects" or a.patch_legend then
    local edge, fill = nil, first_color(a)
    if a.edge then edge = { width = a.edge.width * ppt, color = a.edge.color } end
    if a.outline then edge, fill = { width = a.lw * ppt, color = a.color }, nil end
    r:rects(vec { x0 }, vec { y0 }, vec { x0 + w }, vec { y0 + h }, { fill = fill, edge = edge })
  elseif a.kind == "line" or a.kind == "hline" or a.kind == "vline" then
    local y = y0 + h / 2
    local dash = U.dashes(a.ls, a.lw, ppt, "legend", 1)
    if dash ~= "none" and a.lw > 0 then
      r:path(vec { x0, x0 + w }, vec { y, y }, { stroke = { width = a.lw * ppt, color = a.color, dash = dash or nil,
                                                          cap = dash and "butt" or "projecting" } })
    end
    if a.errbar then errbar_handle(r, a.errbar, x0 + w / 2, y, fs, ppt) end
    if a.marker then
      local o = { marker = a.marker, size = a.ms * markerscale * ppt, edge_width = a.mew * ppt,
                  face = a.mfc or a.color, edge = a.mec or a.color }
      r:markers(vec { x0 + w / 2 }, vec { y }, o)
    end
  end
end

-- Box size and row metrics of a legend (pixels).
local function measure(ax, items, o, ppt, fs)
  local rc = ax.rc
  local function p(k) return (o[k] or rc["legend." .. k]) * fs end
  local to = { size = fs, family = rc["font.family"] }
  local tw, th, td = 0, 0, 0
  local rows = {}
  for i, a in ipairs(items) do
    local w, h, d = C.text_size(a.label, to)
    rows[i] = { w = w, h = h, d = d }
    tw = math.max(tw, w)
  end
  local ncol = math.max(1, math.floor(o.ncol or o.ncols or 1))
  local per = math.ceil(#items / ncol)
  local hl, hh, htp = p("handlelength"), p("handleheight"), p("handletextpad")
  local rowh = 0
  for _, rw in ipairs(rows) do rowh = math.max(rowh, math.max(rw.h - rw.d, hh) + rw.d) end
  local colw = hl + htp + tw
  local width = 2 * p("borderpad") + ncol * colw + (ncol - 1) * p("columnspacing")
  local height = 2 * p("borderpad") + per * rowh + (per - 1) * p("labelspacing")
  local title_h = 0
  if o.title then
    local _, h = C.text_size(o.title, { size = S.fontsize(rc, o.title_fontsize or rc["legend.title_fontsize"]) * ppt })
    title_h = h + p("labelspacing")
    local w = C.text_size(o.title, { size = S.fontsize(rc, o.title_fontsize or rc["legend.title_fontsize"]) * ppt })
    width = math.max(width, w + 2 * p("borderpad"))
  end
  return { width = width, height = height + title_h, rows = rows, rowh = rowh, per = per, ncol = ncol,
           colw = colw, title_h = title_h, p = p }
end

-- Top-left corner of a legend of size (w, h) at location code k in box.
local function anchored(k, w, h, box, pad)
  local x0, y0, x1, y1 = box[1] + pad, box[2] + pad, box[3] - pad, box[4] - pad
  local cx, cy = (box[1] + box[3]) / 2 - w / 2, (box[2] + box[4]) / 2 - h / 2
  local pos = {
    [1] = { x1 - w, y0 }, [2] = { x0, y0 }, [3] = { x0, y1 - h }, [4] = { x1 - w, y1 - h },
    [5] = { x1 - w, cy }, [6] = { x0, cy }, [7] = { x1 - w, cy }, [8] = { cx, y1 - h },
    [9] = { cx, y0 }, [10] = { cx, cy },
  }
  return pos[k][1], pos[k][2]
end

-- matplotlib's "best": the first location (in code order) that covers no
-- data, else the one covering least.
local function best_location(ax, w, h, box, pad, tr)
  local boxes = {}
  for k = 1, 10 do
    local x, y = anchored(k, w, h, box, pad)
    boxes[k] = { x, y, x + w, y + h }
  end
  local bt = T.new(boxes, "float64")
  local bad = T.zeros(10, "float64")
  for _, a in ipairs(ax.artists) do
    if a.ignore_for_legend_placement then -- nothing
    elseif a.kind == "scatter" then
      bad = bad + C.legend_badness(a.x, a.y, tr, bt, false)
    elseif a.kind == "line" and not a.patch_legend then
      bad = bad + C.legend_badness(a.x, a.y, tr, bt, true)
    elseif a.kind == "line" then -- a patch (filled area, step histogram): its bounding box
      local xl, xh = C.finite_range(a.x)
      local yl, yh = C.finite_range(a.y)
      if xl and yl then
        local add = {}
        local px0, px1 = math.min(tr.px(xl), tr.px(xh)), math.max(tr.px(xl), tr.px(xh))
        local py0, py1 = math.min(tr.py(yl), tr.py(yh)), math.max(tr.py(yl), tr.py(yh))
        for k = 1, 10 do
          local b = boxes[k]
          add[k] = (px0 < b[3] and px1 > b[1] and py0 < b[4] and py1 > b[2]) and 1 or 0
        end
        bad = bad + T.new(add, "float64")
      end
    elseif a.kind == "rects" then
      local x0, y0, x1, y1 = a.x0:totable(), a.y0:totable(), a.x1:totable(), a.y1:totable()
      local add = {}
      for k = 1, 10 do
        local b, c = boxes[k], 0
        for i = 1, #x0 do
          local ax0, ax1 = tr.px(x0[i]), tr.px(x1[i])
          local ay0, ay1 = tr.py(y0[i]), tr.py(y1[i])
          local lx, hx = math.min(ax0, ax1), math.max(ax0, ax1)
          local ly, hy = math.min(ay0, ay1), math.max(ay0, ay1)
          if lx < b[3] and hx > b[1] and ly < b[4] and hy > b[2] then c = c + 1 end
        end
        add[k] = c
      end
      bad = bad + T.new(add, "float64")
    end
  end
  local bt2 = bad:totable()
  local best, bestv = 1, math.huge
  for k = 1, 10 do
    if bt2[k] == 0 then return k end
    if bt2[k] < bestv then best, bestv = k, bt2[k] end
  end
  return best
end

-- Draws ax's legend (ax.legend_opts) on r.
function L.draw(ax, r, ctx, tr, box)
  local o, rc, ppt = ax.legend_opts, ax.rc, ctx.ppt
  local items = entries(ax)
  if #items == 0 then return end
  local fs = S.fontsize(rc, o.fontsize or o.size or rc["legend.fontsize"]) * ppt
  local m = measure(ax, items, o, ppt, fs)
  local pad = (o.borderaxespad or rc["legend.borderaxespad"]) * fs
  local loc = LOCS[o.loc or rc["legend.loc"]] or 0
  if loc == 0 then loc = best_location(ax, m.width, m.height, box, pad, tr) end
  local x, y = anchored(loc, m.width, m.height, box, pad)
  local frameon = o.frameon
  if frameon == nil then frameon = rc["legend.frameon"] end
  if frameon then
    local fc = o.facecolor or rc["legend.facecolor"]
    if fc == "inherit" then fc = ax.facecolor end
    local alpha = o.framealpha or rc["legend.framealpha"]
    local fancy = o.fancybox
    if fancy == nil then fancy = rc["legend.fancybox"] end
    local ec = o.edgecolor or rc["legend.edgecolor"]
    if ec == "inherit" then ec = rc["axes.edgecolor"] end
    r:round_rect(x, y, x + m.width, y + m.height, fancy and 0.2 * fs or 0, {
      fill = U.color(fc, rc, "legend", 1, alpha),
      stroke = { width = rc["patch.linewidth"] * ppt, color = U.color(ec, rc, "legend", 1, alpha), join = "miter" } })
  else
    r:extent(x, y, x + m.width, y + m.height)
  end
  local lc = o.labelcolor or rc["legend.labelcolor"]
  if lc == "none" or lc == "None" then lc = rc["text.color"] end
  local to = { size = fs, family = rc["font.family"], ha = "left", va = "baseline", color = U.color(lc, rc, "legend", 1) }
  local bp, hl, hh, htp, ls = m.p("borderpad"), m.p("handlelength"), m.p("handleheight"), m.p("handletextpad"), m.p("labelspacing")
  if o.title then
    local tsz = S.fontsize(rc, o.title_fontsize or rc["legend.title_fontsize"]) * ppt
    r:text(o.title, x + m.width / 2, y + bp, { size = tsz, ha = "center", va = "top", color = to.color, family = to.family })
  end
  local markerscale = o.markerscale or rc["legend.markerscale"]
  for i, a in ipairs(items) do
    local col, row = (i - 1) // m.per, (i - 1) % m.per
    local cx = x + bp + col * (m.colw + m.p("columnspacing"))
    local top = y + bp + m.title_h + row * (m.rowh + ls)
    local baseline = top + m.rowh - m.rows[i].d
    draw_handle(ax, r, a, cx, baseline - hh, hl, hh, ppt, fs, markerscale)
    r:text(a.label, cx + hl + htp, baseline, to)
  end
end

---------------------------------------------------------------------------
-- colorbars
---------------------------------------------------------------------------

-- Splits the parent's box: parent keeps the left part, the bar gets a
-- strip of width height*shrink/aspect on the right (matplotlib's make_axes).
function L.split_box(cb, box)
  local w, h = box[3] - box[1], box[4] - box[2]
  local x1 = 1 - cb.fraction
  local pbox = { box[1], box[2], box[1] + (x1 - cb.pad) * w, box[4] }
  local ch = h * cb.shrink
  local cw = math.min(ch / cb.aspect, cb.fraction * w)
  local cx = box[1] + x1 * w
  local cy = box[2] + (h - ch) / 2
  return pbox, { cx, cy, cx + cw, cy + ch }
end

-- The colour strip of a colorbar: contour sets from lunette.plot_fields show their bands
-- (contourf) or their level lines on white (contour), as matplotlib's colorbar does; anything
-- else a 256-step gradient of its colormap.
local function colorbar_strip(m, r, box, ppt)
  local x0, y0, x1, y1 = box[1], box[2], box[3], box[4]
  local lv = m.levels
  local function ypos(v) return y1 - (v - lv[1]) / (lv[#lv] - lv[1]) * (y1 - y0) end
  if m.kind == "contourf" and #lv > 1 then
    for i = 1, #lv - 1 do
      r:rects(vec { x0 }, vec { ypos(lv[i + 1]) }, vec { x1 }, vec { ypos(lv[i]) },
        { fill = m.colors[i] })
    end
    return
  end
  if m.kind == "contour" then
    r:rects(vec { x0 }, vec { y0 }, vec { x1 }, vec { y1 }, { fill = { 1, 1, 1, 1 } })
    if #lv < 2 then return end
    for i, v in ipairs(lv) do
      r:path(vec { x0, x1 }, vec { ypos(v), ypos(v) },
        { stroke = { width = m.widths[i] * ppt, color = m.colors[i] } })
    end
    return
  end
  local lut = C.cmap_map(m.cmap, T.linspace(1, 0, 256):to("float64"), 0, 1, 1)
  local img = (lut * 255 + 0.5):clamp(0, 255):to("uint8"):reshape(256, 1, 4):contiguous()
  r:image(img, x0, y0, x1 - x0, y1 - y0, { smooth = false })
end

-- Tick locations of a colorbar and the value range they map over: a contour set's levels
-- (matplotlib's FixedLocator with nbins = 10: every k-th level, the run nearest 0), decades for
-- a log norm, else the axis locator over [vmin, vmax].
local function colorbar_ticks(m, box, ppt, rc)
  if m.levels and #m.levels > 1 then
    local lv = m.levels
    local step = math.max(math.ceil(#lv / 10), 1)
    local best, bestmin
    for s = 1, step do
      local t, mn = {}, math.huge
      for i = s, #lv, step do t[#t + 1] = lv[i] mn = math.min(mn, math.abs(lv[i])) end
      if not best or mn < bestmin then best, bestmin = t, mn end
    end
    return best, lv[1], lv[#lv]
  end
  local vmin, vmax = m.vmin, m.vmax
  if vmin == vmax then vmax = vmin + 1 end
  if m.norm == "log" then return C.log_ticks(vmin, vmax, 9), vmin, vmax end
  local size = S.fontsize(rc, rc["ytick.labelsize"])
  local nbins = C.auto_nbins((box[4] - box[2]) / ppt, size, 2)
  return C.ticks(math.min(vmin, vmax), math.max(vmin, vmax), nbins), vmin, vmax
end

function L.draw_colorbar(cb, r, ctx)
  local ppt, box, rc = ctx.ppt, cb.box, cb.ax.rc
  local m = cb.mappable
  colorbar_strip(m, r, box, ppt)
  r:extent(box[1], box[2], box[3], box[4])
  r:path(vec { box[1], box[3], box[3], box[1] }, vec { box[2], box[2], box[4], box[4] },
    { closed = true, stroke = { width = rc["axes.linewidth"] * ppt, color = U.color(rc["axes.edgecolor"] == "white" and "black" or rc["axes.edgecolor"], rc, "colorbar", 1) }, snap = true })
  local locs, vmin, vmax = colorbar_ticks(m, box, ppt, rc)
  local log = m.norm == "log" and not m.levels
  local labels, offset
  if log then
    labels, offset = {}, ""
    for i, v in ipairs(locs) do
      labels[i] = { sup = ("%d"):format(math.floor(math.log(v, 10) + 0.5)):gsub("-", "\u{2212}") }
    end
  else
    labels, offset = C.format_ticks(locs, math.min(vmin, vmax), math.max(vmin, vmax))
  end
  local function frac(v)
    if log then return (math.log(v) - math.log(vmin)) / (math.log(vmax) - math.log(vmin)) end
    return (v - vmin) / (vmax - vmin)
  end
  local tlen = rc["ytick.major.size"] * ppt
  local col = U.color(rc["ytick.color"], rc, "colorbar", 1)
  local to = U.text_opts({ size = rc["ytick.labelsize"], color = rc["ytick.color"] }, rc, ppt, {}, "colorbar")
  to.ha, to.va = "left", "center_baseline"
  local right = box[3]
  local tick_label = require("lunette.plot_render").tick_label
  for i, v in ipairs(locs) do
    if v >= math.min(vmin, vmax) - 1e-12 and v <= math.max(vmin, vmax) + 1e-12 then
      local y = box[4] - frac(v) * (box[4] - box[2])
      if tlen > 0 then
        r:path(vec { box[3], box[3] + tlen }, vec { y, y }, { stroke = { width = rc["ytick.major.width"] * ppt, color = col }, snap = true })
      end
      local _, _, x1 = tick_label(r, labels[i], box[3] + tlen + rc["ytick.major.pad"] * ppt, y, to)
      if x1 and x1 > right then right = x1 end
    end
  end
  if log then
    local mlen = rc["ytick.minor.size"] * ppt
    for _, d in ipairs(locs) do
      for k = 2, 9 do
        for _, v in ipairs { d * k, d * k / 10 } do
          if v > vmin and v < vmax and mlen > 0 then
            local y = box[4] - frac(v) * (box[4] - box[2])
            r:path(vec { box[3], box[3] + mlen }, vec { y, y },
              { stroke = { width = rc["ytick.minor.width"] * ppt, color = col }, snap = true })
          end
        end
      end
    end
  end
  if offset ~= "" then r:text(offset, box[3], box[2] - 3 * ppt, { size = to.size, color = to.color, ha = "left", va = "baseline" }) end
  if cb.label then
    local lo = U.text_opts(cb.label_opts or {}, rc, ppt, { size = rc["axes.labelsize"], color = rc["axes.labelcolor"], layout = "y" }, "colorbar")
    lo.ha, lo.va, lo.rotation, lo.anchor = "center", "top", 90, true
    r:text(cb.label, right + rc["axes.labelpad"] * ppt, (box[2] + box[4]) / 2, lo)
  end
end

return L
