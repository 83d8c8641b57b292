-- lunette.repr: the text the REPL and the Jupyter kernel show for a table (host/shell.c calls
-- it): nested, keys sorted, arrays inline, tensors summarised, cycles marked, long tables and
-- deep nesting cut with a count. It never raises on odd values and runs no metamethod but
-- __tostring (in protected mode): keys and values are read with next and rawget, so a table
-- whose __index or __pairs has side effects is shown as it is stored.
local tensor = require "lunette.tensor"
local C = require "lunette._tensor"

local M = {}

local DEFAULTS = { width = 80, depth = 4, items = 100, nested_items = 20, strlen = 200,
                   budget = 2000 }
local KNOWN = { "width", "depth", "items", "nested_items", "strlen", "budget" }
local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
            repeat return then true until while]]):gmatch("%a+") do KEYWORDS[w] = true end
local MAX_SORTED = 10000 -- more keys than this are shown in storage order (sorting would lag)
local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local getmt = debug.getmetatable -- the real metatable, even behind a __metatable field

-- Lua's own number text (tostring's), without calling a __tostring set on numbers.
local function number_text(v)
  if math.type(v) == "integer" then return ("%d"):format(v) end
  local s = ("%.14g"):format(v)
  if s:match("^%-?%d+$") then s = s .. ".0" end
  return s
end

-- A string in double quotes with escapes, cut after `max` bytes with the count left out.
local function quote(s, max)
  local cut = #s > max and #s - max or 0
  if cut > 0 then s = s:sub(1, max) end
  s = s:gsub('[%c"\\]', function(c) return ESCAPES[c] or ("\\%d"):format(c:byte()) end)
  return '"' .. s .. '"' .. (cut > 0 and ("… (%d more bytes)"):format(cut) or "")
end

-- "Name: 0x…" the way luaL_tolstring writes a value it cannot convert, with raw reads only.
local function address(v, mt)
  local name = mt and rawget(mt, "__name")
  return ("%s: %p"):format(type(name) == "string" and name or type(v), v)
end

-- A tensor in one line: its print head ("Tensor float32 [3x4]"), and the value when it holds
-- one element and has no dims (a loss, an accuracy). C functions only: no __index.
local function tensor_text(t)
  local ok, s = pcall(function()
    local shape = C.size(t)
    local head = ("Tensor %s [%s]"):format(C.dtype(t), table.concat(shape, "x"))
    if #shape == 0 then
      local v = C.item(t)
      head = head .. " " .. (type(v) == "number" and number_text(v) or tostring(v))
    end
    return head
  end)
  return ok and s or address(t, getmt(t))
end

-- The text of a value with a __tostring: its result, or its address and the failure.
local function via_tostring(v, mt, f)
  local ok, s = pcall(f, v)
  if ok and type(s) == "string" then return s end
  if ok then s = "'__tostring' must return a string" end
  return ("<%s (__tostring failed: %s)>"):format(address(v, mt), tostring(s))
end

local render

-- Keys of t in display order: 1..n of the array part first (flagged as such), then those a
-- `keys` array in the metatable lists (lunette.ordered's dicts), then the others sorted
-- (numbers, strings, booleans, the rest), unless there are too many to sort. Stops after
-- `limit` keys; returns the keys, how many are array items, and how many keys t has.
local function ordered_keys(t, mt, limit)
  local keys, n = {}, 0
  while n < limit and rawget(t, n + 1) ~= nil do
    n = n + 1
    keys[n] = n
  end
  local total, seen, rest = 0, {}, {}
  for k in next, t do
    total = total + 1
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then rest[#rest + 1] = k end
  end
  local order = mt and rawget(mt, "keys")
  if type(order) == "table" then
    for i = 1, math.min(rawlen(order), limit) do
      local k = rawget(order, i)
      if k ~= nil and rawget(t, k) ~= nil and not seen[k] and #keys < limit then
        keys[#keys + 1], seen[k] = k, true
      end
    end
  end
  local kind = { number = 1, string = 2, boolean = 3 }
  if #rest <= MAX_SORTED then
    table.sort(rest, function(a, b)
      local ta, tb = kind[type(a)] or 4, kind[type(b)] or 4
      if ta ~= tb then return ta < tb end
      if ta == 3 then return (not a) and b end
      if ta == 4 then return ("%p"):format(a) < ("%p"):format(b) end
      return a < b
    end)
  end
  for _, k in ipairs(rest) do
    if #keys >= limit then break end
    if not seen[k] then keys[#keys + 1] = k end
  end
  return keys, n, total
end

local function key_text(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") and not KEYWORDS[k] then return k end
  if type(k) == "string" then return "[" .. quote(k, 60) .. "]" end
  if type(k) == "number" then return "[" .. number_text(k) .. "]" end
  if type(k) == "boolean" then return k and "[true]" or "[false]" end
  return "[" .. address(k, getmt(k)) .. "]"
end

-- Lays out a table's items: on one line when it fits, else one keyed item per line and
-- array items packed into lines, indented two spaces past `indent`.
local function layout(head, items, keyed, more, indent, width)
  local all = table.concat(items, ", ")
  if more then all = all .. (#items > 0 and ", " or "") .. more end
  local inline = head .. "{" .. all .. "}"
  if #inline + indent <= width and not inline:find("\n", 1, true) then return inline end
  local pad = (" "):rep(indent + 2)
  local lines, line = {}, nil
  for i, it in ipairs(items) do
    local packable = not keyed[i] and not it:find("\n", 1, true)
    if packable and line and #line + #it + 2 <= width then
      line = line .. " " .. it .. ","
    else
      if line then lines[#lines + 1] = line end
      line = pad .. it .. ","
      if not packable then
        lines[#lines + 1] = line
        line = nil
      end
    end
  end
  if line then lines[#lines + 1] = line end
  if more then lines[#lines + 1] = pad .. more end
  return head .. "{\n" .. table.concat(lines, "\n") .. "\n" .. (" "):rep(indent) .. "}"
end

local function table_text(t, mt, ctx, depth, indent)
  local name = mt and rawget(mt, "__name")
  local head = type(name) == "string" and name .. " " or ""
  if next(t) == nil then return head .. "{}" end
  if ctx.path[t] then return head .. "{<cycle>}" end
  local limit = depth == 1 and ctx.items or ctx.nested_items
  if depth > ctx.depth or ctx.budget <= 0 then limit = 0 end
  local keys, n, total = ordered_keys(t, mt, limit)
  ctx.path[t] = true
  local items, keyed = {}, {}
  for i, k in ipairs(keys) do
    local v = render(rawget(t, k), ctx, depth + 1, indent + 2)
    keyed[i] = i > n
    items[i] = keyed[i] and key_text(k) .. " = " .. v or v
  end
  ctx.path[t] = nil
  local more = nil
  if total > #keys then
    more = #keys == 0 and ("… %d items"):format(total) or ("… %d more"):format(total - #keys)
  end
  return layout(head, items, keyed, more, indent, ctx.width)
end

-- The text of any value; `depth` counts the tables entered so far (1 at the top).
function render(v, ctx, depth, indent)
  ctx.budget = ctx.budget - 1
  local tv = type(v)
  if tv == "string" then return quote(v, ctx.strlen) end
  if tv == "number" then return number_text(v) end
  if tv == "nil" then return "nil" end
  if tv == "boolean" then return v and "true" or "false" end
  local mt = getmt(v)
  if tv == "userdata" and tensor.is_tensor(v) then return tensor_text(v) end
  local f = mt and rawget(mt, "__tostring")
  if (tv == "table" or tv == "userdata") and f ~= nil then
    local s = via_tostring(v, mt, f)
    return (s:gsub("\n", "\n" .. (" "):rep(indent)))
  end
  if tv == "table" then return table_text(v, mt, ctx, depth, indent) end
  return address(v, mt)
end

-- The columns of the terminal on stdout, or nil when stdout is not a terminal (a pipe, the
-- Jupyter kernel): tables are laid out to the window the user sees.
local function stdout_width()
  local ok, D = pcall(require, "lunette._data")
  if not ok or not D.isatty(1) then return nil end
  return D.term_width(1)
end

-- repr(v [, {width = terminal columns or 80, depth = 4, items = 100, nested_items = 20, strlen = 200,
--   budget = 2000}]) -> string
-- The REPL's text for v: a table nested up to `depth` levels ({…} past it), at most `items`
-- entries at the top and `nested_items` in inner tables ("… 990 more"), one line when it
-- fits in `width` columns; strings quoted and cut after `strlen` bytes; tensors as their print
-- head; other values by __tostring or __name; at most `budget` values in all. Never raises
-- but for a bad option; runs no metamethod but __tostring.
function M.repr(v, opts)
  opts = opts or {}
  require("lunette.options").check("repr", 2, opts, KNOWN)
  local ctx = { path = {} }
  for k, d in pairs(DEFAULTS) do ctx[k] = opts[k] or d end
  if opts.width == nil then ctx.width = stdout_width() or DEFAULTS.width end
  return render(v, ctx, 1, 0)
end

return M
