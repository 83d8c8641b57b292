-- select_experiment.lua - the selection experiment of RESULTS.md: select 5/15/25% of
-- Fashion-MNIST train with SAGE and the baselines, train a fresh model from scratch on each
-- subset (same epochs and schedule; weights where the method gives them), report test
-- accuracy (mean ± std over seeds), selection time and peak memory, next to full data.
--
--   lunette examples/select_experiment.lua run OUT [seeds=3] [epochs=20] [arch=mlp]
--   lunette examples/select_experiment.lua table OUT          (the markdown tables again)
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
local function opts_of(args)
  local o = { seeds = 3, epochs = 20, arch = "mlp", methods = METHODS, fractions = FRACTIONS }
  for _, a in ipairs(args) do
    local k, v = a:match("^(%w+)=(.+)$")
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
  local head, n = nn.head_of(model), tr:size()
  local G, H, P = lt.empty(n, nn.param_dim(model, { last_layer = true })), nil, lt.empty(n, 10)
  model:eval()
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
  local secs = lt.time() - t0
  -- GLISTER's validation gradient: class means over 100 random images per class
  local vidx = S.random { labels = Y, budget = 1000, seed = 2000 + seed }
  local V = lt.zeros(10, G:size(2))
  local Gv, yv = G:index_select(1, vidx), Y:index_select(1, vidx)
  local pos = lt.arange(1, vidx:numel() + 1)
  for c = 1, 10 do V[c] = Gv:index_select(1, pos:masked_select(yv:eq(c))):mean(1) end
  assert(lio.save(path(out, "stats_%d.safetensors", seed), { G = G, H = H, P = P, V = V }))
  print(("stats pass seed %d: %.1f s (last-layer grads %s, features %s)"):format(seed, secs,
    table.concat(G:size(), "x"), table.concat(H:size(), "x")))
  return secs
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
  local idx, w
  if method == "sage" or method == "sage_div" then
    idx = S.sage { model = model, dataset = tr, ell = 256, fraction = fraction, progress = false,
                   diversity = method == "sage_div" and 0.2 or nil }
  elseif method == "gradmatch" then
    idx, _, w = S.gradmatch { grads = st.G, labels = Y, budget = fraction, seed = seed }
  elseif method == "craig" then
    idx, _, w = S.craig { grads = st.G, labels = Y, budget = fraction }
  elseif method == "glister" then
    -- the validation rows of the stats pass (100 per class); P holds probabilities, and log P
    -- differs from the logits by a per-row constant, which the softmax gradient ignores
    local vidx = S.random { labels = Y, budget = 1000, seed = 2000 + seed }
    idx = S.glister { grads = st.G, labels = Y, budget = fraction, eta = LR,
                      val = { features = st.H:index_select(1, vidx), logits = st.P:index_select(1, vidx):clamp(1e-12):log(),
                              labels = Y:index_select(1, vidx) } }
  elseif method == "kcenter" then
    idx = S.kcenter { features = st.H, labels = Y, budget = fraction, seed = seed }
  elseif method == "el2n" then
    idx = S.el2n { probs = st.P, labels = Y, budget = fraction }
  else
    idx = S.random { labels = Y, budget = fraction, seed = seed }
  end
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

local cmd, out = arg[1], arg[2]
if cmd == "run" then run(out, opts_of({ table.unpack(arg, 3) })); report(out)
elseif cmd == "prepare" then prepare(out, tonumber(arg[3]), opts_of({ table.unpack(arg, 4) }))
elseif cmd == "select" then select_one(out, tonumber(arg[3]), arg[4], tonumber(arg[5]), opts_of({ table.unpack(arg, 6) }))
elseif cmd == "table" then report(out)
else
  io.stderr:write("usage: lunette examples/select_experiment.lua run OUT [seeds=3] [epochs=20] [arch=mlp|cnn]\n",
                  "       lunette examples/select_experiment.lua table OUT\n")
  os.exit(2)
end
