-- lint.lua: fails when a core file includes a Lua header or a Lua-formatted
-- message (luaL_error, lua_pushfstring) uses a conversion Lua does not know;
-- reports long functions (> 60 lines) and long files (> 1000 lines) without failing.
local HOST = { ["host.c"] = true, ["repl.c"] = true, ["lunette.c"] = true, ["lbase.c"] = true, ["lbase.h"] = true, ["lunette.h"] = true }
local function exists(p) local f = io.open(p) if f then f:close() return true end return false end
local function is_binding(name)
  local core = name:match("^l(.+)%.c$")
  return core ~= nil and exists("src/" .. core .. ".h")
end
local errors, warnings = 0, 0

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
-- The files named on the command line, or every source under src/.
local paths = { ... }
if #paths == 0 then
  for path in io.popen("ls src/*.c src/*.h 2>/dev/null"):read("a"):gmatch("[^\n]+") do
    paths[#paths + 1] = path
  end
end
for _, path in ipairs(paths) do
  local name = path:match("[^/]+$")
  local f = assert(io.open(path)); local src = f:read("a"); f:close()
  local lua_inc = src:match('#include%s*[<"]lua%.h[>"]') or src:match('#include%s*[<"]lauxlib%.h[>"]')
    or src:match('#include%s*[<"]lualib%.h[>"]')
  if lua_inc and not (HOST[name] or is_binding(name)) then
    print(("%s: core file includes a Lua header (bindings are src/l<core>.c)"):format(path))
    errors = errors + 1
  end
  errors = errors + check_lua_formats(path, src)
  local n, start, fname = 0, nil, nil
  for line in (src .. "\n"):gmatch("(.-)\n") do
    n = n + 1
    if not start and line:match("^[%w_].*%)%s*{%s*$") and not line:match("^static const") then
      start, fname = n, line:match("([%w_]+)%s*%(") or "?"
    elseif start and line:match("^}") then
      if n - start > 60 then
        print(("%s:%d: warning: function '%s' is %d lines"):format(path, start, fname, n - start))
        warnings = warnings + 1
      end
      start = nil
    end
  end
  if n > 1000 then
    print(("%s: warning: %d lines (split by responsibility past ~1000)"):format(path, n))
    warnings = warnings + 1
  end
end
print(("lint: %d error(s) (layering, Lua formats), %d size warning(s)"):format(errors, warnings))
os.exit(errors == 0 and 0 or 1)
