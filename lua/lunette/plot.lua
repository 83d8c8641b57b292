-- lunette.plot: publication figures drawn with Cairo, matplotlib-compatible
-- in look and numbers (ticks, colormaps, layout), written to PNG, PDF or SVG.
--
--   local plot = require "lunette.plot"
--   local fig, axes = plot.subplots(2, 3, {size = {18, 12}, style = "seaborn"})
--   axes[1][1]:scatter(x, y, {c = "lightgray", s = 1, alpha = 0.3, label = "Discarded"})
--   axes[1][1]:legend()
--   fig:save("out.png", {dpi = 300, bbox = "tight"})
--
-- Figures: plot.figure{size=, dpi=, style=, facecolor=, layout="tight"|"none"},
--   plot.subplots(r, c, opts), fig:subplot(r, c, i | gs:cell(rows, cols), {projection="3d"}),
--   fig:gridspec(r, c, {hspace=, wspace=}), fig:suptitle, fig:text, fig:colorbar(artist),
--   fig:tight_layout{rect=}, fig:subplots_adjust{...}, fig:save(path, {dpi=, bbox="tight", pad=}),
--   fig:encode("png"|"svg"), fig:show() (inline in a notebook or terminal), plot.show(), plot.gcf().
-- 2-D axes: scatter, plot, bar, barh, bar_label, hist, boxplot, imshow, text, axhline,
--   axvline, fill_between, legend, title, xlabel, ylabel, xlim, ylim, xscale, yscale,
--   xticks, yticks, grid, axis("off"), spines{...}, tick_params{...}, set{...}.
-- 3-D axes: scatter, plot, plot_wireframe, sphere, text, view_init, set_proj_type,
--   panes{fill=, edgecolor=}, xlabel/ylabel/zlabel, xlim/ylim/zlim, tick_params, title.
-- Fields and densities (2-D axes, lunette.plot_fields): violinplot, contour, contourf, clabel,
--   hexbin, heatmap; fig:colorbar takes each of them.
-- Colour: plot.color, plot.cmap(name)(values), plot.palette("husl", n), plot.set_palette,
--   plot.style("default" | "seaborn" | "dark"), plot.rc{...}; helpers plot.montage, plot.image_grid,
--   plot.scatter/plot/hist/bar/imshow (one-line quick looks), plot.read_png.
-- Integer positions are data values (category bars sit at 0, 1, 2 as in matplotlib);
-- colormap lookups by integer are 1-based.
--
-- Non-finite coordinates are skipped (not drawn, not counted in limits).
-- A save to an unwritable path returns nil and a message; bad arguments
-- raise "bad argument #n to 'fn' (...)".
local T = require "lunette.tensor"
local C = require "lunette._plot"
local S = require "lunette.plot_style"
local U = require "lunette.plot_util"
local LIO = require "lunette.io"
local Figure = require "lunette.plot_figure"
local Axes = require "lunette.plot_axes"
local check = require("lunette.options").check
local A3 = require "lunette.plot_axes3d"

local plot = {}

plot.Figure = Figure
plot.Axes = Axes
plot.Axes3D = A3

-- plot.figure{size = {w, h}, dpi =, facecolor =, style =, layout =}
function plot.figure(o) return Figure.new(o) end

-- plot.subplots(nrows, ncols, {...the options of plot.figure and of fig:subplots: size, figsize,
--                dpi, facecolor, style, rc, layout, projection, squeeze, gridspec, elev,
--                azim, ...})
-- -> fig, axes (one axes, a list, or a grid axes[row][col] as matplotlib squeezes);
-- at most 1000 rows and 1000 columns, 10000 axes in all. Unknown options raise.
function plot.subplots(nrows, ncols, o)
  if type(nrows) == "table" then nrows, ncols, o = 1, 1, nrows end
  o = o or {}
  local all = Axes._keys(Figure.FIGURE_KEYS, Figure.SUBPLOTS_KEYS)
  require("lunette.options").check("subplots", 3, o, all)
  local fig = Figure.new(o, all)
  return fig, fig:subplots(nrows or 1, ncols or 1, o, all)
end

-- plot.gcf() -> Figure | nil
-- The current figure: the one made last by plot.figure, plot.subplots, a quick look
-- (plot.scatter, ...) or a helper such as plot.montage.
function plot.gcf() return Figure.current end

-- plot.show([fig][, {dpi=, protocol=}])
-- Shows fig, else the current figure (plot.gcf), as fig:show does: inline in a notebook or a
-- terminal that draws images, else as a temporary PNG whose path is printed.
function plot.show(fig, o)
  if getmetatable(fig) ~= Figure then fig, o = nil, fig end
  fig = fig or Figure.current
  if not fig then
    U.fail("show", 1, "no figure to show: make one with plot.figure or plot.subplots")
  end
  fig:show(o)
end

-- The style new figures use: plot.style("seaborn" | "dark" | "default"[, {rc overrides}])
function plot.style(name, overrides)
  if name == nil then return S.current_name() end
  local ok, err = pcall(S.use, name, overrides)
  if not ok then U.fail("style", 1, tostring(err):gsub("^.-:%d+: ", "")) end
  return plot
end

-- Sets rc parameters of the current style: plot.rc{["font.size"] = 12}
function plot.rc(kv)
  local ok, err = pcall(S.set, kv)
  if not ok then U.fail("rc", 1, tostring(err):gsub("^.-:%d+: ", "")) end
end

-- One colour as {r, g, b, a}: plot.color("dodgerblue"), plot.color("#ff6b6b", 0.5)
function plot.color(spec, alpha)
  return U.color(spec, S.current(), "color", 1, alpha)
end

---------------------------------------------------------------------------
-- colormaps and palettes
---------------------------------------------------------------------------

local Cmap = {}
Cmap.__index = Cmap

-- cm(values[, {vmin = 0, vmax = 1, alpha = 1}]): a tensor/table of floats in [0, 1]
-- (or normalised by vmin/vmax) -> [n x 4] float64 RGBA; integer tensors and
-- Lua integers pick colours by 1-based index; a single number gives {r, g, b, a}.
function Cmap:__call(v, o)
  o = o or {}
  check("cmap", 2, o, { "vmin", "vmax", "alpha" })
  local single = type(v) == "number"
  local t
  if single then
    if math.type(v) == "integer" then t = T.new({ v }, "int64") else t = T.new({ v }, "float64") end
  elseif U.is_tensor(v) then
    t = v
  elseif type(v) == "table" then
    t = T.new(v)
  else
    U.fail("cmap", 1, "values must be a number, a table or a tensor, got " .. type(v))
  end
  local out
  local dt = t:dtype()
  if dt == "int64" or dt == "int32" or dt == "uint8" then
    out = C.cmap_index(self.name, t:to("int64", true):reshape(t:numel()), o.alpha or 1)
  else
    local f = t:to("float64", true):reshape(t:numel())
    out = C.cmap_map(self.name, f, o.vmin or 0, o.vmax or 1, o.alpha or 1)
  end
  if single then return out[1]:totable() end
  return out
end

-- The colormap's table of N colours as an [N x 3] float64 tensor.
function Cmap:colors() return C.cmap_lut(self.name) end

-- plot.cmap("viridis") -> colormap (callable); unknown names list close matches.
function plot.cmap(name)
  if type(name) ~= "string" then U.fail("cmap", 1, "colormap name expected, got " .. type(name)) end
  local n, listed = C.cmap_info(name)
  if not n then
    U.fail("cmap", 1, ("unknown colormap '%s'%s"):format(name, listed ~= "" and ("; did you mean " .. listed .. "?") or ""))
  end
  return setmetatable({ name = name, N = n, listed = listed }, Cmap)
end

-- colormaps() -> array of the colormap names plot.cmap knows.
function plot.colormaps() return C.cmap_names() end

-- plot.palette("husl", 6 [, {h = 0.01, s = 0.9, l = 0.65}]) (seaborn.husl_palette),
-- plot.palette("tab10"), plot.palette("viridis", 5): a list of {r, g, b, a} colours.
function plot.palette(name, n, o)
  o = o or {}
  check("palette", 3, o, { "h", "s", "l" })
  local rows
  if name == "husl" or name == "hls" then
    n = n or 6
    if math.type(n) ~= "integer" or n < 1 then U.fail("palette", 2, "number of colours must be a positive integer") end
    rows = C.husl(n, o.h or 0.01, o.s or 0.9, o.l or 0.65):totable()
  else
    local cm = plot.cmap(name)
    if cm.listed and (n == nil or n <= cm.N) then
      rows = C.cmap_lut(name):totable()
      n = n or cm.N
      while #rows > n do table.remove(rows) end
    else
      n = n or 6
      rows = cm(T.linspace(0, 1, n + 2):narrow(1, 2, n)):totable()
    end
  end
  for _, r in ipairs(rows) do r[4] = r[4] or 1 end
  return rows
end

-- Makes a palette the colour cycle of the current style: plot.set_palette("husl")
function plot.set_palette(name, n)
  local rows = type(name) == "table" and name or plot.palette(name, n)
  local cyc = {}
  for i, r in ipairs(rows) do cyc[i] = U.is_colorlike(r) and r or plot.color(r) end
  S.set { ["axes.prop_cycle"] = cyc }
end

---------------------------------------------------------------------------
-- quick looks: plot.scatter(x, y, {...}):save("a.png")
---------------------------------------------------------------------------

local AXES_KEYS = { title = true, xlabel = true, ylabel = true, xlim = true, ylim = true, xscale = true,
                    yscale = true }

local function quick(method, nargs)
  return function(...)
    local args = table.pack(...)
    local o = args[nargs + 1] or {}
    local fig_o = { size = o.figsize or o.size_inches, dpi = o.dpi, style = o.style }
    local a_o, set_o = {}, {}
    for k, v in pairs(o) do
      if AXES_KEYS[k] then set_o[k] = v
      elseif k ~= "figsize" and k ~= "size_inches" and k ~= "dpi" and k ~= "style" and k ~= "legend" and k ~= "grid" then a_o[k] = v end
    end
    local fig = Figure.new(fig_o)
    local ax = fig:subplot(1, 1, 1)
    args[nargs + 1] = a_o
    ax[method](ax, table.unpack(args, 1, nargs + 1))
    ax:set(set_o)
    if o.legend then ax:legend() end
    if o.grid then ax:grid(true, type(o.grid) == "table" and o.grid or nil) end
    return fig, ax
  end
end
-- scatter(x, y [, opts]) -> fig, ax
-- A one-axes figure with ax:scatter(x, y, opts); opts may also hold title,
-- xlabel, ylabel, xlim, ylim, xscale, yscale, figsize, dpi, style, legend
-- and grid. plot.scatter(x, y):save("a.png").
plot.scatter = quick("scatter", 2)
-- hist(x [, opts]) -> fig, ax: a one-axes figure with ax:hist(x, opts) (options as scatter).
plot.hist = quick("hist", 1)
-- bar(x, height [, opts]) -> fig, ax: a one-axes figure with ax:bar (options as scatter).
plot.bar = quick("bar", 2)
-- imshow(img [, opts]) -> fig, ax: a one-axes figure with ax:imshow (options as scatter).
plot.imshow = quick("imshow", 1)
-- plot([x,] y [, opts]) -> fig, ax
-- A one-axes figure with ax:plot(x, y, opts), x defaulting to 0, 1, 2, ...
-- (options as scatter).
function plot.plot(x, y, o)
  if type(y) == "table" and not U.is_tensor(y) and type(y[1]) ~= "number" then x, y, o = nil, x, y end
  if y == nil then x, y = nil, x end
  local fig, ax = quick("plot", 2)(x or T.arange(0, (U.vec(y, "plot", 1)):size(1), 1, "float64"), y, o)
  return fig, ax
end

---------------------------------------------------------------------------
-- image montage
---------------------------------------------------------------------------

-- The images of a [n x h x w] / [n x c x h x w] tensor or a list, as a list.
local function image_list(images, fname)
  local list = {}
  if U.is_tensor(images) then
    local d = images:dim()
    if d ~= 3 and d ~= 4 then U.fail(fname, 1, "images must be [n x h x w] or [n x c x h x w]") end
    for i = 1, images:size(1) do list[i] = images[i] end
  elseif type(images) == "table" then
    list = images
  else
    U.fail(fname, 1, "tensor or list of images expected, got " .. type(images))
  end
  if #list == 0 then U.fail(fname, 1, "no images") end
  for i, img in ipairs(list) do
    if not U.is_tensor(img) or img:dim() < 2 or img:dim() > 3 then
      U.fail(fname, 1, ("image %d must be a [h x w], [c x h x w] or [h x w x c] tensor"):format(i))
    end
  end
  return list
end

-- One image as float64 [h x w] or [h x w x c]: channels moved last, a single
-- channel dropped, x * std + mean undone per channel, colour values clipped to [0, 1].
local function as_image(img, mean, std)
  img = img:to("float64", true)
  if img:dim() == 3 and img:size(1) <= 4 and img:size(3) > 4 then img = img:permute(2, 3, 1):contiguous() end
  if img:dim() == 3 and img:size(3) == 1 then img = img:select(3, 1):contiguous() end
  if mean or std then
    local c = img:dim() == 3 and img:size(3) or 1
    local m = T.new(type(mean) == "table" and mean or { mean or 0 }, "float64")
    local s = T.new(type(std) == "table" and std or { std or 1 }, "float64")
    if m:numel() ~= c and m:numel() ~= 1 or s:numel() ~= c and s:numel() ~= 1 then
      error(("bad argument #2 (mean and std need 1 or %d values for %d-channel images)"):format(c, c), 3)
    end
    if c > 1 then m, s = m:reshape(1, 1, m:numel()), s:reshape(1, 1, s:numel()) end
    img = img * s + m
  end
  if img:dim() == 3 or mean or std then img = img:clamp(0, 1) end
  return img
end

-- plot.montage(images, {ncols = min(6, n), titles =, labels =, mean =, std =,
--                size = {2 ncols, 2 nrows}, dpi = 100, style = current, suptitle =,
--                suptitle_size = 16, fontsize = 8,
--                cmap = "gray", interpolation = "nearest", vmin = 0, vmax = 1}) -> fig
-- images: [n x c x h x w] or [n x h x w] tensor (c = 1 or 3), or a list of
-- images; mean/std (per channel) undo a normalisation, values are clipped to
-- [0, 1]. titles: one string per image, or a format applied to each of labels
-- (a tensor or table, one per image): {titles = "Class %d", labels = y - 1}.
function plot.montage(images, o)
  o = o or {}
  check("montage", 2, o, { "ncols", "titles", "labels", "mean", "std", "size", "dpi", "style",
                           "suptitle", "suptitle_size", "fontsize", "cmap", "interpolation",
                           "vmin", "vmax" })
  local list = image_list(images, "montage")
  local n = #list
  local labels = U.is_tensor(o.labels) and o.labels:totable() or o.labels
  if type(o.titles) == "string" and (type(labels) ~= "table" or #labels < n) then
    U.fail("montage", 2, "a titles format needs labels, one per image")
  end
  local ncols = o.ncols or math.min(6, n)
  local nrows = (n + ncols - 1) // ncols
  local fig = Figure.new { size = o.size or { 2 * ncols, 2 * nrows + (o.suptitle and 0.5 or 0) }, dpi = o.dpi, style = o.style }
  local mean, std = o.mean, o.std
  for i = 1, nrows * ncols do
    local ax = fig:subplot(nrows, ncols, i)
    ax:axis("off")
    local img = list[i]
    if img then
      img = as_image(img, mean, std)
      local opts = { cmap = o.cmap or "gray", interpolation = o.interpolation or "nearest" }
      if img:dim() == 2 and (mean or std or o.vmin) then opts.vmin, opts.vmax = o.vmin or 0, o.vmax or 1 end
      ax:imshow(img, opts)
      local t = o.titles
      if type(t) == "string" then t = t:format(labels[i]) elseif t then t = t[i] end
      if t then ax:title(tostring(t), { fontsize = o.fontsize or 8 }) end
    end
  end
  if o.suptitle then fig:suptitle(o.suptitle, { fontsize = o.suptitle_size or 16 }) end
  return fig
end

-- image_grid(images [, {ncols = 8, mean =, std =, pad = 0, padvalue = 1}]) -> image
-- Tiles images of one size into a single float64 image, row by row (ncols per
-- row, the last row filled with padvalue), like numpy.concatenate of rows or
-- torchvision's make_grid: [H x W] for grayscale, [H x W x c] for colour, ready
-- for ax:imshow. images as plot.montage takes them ([n x c x h x w], [n x h x w]
-- or a list); mean/std undo a normalisation per channel and values are clipped
-- to [0, 1] then; pad pixels of padvalue go between tiles.
function plot.image_grid(images, o)
  o = o or {}
  if type(o) ~= "table" then U.fail("image_grid", 2, "options table expected, got " .. type(o)) end
  check("image_grid", 2, o, { "ncols", "mean", "std", "pad", "padvalue" })
  local list = image_list(images, "image_grid")
  local ncols, pad, fill = o.ncols or math.min(8, #list), o.pad or 0, o.padvalue or 1
  if math.type(ncols) ~= "integer" or ncols < 1 then U.fail("image_grid", 2, "ncols must be a positive integer") end
  if math.type(pad) ~= "integer" or pad < 0 then U.fail("image_grid", 2, "pad must be a non-negative integer") end
  local tiles = {}
  for i, img in ipairs(list) do
    tiles[i] = as_image(img, o.mean, o.std)
    if tiles[i]:dim() ~= tiles[1]:dim() or tiles[i]:size(1) ~= tiles[1]:size(1) or tiles[i]:size(2) ~= tiles[1]:size(2)
      or tiles[i]:dim() == 3 and tiles[i]:size(3) ~= tiles[1]:size(3) then
      U.fail("image_grid", 1, ("image %d is [%s], image 1 is [%s]"):format(i, table.concat(tiles[i]:size(), "x"),
        table.concat(tiles[1]:size(), "x")))
    end
  end
  local h, w = tiles[1]:size(1), tiles[1]:size(2)
  local nrows = (#tiles + ncols - 1) // ncols
  local shape = { nrows * h + (nrows - 1) * pad, ncols * w + (ncols - 1) * pad }
  if tiles[1]:dim() == 3 then shape[3] = tiles[1]:size(3) end
  local out = T.full(shape, fill, "float64")
  for i, t in ipairs(tiles) do
    local r, c = (i - 1) // ncols, (i - 1) % ncols
    out:narrow(1, r * (h + pad) + 1, h):narrow(2, c * (w + pad) + 1, w):copy_(t)
  end
  return out
end

-- read_png(path) -> Tensor [h x w x 4] | nil, message
-- Reads a PNG into a uint8 tensor (straight RGBA), e.g. to compare figures.
-- io.read_png decodes it; gray is copied to R, G and B, a missing alpha is
-- 255 and 16-bit samples keep their high byte.
function plot.read_png(path)
  local img, err = LIO.read_png(path)
  if not img then return nil, err end
  if img:dtype() == "int32" then img = img:floor_divide(256):to("uint8") end
  if img:dim() == 2 then img = img:unsqueeze(3) end
  local h, w, c = img:size(1), img:size(2), img:size(3)
  if c == 4 then return img end
  local rgb = c <= 2 and img:narrow(3, 1, 1):expand(h, w, 3) or img:narrow(3, 1, 3)
  local alpha = c == 2 and img:narrow(3, 2, 1) or T.full({ h, w, 1 }, 255, "uint8")
  return T.cat({ rgb, alpha }, 3)
end
-- sphere_mesh([radius [, n_phi [, n_theta]]]) -> X, Y, Z: Axes3D.sphere_mesh.
plot.sphere_mesh = A3.sphere_mesh

local SUPERSCRIPT = { ["0"] = "⁰", ["1"] = "¹", ["2"] = "²", ["3"] = "³", ["4"] = "⁴", ["5"] = "⁵", ["6"] = "⁶",
                      ["7"] = "⁷", ["8"] = "⁸", ["9"] = "⁹", ["-"] = "⁻", ["+"] = "⁺", ["="] = "⁼", ["("] = "⁽",
                      [")"] = "⁾", n = "ⁿ", i = "ⁱ" }

-- plot.superscript(s) -> s in Unicode superscript characters (digits, signs,
-- brackets, n and i; anything else is kept): titles such as "S" ..
-- plot.superscript(255) ("S²⁵⁵") or "10" .. plot.superscript(-3) without mathtext.
function plot.superscript(s)
  if type(s) ~= "string" and type(s) ~= "number" then U.fail("superscript", 1, "string or number expected, got " .. type(s)) end
  return (tostring(s):gsub("[%d%-%+=()ni]", SUPERSCRIPT))
end

return plot
