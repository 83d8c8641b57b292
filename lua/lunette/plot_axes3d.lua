-- lunette.plot_axes3d: 3-D axes after matplotlib's mplot3d (3.6): the same
-- camera, panes, grid, ticks and labels; scatter with depth order and depth
-- shading, 3-D lines, wireframes (and a sphere helper), 3-D text.
local T = require "lunette.tensor"
local C = require "lunette._plot"
local S = require "lunette.plot_style"
local U = require "lunette.plot_util"
local Axes = require "lunette.plot_axes"
local Render = require "lunette.plot_render"

local A3 = {}
A3.__index = A3
A3.kind = "3d"
A3.MARKERS = Axes.MARKERS

local fail = U.fail
local DIST = 10
local PLANES = { { 1, 4, 8, 5 }, { 2, 3, 7, 6 }, { 1, 2, 6, 5 }, { 4, 3, 7, 8 }, { 1, 2, 3, 4 }, { 5, 6, 7, 8 } }
local AXINFO = {
  { name = "x", i = 1, tickdir = 2, juggled = { 2, 1, 3 }, color = { 0.95, 0.95, 0.95, 0.5 } },
  { name = "y", i = 2, tickdir = 1, juggled = { 1, 2, 3 }, color = { 0.90, 0.90, 0.90, 0.5 } },
  { name = "z", i = 3, tickdir = 1, juggled = { 1, 3, 2 }, color = { 0.925, 0.925, 0.925, 0.5 } },
}

local function vec(t) return T.new(t, "float64") end

-- Axes3D.new(fig, where, {elev =, azim =, roll = 0, proj_type = "persp"|"ortho", focal_length = 1}) -> Axes3D
-- A 3-D axes of fig (fig:subplot(..., {projection = "3d"}) makes one);
-- view angles default to the style's axes3d.elev/azim.
function A3.new(fig, where, o)
  local rc = fig.rc
  local ax = setmetatable({
    fig = fig, rc = rc, where = where, artists = {}, ncycle = { lines = 0, patches = 0 },
    facecolor = rc["axes.facecolor"], axison = true, title_parts = {},
    elev = o.elev or rc["axes3d.elev"], azim = o.azim or rc["axes3d.azim"], roll = o.roll or 0,
    focal = o.proj_type == "ortho" and math.huge or (o.focal_length or 1),
    aspect3 = { 4, 4, 3 }, grid_on = rc["axes3d.grid"], lims = {}, axes = {},
  }, A3)
  for k = 1, 3 do
    local info = AXINFO[k]
    local tk = (info.name == "y" and "ytick." or "xtick.")
    ax.axes[k] = {
      name = info.name, label = nil, label_opts = {}, margin = 0.05,
      pane = { fill = rc["axes3d.pane.fill"], color = info.color,
               edgecolor = rc["axes3d.pane.edgecolor"] },
      tick = { color = rc[tk .. "color"], labelcolor = rc[tk .. "labelcolor"], labelsize = rc[tk .. "labelsize"],
               pad = rc[tk .. "major.pad"], width = rc[tk .. "major.width"] },
    }
  end
  return ax
end

A3.next_color = Axes.next_color
A3.add = Axes.add
A3.set_facecolor = Axes.set_facecolor
A3.title = Axes.title
A3.set_title = Axes.title
A3.legend = Axes.legend

local function xyz(fname, x, y, z)
  local xs, ys, zs = U.vec(x, fname, 1, "x"), U.vec(y, fname, 2, "y"), U.vec(z, fname, 3, "z")
  local n = xs:size(1)
  if ys:size(1) ~= n or zs:size(1) ~= n then
    fail(fname, 2, ("x, y and z must have the same length (%d, %d, %d)"):format(n, ys:size(1), zs:size(1)))
  end
  return xs, ys, zs, n
end

---------------------------------------------------------------------------
-- artists
---------------------------------------------------------------------------

-- Points given as the rows of one [n x 3] tensor: f(P, opts) is f(P[:,1], P[:,2], P[:,3], opts).
local function points(x, y, z, o)
  if U.is_tensor(x) and x:dim() == 2 and x:size(2) == 3 and not U.is_tensor(y) and z == nil then
    return x:select(2, 1), x:select(2, 2), x:select(2, 3), y
  end
  return x, y, z, o
end

-- ax:scatter(x, y, z, {c | color = next colour, s | size = 36 (pt^2), alpha = 1, marker = "o",
--             cmap = "viridis", vmin = min, vmax = max, edgecolors | edgecolor = "face",
--             linewidths | linewidth = 1, depthshade = true, label =})
-- or ax:scatter(P, {...}) with the points as the rows of an [n x 3] tensor.
function A3:scatter(x, y, z, o)
  x, y, z, o = points(x, y, z, o)
  o = Axes.opts_table(o, "scatter", 4, { "c", "color", "s", "size", "alpha", "marker", "cmap",
                                         "vmin", "vmax", "edgecolors", "edgecolor", "linewidths",
                                         "linewidth", "depthshade", "label" })
  local xs, ys, zs, n = xyz("scatter", x, y, z)
  local rc = self.rc
  local c = o.c or o.color
  local marker = o.marker or rc["scatter.marker"]
  if Axes.MARKERS[marker] == nil then fail("scatter", 4, ("unknown marker '%s'"):format(tostring(marker))) end
  local default = c == nil and self:next_color("patches") or nil
  local cols = U.point_colors(c, n, { alpha = o.alpha, cmap = o.cmap, vmin = o.vmin, vmax = o.vmax, default = default }, rc, "scatter", 4)
  local s = o.s or o.size or rc["lines.markersize"] ^ 2
  if type(s) ~= "number" then
    s = U.vec(s, "scatter", 4, "s")
    if s:size(1) ~= n then fail("scatter", 4, ("%d sizes for %d points"):format(s:size(1), n)) end
  end
  local filled = Axes.MARKERS[marker]
  local edge = o.edgecolors or o.edgecolor or rc["scatter.edgecolors"]
  if edge ~= "face" and edge ~= "none" then edge = U.color(edge, rc, "scatter", 4, o.alpha) end
  local mask = Axes.finite_mask(xs, ys, zs)
  if mask then
    xs, ys, zs = Axes.select_rows(xs, mask), Axes.select_rows(ys, mask), Axes.select_rows(zs, mask)
    if cols.many then cols.many = Axes.select_rows(cols.many, mask) end
    if U.is_tensor(s) then s = Axes.select_rows(s, mask) end
  end
  return self:add {
    kind = "scatter", x = xs, y = ys, z = zs, colors = cols, sizes = s, marker = marker, filled = filled,
    edge = filled and edge or "face", lw = o.linewidths or o.linewidth or (filled and rc["patch.linewidth"] or rc["lines.linewidth"]),
    alpha = o.alpha, depthshade = o.depthshade ~= false, label = o.label, collection = true,
    cmap = cols.cmap, vmin = cols.vmin, vmax = cols.vmax,
  }
end

-- ax:plot(x, y, z, {color | c = next colour, linewidth | lw = 1.5, alpha = 1, linestyle | ls = "-",
--          label =, zorder = 2}), or ax:plot(P, {...}) with
-- the vertices as the rows of an [n x 3] tensor.
function A3:plot(x, y, z, o)
  x, y, z, o = points(x, y, z, o)
  o = Axes.opts_table(o, "plot", 4, { "color", "c", "linewidth", "lw", "alpha", "linestyle", "ls",
                                      "label", "zorder" })
  local xs, ys, zs = xyz("plot", x, y, z)
  local color = o.color or o.c or self:next_color("lines")
  U.dashes(o.linestyle or o.ls or "-", 1, 1, "plot", 4)
  return self:add {
    kind = "line", x = xs, y = ys, z = zs, color = U.color(color, self.rc, "plot", 4, o.alpha),
    lw = o.linewidth or o.lw or self.rc["lines.linewidth"], ls = o.linestyle or o.ls or "-",
    zorder = o.zorder or 2, label = o.label, cap = self.rc["lines.solid_capstyle"],
  }
end

local function grid2(t, fname, n)
  if U.is_tensor(t) then
    if t:dim() ~= 2 then fail(fname, n, "2-d tensor expected") end
    return t:to("float64", true)
  end
  if type(t) == "table" then return T.new(t, "float64") end
  fail(fname, n, "2-d tensor expected, got " .. type(t))
end

-- ax:plot_wireframe(X, Y, Z [, opts])
-- ax:wireframe(X, Y, Z [, opts])
-- opts: {rstride = rows / rcount, cstride = cols / ccount, rcount = 50, ccount = 50,
-- color = next colour, alpha = 1, linewidth | lw = 1.5, label =}.
function A3:plot_wireframe(X, Y, Z, o)
  o = Axes.opts_table(o, "plot_wireframe", 4, { "rstride", "cstride", "rcount", "ccount", "color",
                                                "alpha", "linewidth", "lw", "label" })
  X, Y, Z = grid2(X, "plot_wireframe", 1), grid2(Y, "plot_wireframe", 2), grid2(Z, "plot_wireframe", 3)
  local rows, cols = Z:size(1), Z:size(2)
  for i, g in ipairs { X, Y } do
    if g:size(1) ~= rows or g:size(2) ~= cols then fail("plot_wireframe", i, "X, Y and Z must have the same shape") end
  end
  local rstride = o.rstride or math.max(math.ceil(rows / (o.rcount or 50)), 1)
  local cstride = o.cstride or math.max(math.ceil(cols / (o.ccount or 50)), 1)
  local rii, cii = {}, {}
  for i = 1, rows, rstride do rii[#rii + 1] = i end
  if rii[#rii] ~= rows then rii[#rii + 1] = rows end
  for j = 1, cols, cstride do cii[#cii + 1] = j end
  if cii[#cii] ~= cols then cii[#cii + 1] = cols end
  local segs = {}
  for _, i in ipairs(rii) do segs[#segs + 1] = { X[i], Y[i], Z[i] } end
  for _, j in ipairs(cii) do segs[#segs + 1] = { X:select(2, j), Y:select(2, j), Z:select(2, j) } end
  local color = o.color or self:next_color("lines")
  return self:add {
    kind = "lines3d", segs = segs, color = U.color(color, self.rc, "plot_wireframe", 4, o.alpha),
    lw = o.linewidth or o.lw or self.rc["lines.linewidth"], collection = true, label = o.label,
  }
end
A3.wireframe = A3.plot_wireframe

-- sphere_mesh([radius = 1 [, n_phi = 60 [, n_theta = 30]]]) -> X, Y, Z [n_phi x n_theta]
-- Mesh of a sphere as the seed builds it: phi in [0, 2pi] (n_phi), theta
-- in [0, pi] (n_theta), float64 coordinates for plot_wireframe.
function A3.sphere_mesh(radius, n_phi, n_theta)
  radius, n_phi, n_theta = radius or 1, n_phi or 60, n_theta or 30
  local phi = T.linspace(0, 2 * math.pi, n_phi):to("float64")
  local th = T.linspace(0, math.pi, n_theta):to("float64")
  local sp, cp = phi:sin():reshape(n_phi, 1), phi:cos():reshape(n_phi, 1)
  local st, ct = th:sin():reshape(1, n_theta), th:cos():reshape(1, n_theta)
  local X = (cp * st * radius):contiguous()
  local Y = (sp * st * radius):contiguous()
  local Z = (T.ones(n_phi, 1, "float64") * ct * radius):contiguous()
  return X, Y, Z
end

-- ax:sphere{radius = 1, n_phi = 60, n_theta = 30, color = text colour, alpha = 0.05,
--           linewidth | lw = 0.3}: a reference wireframe sphere.
function A3:sphere(o)
  o = Axes.opts_table(o, "sphere", 1, { "radius", "n_phi", "n_theta", "color", "alpha",
                                        "linewidth", "lw" })
  local X, Y, Z = A3.sphere_mesh(o.radius, o.n_phi, o.n_theta)
  return self:plot_wireframe(X, Y, Z, { color = o.color or self.rc["text.color"], alpha = o.alpha or 0.05,
                                        linewidth = o.linewidth or o.lw or 0.3 })
end

-- ax:segments(P, Q | pairs, {color = next colour, alpha = 1, linewidth | lw = 1.5, label =})
-- Draws the n line segments P[i] -> Q[i] (P and Q [n x 3] tensors) as one
-- collection: what n calls of ax:plot({p.x, q.x}, {p.y, q.y}, {p.z, q.z}) draw
-- (links from points to their nearest anchors, ...). With a list of index
-- pairs {{i, j}, ...} (1-based rows of P; extra entries such as a score are
-- ignored) instead of Q, draws the edges P[i] -> P[j] (closest pairs, graphs).
function A3:segments(P, Q, o)
  o = Axes.opts_table(o, "segments", 3, { "color", "alpha", "linewidth", "lw", "label" })
  if type(Q) == "table" and not U.is_tensor(Q) then
    if not U.is_tensor(P) or P:dim() ~= 2 or P:size(2) ~= 3 then fail("segments", 1, "[n x 3] tensor expected") end
    local I, J = {}, {}
    for k, e in ipairs(Q) do
      local i, j = type(e) == "table" and e[1], type(e) == "table" and e[2]
      if math.type(i) ~= "integer" or math.type(j) ~= "integer" or i < 1 or j < 1 or i > P:size(1) or j > P:size(1) then
        fail("segments", 2, ("pair %d is not two row numbers of P (1..%d)"):format(k, P:size(1)))
      end
      I[k], J[k] = i, j
    end
    P, Q = P:index_select(1, T.new(I, "int64")), P:index_select(1, T.new(J, "int64"))
  end
  for i, t in ipairs { P, Q } do
    if not U.is_tensor(t) or t:dim() ~= 2 or t:size(2) ~= 3 then fail("segments", i, "[n x 3] tensor expected") end
  end
  if P:size(1) ~= Q:size(1) then fail("segments", 2, ("%d start points but %d end points"):format(P:size(1), Q:size(1))) end
  local B = T.stack({ P:to("float64"), Q:to("float64") }, 3)
  local segs = {}
  for i = 1, P:size(1) do
    local s = B[i]
    segs[i] = { s[1]:contiguous(), s[2]:contiguous(), s[3]:contiguous() }
  end
  return self:add {
    kind = "lines3d", segs = segs, color = U.color(o.color or self:next_color("lines"), self.rc, "segments", 3, o.alpha),
    lw = o.linewidth or o.lw or self.rc["lines.linewidth"], collection = true, label = o.label,
  }
end

-- ax:sphere_frame{title =, titlesize = 11, pad = 10, radius = 0.98, lim = 1.3,
--   labels = {"PC1", "PC2", "PC3"}, fontsize = 8, labelsize = 6, alpha = 0.03, linewidth = 0.3,
--   color = text colour} -> ax
-- The frame of a view of the unit sphere: a reference wireframe sphere, the three
-- limits at -lim..lim, axis labels, small tick labels and the title if given
-- (the hypersphere panels).
function A3:sphere_frame(o)
  o = Axes.opts_table(o, "sphere_frame", 1, { "title", "titlesize", "pad", "radius", "lim",
                                              "labels", "fontsize", "labelsize", "alpha",
                                              "linewidth", "color" })
  if o.title then self:title(o.title, { fontsize = o.titlesize or 11, pad = o.pad or 10 }) end
  local labels, lim = o.labels or { "PC1", "PC2", "PC3" }, o.lim or 1.3
  self:xlabel(labels[1] or "", { fontsize = o.fontsize or 8 })
  self:ylabel(labels[2] or "", { fontsize = o.fontsize or 8 })
  self:zlabel(labels[3] or "", { fontsize = o.fontsize or 8 })
  self:tick_params { labelsize = o.labelsize or 6 }
  self:sphere { radius = o.radius or 0.98, alpha = o.alpha or 0.03, linewidth = o.linewidth or 0.3, color = o.color }
  self:xlim(-lim, lim); self:ylim(-lim, lim); self:zlim(-lim, lim)
  return self
end

-- ax:text(x, y, z, s, {color = "black", fontsize | size = 10, ha = "left", va = "baseline",
--                      zorder = 3, ...the other text options of the 2-D ax:text})
function A3:text(x, y, z, s, o)
  o = Axes.opts_table(o, "text", 5, Axes._keys(Axes.TEXT_KEYS, { "zorder" }))
  for i, v in ipairs { x, y, z } do
    if type(v) ~= "number" or v ~= v then fail("text", i, "coordinates must be finite numbers") end
  end
  return self:add { kind = "text3d", x = x, y = y, z = z, s = U.text(s, "text", 4), opts = o, zorder = o.zorder or 3 }
end

---------------------------------------------------------------------------
-- view, limits, labels, panes
---------------------------------------------------------------------------

-- ax:view_init([elev [, azim [, roll]]])
-- ax:view(elev, azim, roll)
-- The camera elevation and azimuth (and roll), in degrees; nil keeps one.
function A3:view_init(elev, azim, roll)
  self.elev, self.azim, self.roll = elev or self.elev, azim or self.azim, roll or self.roll
end
A3.view = A3.view_init

-- ax:set_proj_type("persp" | "ortho" [, focal_length = 1])
-- Perspective or orthographic projection; anything else raises.
function A3:set_proj_type(t, focal)
  if t == "ortho" then self.focal = math.huge
  elseif t == "persp" then self.focal = focal or 1
  else fail("set_proj_type", 1, "projection must be 'persp' or 'ortho'") end
end

-- ax:set_box_aspect({x, y, z})
-- The relative lengths of the box edges (default {4, 4, 3}).
function A3:set_box_aspect(a)
  if type(a) ~= "table" or #a ~= 3 then fail("set_box_aspect", 1, "three numbers expected") end
  self.aspect3 = a
end

local function set_lim(self, k, a, b, fname)
  if a == nil then return self:limits(k) end
  if type(a) == "table" then a, b = a[1], a[2] end
  if type(a) ~= "number" or type(b) ~= "number" or a ~= a or b ~= b or a == b then
    fail(fname, 1, "limits must be two different finite numbers")
  end
  self.lims[k] = { a, b }
end
-- ax:xlim([lo, hi | {lo, hi}]) -> lo, hi
-- ax:set_xlim(lo, hi)
-- Sets the x limits or, without arguments, returns them (data limits with
-- 5 % margins when unset); equal or non-finite limits raise.
function A3:xlim(a, b) return set_lim(self, 1, a, b, "xlim") end
-- ax:ylim([lo, hi | {lo, hi}]) -> lo, hi
-- ax:set_ylim(lo, hi)
-- As xlim, for y.
function A3:ylim(a, b) return set_lim(self, 2, a, b, "ylim") end
-- ax:zlim([lo, hi | {lo, hi}]) -> lo, hi
-- ax:set_zlim(lo, hi)
-- As xlim, for z.
function A3:zlim(a, b) return set_lim(self, 3, a, b, "zlim") end
A3.set_xlim, A3.set_ylim, A3.set_zlim = A3.xlim, A3.ylim, A3.zlim

local function set_label(k, fname)
  return function(self, s, o)
    local known = Axes._keys(Axes.TEXT_KEYS, { "labelpad" })
    self.axes[k].label = U.text(s, fname, 1)
    self.axes[k].label_opts = Axes.opts_table(o, fname, 2, known)
  end
end
-- ax:xlabel(s [, opts])
-- ax:ylabel(s [, opts])
-- ax:zlabel(s [, opts])
-- ax:set_xlabel(s [, opts])
-- ax:set_ylabel(s [, opts])
-- ax:set_zlabel(s [, opts])
-- The label of one axis ({fontsize | size = 10, color = "black", labelpad = 4, ...text options}).
A3.xlabel, A3.ylabel, A3.zlabel = set_label(1, "xlabel"), set_label(2, "ylabel"), set_label(3, "zlabel")
A3.set_xlabel, A3.set_ylabel, A3.set_zlabel = A3.xlabel, A3.ylabel, A3.zlabel

-- ax:panes{fill = true, edgecolor = "gray", color = per axis}
function A3:panes(o)
  o = Axes.opts_table(o, "panes", 1, { "fill", "edgecolor", "color" })
  for k = 1, 3 do
    local p = self.axes[k].pane
    if o.fill ~= nil then p.fill = o.fill end
    if o.edgecolor then U.color(o.edgecolor, self.rc, "panes", 1); p.edgecolor = o.edgecolor end
    if o.color then p.color = U.color(o.color, self.rc, "panes", 1) end
  end
end

-- ax:grid([on = true]): the grid lines on the panes.
function A3:grid(on) self.grid_on = on ~= false end
-- ax:axis("on" | "off"): draws or hides panes, axes and ticks.
function A3:axis(mode)
  if mode == "off" or mode == false then self.axison = false
  elseif mode == "on" or mode == true then self.axison = true
  else fail("axis", 1, "mode must be 'on' or 'off'") end
end

-- ax:tick_params{axis = "both"|"x"|"y"|"z", colors =, color = "black", labelcolor = color,
--                labelsize = 10, pad = 3.5, width = 0.8}
function A3:tick_params(o)
  o = Axes.opts_table(o, "tick_params", 1, { "axis", "colors", "color", "labelcolor", "labelsize",
                                             "pad", "width" })
  for k = 1, 3 do
    local n = self.axes[k].name
    if o.axis == nil or o.axis == "both" or o.axis == n then
      local t = self.axes[k].tick
      if o.colors then t.color, t.labelcolor = o.colors, o.colors end
      t.color = o.color or t.color
      t.labelcolor = o.labelcolor or t.labelcolor
      t.labelsize = o.labelsize or t.labelsize
      t.pad = o.pad or t.pad
      t.width = o.width or t.width
    end
  end
end

-- ax:limits(k) -> lo, hi
-- The limits of axis k (1..3): the user's, else the data's with 5 % margins.
function A3:limits(k)
  if self.lims[k] then return self.lims[k][1], self.lims[k][2] end
  local lo, hi
  local key = ({ "x", "y", "z" })[k]
  for _, a in ipairs(self.artists) do
    if a.kind == "scatter" or a.kind == "line" then
      local l, h = C.finite_range(a[key])
      if l then lo, hi = math.min(lo or l, l), math.max(hi or h, h) end
    elseif a.kind == "lines3d" then
      for _, sgm in ipairs(a.segs) do
        local l, h = C.finite_range(sgm[k]:contiguous())
        if l then lo, hi = math.min(lo or l, l), math.max(hi or h, h) end
      end
    end
  end
  if lo == nil then return 0, 1 end
  if lo == hi then lo, hi = lo - 0.5, hi + 0.5 end
  local d = (hi - lo) * self.axes[k].margin
  return lo - d, hi + d
end

---------------------------------------------------------------------------
-- projection and layout
---------------------------------------------------------------------------

-- ax:active_box(box) -> box
-- The square box inside the subplot box (Axes3D.apply_aspect, anchored centre).
function A3:active_box(box)
  local w, h = box[3] - box[1], box[4] - box[2]
  local s = math.min(w, h)
  local x0, y0 = box[1] + (w - s) / 2, box[2] + (h - s) / 2
  return { x0, y0, x0 + s, y0 + s }
end

-- ax:matrix() -> Tensor [4 x 4]
-- The projection matrix of the current limits, box aspect and view.
function A3:matrix()
  local l = {}
  for k = 1, 3 do l[2 * k - 1], l[2 * k] = self:limits(k) end
  local a = self.aspect3
  local norm = math.sqrt(a[1] ^ 2 + a[2] ^ 2 + a[3] ^ 2)
  local f = 1.8294640721620434 / norm
  local M = C.proj_matrix { lims = l, aspect = { a[1] * f, a[2] * f, a[3] * f }, elev = self.elev,
                            azim = self.azim, roll = self.roll, dist = DIST, focal = self.focal }
  return M, l
end

-- One point through M (row-major 4x4), in Lua: no tensors for single points.
local function proj1(M, x, y, z)
  local w = M[13] * x + M[14] * y + M[15] * z + M[16]
  return (M[1] * x + M[2] * y + M[3] * z + M[4]) / w, (M[5] * x + M[6] * y + M[7] * z + M[8]) / w,
         (M[9] * x + M[10] * y + M[11] * z + M[12]) / w
end

-- 2-D view transform: view limits (-0.95, 0.9)/dist on both axes.
local function view_transform(box)
  return Render.transform(box, -0.95 / DIST, 0.9 / DIST, -0.95 / DIST, 0.9 / DIST, false, false)
end

---------------------------------------------------------------------------
-- axis decorations (mplot3d's axis3d.py)
---------------------------------------------------------------------------

local function coord_info(M, l)
  local mins, maxs, centers, deltas = {}, {}, {}, {}
  for k = 1, 3 do
    mins[k], maxs[k] = l[2 * k - 1], l[2 * k]
    centers[k] = 0.5 * (maxs[k] + mins[k])
    deltas[k] = (maxs[k] - mins[k]) / 12
    mins[k] = mins[k] - 0.25 * deltas[k]
    maxs[k] = maxs[k] + 0.25 * deltas[k]
  end
  local cx = { mins[1], maxs[1], maxs[1], mins[1], mins[1], maxs[1], maxs[1], mins[1] }
  local cy = { mins[2], mins[2], maxs[2], maxs[2], mins[2], mins[2], maxs[2], maxs[2] }
  local cz = { mins[3], mins[3], mins[3], mins[3], maxs[3], maxs[3], maxs[3], maxs[3] }
  local tc = {}
  for i = 1, 8 do tc[i] = { proj1(M, cx[i], cy[i], cz[i]) } end
  local highs = {}
  for k = 1, 3 do
    local z0, z1 = 0, 0
    for _, p in ipairs(PLANES[2 * k - 1]) do z0 = z0 + tc[p][3] end
    for _, p in ipairs(PLANES[2 * k]) do z1 = z1 + tc[p][3] end
    highs[k] = z0 / 4 < z1 / 4
  end
  return mins, maxs, centers, deltas, tc, highs
end

local function move_from_center(p, centers, deltas, mask)
  local o = {}
  for k = 1, 3 do
    local s = p[k] - centers[k] >= 0 and 1 or -1
    o[k] = p[k] + (mask[k] and s * deltas[k] or 0)
  end
  return o
end

local function norm_text_angle(a)
  a = (a + 180) % 180
  if a > 90 then a = a - 180 end
  return a
end

local function draw_panes(self, r, tr, M, info, ppt)
  local _, _, _, _, tc, highs = table.unpack(info)
  for k = 1, 3 do
    local p = self.axes[k].pane
    local plane = PLANES[highs[k] and 2 * k or 2 * k - 1]
    local xs, ys = {}, {}
    for i, c in ipairs(plane) do xs[i], ys[i] = tc[c][1], tc[c][2] end
    local base = p.color
    if p.fill then r:path(vec(xs), vec(ys), { xform = tr, closed = true, fill = base }) end
    local ec = p.edgecolor
    local edge = (ec == "auto" or ec == nil) and base or U.color(ec, self.rc, "panes", 1, base[4])
    r:path(vec(xs), vec(ys), { xform = tr, stroke = { width = self.rc["patch.linewidth"] * ppt, color = edge, join = "miter" } })
  end
end

-- Ticks (locations and labels) of 3-D axis k for the box.
local function axis_ticks(self, k, l, box, ppt)
  local lo, hi = l[2 * k - 1], l[2 * k]
  local vmin, vmax = math.min(lo, hi), math.max(lo, hi)
  local size = S.fontsize(self.rc, self.axes[k].tick.labelsize)
  local nbins = C.auto_nbins((box[3] - box[1]) / ppt, size, 3)
  local locs = C.ticks(vmin, vmax, nbins)
  local labels = C.format_ticks(locs, vmin, vmax)
  local out = {}
  local tol = 1e-10 * (vmax - vmin)
  for i, v in ipairs(locs) do
    if v >= vmin - tol and v <= vmax + tol then out[#out + 1] = { loc = v, label = labels[i] } end
  end
  return out
end

local function ctx_dpi(ppt) return ppt * 72 end

local function draw_axis(self, r, k, tr, M, info, l, box, ppt)
  local mins, maxs, centers, deltas, _, highs = table.unpack(info)
  local ai, rc, ax = AXINFO[k], self.rc, self.axes[k]
  local minmax, maxmin = {}, {}
  for j = 1, 3 do
    minmax[j] = highs[j] and maxs[j] or mins[j]
    maxmin[j] = highs[j] and mins[j] or maxs[j]
  end
  local e1 = { minmax[1], minmax[2], minmax[3] }
  e1[ai.juggled[1]] = maxmin[ai.juggled[1]]
  local e2 = { e1[1], e1[2], e1[3] }
  e2[ai.juggled[2]] = maxmin[ai.juggled[2]]
  local p1x, p1y = proj1(M, e1[1], e1[2], e1[3])
  local p2x, p2y = proj1(M, e2[1], e2[2], e2[3])
  r:path(vec { p1x, p2x }, vec { p1y, p2y }, { xform = tr,
    stroke = { width = rc["axes.linewidth"] * ppt, color = U.color(rc["axes.edgecolor"], rc, "axis", 1), cap = "projecting" } })
  local ticks = axis_ticks(self, k, l, box, ppt)
  local w_in, h_in = (box[3] - box[1]) / ctx_dpi(ppt), (box[4] - box[2]) / ctx_dpi(ppt)
  local dpp = 48 / (72 * (w_in + h_in))
  local mask = { true, true, true }
  mask[ai.i] = false
  -- axis label
  if ax.label and ax.label ~= "" then
    local lpad = ax.label_opts.labelpad or rc["axes.labelpad"]
    local ld = {}
    for j = 1, 3 do ld[j] = (lpad + 21) * dpp * deltas[j] end
    local mid = { (e1[1] + e2[1]) / 2, (e1[2] + e2[2]) / 2, (e1[3] + e2[3]) / 2 }
    local lp = move_from_center(mid, centers, ld, mask)
    local lx, ly = proj1(M, lp[1], lp[2], lp[3])
    local o = U.text_opts(ax.label_opts, rc, ppt, { size = rc["axes.labelsize"], color = rc["axes.labelcolor"],
                                                    layout = "skip" }, "label")
    o.ha, o.va = "center", "center"
    local rot = ax.label_opts.rotate
    if rot == nil then rot = #ax.label > 4 end
    if rot then
      local dx, dy = tr.px(p2x) - tr.px(p1x), -(tr.py(p2y) - tr.py(p1y))
      o.rotation = norm_text_angle(math.deg(math.atan(dy, dx)))
    end
    r:text(ax.label, tr.px(lx), tr.py(ly), o)
  end
  -- grid lines
  if self.grid_on and #ticks > 0 then
    local pts = {}
    for _, t in ipairs(ticks) do
      local p = { minmax[1], minmax[2], minmax[3] }
      p[ai.i] = t.loc
      local a, c = { p[1], p[2], p[3] }, { p[1], p[2], p[3] }
      local i2, i1 = (ai.i - 1 - 2) % 3 + 1, (ai.i - 1 - 1) % 3 + 1
      a[i2] = maxmin[i2]
      c[i1] = maxmin[i1]
      for _, q in ipairs { a, p, c } do
        local x, y = proj1(M, q[1], q[2], q[3])
        pts[#pts + 1] = { tr.px(x), tr.py(y) }
      end
    end
    local t = T.new(pts, "float64"):reshape(#ticks, 3, 2):contiguous()
    r:polylines(t, { color = U.color(rc["grid.color"], rc, "grid", 1), width = rc["grid.linewidth"] * ppt })
  end
  -- ticks
  local td = ai.tickdir
  local tdelta = highs[td] and deltas[td] or -deltas[td]
  local out_td, in_td = e1[td] + 0.1 * tdelta, e1[td] - 0.2 * tdelta
  local tcol = U.color(ax.tick.color, rc, "ticks", 1)
  local lc = ax.tick.labelcolor
  if lc == "inherit" or lc == nil then lc = ax.tick.color end
  local to = U.text_opts({ size = ax.tick.labelsize, color = lc }, rc, ppt, {}, "ticks")
  to.ha, to.va = "center", "top"
  for _, t in ipairs(ticks) do
    local pos = { e1[1], e1[2], e1[3] }
    pos[ai.i] = t.loc
    pos[td] = out_td
    local x1, y1 = proj1(M, pos[1], pos[2], pos[3])
    pos[td] = in_td
    local x2, y2 = proj1(M, pos[1], pos[2], pos[3])
    r:path(vec { x1, x2 }, vec { y1, y2 }, { xform = tr, stroke = { width = ax.tick.width * ppt, color = tcol } })
    local ld = {}
    for j = 1, 3 do ld[j] = (ax.tick.pad + 8) * dpp * deltas[j] end
    pos[td] = e1[td]
    local lp = move_from_center(pos, centers, ld, mask)
    local lx, ly = proj1(M, lp[1], lp[2], lp[3])
    r:text(t.label, tr.px(lx), tr.py(ly), to)
  end
end

---------------------------------------------------------------------------
-- drawing
---------------------------------------------------------------------------

local function draw_scatter(self, r, a, M, tr, ppt, proj)
  local vx, vy, vz = proj[1], proj[2], proj[3]
  local order = C.depth_order(vz)
  local face = a.colors.many or a.colors.one
  if a.depthshade and a.alpha == nil and a.x:size(1) > 0 then
    local n = a.x:size(1)
    local rgba = a.colors.many and a.colors.many:clone() or T.new({ a.colors.one }, "float64"):expand(n, 4):contiguous()
    C.depth_shade(vz, rgba)
    face = rgba
  end
  local size = U.is_tensor(a.sizes) and (a.sizes:sqrt() * ppt):contiguous() or math.sqrt(a.sizes) * ppt
  local o = { xform = tr, marker = a.marker, size = size, edge_width = a.lw * ppt, order = order }
  if a.filled then
    o.face = face
    if a.edge == "face" then o.edge = face elseif a.edge ~= "none" then o.edge = a.edge end
  else
    o.edge = face
  end
  r:markers(vx, vy, o)
end

local function draw_lines3d(self, r, a, M, tr, ppt, proj)
  local rows = {}
  local len = 0
  for _, s in ipairs(a.segs) do len = math.max(len, s[1]:numel()) end
  for i in ipairs(a.segs) do
    local vx, vy = proj[i][1], proj[i][2]
    local px, py = (vx * tr.sx + tr.ox), (vy * tr.sy + tr.oy)
    local pts = T.stack({ px, py }, 2)
    if pts:size(1) < len then
      pts = T.cat({ pts, T.full({ len - pts:size(1), 2 }, 0 / 0, "float64") }, 1)
    end
    rows[i] = pts
  end
  if #rows == 0 then return end
  r:polylines(T.stack(rows, 1):contiguous(), { color = a.color, width = a.lw * ppt, cap = "projecting" })
end

-- Projects a collection once: {vx, vy, vz} (scatter) or one per segment;
-- returns it and the smallest depth (matplotlib sorts collections by it).
local function project_collection(a, M)
  local function mn(t)
    if t:numel() == 0 then return 0 / 0 end
    local m = t:min()
    return type(m) == "number" and m or m:item()
  end
  if a.kind == "scatter" then
    local p = { C.project(M, a.x, a.y, a.z) }
    return p, mn(p[3])
  end
  local list, m = {}, 1e9
  for i, s in ipairs(a.segs) do
    list[i] = { C.project(M, s[1]:contiguous(), s[2]:contiguous(), s[3]:contiguous()) }
    local v = mn(list[i][3])
    if v < m then m = v end
  end
  return list, m
end

-- ax:draw(renderer, ctx)
-- Draws panes, grid, axes, artists (depth sorted), legend and titles (the
-- figure calls it when saving).
function A3:draw(r, ctx)
  local ppt, rc, box = ctx.ppt, self.rc, self.box
  local M, l = self:matrix()
  local tr = view_transform(box)
  self.tr = tr
  r:extent(box[1], box[2], box[3], box[4])
  r:rects(vec { box[1] }, vec { box[2] }, vec { box[3] }, vec { box[4] },
    { fill = U.color(self.facecolor, rc, "axes", 1), snap = true })
  if self.axison then
    local info = { coord_info(M, l) }
    draw_panes(self, r, tr, M, info, ppt)
    for k = 1, 3 do draw_axis(self, r, k, tr, M, info, l, box, ppt) end
  end
  -- lines (zorder 2) and texts (3) first, then collections sorted far to near
  local items, colls = {}, {}
  for _, a in ipairs(self.artists) do
    if a.collection then
      if r.measuring then goto continue end
      local p, d = project_collection(a, M)
      colls[#colls + 1] = { a = a, d = d, p = p }
    else items[#items + 1] = { a = a, z = a.zorder } end
    ::continue::
  end
  U.stable_sort(items, function(it) return it.z end)
  U.stable_sort(colls, function(it) return -(it.d == it.d and it.d or -math.huge) end)
  r:clip(box[1], box[2], box[3] - box[1], box[4] - box[2])
  for _, it in ipairs(items) do
    local a = it.a
    if a.kind == "line" then
      local vx, vy = C.project(M, a.x, a.y, a.z)
      local dash = U.dashes(a.ls, a.lw, ppt, "plot", 1)
      if dash ~= "none" then
        r:path(vx, vy, { xform = tr, stroke = { width = a.lw * ppt, color = a.color, dash = dash or nil,
                                                cap = dash and "butt" or a.cap, join = "round" } })
      end
    elseif a.kind == "text3d" then
      r:clip()
      local x, y = proj1(M, a.x, a.y, a.z)
      Render.text_at(self, r, a, tr.px(x), tr.py(y), ppt)
      r:clip(box[1], box[2], box[3] - box[1], box[4] - box[2])
    end
  end
  for _, it in ipairs(colls) do
    if it.a.kind == "scatter" then draw_scatter(self, r, it.a, M, tr, ppt, it.p)
    else draw_lines3d(self, r, it.a, M, tr, ppt, it.p) end
  end
  r:clip()
  if self.legend_opts then self:draw_legend(r, ctx, tr, box, M) end
  Render.draw_titles(self, r, box, ppt)
end

-- ax:draw_legend(renderer, ctx, tr, box, M)
-- Legends in 3-D axes: entries as in 2-D, placed "upper right" unless given.
function A3:draw_legend(r, ctx, tr, box, M)
  local L = require "lunette.plot_legend"
  local shadow = { artists = {}, rc = self.rc, facecolor = self.facecolor, legend_opts = self.legend_opts, MARKERS = Axes.MARKERS }
  for _, a in ipairs(self.artists) do
    if a.kind == "scatter" then
      local vx, vy = C.project(M, a.x, a.y, a.z)
      local b = {}
      for k, v in pairs(a) do b[k] = v end
      b.x, b.y = vx, vy
      shadow.artists[#shadow.artists + 1] = b
    elseif a.label then
      shadow.artists[#shadow.artists + 1] = a
    end
  end
  L.draw(shadow, r, ctx, tr, box)
end

return A3
