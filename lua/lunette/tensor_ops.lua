-- lunette.tensor_ops: the names a numpy or torch user types first (x.T, argsort, astype,
-- meshgrid, einsum), written on top of the tensor kernels; lunette.tensor installs them.
-- docs/CONVENTIONS.md lists where lunette follows numpy, where torch, and why.
local C = require "lunette._tensor"

local M = {}

local function is_tensor(x) return getmetatable(x) == C.meta end

-- Raises at the line that called the public function: depth is how many helper frames sit
-- between argerr and that function (0 when the function calls argerr itself).
local function argerr(n, fname, msg, depth)
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), 3 + (depth or 0))
end

local function check_tensor(n, fname, x)
  if not is_tensor(x) then argerr(n, fname, "tensor expected, got " .. type(x), 1) end
end

---------------------------------------------------------------------------
-- transposes, conversions, argsort
---------------------------------------------------------------------------

-- t:t() -> Tensor
-- The transpose of a tensor of at most 2 dims (a view), as torch's t():
-- 0-d and 1-d tensors are returned as they are; more dims raise (use
-- t:transpose(d1, d2), t:permute(...) or t.T).
function M.t(t)
  check_tensor(1, "t", t)
  if t:dim() > 2 then
    argerr(1, "t", ("expects a tensor of at most 2 dims, got %d (use transpose(d1, d2) or .T)")
      :format(t:dim()))
  end
  return t:transpose()
end

-- t.T -> Tensor
-- permute_reversed(t): a view with every dim reversed, as numpy's .T (and torch's, which
-- warns past 2 dims): the transpose of a matrix, [a x b x c] gives [c x b x a], a 0-d or
-- 1-d tensor is itself.
function M.permute_reversed(t)
  local n = t:dim()
  if n < 2 then return t end
  local dims = {}
  for i = 1, n do dims[i] = n + 1 - i end
  return t:permute(dims)
end

-- t:astype(dtype [, copy = false]) -> Tensor
-- The alias of t:to(dtype [, copy]) for numpy users. Unlike numpy's astype it returns t itself
-- when t already has that dtype (as torch's to); pass copy = true for a new tensor.
function M.astype(t, dtype, copy)
  check_tensor(1, "astype", t)
  return t:to(dtype, copy)
end

-- argsort(t [, dim = -1 [, descending = false]]) -> Tensor
-- The 1-based int64 positions that sort t along dim (what t:sort returns second): stable,
-- so equal values keep their order, descending too; NaN last. t:index_select or gather with
-- them gives the sorted values.
function M.argsort(t, dim, descending)
  check_tensor(1, "argsort", t)
  if dim ~= nil and math.type(dim) ~= "integer" then
    argerr(2, "argsort", "dim must be an integer, got " .. type(dim))
  end
  if descending ~= nil and type(descending) ~= "boolean" then
    argerr(3, "argsort", "descending must be a boolean, got " .. type(descending))
  end
  local _, idx = t:sort(dim, descending)
  return idx
end

---------------------------------------------------------------------------
-- meshgrid
---------------------------------------------------------------------------

-- meshgrid(x1, x2, ... [, {indexing = "xy"}]) -> X1, X2, ...
-- Coordinate grids of 1-d tensors (or Lua arrays of numbers), as numpy.meshgrid: with
-- indexing "xy" (the default, numpy's and matplotlib's: rows follow the second input, so
-- X, Y = meshgrid(x, y) are [#y x #x] for contour and imshow) or "ij" (torch's default:
-- output i has input i's length along dim i). The grids are contiguous copies, safe to write.
function M.meshgrid(...)
  local args = table.pack(...)
  local opts = {}
  if args.n > 0 and type(args[args.n]) == "table" and not is_tensor(args[args.n])
      and args[args.n][1] == nil and next(args[args.n]) ~= nil then
    opts = args[args.n]
    args.n = args.n - 1
    require("lunette.options").check("meshgrid", args.n + 1, opts, { "indexing" })
  end
  local indexing = opts.indexing or "xy"
  if indexing ~= "xy" and indexing ~= "ij" then
    argerr(args.n + 1, "meshgrid", ("indexing must be 'xy' or 'ij', got '%s'"):format(tostring(indexing)))
  end
  if args.n == 0 then argerr(1, "meshgrid", "at least one 1-d tensor expected") end
  local xs, sizes = {}, {}
  for i = 1, args.n do
    local v = args[i]
    if type(v) == "table" and not is_tensor(v) then v = C.fromtable(v) end
    if not is_tensor(v) or v:dim() ~= 1 then
      argerr(i, "meshgrid", "1-d tensor expected, got "
        .. (is_tensor(v) and (v:dim() .. "-d tensor") or type(v)))
    end
    xs[i], sizes[i] = v, v:size(1)
  end
  local out = {}
  for i, v in ipairs(xs) do
    local shape = {}
    for d = 1, #xs do shape[d] = d == i and sizes[i] or 1 end
    local g = v:reshape(shape):expand(sizes)
    if indexing == "xy" and #xs >= 2 then g = g:transpose(1, 2) end
    out[i] = g:contiguous()
  end
  return table.unpack(out, 1, #xs)
end

---------------------------------------------------------------------------
-- einsum
---------------------------------------------------------------------------

-- An operand: its tensor and its letters, one per dim.
local function letters_of(s)
  local t = {}
  for ch in s:gmatch(".") do t[#t + 1] = ch end
  return t
end

local function index_of(list, x)
  for i, v in ipairs(list) do
    if v == x then return i end
  end
end

-- Parses "ij,jk->ik" (spaces allowed; without "->", the output is the letters that occur
-- once, sorted, as numpy) into input letter lists and the output letters.
local function parse_spec(spec, nops)
  spec = spec:gsub("%s", "")
  if spec:find("%.%.%.") then
    argerr(1, "einsum", "'...' (broadcast dims) is not supported; name every dim with a letter", 1)
  end
  local lhs, rhs = spec:match("^(.-)%->(.*)$")
  if not lhs then lhs = spec end
  local ins = {}
  for part in (lhs .. ","):gmatch("([^,]*),") do ins[#ins + 1] = letters_of(part) end
  if #ins ~= nops then
    argerr(1, "einsum", ("'%s' names %d operands, %d given"):format(spec, #ins, nops), 1)
  end
  local count = {}
  for _, l in ipairs(ins) do
    for _, ch in ipairs(l) do
      if not ch:match("^%a$") then
        argerr(1, "einsum", ("'%s': subscripts must be letters, got '%s'"):format(spec, ch), 1)
      end
      count[ch] = (count[ch] or 0) + 1
    end
  end
  local out
  if rhs then
    out = letters_of(rhs)
    local seen = {}
    for _, ch in ipairs(out) do
      if not count[ch] then
        argerr(1, "einsum", ("'%s': output letter '%s' is in no input"):format(spec, ch), 1)
      end
      if seen[ch] then argerr(1, "einsum", ("'%s': output letter '%s' repeated"):format(spec, ch), 1) end
      seen[ch] = true
    end
  else
    out = {}
    for ch, n in pairs(count) do
      if n == 1 then out[#out + 1] = ch end
    end
    table.sort(out)
  end
  return ins, out
end

-- Collapses a letter repeated within one operand to its diagonal ("ii" -> "i"): t times an
-- identity mask over the two dims, summed over the second.
local function take_diagonals(t, l)
  local i = 1
  while i <= #l do
    local j = index_of({ table.unpack(l, i + 1) }, l[i])
    if j then
      j = i + j
      local n = t:size(i)
      if t:size(j) ~= n then
        argerr(1, "einsum", ("letter '%s' has sizes %d and %d in one operand"):format(l[i], n, t:size(j)), 1)
      end
      local shape = {}
      for d = 1, #l do shape[d] = (d == i or d == j) and n or 1 end
      local mask = C.eye(n, n, t:dtype() == "bool" and "int64" or t:dtype()):reshape(shape)
      t = C.sum(t * mask, j)
      table.remove(l, j)
    else
      i = i + 1
    end
  end
  return t, l
end

-- Sums away the letters of operand (t, l) that no other operand and not the output need.
local function sum_private(t, l, keep)
  for d = #l, 1, -1 do
    if not keep[l[d]] then
      t = C.sum(t, d)
      table.remove(l, d)
    end
  end
  return t, l
end

-- t permuted so that its letters read `order`, reshaped to the sizes of the groups.
local function arrange(t, l, groups)
  local perm, shape = {}, {}
  for _, g in ipairs(groups) do
    local n = 1
    for _, ch in ipairs(g) do
      perm[#perm + 1] = index_of(l, ch)
      n = n * t:size(index_of(l, ch))
    end
    shape[#shape + 1] = n
  end
  if #perm > 0 then t = t:permute(perm) end
  return t:reshape(shape)
end

-- The product of two operands summed over the letters in neither `keep` nor the other: as one
-- batched matrix product [B x L x K] @ [B x K x R] (the contraction BLAS does).
local function contract(a, la, b, lb, keep)
  local batch, left, inner, right, size = {}, {}, {}, {}, {}
  for d, ch in ipairs(la) do size[ch] = a:size(d) end
  for d, ch in ipairs(lb) do
    if size[ch] and size[ch] ~= b:size(d) then
      argerr(1, "einsum", ("letter '%s' has sizes %d and %d"):format(ch, size[ch], b:size(d)), 1)
    end
    size[ch] = b:size(d)
  end
  for _, ch in ipairs(la) do
    if index_of(lb, ch) then
      if keep[ch] then batch[#batch + 1] = ch else inner[#inner + 1] = ch end
    else
      left[#left + 1] = ch
    end
  end
  for _, ch in ipairs(lb) do
    if not index_of(la, ch) then right[#right + 1] = ch end
  end
  local A = arrange(a, la, { batch, left, inner })
  local B = arrange(b, lb, { batch, inner, right })
  local prod = A:bmm(B)
  local letters, shape = {}, {}
  for _, g in ipairs { batch, left, right } do
    for _, ch in ipairs(g) do
      letters[#letters + 1] = ch
      shape[#shape + 1] = size[ch]
    end
  end
  return prod:reshape(shape), letters
end

-- einsum(subscripts, t1, t2, ...) -> Tensor | number
-- Einstein summation as numpy.einsum and torch.einsum: "ij,jk->ik" (matmul), "bij,bjk->bik"
-- (batched), "ji" or "ij->ji" (transpose), "ii" (trace), "ii->i" (diagonal), "i,j->ij"
-- (outer), "i,i" (dot), "ij->j" (sum over i), and any chain of these over several operands
-- (contracted pairwise, left to right, each pair as one batched matrix product). Without
-- "->", the output is the letters that occur once, in alphabetical order. A full contraction
-- gives a 0-d result as a Lua number. Raises on '...' (not supported), a letter with two
-- sizes, an output letter in no input, or a wrong operand count.
function M.einsum(spec, ...)
  if type(spec) ~= "string" then argerr(1, "einsum", "subscripts string expected, got " .. type(spec)) end
  local ops = table.pack(...)
  for i = 1, ops.n do check_tensor(i + 1, "einsum", ops[i]) end
  if ops.n == 0 then argerr(2, "einsum", "at least one tensor expected") end
  local ins, out = parse_spec(spec, ops.n)
  for i = 1, ops.n do
    if #ins[i] ~= ops[i]:dim() then
      argerr(i + 1, "einsum", ("'%s' has %d letters for a %d-d tensor"):format(table.concat(ins[i]), #ins[i], ops[i]:dim()))
    end
  end
  local ts, ls = {}, {}
  for i = 1, ops.n do ts[i], ls[i] = take_diagonals(ops[i], { table.unpack(ins[i]) }) end
  -- Letters needed later: by the output or by an operand not yet folded in.
  local function needed(from)
    local keep = {}
    for _, ch in ipairs(out) do keep[ch] = true end
    for k = from, ops.n do
      for _, ch in ipairs(ls[k]) do keep[ch] = true end
    end
    return keep
  end
  local acc, lacc = sum_private(ts[1], ls[1], needed(2))
  for k = 2, ops.n do
    local keep = needed(k + 1)
    -- operand k keeps what the accumulated product shares with it, too
    local keep_k = needed(k + 1)
    for _, ch in ipairs(lacc) do keep_k[ch] = true end
    local b, lb = sum_private(ts[k], ls[k], keep_k)
    acc, lacc = contract(acc, lacc, b, lb, keep)
  end
  acc, lacc = sum_private(acc, lacc, needed(ops.n + 1))
  local perm = {}
  for i, ch in ipairs(out) do perm[i] = index_of(lacc, ch) end
  if #perm > 1 then acc = acc:permute(perm):contiguous() end
  if acc:dim() == 0 then return acc:item() end
  return acc
end

return M
