-- lint.lua: fails when a core file includes a Lua header; reports long
-- functions (> 60 lines) and long files (> 1000 lines) without failing.
local HOST = { ["host.c"] = true, ["repl.c"] = true, ["lunette.c"] = true, ["lbase.c"] = true, ["lbase.h"] = true, ["lunette.h"] = true }
local function exists(p) local f = io.open(p) if f then f:close() return true end return false end
local function is_binding(name)
  local core = name:match("^l(.+)%.c$")
  return core ~= nil and exists("src/" .. core .. ".h")
end
local errors, warnings = 0, 0
local files = io.popen("ls src/*.c src/*.h 2>/dev/null"):read("a")
for path in files:gmatch("[^\n]+") do
  local name = path:match("[^/]+$")
  local f = assert(io.open(path)); local src = f:read("a"); f:close()
  local lua_inc = src:match('#include%s*[<"]lua%.h[>"]') or src:match('#include%s*[<"]lauxlib%.h[>"]')
    or src:match('#include%s*[<"]lualib%.h[>"]')
  if lua_inc and not (HOST[name] or is_binding(name)) then
    print(("%s: core file includes a Lua header (bindings are src/l<core>.c)"):format(path))
    errors = errors + 1
  end
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
print(("lint: %d layering error(s), %d size warning(s)"):format(errors, warnings))
os.exit(errors == 0 and 0 or 1)
