-- sketch_spec.lua: Frequent Directions guarantees, merging, the classic variant against an
-- independent reference, serialisation, bad input, and the random projections.
local lt = require "lunette"
local sk = lt.sketch
local linalg = lt.linalg

-- A random matrix with a decaying spectrum: low rank plus noise.
local function lowrank(n, d, r, noise, seed)
  local g = lt.random.Generator(seed)
  local U, V = g:randn(n, r), g:randn(r, d)
  local scale = lt.arange(r, 0, -1, "float32") / r -- r, ..., 1 scaled
  return lt.matmul(U * scale, V) + g:randn(n, d) * noise
end

local function check_guarantee(A, fd, ell, rel)
  local B = fd:finalize()
  local err = sk.cov_error(A, B)
  local scale = (A:double() ^ 2):sum()
  local slack = rel * scale
  -- the certified bound the sketch tracks, rounding included: no slack
  assert.is_true(err <= fd:error_bound(), ("cov error %g > tracked bound %g"):format(err, fd:error_bound()))
  -- the shrinkage alone obeys the exact-arithmetic theorem
  local delta = fd:info().delta
  for k = 0, ell - 1, math.max(1, ell // 4) do
    local bound = sk.fd_bound(A, ell, k)
    assert.is_true(err <= bound + slack, ("k=%d: cov error %g > bound %g"):format(k, err, bound))
    assert.is_true(delta <= bound + slack, ("k=%d: shrinkage %g > bound %g"):format(k, delta, bound))
  end
  return err
end

describe("Frequent Directions guarantee", function()
  for _, variant in ipairs { "fast", "classic" } do
    it(variant .. ": ||AᵀA − BᵀB||₂ ≤ ||A − A_k||²_F/(ℓ − k) on random matrices", function()
      for trial = 1, 6 do
        local n, d, ell = 60 + 17 * trial, 24 + 3 * trial, 4 + trial
        local A = lt.random.Generator(trial):randn(n, d)
        local fd = sk.fd{ell = ell, dim = d, variant = variant}
        fd:add(A)
        check_guarantee(A, fd, ell, 1e-5)
      end
    end)

    it(variant .. ": the guarantee holds on low-rank plus noise", function()
      for trial = 1, 4 do
        local A = lowrank(150, 40, 6, 0.05 * trial, 100 + trial)
        local fd = sk.fd{ell = 10, dim = 40, variant = variant}
        fd:add(A)
        local err = check_guarantee(A, fd, 10, 1e-5)
        -- and the sketch is useful: far below ||A||_2^2
        local _, S = linalg.svd(A:double())
        assert.is_true(err < 0.2 * S[1] ^ 2)
      end
    end)
  end

  it("float16 and bfloat16 storage keep the guarantee up to their rounding", function()
    local A = lowrank(200, 32, 5, 0.1, 7)
    for _, dt in ipairs { "float16", "bfloat16" } do
      local fd = sk.fd{ell = 8, dim = 32, dtype = dt}
      fd:add(A)
      check_guarantee(A, fd, 8, dt == "float16" and 2e-3 or 1e-2)
    end
  end)

  it("is exact while fewer than ell rows have been seen, and on rank < ell", function()
    local A = lt.random.Generator(3):randn(5, 12)
    local fd = sk.fd{ell = 6, dim = 12}
    fd:add(A)
    local err = sk.cov_error(A, fd:finalize())
    assert.is_true(err < 1e-3)
    assert.equal(0, fd:info().delta) -- no shrinkage: the bound is float32 rounding alone
    assert.is_true(err <= fd:error_bound() and fd:error_bound() < 1e-5 * (A:double() ^ 2):sum())
    local R = lowrank(300, 20, 3, 0, 9)
    local f2 = sk.fd{ell = 5, dim = 20}
    f2:add(R)
    assert.is_true(sk.cov_error(R, f2:finalize()) < 1e-4 * (R ^ 2):sum())
  end)

  it("does not depend on how the stream is batched", function()
    local A = lt.random.Generator(11):randn(97, 16)
    local one = sk.fd{ell = 5, dim = 16}
    one:add(A)
    local many = sk.fd{ell = 5, dim = 16}
    for s = 1, 97, 10 do many:add(A:narrow(1, s, math.min(10, 98 - s))) end
    many:add(lt.zeros(0, 16))
    assert.equal(97, many:rows_seen())
    assert.is_true(one:finalize():allclose(many:finalize(), 1e-5, 1e-5))
  end)

  it("rows come out as sigma_i v_i^T: orthogonal, by decreasing norm", function()
    local A = lowrank(120, 30, 8, 0.1, 5)
    local fd = sk.fd{ell = 8, dim = 30}
    fd:add(A)
    local B = fd:finalize():double()
    local G = lt.matmul(B, B:t())
    for i = 1, 8 do
      for j = 1, 8 do
        if i ~= j then assert.is_true(math.abs(G[i][j]) < 1e-3 * G[1][1]) end
      end
      if i > 1 then assert.is_true(G[i][i] <= G[i - 1][i - 1] * (1 + 1e-5)) end
    end
  end)
end)

-- error_bound() must bound the covariance error of what finalize() returns, storage rounding
-- and float32 arithmetic included (issue 13, point 10): measured in float64.
describe("error_bound is a true bound", function()
  local function measured(A, B) return sk.cov_error(A:double(), B:double()) end

  local function assert_bound(A, fd, what)
    local B = fd:finalize()
    local err, bound = measured(A, B), fd:error_bound()
    assert(bound == bound and bound < math.huge, what .. ": bound is not finite")
    assert(err <= bound, ("%s: ||AᵀA - BᵀB||₂ = %.6g > error_bound() = %.6g (delta %.6g)")
      :format(what, err, bound, fd:info().delta))
  end

  local INPUTS = {
    { "low-rank", function(n, d, seed) return lowrank(n, d, 4, 0, seed) end },
    { "low-rank + noise", function(n, d, seed) return lowrank(n, d, 4, 1e-3, seed) end },
    { "Gaussian", function(n, d, seed) return lt.random.Generator(seed):randn(n, d) end },
  }
  local SIZES = { { 400, 64, 32 }, { 300, 40, 8 }, { 150, 24, 3 } }

  for _, variant in ipairs { "fast", "classic" } do
    for _, dtype in ipairs { "float32", "float16", "bfloat16" } do
      it(variant .. ", " .. dtype .. ": low-rank and Gaussian inputs, several seeds and sizes", function()
        for _, input in ipairs(INPUTS) do
          for si, size in ipairs(SIZES) do
            local n, d, ell = size[1], size[2], size[3]
            for seed = 1, 3 do
              local A = input[2](n, d, 100 * si + seed)
              local fd = sk.fd { ell = ell, dim = d, dtype = dtype, variant = variant }
              fd:add(A)
              assert_bound(A, fd, ("%s %dx%d ell=%d seed %d"):format(input[1], n, d, ell, seed))
            end
          end
        end
      end)
    end

    it(variant .. ": float64 rows, merges, state round trips and repeated finalize keep it", function()
      for _, dtype in ipairs { "float32", "float16", "bfloat16" } do
        local A1, A2 = lowrank(160, 30, 3, 0, 1):double(), lt.random.Generator(2):randn(90, 30)
        local f1 = sk.fd { ell = 6, dim = 30, dtype = dtype, variant = variant }
        local f2 = sk.fd { ell = 6, dim = 30, dtype = dtype, variant = variant }
        f1:add(A1)
        f2:add(A2:narrow(1, 1, 40))
        f2 = sk.from_state(f2:state())
        f2:add(A2:narrow(1, 41, 50))
        f1:merge(f2)
        local A = lt.cat({ A1, A2:double() })
        assert_bound(A, f1, dtype .. " merged")
        assert_bound(A, f1, dtype .. " finalized twice")
      end
    end)
  end

  it("a state's rows that the storage dtype cannot hold exactly count in the bound", function()
    local A = lt.random.Generator(4):randn(3, 8)
    local s = sk.fd { ell = 4, dim = 8, dtype = "float16" }:state()
    s.filled, s.rows_seen, s.rows = 3, 3, A
    s.sq_frob = (A:double() ^ 2):sum()
    local fd = sk.from_state(s)
    assert.is_true(fd:error_bound() > 0)
    assert_bound(A, fd, "rounded state rows")
  end)
end)

describe("merging", function()
  it("merged shard sketches satisfy the bound for the stacked matrix", function()
    local A1, A2 = lowrank(120, 24, 5, 0.1, 21), lowrank(90, 24, 5, 0.1, 22)
    local f1, f2 = sk.fd{ell = 6, dim = 24}, sk.fd{ell = 6, dim = 24}
    f1:add(A1); f2:add(A2)
    f1:merge(f2)
    assert.equal(210, f1:rows_seen())
    check_guarantee(lt.cat({A1, A2}), f1, 6, 1e-5)
  end)

  it("a tree of merges keeps the bound", function()
    local parts, A = {}, {}
    for i = 1, 4 do
      A[i] = lt.random.Generator(40 + i):randn(50, 18)
      parts[i] = sk.fd{ell = 5, dim = 18}
      parts[i]:add(A[i])
    end
    parts[1]:merge(parts[2]); parts[3]:merge(parts[4]); parts[1]:merge(parts[3])
    check_guarantee(lt.cat(A), parts[1], 5, 1e-5)
  end)

  it("refuses sketches of another width and itself", function()
    local a, b = sk.fd{ell = 2, dim = 5}, sk.fd{ell = 2, dim = 6}
    assert.error_matches(function() a:merge(b) end, "dims differ: 6 vs 5")
    assert.error_matches(function() a:merge(a) end, "into itself")
  end)
end)

-- Liberty's original algorithm written independently with an SVD per full
-- buffer, exactly as the SAGE code describes it.
local function classic_reference(A, ell)
  local d = A:size(2)
  local B = lt.zeros(ell, d, "float64")
  local filled = 0
  for i = 1, A:size(1) do
    filled = filled + 1
    B[filled] = A[i]:double()
    if filled == ell then
      local _, S, Vt = linalg.svd(B)
      local delta = S[ell] ^ 2
      local s2 = (S ^ 2 - delta):clamp(0)
      B = Vt * s2:sqrt():unsqueeze(2)
      filled = 0
      for r = 1, ell do if s2[r] > 1e-12 * s2[1] then filled = r end end
    end
  end
  return B
end

describe("classic variant", function()
  it("matches an independent SVD implementation of Liberty's algorithm", function()
    local A = lowrank(40, 10, 4, 0.2, 77):double()
    local fd = sk.fd{ell = 4, dim = 10, variant = "classic"}
    fd:add(A)
    local Bref = classic_reference(A, 4)
    local B = fd:finalize():double()
    -- rows are defined up to sign: compare the covariances they carry
    local C1, C2 = lt.matmul(B:t(), B), lt.matmul(Bref:t(), Bref)
    assert.is_true((C1 - C2):abs():max() < 2e-3 * C2:abs():max())
  end)

  it("shrinks once per row when full, fast once per ell rows", function()
    local A = lt.random.Generator(5):randn(64, 20)
    local c, f = sk.fd{ell = 4, dim = 20, variant = "classic"}, sk.fd{ell = 4, dim = 20}
    c:add(A); f:add(A)
    assert.is_true(c:info().filled < 4 and f:info().filled < 8)
    assert.is_true(c:error_bound() >= f:error_bound()) -- classic shrinks more often
  end)
end)

describe("state", function()
  it("round-trips through state() and continues identically", function()
    local A = lt.random.Generator(8):randn(70, 12)
    local fd = sk.fd{ell = 4, dim = 12, dtype = "float16"}
    fd:add(A:narrow(1, 1, 33))
    local copy = sk.from_state(fd:state())
    fd:add(A:narrow(1, 34, 37)); copy:add(A:narrow(1, 34, 37))
    assert.equal(fd:rows_seen(), copy:rows_seen())
    assert.equal(fd:error_bound(), copy:error_bound())
    assert.is_true(fd:finalize():equal(copy:finalize()))
  end)

  it("refuses a state whose rows do not fit", function()
    local s = sk.fd{ell = 3, dim = 4}:state()
    s.filled, s.rows_seen, s.rows = 2, 2, lt.zeros(2, 5)
    assert.error_matches(function() sk.from_state(s) end,
      "bad argument #1 to 'from_state' %(state.rows must be %[2x4%] %(filled x dim%), got %[2x5%]%)")
  end)

  it("checks every field of a state, naming it", function()
    local fd = sk.fd { ell = 3, dim = 4, dtype = "float16" }
    fd:add(lt.random.Generator(1):randn(5, 4))
    local good = fd:state()
    assert.equal(5, good.filled) -- the fast buffer holds 2 ell = 6 rows: no compression yet
    local function with(k, v)
      local s = {}
      for key, val in pairs(good) do s[key] = val end
      s[k] = v
      return s
    end
    local function refuses(s, pattern)
      assert.error_matches(function() sk.from_state(s) end, "bad argument #1 to 'from_state' %(state%." .. pattern)
    end
    local nan = 0 / 0
    local rows = good.rows:clone()
    rows[1][2] = nan
    refuses(with("rows", rows), "rows contain NaN or Inf")
    rows[1][2] = 1e5
    refuses(with("rows", rows), "rows hold values beyond the range of float16 storage")
    refuses(with("rows", good.rows:long()), "rows must be a float tensor, got int64")
    refuses(with("rows", good.rows:reshape(-1)), "rows must be %[5x4%]")
    refuses(with("rows", "x"), "rows must be a tensor, got string")
    refuses(with("rows_seen", -3), "rows_seen must be >= filled %(5%), got %-3")
    refuses(with("rows_seen", 1.5), "rows_seen must be an integer, got a non%-integer number")
    refuses(with("filled", 6), "filled must be in 0..5, got 6")
    refuses(with("filled", -1), "filled must be in 0..5, got %-1")
    refuses(with("delta", -1), "delta must be a finite number >= 0, got %-1")
    refuses(with("delta", nan), "delta must be a finite number >= 0")
    refuses(with("sq_frob", math.huge), "sq_frob must be a finite number >= 0, got inf")
    refuses(with("rounding", nil), "rounding must be a number, got nil")
    refuses(with("rounding", -1e-9), "rounding must be a finite number >= 0")
    refuses(with("sq_frob", 1e-3), "rows have ||rows||_F%^2 = .* more than sq_frob")
    refuses(with("ell", 4), "ell must be in 1..3, got 4")
    refuses(with("ell", 0), "ell must be in 1..3, got 0")
    refuses(with("dim", 5), "rows must be %[5x5%]")
    refuses(with("variant", "slow"), "variant must be 'fast' or 'classic'")
    refuses(with("dtype", "int64"), "dtype must be float32, float16 or bfloat16")
    refuses(with("dtype", 3), "dtype must be a string, got number")
    local empty = sk.fd { ell = 3, dim = 4 }:state()
    empty.delta = 1
    assert.error_matches(function() sk.from_state(empty) end, "state%.delta must be 0 when rows_seen is 0, got 1")
    -- and the good one still loads
    assert.equal(5, sk.from_state(good):rows_seen())
  end)
end)

describe("bad input", function()
  -- issue 13 (sketch 5, 6): __tostring cast ell, dim and rows_seen to int (a long stream read
  -- negative); cov_error took iters < 1, and for dim > 4096 then raised "not enough memory or
  -- LAPACK failure" (iters above 2^31 were truncated to an int).
  it("prints counters past 2^31 as they are", function()
    local fd = sk.fd { ell = 2, dim = 5 }
    fd:add(lt.random.Generator(1):randn(3, 5))
    local s = fd:state()
    s.rows_seen = (1 << 32) + 5
    local text = tostring(sk.from_state(s))
    assert.truthy(text:find("4294967301 rows seen", 1, true), text)
    assert.truthy(text:find("ell=2, dim=5,", 1, true), text)
  end)

  it("checks cov_error's iters for every dim", function()
    local A, B = lt.ones(3, 5000), lt.ones(2, 5000)
    for _, d in ipairs { 5, 5000 } do
      local a, b = A:narrow(2, 1, d):contiguous(), B:narrow(2, 1, d):contiguous()
      for _, bad in ipairs { 0, -1, math.mininteger, 1000001, (1 << 32) + 1 } do
        local ok, err = pcall(sk.cov_error, a, b, bad)
        assert.is_false(ok)
        local want = "bad argument #3 to 'cov_error' (iters must be in 1..1000000, got " .. bad .. ")"
        assert.truthy(tostring(err):find(want, 1, true), tostring(err))
      end
      -- AᵀA - BᵀB is the all-ones matrix, norm d: two power steps find it exactly
      assert.near(d, sk.cov_error(a, b, 2), 1e-9 * d)
    end
  end)

  it("checks ell, dim, dtype and variant", function()
    assert.error_matches(function() sk.fd{ell = 10, dim = 10} end, "ell must be in 1..dim%-1")
    assert.error_matches(function() sk.fd{ell = 0, dim = 10} end, "ell must be in")
    assert.error_matches(function() sk.fd{ell = 2, dim = 0} end, "dim must be positive")
    assert.error_matches(function() sk.fd{ell = 2, dim = 5, dtype = "int64"} end, "storage dtype")
    assert.error_matches(function() sk.fd{ell = 2, dim = 5, variant = "slow"} end, "'fast' or 'classic'")
    assert.error_matches(function() sk.fd(5) end, "options table expected")
  end)

  it("refuses rows of the wrong width or dtype", function()
    local fd = sk.fd{ell = 2, dim = 5}
    assert.error_matches(function() fd:add(lt.zeros(3, 4)) end, "rows must be %[n x 5%], got %[3x4%]")
    assert.error_matches(function() fd:add(lt.zeros(3, 5, "int64")) end, "float rows expected")
    assert.error_matches(function() fd:add("x") end, "tensor expected")
  end)

  it("refuses NaN/Inf rows and leaves the sketch unchanged", function()
    local fd = sk.fd{ell = 2, dim = 3}
    fd:add(lt.tensor({{1, 2, 3}}, "float32"))
    local before = fd:finalize()
    local bad = lt.tensor{{1, 1, 1}, {0 / 0, 1, 1}}
    assert.error_matches(function() fd:add(bad) end, "NaN or Inf %(sketch unchanged%)")
    assert.error_matches(function() fd:add(lt.tensor{{1 / 0, 1, 1}}) end, "NaN or Inf")
    assert.equal(1, fd:rows_seen())
    assert.is_true(before:equal(fd:finalize()))
  end)

  it("leaves a sketch that has already shrunk unchanged by a batch with a NaN row", function()
    for _, variant in ipairs { "fast", "classic" } do
      local fd = sk.fd { ell = 3, dim = 5, variant = variant }
      fd:add(lt.random.Generator(8):randn(11, 5)) -- past several shrinks
      local before = fd:state() -- (not finalize(): it compresses, so it is not a pure read)
      local bad = lt.random.Generator(9):randn(4, 5)
      bad[4][5] = 0 / 0 -- the last row: the good rows before it must not go in either
      assert.error_matches(function() fd:add(bad) end, "NaN or Inf %(sketch unchanged%)")
      local after = fd:state()
      for _, k in ipairs { "filled", "rows_seen", "sq_frob", "delta" } do assert.equal(before[k], after[k]) end
      assert.is_true(before.rows:equal(after.rows), variant)
      fd:add(bad:narrow(1, 1, 3)) -- and it goes on as if the bad batch never came
      local ref = sk.fd { ell = 3, dim = 5, variant = variant }
      ref:add(lt.random.Generator(8):randn(11, 5))
      ref:add(bad:narrow(1, 1, 3))
      assert.is_true(ref:finalize():equal(fd:finalize()), variant)
    end
  end)

  it("refuses rows the storage dtype cannot hold, and leaves the sketch unchanged", function()
    local f16 = sk.fd { ell = 2, dim = 3, dtype = "float16" }
    f16:add(lt.tensor({ { 1, 2, 3 } }, "float32"))
    local before = f16:state()
    assert.error_matches(function() f16:add(lt.tensor({ { 1, 70000, 1 } }, "float32")) end,
      "bad argument #2 to 'add' %(rows hold values beyond the range of float16 storage %(sketch unchanged%)%)")
    assert.equal(before.rows_seen, f16:rows_seen())
    f16:add(lt.tensor({ { 1, 65504, 1 } }, "float32")) -- the largest float16 goes in
    assert.equal(before.rows_seen + 1, f16:rows_seen())
    local f32 = sk.fd { ell = 2, dim = 3 }
    assert.error_matches(function() f32:add(lt.tensor({ { 1, 1e39, 1 } }, "float64")) end,
      "beyond the range of float32 storage")
    assert.equal(0, f32:rows_seen())
  end)

  it("fails clearly once squared norms overflow float32, never writing past its buffer", function()
    for _, variant in ipairs { "fast", "classic" } do
      local fd = sk.fd { ell = 2, dim = 4, variant = variant }
      fd:add(lt.ones(1, 4))
      local want = "the sketch's squared norms passed float32's range"
      assert.error_matches(function() fd:add(lt.full({ 4, 4 }, 1e30)) end, "add: " .. want)
      for _ = 1, 3 do -- the full buffer is never written past (ASan checks it)
        assert.error_matches(function() fd:add(lt.ones(2, 4)) end, "add: " .. want)
      end
      assert.error_matches(function() fd:finalize() end, "finalize: " .. want)
      assert.error_matches(function() sk.from_state(fd:state()) end, "state%.filled must be in")
    end
    -- float16 storage: rows that fit, whose compression would not
    local fd = sk.fd { ell = 2, dim = 4, dtype = "float16" }
    fd:add(lt.full({ 2, 4 }, 6e4))
    local want = "the sketch's singular values passed what float16 storage holds"
    assert.error_matches(function() fd:finalize() end, "finalize: " .. want)
    assert.error_matches(function() fd:add(lt.full({ 2, 4 }, 6e4)) end, "add: " .. want)
    assert.is_true(fd:state().rows:isfinite():all())
  end)

  it("accepts a single 1-d row", function()
    local fd = sk.fd{ell = 2, dim = 3}
    fd:add(lt.tensor({1, 2, 3}, "float64"))
    assert.equal(1, fd:rows_seen())
  end)
end)

describe("random projections", function()
  it("gaussian has variance 1/ell and is seeded", function()
    local P = sk.gaussian(64, 2000, {seed = 1})
    assert.is_true(math.abs(P:mean()) < 0.003)
    assert.is_true(math.abs(P:var() - 1 / 64) < 0.0005)
    assert.is_true(P:equal(sk.gaussian(64, 2000, {seed = 1})))
    assert.is_false(P:equal(sk.gaussian(64, 2000, {seed = 2})))
  end)

  it("sparse sign has density 1/3 and values +-sqrt(3/ell)", function()
    local P = sk.sparse_sign(16, 3000, {seed = 3})
    local nz = P:ne(0):sum() / P:numel()
    assert.is_true(math.abs(nz - 1 / 3) < 0.02)
    local v = math.sqrt(3 / 16)
    assert.is_true(P:abs():masked_select(P:ne(0)):allclose(lt.full({P:ne(0):sum()}, v)))
  end)

  it("countsketch has exactly one +-1 per column", function()
    local P = sk.countsketch(8, 500, {seed = 4})
    assert.is_true(P:ne(0):sum(1):eq(1):all())
    assert.is_true(P:abs():sum(1):eq(1):all())
  end)

  it("random projections preserve norms in expectation (JL)", function()
    local X = lt.random.Generator(9):randn(50, 1000)
    local P = sk.gaussian(400, 1000, {seed = 5})
    local ratio = (lt.matmul(X, P:t()):norm(2, 2) / X:norm(2, 2))
    assert.is_true(math.abs(ratio:mean() - 1) < 0.05)
  end)
end)

describe("fd:allmerge", function()
  it("in one process (no MPI) returns a copy of the sketch, leaving it as it was", function()
    local fd = sk.fd { ell = 4, dim = 12 }:add(lt.Generator(3):randn(30, 12))
    local before = fd:info()
    local m = fd:allmerge()
    assert.are_not.equal(fd, m)
    assert.same(before, fd:info())
    assert.are.equal(fd:finalize():tobytes(), m:finalize():tobytes())
    assert.are.equal(fd:error_bound(), m:error_bound())
  end)
end)
