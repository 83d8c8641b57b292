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
  -- the certified bound the sketch tracks
  assert.is_true(err <= fd:error_bound() + slack, ("cov error %g > tracked bound %g"):format(err, fd:error_bound()))
  for k = 0, ell - 1, math.max(1, ell // 4) do
    local bound = sk.fd_bound(A, ell, k)
    assert.is_true(err <= bound + slack, ("k=%d: cov error %g > bound %g"):format(k, err, bound))
    assert.is_true(fd:error_bound() <= bound + slack, ("k=%d: tracked %g > bound %g"):format(k, fd:error_bound(), bound))
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
    assert.is_true(sk.cov_error(A, fd:finalize()) < 1e-3)
    assert.equal(0, fd:error_bound())
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
    s.filled, s.rows = 2, lt.zeros(2, 5)
    assert.error_matches(function() sk.from_state(s) end, "do not fit")
  end)
end)

describe("bad input", function()
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
