-- lunette.dist: one script on several processes (`mpirun -np N lunette script.lua`): ranks,
-- collectives on tensors and on Lua values, over Open MPI.
--
-- Open MPI is loaded only when a script calls dist.init(), or at start-up when lunette runs
-- under mpirun (its OMPI_COMM_WORLD_SIZE / PMIX_RANK variables are set): a plain start never
-- pays for it, and a machine without Open MPI runs every script that does not ask for it.
-- Without init every function acts as in a job of one rank (rank 0 of 1), so a script written
-- for several ranks also runs alone, unchanged.
--
-- Ranks are 0-based, as in MPI and in mpirun's output (rank 0 is the root). Every collective
-- first exchanges a small header (which collective, op, root, dtype and shape) between all
-- ranks: ranks that call different collectives, or the same one with shapes that cannot go
-- together, all raise the same error ("collective mismatch: rank 0 called allreduce(sum)
-- float32 [3x4], rank 1 called allreduce(sum) float32 [3x5]") instead of hanging or mixing
-- bytes. The end of a script counts as a collective too: a rank that finishes while others
-- still call collectives makes them raise and ends the job, instead of waiting forever in
-- MPI_Finalize. An error that ends the script on one rank prints that rank's message and
-- traceback and ends the whole job (MPI_Abort): mpirun exits non-zero within seconds and no
-- rank waits for a dead peer (the lunette executable does this; a stock lua5.4 that loads
-- lunette.so does not).
-- Under several ranks `print` writes on rank 0 only unless dist.print_all is true.
local C = require "lunette._dist"
local tensor = require "lunette.tensor"
local M = {}
local is_tensor = tensor.is_tensor

--- print_all: when false (the default) `print` is silent on every rank but 0 once MPI has
-- started with more than one rank; set it to true to hear every rank.
M.print_all = false

local function install_print()
  local print0 = print
  _G.print = function(...)
    if M.print_all or C.rank() == 0 then return print0(...) end
  end
end

--- init() -> rank, size
-- Loads Open MPI and joins the job mpirun started (or makes a job of one rank); idempotent.
-- Returns this process's 0-based rank and the number of ranks. Fails with the cause when
-- Open MPI cannot be loaded (Debian: libopenmpi3, and openmpi-bin for mpirun).
function M.init()
  local started = C.active()
  local rank, size = C._init()
  if not started and size > 1 then install_print() end
  return rank, size
end

--- rank() -> integer
-- This process's rank, 0-based (0 when MPI is not started).
M.rank = C.rank
--- size() -> integer
-- The number of ranks in the job (1 when MPI is not started).
M.size = C.size
--- bytes_sent() -> integer
-- Payload bytes this rank has handed to MPI so far (headers, data it broadcasts as root, its
-- buffer in reductions, its part in gathers, what it sends): the message sizes a scaling
-- model needs, not what MPI's algorithms forward on the wire. 0 without MPI.
M.bytes_sent = C.bytes_sent
--- is_root() -> boolean
-- True on rank 0.
function M.is_root() return C.rank() == 0 end
--- active() -> boolean
-- True once MPI has started (dist.init or a start under mpirun).
M.active = C.active

--- barrier()
-- Returns when every rank has called it.
M.barrier = C.barrier

--- abort([code])
-- Ends the whole job now with exit code code (default 1): every rank is killed.
M.abort = C.abort

--- broadcast(t [, root = 0]) -> Tensor
-- The root's tensor t (any dtype and shape) on every rank: t itself on the root, a new
-- tensor elsewhere. Other ranks may pass nil, or a tensor of the root's dtype and shape
-- (anything else is a collective mismatch).
M.broadcast = C.broadcast

local REDUCIBLE = { float32 = true, float64 = true, int32 = true, int64 = true, uint8 = true,
                    bool = true }

--- allreduce(t [, op = "sum"]) -> Tensor
-- A new tensor: the elementwise reduction of every rank's t (same dtype and shape on every
-- rank). op: "sum", "mean" (float dtypes only), "max" or "min". float16 and bfloat16 are
-- reduced in float32 and rounded back once; bool takes max (any) and min (all); integer
-- sums wrap as the dtype does. Every rank gets the same bytes.
function M.allreduce(t, op)
  op = op or "sum"
  if is_tensor(t) and not REDUCIBLE[t:dtype()] then
    local dt = t:dtype()
    return M.allreduce(t:to("float32"), op):to(dt)
  end
  if op ~= "mean" then return C.allreduce(t, op) end
  if is_tensor(t) and t:dtype() ~= "float32" and t:dtype() ~= "float64" then
    error(("bad argument #2 to 'allreduce' (op \"mean\" needs a float tensor, got %s)")
      :format(t:dtype()), 2)
  end
  local s = C.allreduce(t, "sum")
  return s:div_(C.size())
end

--- reduce_scatter(t [, op = "sum"]) -> Tensor
-- This rank's rows of allreduce(t, op) for t [n x ...]: the rows scatter would give it
-- (the first n % size ranks get one row more). Ops and dtypes as allreduce.
function M.reduce_scatter(t, op)
  op = op or "sum"
  if is_tensor(t) and not REDUCIBLE[t:dtype()] then
    local dt = t:dtype()
    return M.reduce_scatter(t:to("float32"), op):to(dt)
  end
  if op ~= "mean" then return C.reduce_scatter(t, op) end
  if is_tensor(t) and t:dtype() ~= "float32" and t:dtype() ~= "float64" then
    error(("bad argument #2 to 'reduce_scatter' (op \"mean\" needs a float tensor, got %s)")
      :format(t:dtype()), 2)
  end
  return C.reduce_scatter(t, "sum"):div_(C.size())
end

--- allgather(t) -> Tensor
-- Every rank's t stacked along dim 1 in rank order, on every rank. The first dims may
-- differ between ranks (variable-length shards), the other dims and the dtype may not; a
-- 0-d t counts as [1], so allgather of scalars gives a [size] tensor.
M.allgather = C.allgather

--- gather(t [, root = 0]) -> Tensor | nil
-- allgather's result on the root only; nil on the other ranks.
M.gather = C.gather

--- scatter(t [, root = 0]) -> Tensor
-- This rank's rows of the root's t [n x ...], split as numpy's array_split (the first
-- n % size ranks get one row more; a rank may get none). Other ranks may pass nil.
M.scatter = C.scatter

-- Serialisation of Lua values: nil, booleans, numbers (integers stay integers), strings,
-- tensors and tables of these (keys too), without cycles. string.pack keeps it exact.
local encode
local function encode_table(v, out, seen)
  if seen[v] then error("cannot send a table that contains itself", 0) end
  seen[v] = true
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  out[#out + 1] = string.pack("<c1j", "t", n)
  -- Keys in a stable order so that equal tables give equal bytes on every rank.
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) ~= type(b) then return type(a) < type(b) end
    return a < b
  end)
  for _, k in ipairs(keys) do
    encode(k, out, seen)
    encode(v[k], out, seen)
  end
  seen[v] = nil
end

function encode(v, out, seen)
  local ty = type(v)
  if ty == "nil" then
    out[#out + 1] = "0"
  elseif ty == "boolean" then
    out[#out + 1] = v and "T" or "F"
  elseif math.type(v) == "integer" then
    out[#out + 1] = string.pack("<c1j", "i", v)
  elseif ty == "number" then
    out[#out + 1] = string.pack("<c1n", "f", v)
  elseif ty == "string" then
    out[#out + 1] = string.pack("<c1s8", "s", v)
  elseif ty == "table" then
    encode_table(v, out, seen)
  elseif is_tensor(v) then
    out[#out + 1] = string.pack("<c1s1B", "x", v:dtype(), #v.shape)
    for _, d in ipairs(v.shape) do out[#out + 1] = string.pack("<j", d) end
    out[#out + 1] = string.pack("<s8", v:tobytes())
  else
    error(("cannot send a %s value"):format(ty), 0)
  end
end

local decode
local function decode_tensor(s, pos)
  local dt, nd
  dt, nd, pos = string.unpack("<s1B", s, pos)
  local shape = {}
  for i = 1, nd do shape[i], pos = string.unpack("<j", s, pos) end
  local bytes
  bytes, pos = string.unpack("<s8", s, pos)
  return tensor.frombytes(bytes, dt, shape), pos
end

function decode(s, pos)
  local tag = s:sub(pos, pos)
  if tag == "0" then return nil, pos + 1 end
  if tag == "T" then return true, pos + 1 end
  if tag == "F" then return false, pos + 1 end
  if tag == "i" then return string.unpack("<j", s, pos + 1) end
  if tag == "f" then return string.unpack("<n", s, pos + 1) end
  if tag == "s" then return string.unpack("<s8", s, pos + 1) end
  if tag == "x" then return decode_tensor(s, pos + 1) end
  local n
  n, pos = string.unpack("<j", s, pos + 1)
  local t = {}
  for _ = 1, n do
    local k, v
    k, pos = decode(s, pos)
    v, pos = decode(s, pos)
    t[k] = v
  end
  return t, pos
end

-- The bytes of v, or raises naming fname's argument #1.
local function serialise(fname, v)
  local out = {}
  local ok, err = pcall(encode, v, out, {})
  if not ok then error(("bad argument #1 to '%s' (%s)"):format(fname, err), 3) end
  return table.concat(out)
end

local function deserialise(s) return (decode(s, 1)) end

--- broadcast_value(v [, root = 0]) -> value
-- The root's Lua value on every rank (other ranks pass nil or anything: it is ignored): nil,
-- booleans, numbers, strings, tensors and tables of these, copied (not shared).
function M.broadcast_value(v, root)
  local s = nil
  if C.rank() == (root or 0) then s = serialise("broadcast_value", v) end
  return deserialise(C._broadcast_bytes(s, root))
end

--- gather_values(v [, root]) -> {v of rank 0, v of rank 1, ...} | nil
-- Every rank's Lua value (kinds as broadcast_value), in rank order: on the root only (nil on
-- the others) when root is given, on every rank when it is not.
function M.gather_values(v, root)
  local parts = C._gather_bytes(serialise("gather_values", v), root or -1)
  if not parts then return nil end
  local out = {}
  for i, s in ipairs(parts) do out[i] = deserialise(s) end
  return out
end

--- send_value(v, rank)
-- Point-to-point: v (kinds as broadcast_value) to another rank, which takes it with
-- recv_value(sender). Not a collective: no header exchange; the two sides must pair up.
function M.send_value(v, rank) C._send_bytes(serialise("send_value", v), rank) end

--- recv_value(rank) -> value
-- The value rank sent to this one with send_value.
function M.recv_value(rank) return deserialise(C._recv_bytes(rank)) end

--- send(t, rank)
-- Point-to-point: tensor t (any dtype, CPU) to another rank, which takes it with
-- recv(sender): its bytes as they are, no serialisation (send_value is for Lua values).
M.send = C.send

--- recv(rank) -> Tensor
-- The tensor rank sent to this one with send.
M.recv = C.recv

-- Used by collectives made of several calls (sketch:allmerge): the header exchange alone.
M._agree = C._agree

--- shard_range(n [, rank, size]) -> first, count
-- The 1-based first index and the count of this rank's contiguous share of n items, split as
-- scatter splits rows (the first n % size ranks get one more).
function M.shard_range(n, rank, size)
  rank, size = rank or C.rank(), size or C.size()
  local base, extra = n // size, n % size
  local first = rank * base + math.min(rank, extra)
  return first + 1, base + (rank < extra and 1 or 0)
end

return M
