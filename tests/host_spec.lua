-- host_spec.lua: the lunette executable run the way users run it, through a shell.
local BUILD = os.getenv("LUNETTE_BUILD") or "build"
local LUNETTE = BUILD .. "/lunette"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
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
local function tempfile(text)
  local path = os.tmpname()
  temps[#temps + 1] = path
  if text then spit(path, text) end
  return path
end

-- Runs a shell command line with `input` on stdin; returns stdout, stderr, exit code.
local function sh(cmdline, input)
  local inpath, errpath = tempfile(input or ""), tempfile()
  local p = io.popen(cmdline .. " <" .. q(inpath) .. " 2>" .. q(errpath))
  local out = p:read("a")
  local _, _, code = p:close()
  return out, slurp(errpath), code
end

-- Runs the host with the given arguments (each shell-quoted).
local function lunette(args, input, env)
  local words = {}
  for i, a in ipairs(args) do words[i] = q(a) end
  return sh((env or "") .. q(LUNETTE) .. " " .. table.concat(words, " "), input)
end

describe("lunette host", function()
  after_each(function()
    for _, p in ipairs(temps) do os.remove(p) end
    temps = {}
  end)

  it("runs a script with the arg table of lua(1)", function()
    local script = tempfile([[
      print(arg[0], arg[1], arg[2], #arg, arg[-1], arg[-2], arg[3] == nil)
    ]])
    local out, err, code = lunette({ script, "a", "b c" })
    assert.are.equal(0, code, err)
    assert.are.equal(table.concat({ script, "a", "b c", "2", LUNETTE, "nil", "true" }, "\t") .. "\n", out)
  end)

  it("puts the options before the script at negative arg indices", function()
    local script = tempfile("print(arg[-3], arg[-2], arg[-1], arg[0], arg[1])")
    local out, err, code = lunette({ "-e", "x=1", script, "z" })
    assert.are.equal(0, code, err)
    assert.are.equal(table.concat({ LUNETTE, "-e", "x=1", script, "z" }, "\t") .. "\n", out)
  end)

  it("passes the script arguments as ...", function()
    local script = tempfile("local a, b = ... print(select('#', ...), a, b)")
    local out, _, code = lunette({ script, "one", "two" })
    assert.are.equal(0, code)
    assert.are.equal("2\tone\ttwo\n", out)
  end)

  it("runs several -e chunks in order, with arg[0] the host itself", function()
    local out, err, code = lunette({ "-e", "x = 20", "-e", "x = x + 1", "-e", "print(x, arg[0])" })
    assert.are.equal(0, code, err)
    assert.are.equal("21\t" .. LUNETTE .. "\n", out)
  end)

  it("runs stdin for '-', with arguments after it", function()
    local out, err, code = lunette({ "-", "p", "q" }, "print('stdin', ...)")
    assert.are.equal(0, code, err)
    assert.are.equal("stdin\tp\tq\n", out)
  end)

  it("runs piped stdin when given no arguments", function()
    local out, _, code = lunette({}, "io.write(6 * 7, '\\n')")
    assert.are.equal(0, code)
    assert.are.equal("42\n", out)
  end)

  it("prints its version and Lua's for -v, and then stops", function()
    local out, _, code = lunette({ "-v" }, "print('must not run')")
    assert.are.equal(0, code)
    local h = slurp("src/lunette.h")
    local version = h:match('#define%s+LUNETTE_VERSION%s+"([^"]+)"')
    assert.is_truthy(version)
    assert.is_truthy(out:find(version, 1, true), out)
    assert.is_truthy(out:find("Lua 5.4", 1, true), out)
    assert.is_nil(out:find("must not run", 1, true))
  end)

  it("reports a runtime error with file:line and a traceback, exit status 1", function()
    local script = tempfile("local function inner()\n  error('boom')\nend\ninner()\n")
    local out, err, code = lunette({ script })
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.are.equal("lunette: " .. script .. ":2: boom\n", err:match("^[^\n]*\n"))
    assert.is_truthy(err:find("stack traceback:", 1, true), err)
    assert.is_truthy(err:find(script .. ":4: in main chunk", 1, true), err)
    assert.is_truthy(err:find("inner", 1, true), err)
  end)

  it("renders error objects with __tostring, and names other types", function()
    local _, err, code = lunette({ "-e", "error(setmetatable({}, {__tostring = function() return 'custom failure' end}))" })
    assert.are.equal(1, code)
    assert.is_truthy(err:find("^lunette: custom failure\nstack traceback:"), err)
    _, err, code = lunette({ "-e", "error({})" })
    assert.are.equal(1, code)
    assert.is_truthy(err:find("^lunette: %(error object is a table value%)"), err)
  end)

  it("reports a syntax error with the file, line and token", function()
    local script = tempfile("x = 1\ny = = 2\n")
    local out, err, code = lunette({ script, "arg" })
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.are.equal("lunette: " .. script .. ":2: unexpected symbol near '='\n", err)
  end)

  it("reports a missing script clearly, exit status 1", function()
    local _, err, code = lunette({ "/nonexistent/dir/nope.lua" })
    assert.are.equal(1, code)
    assert.are.equal("lunette: cannot open /nonexistent/dir/nope.lua: No such file or directory\n", err)
  end)

  it("requires modules with -l mod and -l global=mod", function()
    local out, err, code = lunette({ "-l", "lfs", "-l", "fs=lfs", "-e", "print(type(lfs), fs == lfs)" })
    assert.are.equal(0, code, err)
    assert.are.equal("table\ttrue\n", out)
    out, err, code = lunette({ "-l", "no_such_module_xyz", "-e", "print('ran')" })
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.is_truthy(err:find("module 'no_such_module_xyz' not found", 1, true), err)
  end)

  it("stops handling options at --", function()
    local script = tempfile("print(select('#', ...), ...)")
    local out, err, code = lunette({ "--", script, "-v", "-e" })
    assert.are.equal(0, code, err)
    assert.are.equal("2\t-v\t-e\n", out)
  end)

  it("prints usage and fails on a bad option or a missing argument", function()
    local out, err, code = lunette({ "-Z", "x.lua" })
    assert.are_not.equal(0, code)
    assert.are.equal("", out)
    assert.is_truthy(err:find("unrecognized option '-Z'", 1, true), err)
    assert.is_truthy(err:find("usage: lunette", 1, true), err)
    _, err, code = lunette({ "-e" })
    assert.are_not.equal(0, code)
    assert.is_truthy(err:find("'-e' needs argument", 1, true), err)
  end)

  it("prints usage, mentioning the lt alias, for -h", function()
    local out, _, code = lunette({ "-h" })
    assert.are.equal(0, code)
    assert.is_truthy(out:find("usage: lunette", 1, true), out)
    assert.is_truthy(out:find("'lt'", 1, true), out)
  end)

  it("has the globals lunette and lt, the table require returns", function()
    local out, err, code = lunette({ "-e", [[
      print(type(lunette), rawequal(lt, lunette), rawequal(require("lunette"), lunette),
            rawequal(package.loaded.lunette, lunette))]] })
    assert.are.equal(0, code, err)
    assert.are.equal("table\ttrue\ttrue\ttrue\n", out)
  end)

  it("passes os.exit codes through", function()
    local _, _, code = lunette({ "-e", "os.exit(7)" })
    assert.are.equal(7, code)
    _, _, code = lunette({ "-e", "os.exit(false)" })
    assert.are.equal(1, code)
    local out
    out, _, code = lunette({ "-e", "io.write('flushed') os.exit(true)" })
    assert.are.equal(0, code)
    assert.are.equal("flushed", out)
  end)

  it("loads C modules from the system Lua path (as busted needs)", function()
    local out, err, code = lunette({ "-e", [[
      local lfs = require "lfs"
      local term = require "term.core"
      print(type(lfs.currentdir()), type(term.isatty))]] })
    assert.are.equal(0, code, err)
    assert.are.equal("string\tfunction\n", out)
  end)

  it("honours LUA_INIT, and -E ignores it", function()
    local env = "env -u LUA_INIT_5_4 LUA_INIT='init_ran = 5' "
    local out = lunette({ "-e", "print(init_ran)" }, nil, env)
    assert.are.equal("5\n", out)
    out = lunette({ "-E", "-e", "print(init_ran)" }, nil, env)
    assert.are.equal("nil\n", out)
  end)

  it("turns SIGINT (Ctrl-C on its terminal) during a script into an 'interrupted!' error", function()
    local cmd = ("env TERM=dumb %s -t 3 -w started -s '\3' -- %s -e %s 2>&1"):format(
      q(BUILD .. "/ptyrun"), q(LUNETTE), q("print('started') while true do end"))
    local out, err, code = sh(cmd)
    assert.are.equal(1, code, err)
    out = out:gsub("\r", "")
    assert.is_truthy(out:find("lunette: [^\n]*interrupted!\nstack traceback:"), out)
  end)
end)
