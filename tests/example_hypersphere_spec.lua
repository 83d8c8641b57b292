-- example_hypersphere_spec.lua: smoke test of examples/train_constellation.lua and
-- examples/hypersphere.lua on a tiny configuration: every figure is written and is a valid
-- PNG, the three checkpoint layouts the seed handles load (synthetic checkpoints written with
-- lt.io.save), and bad inputs end with a clear message instead of a crash.
local lt = require "lunette"
local plot = lt.plot

local BUILD = os.getenv("LUNETTE_BUILD") or "build"
local HOST = BUILD .. "/lunette"
local FIGURES = { "hypersphere_manifold.png", "expert_perspectives.png", "anchors_only.png", "pairwise_diffs.png" }

local dir = os.tmpname()
os.remove(dir)
os.execute(("mkdir -p %q"):format(dir))
teardown(function() os.execute(("rm -rf %q"):format(dir)) end)

-- Runs a lunette script; returns ok, its output (stdout and stderr).
local function run(script, args)
  local p = io.popen(("LUNETTE_PROGRESS=0 %q %q %s 2>&1"):format(HOST, script, args))
  local out = p:read("a")
  local ok = p:close()
  return ok, out
end

local function check_figures(out)
  for _, name in ipairs(FIGURES) do
    local img, err = plot.read_png(out .. "/" .. name)
    assert(img, ("%s/%s: %s"):format(out, name, tostring(err)))
    assert(img:size(1) > 100 and img:size(2) > 150, ("%s is only %dx%d"):format(name, img:size(2), img:size(1)))
    assert(img[{ 2, 2, 1 }] == 0, name .. " has a black background") -- facecolor black
  end
end

local TINY = "--sample 150 --dpi 30"

describe("examples/train_constellation.lua + hypersphere.lua", function()
  it("train a tiny constellation and draw every figure from it", function()
    local ok, out = run("examples/train_constellation.lua", ("--out %q --train 600 --test 200 --epochs 1 --cepochs 1 "
      .. "--kmeans 24 --n-anchors 16 --d-anchor 8"):format(dir .. "/model"))
    assert(ok, out)
    local ckpt = assert(lt.io.load(dir .. "/model/constellation.pt"))
    assert.equal(8, ckpt.config.d_anchor)
    assert.equal(16, ckpt.config.n_anchors)
    assert.is_number(ckpt.mAP)
    assert.same({ 16, 8 }, ckpt.state_dict["constellation.anchors"]:size())
    assert.is_true(lt.is_tensor(ckpt.state_dict["projectors.2.proj.1.bias"]))
    ok, out = run("examples/hypersphere.lua", ("%q --out %q %s"):format(dir .. "/model/constellation.pt", dir .. "/figs", TINY))
    assert(ok, out)
    assert.matches("PCA 3D variance: [%d.]+%%", out)
    assert.matches("Information gain from diffs", out)
    check_figures(dir .. "/figs")
  end)

  describe("reads the seed's three checkpoint layouts", function()
    local N, D, NA, DIN = 120, 6, 10, { 5, 7, 4 }
    local feats = {}
    setup(function()
      local g = lt.random.Generator(3)
      for i, d in ipairs(DIN) do
        feats[i] = ("%s/expert%d.npy"):format(dir, i)
        assert(lt.io.save(feats[i], g:randn(N, d)))
      end
      assert(lt.io.save(dir .. "/labels.npy", g:randint(0, 5, N)))
    end)

    local function checkpoint(layout)
      local g, sd = lt.random.Generator(7), { ["constellation.anchors"] = lt.random.Generator(8):randn(NA, D) }
      local function projector(pre, din)
        sd[pre .. ".0.weight"], sd[pre .. ".0.bias"] = g:randn(D, din), g:randn(D)
        sd[pre .. ".1.weight"], sd[pre .. ".1.bias"] = lt.ones(D), lt.zeros(D)
      end
      for i, din in ipairs(DIN) do
        local k = i - 1
        projector(("projectors.%d.%s"):format(k, layout == "shared" and "proj" or "proj_shared"), din)
        if layout == "native" then projector(("projectors.%d.proj_native"):format(k), din) end
        if layout == "rotations" then
          sd["constellation.expert_rotations." .. k] = lt.linalg.qr(g:randn(D, D))
          sd["constellation.expert_whiteners." .. k] = lt.eye(D) * (1 + k)
          sd["constellation.expert_means." .. k] = g:randn(D) * 0.1
        end
      end
      local path = ("%s/%s.pt"):format(dir, layout)
      assert(lt.io.save(path, { state_dict = sd, config = { d_anchor = D, n_anchors = NA }, mAP = 0.5 }))
      return path
    end

    for _, layout in ipairs { "rotations", "native", "shared" } do
      it(layout, function()
        local out_dir = dir .. "/" .. layout
        local ok, out = run("examples/hypersphere.lua", ("%q %s --labels %q --out %q %s"):format(checkpoint(layout),
          table.concat(feats, " "), dir .. "/labels.npy", out_dir, TINY))
        assert(ok, out)
        assert.matches("expert1 − expert2", out)
        check_figures(out_dir)
      end)
    end

    it("reads Parquet shard folders aligned on text ids, as the .npy files", function()
      local good = checkpoint("shared")
      local labels = assert(lt.io.load(dir .. "/labels.npy"))
      local folders = {}
      for i in ipairs(DIN) do
        -- expert i's rows in another order (reversed for 2, rotated for 3), in two shards
        local order = {}
        for r = 1, N do order[r] = i == 1 and r or i == 2 and N + 1 - r or (r + 40 - 1) % N + 1 end
        local X = assert(lt.io.load(feats[i])):index_select(1, lt.tensor(order):long())
        local ids = {}
        for r, k in ipairs(order) do ids[r] = ("img-%03d"):format(k) end
        folders[i] = ("%s/pq%d"):format(dir, i)
        os.execute(("mkdir -p %q"):format(folders[i]))
        for s = 0, 1 do
          local a, n = s * 70 + 1, s == 0 and 70 or N - 70
          local cols = { emb = X:narrow(1, a, n), image_id = table.move(ids, a, a + n - 1, 1, {}) }
          if i == 1 then cols.labels = labels:narrow(1, a, n) end
          assert(lt.io.write_parquet(("%s/train-%05d.parquet"):format(folders[i], s), cols))
        end
      end
      local ok, ref = run("examples/hypersphere.lua", ("%q %s --labels %q --out %q %s"):format(good,
        table.concat(feats, " "), dir .. "/labels.npy", dir .. "/ref", TINY))
      assert(ok, ref)
      local out
      ok, out = run("examples/hypersphere.lua", ("%q %s --column emb --out %q %s"):format(good,
        table.concat(folders, " "), dir .. "/pq", TINY))
      assert(ok, out)
      local v = out:match("PCA 3D variance: [%d.]+%%")
      assert.is_truthy(v, out)
      assert.equal(ref:match("PCA 3D variance: [%d.]+%%"), v)
      check_figures(dir .. "/pq")
    end)

    it("ends bad inputs with a message naming the problem", function()
      local good = checkpoint("shared")
      local ckpt = assert(lt.io.load(good))
      ckpt.state_dict["constellation.anchors"] = nil
      assert(lt.io.save(dir .. "/noanchors.pt", ckpt))
      local cases = {
        { ("%q %s"):format(dir .. "/noanchors.pt", table.concat(feats, " ")), "no tensor 'constellation.anchors'" },
        { ("%q %s %s %s"):format(good, feats[2], feats[1], feats[3]), "expects input %[%* x 5%], got %[120x7%]" },
        { ("%q %s"):format(dir .. "/labels.npy", table.concat(feats, " ")), "not a checkpoint with state_dict" },
        { ("%q %s"):format(good, feats[1]), "two or more expert feature files" },
        { ("%q %s"):format(good, table.concat(feats, " ")), "no labels for the 120 rows" },
        { ("%q %s %s"):format(good, feats[1], dir .. "/nothere.npy"), "nothere.npy" },
      }
      for k, c in ipairs(cases) do
        local labels = k == 5 and "" or (" --labels " .. dir .. "/labels.npy")
        local ok, out = run("examples/hypersphere.lua", c[1] .. labels .. " --out " .. dir .. "/bad " .. TINY)
        assert(not ok, "expected a failure for " .. c[1])
        assert.matches("\nlunette: [^\n]*" .. c[2], out) -- the host's one-line error, not a crash
        assert.not_matches("[Ss]egmentation", out)
      end
    end)
  end)
end)
