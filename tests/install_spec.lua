-- install_spec.lua: `make install` / `make uninstall` into a clean staging prefix (DESTDIR), the
-- installed lunette.so under a stock lua5.4, `lunette --install-kernel`, the man page, and
-- `luarocks make` into a private tree.
local BUILD = os.getenv("LUNETTE_BUILD") or "build"
local LUNETTE = BUILD .. "/lunette"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- Runs a command line; returns its stdout and stderr together, and whether it succeeded.
local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  return out, ok == true
end

local dirs = {}
local function tempdir()
  local d = os.tmpname()
  os.remove(d)
  assert(run("mkdir -p " .. q(d)))
  dirs[#dirs + 1] = d
  return d
end

-- Every file under dir, relative to it, sorted.
local function files(dir)
  local out = run("cd " .. q(dir) .. " && find . -type f | sort")
  local list = {}
  for l in out:gmatch("[^\n]+") do list[#list + 1] = l:gsub("^%./", "") end
  return list
end

-- The environment that loads lunette.so into a plain lua5.4: a sanitized build needs the ASan
-- runtime first in the process.
local function lua_env(so)
  local asan = run("ldd " .. q(so)):match("(/%S*libasan%.so[%.%d]*)")
  if not asan then return "" end
  return ("env LD_PRELOAD=%s ASAN_OPTIONS=detect_leaks=0 "):format(q(asan))
end

-- A computation through `require "lunette"` in a stock lua5.4 that looks in cpath.
local LUA_CHECK = [[local lt = require "lunette"
local t = lt.tensor.arange(0, 10, 1, "float64")
io.write(("%g %s"):format(t:sum(), tostring(lt.plot.figure ~= nil)))]]

local function png_size(bytes)
  assert.are.equal("\137PNG\r\n\26\n", bytes:sub(1, 8))
  local function be32(i) return ("\62I4"):unpack(bytes, i) end
  return be32(17), be32(21), bytes:byte(26)
end

-- kernel.json's argv, display_name and language, read with the patterns its writer uses.
local function kernel_json(text)
  local argv = {}
  for s in text:match('"argv": %[(.-)%]'):gmatch('"(.-)"') do argv[#argv + 1] = s end
  return argv, text:match('"display_name": "(.-)"'), text:match('"language": "(.-)"')
end

local EXPECTED = {
  "usr/local/bin/lunette",
  "usr/local/lib/lua/5.4/lunette.so",
  "usr/local/share/doc/lunette/API.md",
  "usr/local/share/doc/lunette/README.md",
  "usr/local/share/jupyter/kernels/lunette/kernel.json",
  "usr/local/share/jupyter/kernels/lunette/logo-32x32.png",
  "usr/local/share/jupyter/kernels/lunette/logo-64x64.png",
  "usr/local/share/man/man1/lunette.1",
}
-- The CUDA backend goes beside lunette.so when it was built (nvcc found).
do
  local f = io.open((os.getenv("LUNETTE_BUILD") or "build") .. "/lunette_cuda.so")
  if f then
    f:close()
    table.insert(EXPECTED, 3, "usr/local/lib/lua/5.4/lunette_cuda.so")
  end
end

describe("make install", function()
  local dest = tempdir()

  it("installs the binary, lunette.so, kernelspec, man page and docs, and uninstalls them", function()
    local out, ok = run(("make --no-print-directory install BUILD=%s DESTDIR=%s PREFIX=/usr/local")
      :format(q(BUILD), q(dest)))
    assert(ok, out)
    assert.are.same(EXPECTED, files(dest))
    local root = dest .. "/usr/local"
    -- the installed module works in the stock interpreter, found through its cpath
    local so = root .. "/lib/lua/5.4/lunette.so"
    out, ok = run(("%sLUA_CPATH=%s lua5.4 -e %s"):format(lua_env(so), q(root .. "/lib/lua/5.4/?.so"),
      q(LUA_CHECK)))
    assert(ok, out)
    assert.are.equal("45 true", out)
    -- the installed executable runs
    out, ok = run(q(root .. "/bin/lunette") .. " -e 'io.write(lt.tensor.ones(3):sum())'")
    assert(ok, out)
    assert.are.equal("3", out)
    -- the kernelspec names the installed executable, not the staging copy
    local kdir = root .. "/share/jupyter/kernels/lunette/"
    local argv, name, lang = kernel_json(slurp(kdir .. "kernel.json"))
    assert.are.same({ "/usr/local/bin/lunette", "--kernel", "{connection_file}" }, argv)
    assert.are.equal("Lunette (Lua 5.4)", name)
    assert.are.equal("lua", lang)
    assert.are.same({ 64, 64, 6 }, { png_size(slurp(kdir .. "logo-64x64.png")) })
    assert.are.same({ 32, 32, 6 }, { png_size(slurp(kdir .. "logo-32x32.png")) })
    -- uninstall removes every file install wrote, and lunette's own folders
    out, ok = run(("make --no-print-directory uninstall DESTDIR=%s PREFIX=/usr/local"):format(q(dest)))
    assert(ok, out)
    assert.are.same({}, files(dest))
    assert.is_nil(io.open(kdir .. "."))
    assert.is_nil(io.open(root .. "/share/doc/lunette/."))
  end)

  it("the man page formats without warnings", function()
    local out, ok = run("LC_ALL=C MANWIDTH=80 man --warnings -l docs/lunette.1 2>/dev/null")
    assert(ok, out)
    assert.truthy(out:find("--install-kernel [--user | --prefix prefix]", 1, true), out)
    local warnings
    warnings, ok = run("LC_ALL=C MANWIDTH=80 man --warnings -l docs/lunette.1 >/dev/null")
    assert(ok, warnings)
    assert.are.equal("", warnings)
  end)
end)

describe("lunette --install-kernel", function()
  it("--prefix P writes P/share/jupyter/kernels/lunette for this executable", function()
    local p = tempdir()
    local out, ok = run(q(LUNETTE) .. " --install-kernel --prefix " .. q(p))
    assert(ok, out)
    local dir = p .. "/share/jupyter/kernels/lunette"
    assert.are.equal("Installed the lunette kernelspec in " .. dir .. "\n", out)
    assert.are.same({ "kernel.json", "logo-32x32.png", "logo-64x64.png" }, files(dir))
    local argv = kernel_json(slurp(dir .. "/kernel.json"))
    local exe = run("readlink -f " .. q(LUNETTE)):gsub("\n$", "")
    assert.are.same({ exe, "--kernel", "{connection_file}" }, argv)
    -- Jupyter's own reader accepts it (when Debian's jupyter_client is there)
    local py = ("import sys\ntry:\n  from jupyter_client.kernelspec import KernelSpecManager\n" ..
      "except ImportError:\n  print('skip'); sys.exit(0)\nm = KernelSpecManager()\n" ..
      "m.kernel_dirs = [%q]\ns = m.get_kernel_spec('lunette')\nprint(s.display_name, s.language)")
      :format(p .. "/share/jupyter/kernels")
    out, ok = run("/usr/bin/python3 -c " .. q(py))
    assert(ok, out)
    assert.truthy(out == "skip\n" or out == "Lunette (Lua 5.4) lua\n", out)
  end)

  it("--user writes under ~/.local/share/jupyter (or XDG_DATA_HOME, JUPYTER_DATA_DIR)", function()
    local home = tempdir()
    local clean = "env -u XDG_DATA_HOME -u JUPYTER_DATA_DIR HOME=" .. q(home) .. " "
    local out, ok = run(clean .. q(LUNETTE) .. " --install-kernel --user")
    assert(ok, out)
    local dir = home .. "/.local/share/jupyter/kernels/lunette"
    assert.are.equal("Installed the lunette kernelspec in " .. dir .. "\n", out)
    assert.truthy(slurp(dir .. "/kernel.json"))
    out, ok = run(clean .. "XDG_DATA_HOME=" .. q(home .. "/xdg") .. " " .. q(LUNETTE) ..
      " --install-kernel --user")
    assert(ok, out)
    assert.truthy(slurp(home .. "/xdg/jupyter/kernels/lunette/kernel.json"), out)
  end)

  it("refuses bad arguments and unwritable folders with one line and status 1", function()
    local out, ok = run(q(LUNETTE) .. " --install-kernel --usr")
    assert.is_false(ok)
    assert.are.equal("lunette: usage: lunette --install-kernel [--user | --prefix PREFIX]\n", out)
    out, ok = run(q(LUNETTE) .. " --install-kernel --prefix /proc/none")
    assert.is_false(ok)
    assert.truthy(out:find("^lunette: cannot install the kernelspec in /proc/none/share/jupyter"), out)
    assert.are.equal(1, select(2, out:gsub("\n", "")))
  end)
end)

describe("luarocks make", function()
  -- The rockspec builds build/lunette.so (the default build): the suite run on another build
  -- (build-asan) would rebuild the whole library here.
  local usable = BUILD == "build" and run("command -v luarocks"):find("luarocks") ~= nil

  it("installs lunette.so into a private tree, where lua5.4 requires it", function()
    if not usable then
      pending("luarocks make is checked by the suite on the default build only")
      return
    end
    local tree = tempdir()
    local out, ok = run(("luarocks --lua-version 5.4 --tree %s make lunette-0.1.0-1.rockspec")
      :format(q(tree)))
    assert(ok, out)
    assert.truthy(out:find("lunette 0.1.0-1 is now installed", 1, true), out)
    out, ok = run(("LUA_CPATH=%s lua5.4 -e %s"):format(q(tree .. "/lib/lua/5.4/?.so"), q(LUA_CHECK)))
    assert(ok, out)
    assert.are.equal("45 true", out)
  end)
end)

teardown(function()
  for _, d in ipairs(dirs) do run("rm -rf " .. q(d)) end
end)
