-- lunette.kernelspec: the Jupyter kernelspec of lunette (kernel.json and two logos drawn with
-- lunette.plot), written by `lunette --install-kernel [--user | --prefix P]` and by
-- `make install`.
local plot = require "lunette.plot"
local LIO = require "lunette.io"

local M = {}

M.NAME = "lunette"
M.DISPLAY_NAME = "Lunette (Lua 5.4)"

-- A JSON string literal of s (the kernelspec holds paths and names only).
local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local named = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\t"] = "\\t" }
    return named[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

-- kernelspec.json(binary) -> text
-- kernel.json for the lunette executable at `binary` (an absolute path): argv runs
-- `binary --kernel {connection_file}`, language "lua".
function M.json(binary)
  return table.concat({
    "{",
    ('  "argv": [%s, "--kernel", "{connection_file}"],'):format(json_string(binary)),
    ('  "display_name": %s,'):format(json_string(M.DISPLAY_NAME)),
    '  "language": "lua"',
    "}",
    "",
  }, "\n")
end

-- The crescent of the logo, as two fills: the unit disc less a disc of radius r centred at
-- (cx, cy), split into the part below and the part above the inner disc.
local function crescent(ax)
  local cx, cy, r = 0.42, 0.30, 0.80
  local xs = {}
  for i = 0, 400 do xs[#xs + 1] = -1 + 2 * i / 400 end
  xs[#xs + 1] = cx - r -- where the inner disc begins: the two parts meet in one point there
  table.sort(xs)
  local lo, hi, lo2, hi2 = {}, {}, {}, {}
  for i, x in ipairs(xs) do
    local h = math.sqrt(math.max(0, 1 - x * x))
    local d = r * r - (x - cx) ^ 2
    lo[i], hi[i], lo2[i], hi2[i] = -h, h, -h, h -- left of the inner disc: both fill it all,
    if d > 0 then                                -- so no seam shows where they overlap
      local s = math.sqrt(d)
      hi[i] = math.max(-h, math.min(h, cy - s))
      lo2[i] = math.min(h, math.max(-h, cy + s))
    end
  end
  ax:fill_between(xs, lo, hi, { color = "#000080", linewidth = 0 })
  ax:fill_between(xs, lo2, hi2, { color = "#000080", linewidth = 0 })
end

-- kernelspec.logo(pixels) -> PNG bytes
-- The logo, a navy crescent ("lunette": a little moon) with the small moon of Lua's logo,
-- pixels x pixels on a transparent background.
function M.logo(pixels)
  local fig = plot.figure { size = { 1, 1 }, dpi = pixels, layout = "none" }
  fig:subplots_adjust { left = 0, right = 1, bottom = 0, top = 1 }
  local ax = fig:subplot(1, 1, 1)
  ax:axis("off")
  ax:xlim(-1.05, 1.05)
  ax:ylim(-1.05, 1.05)
  crescent(ax)
  ax:scatter({ 0.62 }, { 0.48 }, { s = (0.26 * 72) ^ 2, color = "#4169e1", linewidths = 0 })
  return fig:encode("png", { facecolor = "none" })
end

local function write_file(path, bytes)
  local f, err = io.open(path, "wb")
  if not f then return nil, err end
  local ok, werr = f:write(bytes)
  local cok, cerr = f:close()
  if not ok or not cok then return nil, ("%s: %s"):format(path, werr or cerr) end
  return true
end

-- kernelspec.write(dir, binary) -> true | nil, message
-- Writes kernel.json (for the executable `binary`), logo-32x32.png and logo-64x64.png into
-- dir, creating it and its parents.
function M.write(dir, binary)
  local ok, err = LIO.makedirs(dir)
  if not ok then return nil, err end
  local files = { ["kernel.json"] = M.json(binary), ["logo-32x32.png"] = M.logo(32),
                  ["logo-64x64.png"] = M.logo(64) }
  for _, name in ipairs { "kernel.json", "logo-32x32.png", "logo-64x64.png" } do
    local wok, werr = write_file(dir .. "/" .. name, files[name])
    if not wok then return nil, werr end
  end
  return true
end

local function env(name)
  local v = os.getenv(name)
  if v ~= "" then return v end
end

-- Where --install-kernel writes: --user, --prefix P, else the system prefix /usr/local. The
-- user's folder is Jupyter's own choice (jupyter_core's jupyter_data_dir on Linux).
local function target(args)
  if #args == 0 then return "/usr/local/share/jupyter/kernels/" .. M.NAME end
  if args[1] == "--user" and #args == 1 then
    local data = env("JUPYTER_DATA_DIR")
    if not data then
      local xdg, home = env("XDG_DATA_HOME"), env("HOME")
      if not xdg and not home then return nil, "--user needs HOME" end
      data = (xdg or home .. "/.local/share") .. "/jupyter"
    end
    return data .. "/kernels/" .. M.NAME
  end
  if args[1] == "--prefix" and #args == 2 and args[2] ~= "" then
    return args[2] .. "/share/jupyter/kernels/" .. M.NAME
  end
  return nil, "usage: lunette --install-kernel [--user | --prefix PREFIX]"
end

-- kernelspec.install(args, binary) -> true | nil, message
-- `lunette --install-kernel` with its arguments in args: writes the kernelspec for binary
-- where Jupyter looks (see target above) and prints the directory.
function M.install(args, binary)
  local dir, err = target(args)
  if not dir then return nil, err end
  local ok, werr = M.write(dir, binary)
  if not ok then return nil, ("cannot install the kernelspec in %s: %s"):format(dir, werr) end
  io.stdout:write(("Installed the lunette kernelspec in %s\n"):format(dir))
  return true
end

return M
