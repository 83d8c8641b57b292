-- lunette.plot_util: what the plot modules share: argument errors, data
-- conversion to float64 tensors, colours (names, hex, "C3", per-point,
-- colormapped), line styles, and the two renderers (measuring, drawing).
local T = require "lunette.tensor"
local C = require "lunette._plot"
local S = require "lunette.plot_style"

local U = {}

-- Raises "bad argument #n to 'fname' (msg)" at the first caller outside
-- the plot façade, so the position points at the user's script.
function U.fail(fname, n, msg)
  local level = 2
  while true do
    local info = debug.getinfo(level, "S")
    if not info then level = 1 break end
    if not info.source:find("lunette/plot", 1, true) then break end
    level = level + 1
  end
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), level)
end

U.is_tensor = T.is_tensor

-- A text argument: strings (valid UTF-8) and numbers (formatted %g).
function U.text(s, fname, n)
  if type(s) == "number" then return ("%g"):format(s) end
  if type(s) ~= "string" then U.fail(fname, n, "text expected, got " .. type(s)) end
  local ok, bad = utf8.len(s)
  if not ok then U.fail(fname, n, ("text is not valid UTF-8 (byte %d)"):format(bad)) end
  if s:find("\0", 1, true) then U.fail(fname, n, "text contains a NUL byte") end
  return s
end

-- A contiguous float64 copy of numbers / a table of numbers / a tensor,
-- flattened to 1-d (matplotlib ravels its inputs).
function U.vec(x, fname, n, what)
  what = what or "data"
  if T.is_tensor(x) then
    if x:dim() ~= 1 then x = x:contiguous():reshape(x:numel()) end
    return x:to("float64", true)
  elseif type(x) == "number" then
    return T.new({ x }, "float64")
  elseif type(x) == "table" then
    for i = 1, #x do
      if type(x[i]) ~= "number" then
        U.fail(fname, n, ("%s must be numbers; element %d is a %s"):format(what, i, type(x[i])))
      end
    end
    if #x == 0 then return T.zeros(0, "float64") end
    return T.new(x, "float64")
  end
  U.fail(fname, n, ("%s must be a tensor or a table of numbers, got %s"):format(what, type(x)))
end

function U.len(v) return v:size(1) end

-- Checks that vectors have the same length; names them in the error.
function U.same_length(fname, n1, a, n2, b, what)
  if a:size(1) ~= b:size(1) then
    U.fail(fname, n2, ("%s has %d values but the first argument has %d"):format(what, b:size(1), a:size(1)))
  end
end

---------------------------------------------------------------------------
-- colours
---------------------------------------------------------------------------

local function clamp01(v) return v < 0 and 0 or v > 1 and 1 or v end

-- One colour from a spec: name, "#hex", "0.8", "C3" (style cycle), "none",
-- or {r, g, b[, a]}. alpha, when given, replaces the colour's alpha.
function U.color(spec, rc, fname, n, alpha)
  local r, g, b, a
  if type(spec) == "string" then
    local k = spec:match("^C(%d)$")
    if k then
      local cyc = rc["axes.prop_cycle"]
      return U.color(cyc[tonumber(k) % #cyc + 1], rc, fname, n, alpha)
    end
    local hint
    r, g, b, a = C.parse_color(spec)
    if not r then
      hint = g ~= "" and ("; did you mean " .. g .. "?") or ""
      U.fail(fname, n, ("unknown colour '%s'%s"):format(spec, hint))
    end
  elseif type(spec) == "table" and not T.is_tensor(spec) then
    if #spec < 3 or #spec > 4 then U.fail(fname, n, "colour table needs 3 or 4 numbers {r, g, b[, a]}") end
    for i = 1, #spec do
      if type(spec[i]) ~= "number" or spec[i] ~= spec[i] then U.fail(fname, n, "colour table needs numbers in [0, 1]") end
    end
    r, g, b, a = clamp01(spec[1]), clamp01(spec[2]), clamp01(spec[3]), clamp01(spec[4] or 1)
  else
    U.fail(fname, n, ("colour expected (name, '#rrggbb' or {r, g, b[, a]}), got %s"):format(type(spec)))
  end
  if alpha ~= nil and not (spec == "none") then a = alpha end
  return { r, g, b, a }
end

function U.is_colorlike(v)
  if type(v) == "string" then return true end
  if type(v) == "table" and not T.is_tensor(v) and (#v == 3 or #v == 4) then
    for i = 1, #v do if type(v[i]) ~= "number" then return false end end
    return true
  end
  return false
end

-- Colours for n points: one colour, a table of colours, an [n x 3|4]
-- tensor, or values (table/tensor of n numbers) through a colormap.
-- Returns {one = {r,g,b,a}} or {many = [n x 4] tensor, values = ...}.
function U.point_colors(c, n, opts, rc, fname, argn)
  local alpha = opts.alpha
  if c == nil then return { one = U.color(opts.default or "C0", rc, fname, argn, alpha) } end
  if type(c) == "string" or (U.is_colorlike(c) and n ~= #c) then
    return { one = U.color(c, rc, fname, argn, alpha) }
  end
  if T.is_tensor(c) then
    local d = c:size()
    if #d == 2 and (d[2] == 3 or d[2] == 4) then
      if d[1] ~= n then U.fail(fname, argn, ("%d colours for %d points"):format(d[1], n)) end
      local rgba = c:to("float64", true)
      if d[2] == 3 then rgba = T.cat({ rgba, T.ones(n, 1, "float64") }, 2) end
      rgba = rgba:clamp(0, 1)
      if alpha then rgba[{ {}, 4 }] = alpha end
      return { many = rgba:contiguous() }
    end
    return U.mapped_colors(U.vec(c, fname, argn, "c"), n, opts, rc, fname, argn)
  end
  if type(c) == "table" then
    if #c ~= n then U.fail(fname, argn, ("%d colours for %d points"):format(#c, n)) end
    if type(c[1]) == "number" then return U.mapped_colors(U.vec(c, fname, argn, "c"), n, opts, rc, fname, argn) end
    local rows = {}
    for i = 1, n do rows[i] = U.color(c[i], rc, fname, argn, alpha) end
    if n == 0 then return { many = T.zeros(0, 4, "float64") } end
    return { many = T.new(rows, "float64") }
  end
  U.fail(fname, argn, ("colour(s) expected, got %s"):format(type(c)))
end

-- Colormap lookup for values v (n) with opts.cmap/vmin/vmax/alpha.
function U.mapped_colors(v, n, opts, rc, fname, argn)
  if v:size(1) ~= n then U.fail(fname, argn, ("%d colour values for %d points"):format(v:size(1), n)) end
  local name = opts.cmap or rc["image.cmap"]
  U.check_cmap(name, fname, argn)
  local lo, hi = C.finite_range(v)
  local vmin, vmax = opts.vmin or lo or 0, opts.vmax or hi or 1
  return { many = C.cmap_map(name, v, vmin, vmax, opts.alpha or 1), cmap = name, vmin = vmin, vmax = vmax }
end

function U.check_cmap(name, fname, argn)
  if type(name) ~= "string" then U.fail(fname, argn, "colormap name expected, got " .. type(name)) end
  local ok, hint = C.cmap_info(name)
  if not ok then
    U.fail(fname, argn, ("unknown colormap '%s'%s"):format(name, hint ~= "" and ("; did you mean " .. hint .. "?") or ""))
  end
end

-- Colour of an rc key that may say "auto"/"inherit" (falls back to `other`).
function U.rc_color(rc, key, other, fname)
  local v = rc[key]
  if v == "auto" or v == "inherit" or v == nil then v = other end
  return U.color(v, rc, fname or "style", 1)
end

---------------------------------------------------------------------------
-- line styles (dashes scale with the line width, as lines.scale_dashes)
---------------------------------------------------------------------------

local DASHES = { ["-"] = false, solid = false, ["--"] = { 3.7, 1.6 }, dashed = { 3.7, 1.6 },
                 [":"] = { 1, 1.65 }, dotted = { 1, 1.65 }, ["-."] = { 6.4, 1.6, 1, 1.6 },
                 dashdot = { 6.4, 1.6, 1, 1.6 }, none = "none", [""] = "none", None = "none" }

-- Dash pattern in pixels for a style at line width lw (points), or false
-- for solid, or "none" for no line.
function U.dashes(style, lw_pt, px_per_pt, fname, n)
  local d = DASHES[style or "-"]
  if d == nil then U.fail(fname, n, ("unknown line style '%s' (-, --, :, -.)"):format(tostring(style))) end
  if not d or d == "none" then return d end
  local o = {}
  for i, v in ipairs(d) do o[i] = v * math.max(lw_pt, 0.1) * px_per_pt end
  return o
end

---------------------------------------------------------------------------
-- renderers: the canvas, and a measuring stand-in recording extents
---------------------------------------------------------------------------

local Measure = {}
Measure.__index = Measure

-- A renderer that draws nothing and records the boxes texts and frames
-- would cover (tight bounding boxes and tight layout use it).
function U.measurer()
  return setmetatable({ boxes = {} }, Measure)
end

local function record(self, x0, y0, x1, y1, tag)
  if x0 == x0 and y0 == y0 and x1 == x1 and y1 == y1 then
    self.boxes[#self.boxes + 1] = { x0, y0, x1, y1, tag = tag, owner = self.owner }
  end
end

function Measure:text(s, x, y, o)
  local x0, y0, x1, y1 = C.text_extent(s, x, y, o)
  record(self, x0, y0, x1, y1, o.layout)
  return x0, y0, x1, y1
end
function Measure:extent(x0, y0, x1, y1, tag) record(self, x0, y0, x1, y1, tag) end
function Measure:round_rect(x0, y0, x1, y1) record(self, x0, y0, x1, y1) end
local function nop() end
for _, k in ipairs { "origin", "clip", "fill", "path", "rects", "polylines", "markers", "image" } do
  Measure[k] = nop
end
Measure.measuring = true

-- Union of the recorded boxes (optionally only those of one owner). For
-- layout, labels tagged "x"/"y" shrink along their own direction and boxes
-- tagged "skip" (3-D axis labels) are left out, as matplotlib's
-- get_tightbbox(for_layout_only=True) does.
function U.union(boxes, owner, for_layout)
  local x0, y0, x1, y1 = math.huge, math.huge, -math.huge, -math.huge
  for _, b in ipairs(boxes) do
    if (owner == nil or b.owner == owner) and not (for_layout and b.tag == "skip") then
      local a, c, e, f = b[1], b[2], b[3], b[4]
      if for_layout and b.tag == "x" and e > a then local m = (a + e) / 2 a, e = m - 0.5, m + 0.5 end
      if for_layout and b.tag == "y" and f > c then local m = (c + f) / 2 c, f = m - 0.5, m + 0.5 end
      if a < x0 then x0 = a end
      if c < y0 then y0 = c end
      if e > x1 then x1 = e end
      if f > y1 then y1 = f end
    end
  end
  if x0 > x1 then return nil end
  return { x0, y0, x1, y1 }
end

local Draw = {}

-- Wraps a canvas userdata so it answers the renderer protocol.
function U.drawer(canvas)
  return setmetatable({ canvas = canvas }, Draw)
end
Draw.__index = function(self, k)
  local v = rawget(Draw, k)
  if v ~= nil then return v end
  local f = self.canvas[k]
  if type(f) == "function" then
    return function(s, ...) return f(s.canvas, ...) end
  end
end
function Draw.extent() end

---------------------------------------------------------------------------
-- text options: sizes in points -> pixels, weights, colours
---------------------------------------------------------------------------

-- Canvas text options from user options (size in points, colour spec).
function U.text_opts(o, rc, px_per_pt, defaults, fname)
  o = o or {}
  local size = S.fontsize(rc, o.fontsize or o.size or defaults.size or rc["font.size"])
  local col = o.color or defaults.color or rc["text.color"]
  local rgba = U.color(col, rc, fname or "text", 1, o.alpha)
  return {
    size = size * px_per_pt, color = rgba, ha = o.ha or defaults.ha or "left",
    va = o.va or defaults.va or "baseline", rotation = o.rotation or defaults.rotation or 0,
    bold = (o.weight or o.fontweight or defaults.weight) == "bold", italic = o.style == "italic",
    family = o.family or rc["font.family"], linespacing = o.linespacing or 1.2,
    multialign = o.multialign, anchor = o.rotation_mode == "anchor" or defaults.anchor,
    layout = defaults.layout,
  }
end

-- Sorts a list stably by a key.
function U.stable_sort(list, key)
  for i, v in ipairs(list) do v._ord = i end
  table.sort(list, function(a, b)
    local ka, kb = key(a), key(b)
    if ka ~= kb then return ka < kb end
    return a._ord < b._ord
  end)
end

return U
