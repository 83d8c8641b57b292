-- example_select_experiment_spec.lua: examples/select_experiment.lua (the RESULTS.md experiment)
-- run end to end on the first 3,000 training images, one seed, two epochs: every method
-- selects in its own process, a fresh model trains on each subset, the table reports it,
-- and a second run into the same folder resumes instead of measuring again.
local H = dofile((debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "tests") .. "/fixtures/host.lua")
local q, host = H.q, H.host

local function run(args)
  local p = io.popen(("%s examples/select_experiment.lua %s 2>&1"):format(q(host()), args))
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

local function lines_of(file)
  local t = {}
  for l in io.lines(file) do t[#t + 1] = l end
  return t
end

local METHODS = { "sage", "gradmatch", "craig", "glister", "kcenter", "el2n", "random" }

describe("examples/select_experiment.lua", function()
  local dir

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
  end)

  teardown(function() os.execute("rm -rf " .. q(dir)) end)

  it("selects with every method, trains on each subset, reports and resumes", function()
    local out, code = run(("run %s seeds=1 epochs=2 n=3000 fractions=0.2 methods=%s"):format(q(dir), table.concat(METHODS, ",")))
    assert.equal(0, code, out)
    local rows = lines_of(dir .. "/results.tsv")
    local seen = {}
    for _, l in ipairs(rows) do
      local f = {}
      for x in l:gmatch("[^\t]+") do f[#f + 1] = x end
      if f[1] == "select" then
        -- method, fraction, seed, seconds, peak MB, extra MB, class CV, accuracy, train s
        assert.equal("0.2", f[3])
        assert.equal(0, tonumber(f[8]), l) -- class-balanced: 60 picks in every class
        local acc = tonumber(f[9])
        assert.is_true(acc > 0.15 and acc <= 1, l) -- 10 steps on 600 images beat chance (0.1)
        seen[f[2]] = true
      elseif f[1] == "full" then
        assert.is_true(tonumber(f[4]) > 0.5, l)
        seen.full = true
      end
    end
    for _, m in ipairs(METHODS) do assert.is_true(seen[m], "no row for " .. m) end
    assert.is_true(seen.full)
    for _, m in ipairs(METHODS) do
      assert.truthy(out:find("| " .. m .. " | — | ", 1, true) == nil and out:find("| " .. m .. " |", 1, true), m)
    end
    assert.truthy(out:find("mean EL2N", 1, true))
    assert.truthy(out:find("SAGE 20%%: %d+%-%d+%% of its picks shared"))

    -- a second run into the same folder measures nothing again
    local again, code2 = run(("run %s seeds=1 epochs=2 n=3000 fractions=0.2 methods=%s full=0"):format(q(dir), table.concat(METHODS, ",")))
    assert.equal(0, code2, again)
    assert.equal(#rows, #lines_of(dir .. "/results.tsv"))
  end)

  it("prints its usage for an unknown command", function()
    local out, code = run("frobnicate")
    assert.equal(2, code)
    assert.truthy(out:find("usage:", 1, true))
  end)
end)
