-- lint.lua: DESIGN.md's layering, read from the folders, and STYLE.md's line rules.
-- Fails on: a file of src/ outside a module folder (but the few listed below); a core file
-- that includes a Lua header, a binding header or a header of a module above its own; a
-- binding that includes another module's binding header; a C line over 100 columns; a C
-- line holding two statements; a Lua-formatted message (luaL_error, lua_pushfstring) with a
-- conversion Lua does not know; a lazily loaded call not announced at the file's top. Reports long functions (> 60 lines) and long files (> 1000
-- lines) without failing.
--
-- The layers, lowest first. A core file of a module may include the core headers of its own
-- module and of modules of a lower rank; src/interrupt.h, src/lazy.h and src/hot.h are below all.
local RANK = {
  tensor = 1,
  linalg = 2, io = 2, dist = 2, cuda = 2,
  data = 3, nn = 3, sketch = 3, select = 3, embed = 3, plot = 3,
  term = 3,
  host = 4,
}
RANK.kernel = 3 -- the Jupyter kernel's protocol and sockets (src/host/kernel.c serves them)
-- Files that stay at the top of src/: the registry of bindings and the tiny core services.
local TOP = {
  ["lunette.c"] = "registry", ["lunette.h"] = "registry", ["luasrc.h"] = "registry",
  ["lazy.c"] = "core", ["lazy.h"] = "core", ["interrupt.c"] = "core", ["interrupt.h"] = "core",
  ["hot.h"] = "core", -- LT_HOT, the runtime ISA dispatch of hot kernels
}
-- The prefixes a module's core files start with; its bindings are "l" .. one of them.
local PREFIX = { tensor = { "tensor", "random", "base" } }
local MAX_COLS = 100

local errors, warnings = 0, 0
local function fail(path, ln, msg, ...)
  print(("%s:%s: %s"):format(path, ln or 1, msg:format(...)))
  errors = errors + 1
end
local function warn(path, ln, msg, ...)
  print(("%s:%s: warning: %s"):format(path, ln or 1, msg:format(...)))
  warnings = warnings + 1
end

-- What a path is: its module (nil at the top) and its kind: core, binding, host, registry.
local function classify(path)
  local mod, name = path:match("^src/([%w_]+)/([^/]+)$")
  if not mod then
    name = path:match("^src/([^/]+)$")
    return nil, TOP[name], name
  end
  if not RANK[mod] then return mod, nil, name end
  if mod == "host" then return mod, "host", name end
  for _, p in ipairs(PREFIX[mod] or { mod }) do
    if name:sub(1, #p + 1) == "l" .. p then return mod, "binding", name end
  end
  return mod, "core", name
end

-- The layering rule for one #include "x" of a file (mod, kind).
local function check_include(path, ln, mod, kind, inc)
  if inc:match("^lazy_") then return end -- generated into build/gen by scripts/lazy.lua
  local imod, ikind = classify("src/" .. inc)
  if ikind == nil then
    return fail(path, ln, "includes \"%s\", which is not a header of src/", inc)
  end
  if kind == "registry" then return end
  if ikind == "registry" then
    if kind ~= "host" then fail(path, ln, "only the host and the registry include \"%s\"", inc) end
    return
  end
  if imod == nil then return end -- interrupt.h, lazy.h: below every module
  if kind == "host" then
    if ikind == "binding" then
      fail(path, ln, "the host reaches bindings through lunette.h, not \"%s\"", inc)
    end
    return
  end
  if ikind == "host" then return fail(path, ln, "includes the host header \"%s\"", inc) end
  if kind == "core" and ikind == "binding" then
    return fail(path, ln, "core file includes the binding header \"%s\"", inc)
  end
  if ikind == "binding" and imod ~= mod and inc ~= "tensor/lbase.h" then
    return fail(path, ln, "binding includes another module's binding header \"%s\"", inc)
  end
  if imod ~= mod and RANK[imod] >= RANK[mod] then
    fail(path, ln, "%s (layer %d) includes \"%s\" of %s (layer %d): dependencies point down",
         mod, RANK[mod], inc, imod, RANK[imod])
  end
end

-- Statements on a line: semicolons outside parentheses, strings and comments. The switch
-- table idiom `case X: one statement; break;` (or `return ...;`) counts as one.
local function statements(code)
  local s = code:gsub("\\.", "x"):gsub('"[^"]*"', '""'):gsub("'[^']*'", "''")
  s = s:gsub("/%*.-%*/", ""):gsub("//.*$", "")
  local depth, n = 0, 0
  for c in s:gmatch(".") do
    if c == "(" then
      depth = depth + 1
    elseif c == ")" then
      depth = depth - 1
    elseif c == ";" and depth == 0 then
      n = n + 1
    end
  end
  local case = s:match("^%s*case .*:") or s:match("^%s*default%s*:")
  if n == 2 and case and (s:match(";%s*break;%s*$") or s:match(";%s*return[^;]*;%s*$")) then
    n = 1
  end
  return n
end

local function check_lines(path, src)
  local n, start, fname, in_comment = 0, nil, nil, false
  for line in (src .. "\n"):gmatch("(.-)\n") do
    n = n + 1
    if #line > MAX_COLS then fail(path, n, "%d columns (at most %d)", #line, MAX_COLS) end
    local code = line
    if in_comment then
      local e = code:find("%*/")
      code = e and code:sub(e + 2) or ""
      in_comment = e == nil
    end
    local open = code:gsub("/%*.-%*/", ""):find("/%*")
    if open then
      code = code:sub(1, open - 1)
      in_comment = true
    end
    if not code:match("^%s*#") and statements(code) > 1 then
      fail(path, n, "two statements on one line")
    end
    if not start and line:match("^[%w_].*%)%s*{%s*$") and not line:match("^static const") then
      start, fname = n, line:match("([%w_]+)%s*%(") or "?"
    elseif start and line:match("^}") then
      if n - start > 60 then warn(path, start, "function '%s' is %d lines", fname, n - start) end
      start = nil
    end
  end
  -- A generated table (its header says "do not edit") has no responsibilities to split.
  local generated = src:sub(1, 400):match("do not edit")
  if n > 1000 and not generated then
    warn(path, nil, "%d lines (split by responsibility past ~1000)", n)
  end
end

-- A file whose OpenBLAS, LAPACKE, Cairo or libdeflate calls are rerouted through the lazy
-- loader (every one but lazy.c) says so at its top, so a reader is not surprised.
local LAZY_CALL = { "cblas_[%w_]+%s*%(", "LAPACKE_[%w_]+%s*%(", "cairo_[%w_]+%s*%(",
                    "libdeflate_[%w_]+%s*%(", "openblas_[%w_]+%s*%(", "zmq_[%w_]+%s*%(",
                    "cJSON_[%w_]+%s*%(", "HMAC%s*%(", "EVP_[%w_]+%s*%(" }
local function check_lazy_note(path, src)
  if not path:match("%.c$") or path:match("/lazy%.c$") then return end
  local code = src:gsub("/%*.-%*/", "")
  for _, pat in ipairs(LAZY_CALL) do
    if code:find(pat) then
      local top = src:match("^([^\n]*\n?[^\n]*\n?[^\n]*\n?[^\n]*)") or ""
      if not top:lower():find("lazy") then
        fail(path, 1, "calls %s through the lazy loader: say so at the top (src/lazy.h)",
             pat:match("^(%a+_)"))
      end
      return
    end
  end
end

-- lua_pushfstring and everything built on it (luaL_error, lua_pushvfstring)
-- accept only %% %s %d %I %f %p %c %U, without flags, width or precision:
-- anything else ("%zu", "%lld", "%.3f", "%g", "%x", PRId64) raises "invalid
-- option" instead of the message. Format with snprintf first, or pass a
-- lua_Integer with %I.
local LUA_FORMAT_FNS = { "luaL_error", "lua_pushfstring", "lua_pushvfstring" }
local LUA_CONVERSIONS = {
  ["%"] = true, s = true, d = true, I = true, f = true, p = true, c = true, U = true,
}

-- The text of the C string literals that start at position i of src (adjacent
-- literals concatenated, as the compiler does), or nil when the argument there
-- is not a literal; also whether a macro was spliced between literals.
local function literal_at(src, i)
  local parts, spliced = {}, false
  while true do
    local ws = src:match("^%s*", i)
    i = i + #ws
    if src:sub(i, i) == '"' then
      local j = i + 1
      while src:sub(j, j) ~= '"' do j = j + (src:sub(j, j) == "\\" and 2 or 1) end
      parts[#parts + 1] = src:sub(i + 1, j - 1)
      i = j + 1
    elseif #parts > 0 and src:match("^[%a_][%w_]*", i) then
      spliced = true -- "x" PRId64 "y": the macro's text is a conversion we cannot see
      i = i + #src:match("^[%a_][%w_]*", i)
    else
      break
    end
  end
  if #parts == 0 then return nil end
  return table.concat(parts), spliced
end

-- Reports every bad conversion in the Lua-formatted calls of one file.
local function check_lua_formats(path, src)
  local bad = 0
  for _, fn in ipairs(LUA_FORMAT_FNS) do
    for at, open in src:gmatch("()" .. fn .. "%s*%(()") do
      local line = select(2, src:sub(1, at):gsub("\n", "")) + 1
      local comma = src:find(",", open, true)
      local fmt, spliced = literal_at(src, comma + 1)
      local why
      if not fmt then
        why = "a format that is not a string literal (a '%' in it would be read as a conversion)"
      elseif spliced then
        why = "a macro spliced into the format"
      else
        for mods, conv in fmt:gmatch("%%([-+ #0-9.]*[hlLqjzt]*)(.?)") do
          if mods ~= "" or not LUA_CONVERSIONS[conv] then
            why = "'%" .. mods .. conv .. "' (Lua knows %% %s %d %I %f %p %c %U)"
            break
          end
        end
      end
      if why then
        print(("%s:%d: %s format uses %s"):format(path, line, fn, why))
        bad = bad + 1
      end
    end
  end
  return bad
end
local function read(path)
  local f = assert(io.open(path))
  local src = f:read("a")
  f:close()
  return src
end

-- The files named on the command line, or every C source of src/ and tests/fuzz/.
local paths = { ... }
if #paths == 0 then
  for path in io.popen("ls src/*.[ch] src/*/*.[ch] src/*/*.cu tests/fuzz/*.c 2>/dev/null"):lines() do
    paths[#paths + 1] = path
  end
end
for _, path in ipairs(paths) do
  local mod, kind = classify(path)
  local src = read(path)
  local in_src = path:match("^src/") ~= nil
  if not in_src then
    -- tests/fuzz/ or a file named on the command line: line and format rules only
  elseif kind == nil then
    fail(path, nil, "not in a module folder (%s) nor one of the files that stay in src/",
         "tensor, linalg, io, data, nn, sketch, select, embed, plot, term, host")
  else
    local ln = 0
    for line in (src .. "\n"):gmatch("(.-)\n") do
      ln = ln + 1
      local inc = line:match('^%s*#%s*include%s*"([^"]+)"')
      local sys = line:match("^%s*#%s*include%s*<([^>]+)>")
      if inc then check_include(path, ln, mod, kind, inc) end
      local lua_inc = (sys or inc or ""):match("^l[ua][au]%w*%.h$")
      if lua_inc and (kind == "core") then
        fail(path, ln, "core file includes the Lua header <%s> (bindings are l*.c)", lua_inc)
      end
    end
  end
  check_lines(path, src)
  check_lazy_note(path, src)
  errors = errors + check_lua_formats(path, src)
end
print(("lint: %d error(s), %d warning(s)"):format(errors, warnings))
os.exit(errors == 0 and 0 or 1)
