-- display_spec.lua: fig:encode, fig:show / plot.show in a terminal (kitty, iTerm2 and sixel
-- escape sequences decoded back, detection answered through build/ptyrun), the PNG-file
-- fallback, and no escape codes into a pipe. Children run with a fixed environment, so the
-- terminal the suite itself runs in does not matter.
local lt = require "lunette"
local plot = require "lunette.plot"
local display = require "lunette.display"

local BUILD = os.getenv("LUNETTE_BUILD") or "build"
local LUNETTE = BUILD .. "/lunette"
local PTYRUN = BUILD .. "/ptyrun"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function spit(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local temps = {}
local function tempname()
  local path = os.tmpname()
  temps[#temps + 1] = path
  return path
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function unbase64(s)
  assert(#s % 4 == 0, "base64 length is not a multiple of 4")
  local val = {}
  for i = 1, 64 do val[B64:sub(i, i)] = i - 1 end
  local out = {}
  for i = 1, #s, 4 do
    local chunk = s:sub(i, i + 3)
    local n, pad = 0, 0
    for j = 1, 4 do
      local c = chunk:sub(j, j)
      if c == "=" then pad = pad + 1 else assert(val[c], "bad base64 digit " .. c) end
      n = n * 64 + (val[c] or 0)
    end
    local bytes = string.char(n >> 16, (n >> 8) & 255, n & 255)
    out[#out + 1] = bytes:sub(1, 3 - pad)
  end
  return table.concat(out)
end

-- The child's script: a small figure, its PNG bytes written to `pngpath` (fig:encode), then
-- shown with `show`.
local function script(pngpath, show)
  return ([[
local plot = require "lunette.plot"
local fig, ax = plot.subplots({size = {4, 3}, dpi = 80})
ax:plot({1, 2, 3}, {1, 4, 9})
local f = assert(io.open(%q, "wb"))
f:write(fig:encode("png"))
f:close()
%s
]]):format(pngpath, show or "fig:show()")
end

-- The environment of every child: nothing of the suite's terminal leaks in.
local function env(extra)
  return "env -u TERM_PROGRAM -u KITTY_WINDOW_ID -u DISPLAY -u WAYLAND_DISPLAY -u TMUX " ..
    "-u LUNETTE_TERM_IMAGE TMPDIR=/tmp " .. (extra or "")
end

-- Runs the script with stdout and stdin on a pseudo-terminal (ptyrun); `steps` are ptyrun's
-- words (e.g. "-w '\\e[c' -s ..."). Returns what the terminal got (without \r), the PNG.
local function on_pty(extra_env, show, steps)
  local png, lua = tempname(), tempname()
  spit(lua, script(png, show))
  local cmd = ("%s %s -t 20 %s -- %s %s 2>&1"):format(env(extra_env), q(PTYRUN), steps or "",
    q(LUNETTE), q(lua))
  local p = io.popen(cmd)
  local out = p:read("a")
  local ok = p:close()
  assert(ok, "ptyrun failed: " .. out)
  return (out:gsub("\r", "")), slurp(png)
end

-- The same with stdout into a pipe (stdin from /dev/null).
local function piped(extra_env, show)
  local png, lua = tempname(), tempname()
  spit(lua, script(png, show))
  local p = io.popen(("%s %s %s </dev/null 2>&1"):format(env(extra_env), q(LUNETTE), q(lua)))
  local out = p:read("a")
  local ok = p:close()
  assert(ok, "lunette failed: " .. out)
  return out, slurp(png)
end

-- The kitty graphics commands in out: a list of {keys = "a=T,...", payload = "..."}.
local function kitty_commands(out)
  local cmds = {}
  for keys, payload in out:gmatch("\27_G([^;\27]*);([^\27]*)\27\\") do
    cmds[#cmds + 1] = { keys = keys, payload = payload }
  end
  return cmds
end

-- The path the file fallback printed (removed at teardown), or nil.
local function figure_path(out)
  local path = out:match("figure: (%S+%.png)")
  temps[#temps + 1] = path
  return path
end

local function png_size(bytes)
  local img = lt.io.read_bytes("png", bytes)
  return img:size(2), img:size(1)
end

describe("fig:encode", function()
  local fig, ax = plot.subplots({ size = { 3, 2 }, dpi = 50 })
  ax:scatter({ 1, 2, 3 }, { 3, 1, 2 })

  it("returns the PNG fig:save writes, at the figure's dpi or the one asked", function()
    local png = fig:encode("png")
    assert.are.equal("\137PNG\r\n\26\n", png:sub(1, 8))
    local w, h = png_size(png)
    assert.are.same({ 150, 100 }, { w, h })
    w, h = png_size(fig:encode("png", { dpi = 100 }))
    assert.are.same({ 300, 200 }, { w, h })
    local path = os.tmpname() .. ".png"
    assert.is_true(fig:save(path))
    assert.are.equal(slurp(path), png)
    os.remove(path)
    assert.are.equal(png, fig:encode("PNG"))
  end)

  it("returns SVG text", function()
    local svg = fig:encode("svg")
    assert.truthy(svg:find("<svg", 1, true))
    assert.truthy(svg:find("</svg>", 1, true))
  end)

  it("rejects a bad format or option naming encode", function()
    assert.has_error(function() fig:encode("gif") end,
      "bad argument #1 to 'encode' (format must be png, svg or pdf, got gif)")
    local ok, err = pcall(fig.encode, fig, "png", { dpl = 72 })
    assert.is_false(ok)
    assert.truthy(err:find("bad argument #2 to 'encode' (unknown option 'dpl'", 1, true), err)
    assert.has_error(function() fig:encode("png", { dpi = -1 }) end,
      "bad argument #2 to 'encode' (dpi must be a positive number)")
  end)
end)

describe("lunette._term", function()
  local C = require "lunette._term"

  it("base64 is RFC 4648's (its test vectors)", function()
    local want = { [""] = "", f = "Zg==", fo = "Zm8=", foo = "Zm9v", foob = "Zm9vYg==",
                   fooba = "Zm9vYmE=", foobar = "Zm9vYmFy" }
    for s, b in pairs(want) do assert.are.equal(b, C.base64(s)) end
    local all = {}
    for i = 0, 255 do all[#all + 1] = string.char(i) end
    all = table.concat(all):rep(3) .. "x"
    assert.are.equal(all, unbase64(C.base64(all)))
  end)

  it("sixel encodes RGB and RGBA images, any strides, and names its argument", function()
    local img = lt.zeros({ 3, 5, 4 }, "uint8")
    img[{ {}, {}, 1 }] = 255
    img[{ {}, {}, 4 }] = 255
    local s = assert(C.sixel(img))
    assert.truthy(s:find('^\27P[%d;]*q"1;1;5;3'), s)
    assert.truthy(s:find("#%d+;2;100;0;0") or s:find("#%d+;2;97;0;0"), s) -- red in percent
    assert.truthy(s:find("\27\\$"))
    s = assert(C.sixel(lt.zeros({ 2, 4, 3 }, "uint8"):transpose(1, 2)))
    assert.truthy(s:find('"1;1;2;4'), s)
    assert.has_error(function() C.sixel(lt.zeros(2, 2)) end,
      "bad argument #1 to 'sixel' (uint8 image [h x w x 3|4] expected)")
  end)
end)

describe("plot.show and the current figure", function()
  it("plot.gcf is the newest figure, from figure, subplots or a quick look", function()
    local a = plot.figure()
    assert.are.equal(a, plot.gcf())
    local b = plot.subplots(1, 2)
    assert.are.equal(b, plot.gcf())
    local c = plot.scatter({ 1 }, { 1 })
    assert.are.equal(c, plot.gcf())
  end)

  it("fig:show and plot.show go through display.handler when one is set", function()
    local seen = {}
    display.handler = function(v, o) seen[#seen + 1] = { v, o } return true end
    local fig = plot.figure()
    local ok, err = pcall(function()
      fig:show({ dpi = 30 })
      plot.show()
      plot.show(fig, { dpi = 20 })
    end)
    display.handler = nil
    assert(ok, err)
    assert.are.equal(3, #seen)
    assert.are.equal(fig, seen[1][1])
    assert.are.equal(30, seen[1][2].dpi)
    assert.are.equal(fig, seen[2][1])
    assert.are.equal(20, seen[3][2].dpi)
  end)

  it("plot.show without any figure says so; display.show checks its arguments", function()
    local p = io.popen(env() .. q(LUNETTE) .. " -e 'print(select(2, pcall(lunette.plot.show)))' 2>&1")
    local out = p:read("a")
    p:close()
    assert.truthy(out:find("bad argument #1 to 'show' (no figure to show", 1, true), out)
    assert.has_error(function() display.show(42) end,
      "bad argument #1 to 'show' (figure expected, got number)")
    local ok, err = pcall(plot.figure().show, plot.figure(), { dip = 3 })
    assert.is_false(ok)
    assert.truthy(err:find("bad argument #1 to 'show' (unknown option 'dip'", 1, true), err)
    assert.has_error(function() display.show(plot.figure(), { protocol = "gif" }) end,
      "bad argument #2 to 'show' (protocol must be kitty, iterm, sixel or file, got gif)")
  end)
end)

describe("fig:show in a terminal", function()
  it("kitty: a=T f=100 chunks of at most 4096 base64 bytes that decode to the PNG", function()
    local out, png = on_pty("TERM=xterm-256color LUNETTE_TERM_IMAGE=kitty")
    local cmds = kitty_commands(out)
    assert.is_true(#cmds >= 2, "a figure of a few KiB takes several chunks")
    assert.are.equal("a=T,f=100,q=2,m=1", cmds[1].keys)
    local parts = {}
    for i, c in ipairs(cmds) do
      assert.is_true(#c.payload <= 4096)
      if i > 1 then assert.are.equal(i < #cmds and "m=1" or "m=0", c.keys) end
      parts[#parts + 1] = c.payload
    end
    assert.are.equal(png, unbase64(table.concat(parts)))
    assert.are.equal(nil, figure_path(out))
  end)

  it("iTerm2: one OSC 1337 File sequence whose payload decodes to the PNG", function()
    local out, png = on_pty("TERM=xterm-256color LUNETTE_TERM_IMAGE=iterm")
    local args, payload = out:match("\27%]1337;File=([^:]*):([^\7]*)\7")
    assert.truthy(args, out:sub(1, 200))
    assert.truthy(args:find("inline=1", 1, true))
    assert.are.equal(tostring(#png), args:match("size=(%d+)"))
    assert.are.equal(png, unbase64(payload))
  end)

  it("sixel: a DCS sequence with the figure's size in its raster attributes", function()
    local out, png = on_pty("TERM=xterm-256color LUNETTE_TERM_IMAGE=sixel")
    local w, h = png_size(png)
    local body = out:match("\27P[%d;]*q(.-)\27\\")
    assert.truthy(body, out:sub(1, 200))
    assert.are.equal(('"1;1;%d;%d'):format(w, h), body:match('^"[%d;]+'))
    assert.truthy(body:find("#%d+;2;%d+;%d+;%d+"), "a palette")
  end)

  it("asks the terminal at the first show and follows its answer", function()
    local out = on_pty("TERM=xterm-256color", nil, "-w '\\e[c' -s '\\e_Gi=31;OK\\e\\\\\\e[?62;22c'")
    assert.truthy(out:find("\27_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\27\\\27[c", 1, true))
    assert.is_true(#kitty_commands(out) >= 3) -- the query, then the image's chunks
    out = on_pty("TERM=xterm-256color", nil, "-w '\\e[c' -s '\\e[?62;4;22c'")
    assert.truthy(out:find("\27P[%d;]*q\""))
    out = on_pty("TERM=xterm-256color", nil, "-w '\\e[c' -s '\\e[?62;22c'")
    assert.truthy(figure_path(out), out)
  end)

  it("a terminal that never answers gets the file after a short wait", function()
    local t0 = os.time()
    local out = on_pty("TERM=xterm-256color")
    assert.truthy(figure_path(out), out)
    assert.is_true(os.time() - t0 < 10)
  end)

  it("a dumb terminal or the Linux console is not asked", function()
    for _, term in ipairs { "dumb", "linux" } do
      local out = on_pty("TERM=" .. term)
      assert.are.equal(nil, out:find("\27", 1, true))
      assert.truthy(figure_path(out), out)
    end
  end)
end)

describe("fig:show into a pipe", function()
  it("writes no escape code, even when told kitty; the printed path is the PNG", function()
    for _, proto in ipairs { "kitty", "iterm", "sixel", "" } do
      local out, png = piped("TERM=xterm-256color LUNETTE_TERM_IMAGE=" .. proto)
      assert.are.equal(nil, out:find("\27", 1, true))
      local path = figure_path(out)
      assert.truthy(path, out)
      assert.truthy(path:find("^/tmp/lunette%-figure%-"))
      assert.are.equal(png, slurp(path))
      assert.are.same({ 320, 240 }, { png_size(slurp(path)) })
      os.remove(path)
    end
  end)

  it("plot.show() shows the current figure", function()
    local out, png = piped("", "plot.show()")
    local path = figure_path(out)
    assert.are.equal(png, slurp(path))
    os.remove(path)
  end)
end)

teardown(function()
  for _, p in ipairs(temps) do os.remove(p) end
end)
