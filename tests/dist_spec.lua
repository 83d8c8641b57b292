-- dist_spec.lua: lunette.dist under `mpirun -np 2` and `-np 4` (the scripts in tests/dist/
-- compare every collective with the same computation in one process), and without mpirun.
local BUILD = os.getenv("LUNETTE_BUILD") or "build"
local LUNETTE = BUILD .. "/lunette"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- Runs a shell command; returns its stdout and stderr together, the exit code and seconds.
local function sh(cmd)
  local t0 = lt.time()
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code, lt.time() - t0
end

local HAVE_MPIRUN = select(2, sh("command -v mpirun >/dev/null")) == 0

-- `mpirun -np n lunette script`, as root too; a timeout so that a hang fails instead of
-- stalling the suite.
local function mpirun(n, script, extra)
  return sh(("timeout 60 mpirun --oversubscribe --allow-run-as-root -np %d %s %s %s"):format(
    n, q(LUNETTE), q(script), extra or ""))
end

local function count(s, pat)
  local n = 0
  for _ in s:gmatch(pat) do n = n + 1 end
  return n
end

describe("lunette.dist", function()
  it("without mpirun is a job of one rank and does not load Open MPI", function()
    local out, code = sh(q(LUNETTE) .. [[ -e "local d = lt.dist
      print(d.rank(), d.size(), d.is_root(), d.active(), d.allreduce(lt.ones(2)):sum())
      print(io.open('/proc/self/maps'):read('a'):find('libmpi') ~= nil)"]])
    assert.are.equal(0, code, out)
    assert.are.equal("0\t1\ttrue\tfalse\t2.0\nfalse\n", out)
  end)

  it("runs the collectives script alone, every check passing", function()
    local out, code = sh(q(LUNETTE) .. " tests/dist/collectives.lua")
    assert.are.equal(0, code, out)
    assert.is_nil(out:find("FAIL"), out)
    assert.truthy(out:find("rank 0: %d+ checks"), out)
  end)

  it("runs pca{dist = true} alone as one process's exact PCA", function()
    local out, code = sh(q(LUNETTE) .. " tests/dist/pca.lua")
    assert.are.equal(0, code, out)
    assert.are.equal("rank 0: pca match\n", out)
  end)

  if not HAVE_MPIRUN then
    pending("mpirun is not installed (Debian openmpi-bin; scripts/deps.sh installs it)")
    return
  end

  it("init() without mpirun starts a job of one rank", function()
    local out, code = sh(q(LUNETTE) .. [[ -e "print(lt.dist.init()); print(lt.dist.active())"]])
    assert.are.equal(0, code, out)
    assert.truthy(out:find("^0\t1\ntrue\n"), out)
  end)

  for _, n in ipairs { 2, 4 } do
    it(("matches one process on every dtype, empty and odd shapes (-np %d)"):format(n), function()
      local out, code = mpirun(n, "tests/dist/collectives.lua")
      assert.are.equal(0, code, out)
      assert.is_nil(out:find("FAIL"), out)
      assert.are.equal(n, count(out, "rank %d: 282 checks"), out)
    end)

    it(("raises a collective mismatch on every rank instead of hanging (-np %d)"):format(n),
      function()
        local out, code = mpirun(n, "tests/dist/mismatch.lua")
        assert.are.equal(0, code, out)
        for _, what in ipairs { "shape", "dtype", "op", "root", "kind" } do
          assert.are.equal(n, count(out, "rank %d " .. what .. ": bad argument #1 to '%w+' "
                                          .. "%(collective mismatch: rank 0 called"), out)
        end
        assert.truthy(out:find("rank 1 called allreduce%(sum%) float32 %[3x4%]"), out)
        assert.truthy(out:find("rank 0 called barrier%(%), rank 1 called gather%(root 0%)"), out)
        assert.are.equal(n, count(out, "after: no error"), out)
      end)

    it(("ends the whole job when one rank raises, within 10 s (-np %d)"):format(n), function()
      local out, code, secs = mpirun(n, "tests/dist/fail.lua")
      assert.are_not.equal(0, code, out)
      assert.is_true(secs < 10, ("took %.1f s"):format(secs))
      assert.truthy(out:find(("lunette %%(rank %d of %d%%): tests/dist/fail.lua:4: failing on "
                              .. "purpose\nstack traceback:"):format(n - 1, n)), out)
      assert.is_nil(out:find("unreachable"), out)
    end)
  end

  it("ends the job when one rank's script ends while others call collectives", function()
    for _, n in ipairs { 2, 4 } do
      local out, code, secs = mpirun(n, "tests/dist/early.lua")
      assert.are_not.equal(0, code, out)
      assert.is_true(secs < 10, ("took %.1f s"):format(secs))
      assert.truthy(out:find("collective mismatch: rank 0 called allreduce%(sum%) float32 %[3%], "
                             .. "rank 1 called finalize %(its script ended%)"), out)
      assert.is_nil(out:find("unreachable"), out)
    end
  end)

  it("allmerges FD sketches within the bound, the same on every rank and run to run", function()
    local sums = {}
    for _, n in ipairs { 2, 4, 4 } do
      local out, code = mpirun(n, "tests/dist/sketch.lua")
      assert.are.equal(0, code, out)
      assert.is_nil(out:find("FAIL"), out)
      local lines = {}
      for sum in out:gmatch("rank %d: checksum ([^\n]+)") do lines[#lines + 1] = sum end
      assert.are.equal(n, #lines, out)
      for i = 2, n do assert.are.equal(lines[1], lines[i]) end
      sums[#sums + 1] = lines[1]
    end
    assert.are.equal(sums[2], sums[3])
    assert.are_not.equal(sums[1], sums[2])
  end)

  for _, n in ipairs { 2, 4 } do
    it(("select.sage{dist = true} picks what one process picks from the same sketch (-np %d)")
      :format(n), function()
      local out, code = mpirun(n, "tests/dist/sage.lua")
      assert.are.equal(0, code, out)
      assert.are.equal(n, count(out, "rank %d: sage same 30 rows, P 300"), out)
    end)
  end

  for _, n in ipairs { 2, 4 } do
    it(("data-parallel nn.fit matches one process with the same global batch (-np %d)")
      :format(n), function()
      local out, code = mpirun(n, "tests/dist/fit.lua")
      assert.are.equal(0, code, out)
      assert.is_nil(out:find("FAIL"), out)
      assert.are.equal(2 * n, count(out, "rank %d weights=%a+: match"), out)
      assert.are.equal(n, count(out, "rank %d evaluate: match"), out)
    end)
  end

  it("score methods with dist = true pick what one process picks (-np 2, -np 4)", function()
    for _, n in ipairs { 2, 4 } do
      local out, code = mpirun(n, "tests/dist/scores.lua")
      assert.are.equal(0, code, out)
      assert.are.equal(n, count(out, "rank %d: scores same"), out)
    end
  end)

  it("greedy methods with dist = true run GreeDi: a valid subset, the same on every rank, the "
     .. "objective near one process's (-np 2, -np 4)", function()
    for _, n in ipairs { 2, 4 } do
      local out, code = mpirun(n, "tests/dist/greedi.lua")
      assert.are.equal(0, code, out)
      assert.is_nil(out:find("FAIL"), out)
      assert.are.equal(n, count(out, "rank %d: greedi valid"), out)
      -- Measured: facility location within 1% of one process's greedy on these rows.
      for ratio in out:gmatch("craig ratio ([%d.]+)") do
        assert.is_true(tonumber(ratio) > 0.95, out)
      end
      for ratio in out:gmatch("kcenter ratio ([%d.]+)") do
        assert.is_true(tonumber(ratio) > 0.5, out)
      end
    end
  end)

  it("draws progress bars on rank 0 only, counting the whole job (-np 2, -np 4)", function()
    for _, n in ipairs { 2, 4 } do
      local out, code = sh(("LUNETTE_PROGRESS=1 timeout 60 mpirun --oversubscribe "
        .. "--allow-run-as-root -np %d %s tests/dist/progress.lua"):format(n, q(LUNETTE)))
      assert.are.equal(0, code, out)
      assert.truthy(out:find("rank 0: enabled true n " .. 10 * n .. " total " .. 10 * n), out)
      assert.are.equal(n - 1, count(out, "rank %d: enabled false n " .. 10 * n), out)
      assert.are.equal(n, count(out, "rank %d: array 5"), out)
      assert.are.equal(n, count(out, "rank %d: done"), out)
      -- rank 0's bars end full at the global totals; no other rank draws anything
      assert.truthy(out:find(("rank0 hand: 100%%%%|[^\n\r]*| %d/%d"):format(10 * n, 10 * n)), out)
      assert.truthy(out:find(("rank0 array: 100%%%%|[^\n\r]*| %d/%d"):format(5 * n, 5 * n)), out)
      assert.truthy(out:find("SAGE 1/2 sketch: 100%%|[^\n\r]*| (%d+)/%1 "), out)
      assert.truthy(out:find("SAGE 2/2 project: 100%%|[^\n\r]*| (%d+)/%1 "), out)
      assert.truthy(out:find("evaluate: 100%%|[^\n\r]*| 100/100"), out)
      assert.is_nil(out:find("rank[1-9] %a+:"), out)
    end
  end)

  it("embed.pca{dist = true} is one process's PCA of the stacked rows (-np 2, -np 4)", function()
    for _, n in ipairs { 2, 4 } do
      local out, code = mpirun(n, "tests/dist/pca.lua")
      assert.are.equal(0, code, out)
      assert.is_nil(out:find("FAIL"), out)
      assert.are.equal(n, count(out, "rank %d: pca match"), out)
    end
  end)

  it("runs README's gather-then-embed example on 2 ranks", function()
    local readme = assert(io.open("README.md")):read("a")
    local block = readme:match("```lua\n(local _, pca = lt.embed.pca[^`]*)```")
    assert.truthy(block, "README no longer shows the gather-then-embed example")
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write("local F = lt.Generator(lt.dist.rank() + 1):randn(600, 32)\nlocal Y\n", block,
            "if Y then print('embedded', Y:size(1), Y:size(2)) end\n")
    f:close()
    local out, code = mpirun(2, script)
    os.remove(script)
    assert.are.equal(0, code, out)
    assert.are.equal(1, count(out, "embedded\t1000\t2"), out)
  end)

  it("runs examples/sage_distributed.lua on 2 ranks, rank 0 printing", function()
    local out, code = mpirun(2, "examples/sage_distributed.lua", "600")
    assert.are.equal(0, code, out)
    assert.are.equal(1, count(out, "SAGE: 30 of 600 kept"), out)
    assert.truthy(out:find("2 rank%(s%); 600 images, 300 on this rank"), out)
  end)

  it("prints on rank 0 only unless print_all", function()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write("print('quiet', lt.dist.rank()) lt.dist.print_all = true print('loud', lt.dist.rank())")
    f:close()
    local out, code = mpirun(2, script)
    os.remove(script)
    assert.are.equal(0, code, out)
    assert.are.equal(1, count(out, "quiet"), out)
    assert.truthy(out:find("quiet\t0"), out)
    assert.are.equal(2, count(out, "loud"), out)
  end)
end)
