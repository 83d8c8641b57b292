-- hot_spec.lua: the kernels compiled per ISA (LT_HOT, src/hot.h) agree with plain Lua references
-- on odd sizes: vector bodies, remainders and the lengths in between. This build runs the clone
-- its processor picks (x86-64-v3 or v4 where present); `make debug` runs the baseline code.
local lt = require "lunette"
local T = lt.tensor

-- Deterministic values in [-1, 1) without the random module (a Weyl sequence).
local function values(n, seed)
  local out, x = {}, (seed or 1) * 0.618033988749895
  for i = 1, n do
    x = (x + 0.7548776662466927) % 1
    out[i] = 2 * x - 1
  end
  return out
end

local SIZES = { 1, 2, 7, 8, 9, 31, 32, 33, 63, 64, 65, 127, 129, 1000, 1001, 4099 }

describe("exp (float32)", function()
  it("is within 2 ulp of the double exp on odd sizes, specials exact", function()
    for _, n in ipairs(SIZES) do
      local v = values(n, n)
      for i = 1, n do v[i] = v[i] * 90 end -- spans subnormal results to near overflow
      local got = T(v):exp():totable()
      local x = T(v):totable() -- the float32 inputs
      for i = 1, n do
        local want = math.exp(x[i])
        if want > 3.4028234663852886e38 then want = 1 / 0 end -- past float32's largest: inf
        local tol = want < 1.2e-38 and 1.5e-45 * 2 or 2.4e-7 * want
        assert(got[i] == want or math.abs(got[i] - want) <= tol,
               ("n=%d i=%d exp(%.9g) = %.9g, want %.9g"):format(n, i, x[i], got[i], want))
      end
    end
    local s = T { 0, -0.0, 1 / 0, -1 / 0, 0 / 0, 89, -104, 88.72 }:exp():totable()
    assert.equal(1, s[1])
    assert.equal(1, s[2])
    assert.equal(1 / 0, s[3])
    assert.equal(0, s[4])
    assert.is_true(s[5] ~= s[5])
    assert.equal(1 / 0, s[6])
    assert.equal(0, s[7])
    assert.is_true(s[8] > 3.3e38 and s[8] < 1 / 0)
  end)
end)

-- The reference: extreme and first position (1-based), NaN first if any.
local function ref_ext(row, mx)
  local m, at = row[1], 1
  for i, v in ipairs(row) do
    if v ~= v then return v, i end
    if (mx and v > m) or (not mx and v < m) then m, at = v, i end
  end
  return m, at
end

describe("argmax/argmin/max/min along a dim (float32)", function()
  it("match the reference on odd row lengths, with ties and NaN", function()
    for _, n in ipairs(SIZES) do
      local rows = {}
      local v = values(n * 6, n)
      for r = 1, 6 do
        local row = {}
        for i = 1, n do row[i] = math.floor(v[(r - 1) * n + i] * 50) / 8 end -- many ties
        rows[r] = row
      end
      -- row 2: the extreme at the end; row 3: at the start; row 4: a NaN late in the row;
      -- row 5: all equal (first position wins)
      rows[2][n] = 100
      rows[2][1] = n > 1 and -100 or rows[2][1]
      rows[3][1] = 100
      if n > 1 then rows[3][n] = -100 end
      rows[4][math.max(1, n - 2)] = 0 / 0
      for i = 1, n do rows[5][i] = 0.5 end
      local t = T(rows)
      for _, mx in ipairs { true, false } do
        local am = (mx and t:argmax(2) or t:argmin(2)):totable()
        local m = (mx and t:max(2) or t:min(2)):totable()
        for r = 1, 6 do
          local want_m, want_at = ref_ext(T(rows[r]):totable(), mx)
          assert.equal(want_at, am[r], ("n=%d row=%d %s"):format(n, r, mx and "argmax" or "argmin"))
          if want_m ~= want_m then
            assert.is_true(m[r] ~= m[r])
          else
            assert.equal(want_m, m[r])
          end
        end
      end
    end
  end)

  it("finds the first of tied extremes over a long contiguous run (threaded blocks)", function()
    local n = (1 << 20) + 37
    local t = lt.arange(n):float():mul(1e-3):sin()
    t[n - 5] = 3
    t[n - 1] = 3
    t[700001] = 3
    assert.equal(700001, t:argmax())
    t[17] = -3
    t[n] = -3
    assert.equal(17, t:argmin())
    assert.equal(3, t:max())
  end)
end)

describe("selection's matrix-vector products", function()
  it("herding picks as a double-precision reference does, at d = 37", function()
    local m, d, k = 29, 37, 9
    local v = values(m * d, 3)
    local rows = {}
    for i = 1, m do
      rows[i] = {}
      for j = 1, d do rows[i][j] = v[(i - 1) * d + j] end
    end
    local X = T(rows)
    local x = X:double():totable()
    -- reference: argmax_i 2 <x_i, (t+1) mu - sum> - ||x_i||^2 over the rows not yet taken
    local mu, sum, taken, want = {}, {}, {}, {}
    for j = 1, d do
      local s = 0
      for i = 1, m do s = s + x[i][j] end
      mu[j], sum[j] = s / m, 0
    end
    for t = 0, k - 1 do
      local best, bi = -math.huge, nil
      for i = 1, m do
        if not taken[i] then
          local g, q = 0, 0
          for j = 1, d do
            g = g + x[i][j] * ((t + 1) * mu[j] - sum[j])
            q = q + x[i][j] * x[i][j]
          end
          if 2 * g - q > best then best, bi = 2 * g - q, i end
        end
      end
      taken[bi] = true
      want[#want + 1] = bi
      for j = 1, d do sum[j] = sum[j] + x[bi][j] end
    end
    local got = require("lunette.select").herding { features = X, budget = k }
    assert.same(want, got:totable())
  end)
end)

describe("batch norm (float32, train mode)", function()
  it("normalises each channel as a double reference does, at L = 37", function()
    local B, C, L = 3, 5, 37
    local v = values(B * C * L, 5)
    local x = T(v):reshape(B, C, L)
    local bn = lt.nn.BatchNorm1d(C)
    local y = bn:forward(x):totable()
    local xs = x:double():totable()
    for c = 1, C do
      local s, n = 0, B * L
      for b = 1, B do for l = 1, L do s = s + xs[b][c][l] end end
      local mean, var = s / n, 0
      for b = 1, B do for l = 1, L do var = var + (xs[b][c][l] - mean) ^ 2 end end
      local is = 1 / math.sqrt(var / n + 1e-5)
      for b = 1, B do
        for l = 1, L do
          local want = (xs[b][c][l] - mean) * is
          assert(math.abs(y[b][c][l] - want) <= 1e-5 * math.max(1, math.abs(want)),
                 ("b=%d c=%d l=%d"):format(b, c, l))
        end
      end
    end
  end)
end)
