-- lunette.display: shows a value (a figure, a tensor) where the user is. Inside the Jupyter
-- kernel the kernel installs a handler that sends the value as display data; elsewhere
-- figures go to the terminal (inline images where the terminal speaks a graphics protocol, a
-- PNG file otherwise).
local display = {}

-- display.handler: nil, or function(value, opts) -> true that shows `value` itself. The
-- Jupyter kernel sets it; scripts and the REPL leave it nil.
display.handler = nil

-- display.show(value [, opts]) -> true
-- Shows `value` through display.handler when one is installed, else in the terminal.
function display.show(value, opts)
  if display.handler ~= nil then return display.handler(value, opts) end
  error("show: no display for this terminal yet", 2)
end

-- display.kernel: true inside the Jupyter kernel (progress bars then redraw in place with a
-- carriage return, which notebooks honour). The kernel's display.handler returns nothing, so
-- that a cell ending in show() has no value to print.
display.kernel = false

-- display.formats: the image formats a figure is sent in by default ({"png"}; add "svg" for
-- image/svg+xml as well). display.show(fig, {formats = {"svg"}}) overrides it per call.
display.formats = { "png" }

-- Largest tensor (elements) shown as an HTML table beside its text.
local HTML_MAX = 400

-- The bytes of fig drawn as fmt: fig:encode where it exists, else through a temporary file.
local function read_rendered(fig, fmt, dpi)
  if type(fig.encode) == "function" then return fig:encode(fmt, { dpi = dpi }) end
  local path = os.tmpname()
  local ok, err = fig:save(path, { format = fmt, dpi = dpi })
  local f = ok and io.open(path, "rb")
  local bytes = f and f:read("a")
  if f then f:close() end
  os.remove(path)
  if not bytes then error(err or ("show: cannot read the rendered " .. fmt), 0) end
  return bytes
end

local function html_escape(s)
  return (s:gsub("[&<>]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;" }))
end

local function format_number(x)
  if math.type(x) == "integer" then return tostring(x) end
  return ("%.6g"):format(x)
end

-- A 1-D or 2-D tensor as an HTML table (rows of a 1-D tensor: one).
local function tensor_html(t)
  local rows = t:dim() == 1 and { t:totable() } or t:totable()
  local out = { ("<table><caption>Tensor %s [%s]</caption>"):format(t:dtype(),
    table.concat(t:dim() == 1 and { t:size(1) } or { t:size(1), t:size(2) }, "x")) }
  for _, row in ipairs(rows) do
    out[#out + 1] = "<tr>"
    for _, x in ipairs(row) do
      out[#out + 1] = "<td>" .. html_escape(format_number(x)) .. "</td>"
    end
    out[#out + 1] = "</tr>"
  end
  out[#out + 1] = "</table>"
  return table.concat(out)
end

-- display.bundle(value [, {formats =, dpi =, protocol =}]) -> data, metadata | nil
-- The rich forms of a value, for the Jupyter kernel: a Figure as image/png (bytes, at its dpi,
-- with its pixel size in metadata so it is shown at its size) and image/svg+xml when asked;
-- a 1-D or 2-D tensor of at most 400 elements as text/html. nil for other values (the kernel
-- adds text/plain, the REPL's text, to every value). dpi defaults to the figure's; protocol
-- (the terminal's) is accepted and ignored, so one show call works in both places.
function display.bundle(value, opts)
  require("lunette.options").check("show", 2, opts, { "formats", "dpi", "protocol" })
  local Figure = package.loaded["lunette.plot_figure"]
  if Figure and getmetatable(value) == Figure then
    local data, meta = {}, {}
    local fmts = opts and opts.formats or display.formats
    local dpi = opts and opts.dpi or value.dpi
    for _, fmt in ipairs(fmts) do
      if fmt == "png" then
        data["image/png"] = read_rendered(value, "png", dpi)
        local w = math.floor(value.w * dpi + 0.5)
        meta["image/png"] = { width = w, height = math.floor(value.h * dpi + 0.5) }
      elseif fmt == "svg" then
        data["image/svg+xml"] = read_rendered(value, "svg", dpi)
      else
        error(("bad argument #2 to 'show' (unknown format '%s': png, svg)"):format(fmt), 3)
      end
    end
    data["text/plain"] = ("<Figure %gx%g in at %g dpi>"):format(value.w, value.h, dpi)
    return data, meta
  end
  local tensor = package.loaded["lunette.tensor"]
  if tensor and tensor.is_tensor(value) and (value:dim() == 1 or value:dim() == 2)
    and value:numel() <= HTML_MAX and value:numel() > 0 then
    return { ["text/html"] = tensor_html(value) }, {}
  end
  return nil
end

return display
