-- collectives.lua: run by tests/dist_spec.lua under mpirun. Every rank makes its inputs from
-- its rank alone, so it can also compute, in this one process, what each collective must
-- return (the inputs of every rank, combined locally in float64) and compare bytes. Prints
-- one "FAIL ..." line per disagreement and "rank R: N checks" at the end.
local d = lt.dist
d.print_all = true
local me, size = d.rank(), d.size()
local checks = 0

local function fail(fmt, ...) print(("FAIL rank %d: " .. fmt):format(me, ...)) end
local function shape_text(t) return "[" .. table.concat(t.shape, "x") .. "]" end
local function same(what, got, want)
  checks = checks + 1
  if not lt.is_tensor(got) then return fail("%s: got %s", what, tostring(got)) end
  if got:dtype() ~= want:dtype() or shape_text(got) ~= shape_text(want) then
    return fail("%s: got %s %s, want %s %s", what, got:dtype(), shape_text(got), want:dtype(),
                shape_text(want))
  end
  if got:tobytes() ~= want:tobytes() then fail("%s: bytes differ", what) end
end

-- Rank r's input of a shape: small integers (exact in every dtype, sums included).
local function input(r, dtype, shape)
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  local x = ((lt.arange(0, n, 1, "float64") * (r + 1) + r * 3) % (dtype == "bool" and 2 or 5))
  return x:reshape(shape):to(dtype)
end

local function reduce_local(dtype, shape, op)
  local acc
  for r = 0, size - 1 do
    local x = input(r, dtype, shape):to("float64")
    if not acc then
      acc = x
    elseif op == "sum" or op == "mean" then
      acc = acc + x
    elseif op == "max" then
      acc = lt.maximum(acc, x)
    else
      acc = lt.minimum(acc, x)
    end
  end
  if op == "mean" then acc = acc / size end
  return acc:to(dtype)
end

local DTYPES = { "float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8", "bool" }
local SHAPES = { {}, { 0 }, { 7 }, { 5, 3 }, { 0, 3 }, { 2, 3, 1 } }
for _, dt in ipairs(DTYPES) do
  for _, shape in ipairs(SHAPES) do
    local tag = dt .. " [" .. table.concat(shape, "x") .. "]"
    local x = input(me, dt, shape)
    for _, op in ipairs { "sum", "max", "min", "mean" } do
      local float = dt:match("float") ~= nil
      if (op == "sum" and dt == "bool") or (op == "mean" and not float) then
        checks = checks + 1
        if pcall(d.allreduce, x, op) then fail("allreduce %s %s did not raise", op, tag) end
      else
        same("allreduce " .. op .. " " .. tag, d.allreduce(x, op), reduce_local(dt, shape, op))
      end
    end
    local root = size - 1
    same("broadcast " .. tag, d.broadcast(me == root and x or nil, root), input(root, dt, shape))
  end
  -- allgather/gather: rank r brings r % 3 rows of 3 (rank 0 none), plus scalars
  local parts, scalars = {}, {}
  for r = 0, size - 1 do
    parts[#parts + 1] = input(r, dt, { r % 3, 3 })
    scalars[#scalars + 1] = input(r, dt, { 1 })
  end
  local want = lt.cat(parts, 1)
  same("allgather " .. dt, d.allgather(input(me, dt, { me % 3, 3 })), want)
  same("allgather 0-d " .. dt, d.allgather(input(me, dt, {})), lt.cat(scalars, 1))
  local g = d.gather(input(me, dt, { me % 3, 3 }), 1 % size)
  if me == 1 % size then same("gather " .. dt, g, want) else checks = checks + 1; assert(g == nil) end
  -- scatter and reduce_scatter of 7 rows (odd, and fewer than 2 per rank at -np 4)
  local src = input(1 % size, dt, { 7, 2 })
  local first, count = d.shard_range(7)
  same("scatter " .. dt, d.scatter(me == 1 % size and src or nil, 1 % size), src:narrow(1, first, count))
  if dt ~= "bool" then
    same("reduce_scatter " .. dt, d.reduce_scatter(input(me, dt, { 7, 2 })),
         reduce_local(dt, { 7, 2 }, "sum"):narrow(1, first, count))
  end
end

-- Lua values: nested tables with integers, floats, strings, booleans and tensors.
local v = d.broadcast_value(me == 2 % size and { n = 3, f = 0.1, s = "a\0b", ok = true,
                                                  t = lt.arange(0, 4), list = { 1, "x" } } or nil,
                            2 % size)
checks = checks + 1
if not (v.n == 3 and math.type(v.n) == "integer" and v.f == 0.1 and v.s == "a\0b" and v.ok
        and v.list[2] == "x" and v.t:sum() == 6) then
  fail("broadcast_value")
end
local all = d.gather_values({ rank = me, x = lt.ones(me) })
checks = checks + 1
for r = 0, size - 1 do
  if all[r + 1].rank ~= r or all[r + 1].x:numel() ~= r then fail("gather_values %d", r) end
end
local at0 = d.gather_values(me, 0)
checks = checks + 1
if (me == 0) ~= (at0 ~= nil) or (at0 and #at0 ~= size) then fail("gather_values root") end
d.barrier()
print(("rank %d: %d checks"):format(me, checks))
