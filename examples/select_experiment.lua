-- select_experiment.lua - the selection experiment of RESULTS.md: select 5/15/25% of
-- Fashion-MNIST train with SAGE and the baselines, train a fresh model from scratch on each
-- subset (same epochs and schedule; weights where the method gives them), report test
-- accuracy (mean ± std over seeds), selection time and peak memory, next to full data.
--
--   lunette examples/select_experiment.lua run OUT [seeds=3] [epochs=20] [arch=mlp]
--   lunette examples/select_experiment.lua table OUT          (the markdown tables again)
--   lunette examples/select_experiment.lua published OUT [epochs=200] [arch=cnn] [full_epochs=E]
--     [eval_every=10] [lr=0.05] [reselect=N] [ntest=N]  (the published protocol: equal
--     epochs on the subset, re-selection; see "published OUT" below), then `ptable OUT` and
--     `figures OUT DIR`
-- Options: methods=sage,craig fractions=0.05,0.25 full=0 (skip full-data training) first=2
-- (start at seed 2, to add seeds to an earlier run) n=3000 (the first n training images
-- only: a quick run). A run
-- into an OUT that already holds a seed's warm-up and stats reuses them (more methods later).
--
-- Per seed s: a warm-up copy of the model trains one epoch on all the data (seed s); its
-- last-layer per-sample gradients (N x 1,290), penultimate features (N x 128) and class
-- probabilities are computed once ("stats pass") and saved; every method then selects in
-- a process of its own (so its peak RSS is its own): SAGE runs its whole pipeline on the
-- warm-up model (sketch pass + projection pass, ell = 256); GradMatch, CRAIG and GLISTER
-- use the last-layer gradients (as CORDS does), k-center the features, EL2N the
-- probabilities. GLISTER's validation rows are 100 held-in training images per class, its
-- validation gradient recomputed at the updated last layer after every pick (CORDS). Then a fresh model (seed s) trains on the subset.
local lt = require "lunette"
local S = require "lunette.select"
local nn, data, lio = require "lunette.nn", require "lunette.data", require "lunette.io"

local METHODS = { "sage", "gradmatch", "craig", "glister", "kcenter", "el2n", "random" }
-- also reported when present: SAGE with the diversity penalty (methods=sage_div)
-- and SAGE as its authors train with it (methods=sage_refresh): re-selected with the model being
-- trained, REFRESHES times in all (SAGE's sage_train.py: every 50 of 200 epochs)
local REPORTED = { "sage", "sage_div", "sage_refresh", "gradmatch", "craig", "glister", "kcenter", "el2n", "random" }
local FRACTIONS = { 0.05, 0.15, 0.25 }
local LR, BATCH = 0.05, 128
local REFRESHES = 4

-- key=value arguments; methods= and fractions= take comma lists.
local function opts_of(args, defaults)
  local o = { seeds = 3, epochs = 20, arch = "mlp", methods = METHODS, fractions = FRACTIONS }
  for k, v in pairs(defaults or {}) do o[k] = v end
  for _, a in ipairs(args) do
    local k, v = a:match("^([%w_]+)=(.+)$")
    if k == "methods" or k == "fractions" then
      local list = {}
      for x in v:gmatch("[^,]+") do list[#list + 1] = tonumber(x) or x end
      o[k] = list
    elseif k then o[k] = tonumber(v) or v end
  end
  return o
end

local function new_model(arch, seed)
  lt.seed(seed)
  if arch == "cnn" then return nn.small_cnn {} end
  return nn.mlp { 784, 256, 128, 10 }
end

local function optimizer(model, epochs)
  local opt = nn.SGD(model, { lr = LR, momentum = 0.9, weight_decay = 5e-4 })
  return opt, nn.CosineLR(opt, { t_max = epochs })
end

local function train(model, X, Y, epochs, seed, indices, weights)
  local opt, sched = optimizer(model, epochs)
  return nn.fit(model, { x = X, y = Y }, { epochs = epochs, batch_size = BATCH, optimizer = opt,
    schedule = sched, seed = seed, indices = indices, weights = weights })
end

local function vmhwm_mb()
  local f = io.open("/proc/self/status")
  local kb = f:read("a"):match("VmHWM:%s*(%d+)")
  f:close()
  return tonumber(kb) / 1024
end

local function path(out, fmt, ...) return out .. "/" .. fmt:format(...) end

-- Fashion-MNIST train, or its first n images (n= makes a quick run, as the smoke spec does)
local function train_set(n)
  local tr = data.fashion_mnist { split = "train" }
  if n and n < tr:size() then tr = tr:subset(lt.arange(1, n + 1)) end
  return tr
end

-- GLISTER's validation rows: 100 seeded training images per class (fewer on a quick run of
-- n < 5,000 images, where a class may hold fewer than 100).
local function val_rows(Y, seed)
  return S.random { labels = Y, budget = math.min(1000, Y:numel() // 5), seed = 2000 + seed }
end

-- The stats pass: the model's last-layer per-sample gradients G (N x 1,290 for the CNN),
-- penultimate features H and class probabilities P over the training set, in eval mode, and
-- GLISTER's validation gradient V (class means over 100 seeded images per class).
local function stats_of(model, tr, seed)
  local head, n = nn.head_of(model), tr:size()
  local G, H, P = lt.empty(n, nn.param_dim(model, { last_layer = true })), nil, lt.empty(n, 10)
  -- in eval mode for the pass; each module gets its own flag back (the published protocol
  -- selects with the model being trained, between two stretches of its training)
  nn.in_eval(model, function()
    for r = 1, n, 1000 do
      local m = math.min(1000, n - r + 1)
      local x, y = tr:batch(lt.arange(r, r + m))
      local h = model:features(x)
      H = H or lt.empty(n, h:size(2))
      H:narrow(1, r, m):copy_(h)
      local g, _, logits = nn.per_sample_grads(head, h, y)
      G:narrow(1, r, m):copy_(g)
      local z = logits - logits:max(2, true)
      local e = z:exp()
      P:narrow(1, r, m):copy_(e / e:sum(2, true))
    end
  end)
  local Y = tr:labels()
  local vidx = val_rows(Y, seed)
  local V = lt.zeros(10, G:size(2))
  local Gv, yv = G:index_select(1, vidx), Y:index_select(1, vidx)
  local pos = lt.arange(1, vidx:numel() + 1)
  for c = 1, 10 do V[c] = Gv:index_select(1, pos:masked_select(yv:eq(c))):mean(1) end
  return G, H, P, V
end

---------------------------------------------------------------------------
-- prepare OUT SEED: warm-up model and the stats every baseline selects from
---------------------------------------------------------------------------
local function prepare(out, seed, o)
  local tr = train_set(o.n)
  local X, Y = tr.x, tr:labels()
  local model = new_model(o.arch, 1000 + seed)
  train(model, X, Y, 1, 1000 + seed)
  assert(lio.save(path(out, "warm_%d.safetensors", seed), model:state_dict()))
  local t0 = lt.time()
  local G, H, P, V = stats_of(model, tr, seed)
  local secs = lt.time() - t0
  assert(lio.save(path(out, "stats_%d.safetensors", seed), { G = G, H = H, P = P, V = V }))
  print(("stats pass seed %d: %.1f s (last-layer grads %s, features %s)"):format(seed, secs,
    table.concat(G:size(), "x"), table.concat(H:size(), "x")))
  return secs
end

-- choose(method, fraction, seed, tr, Y, model, st) -> indices [, weights]
-- One selection of a fraction of tr by method: SAGE's whole pipeline on model; the baselines
-- on st, the stats pass of the same model (stats_of); random, class-balanced and seeded.
local function choose(method, fraction, seed, tr, Y, model, st)
  if method == "sage" or method == "sage_div" then
    return (S.sage { model = model, dataset = tr, ell = 256, fraction = fraction,
                    progress = false, diversity = method == "sage_div" and 0.2 or nil })
  elseif method == "gradmatch" then
    local idx, _, w = S.gradmatch { grads = st.G, labels = Y, budget = fraction, seed = seed }
    return idx, w
  elseif method == "craig" then
    local idx, _, w = S.craig { grads = st.G, labels = Y, budget = fraction }
    return idx, w
  elseif method == "glister" then
    -- the validation rows of the stats pass (100 per class); P holds probabilities, and
    -- log P differs from the logits by a per-row constant, which the softmax gradient ignores
    local vidx = val_rows(Y, seed)
    local val = { features = st.H:index_select(1, vidx),
                  logits = st.P:index_select(1, vidx):clamp(1e-12):log(),
                  labels = Y:index_select(1, vidx) }
    return (S.glister { grads = st.G, labels = Y, budget = fraction, eta = LR, val = val })
  elseif method == "kcenter" then
    return (S.kcenter { features = st.H, labels = Y, budget = fraction, seed = seed })
  elseif method == "el2n" then
    return (S.el2n { probs = st.P, labels = Y, budget = fraction })
  end
  return (S.random { labels = Y, budget = fraction, seed = seed })
end

---------------------------------------------------------------------------
-- select OUT SEED METHOD FRACTION: one selection in a process of its own
---------------------------------------------------------------------------
local function select_one(out, seed, method, fraction, o)
  local tr = train_set(o.n)
  local Y = tr:labels()
  local st, model
  if method == "sage" or method == "sage_div" then
    model = new_model(o.arch, 0)
    model:load_state_dict(assert(lio.load(path(out, "warm_%d.safetensors", seed))))
  elseif method ~= "random" then
    st = assert(lio.load(path(out, "stats_%d.safetensors", seed)))
  end
  collectgarbage("collect")
  local base = vmhwm_mb()
  local t0 = lt.time()
  local idx, w = choose(method, fraction, seed, tr, Y, model, st)
  local secs, peak = lt.time() - t0, vmhwm_mb()
  local cs = S.class_stats(idx, Y, 10)
  local saved = { indices = idx }
  if w then saved.weights = w end
  assert(lio.save(path(out, "sel_%s_%d_%g.safetensors", method, seed, fraction), saved))
  print(("select\t%s\t%g\t%d\t%.3f\t%.0f\t%.0f\t%.3f"):format(method, fraction, seed, secs, peak, peak - base, cs.cv))
end

---------------------------------------------------------------------------
-- sage_refresh: one model, one optimiser and schedule; SAGE re-selects its subset with the
-- model being trained at the start of each of REFRESHES equal stretches of the epochs (the
-- first selection uses the warm-up model, as one-shot SAGE does). In-process, so its peak
-- RSS includes training; selection time is the sum of all selections.
---------------------------------------------------------------------------
local function sage_refresh(out, seed, fraction, o, tr, X, Y)
  local warm = new_model(o.arch, 0)
  warm:load_state_dict(assert(lio.load(path(out, "warm_%d.safetensors", seed))))
  local model = new_model(o.arch, seed)
  local opt, sched = optimizer(model, o.epochs)
  local sel_s, t0, done, idx = 0, lt.time(), 0, nil
  for r = 1, REFRESHES do
    local upto = math.floor(o.epochs * r / REFRESHES + 0.5)
    if upto > done then
      local t = lt.time()
      idx = S.sage { model = r == 1 and warm or model, dataset = tr, ell = 256, fraction = fraction, progress = false }
      sel_s = sel_s + lt.time() - t
      nn.fit(model, { x = X, y = Y }, { epochs = upto - done, batch_size = BATCH, optimizer = opt,
        schedule = sched, seed = seed * 100 + r, indices = idx })
      done = upto
    end
  end
  local cs = S.class_stats(idx, Y, 10)
  return ("select\tsage_refresh\t%g\t%d\t%.3f\t%.0f\t%.0f\t%.3f"):format(fraction, seed, sel_s, vmhwm_mb(), 0, cs.cv),
         lt.time() - t0 - sel_s, model
end

---------------------------------------------------------------------------
-- published OUT: the published protocol (SAGE's sage_train.py, CORDS). A fresh model trains
-- for the same number of epochs on the subset as the full-data reference (epochs=, 200 by
-- default), SGD momentum 0.9, cosine schedule over all epochs, weight decay 5e-4, batch 128.
-- The first selection is made before the first epoch with the fresh model (sage_train.py's
-- first_selection_epoch = 1, no warm-up); then each method re-selects with the model being
-- trained every RESELECT[method] epochs (SAGE 50, as sage_train.py's refresh_epochs; the
-- CORDS baselines 20), random keeps its first draw and random_redraw draws again every 20.
-- Test accuracy is measured every eval_every epochs (the learning curve; not counted as
-- training time). Times are CPU seconds of the process (os.clock: all threads), which a
-- shared machine inflates far less than wall time; wall seconds are kept too.
-- Rows go to OUT/published.tsv, one "cell" row per finished cell, "curve" rows per
-- evaluation; a run into the same OUT skips finished cells (resumable, cell by cell).
---------------------------------------------------------------------------
local PUB_METHODS = { "sage", "gradmatch", "craig", "glister", "random", "random_redraw" }
local RESELECT = { sage = 50, sage_div = 50, gradmatch = 20, craig = 20, glister = 20,
                   kcenter = 20, el2n = 20, random_redraw = 20 }
local STATS_FREE = { sage = true, sage_div = true, random = true, random_redraw = true }

-- Trains model for epochs in stretches that end at every re-selection and every evaluation;
-- select_fn(epoch) -> indices, weights (nil for full data). Returns the final accuracy, the
-- CPU and wall seconds of selection and of training, and the number of selections.
local function train_protocol(model, o, data_xy, test, epochs, every, select_fn, on_curve, seed)
  local opt, sched = nn.SGD(model, { lr = o.lr or LR, momentum = 0.9, weight_decay = 5e-4 }), nil
  sched = nn.CosineLR(opt, { t_max = epochs })
  local t = { sel_cpu = 0, sel_wall = 0, train_cpu = 0, train_wall = 0, selections = 0 }
  local idx, w, e, acc = nil, nil, 0, nil
  local eval_every = o.eval_every or 10
  while e < epochs do
    if select_fn and (e == 0 or (every and e % every == 0)) then
      local c0, w0 = os.clock(), lt.time()
      idx, w = select_fn(e)
      if w then w = w:clamp(1e-6 * w:mean()) end
      t.sel_cpu, t.sel_wall = t.sel_cpu + os.clock() - c0, t.sel_wall + lt.time() - w0
      t.selections = t.selections + 1
    end
    -- the stretch ends at the next evaluation, the next re-selection or the last epoch
    local stop = math.min(epochs, (e // eval_every + 1) * eval_every)
    if select_fn and every then stop = math.min(stop, (e // every + 1) * every) end
    local c0, w0 = os.clock(), lt.time()
    nn.fit(model, data_xy, { epochs = stop - e, batch_size = BATCH, optimizer = opt,
      schedule = sched, seed = seed * 1000 + e, indices = idx, weights = w, verbose = false,
      progress = false })
    t.train_cpu, t.train_wall = t.train_cpu + os.clock() - c0, t.train_wall + lt.time() - w0
    e = stop
    if e % eval_every == 0 or e == epochs then
      acc = nn.evaluate(model, test, { progress = false }).accuracy
      on_curve(e, acc)
    end
  end
  return acc, t
end

local function published(out, o)
  os.execute("mkdir -p " .. out)
  local file = path(out, "published.tsv")
  local done = {}
  for line in (io.open(file) and io.lines(file) or function() end) do
    local m, f, sd = line:match("^cell\t([%w_]+)\t([%d.]+)\t(%d+)\t")
    if m then done[("%s %g %d"):format(m, tonumber(f), tonumber(sd))] = true end
  end
  local log = assert(io.open(file, "a"))
  local function record(line) log:write(line, "\n"); log:flush(); print(line) end
  local te = data.fashion_mnist { split = "test" }
  -- ntest= evaluates on the first ntest test images only (the smoke spec's quick run)
  if o.ntest and o.ntest < te:size() then te = te:subset(lt.arange(1, o.ntest + 1)) end
  local tr = train_set(o.n)
  local X, Y = tr.x, tr:labels()
  local test = { x = te.x, y = te:labels() }
  local epochs = o.epochs
  local methods = o.methods == METHODS and PUB_METHODS or o.methods
  -- one cell: a fresh model (seed), trained for ep epochs; sel_for(model) gives the
  -- selection function that sees that model as it trains (nil: full data)
  local function cell(method, f, seed, every, ep, sel_for)
    if done[("%s %g %d"):format(method, f, seed)] then return end
    local model = new_model(o.arch, seed)
    local curve = {}
    local function on_curve(e, a)
      curve[#curve + 1] = ("curve\t%s\t%g\t%d\t%d\t%.4f"):format(method, f, seed, e, a)
    end
    local acc, t = train_protocol(model, o, { x = X, y = Y }, test, ep, every,
      sel_for and sel_for(model), on_curve, seed)
    for _, l in ipairs(curve) do record(l) end
    record(("cell\t%s\t%g\t%d\t%.4f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d"):format(method, f, seed,
      acc, t.sel_cpu, t.train_cpu, t.sel_wall, t.train_wall, ep, t.selections))
  end
  for seed = o.first or 1, o.seeds do
    for _, method in ipairs(methods) do
      if method ~= "random" and not RESELECT[method] then
        error("published: no re-selection rule for method " .. method)
      end
      local base = method == "random_redraw" and "random" or method
      for _, f in ipairs(o.fractions) do
        local function sel_for(model)
          return function(e)
            local st
            if not STATS_FREE[method] then
              local G, H, P = stats_of(model, tr, seed)
              st = { G = G, H = H, P = P }
            end
            -- only random_redraw's draws change with the epoch; GLISTER's validation rows and
            -- GradMatch's refills keep the seed's
            local sd = method == "random_redraw" and seed * 1000 + e or seed
            return choose(base, f, sd, tr, Y, model, st)
          end
        end
        -- reselect= overrides every method's interval (a quick check of the loop, ablations)
        local every = RESELECT[method] and (o.reselect or RESELECT[method])
        cell(method, f, seed, every, epochs, sel_for)
      end
    end
    if o.full ~= 0 then cell("full", 1, seed, nil, o.full_epochs or epochs, nil) end
  end
  log:close()
end

---------------------------------------------------------------------------
-- run OUT: the whole grid
---------------------------------------------------------------------------
local function sh(cmd)
  local p = assert(io.popen(cmd))
  local s = p:read("a")
  p:close()
  return s
end

local function run(out, o)
  os.execute("mkdir -p " .. out)
  local host, me = arg[-1] or "lunette", arg[0]
  local done = {} -- rows an earlier run of the same OUT already measured: a run resumes
  for line in (io.open(path(out, "results.tsv")) and io.lines(path(out, "results.tsv")) or function() end) do
    local m, f, s = line:match("^select\t([%w_]+)\t([%d.]+)\t(%d+)\t")
    if m then done[("%s %g %d"):format(m, tonumber(f), tonumber(s))] = true end
  end
  local log = assert(io.open(path(out, "results.tsv"), "a"))
  local function record(line) log:write(line, "\n"); log:flush(); print(line) end
  local te = data.fashion_mnist { split = "test" }
  local tr = train_set(o.n)
  local X, Y = tr.x, tr:labels()
  local test = { x = te.x, y = te:labels() }
  for seed = o.first or 1, o.seeds do
    if not io.open(path(out, "stats_%d.safetensors", seed)) then -- reuse an earlier run's warm-up
      local stats = sh(("%s %s prepare %s %d arch=%s n=%d"):format(host, me, out, seed, o.arch, tr:size()))
      record(("stats\t%d\t%s"):format(seed, stats:match("([%d.]+) s") or "?"))
    end
    for _, method in ipairs(o.methods) do
      for _, f in ipairs(o.fractions) do
        if done[("%s %g %d"):format(method, f, seed)] then goto next end
        if method == "sage_refresh" then
          local sel, train_s, model = sage_refresh(out, seed, f, o, tr, X, Y)
          record(("%s\t%.4f\t%.1f"):format(sel, nn.evaluate(model, test).accuracy, train_s))
          goto next
        end
        local line = sh(("%s %s select %s %d %s %g arch=%s n=%d"):format(host, me, out, seed, method, f, o.arch, tr:size()))
        local sel = line:match("select\t[^\n]*")
        local s = lio.load(path(out, "sel_%s_%d_%g.safetensors", method, seed, f))
        if not sel or not s then error("selection failed: " .. line) end
        local w = s.weights and s.weights:clamp(1e-6 * s.weights:mean()) or nil
        local model = new_model(o.arch, seed)
        local t0 = lt.time()
        train(model, X, Y, o.epochs, seed, s.indices, w)
        local acc = nn.evaluate(model, test).accuracy
        record(("%s\t%.4f\t%.1f"):format(sel, acc, lt.time() - t0))
        ::next::
      end
    end
    if o.full ~= 0 then
      local model = new_model(o.arch, seed)
      local t0 = lt.time()
      train(model, X, Y, o.epochs, seed)
      record(("full\t1\t%d\t%.4f\t%.1f"):format(seed, nn.evaluate(model, test).accuracy, lt.time() - t0))
    end
  end
  log:close()
end

---------------------------------------------------------------------------
-- table OUT: mean ± std over seeds, as markdown
---------------------------------------------------------------------------
local function mean_std(v)
  local m = 0
  for _, x in ipairs(v) do m = m + x / #v end
  local s = 0
  for _, x in ipairs(v) do s = s + (x - m) ^ 2 end
  return m, #v > 1 and math.sqrt(s / (#v - 1)) or 0
end

-- How hard each method's smallest subsets are for the warm-up model (mean EL2N and 1 - max p of
-- the picks, averaged over seeds), and how much of SAGE's subset (agreement on sketched
-- gradients) agreement on the raw last-layer gradients would also keep.
local function hardness(out, fracs)
  local Y
  local rows, overlap = {}, {}
  for seed = 1, 20 do
    local f = io.open(path(out, "stats_%d.safetensors", seed))
    if not f then goto next_seed end
    f:close()
    local st = assert(lio.load(path(out, "stats_%d.safetensors", seed)))
    Y = Y or train_set(st.P:size(1)):labels()
    local el2n = (st.P - lt.one_hot(Y, 10):float()):norm(2, 2)
    local conf = 1 - st.P:max(2)
    local function add(key, idx)
      rows[key] = rows[key] or { el2n = {}, conf = {} }
      table.insert(rows[key].el2n, el2n:index_select(1, idx):mean())
      table.insert(rows[key].conf, conf:index_select(1, idx):mean())
    end
    for _, m in ipairs(REPORTED) do
      local sf = path(out, "sel_%s_%d_%g.safetensors", m, seed, fracs[1])
      if io.open(sf) then add(m, lio.load(sf).indices) end
    end
    add("all", lt.arange(1, Y:numel() + 1))
    for _, fr in ipairs(fracs) do
      local sf = path(out, "sel_sage_%d_%g.safetensors", seed, fr)
      if io.open(sf) then
        local raw = S.agreement { grads = st.G, labels = Y, budget = fr }
        local sage = lio.load(sf).indices
        overlap[fr] = overlap[fr] or {}
        table.insert(overlap[fr], raw:isin(sage):sum() / sage:numel())
      end
    end
    ::next_seed::
  end
  if not rows.all then return end
  print(("\n| method (%g%%) | mean EL2N | mean 1 - max p |\n|---|---|---|"):format(fracs[1] * 100))
  for _, m in ipairs(REPORTED) do
    if rows[m] then print(("| %s | %.3f | %.3f |"):format(m, (mean_std(rows[m].el2n)), (mean_std(rows[m].conf)))) end
  end
  print(("| all %d | %.3f | %.3f |"):format(Y:numel(), (mean_std(rows.all.el2n)), (mean_std(rows.all.conf))))
  for _, fr in ipairs(fracs) do
    if overlap[fr] then
      local lo, hi = math.huge, -math.huge
      for _, v in ipairs(overlap[fr]) do lo, hi = math.min(lo, v), math.max(hi, v) end
      print(("SAGE %g%%: %.0f-%.0f%% of its picks shared with agreement on the raw last-layer gradients (%d seed(s))"):format(
        fr * 100, lo * 100, hi * 100, #overlap[fr]))
    end
  end
end

local function report(out)
  local acc, secs, mem, cv, full, stats, seen, fracs = {}, {}, {}, {}, {}, {}, {}, {}
  for line in io.lines(path(out, "results.tsv")) do
    local f = {}
    for x in line:gmatch("[^\t]+") do f[#f + 1] = x end
    if f[1] == "select" then
      local key = f[2] .. "@" .. f[3]
      for t, v in pairs { [acc] = f[9], [secs] = f[5], [mem] = f[7], [cv] = f[8] } do
        t[key] = t[key] or {}
        table.insert(t[key], tonumber(v))
      end
      if not seen[f[3]] then seen[f[3]] = true; fracs[#fracs + 1] = tonumber(f[3]) end
    elseif f[1] == "full" then full[#full + 1] = tonumber(f[4])
    elseif f[1] == "stats" then stats[#stats + 1] = tonumber(f[3]) end
  end
  table.sort(fracs)
  local pct = {}
  for i, f in ipairs(fracs) do pct[i] = ("%g"):format(f * 100) end
  print(("| method | %s%% | selection s (%s%%) | extra peak MB (%s%%) | class CV |"):format(
    table.concat(pct, "% | "), table.concat(pct, "/"), table.concat(pct, "/")))
  print("|---|" .. ("---|"):rep(#fracs + 3))
  for _, m in ipairs(REPORTED) do
    local cells, ts, ms, c, any = {}, {}, {}, 0, false
    for _, f in ipairs(fracs) do
      local key = m .. "@" .. ("%g"):format(f)
      if acc[key] then
        local a, sd = mean_std(acc[key])
        cells[#cells + 1] = ("%.4f ± %.4f (n=%d)"):format(a, sd, #acc[key])
        ts[#ts + 1] = ("%.2f"):format((mean_std(secs[key])))
        ms[#ms + 1] = ("%.0f"):format((mean_std(mem[key])))
        c, any = math.max(c, (mean_std(cv[key]))), true
      else
        cells[#cells + 1], ts[#ts + 1], ms[#ms + 1] = "—", "—", "—"
      end
    end
    if any then
      print(("| %s | %s | %s | %s | %.3f |"):format(m, table.concat(cells, " | "), table.concat(ts, " / "),
        table.concat(ms, " / "), c))
    end
  end
  if #full > 0 then
    local a, sd = mean_std(full)
    print(("| full data | %.4f ± %.4f (n=%d) |%s"):format(a, sd, #full, (" |"):rep(#fracs + 2)))
  end
  if #stats > 0 then print(("\nstats pass (last-layer grads, features, probabilities): %.1f s mean"):format((mean_std(stats)))) end
  if #fracs > 0 then hardness(out, fracs) end
end

---------------------------------------------------------------------------
-- ptable OUT / figures OUT DIR: the published protocol's table and its two figures
---------------------------------------------------------------------------
-- Fashion-MNIST under the published protocol as the SAGE authors report it: training hours
-- and test accuracy from their plotting notebook (plots/plots/Accuracy_Fraction_plots.ipynb
-- of the SAGE repository), full data 3.65 h and 0.9353. Published, not measured here.
local PUBLISHED_FULL_H = 3.65
local PUBLISHED = {
  sage = { { 0.05, 0.5, 0.905 }, { 0.15, 0.8, 0.925 }, { 0.25, 1.0, 0.94 } },
  gradmatch = { { 0.05, 1.87, 0.8833 }, { 0.15, 2.44, 0.9115 }, { 0.25, 2.86, 0.9243 } },
  craig = { { 0.05, 2.11, 0.8997 }, { 0.15, 2.26, 0.9148 }, { 0.25, 2.77, 0.9252 } },
  glister = { { 0.05, 2.03, 0.8962 }, { 0.15, 2.47, 0.9181 }, { 0.25, 2.87, 0.9288 } },
}
local PUB_ORDER = { "sage", "sage_div", "gradmatch", "craig", "glister", "kcenter", "el2n",
                    "random", "random_redraw" }

-- The rows of OUT/published.tsv: cells[method][fraction] = list of {acc, sel, train, epochs,
-- selections, seed} (CPU seconds); curves[method][fraction][epoch] = list of accuracies.
local function published_rows(out)
  local cells, curves = {}, {}
  for line in io.lines(path(out, "published.tsv")) do
    local f = {}
    for x in line:gmatch("[^\t]+") do f[#f + 1] = x end
    local m, fr = f[2], tonumber(f[3])
    if f[1] == "cell" then
      cells[m] = cells[m] or {}
      cells[m][fr] = cells[m][fr] or {}
      table.insert(cells[m][fr], { acc = tonumber(f[5]), sel = tonumber(f[6]),
        train = tonumber(f[7]), epochs = tonumber(f[10]), selections = tonumber(f[11]) })
    elseif f[1] == "curve" then
      curves[m] = curves[m] or {}
      curves[m][fr] = curves[m][fr] or {}
      local e = tonumber(f[5])
      curves[m][fr][e] = curves[m][fr][e] or {}
      table.insert(curves[m][fr][e], tonumber(f[6]))
    end
  end
  return cells, curves
end

local function field_mean(list, key)
  local v = {}
  for i, r in ipairs(list) do v[i] = r[key] end
  return mean_std(v)
end

-- The full-data reference: its mean CPU seconds scaled to `epochs` (exact when it ran that
-- many epochs; a linear extrapolation, labelled, when it ran fewer) and its accuracy.
local function full_reference(cells, epochs)
  local full = cells.full and cells.full[1]
  if not full then return nil end
  local ep = full[1].epochs
  local secs = field_mean(full, "train") * epochs / ep
  return secs, full, ep
end

-- Mean accuracy, sd, total CPU seconds and speed-up of one cell list.
local function cell_summary(list, full_s)
  local a, sd = field_mean(list, "acc")
  local total = field_mean(list, "sel") + field_mean(list, "train")
  return a, sd, total, full_s and full_s / total or nil
end

local function ptable(out)
  local cells = published_rows(out)
  local epochs
  for m, byf in pairs(cells) do
    for _, l in pairs(byf) do if m ~= "full" then epochs = epochs or l[1].epochs end end
  end
  epochs = epochs or (cells.full and cells.full[1][1].epochs)
  if not epochs then print("no finished cells in " .. path(out, "published.tsv")); return end
  local full_s, full, full_ep = full_reference(cells, epochs)
  print(("\n%d epochs on the subset; CPU seconds of the process (all threads)."):format(epochs))
  if full then
    local a, sd = field_mean(full, "acc")
    print(("Full data: %.4f ± %.4f (n=%d) after %d epochs, %.0f CPU s%s."):format(a, sd, #full,
      full_ep, field_mean(full, "train"), full_ep == epochs and "" or
      (" (speed-ups below use %.0f s, its time scaled to %d epochs: an extrapolation)"):format(
        full_s, epochs)))
  end
  print("\n| method | fraction | test accuracy | selections | selection s | training s | " ..
        "total s | speed-up |")
  print("|---|---|---|---|---|---|---|---|")
  local fracs = {}
  for _, byf in pairs(cells) do for fr in pairs(byf) do fracs[fr] = true end end
  local fl = {}
  for fr in pairs(fracs) do if fr < 1 then fl[#fl + 1] = fr end end
  table.sort(fl)
  for _, fr in ipairs(fl) do
    for _, m in ipairs(PUB_ORDER) do
      local list = cells[m] and cells[m][fr]
      if list then
        local a, sd, total, sp = cell_summary(list, full_s)
        print(("| %s | %g%% | %.4f ± %.4f (n=%d) | %d | %.0f | %.0f | %.0f | %s |"):format(m,
          fr * 100, a, sd, #list, list[1].selections, field_mean(list, "sel"),
          field_mean(list, "train"), total, sp and ("%.2f×"):format(sp) or "—"))
      end
    end
  end
end

-- Mean learning curve of one method at one fraction: epochs and accuracies, ascending.
local function mean_curve(c)
  local es = {}
  for e in pairs(c) do es[#es + 1] = e end
  table.sort(es)
  local ms, sds = {}, {}
  for i, e in ipairs(es) do ms[i], sds[i] = mean_std(c[e]) end
  return es, ms, sds
end

local function figures(out, dir)
  local plot = require "lunette.plot"
  local cells, curves = published_rows(out)
  os.execute("mkdir -p " .. dir)
  -- 1. learning curves at the smallest fraction: SAGE, random and the best other baseline
  local fmin
  for m, byf in pairs(curves) do
    if m ~= "full" then for fr in pairs(byf) do fmin = math.min(fmin or fr, fr) end end
  end
  local best, best_acc
  for _, m in ipairs(PUB_ORDER) do
    if m ~= "sage" and m ~= "random" and m ~= "random_redraw" and cells[m] and cells[m][fmin] then
      local a = field_mean(cells[m][fmin], "acc")
      if not best_acc or a > best_acc then best, best_acc = m, a end
    end
  end
  local fig, ax = plot.subplots(1, 1, { size = { 7, 4.5 } })
  local shown = { "sage", "random", best, "full" }
  for i, m in ipairs(shown) do
    local c = curves[m] and curves[m][m == "full" and 1 or fmin]
    if c then
      local es, ms, sds = mean_curve(c)
      local lo, hi = {}, {}
      for k = 1, #ms do lo[k], hi[k] = ms[k] - sds[k], ms[k] + sds[k] end
      local label = m == "full" and "full data" or ("%s %g%%"):format(m, fmin * 100)
      ax:plot(es, ms, { color = "C" .. (i - 1), label = label, marker = "o", markersize = 3 })
      ax:fill_between(es, lo, hi, { color = "C" .. (i - 1), alpha = 0.2 })
    end
  end
  ax:xlabel("epoch")
  ax:ylabel("test accuracy")
  ax:title(("Fashion-MNIST, small CNN: learning curves (mean ± sd over seeds)"))
  ax:grid(true, { alpha = 0.35 })
  ax:legend { loc = "lower right" }
  fig:savefig(dir .. "/published_curves.png", { dpi = 150 })
  -- 2. accuracy against speed-up, as the SAGE authors plot it, published points in grey
  local epochs
  for m, byf in pairs(cells) do
    for _, l in pairs(byf) do if m ~= "full" then epochs = epochs or l[1].epochs end end
  end
  local full_s, full = full_reference(cells, epochs or 1)
  fig, ax = plot.subplots(1, 1, { size = { 7.5, 5 } })
  local MARK = { sage = "o", gradmatch = "s", craig = "D", glister = "^", random = "v",
                 random_redraw = "<", kcenter = "P", el2n = "X", sage_div = "h" }
  -- no grey among lunette's colours: grey marks the published points
  local COLOR = { sage = "C0", gradmatch = "C2", craig = "C3", glister = "C4", random = "C1",
                  random_redraw = "C8", kcenter = "C5", el2n = "C6", sage_div = "C9" }
  -- the published points: grey, the method's marker, one legend entry per method (labels
  -- at each point would pile up where the baselines cluster)
  for _, m in ipairs(PUB_ORDER) do
    local pts = PUBLISHED[m]
    if pts then
      local xs, ys = {}, {}
      for i, p in ipairs(pts) do xs[i], ys[i] = PUBLISHED_FULL_H / p[2], p[3] end
      ax:scatter(xs, ys, { c = "0.65", marker = MARK[m], s = 45, label = m .. " (published)" })
    end
  end
  ax:scatter({ 1 }, { 0.9353 }, { c = "0.65", marker = "*", s = 90,
    label = "full data (published)" })
  for _, m in ipairs(PUB_ORDER) do
    if cells[m] and full_s then
      local xs, ys = {}, {}
      local fl = {}
      for fr in pairs(cells[m]) do fl[#fl + 1] = fr end
      table.sort(fl)
      for k, fr in ipairs(fl) do
        local a, _, _, sp = cell_summary(cells[m][fr], full_s)
        xs[k], ys[k] = sp, a
      end
      ax:scatter(xs, ys, { c = COLOR[m], marker = MARK[m] or "o", s = 60,
        edgecolors = "black", linewidths = 0.8, label = m .. " (lunette)" })
      for k, fr in ipairs(fl) do
        ax:text(xs[k], ys[k], ("  %g%%"):format(fr * 100), { fontsize = 7, va = "bottom" })
      end
    end
  end
  if full then
    ax:scatter({ 1 }, { (field_mean(full, "acc")) }, { c = "black", marker = "*", s = 120,
      label = "full data (lunette)" })
  end
  ax:xscale("log")
  ax:xlabel("speed-up over full-data training (CPU time)")
  ax:ylabel("test accuracy")
  ax:title("Fashion-MNIST: accuracy vs speed-up, published protocol")
  ax:grid(true, { alpha = 0.35 })
  ax:legend { loc = "lower left", fontsize = 7 }
  fig:savefig(dir .. "/published_speedup.png", { dpi = 150 })
  print("wrote " .. dir .. "/published_curves.png and " .. dir .. "/published_speedup.png")
end

local cmd, out = arg[1], arg[2]
if cmd == "run" then run(out, opts_of({ table.unpack(arg, 3) })); report(out)
elseif cmd == "prepare" then prepare(out, tonumber(arg[3]), opts_of({ table.unpack(arg, 4) }))
elseif cmd == "select" then
  select_one(out, tonumber(arg[3]), arg[4], tonumber(arg[5]), opts_of({ table.unpack(arg, 6) }))
elseif cmd == "table" then report(out)
elseif cmd == "published" then
  published(out, opts_of({ table.unpack(arg, 3) }, { epochs = 200, arch = "cnn" }))
  ptable(out)
elseif cmd == "ptable" then ptable(out)
elseif cmd == "figures" then figures(out, arg[3] or out)
else
  io.stderr:write("usage: lunette examples/select_experiment.lua run OUT [seeds=3] [epochs=20] " ..
                  "[arch=mlp|cnn]\n",
                  "       lunette examples/select_experiment.lua table OUT\n",
                  "       lunette examples/select_experiment.lua published OUT [epochs=200] " ..
                  "[arch=cnn] [full_epochs=E] [eval_every=10]\n",
                  "       lunette examples/select_experiment.lua ptable OUT\n",
                  "       lunette examples/select_experiment.lua figures OUT [DIR]\n")
  os.exit(2)
end
