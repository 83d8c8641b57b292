-- sketch_state.lua: the byte layout tests/fuzz/fuzz_sketch.c reads as a saved Frequent
-- Directions state, written (seeds for tests/fuzz/corpus/sketch) and read back as the
-- table sketch.from_state takes (replay_spec.lua replays the corpus through it).
local lt = require "lunette"

local M = {}
local HEADER = "<BBBBi8i8i8i8i8i8ddd" -- 76 bytes
local DTYPES = { [0] = "float32", "float64", "float16", "bfloat16", "int64", "int32", "uint8",
                 "bool" } -- by LtDtype code
local SIZE = { float32 = 4, float64 = 8, float16 = 2, bfloat16 = 2, int64 = 8, int32 = 4, uint8 = 1,
               bool = 1 }
local CODE = {}
for c, name in pairs(DTYPES) do CODE[name] = c end

-- encode(state [, extra]) -> bytes: a state table (fd:state() or hand-made) and float32
-- rows [k x dim] to add once restored.
function M.encode(s, extra)
  local variant = s.variant == "fast" and 0 or s.variant == "classic" and 1 or 7
  local rows = s.rows
  local r1 = rows:dim() > 0 and rows:size(1) or 0
  local r2 = rows:dim() > 1 and rows:size(2) or 0
  local head = HEADER:pack(variant, CODE[s.dtype] or 9, CODE[rows:dtype()], rows:dim(), s.ell,
                           s.dim, s.filled, s.rows_seen, r1, r2, s.delta, s.rounding, s.sq_frob)
  return head .. rows:tobytes() .. (extra and extra:float():tobytes() or "")
end

-- decode(bytes) -> state table, extra rows (float32 [k x dim] or nil) | nil when the
-- bytes cannot hold the rows they declare (the harness skips those too).
function M.decode(b)
  if #b < 76 then return nil end
  local v, st, rd, nd, ell, dim, filled, seen, s1, s2, delta, rounding, sq = HEADER:unpack(b)
  nd = nd % 3
  local dt = DTYPES[rd % 8]
  local shape, numel = {}, 1
  for i, n in ipairs { s1, s2 } do
    if i > nd then break end
    if n < 0 or (n > 0 and numel > (#b // SIZE[dt]) // n) then return nil end
    shape[i], numel = n, numel * n
  end
  if numel * SIZE[dt] > #b - 76 then return nil end
  local rows = lt.frombytes(b:sub(77, 76 + numel * SIZE[dt]), dt, shape)
  local s = { variant = v == 0 and "fast" or v == 1 and "classic" or ("variant" .. v),
              dtype = DTYPES[st] or ("dtype" .. st), ell = ell, dim = dim, filled = filled,
              rows_seen = seen, delta = delta, rounding = rounding, sq_frob = sq, rows = rows }
  local rest = #b - 76 - numel * SIZE[dt]
  local k = (dim > 0 and dim < 1e6) and math.min(rest // (4 * dim), 64) or 0
  if k < 1 then return s, nil end
  local at = 77 + numel * SIZE[dt]
  return s, lt.frombytes(b:sub(at, at + 4 * k * dim - 1), "float32", { k, dim })
end

-- seeds() -> {name = bytes}: states of real sketches (both variants, every storage
-- dtype, before and after shrinking, merged) and a few hand-made bad ones.
function M.seeds()
  local out = {}
  local A = lt.random.Generator(3):randn(40, 6)
  for _, variant in ipairs { "fast", "classic" } do
    for _, dtype in ipairs { "float32", "float16", "bfloat16" } do
      for _, n in ipairs { 0, 2, 25 } do
        local fd = lt.sketch.fd { ell = 3, dim = 6, dtype = dtype, variant = variant }
        fd:add(A:narrow(1, 1, n))
        out[("%s_%s_%d"):format(variant, dtype, n)] = M.encode(fd:state(), A:narrow(1, 26, 5))
      end
    end
  end
  local f1, f2 = lt.sketch.fd { ell = 2, dim = 6 }, lt.sketch.fd { ell = 2, dim = 6 }
  f1:add(A:narrow(1, 1, 9))
  f2:add(A:narrow(1, 10, 7))
  f1:merge(f2)
  out.merged = M.encode(f1:state(), A:narrow(1, 17, 3))
  local s = f1:state()
  s.rows = s.rows:double()
  out.float64_rows = M.encode(s)
  s.rows_seen, s.delta = -3, -1
  out.negative = M.encode(s)
  s = f1:state()
  s.rows = s.rows:clone():fill_(0 / 0)
  out.nan_rows = M.encode(s)
  return out
end

return M
