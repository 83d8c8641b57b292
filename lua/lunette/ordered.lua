-- lunette.ordered: the key order of ordered dicts, shared by lunette.io (dicts loaded from .pt
-- files) and lunette.nn_module (state dicts). The convention: a dict's metatable holds `keys`,
-- an array of its keys in order; keys added later follow, sorted. Requires nothing, so any
-- façade may use it without a cycle.
local M = {}

-- Booleans before numbers before strings, then each type in its own order (false first).
local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  if ta == "boolean" then return (not a) and b end
  return a < b
end

-- keys(t) -> array
-- The keys of t whose values are not nil: first those its metatable's `keys` lists, in that
-- order, then the others sorted (booleans, numbers, strings). A new array; t is not changed.
function M.keys(t)
  local mt = getmetatable(t)
  local order, seen, out = mt and rawget(mt, "keys"), {}, {}
  if type(order) == "table" then
    for _, k in ipairs(order) do
      if rawget(t, k) ~= nil and not seen[k] then
        out[#out + 1], seen[k] = k, true
      end
    end
  end
  local rest = {}
  for k in next, t do
    if not seen[k] then rest[#rest + 1] = k end
  end
  table.sort(rest, key_less)
  for _, k in ipairs(rest) do out[#out + 1] = k end
  return out
end

-- pairs(t) -> iterator, t, nil
-- The __pairs of an ordered dict: walks keys(t) as it was when the loop started, skipping
-- entries set to nil since (raw reads: no __index).
function M.pairs(t)
  local keys, i = M.keys(t), 0
  return function()
    while true do
      i = i + 1
      local k = keys[i]
      if k == nil then return nil end
      local v = rawget(t, k)
      if v ~= nil then return k, v end
    end
  end, t, nil
end

return M
