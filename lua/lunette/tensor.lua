-- lunette.tensor: constructors, operators, slicing syntax and the numpy-like printer.
local C = require "lunette._tensor"
local V = require "lunette._tensor_view"
local E = require "lunette._tensor_ew"
local R = require "lunette._tensor_reduce"
local X = require "lunette._tensor_index"

local M = {}
local meta = C.meta
local methods = meta.__methods
for _, part in ipairs { C, V, E, R, X } do
  for k, v in pairs(part) do if k ~= "meta" then M[k] = v end end
end

local function is_tensor(x) return getmetatable(x) == meta end
M.is_tensor = is_tensor

---------------------------------------------------------------------------
-- constructors: zeros(3, 4), zeros({3, 4}), zeros(3, 4, "int64"),
-- zeros({3, 4}, {dtype = "int64"})
---------------------------------------------------------------------------

-- Splits (size..., dtype|opts) or ({sizes}, dtype|opts) into shape, dtype.
local function shape_args(fname, ...)
  local n = select("#", ...)
  local first = ...
  local shape, last
  if type(first) == "table" and not is_tensor(first) then
    shape, last = first, select(2, ...)
  else
    shape = {}
    for i = 1, n do
      local v = select(i, ...)
      if type(v) == "number" then shape[#shape + 1] = v
      elseif i == n and (type(v) == "string" or type(v) == "table") then last = v
      elseif v ~= nil then
        error(("bad argument #%d to '%s' (size or dtype expected, got %s)"):format(i, fname, type(v)), 3)
      end
    end
  end
  local dtype = last
  if type(last) == "table" then dtype = last.dtype end
  return shape, dtype
end

function M.empty(...) local s, d = shape_args("empty", ...); return C.empty(s, d) end
function M.zeros(...) local s, d = shape_args("zeros", ...); return C.full(s, 0, d, "zeros") end
function M.ones(...) local s, d = shape_args("ones", ...); return C.full(s, 1, d, "ones") end
function M.full(shape, value, dtype)
  if type(shape) == "number" then shape = { shape } end
  if type(dtype) == "table" then dtype = dtype.dtype end
  return C.full(shape, value, dtype)
end

local function like(fn)
  return function(t, dtype, ...)
    if not is_tensor(t) then error("bad argument #1 (tensor expected, got " .. type(t) .. ")", 2) end
    if type(dtype) == "table" then dtype = dtype.dtype end
    return fn(t:size(), dtype or t:dtype(), ...)
  end
end
M.zeros_like = like(function(s, d) return C.full(s, 0, d) end)
M.ones_like = like(function(s, d) return C.full(s, 1, d) end)
M.empty_like = like(function(s, d) return C.empty(s, d) end)
function M.full_like(t, value, dtype) return C.full(t:size(), value, dtype or t:dtype()) end

-- tensor(nested_table | number | tensor, dtype)
function M.new(data, dtype)
  if type(dtype) == "table" then dtype = dtype.dtype end
  if is_tensor(data) then return data:to(dtype or data:dtype(), true) end
  if type(data) == "number" then
    return C.full({}, data, dtype or (math.type(data) == "integer" and "int64" or "float32"))
  end
  if type(data) == "boolean" then return C.full({}, data and 1 or 0, dtype or "bool") end
  if type(data) ~= "table" then
    error("bad argument #1 to 'tensor' (table, number or tensor expected, got " .. type(data) .. ")", 2)
  end
  return C.fromtable(data, dtype)
end

function M.arange(a, b, step, dtype)
  if type(b) == "string" or type(b) == "table" then b, dtype = nil, b
  elseif type(step) == "string" or type(step) == "table" then step, dtype = nil, step end
  if b == nil then a, b = 0, a end
  if type(dtype) == "table" then dtype = dtype.dtype end
  return C.arange(a, b, step, dtype)
end

---------------------------------------------------------------------------
-- methods written in Lua on top of the kernels
---------------------------------------------------------------------------

function methods.std(t, dim, keepdim, unbiased)
  local v = R.var(t, dim, keepdim, unbiased)
  if type(v) == "number" then return math.sqrt(v) end
  return v:sqrt_()
end

function methods.float(t) return t:to("float32") end
function methods.double(t) return t:to("float64") end
function methods.long(t) return t:to("int64") end
function methods.int(t) return t:to("int32") end
function methods.byte(t) return t:to("uint8") end
function methods.bool(t) return t:to("bool") end
function methods.half(t) return t:to("float16") end
function methods.t(t) return t:transpose() end

-- split(t, size, dim): pieces of `size` along dim (the last may be shorter)
function methods.split(t, size, dim)
  dim = dim or 1
  local n, out = t:size(dim), {}
  if math.type(size) ~= "integer" or size < 1 then
    error(("bad argument #2 to 'split' (positive integer size expected, got %s)"):format(tostring(size)), 2)
  end
  for s = 1, n, size do out[#out + 1] = t:narrow(dim, s, math.min(size, n - s + 1)) end
  return out
end

-- chunk(t, k, dim): k pieces as equal as possible
function methods.chunk(t, k, dim)
  dim = dim or 1
  if math.type(k) ~= "integer" or k < 1 then
    error(("bad argument #2 to 'chunk' (positive integer count expected, got %s)"):format(tostring(k)), 2)
  end
  return methods.split(t, math.max(1, -(-t:size(dim) // k)), dim)
end

-- normalize(t, dim, p, eps): t / max(norm_p(t, dim), eps)
function methods.normalize(t, dim, p, eps)
  dim = dim or -1
  local n = R.norm(t, p or 2, dim, true)
  return E.div(t, n:clamp_(eps or 1e-12))
end

function methods.std_mean(t, dim, keepdim, unbiased)
  return methods.std(t, dim, keepdim, unbiased), R.mean(t, dim, keepdim)
end

function methods.equal(a, b)
  if not is_tensor(b) then return false end
  local sa, sb = a:size(), b:size()
  if #sa ~= #sb then return false end
  for i = 1, #sa do if sa[i] ~= sb[i] then return false end end
  if a:numel() == 0 then return true end
  return E.eq(a, b):all()
end

-- allclose(a, b, rtol=1e-5, atol=1e-8): |a - b| <= atol + rtol*|b|, NaN equal to NaN if equal_nan
function methods.allclose(a, b, rtol, atol, equal_nan)
  rtol, atol = rtol or 1e-5, atol or 1e-8
  a, b = a:double(), is_tensor(b) and b:double() or M.new(b, "float64")
  local diff = (a - b):abs_()
  local ok = E.le(diff, b:abs() * rtol + atol)
  if equal_nan then ok = E.logical_or(ok, E.logical_and(a:isnan(), b:isnan())) end
  return ok:numel() == 0 or ok:all()
end

M.std = methods.std
for _, k in ipairs { "split", "chunk", "normalize", "equal", "allclose", "float", "double", "long", "int", "bool" } do
  M[k] = methods[k]
end

---------------------------------------------------------------------------
-- indexing: t[i], t[{i, {a, b}, {}, {a, b, step}}], t[mask], t[idx_tensor]
---------------------------------------------------------------------------

local function scalar_or_view(v)
  if v:dim() == 0 then return v:item() end
  return v
end

-- Applies a table of per-dim specs; returns a view.
local function index_view(t, spec, fname)
  local v, d = t, 1
  if #spec > t:dim() then
    error(("bad argument #2 to '%s' (too many indices: %d for a %d-d tensor)"):format(fname, #spec, t:dim()), 3)
  end
  for i = 1, #spec do
    local s = spec[i]
    if math.type(s) == "integer" then
      v = v:select(d, s)
    elseif s == ":" or (type(s) == "table" and not is_tensor(s) and s[1] == nil) then
      d = d + 1
    elseif type(s) == "table" and not is_tensor(s) then
      local first, last, step = s[1], s[2], s[3]
      if last == nil then last = first end
      v = v:slice(d, first, last, step)
      d = d + 1
    else
      error(("bad argument #2 to '%s' (index %d must be an integer, {first, last[, step]}, {} or \":\", got %s)")
        :format(fname, i, tostring(s)), 3)
    end
  end
  return v
end

function meta.__index(t, k)
  local m = methods[k]
  if m ~= nil then return m end
  local kt = type(k)
  if kt == "number" then
    if t:dim() == 0 then error("bad argument #2 to 'index' (cannot index a 0-d tensor)", 2) end
    return scalar_or_view(t:select(1, k))
  elseif kt == "string" then
    if k == "shape" then return t:size()
    elseif k == "ndim" then return t:dim() end
    return nil
  elseif is_tensor(k) then
    if k:dtype() == "bool" then return t:masked_select(k) end
    return t:index_select(1, k)
  elseif kt == "table" then
    return scalar_or_view(index_view(t, k, "index"))
  end
  error("bad argument #2 to 'index' (integer, table, or tensor key expected, got " .. kt .. ")", 2)
end

function meta.__newindex(t, k, value)
  local kt = type(k)
  if kt == "number" then
    if t:dim() == 0 then error("bad argument #2 to 'newindex' (cannot index a 0-d tensor)", 2) end
    t:select(1, k):copy_(value)
  elseif is_tensor(k) then
    if k:dtype() == "bool" then t:masked_assign_(k, value)
    else t:index_select(1, k) -- validates indices
      for i, row in ipairs(k:totable()) do t:select(1, row):copy_(is_tensor(value) and value[i] or value) end
    end
  elseif kt == "table" then
    index_view(t, k, "newindex"):copy_(value)
  else
    error("bad argument #2 to 'newindex' (cannot assign to field '" .. tostring(k) .. "' of a tensor)", 2)
  end
end

meta.__len = function(t) return t:dim() > 0 and t:size(1) or 0 end
meta.__add = E.add
meta.__sub = E.sub
meta.__mul = E.mul
meta.__div = E.div
meta.__pow = E.pow
meta.__idiv = E.floor_divide
meta.__mod = E.remainder
meta.__unm = function(t) return E.neg(t) end

---------------------------------------------------------------------------
-- printing (numpy-like: aligned columns, "..." past a threshold)
---------------------------------------------------------------------------

local printopts = { precision = 4, threshold = 1000, edgeitems = 3, linewidth = 80 }
function M.set_printoptions(o)
  for k, v in pairs(o) do
    if printopts[k] == nil then error("bad argument #1 to 'set_printoptions' (unknown option '" .. k .. "')", 2) end
    printopts[k] = v
  end
end
function M.get_printoptions() local c = {} for k, v in pairs(printopts) do c[k] = v end return c end

-- Keeps the first and last `edge` entries of every long dim.
local function summarize(t, edge)
  for d = 1, t:dim() do
    local n = t:size(d)
    if n > 2 * edge then
      t = X.cat({ t:narrow(d, 1, edge), t:narrow(d, n - edge + 1, edge) }, d)
    end
  end
  return t
end

local function float_formatter(vals, prec)
  local maxa, mina, allint = 0, math.huge, true
  for _, v in ipairs(vals) do
    if v == v and v ~= math.huge and v ~= -math.huge then
      local a = math.abs(v)
      if a > maxa then maxa = a end
      if a > 0 and a < mina then mina = a end
      if v ~= math.floor(v) then allint = false end
    end
  end
  local sci = maxa >= 1e8 or (mina < 1e-4 and mina > 0) or (mina ~= math.huge and maxa / mina > 1e3 and not allint)
  local digits = 0
  if not sci and not allint then -- fewest digits (<= prec) that show every value, as numpy's maxprec
    for _, v in ipairs(vals) do
      if v == v and math.abs(v) ~= math.huge then
        local s = ("%." .. prec .. "f"):format(v):gsub("0+$", "")
        local frac = s:match("%.(%d*)$") or ""
        if #frac > digits then digits = #frac end
      end
    end
  end
  return function(v)
    if v ~= v then return "nan" elseif v == math.huge then return "inf" elseif v == -math.huge then return "-inf" end
    if sci then return ("%." .. prec .. "e"):format(v) end
    if digits == 0 then return ("%.0f."):format(v) end
    -- trailing zeros become spaces so decimal points line up, as numpy prints
    local str = ("%." .. digits .. "f"):format(v)
    local stripped = str:gsub("0+$", "")
    return stripped .. (" "):rep(#str - #stripped)
  end
end

local function formatter(t, flat)
  local dt = C.dtype(t)
  if dt == "bool" then return function(v) return v and "true" or "false" end end
  if dt:match("int") then return function(v) return tostring(v) end end
  return float_formatter(flat, printopts.precision)
end

local function flatten_table(x, out)
  if type(x) ~= "table" then out[#out + 1] = x return out end
  for _, v in ipairs(x) do flatten_table(v, out) end
  return out
end

local function render(tab, shape, d, fmt, width, indent, cut, edge)
  if d > #shape then return (" "):rep(width - #fmt(tab)) .. fmt(tab) end
  local parts, n = {}, #tab
  for i = 1, n do
    parts[#parts + 1] = render(tab[i], shape, d + 1, fmt, width, indent .. " ", cut, edge)
    if cut[d] and i == edge then parts[#parts + 1] = "..." end
  end
  local sep = d == #shape and ", " or (",\n" .. ("\n"):rep(#shape - d - 1) .. indent .. " ")
  return "[" .. table.concat(parts, sep) .. "]"
end

function M.tostring(t)
  local shape, n = t:size(), t:numel()
  local sh = "[" .. table.concat(shape, "x") .. "]"
  local head = ("Tensor %s %s"):format(C.dtype(t), sh)
  if n == 0 then return head .. " (empty)" end
  local edge, cut = printopts.edgeitems, {}
  local shown = t
  if n > printopts.threshold then
    for d = 1, #shape do cut[d] = shape[d] > 2 * edge end
    shown = summarize(t, edge)
  end
  local tab = shown:totable()
  if #shape == 0 then return head .. "\n" .. formatter(t, { tab })(tab) end
  local flat = flatten_table(tab, {})
  local fmt, width = formatter(t, flat), 0
  for _, v in ipairs(flat) do width = math.max(width, #fmt(v)) end
  return head .. "\n" .. render(tab, shape, 1, fmt, width, "", cut, edge)
end
meta.__tostring = M.tostring
methods.tostring = M.tostring
meta.__name = "Tensor"

return setmetatable(M, { __call = function(_, ...) return M.new(...) end })
