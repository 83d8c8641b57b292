-- lunette.nn_train: a training loop (epochs over a dataset or an index subset, per-sample weights,
-- seeded shuffling and augmentation, schedules, hooks) and evaluation with per-class accuracy.
--
--   local hist = nn.fit(model, {x = X, y = Y}, {epochs = 3, batch_size = 128,
--                       optimizer = nn.Adam(model, {lr = 1e-3}), seed = 1,
--                       test = {x = Xt, y = Yt}, verbose = true})
--   local r = nn.evaluate(model, {x = Xt, y = Yt})   -- r.accuracy, r.per_class, r.loss
--
-- A dataset is a lunette.data dataset (anything with size() and batch(idx),
-- e.g. data.fashion_mnist{}:normalize()) or a table {x = images/features
-- [N x ...], y = labels [N] (1..C)} whose uint8 images become float32 in
-- [0, 1] per batch; {transform = fn} then changes each input batch.
-- fit's, evaluate's and extract_features' options are listed with their defaults above
-- each function; an unknown key raises (a typo never runs with the defaults).
--
-- fit{dist = true} under mpirun: rank 0's parameters and buffers are broadcast first; every
-- global batch (rank 0's shuffle, broadcast) is split over the ranks as dist.scatter splits
-- rows, each rank runs forward and backward on its share with the loss scaled by the global
-- batch size (or weight), the gradients are summed over ranks (all packed into one buffer,
-- one allreduce per step), and every rank takes the same optimizer step: the same training as
-- one process with the same global batch, to float32 rounding (the sums are added in another
-- order). Batch-norm layers see each rank's share only (as PyTorch's DDP without SyncBN), and
-- augmentation draws from each rank's generator. Reported loss and accuracy are global;
-- hooks see this rank's rows; the test set is evaluated sharded (evaluate{dist = true}).
local lt = require "lunette.tensor"
local random = require "lunette.random"
local C = require "lunette._nn"
local nm = require "lunette.nn_module"
local psg = require "lunette.nn_psg"
local optim = require "lunette.nn_optim"
local layers = require "lunette.nn_layers"
local clock = require("lunette._tensor").clock

local M = {}
local argerror = nm.argerror
local check = require("lunette.options").check

local FIT_OPTS = { "epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay",
                   "schedule", "schedule_per", "loss", "label_smoothing", "class_weight", "indices",
                   "weights", "augment", "seed", "generator", "clip_grad_norm", "drop_last", "test",
                   "eval_batch_size", "hooks", "verbose", "progress", "transform",
                   "dist" }

-- A batch source over a dataset: n samples and get(idx) -> inputs (model dtype), labels.
local function source(fname, n, d, dtype, transform)
  if type(d) == "table" and type(d.batch) == "function" and type(d.size) == "function" then
    return { n = d:size(), get = function(idx)
      local x, y = d:batch(idx)
      if x:dtype() ~= dtype then x = x:to(dtype) end
      if transform then x = transform(x) end
      return x, y
    end }
  end
  if type(d) ~= "table" or not lt.is_tensor(d.x) or not lt.is_tensor(d.y) then
    argerror(n, fname, "dataset (lunette.data) or {x = tensor, y = tensor} expected")
  end
  local X, Y = d.x, d.y
  if X:size(1) ~= Y:size(1) then argerror(n, fname, "dataset has %d inputs but %d labels", X:size(1), Y:size(1)) end
  return { n = X:size(1), get = function(idx)
    local x = X:index_select(1, idx)
    if x:dtype() == "uint8" then x = x:to(dtype):mul_(1 / 255)
    elseif x:dtype() ~= dtype then x = x:to(dtype) end
    if transform then x = transform(x) end
    return x, Y:index_select(1, idx)
  end }
end

-- A lunette module if it is built in (preloaded), else nil; never a search of
-- package.cpath, which would load a second copy of lunette.so.
local function optional(name)
  if package.loaded[name] then return package.loaded[name] end
  if not package.preload[name] then return nil end
  local ok, m = pcall(require, name)
  return ok and m or nil
end

-- A progress bar from lunette.data when it is there (it draws only on a terminal).
-- dist: total is the whole job's and this rank's updates stand for every rank's (rank 0 draws).
local function progress_bar(total, opts, desc, dist)
  if opts.progress == false then return nil end
  local data = optional "lunette.data"
  if type(data) ~= "table" or type(data.progress) ~= "function" then return nil end
  local ok2, bar = pcall(data.progress, total, { desc = desc, unit = "img", dist = dist })
  return ok2 and bar or nil
end

-- augment(x, {crop = pad, flip = true}, generator) -> randomly cropped/flipped copy of [B x C x H x W].
function M.augment(x, o, gen)
  gen = gen or layers.default_generator()
  local B, pad = x:size(1), o.crop or 0
  local oy = pad > 0 and gen:randint(0, 2 * pad + 1, B) or lt.full({ B }, pad, "int64")
  local ox = pad > 0 and gen:randint(0, 2 * pad + 1, B) or lt.full({ B }, pad, "int64")
  local flip = o.flip and gen:bernoulli(0.5, B) or nil
  return C.augment_crop_flip(x, pad, oy, ox, flip)
end

-- Whether lunette.data's bar draws here (stderr is a terminal and bars are on).
local function bar_draws(opts)
  if opts.progress == false then return false end
  local data = optional "lunette.data"
  return type(data) == "table" and type(data.progress_enabled) == "function"
    and data.progress_enabled() == true
end

-- The epoch's line on stderr: always with verbose = true, never with verbose = false, and by
-- default when no bar was drawn (a log file, a pipe, a notebook), so a run is never silent.
local function progress_line(info, opts)
  if opts.verbose == false or (opts.verbose == nil and bar_draws(opts)) then return end
  local s = ("epoch %d/%d  loss %.4f  acc %.4f  %.1f s  %.0f samples/s"):format(info.epoch,
    info.epochs, info.loss, info.accuracy, info.seconds, info.samples_per_s)
  if info.test_accuracy then s = s .. ("  test acc %.4f"):format(info.test_accuracy) end
  io.stderr:write(s, "\n")
  io.stderr:flush()
end

local function default_optimizer(model, opts)
  if opts.optimizer then return opts.optimizer end
  return optim.SGD(model, { lr = opts.lr or 0.01, momentum = opts.momentum or 0.9, weight_decay = opts.weight_decay or 0 })
end

-- Data-parallel fit (dist = true): the state every rank starts from and the gradient sum.
local DP = {}

-- Copies rank 0's parameters and buffers into every rank's model (one broadcast each).
function DP.broadcast_state(dist, model)
  local sd, keys = model:state_dict()
  for _, k in ipairs(keys) do sd[k]:copy_(dist.broadcast(sd[k])) end
end

-- Sums every rank's gradients in place: all of them packed into one buffer, one allreduce
-- (a rank whose share of the batch was empty brings zeros; gradients not made yet are made).
function DP.allreduce_grads(dist, model)
  local gs, n = {}, 0
  for _, p in ipairs(model:named_parameters()) do
    local g = p.module.grad[p.key]
    if g == nil then
      g = lt.zeros(p.tensor.shape, p.tensor:dtype())
      p.module.grad[p.key] = g
    end
    gs[#gs + 1], n = g, n + g:numel()
  end
  if n == 0 then return end
  local flat = lt.empty({ n }, gs[1]:dtype())
  local at = 1
  for _, g in ipairs(gs) do
    flat:narrow(1, at, g:numel()):copy_(g:reshape(-1))
    at = at + g:numel()
  end
  flat, at = dist.allreduce(flat), 1
  for _, g in ipairs(gs) do
    g:copy_(flat:narrow(1, at, g:numel()):reshape(g.shape))
    at = at + g:numel()
  end
end

-- One optimisation step on a batch; returns the per-sample losses, the logits and the batch
-- mean loss. With dp (data-parallel), xb is this rank's share of a global batch: alpha is
-- dp.alpha (1 over the global batch's size or weight), gradients and the mean loss are summed
-- over ranks before the step, so every rank takes the same step.
local function train_step(model, opt, xb, yb, wb, opts, where, dp)
  local alpha = dp and dp.alpha or (wb and 1 / wb:sum() or 1 / xb:size(1))
  local logits, losses, dlogits, sum = nil, nil, nil, 0
  model:zero_grad()
  if xb:size(1) > 0 then
    logits = model:forward(xb)
    losses, dlogits = C.cross_entropy(logits, yb, opts.class_weight, opts.label_smoothing or 0, alpha, wb, true)
    sum = wb and (losses * wb):sum() or losses:sum()
    model:backward(dlogits, nil, false)
  end
  local mean = sum * alpha
  if dp then
    mean = dp.dist.allreduce(lt.new({ mean }, "float64"))[1]
    DP.allreduce_grads(dp.dist, model)
  end
  -- every rank sees the same mean under dp, so every rank raises together
  if mean ~= mean or mean == math.huge or mean == -math.huge then
    local what = mean ~= mean and "NaN" or (mean > 0 and "inf" or "-inf")
    -- at the user's fit line, as argument errors are
    require("lunette.options").raise(("fit: loss is %s at %s (lr %g); lower the learning rate or "
      .. "check the inputs"):format(what, where, opt:get_lr()))
  end
  if opts.clip_grad_norm then optim.clip_grad_norm(model, opts.clip_grad_norm) end
  opt:step()
  return losses, logits, mean
end

-- One epoch of fit: returns the epoch's info table.
local function run_epoch(model, src, opt, st, epoch, opts)
  model:train()
  local t0, N, bs, epochs = clock(), st.N, st.bs, st.epochs
  local order = st.gen:randperm(N)
  local dist = st.dist
  -- data-parallel: rank 0's order on every rank, whatever each rank's generator
  if dist then order = dist.broadcast(order) end
  local seen, loss_sum, correct, step = 0, 0, 0, 0
  local bar = progress_bar(N, opts, ("epoch %d/%d"):format(epoch, epochs))
  for b0 = 1, N, bs do
    local n = math.min(bs, N - b0 + 1)
    if opts.drop_last and n < bs then break end
    step = step + 1
    local pos = order:narrow(1, b0, n)
    local dp = nil
    if dist then
      -- this rank's share of the global batch; alpha over the whole batch
      local wsum = st.weights and st.weights:index_select(1, pos):sum() or n
      local first, count = dist.shard_range(n)
      pos, dp = pos:narrow(1, first, count), { dist = dist, alpha = 1 / wsum }
    end
    local idx = st.pool and st.pool:index_select(1, pos) or pos
    local xb, yb = src.get(idx)
    if opts.augment then xb = M.augment(xb, opts.augment, st.gen) end
    local wb = st.weights and st.weights:index_select(1, pos) or nil
    local ok_step, losses, logits, mean = pcall(train_step, model, opt, xb, yb, wb, opts,
                                                ("epoch %d, step %d"):format(epoch, step), dp)
    if not ok_step then
      if bar then bar:close() end
      error(losses, 0)
    end
    local ok = logits and logits:argmax(2):eq(yb:long()) or lt.zeros({ 0 }, "bool")
    local hits = ok:sum()
    if dist then hits = dist.allreduce(lt.new({ hits }, "int64"))[1] end
    seen, loss_sum, correct = seen + n, loss_sum + mean * n, correct + hits
    if bar then
      bar:update(n)
      if step % 20 == 1 then
        bar:set_description(("epoch %d/%d loss %.4f acc %.4f"):format(epoch, epochs, loss_sum / seen, correct / seen))
      end
    end
    if st.hooks.on_batch then
      st.hooks.on_batch { epoch = epoch, step = step, indices = idx, losses = losses, correct = ok, loss = mean, model = model }
    end
    if st.sched and opts.schedule_per == "step" then st.sched:step() end
  end
  if bar then bar:close() end
  local secs = clock() - t0
  return { epoch = epoch, epochs = epochs, loss = loss_sum / math.max(seen, 1), accuracy = correct / math.max(seen, 1),
           seconds = secs, samples_per_s = seen / math.max(secs, 1e-9) }
end

-- fit(model, data [, opts]) -> history {epochs = {{epoch, loss, accuracy, seconds, samples_per_s,
-- test_accuracy, test_loss}, ...}}
-- Trains model on data (a lunette.data dataset or {x =, y =}) with cross-entropy. Options
-- (an unknown key raises): epochs (1), batch_size (128), optimizer (nil: SGD with lr, momentum
-- and weight_decay below), lr (0.01), momentum (0.9), weight_decay (0), schedule (nil; a
-- scheduler built on the optimizer, stepped once per epoch), schedule_per ("epoch"; "step":
-- once per batch), loss ("cross_entropy", the only one fit trains with), label_smoothing (0),
-- class_weight (nil; a [C] tensor of class weights), indices (nil: every sample; a 1-based
-- subset to train on), weights (nil; per-sample weights of the subset, as selection methods
-- return them), augment (nil; {crop = pad, flip = true}, seeded), seed (nil: lunette's default
-- generator; shuffling and augmentation), generator (nil; a random.Generator, instead of seed),
-- clip_grad_norm (nil; a max norm), drop_last (false), test (nil; a dataset evaluated after
-- each epoch), eval_batch_size (1000: test's batches), hooks (nil; {on_batch = fn(info),
-- on_epoch = fn(info)}), verbose (nil: a line per epoch on stderr -- loss, accuracy, seconds,
-- samples/s -- when no progress bar is drawn; true: always; false: never), progress (true:
-- the bar lunette.data draws on a terminal; false: none), transform (nil; fn(x) -> x per batch),
-- dist (false; true: data-parallel under lunette.dist, see the module's header).
function M.fit(model, data, opts)
  opts = check("fit", 3, opts, FIT_OPTS) or {}
  check("fit", 3, opts.hooks, { "on_batch", "on_epoch" })
  check("fit", 3, opts.augment, { "crop", "flip" })
  if opts.loss ~= nil and opts.loss ~= "cross_entropy" then
    argerror(3, "fit", "fit trains with loss = \"cross_entropy\" only, got %s", tostring(opts.loss))
  end
  local dtype = model:dtype()
  local src = source("fit", 2, data, dtype, opts.transform)
  local st = { gen = opts.generator or (opts.seed and random.Generator(opts.seed)) or layers.default_generator(),
               pool = opts.indices and lt.new(opts.indices):long() or nil, bs = opts.batch_size or 128,
               epochs = opts.epochs or 1, sched = opts.schedule, hooks = opts.hooks or {} }
  st.N = st.pool and st.pool:numel() or src.n
  if st.N == 0 then argerror(2, "fit", "no training samples") end
  st.weights = opts.weights and lt.new(opts.weights):to(dtype) or nil
  if st.weights and st.weights:numel() ~= st.N then
    argerror(3, "fit", "weights has %d entries for %d training samples", st.weights:numel(), st.N)
  end
  if opts.dist then
    st.dist = require "lunette.dist"
    DP.broadcast_state(st.dist, model)
  end
  local opt, hist = default_optimizer(model, opts), { epochs = {} }
  for epoch = 1, st.epochs do
    local info = run_epoch(model, src, opt, st, epoch, opts)
    if st.sched and opts.schedule_per ~= "step" then st.sched:step() end
    if opts.test then
      local r = M.evaluate(model, opts.test, { batch_size = opts.eval_batch_size, transform = opts.transform, progress = false,
                                               dist = opts.dist })
      info.test_accuracy, info.test_loss = r.accuracy, r.loss
    end
    hist.epochs[epoch] = info
    progress_line(info, opts)
    if st.hooks.on_epoch then st.hooks.on_epoch(info) end
  end
  return hist
end

-- evaluate(model, data [, opts]) -> {accuracy, loss, n, per_class, counts, pred}
-- Runs data (a lunette.data dataset or {x =, y =}) through model in evaluation mode:
-- accuracy and mean cross-entropy loss over the n samples, per_class = {acc_1..acc_C},
-- counts = {n_1..n_C}, pred = predicted labels [N]. Options (an unknown key raises):
-- batch_size (1000), transform (nil; fn(x) -> x per batch), progress (true: a bar on a
-- terminal; false: none), dist (false; under lunette.dist each rank runs its contiguous
-- share of the rows and every rank returns the whole result: predictions gathered, loss
-- summed).
function M.evaluate(model, data, opts)
  opts = check("evaluate", 3, opts, { "batch_size", "transform", "progress", "dist" }) or {}
  local dtype = model:dtype()
  local src = source("evaluate", 2, data, dtype, opts.transform)
  local N, bs = src.n, opts.batch_size or 1000
  local preds, labels, loss_sum, C_classes = {}, {}, 0, nil
  -- dist: this rank's contiguous share of the rows; the results are gathered below
  local dist = opts.dist and require "lunette.dist" or nil
  local lo, cnt = 1, N
  if dist then lo, cnt = dist.shard_range(N) end
  local bar = progress_bar(dist and N or cnt, opts, "evaluate", dist ~= nil)
  local ok, err = pcall(nm.in_eval, model, function()
    for b0 = lo, lo + cnt - 1, bs do
      local n = math.min(bs, lo + cnt - b0)
      local xb, yb = src.get(lt.arange(b0, b0 + n, 1, "int64"))
      local logits = model:forward(xb)
      C_classes = logits:size(2)
      local losses = C.cross_entropy(logits, yb, nil, 0, 1, nil, false)
      loss_sum = loss_sum + losses:sum()
      preds[#preds + 1], labels[#labels + 1] = logits:argmax(2), yb:long()
      if bar then bar:update(n) end
    end
  end)
  if bar then bar:close() end
  if not ok then error(err, 0) end
  local empty = lt.zeros({ 0 }, "int64")
  local pred = #preds == 0 and empty or #preds == 1 and preds[1] or lt.cat(preds, 1)
  local y = #labels == 0 and empty or #labels == 1 and labels[1] or lt.cat(labels, 1)
  if dist then
    pred, y = dist.allgather(pred:long()), dist.allgather(y)
    loss_sum = dist.allreduce(lt.new({ loss_sum }, "float64"))[1]
    C_classes = dist.allreduce(lt.new({ C_classes or 0 }, "int64"), "max")[1]
  end
  local hit = pred:eq(y)
  local per_class, counts = {}, {}
  local yt, ht = y:totable(), hit:totable()
  for c = 1, C_classes or 0 do per_class[c], counts[c] = 0, 0 end
  for i = 1, #yt do
    local c = yt[i]
    counts[c] = (counts[c] or 0) + 1
    if ht[i] then per_class[c] = (per_class[c] or 0) + 1 end
  end
  for c, n in pairs(counts) do per_class[c] = n > 0 and per_class[c] / n or 0 end
  return { accuracy = hit:sum() / math.max(N, 1), loss = loss_sum / math.max(N, 1), n = N,
           per_class = per_class, counts = counts, pred = pred }
end

-- extract_features(model, data [, {indices =, batch_size = 256, transform =, progress =, desc =}]) -> F [N x F]
-- The penultimate representation (what the head reads: see nn.split_head)
-- of every sample of a dataset (a lunette.data dataset or {x =, y =}), or of the 1-based
-- rows in indices, in that order, batch by batch in evaluation mode (the model's flags are
-- restored), behind a progress bar on a terminal: the seed's compute_feature_representations.
function M.extract_features(model, data, opts)
  opts = check("extract_features", 3, opts, { "indices", "batch_size", "transform", "progress",
                                               "desc" }) or {}
  if not nm.is_module(model) then
    argerror(1, "extract_features", "model expected, got %s", type(model))
  end
  local features
  if type(model.features) == "function" and nm.method_class(model, "features") ~= "Sequential" then
    features = function(x) return model:features(x) end -- a custom class's own definition
  else
    features = psg.split_head(model, "extract_features").features
  end
  local src = source("extract_features", 2, data, model:dtype(), opts.transform)
  local rows = opts.indices and lt.new(opts.indices):long():reshape(-1) or lt.arange(1, src.n + 1, 1, "int64")
  if rows:numel() > 0 and (rows:min() < 1 or rows:max() > src.n) then
    argerror(3, "extract_features", "indices must lie in 1..%d", src.n)
  end
  local N, bs = rows:numel(), opts.batch_size or 256
  if math.type(bs) ~= "integer" or bs < 1 then argerror(3, "extract_features", "batch_size must be a positive integer") end
  local out, bar = nil, progress_bar(N, opts, opts.desc or "features")
  local ok, err = pcall(nm.in_eval, model, function()
    for b0 = 1, N, bs do
      local n = math.min(bs, N - b0 + 1)
      local h = features((src.get(rows:narrow(1, b0, n))))
      out = out or lt.empty({ N, h:size(2) }, h:dtype())
      out:narrow(1, b0, n):copy_(h)
      if bar then bar:update(n) end
    end
  end)
  if bar then bar:close() end
  if not ok then error(err, 0) end
  return out or lt.empty({ 0, 0 })
end

return M
