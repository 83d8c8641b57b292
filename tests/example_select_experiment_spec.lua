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

  it("runs the published protocol: equal epochs, re-selection, curves, table, figures", function()
    local pub = dir .. "/pub"
    local args = ("published %s seeds=1 epochs=2 eval_every=1 reselect=1 n=1000 ntest=500 " ..
      "fractions=0.2 methods=sage,glister,random,random_redraw full_epochs=1"):format(q(pub))
    local out, code = run(args)
    assert.equal(0, code, out)
    local cells, curves = {}, {}
    for _, l in ipairs(lines_of(pub .. "/published.tsv")) do
      local f = {}
      for x in l:gmatch("[^\t]+") do f[#f + 1] = x end
      if f[1] == "cell" then
        -- method, fraction, seed, accuracy, sel/train CPU s, sel/train wall s, epochs, selections
        cells[f[2]] = { acc = tonumber(f[5]), train = tonumber(f[7]), epochs = tonumber(f[10]),
                        selections = tonumber(f[11]) }
      elseif f[1] == "curve" then
        curves[f[2]] = (curves[f[2]] or 0) + 1
      end
    end
    -- reselect=1 over 2 epochs: two selections for the re-selecting methods, one for random
    assert.same({ 2, 2, 1, 2 }, { cells.sage.selections, cells.glister.selections,
      cells.random.selections, cells.random_redraw.selections })
    assert.same({ 2, 2, 2, 2, 1 }, { curves.sage, curves.glister, curves.random,
      curves.random_redraw, curves.full })
    assert.equal(1, cells.full.epochs)
    assert.equal(2, cells.sage.epochs)
    for m, c in pairs(cells) do
      assert.is_true(c.acc > 0.1 and c.acc <= 1, m)
      assert.is_true(c.train > 0, m)
    end
    -- the table: a speed-up per cell, the full-data time said to be extrapolated
    assert.truthy(out:find("its time scaled to 2 epochs: an extrapolation", 1, true), out)
    local row = "| sage | 20%% | [%d.]+ ± [%d.]+ %(n=1%) | 2 | %d+ | %d+ | %d+ | [%d.]+× |"
    assert.truthy(out:find(row), out)
    -- resumes: nothing measured again
    local n = #lines_of(pub .. "/published.tsv")
    local _, code2 = run(args)
    assert.equal(0, code2)
    assert.equal(n, #lines_of(pub .. "/published.tsv"))
    -- the two figures
    local fout, fcode = run(("figures %s %s"):format(q(pub), q(pub .. "/fig")))
    assert.equal(0, fcode, fout)
    for _, name in ipairs { "published_curves.png", "published_speedup.png" } do
      local f = assert(io.open(pub .. "/fig/" .. name, "rb"))
      assert.equal("\137PNG", f:read(4))
      assert.is_true(f:seek("end") > 20000, name)
      f:close()
    end
  end)

  it("prints its usage for an unknown command", function()
    local out, code = run("frobnicate")
    assert.equal(2, code)
    assert.truthy(out:find("usage:", 1, true))
  end)
end)
