-- example_sage_spec.lua: examples/sage_feature_space.lua (the SAGE feature-space seed) run end
-- to end on a tiny configuration in a temp dir; every figure must be a real PNG.
local lt = require "lunette"
local plot = require "lunette.plot"

local H = dofile((debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "tests") .. "/fixtures/host.lua")
local q, host = H.q, H.host

local FIGURES = { "feature_space_visualization.png", "class_distribution_analysis.png", "sage_sample_montage.png",
                  "gradmatch_sample_montage.png", "random_sample_montage.png", "agreement_score_analysis.png",
                  "sage_analysis_summary.png" }

-- CPU seconds of this process's waited children (/proc/self/stat's cutime + cstime): what a
-- child run costs, which, unlike its wall time, other processes on a loaded machine do not stretch.
local TICKS = tonumber(io.popen("getconf CLK_TCK"):read("a")) or 100
local function children_cpu()
  local stat = assert(io.open("/proc/self/stat")):read("a")
  -- the fields after the command name, which is in parentheses and may hold spaces
  local fields = {}
  for f in stat:match("%) (.*)$"):gmatch("%S+") do fields[#fields + 1] = f end
  return (tonumber(fields[14]) + tonumber(fields[15])) / TICKS -- fields 16 and 17 of stat
end

local function run(args)
  local errf = os.tmpname()
  local p = io.popen(("LUNETTE_PROGRESS=0 %s examples/sage_feature_space.lua %s 2>%s"):format(q(host()), args, q(errf)))
  local out = p:read("a")
  local _, _, code = p:close()
  local f = io.open(errf)
  local err = f:read("a")
  f:close()
  os.remove(errf)
  return out, err, code
end

describe("examples/sage_feature_space.lua", function()
  local dir

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
  end)

  teardown(function()
    for _, name in ipairs(FIGURES) do os.remove(dir .. "/" .. name) end
    os.remove(dir)
  end)

  it("writes every figure of the seed as a PNG on a tiny configuration", function()
    local t0 = children_cpu()
    local out, err, code = run("--n 1500 --viz 300 --agree 300 --ell 32 --dpi 40 --out " .. q(dir))
    assert.are.equal(0, code, err)
    -- about 5 CPU s here (12 s of wall time on the two shared cores under a load of 9)
    local cpu = children_cpu() - t0
    assert.is_true(cpu > 0 and cpu < 60, ("the tiny run took %.1f CPU s"):format(cpu))
    -- the printed tables and findings, with numbers
    assert.truthy(out:find("Loaded 1500 training samples"))
    assert.truthy(out:find("trained for 1 epoch"))
    for _, m in ipairs { "Original", "SAGE", "GradMatch", "Random" } do
      assert.truthy(out:find(m .. "%s*: Mean=%s*[%d.]+, Std=%s*[%d.]+, CV=[%d.]+"), m)
    end
    assert.truthy(out:find("SAGE selected:%s+Mean=%-?[%d.]+, Std=[%d.]+"))
    assert.truthy(out:find("Selection bias:%s+%-?[%d.]+"))
    assert.truthy(out:find("70 samples selected %(5%.0%% of dataset%)"))  -- 7 per class
    assert.truthy(out:find("Visualizations saved to " .. dir, 1, true))
    for _, name in ipairs(FIGURES) do
      local path = dir .. "/" .. name
      local f = assert(io.open(path, "rb"), "missing " .. name)
      assert.are.equal("\137PNG\r\n\26\n", f:read(8), name)
      f:close()
      local img = assert(plot.read_png(path))
      local h, w = img:size(1), img:size(2)
      -- figures are 12-18 inches wide at 40 dpi (bbox tight trims a little)
      assert.is_true(w > 300 and w < 900 and h > 200 and h < 700, ("%s is %dx%d"):format(name, w, h))
      assert.is_true(img:double():std() > 10, name .. " looks blank")
    end
  end)

  it("fails with a clear message on bad options", function()
    local _, err, code = run("--data mnist --out " .. q(dir))
    assert.are_not.equal(0, code)
    assert.truthy(err:find("%-%-data must be fashion_mnist or cifar100"))
    _, err, code = run("--fraction lots")
    assert.are_not.equal(0, code)
    assert.truthy(err:find("option %-%-fraction expects a number, got 'lots'"))
    _, err, code = run("--model vgg")
    assert.are_not.equal(0, code)
    assert.truthy(err:find("%-%-model must be small_cnn or resnext"))
    _, err, code = run("--bogus 1")
    assert.are_not.equal(0, code)
    assert.truthy(err:find("unknown option '%-%-bogus'"))
  end)
end)
