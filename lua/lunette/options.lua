-- lunette.options: unknown keys in the options tables that Lua façades check themselves
-- (every module's, nn's, data's, io's, ...), and façade errors raised at the user's line.
-- The Lua twin of lbase.h's ltL_check_options: the same rule, the same message and the same
-- did-you-mean, so a typo reads the same whichever side caught it (tests/options_spec.lua
-- holds the two together).
local M = {}

-- Levenshtein distance of two names; names of 63 bytes or more count as far apart.
local function distance(a, b)
  if #a > 62 or #b > 62 then return 99 end
  local row = {}
  for j = 0, #b do row[j] = j end
  for i = 1, #a do
    local diag = row[0] -- row[j - 1] of the previous line
    row[0] = i
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      local best = math.min(diag + cost, row[j] + 1, row[j - 1] + 1)
      diag = row[j]
      row[j] = best
    end
  end
  return row[#b]
end

-- The known name the user most likely meant by k, or nil: at most 2 edits and fewer
-- than half the longer name ("n" is never taken for "k"); ties go to the first.
local function closest(k, known)
  local best, bestd = nil, 3
  for _, name in ipairs(known) do
    local d = distance(k, name)
    if d < bestd and d * 2 < math.max(#k, #name) then
      best, bestd = name, d
    end
  end
  return best
end

-- closest(k, known) -> the name of known meant by k, or nil (lunette.args asks it too).
M.closest = closest

-- "chunk:line: " of the innermost caller outside lunette's façades, as lbase.c's
-- messages start, so an error points at the user's line whatever the call depth.
local function user_where()
  local level = 3
  while true do
    local info = debug.getinfo(level, "Sl")
    if not info then return "" end
    if info.currentline > 0 and info.source:sub(1, 13) ~= "@lua/lunette/" then
      return ("%s:%d: "):format(info.short_src, info.currentline)
    end
    level = level + 1
  end
end

-- Raises "bad argument #argn to 'fname' (reason)" at the user's line.
function M.argerror(fname, argn, reason)
  error(user_where() .. ("bad argument #%d to '%s' (%s)"):format(argn, fname, reason), 0)
end

-- Raises msg (a whole message: "bad argument ...", or "path: what is wrong") at the user's
-- line, for façade errors that are not about one option.
function M.raise(msg)
  error(user_where() .. msg, 0)
end

-- check(fname, argn, opts, known [, array]) -> opts
-- opts must be nil or a table whose keys are all names in the array known (and, with array
-- true, the positions 1..#opts of a table such as mlp{784, 10, dropout = 0.1}); anything
-- else raises "options table expected" or "unknown option 'k' to 'fname'" followed by
-- "(did you mean 'a'?)" when a name is close, else by "(expected a, b)".
function M.check(fname, argn, opts, known, array)
  if opts == nil then return nil end
  if type(opts) ~= "table" then
    M.argerror(fname, argn, "options table expected, got " .. type(opts))
  end
  local ok = {}
  for _, name in ipairs(known) do ok[name] = true end
  local n = array and #opts or 0
  for k in pairs(opts) do
    if not ok[k] and not (math.type(k) == "integer" and k >= 1 and k <= n) then
      local near = type(k) == "string" and closest(k, known)
      local hint = near and ("did you mean '%s'?"):format(near)
        or (#known == 0 and "it takes no options" or "expected " .. table.concat(known, ", "))
      M.argerror(fname, argn, ("unknown option '%s' to '%s' (%s)"):format(tostring(k), fname,
        hint))
    end
  end
  return opts
end

return M
