-- repl_spec.lua: the interactive loop, fed through a pipe and typed into a pseudo-terminal (build/ptyrun).
local BUILD = os.getenv("LUNETTE_BUILD") or "build"
local LUNETTE = BUILD .. "/lunette"
local PTYRUN = BUILD .. "/ptyrun"
local PROMPT, CONT = "\n> ", "\n>> " -- how prompts appear after a line of output
local ABORTED = "^C\r\n> " -- Ctrl-C at a prompt: wait for this before typing on (SIGINT flushes typeahead)

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

-- Runs a shell command line with `input` on stdin; returns stdout, stderr, exit code.
local function sh(cmdline, input)
  local inpath, errpath = tempname(), tempname()
  spit(inpath, input or "")
  local p = io.popen(cmdline .. " <" .. q(inpath) .. " 2>" .. q(errpath))
  local out = p:read("a")
  local _, _, code = p:close()
  return out, slurp(errpath), code
end

-- `lunette -i [args]` reading `input` from a pipe.
local function piped(input, args)
  local hist = tempname()
  os.remove(hist)
  local out, err, code = sh("env LUNETTE_HISTORY=" .. q(hist) .. " " .. q(LUNETTE) .. " -i " .. (args or ""), input)
  return out, err, code, hist
end

-- Types into `lunette` on a pseudo-terminal. `steps` alternates ptyrun
-- actions and their values: "w" waits for text, "s" sends keys, "p" pauses (ms).
-- Returns what the terminal showed (without \r), ptyrun's stderr and the exit code.
-- `history` false: LUNETTE_HISTORY unset, so the history goes to $HOME (`home`).
local function typed(steps, history, home, cols)
  local words = {}
  for i = 1, #steps, 2 do
    words[#words + 1] = "-" .. steps[i] .. " " .. q(steps[i + 1])
  end
  home = home or tempname()
  if history == nil then history = tempname() end
  local hist = history and "LUNETTE_HISTORY=" .. q(history) or "-u LUNETTE_HISTORY"
  local cmd = ("env %s TERM=dumb INPUTRC=/dev/null HOME=%s %s -t 3 -c %d %s -- %s")
    :format(hist, q(home), q(PTYRUN), cols or 80, table.concat(words, " "), q(LUNETTE))
  local out, err, code = sh(cmd)
  return (out:gsub("\r", "")), err, code
end

local function has(text, s) return text:find(s, 1, true) ~= nil end

describe("lunette REPL through a pipe", function()
  after_each(function()
    for _, p in ipairs(temps) do os.remove(p) end
    temps = {}
  end)

  it("prints the values of bare expressions, and nothing for statements", function()
    local out, err, code = piped("1+1\nx = 5\nx * 2\n")
    assert.are.equal(0, code, err)
    assert.are.equal("", err)
    assert.is_truthy(out:find("^lunette [^\n]*\n> 2\n> > 10\n> \n$"), out)
  end)

  it("separates multiple values with tabs, and supports =expr", function()
    local out = piped("return 1, 'two', nil, false\ny = 42\n=y, y + 1\n'a', 2.5\n")
    assert.is_truthy(has(out, "> 1\ttwo\tnil\tfalse\n"), out)
    assert.is_truthy(has(out, "> 42\t43\n"), out)
    assert.is_truthy(has(out, "> a\t2.5\n"), out)
  end)

  it("shows values through __tostring and __name", function()
    local out = piped("setmetatable({}, {__tostring = function() return 'custom!' end})\n" ..
      "setmetatable({}, {__name = 'MyType'})\n")
    assert.is_truthy(has(out, "> custom!\n"), out)
    assert.is_truthy(has(out, "> MyType {}\n"), out)
  end)

  -- issue 16 (2): tables printed as `table: 0x…`
  it("shows tables by their contents, tensors inside summarised, a top-level tensor in full",
    function()
      local out, err, code = piped("x = lt.ones(3, 4)\nx:size()\n{1, 2, 3}\n" ..
        "{w = x, name = 'n', [1] = true}\nm = lt.nn.Linear(3, 2)\nm:state_dict()\nx\n" ..
        "t = {} t.t = t\nt\n")
      assert.are.equal(0, code, err)
      assert.is_truthy(has(out, "> {3, 4}\n"), out)
      assert.is_truthy(has(out, "> {1, 2, 3}\n"), out)
      assert.is_truthy(has(out, '> {true, name = "n", w = Tensor float32 [3x4]}\n'), out)
      assert.is_truthy(has(out, "> {weight = Tensor float32 [2x3], bias = Tensor float32 [2]}\t" ..
        '{"weight", "bias"}\n'), out)
      assert.is_truthy(has(out, "> Tensor float32 [3x4]\n[[1., 1., 1., 1.],\n"), out)
      assert.is_truthy(has(out, "> {t = {<cycle>}}\n"), out)
      assert.is_nil(out:find("table: 0x", 1, true), out)
    end)

  it("shows a table whose __index and __pairs raise, without calling them", function()
    local out, err, code = piped("bad = function() error('called!') end\n" ..
      "setmetatable({a = 1}, {__index = bad, __pairs = bad, __len = bad})\n")
    assert.are.equal(0, code, err)
    assert.are.equal("", err)
    assert.is_truthy(has(out, "> {a = 1}\n"), out)
  end)

  it("continues a multi-line definition with '>> ' and then runs it", function()
    local out, err, code = piped("function f(x)\n  local y = x * 10\n  return y\nend\nf(4)\n")
    assert.are.equal(0, code)
    assert.are.equal("", err)
    assert.is_truthy(has(out, "> >> >> >> > 40\n"), out)
  end)

  it("reports an error with its traceback and evaluates the next line", function()
    local out, err, code = piped("local function g() error('oops') end g()\nprint('after')\n")
    assert.are.equal(0, code)
    assert.is_truthy(err:find("^stdin:1: oops\nstack traceback:\n"), err)
    assert.is_truthy(has(err, "in main chunk"), err)
    assert.is_truthy(has(out, "> after\n"), out)
  end)

  it("reports a syntax error at once instead of waiting for more lines", function()
    local out, err = piped("x = = 1\nprint('next')\n")
    assert.is_truthy(has(err, "unexpected symbol near '='"), err)
    assert.is_truthy(has(out, "> > next\n"), out)
  end)

  it("reports a __tostring that fails, and goes on", function()
    local out, err, code = piped("setmetatable({}, {__tostring = function() error('bad tostring') end})\n1\n")
    assert.are.equal(0, code)
    assert.is_truthy(has(err, "bad tostring"), err)
    assert.is_truthy(has(out, "> 1\n"), out)
  end)

  it("reports an unfinished chunk at end of input and exits 0", function()
    local out, err, code = piped("if true then\nprint('x')\n")
    assert.are.equal(0, code)
    assert.is_truthy(has(err, "'end' expected"), err)
    assert.is_truthy(out:find("\n$"), out)
    assert.is_nil(out:find("\nx\n"), out)
  end)

  it("runs the script given with -i first, then reads lines", function()
    local script = tempname()
    spit(script, "greeting = 'hi from ' .. ... \n")
    local out, err, code = piped("greeting\n", q(script) .. " script")
    assert.are.equal(0, code, err)
    assert.is_truthy(has(out, "> hi from script\n"), out)
  end)

  it("keeps no history when input is not a terminal", function()
    local _, _, code, hist = piped("1\n")
    assert.are.equal(0, code)
    assert.is_nil(slurp(hist))
  end)
end)

describe("lunette REPL on a terminal", function()
  after_each(function()
    for _, p in ipairs(temps) do os.remove(p) end
    temps = {}
  end)

  it("evaluates lines and exits 0 on Ctrl-D", function()
    local out, err, code = typed { "w", PROMPT, "s", "1+1\n", "w", PROMPT, "s", "\4" }
    assert.are.equal(0, code, err)
    assert.is_truthy(out:find("> 1%+1\n2\n> \n$"), out)
  end)

  it("completes a global's field with Tab", function()
    local out, err, code = typed { "w", PROMPT, "s", "string.for\t", "w", "mat",
      "s", "('%d|', 7)\n", "w", PROMPT, "s", "\4" }
    assert.are.equal(0, code, err)
    assert.is_truthy(has(out, "> string.format('%d|', 7)\n7|\n"), out)
  end)

  it("completes globals and keywords, and lists candidates on a second Tab", function()
    local out, err, code = typed { "w", PROMPT, "s", "whi\t", "w", "le", "s", "\3", "w", ABORTED,
      "s", "string.\t\t", "w", "string.sub", "w", PROMPT .. "string.", "s", "\3", "w", ABORTED, "s", "\4" }
    assert.are.equal(0, code, err)
    assert.is_truthy(has(out, "> while^C"), out)
    assert.is_truthy(has(out, "string.format"), out)
    assert.is_truthy(has(out, "string.gsub"), out)
  end)

  it("completes fields found through a metatable's __index table", function()
    local out, err, code = typed { "w", PROMPT,
      "s", "obj = setmetatable({}, {__index = setmetatable({}, {__index = {hello_world = 1}})})\n",
      "w", PROMPT, "s", "obj.hello_w\t", "w", "orld", "s", "\n", "w", PROMPT, "s", "\4" }
    assert.are.equal(0, code, err)
    assert.is_truthy(has(out, "> obj.hello_world\n1\n"), out)
  end)

  it("completes methods after ':' through __index or the __methods convention", function()
    local out, err, code = typed { "w", PROMPT,
      "s", "u = setmetatable({}, {__index = function(_, k) return k end, " ..
           "__methods = {frobnicate = function() return 'frob' end, count = 3}})\n",
      "w", PROMPT, "s", "u:frob\t", "w", "nicate", "s", "\3", "w", ABORTED,
      "s", "u:co\t", "p", "100", "s", "\3", "w", ABORTED,
      "s", "io.stdout:wri\t", "w", "te", "s", "('ok')\n", "w", PROMPT, "s", "\4" }
    assert.are.equal(0, code, err)
    assert.is_truthy(has(out, "> u:frobnicate^C"), out)
    assert.is_nil(out:find("u:count"), out) -- not a function: no method
    assert.is_truthy(has(out, "> io.stdout:write('ok')\nokfile ("), out)
  end)

  -- issue 13 (5): the linalg products were missing until lunette.linalg was touched
  it("completes every tensor method, the linalg products included, from the start", function()
    local out, err, code = typed { "w", PROMPT, "s", "t = lt.ones(2, 3)\n", "w", PROMPT,
      "s", "t:matm\t", "w", "ul", "s", "(lt.ones(3, 1)):sum()\n", "w", "6", "w", PROMPT,
      "s", "t:out\t", "w", "er", "s", "\3", "w", ABORTED, "s", "\4" }
    assert.are.equal(0, code, err)
    assert.is_truthy(has(out, "> t:matmul(lt.ones(3, 1)):sum()\n6.0\n"), out)
    assert.is_truthy(has(out, "> t:outer^C"), out)
  end)

  -- issue 16 (2): modules loaded on first use were invisible to completion
  it("offers lt's lazily-loaded modules and shortcuts before any was used", function()
    local out, err, code = typed { "w", PROMPT, "s", "lt.sket\t", "w", "ch", "s", "\3",
      "w", ABORTED, "s", "lt.displ\t", "w", "ay", "s", "\3", "w", ABORTED,
      "s", "lt.bernoul\t", "w", "li", "s", "\3", "w", ABORTED, "s", "\4" }
    assert.are.equal(0, code, err)
    assert.is_truthy(has(out, "> lt.sketch^C"), out)
    assert.is_truthy(has(out, "> lt.display^C"), out)
    assert.is_truthy(has(out, "> lt.bernoulli^C"), out)
  end)

  it("completes inside a module that was never used, loading it but not storing it in lt",
    function()
      local out, err, code = typed { "w", PROMPT, "s", "lt.nn.Linear\t\t", "w", "LinearLR",
        "w", PROMPT .. "lt.nn.Linear", "s", "\3", "w", ABORTED,
        "s", "lt.plot.subpl\t", "w", "ots", "s", "\3", "w", ABORTED,
        "s", "lt.nn.no_such.x\t", "p", "100", "s", "\3", "w", ABORTED,
        "s", "rawget(lt, 'nn') == nil, package.loaded['lunette.nn'] ~= nil\n", "w", PROMPT,
        "s", "x = lt.ones(2, 2)\n", "w", PROMPT, "s", "x:trans\t", "w", "pose", "s", "\3",
        "w", ABORTED, "s", "\4" }
      assert.are.equal(0, code, err)
      assert.is_truthy(has(out, "lt.nn.LinearLR"), out)
      assert.is_truthy(has(out, "> lt.plot.subplots^C"), out)
      assert.is_truthy(out:find("> lt%.nn%.no_such%.x\a?%^C"), out) -- nothing to offer: a bell
      assert.is_truthy(has(out, "\ntrue\ttrue\n"), out)
      assert.is_truthy(has(out, "> x:transpose^C"), out)
    end)

  it("lays tables out to the terminal's width", function()
    local line = "{alpha = 1, beta = 2, gamma = 3, delta = 4, epsilon = 5, zeta = 6}"
    local function show(cols)
      local out, err, code = typed({ "w", PROMPT, "s", line .. "\n", "w", PROMPT, "s", "\4" },
        nil, nil, cols)
      assert.are.equal(0, code, err)
      return out
    end
    local wide, narrow = show(120), show(40)
    assert.is_truthy(wide:find("\n{alpha = 1, beta = 2,[^\n]*zeta = 6}\n"), wide)
    assert.is_truthy(narrow:find("\n{\n  alpha = 1,"), narrow)
  end)

  -- issue 16 (4): a model's children are fields, so completion offers them too
  it("completes a module's named children and their fields", function()
    local out, err, code = typed { "w", PROMPT,
      "s", "m = lt.nn.Sequential{{'encoder', lt.nn.Linear(3, 2)}, {'head', lt.nn.ReLU()}}\n",
      "w", PROMPT, "s", "m.enc\t", "w", "oder", "s", "\3", "w", ABORTED,
      "s", "m.encoder.wei\t", "w", "ght", "s", ":size(1)\n", "w", "2", "w", PROMPT,
      "s", "m:enc\t", "p", "100", "s", "\3", "w", ABORTED, "s", "\4" }
    assert.are.equal(0, code, err)
    assert.is_truthy(has(out, "> m.encoder^C"), out)
    assert.is_truthy(has(out, "> m.encoder.weight:size(1)\n2\n"), out)
    assert.is_truthy(out:find("> m:enc\a?%^C"), out) -- a child is not a method
  end)

  it("interrupts a running loop with Ctrl-C and goes on", function()
    local out, err, code = typed { "w", PROMPT, "s", "while true do end\n", "p", "300",
      "s", "\3", "w", PROMPT, "s", "print(6 * 7)\n", "w", "42", "w", PROMPT, "s", "\4" }
    assert.are.equal(0, code, err)
    assert.is_truthy(out:find("interrupted!\nstack traceback:"), out)
    assert.is_truthy(has(out, "> print(6 * 7)\n42\n"), out)
  end)

  -- issue 16 (4): the message was written on the bar's line
  it("ends a progress bar's line before the message of Ctrl-C, and only once", function()
    local out, err, code = typed { "w", PROMPT,
      "s", "bar = lt.data.progress(1000, {desc = 'work'}) bar:update(10) while true do end\n",
      "w", "10/1000", "p", "200", "s", "\3", "w", PROMPT,
      "s", "for _ in lt.data.progress(function() return 1 end, {total = 1e12, desc = 'loop'})" ..
           " do end\n", "w", "loop:", "p", "300", "s", "\3", "w", PROMPT, "s", "\4" }
    assert.are.equal(0, code, err)
    -- the bar's line ends (after the ^C the terminal echoes), the message has a line of its own
    local bar, msg = out:match("\n(work:[^\n]*)\n([^\n]*interrupted!)\n")
    assert.is_truthy(bar, out)
    assert.is_truthy(bar:find("10/1000 [", 1, true), bar)
    assert.is_nil(msg:find("it/s", 1, true), msg)
    -- The loop's bar: the message starts a line that is not the bar's (where Ctrl-C lands
    -- while the bar redraws, the bar's last state comes first: the line then holds only the
    -- message), and no empty line separates them (the bar closed its own line, once).
    local from = out:find("loop:", 1, true)
    assert.is_truthy(from, out)
    msg = out:match("\n([^\n]*)interrupted!\n", from)
    assert.is_truthy(msg, out)
    assert.is_nil(msg:find("it/s", 1, true), msg)
    assert.is_nil(out:find("\n\n[^\n]*interrupted!", from), out)
  end)

  it("drops the line being typed on Ctrl-C at the prompt and does not exit", function()
    local out, err, code = typed { "w", PROMPT, "s", "discarded", "w", "discarded", "s", "\3",
      "w", ABORTED, "s", "1+2\n", "w", PROMPT,
      "s", "for i = 1, 2 do\n", "w", CONT, "s", "\3", "w", ABORTED, "s", "'fresh'\n", "w", PROMPT, "s", "\4" }
    assert.are.equal(0, code, err)
    assert.is_truthy(has(out, "> discarded^C\n> 1+2\n3\n"), out)
    assert.is_truthy(has(out, ">> ^C\n> 'fresh'\nfresh\n"), out)
  end)

  it("saves history to LUNETTE_HISTORY and reads it back, multi-line entries whole", function()
    local hist = tempname()
    os.remove(hist)
    local _, err, code = typed({ "w", PROMPT, "s", "function twice(x)\n", "w", CONT,
      "s", "return 2 * x end\n", "w", PROMPT, "s", "twice(21)\n", "w", PROMPT, "s", "\4" }, hist)
    assert.are.equal(0, code, err)
    local saved = slurp(hist)
    assert.is_truthy(has(saved, "function twice(x)\nreturn 2 * x end\n"), saved)
    assert.is_truthy(has(saved, "twice(21)\n"), saved)
    local out
    out, err, code = typed({ "w", PROMPT, "s", "\27[A\27[A\n", "w", PROMPT,
      "s", "\27[A\27[A\n", "w", "42", "w", PROMPT, "s", "\4" }, hist)
    assert.are.equal(0, code, err)
    assert.is_truthy(has(out, "\n42\n"), out)
  end)

  -- issue 16 (3): the README says where history is kept
  it("keeps history in ~/.lunette_history when LUNETTE_HISTORY is not set", function()
    local home = tempname()
    os.remove(home)
    assert(os.execute("mkdir " .. q(home)))
    local _, err, code = typed({ "w", PROMPT, "s", "'remembered'\n", "w", PROMPT, "s", "\4" },
      false, home)
    local saved = slurp(home .. "/.lunette_history")
    os.remove(home .. "/.lunette_history")
    os.remove(home)
    assert.are.equal(0, code, err)
    assert.is_truthy(saved and has(saved, "'remembered'\n"), saved)
  end)

  it("caps the history file and survives an unwritable one", function()
    local hist = tempname()
    local lines = {}
    for i = 1, 1500 do lines[i] = "old_" .. i end
    spit(hist, table.concat(lines, "\n") .. "\n")
    local _, err, code = typed({ "w", PROMPT, "s", "1\n", "w", PROMPT, "s", "\4" }, hist)
    assert.are.equal(0, code, err)
    local n, last = 0, nil
    for line in slurp(hist):gmatch("[^\n]+") do
      if not line:find("^#%d") then n, last = n + 1, line end -- timestamps mark entries
    end
    assert.is_true(n <= 1000 and n > 900, tostring(n))
    assert.are.equal("1", last)
    local out
    out, err, code = typed({ "w", PROMPT, "s", "'still fine'\n", "w", PROMPT, "s", "\4" },
      "/nonexistent/dir/history")
    assert.are.equal(0, code, err)
    assert.is_truthy(has(out, "\nstill fine\n"), out)
  end)
end)
