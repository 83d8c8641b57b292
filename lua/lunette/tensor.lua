-- lunette.tensor: constructors, operators, slicing syntax and the numpy-like printer.
--
-- Indexing. Positions are 1-based and negative ones count from the end (-1 is the last).
-- An integer picks along the first dim; a table gives one entry per dim, each an integer
-- (that position: the dim is dropped), {first, last [, step]} (a range, both ends included,
-- as in torch7 and Lua's own for loops), {} or ":" (the whole dim); dims left out are whole.
-- Every one of these is a view: writing into it writes into t. One element reads as a number.
--   local t = lt.arange(12):reshape(3, 4)   -- [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
--   t[1]                  -- row 1, [0, 1, 2, 3] (t[-1] is the last row)
--   t[{2, 3}]             -- the element at row 2, column 3: the number 6
--   t[{{}, {2, 3}}]       -- columns 2 to 3 of every row, [3 x 2]
--   t[{":", {1, 4, 2}}]   -- columns 1 and 3 (step 2)
--   t[{{-2, -1}}]         -- the last two rows
-- A bool tensor is a mask: t[mask] is the 1-d tensor of the elements where mask is true
-- (numpy's t[mask]); a 1-d mask of t's first size keeps those rows instead. An integer
-- tensor picks rows, in its order and with repeats (index_select on dim 1). Both copy.
--   t[t:gt(5)]                    -- [6, 7, 8, 9, 10, 11]
--   t[lt.tensor({3, 1})]          -- rows 3 and 1, [2 x 4]
--   t[lt.tensor({true, false, true})]  -- rows 1 and 3
-- Assignment takes the same keys, with a number or a tensor of the selected shape:
--   t[{1, {1, 2}}] = 0            -- through the view
--   t[t:gt(9)] = -1               -- masked_assign_
--   t[lt.tensor({2})] = 7         -- the listed rows
-- t.shape is t:size() (a table), t.ndim t:dim(), #t the first size (0 for a 0-d tensor).

-- raise(msg): a façade error at the user's line (lunette.options).
local function raise(msg) require("lunette.options").raise(msg) end
local C = require "lunette._tensor"
-- The C half of linalg registers the products as tensor methods (t:matmul(u),
-- mm, bmm, mv, dot, outer): loaded here, they exist from a script's first
-- line and in the REPL's completion, not only once lunette.linalg is touched.
-- It only registers functions; OpenBLAS is still opened on the first product.
require "lunette._linalg"

local M = {}
local meta = C.meta
local methods = meta.__methods
for k, v in pairs(C) do
  if k ~= "meta" then M[k] = v end
end

local function is_tensor(x) return getmetatable(x) == meta end
-- is_tensor(x) -> true when x is a lunette tensor (any dtype), false for anything else.
M.is_tensor = is_tensor

---------------------------------------------------------------------------
-- docs of the functions the C half registers (lunette._tensor); each is
-- both lunette.tensor.name(t, ...) and the method t:name(...)
---------------------------------------------------------------------------

--- fromtable(nested [, dtype]) -> Tensor
-- The tensor of a nested Lua table of numbers or booleans (rectangular; the
-- shape is read from the first elements). The dtype is inferred when omitted:
-- all booleans give bool, all integers int64, otherwise float32. Ragged
-- tables and non-numbers raise an error naming the offending entry.

--- frombytes(str, dtype, shape) -> Tensor
-- A new tensor holding a copy of the raw bytes of string str, read as
-- dtype in row-major order with the given shape table; fails when #str is
-- not numel * the dtype's size.

--- linspace(a, b, n [, dtype = "float32"]) -> Tensor [n]
-- n evenly spaced values from a to b, both included (n = 1 gives {a});
-- fails when n is negative.

--- eye(n [, m = n [, dtype = "float32"]]) -> Tensor [n x m]
-- The identity matrix (ones on the main diagonal); sizes must be >= 0.

--- memory() -> bytes
-- Live bytes held by tensor storages (what the GC will give back when they
-- die); also lunette.memory.

--- clock() -> seconds
-- time() -> seconds
-- Monotonic wall-clock time in seconds (a float), for timing; lunette.time
-- is lunette.tensor.clock.

--- t:size([dim]) -> {sizes} | integer
-- size(t [, dim]): the shape as a new table, or the size of one dimension
-- (1-based, negatives count from the end). t.shape is t:size() (a field, as numpy's and
-- torch's .shape: there is no t:shape()); t.T is the transpose (every dim reversed, numpy's
-- .T; a view).

--- t:stride() -> {strides}
-- stride(t): the element strides of every dimension (a view's may be 0 or
-- out of order).

--- t:dim() -> integer
-- dim(t): the number of dimensions (0 for a scalar tensor); also t.ndim.

--- t:numel() -> integer
-- numel(t): the number of elements, the product of the sizes.

--- t:dtype() -> string
-- dtype(t): "float32", "float64", "float16", "bfloat16", "int64", "int32",
-- "uint8" or "bool".

--- t:is_contiguous() -> boolean
-- is_contiguous(t): whether the elements are laid out densely in row-major order.

--- t:nbytes() -> integer
-- nbytes(t): numel times the element size (the bytes a contiguous copy takes).

--- t:same_storage(u) -> boolean
-- same_storage(t, u): whether two tensors are views of the same memory.

--- t:item() -> number | integer | boolean
-- item(t): the value of a one-element tensor (any shape); fails for any
-- other element count.

--- t:get(i1, ..., in) -> number | integer | boolean
-- get(t, ...): one element by 1-based indices (negatives count from the
-- end); needs exactly t:dim() indices, each in range.

--- t:totable() -> nested table
-- totable(t): the values as nested Lua tables (a number for a 0-d tensor);
-- refuses tensors of more than 1e8 elements.

--- t:tobytes() -> string
-- tobytes(t): the raw row-major bytes of the elements (of a contiguous copy).

--- t:to(dtype [, copy = false]) -> Tensor
-- to(t, dtype [, copy]): t converted to dtype (floats to integers truncate
-- toward zero); returns t itself when it already has that dtype, unless copy.

--- t:clone() -> Tensor
-- clone(t): a contiguous copy with the same dtype and shape.

--- t:contiguous() -> Tensor
-- contiguous(t): t itself when contiguous, else a contiguous copy.

--- t:copy_(src) -> t
-- copy_(t, src): writes src (a tensor or a number, converted to t's dtype)
-- into t in place, broadcasting it to t's shape; fails when it does not broadcast.

--- t:fill_(value) -> t
-- fill_(t, value): sets every element to a number or boolean, in place.

--- t:reshape(shape...) -> Tensor
-- reshape(t, sizes... | {sizes}): the same elements with a new shape (one
-- size may be -1, inferred); a view when the strides allow, else a copy.
-- Fails when the element counts differ.

--- t:view(shape...) -> Tensor
-- view(t, sizes... | {sizes}): as reshape but always a view; fails when
-- t's strides cannot be viewed with that shape (use reshape).

--- t:flatten([start_dim = 1 [, end_dim = -1]]) -> Tensor
-- flatten(t, ...): dims start_dim..end_dim merged into one (a view when
-- possible); a 0-d tensor gives [1].

--- t:transpose([d1, d2]) -> Tensor
-- transpose(t, d1, d2): a view with two dims swapped; without dims t must
-- be 2-d (swaps 1 and 2) or have fewer than 2 dims (returned as is). t:t() is
-- t:transpose().

--- t:permute(d1, ..., dn | {dims}) -> Tensor
-- permute(t, ...): a view with the dims reordered; needs one entry per dim,
-- a permutation.

--- t:select(dim, i) -> Tensor
-- A view of index i (1-based, negatives from the end) along dim, that dim
-- removed; t[i] is t:select(1, i) (a number for a 1-d t). Also
-- lunette.tensor.select(t, dim, i) (lunette.select is the selection module).

--- t:narrow(dim, start, length) -> Tensor
-- narrow(t, dim, start, length): a view of length entries from start
-- (1-based) along dim; fails when the range leaves the tensor.

--- t:slice(dim [, first = 1 [, last = -1 [, step = 1]]]) -> Tensor
-- slice(t, ...): a view of first..last inclusive (1-based, negatives from
-- the end) by step >= 1; last before first gives an empty view.
-- t[{{a, b}, {}, {a, b, step}}] slices several dims at once.

--- t:squeeze([dim]) -> Tensor
-- squeeze(t [, dim]): a view without the size-1 dims (or only dim, if it
-- has size 1).

--- t:unsqueeze(dim) -> Tensor
-- unsqueeze(t, dim): a view with a new size-1 dim at position dim (1..ndim+1).

--- t:expand(sizes... | {sizes}) -> Tensor
-- expand(t, ...): a broadcast view (stride 0) to a larger shape; -1 keeps a
-- size; fails when t does not broadcast to it. Writing to it is undefined.

--- t:diagonal() -> Tensor
-- diagonal(t): a view of the main diagonal of a 2-d tensor.

--- add(a, b) -> Tensor
-- sub(a, b) -> Tensor
-- mul(a, b) -> Tensor
-- div(a, b) -> Tensor
-- pow(a, b) -> Tensor
-- maximum(a, b) -> Tensor
-- minimum(a, b) -> Tensor
-- floor_divide(a, b) -> Tensor
-- remainder(a, b) -> Tensor
-- atan2(a, b) -> Tensor
-- Elementwise binary operations (also a:add(b), a + b, a - b, a * b, a / b,
-- a ^ b, a // b, a % b); a or b may be a number. The shapes broadcast as in
-- numpy, the result dtype is the promotion of both (div and atan2 always give
-- floats; remainder has the sign of b, as Lua's %). Fails with both shapes
-- named when they do not broadcast.

--- add_(a, b) -> a
-- sub_(a, b) -> a
-- mul_(a, b) -> a
-- div_(a, b) -> a
-- pow_(a, b) -> a
-- maximum_(a, b) -> a
-- minimum_(a, b) -> a
-- floor_divide_(a, b) -> a
-- remainder_(a, b) -> a
-- atan2_(a, b) -> a
-- In-place forms of the binary operations: the result is written into a
-- (keeping its dtype) and a returned; b must broadcast to a's shape; div_ and
-- atan2_ need a float a.

--- eq(a, b) -> bool Tensor
-- ne(a, b) -> bool Tensor
-- lt(a, b) -> bool Tensor
-- le(a, b) -> bool Tensor
-- gt(a, b) -> bool Tensor
-- ge(a, b) -> bool Tensor
-- logical_and(a, b) -> bool Tensor
-- logical_or(a, b) -> bool Tensor
-- logical_xor(a, b) -> bool Tensor
-- Elementwise comparisons and logical operations (nonzero is true), with
-- broadcasting; a or b may be a number. The `_` forms (eq_, ..., logical_xor_)
-- write 0/1 into a in place and return it.

--- eq_(a, b) -> a
-- ne_(a, b) -> a
-- lt_(a, b) -> a
-- le_(a, b) -> a
-- gt_(a, b) -> a
-- ge_(a, b) -> a
-- logical_and_(a, b) -> a
-- logical_or_(a, b) -> a
-- logical_xor_(a, b) -> a
-- In-place comparisons: a receives 1/0 (true/false) in its own dtype; b must
-- broadcast to a's shape.

--- neg(t) -> Tensor
-- abs(t) -> Tensor
-- sign(t) -> Tensor
-- floor(t) -> Tensor
-- ceil(t) -> Tensor
-- round(t) -> Tensor
-- trunc(t) -> Tensor
-- square(t) -> Tensor
-- relu(t) -> Tensor
-- Elementwise functions that keep the dtype (bool input gives int64); round
-- rounds halves away from zero. Also t:neg(), -t, etc.

--- exp(t) -> Tensor
-- log(t) -> Tensor
-- log1p(t) -> Tensor
-- expm1(t) -> Tensor
-- log2(t) -> Tensor
-- sqrt(t) -> Tensor
-- rsqrt(t) -> Tensor
-- sin(t) -> Tensor
-- cos(t) -> Tensor
-- tan(t) -> Tensor
-- atan(t) -> Tensor
-- tanh(t) -> Tensor
-- sigmoid(t) -> Tensor
-- gelu(t) -> Tensor
-- reciprocal(t) -> Tensor
-- Elementwise math functions; integer and bool inputs give float32, floats
-- keep their dtype (rsqrt = 1/sqrt, gelu the exact erf form). Out-of-domain
-- inputs give NaN or inf, as in C.

--- neg_(t) -> t
-- abs_(t) -> t
-- sign_(t) -> t
-- floor_(t) -> t
-- ceil_(t) -> t
-- round_(t) -> t
-- trunc_(t) -> t
-- square_(t) -> t
-- relu_(t) -> t
-- exp_(t) -> t
-- log_(t) -> t
-- log1p_(t) -> t
-- expm1_(t) -> t
-- log2_(t) -> t
-- sqrt_(t) -> t
-- rsqrt_(t) -> t
-- sin_(t) -> t
-- cos_(t) -> t
-- tan_(t) -> t
-- atan_(t) -> t
-- tanh_(t) -> t
-- sigmoid_(t) -> t
-- gelu_(t) -> t
-- reciprocal_(t) -> t
-- logical_not_(t) -> t
-- In-place forms of the elementwise functions: t is overwritten and
-- returned; fails when the result would need another dtype (e.g. exp_ of an
-- integer tensor).

--- logical_not(t) -> bool Tensor
-- isnan(t) -> bool Tensor
-- isinf(t) -> bool Tensor
-- isfinite(t) -> bool Tensor
-- Elementwise predicates: not t (zero is false), NaN, +-inf, neither.

--- clamp(t [, lo [, hi]]) -> Tensor
-- clamp_(t [, lo [, hi]]) -> t
-- Every element limited to [lo, hi] (a nil bound is open); clamp_ works in
-- place. Fails when a bound is NaN or hi < lo.

--- where(cond, a, b) -> Tensor
-- Elementwise cond ? a : b, with cond a tensor (nonzero is true) and a, b
-- tensors or numbers; the three broadcast together and the result dtype is
-- the promotion of a and b.

--- sum(t [, dims [, keepdim = false]]) -> Tensor | number
-- mean(t [, dims [, keepdim]]) -> Tensor | number
-- prod(t [, dims [, keepdim]]) -> Tensor | number
-- logsumexp(t [, dims [, keepdim]]) -> Tensor | number
-- count_nonzero(t [, dims [, keepdim]]) -> Tensor | integer
-- all(t [, dims [, keepdim]]) -> Tensor | boolean
-- any(t [, dims [, keepdim]]) -> Tensor | boolean
-- Reductions over dims (an integer, a table of dims, or nil for every
-- element). Without dims the result is a Lua value (floats accumulated in
-- float64); with dims a tensor without those dims (kept as size 1 when
-- keepdim). Integer sums stay int64; mean of integers gives float32. An
-- empty dims table reduces each element alone, as numpy's axis=(): a new
-- tensor of t's shape (sum gives a copy in sum's dtype).

--- max(t [, dim [, keepdim = false]]) -> values, indices | number
-- min(t [, dim [, keepdim]]) -> values, indices | number
-- argmax(t [, dim [, keepdim]]) -> Tensor | integer
-- argmin(t [, dim [, keepdim]]) -> Tensor | integer
-- The largest (smallest) element: without dim a Lua number (argmax: its
-- 1-based flat index); with dim (an integer, or a table of exactly one) the
-- values and their 1-based int64 indices along dim. Integer tensors compare
-- exactly (int64 past 2^53 too). Fails on an empty tensor. For elementwise
-- max of two tensors see maximum.

--- var(t [, dims [, keepdim = false [, unbiased = true]]]) -> Tensor | number
-- The variance over dims (all elements when nil), dividing by n - 1 unless
-- unbiased is false; std is its square root.

--- norm(t [, p = 2 [, dims [, keepdim = false]]]) -> Tensor | number
-- The p-norm (p = 1, 2 or math.huge) over dims, all elements when nil (the
-- Frobenius norm of a matrix for p = 2); other p raise an error.

--- cumsum(t [, dim]) -> Tensor
-- cumprod(t [, dim]) -> Tensor
-- Running sums (products) along dim, required unless t is 1-d; integer
-- inputs accumulate in int64.

--- sort(t [, dim = -1 [, descending = false]]) -> values, indices
-- The values sorted along dim and their 1-based int64 positions in t
-- (stable; NaN last; integers compared exactly, int64 past 2^53 too).

--- topk(t, k [, dim = -1 [, largest = true]]) -> values, indices
-- The k largest (smallest) entries along dim, in order, and their 1-based
-- int64 indices; fails unless 0 <= k <= the size of dim.

--- unique(t) -> values, counts
-- The distinct values of t, sorted, as a 1-d tensor, and how many times
-- each occurs (int64).

--- bincount(x [, minlength = 0 [, weights]]) -> Tensor
-- Counts of each value of a 1-d integer tensor of non-negative values
-- (counts[v + 1] counts value v; int64), of length max(max(x) + 1, minlength).
-- With weights (1-d, same length) sums them instead (float64). Fails on a
-- negative value.

--- histogram(t [, bins = 10 [, lo, hi]]) -> counts, edges
-- A histogram of all elements into bins equal bins over [lo, hi] (default
-- the finite min and max of t; a zero-width range is widened by 0.5 each
-- side): int64 counts [bins] and float64 edges [bins + 1]; values outside the
-- range are ignored. Fails when hi - lo overflows float64 (as numpy).

--- index_select(t, dim, idx) -> Tensor
-- The entries at 1-based indices idx (an integer tensor or a table) along
-- dim, gathered into a new tensor (t[idx] for dim 1); fails on an index out
-- of range.

--- gather(t, dim, idx) -> Tensor
-- out[i][j] = t[i][idx[i][j]] for dim 2 (and likewise for other dims): idx
-- is an integer tensor of t's rank with 1-based indices; the result has
-- idx's shape.

--- scatter(t, dim, idx, src) -> Tensor
-- scatter_(t, dim, idx, src) -> t
-- scatter_add(t, dim, idx, src) -> Tensor
-- scatter_add_(t, dim, idx, src) -> t
-- The inverse of gather: out[i][idx[i][j]] = src[i][j] (for dim 2), src a
-- tensor shaped like idx or a number; the _add forms accumulate instead of
-- overwriting; the `_` forms work in place on t.

--- masked_select(t, mask) -> Tensor
-- The elements where the bool mask (broadcast to t) is true, as a 1-d
-- tensor; t[mask] for a mask of t's shape.

--- masked_fill(t, mask, value) -> Tensor
-- masked_fill_(t, mask, value) -> t
-- masked_assign_(t, mask, src) -> t
-- A copy (masked_fill) or t itself with value written where the bool mask
-- is true; masked_assign_ writes the elements of src (one per true entry, or
-- broadcast); t[mask] = v is masked_assign_.

--- nonzero(t) -> Tensor [n x ndim]
-- The 1-based int64 coordinates of the nonzero elements, one row each, in
-- row-major order.

--- one_hot(labels, num_classes [, dtype = "float32"]) -> Tensor [..., C]
-- One-hot rows for 1-based integer labels, C = num_classes columns; fails
-- on a label out of 1..C.

--- cat(list [, dim = 1]) -> Tensor
-- The tensors of a Lua array joined along dim; they must agree in every
-- other dimension (and dtype after promotion).

--- stack(list [, dim = 1]) -> Tensor
-- The tensors of a Lua array (equal shapes) stacked along a new dim.

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
        raise(("bad argument #%d to '%s' (size or dtype expected, got %s)"):format(i, fname, type(v)))
      end
    end
  end
  local dtype = last
  if type(last) == "table" then
    -- array: a size from a call with two results, lt.empty(n, nn.param_dim(m)), passes a list too
    require("lunette.options").check(fname, math.max(n, 2), last, { "dtype" }, true)
    dtype = last.dtype
  end
  return shape, dtype
end

-- empty(sizes... | {sizes} [, dtype | {dtype = ...}]) -> Tensor
-- A new tensor of that shape and dtype (default float32) whose elements are
-- not initialised; sizes are non-negative integers.
function M.empty(...) local s, d = shape_args("empty", ...); return C.empty(s, d) end
-- zeros(sizes... | {sizes} [, dtype | {dtype = ...}]) -> Tensor
-- A new tensor filled with 0: zeros(3, 4), zeros({3, 4}, "int64"); the dtype
-- defaults to float32. A non-number size raises an error naming it.
function M.zeros(...) local s, d = shape_args("zeros", ...); return C.full(s, 0, d, "zeros") end
-- ones(sizes... | {sizes} [, dtype | {dtype = ...}]) -> Tensor
-- A new tensor filled with 1 (float32 unless dtype says otherwise).
function M.ones(...) local s, d = shape_args("ones", ...); return C.full(s, 1, d, "ones") end
-- full(size | {sizes}, value [, dtype]) -> Tensor
-- A new tensor with every element set to value (the dtype defaults from the
-- value: int64 for an integer, float32 for a float, bool for a boolean).
function M.full(shape, value, dtype)
  if type(shape) == "number" then shape = { shape } end
  if type(dtype) == "table" then
    require("lunette.options").check("full", 3, dtype, { "dtype" })
    dtype = dtype.dtype
  end
  return C.full(shape, value, dtype)
end

local function like(fname, fn)
  return function(t, dtype, ...)
    if not is_tensor(t) then raise(("bad argument #1 to '%s' (tensor expected, got %s)"):format(fname, type(t))) end
    if type(dtype) == "table" then
      require("lunette.options").check(fname, 2, dtype, { "dtype" })
      dtype = dtype.dtype
    end
    return fn(t:size(), dtype or t:dtype(), ...)
  end
end
-- zeros_like(t [, dtype]) -> Tensor
-- zeros of t's shape and (unless given) dtype; fails when t is not a tensor.
M.zeros_like = like("zeros_like", function(s, d) return C.full(s, 0, d) end)
-- ones_like(t [, dtype]) -> Tensor
-- ones of t's shape and (unless given) dtype.
M.ones_like = like("ones_like", function(s, d) return C.full(s, 1, d) end)
-- empty_like(t [, dtype]) -> Tensor
-- An uninitialised tensor of t's shape and (unless given) dtype.
M.empty_like = like("empty_like", function(s, d) return C.empty(s, d) end)
-- full_like(t, value [, dtype]) -> Tensor
-- A tensor of t's shape filled with value, of t's dtype unless given.
function M.full_like(t, value, dtype) return C.full(t:size(), value, dtype or t:dtype()) end

-- new(data [, dtype]) -> Tensor
-- lunette.tensor(data [, dtype]) builds a tensor from a nested table of
-- numbers or booleans (dtype inferred: bool, int64 or float32), a number or
-- boolean (a 0-d tensor), or a tensor (a copy, converted to dtype). Fails on
-- any other type and on ragged tables.
function M.new(data, dtype)
  if type(dtype) == "table" then dtype = dtype.dtype end
  if is_tensor(data) then return data:to(dtype or data:dtype(), true) end
  if type(data) == "number" then
    return C.full({}, data, dtype or (math.type(data) == "integer" and "int64" or "float32"))
  end
  if type(data) == "boolean" then return C.full({}, data and 1 or 0, dtype or "bool") end
  if type(data) ~= "table" then
    raise("bad argument #1 to 'tensor' (table, number or tensor expected, got " .. type(data) .. ")")
  end
  return C.fromtable(data, dtype)
end

-- arange([start = 0,] stop [, step = 1] [, dtype]) -> Tensor
-- Values start, start + step, ... below stop (stop excluded, as numpy):
-- int64 when every argument is an integer, else float32. Fails when step is
-- 0 or not finite.
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

-- The checks var's binding makes, made here so that an error names std (or std_mean) and
-- points at the caller's line: dims an integer or an array ({dim = 1} is not an options
-- table), keepdim and unbiased booleans.
local function check_std_args(fname, dim, keepdim, unbiased)
  if type(dim) == "table" and not is_tensor(dim) then
    for k in pairs(dim) do
      if math.type(k) ~= "integer" or k < 1 or k > #dim then
        error(("bad argument #2 to '%s' (dims must be an integer or an array of dims, got a table "
          .. "with key '%s' (%s takes no options table: %s(t, dims [, keepdim [, unbiased]])))")
          :format(fname, tostring(k), fname, fname), 3)
      end
    end
  end
  if keepdim ~= nil and type(keepdim) ~= "boolean" then
    error(("bad argument #3 to '%s' (keepdim must be a boolean, got %s)"):format(fname, type(keepdim)), 3)
  end
  if unbiased ~= nil and type(unbiased) ~= "boolean" then
    error(("bad argument #4 to '%s' (unbiased must be a boolean, got %s)"):format(fname, type(unbiased)), 3)
  end
end

-- std(t [, dims [, keepdim = false [, unbiased = true]]]) -> Tensor | number
-- The standard deviation, sqrt of var over dims (all elements when nil). Unbiased (divides
-- by n - 1) by default, as torch; numpy's np.std divides by n: pass unbiased = false
-- (docs/CONVENTIONS.md).
function methods.std(t, dim, keepdim, unbiased)
  check_std_args("std", dim, keepdim, unbiased)
  local v = C.var(t, dim, keepdim, unbiased)
  if type(v) == "number" then return math.sqrt(v) end
  return v:sqrt_()
end

-- t:float() -> Tensor
-- t converted to float32 (t itself if it already is).
function methods.float(t) return t:to("float32") end
-- t:double() -> Tensor
-- t converted to float64 (t itself if it already is).
function methods.double(t) return t:to("float64") end
-- t:long() -> Tensor
-- t converted to int64 (floats truncated toward zero).
function methods.long(t) return t:to("int64") end
-- t:int() -> Tensor
-- t converted to int32 (floats truncated toward zero).
function methods.int(t) return t:to("int32") end
-- t:byte() -> Tensor
-- t converted to uint8.
function methods.byte(t) return t:to("uint8") end
-- t:bool() -> Tensor
-- t converted to bool (nonzero is true).
function methods.bool(t) return t:to("bool") end
-- t:half() -> Tensor
-- t converted to float16 (storage precision).
function methods.half(t) return t:to("float16") end

-- split(t, size [, dim = 1]) -> {views}
-- Views of size entries along dim (the last may be shorter); size must be a
-- positive integer.
function methods.split(t, size, dim)
  dim = dim or 1
  local n, out = t:size(dim), {}
  if math.type(size) ~= "integer" or size < 1 then
    raise(("bad argument #2 to 'split' (positive integer size expected, got %s)"):format(tostring(size)))
  end
  for s = 1, n, size do out[#out + 1] = t:narrow(dim, s, math.min(size, n - s + 1)) end
  return out
end

-- chunk(t, k [, dim = 1]) -> {views}
-- At most k views along dim of ceil(n / k) entries each (the last may be
-- shorter); k must be a positive integer.
function methods.chunk(t, k, dim)
  dim = dim or 1
  if math.type(k) ~= "integer" or k < 1 then
    raise(("bad argument #2 to 'chunk' (positive integer count expected, got %s)"):format(tostring(k)))
  end
  return methods.split(t, math.max(1, -(-t:size(dim) // k)), dim)
end

-- normalize(t [, dim = -1 [, p = 2 [, eps = 1e-12]]]) -> Tensor
-- t divided by its p-norm along dim, floored at eps (unit rows by default).
function methods.normalize(t, dim, p, eps)
  dim = dim or -1
  local n = C.norm(t, p or 2, dim, true)
  return C.div(t, n:clamp_(eps or 1e-12))
end

-- t:std_mean([dims [, keepdim [, unbiased = true]]]) -> std, mean
-- The standard deviation and the mean over the same dims.
function methods.std_mean(t, dim, keepdim, unbiased)
  check_std_args("std_mean", dim, keepdim, unbiased)
  return methods.std(t, dim, keepdim, unbiased), C.mean(t, dim, keepdim)
end

-- equal(a, b) -> boolean
-- Whether b is a tensor of a's shape with equal values (dtypes may differ).
function methods.equal(a, b)
  if not is_tensor(b) then return false end
  local sa, sb = a:size(), b:size()
  if #sa ~= #sb then return false end
  for i = 1, #sa do if sa[i] ~= sb[i] then return false end end
  if a:numel() == 0 then return true end
  return C.eq(a, b):all()
end

-- allclose(a, b [, rtol = 1e-5 [, atol = 1e-8 [, equal_nan = false]]]) -> boolean
-- Whether |a - b| <= atol + rtol * |b| everywhere (compared in float64, b a
-- tensor or a number broadcast to a); NaNs are equal only with equal_nan.
function methods.allclose(a, b, rtol, atol, equal_nan)
  rtol, atol = rtol or 1e-5, atol or 1e-8
  a, b = a:double(), is_tensor(b) and b:double() or M.new(b, "float64")
  local diff = (a - b):abs_()
  local ok = C.le(diff, b:abs() * rtol + atol)
  if equal_nan then ok = C.logical_or(ok, C.logical_and(a:isnan(), b:isnan())) end
  return ok:numel() == 0 or ok:all()
end

-- std(t [, dims [, keepdim [, unbiased]]]): as t:std.
M.std = methods.std

-- The names numpy and torch users type first (lunette.tensor_ops): t:t(), t.T, astype,
-- argsort, meshgrid, einsum.
local ops = require "lunette.tensor_ops"
methods.t, methods.astype, methods.argsort = ops.t, ops.astype, ops.argsort

-- Devices (lunette.cuda has the details; a CPU tensor never loads the CUDA backend here).
--- t:device() -> "cpu"
-- The device of t: "cpu" here, "cuda:N" for a CUDA tensor (lunette.cuda).
function methods.device() return "cpu" end
--- t:is_cuda() -> false
-- true for a CUDA tensor (lunette.cuda), false for a CPU one.
function methods.is_cuda() return false end
--- t:cpu() -> t
-- t itself (a CPU tensor); a CUDA tensor's t:cpu() copies it to the host.
function methods.cpu(t) return t end
--- t:cuda([device]) -> CUDA tensor
-- A copy of t in the memory of GPU `device` (0-based ordinal, default 0); raises "no CUDA
-- device (reason)" on a machine without one. See lunette.cuda.
function methods.cuda(t, device) return require("lunette.cuda").to_device(t, device) end
local to_dtype = methods.to
--- t:to(dtype | "cpu" | "cuda" | "cuda:N") -> Tensor
-- A dtype name converts (as before); a device name moves: "cpu" is t itself, "cuda" and
-- "cuda:N" are t:cuda(N).
function methods.to(t, what, ...)
  if what == "cpu" then return t end
  if type(what) == "string" and what:match("^cuda") then
    return require("lunette.cuda").to_device(t, what)
  end
  return to_dtype(t, what, ...)
end
M.argsort, M.astype, M.meshgrid, M.einsum = ops.argsort, ops.astype, ops.meshgrid, ops.einsum
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
    raise(("bad argument #2 to '%s' (too many indices: %d for a %d-d tensor)"):format(fname, #spec, t:dim()))
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
      raise(("bad argument #2 to '%s' (index %d must be an integer, {first, last[, step]}, {} or \":\", got %s)")
        :format(fname, i, tostring(s)))
    end
  end
  return v
end

-- isin(t, values) -> bool Tensor of t's shape
-- t:isin(values): whether each element of t equals some element of values (a
-- tensor or a table of numbers), as numpy.isin; e.g. which of a sample's
-- indices a selection kept. Integer tensors go through one bincount (linear
-- time when their range is under 2^26); floats compare by value through a set.
function M.isin(t, values)
  if not is_tensor(t) then raise("bad argument #1 to 'isin' (tensor expected, got " .. type(t) .. ")") end
  if type(values) == "table" and not is_tensor(values) then values = M.new(values) end
  if not is_tensor(values) then raise("bad argument #2 to 'isin' (tensor or table expected, got " .. type(values) .. ")") end
  if t:numel() == 0 or values:numel() == 0 then return C.full(t:size(), 0, "bool") end
  local ints = { int64 = true, int32 = true, uint8 = true, bool = true }
  local x, v = t:reshape(-1), values:reshape(-1)
  local both_int = ints[t:dtype()] and ints[values:dtype()]
  if both_int then
    x, v = x:long(), v:long()
    local lo, hi = math.min(x:min(), v:min()), math.max(x:max(), v:max())
    -- hi - lo wraps for a range wider than int64 (math.mininteger to math.maxinteger); such a
    -- range goes through the set below.
    if hi - lo >= 0 and hi - lo < (1 << 26) then
      local table_ = (v - lo):bincount(hi - lo + 1):gt(0)
      return table_:index_select(1, x - lo + 1):reshape(t:size())
    end
  else
    -- Integers stay Lua integers in the set: as doubles, int64 values past 2^53 would collide.
    x, v = x:double(), v:double()
  end
  local set, out = {}, {}
  for _, e in ipairs(v:totable()) do set[e] = true end
  for i, e in ipairs(x:totable()) do out[i] = set[e] == true end
  return M.new(out, "bool"):reshape(t:size())
end
methods.isin = M.isin

function meta.__index(t, k)
  local m = methods[k]
  if m ~= nil then return m end
  local kt = type(k)
  if kt == "number" then
    if t:dim() == 0 then raise("bad argument #2 to 'index' (cannot index a 0-d tensor)") end
    return scalar_or_view(t:select(1, k))
  elseif kt == "string" then
    if k == "shape" then return t:size()
    elseif k == "ndim" then return t:dim()
    elseif k == "T" then return ops.permute_reversed(t) end
    return nil
  elseif is_tensor(k) then
    if k:dtype() == "bool" then
      -- numpy: a 1-d mask over the rows of an n-d tensor keeps those rows
      if k:dim() == 1 and t:dim() > 1 and k:size(1) == t:size(1) then return t:index_select(1, k:nonzero():reshape(-1)) end
      return t:masked_select(k)
    end
    return t:index_select(1, k)
  elseif kt == "table" then
    return scalar_or_view(index_view(t, k, "index"))
  end
  raise("bad argument #2 to 'index' (integer, table, or tensor key expected, got " .. kt .. ")")
end

function meta.__newindex(t, k, value)
  local kt = type(k)
  if kt == "number" then
    if t:dim() == 0 then raise("bad argument #2 to 'newindex' (cannot index a 0-d tensor)") end
    t:select(1, k):copy_(value)
  elseif is_tensor(k) then
    if k:dtype() == "bool" then t:masked_assign_(k, value)
    else t:index_select(1, k) -- validates indices
      for i, row in ipairs(k:totable()) do t:select(1, row):copy_(is_tensor(value) and value[i] or value) end
    end
  elseif kt == "table" then
    index_view(t, k, "newindex"):copy_(value)
  else
    raise("bad argument #2 to 'newindex' (cannot assign to field '" .. tostring(k) .. "' of a tensor)")
  end
end

meta.__len = function(t) return t:dim() > 0 and t:size(1) or 0 end
meta.__add = C.add
meta.__sub = C.sub
meta.__mul = C.mul
meta.__div = C.div
meta.__pow = C.pow
meta.__idiv = C.floor_divide
meta.__mod = C.remainder
meta.__unm = function(t) return C.neg(t) end

---------------------------------------------------------------------------
-- printing (numpy-like: aligned columns, "..." past a threshold)
---------------------------------------------------------------------------

local printopts = { precision = 4, threshold = 1000, edgeitems = 3, linewidth = 80 }
-- set_printoptions{precision = 4, threshold = 1000, edgeitems = 3, linewidth = 80}
-- Changes how tensors print: digits after the point, the element count past
-- which only edgeitems per edge of each dim are shown. Unknown keys raise an error.
function M.set_printoptions(o)
  local known = { "precision", "threshold", "edgeitems", "linewidth" }
  require("lunette.options").check("set_printoptions", 1, o, known)
  for k, v in pairs(o) do printopts[k] = v end
end
-- get_printoptions() -> a copy of the current print options (see set_printoptions).
function M.get_printoptions() local c = {} for k, v in pairs(printopts) do c[k] = v end return c end

-- Keeps the first and last `edge` entries of every long dim.
local function summarize(t, edge)
  for d = 1, t:dim() do
    local n = t:size(d)
    if n > 2 * edge then
      t = C.cat({ t:narrow(d, 1, edge), t:narrow(d, n - edge + 1, edge) }, d)
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

-- The text of a tensor of shape (n elements, dtype name) whose shown part, a CPU tensor, comes
-- from shown_of(summarised, edge): the whole tensor, or the first and last `edge` entries of
-- every dim longer than 2*edge when summarised. `where` (" on cuda:0") follows the shape in
-- the head line. lunette.cuda prints its tensors through it (M._text), copying only what shows.
local function text_of(shape, n, dtype, shown_of, where)
  local sh = "[" .. table.concat(shape, "x") .. "]"
  local head = ("Tensor %s %s%s"):format(dtype, sh, where or "")
  if n == 0 then return head .. " (empty)" end
  local edge, cut = printopts.edgeitems, {}
  local summarised = n > printopts.threshold
  if summarised then
    for d = 1, #shape do cut[d] = shape[d] > 2 * edge end
  end
  local shown = shown_of(summarised, edge)
  local tab = shown:totable()
  if #shape == 0 then return head .. "\n" .. formatter(shown, { tab })(tab) end
  local flat = flatten_table(tab, {})
  local fmt, width = formatter(shown, flat), 0
  for _, v in ipairs(flat) do width = math.max(width, #fmt(v)) end
  return head .. "\n" .. render(tab, shape, 1, fmt, width, "", cut, edge)
end
M._text = text_of

-- tostring(t) -> string
-- The numpy-like text of a tensor: "Tensor float32 [2x3]" then aligned
-- values, summarised with "..." past the threshold (tostring(t) and print
-- use it).
function M.tostring(t)
  return text_of(t:size(), t:numel(), C.dtype(t), function(summarised, edge)
    return summarised and summarize(t, edge) or t
  end)
end
meta.__tostring = M.tostring
methods.tostring = M.tostring
meta.__name = "Tensor"

return setmetatable(M, { __call = function(_, ...) return M.new(...) end })
