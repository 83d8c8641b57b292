-- lunette.display: shows a value (a figure, a tensor) where the user is. Inside the Jupyter
-- kernel the kernel installs a handler that sends the value as display data; elsewhere
-- figures go to the terminal: drawn inline where it speaks the kitty graphics protocol,
-- iTerm2's inline images or sixel, else written to a temporary PNG whose path is printed
-- (and opened with xdg-open when DISPLAY or WAYLAND_DISPLAY is set).
--
-- The terminal is asked what it speaks at the first show only (never at start-up), and only
-- when stdin and stdout are both a terminal; output that is not a terminal (a pipe, a file)
-- never receives escape codes. LUNETTE_TERM_IMAGE=kitty|iterm|sixel|file picks the way
-- instead of asking.
local C = require "lunette._term"
local options = require "lunette.options"

local display = {}

-- display.handler: nil, or function(value, opts) -> true that shows `value` itself. The
-- Jupyter kernel sets it; scripts and the REPL leave it nil.
display.handler = nil

local PROTOCOLS = { kitty = true, iterm = true, sixel = true, file = true }
local SHOW_OPTIONS = { "dpi", "protocol" }

-- Terminals known by their environment, so no question is needed.
local function from_environment()
  local program, term = os.getenv("TERM_PROGRAM") or "", os.getenv("TERM") or ""
  if program == "iTerm.app" or program == "WezTerm" then return "iterm" end
  if os.getenv("KITTY_WINDOW_ID") or term == "xterm-kitty" or term == "xterm-ghostty" then
    return "kitty"
  end
end

-- The kitty graphics query (a 1x1 image that is only checked, never stored: a=q) followed by
-- a primary device-attributes query (DA1) that every terminal answers: its final 'c' ends the
-- read, and a kitty answer, if any, comes before it.
local QUERY = "\27_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\27\\\27[c"
local QUERY_TIMEOUT_MS = 300

-- The protocol an answer to QUERY announces: kitty's OK, else sixel when DA1 lists
-- attribute 4, else file.
local function from_answer(answer)
  if answer:find("\27_Gi=31;OK", 1, true) then return "kitty" end
  local attrs = answer:match("\27%[%?([%d;]*)c")
  for a in (attrs or ""):gmatch("%d+") do
    if a == "4" then return "sixel" end
  end
  return "file"
end

local detected -- the protocol found at the first show, kept for the process

-- display.protocol() -> "kitty" | "iterm" | "sixel" | "file"
-- How the next figure would be shown in this terminal: LUNETTE_TERM_IMAGE when set, else
-- what the environment says (TERM_PROGRAM, KITTY_WINDOW_ID, TERM), else the terminal's answer
-- to a graphics and device-attributes query (waits at most 0.3 s, once per process); "file"
-- whenever stdout is not a terminal.
function display.protocol()
  if not C.isatty(1) then return "file" end
  if detected then return detected end
  local forced = os.getenv("LUNETTE_TERM_IMAGE")
  if forced and forced ~= "" then
    detected = PROTOCOLS[forced] and forced or "file"
    return detected
  end
  detected = from_environment()
  if detected then return detected end
  -- A dumb or unnamed terminal, or the Linux console (no APC), is not asked: it would print
  -- the query.
  local term = os.getenv("TERM") or ""
  local answer
  if term ~= "" and term ~= "dumb" and term ~= "linux" and C.isatty(0) then
    io.stdout:flush() -- what the script printed goes before the query
    answer = C.query(QUERY, "c", QUERY_TIMEOUT_MS)
  end
  detected = answer and from_answer(answer) or "file"
  return detected
end

-- kitty's graphics protocol: PNG (f=100) transmitted and shown at the cursor (a=T), quietly
-- (q=2: no answer comes back into stdin), in chunks of at most 4096 base64 bytes.
local function kitty_bytes(png)
  local b64, out = C.base64(png), {}
  local n = #b64
  for i = 1, math.max(n, 1), 4096 do
    local more = i + 4096 <= n and 1 or 0
    local head = i == 1 and "a=T,f=100,q=2," or ""
    out[#out + 1] = ("\27_G%sm=%d;%s\27\\"):format(head, more, b64:sub(i, i + 4095))
  end
  return table.concat(out)
end

-- iTerm2's inline image: an OSC 1337 File sequence carrying the whole PNG.
local function iterm_bytes(png)
  return ("\27]1337;File=inline=1;size=%d;preserveAspectRatio=1:%s\7"):format(#png,
    C.base64(png))
end

-- A sixel sequence of the PNG's pixels, or nil and why (libsixel missing).
local function sixel_bytes(png)
  local image = require("lunette.io").read_bytes("png", png)
  return C.sixel(image)
end

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- Writes png to a new temporary file, prints its path and opens it on a desktop.
local function show_file(png, why)
  local dir = os.getenv("TMPDIR")
  if not dir or dir == "" then dir = "/tmp" end
  local path = assert(C.tmpfile(dir, "lunette-figure-", ".png"))
  local f = assert(io.open(path, "wb"))
  f:write(png)
  f:close()
  io.stdout:write(("figure: %s%s\n"):format(path, why and (" (" .. why .. ")") or ""))
  io.stdout:flush()
  local desktop = os.getenv("DISPLAY") or os.getenv("WAYLAND_DISPLAY")
  if desktop and desktop ~= "" then
    os.execute("xdg-open " .. quote(path) .. " >/dev/null 2>&1 &")
  end
  return path
end

-- display.show(value [, {dpi=, protocol=}]) -> true
-- Shows `value` through display.handler when one is installed, else in the terminal: a
-- figure is drawn inline (kitty, iTerm2 or sixel, see display.protocol; protocol= picks one)
-- or written to a temporary PNG whose path is printed. dpi defaults to the figure's.
function display.show(value, opts)
  if display.handler ~= nil then return display.handler(value, opts) end
  options.check("show", 2, opts, SHOW_OPTIONS)
  opts = opts or {}
  if type(value) ~= "table" or type(value.encode) ~= "function" then
    options.argerror("show", 1, "figure expected, got " .. type(value))
  end
  local protocol = opts.protocol or display.protocol()
  if not PROTOCOLS[protocol] then
    options.argerror("show", 2, ("protocol must be kitty, iterm, sixel or file, got %s")
      :format(tostring(protocol)))
  end
  if not C.isatty(1) then protocol = "file" end
  local png = value:encode("png", { dpi = opts.dpi })
  local bytes, why
  if protocol == "kitty" then bytes = kitty_bytes(png)
  elseif protocol == "iterm" then bytes = iterm_bytes(png)
  elseif protocol == "sixel" then bytes, why = sixel_bytes(png)
  end
  if not bytes then
    show_file(png, why)
    return true
  end
  io.stdout:write(bytes, "\n")
  io.stdout:flush()
  return true
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
