-- lunette.data: datasets (Fashion-MNIST by default, MNIST-style IDX, CIFAR-10/100,
-- tensors in memory), subsets, per-class indices, normalisation, batching
-- with seeded shuffling, and a tqdm-like progress bar.
--
--   local data = require("lunette").data
--   local train = data.fashion_mnist{split = "train"}:normalize()
--   for x, y in data.progress(train:loader{batch_size = 256, shuffle = true, seed = 1}) do
--     -- x: float32 [B,1,28,28], normalised; y: int64 [B] class numbers 1..10
--   end
--
-- Labels are 1-based class numbers (file label 0 is class 1), like every
-- index lunette returns (argmax, one_hot, ...). Batches come out as float32:
-- uint8 images scaled to [0,1] (then normalised if asked), gathered by one C
-- call per batch.

-- raise(msg): a façade error at the user's line (lunette.options).
local function raise(msg) require("lunette.options").raise(msg) end
local check = require("lunette.options").check
local tensor = require "lunette.tensor"
local random = require "lunette.random"
local lio = require "lunette.io"
local D = require "lunette._data"
local clock = require("lunette._tensor").clock

local M = {}

---------------------------------------------------------------------------
-- progress bars
---------------------------------------------------------------------------

local Bar = {}
Bar.__index = Bar

local function fmt_time(s)
  if s ~= s or s == math.huge then return "?" end
  s = math.floor(s + 0.5)
  if s >= 3600 then return ("%d:%02d:%02d"):format(s // 3600, s // 60 % 60, s % 60) end
  return ("%02d:%02d"):format(s // 60, s % 60)
end

local function fmt_rate(r)
  if r >= 100 then return ("%.0f"):format(r) elseif r >= 1 then return ("%.2f"):format(r) end
  return ("%.3g"):format(r)
end

-- progress_enabled() -> boolean
-- Whether bars draw: stderr is a terminal (or a notebook: the Jupyter kernel) and
-- LUNETTE_PROGRESS is not "0"
-- (LUNETTE_PROGRESS=1 forces them on).
function M.progress_enabled()
  local env = os and os.getenv and os.getenv("LUNETTE_PROGRESS")
  if env == "0" then return false end
  if env == "1" then return true end
  local display = package.loaded["lunette.display"]
  if display and display.kernel then return true end
  return D.isatty(2)
end

-- bar:render([now]) -> string
-- The text of the bar at its current count (exposed for tests).
function Bar:render(now)
  local el = (now or clock()) - self.start
  local rate = el > 0 and self.n / el or 0
  local desc = self.desc and (self.desc .. ": ") or ""
  local stats
  if self.total and self.total > 0 then
    local frac = math.min(1, self.n / self.total)
    local eta = rate > 0 and (self.total - self.n) / rate or math.huge
    stats = ("%d/%d [%s<%s, %s %s/s]"):format(self.n, self.total, fmt_time(el), fmt_time(eta), fmt_rate(rate), self.unit)
    local width = math.max(10, (self.width or 80) - #desc - #stats - 8)
    local full = math.floor(frac * width)
    return ("%s%3d%%|%s%s| %s"):format(desc, math.floor(frac * 100), ("█"):rep(full), (" "):rep(width - full), stats)
  end
  return ("%s%d [%s, %s %s/s]"):format(desc, self.n, fmt_time(el), fmt_rate(rate), self.unit)
end

-- bar:draw([force]) -> nil
-- Redraws the bar on stderr when enabled, at most once per interval unless force.
function Bar:draw(force)
  if not self.enabled then return end
  local now = clock()
  if not force and now - self.last < self.interval then return end
  self.last = now
  -- A notebook redraws the line after "\r" itself and shows escape codes as text.
  local display = package.loaded["lunette.display"]
  io.stderr:write("\r", self:render(now), (display and display.kernel) and "" or "\27[K")
  io.stderr:flush()
  -- The line stays open until close: an error raised meanwhile (Ctrl-C) must start a new one.
  D.line_open(true)
end

-- bar:update(k): k more items done (default 1); k x the rank count for a bar made with
-- dist = true (rank 0's count stands for every rank's), never past the total.
function Bar:update(k)
  self.n = self.n + (k or 1) * self.scale
  if self.scale > 1 and self.total then self.n = math.min(self.n, self.total) end
  self:draw(self.total and self.n >= self.total)
end

-- bar:close(): draws the final state and ends the line (idempotent).
function Bar:close()
  if self.closed then return end
  self.closed = true
  if self.enabled then
    self:draw(true)
    io.stderr:write("\n")
    D.line_open(false)
  end
end
Bar.__close = Bar.close

-- bar:set_description(desc): changes the text before the bar and redraws it.
function Bar:set_description(desc) self.desc = desc; self:draw(true) end

-- The rank and rank count of a lunette.dist job that has started (0, 1 otherwise).
local function dist_ranks()
  local ok, dist = pcall(require, "lunette.dist")
  if not ok or not dist.active() then return 0, 1 end
  return dist.rank(), dist.size()
end

local function new_bar(total, opts)
  opts = opts or {}
  local rank, size = dist_ranks()
  -- Under several ranks only rank 0 draws: N bars fighting over one terminal read as noise.
  local enabled = not opts.disable and io ~= nil and rank == 0 and M.progress_enabled()
  return setmetatable({
    total = total, n = 0, desc = opts.desc, unit = opts.unit or "it", start = clock(), last = -math.huge,
    interval = opts.interval or 0.1, enabled = enabled, width = enabled and D.term_width(2) or 80,
    scale = opts.dist and size or 1,
  }, Bar)
end

-- progress(x [, {desc = nil, total = #x, disable = false, unit = "it", interval = 0.1,
--               dist = false}]):
--   a number        -> a bar to drive by hand (bar:update(k), bar:close())
--   a loader (or anything with :iter() and #) -> an iterator over its batches
--   an array        -> an iterator of i, v
--   a function      -> wraps a stateful iterator function (opts.total optional)
-- Draws on stderr only when it is a terminal; silent otherwise. Under lunette.dist with
-- several ranks only rank 0 draws. dist = true makes a bar of a pass every rank runs over
-- its own shard show the whole job: the total is the global count (a number or opts.total
-- as given; a loader's or array's length x the rank count) and rank 0's progress counts for
-- every rank's (its updates x the rank count, capped at the total: no communication, and rank
-- 0 holds the largest shard, so the bar ends full when rank 0 ends).
function M.progress(x, opts)
  opts = check("progress", 2, opts, { "desc", "total", "disable", "unit", "interval", "dist" })
    or {}
  if type(x) == "number" then return new_bar(x, opts) end
  local iter, total
  local mt = getmetatable(x)
  local ranks = opts.dist and select(2, dist_ranks()) or 1
  if type(x) == "table" and type(x.iter) == "function" then
    iter, total = x:iter(), opts.total or #x * ranks
  elseif type(x) == "table" and not (mt and mt.__call) then
    local i, n = 0, #x
    iter, total = function() i = i + 1; if i <= n then return i, x[i] end end,
      opts.total or n * ranks
  elseif type(x) == "function" or (mt and mt.__call) then
    iter, total = x, opts.total
  else
    raise("bad argument #1 to 'progress' (number, loader, array or iterator expected, got " .. type(x) .. ")")
  end
  local bar = new_bar(total, opts)
  local function step(...)
    if (...) == nil then bar:close(); return nil end
    bar:update(1)
    return ...
  end
  return function() return step(iter()) end, nil, nil, bar
end

---------------------------------------------------------------------------
-- datasets
---------------------------------------------------------------------------

-- A dataset keeps its full tensors in _x and _y (subsets and normalised
-- copies share them) and a 1-based row index when it is a subset. ds.x and
-- ds.y are its own samples and labels: the full tensors, or for a subset
-- gathered once on first use; ds:batch and loaders never materialise more
-- than a batch. Normalisation applies to batches, not to ds.x.
local Dataset = {}
Dataset.__name = "Dataset"
function Dataset.__index(t, k)
  local m = Dataset[k]
  if m ~= nil then return m end
  if k == "x" or k == "y" or k == "coarse" then
    local full = rawget(t, "_" .. k)
    if full == nil or not rawget(t, "index") then return full end
    local v = D.gather(full, t.index)
    rawset(t, k, v)
    return v
  end
end

local function is_tensor(x) return tensor.is_tensor(x) end

-- Channels along dim 2 for image sets [N,C,H,W] (and [N,C,L]); 1 otherwise.
local function channels_of(x) return x:dim() >= 3 and x:size(2) or 1 end

local function new_dataset(f)
  f.nchan = channels_of(f._x)
  f.base_scale = f._x:dtype() == "uint8" and 1 / 255 or 1
  return setmetatable(f, Dataset)
end

-- ds:size() -> integer
-- The number of samples (of the subset, for a subset); also #ds.
function Dataset:size() return self.index and self.index:size(1) or self._x:size(1) end
Dataset.__len = Dataset.size

function Dataset:__tostring()
  local shape = self._x:size()
  shape[1] = self:size()
  return ("Dataset %s: %d samples of [%s] %s, %s classes%s"):format(self.name or "?", self:size(),
    table.concat(shape, "x", 2), self._x:dtype(), tostring(self.num_classes or "?"), self.norm and ", normalised" or "")
end

-- The per-channel scale and shift a batch goes through.
function Dataset:_affine()
  local scale, shift = {}, {}
  for c = 1, self.nchan do
    local s = self.norm and self.norm.std[c] or 1
    local m = self.norm and self.norm.mean[c] or 0
    scale[c], shift[c] = self.base_scale / s, -m / s
  end
  return scale, shift
end

-- Rows of the underlying tensors for dataset positions idx (1-based).
function Dataset:_rows(idx)
  if self.index then return D.gather(self.index, idx) end
  return idx
end

-- ds:batch(idx [, xout, yout]) -> x float32 [B, ...], y int64 [B] (or nil),
-- for 1-based positions idx (an int64 tensor or an array); written into
-- xout/yout when they have the right shape (loaders with reuse = true).
function Dataset:batch(idx, xout, yout)
  local rows = self:_rows(idx)
  local scale, shift = self:_affine()
  local x = D.gather(self._x, rows, scale, shift, xout)
  return x, self._y and D.gather(self._y, rows, nil, nil, yout) or nil
end

-- ds:get(i) -> one sample (float32, without the batch dim) and its class number.
function Dataset:get(i)
  if math.type(i) ~= "integer" or i < 1 or i > self:size() then
    raise(("bad argument #1 to 'get' (index %s out of range 1..%d)"):format(tostring(i), self:size()))
  end
  local x, y = self:batch({ i })
  return x[1], y and y[1] or nil
end
Dataset.__call = Dataset.get

-- ds:tensors() -> x, y
-- All samples as two tensors (as ds:batch over every index).
function Dataset:tensors() return self:batch(tensor.arange(1, self:size() + 1)) end

-- ds:labels() -> Tensor
-- The labels of the samples in order (int64, 1-based classes).
function Dataset:labels()
  if not self._y then return nil end
  return self.index and D.gather(self._y, self.index) or self._y
end

-- ds:subset(indices) -> a dataset of those positions (1-based, tensor or
-- array), sharing this one's memory.
function Dataset:subset(indices)
  if not is_tensor(indices) and type(indices) ~= "table" then
    raise("bad argument #1 to 'subset' (index tensor or array expected, got " .. type(indices) .. ")")
  end
  local rows = self:_rows(indices)
  if not is_tensor(rows) then rows = tensor.new(rows, "int64") end
  if rows:numel() > 0 then
    local lo, hi = rows:min(), rows:max()
    if lo < 1 or hi > self._x:size(1) then
      raise(("bad argument #1 to 'subset' (index out of range 1..%d)"):format(self:size()))
    end
  end
  local s = setmetatable({}, Dataset)
  for k, v in pairs(self) do if k ~= "x" and k ~= "y" and k ~= "coarse" then s[k] = v end end
  s.index = rows:contiguous()
  s.name = (self.name or "dataset") .. " subset"
  return s
end

-- ds:shard{rank = dist.rank(), size = dist.size(), mode = "contiguous", shuffle = false,
--          seed = 0} -> a subset: this rank's share of the samples
-- The samples split over size ranks (rank 0-based, as lunette.dist counts them), sharing this
-- dataset's memory: "contiguous" gives rank r one block of consecutive positions (the first
-- n % size ranks one more, as dist.scatter splits rows), "strided" every size-th position
-- from r + 1. With shuffle, the positions are first permuted by randperm of a generator seeded
-- with seed: every rank draws the same permutation, so the shards stay disjoint and together
-- cover the dataset exactly once. Defaults come from lunette.dist (rank 0 of 1 without MPI).
function Dataset:shard(opts)
  local options = require "lunette.options"
  options.check("shard", 1, opts, { "rank", "size", "mode", "shuffle", "seed" })
  opts = opts or {}
  local dist = require "lunette.dist"
  local size = opts.size or dist.size()
  local rank = opts.rank or dist.rank()
  if math.type(size) ~= "integer" or size < 1 then
    options.argerror("shard", 1, "size must be a positive integer, got " .. tostring(size))
  end
  if math.type(rank) ~= "integer" or rank < 0 or rank >= size then
    options.argerror("shard", 1, ("rank must be an integer in 0..%d, got %s"):format(size - 1,
      tostring(rank)))
  end
  local mode = opts.mode or "contiguous"
  if mode ~= "contiguous" and mode ~= "strided" then
    options.argerror("shard", 1, ('mode must be "contiguous" or "strided", got %s'):format(
      tostring(mode)))
  end
  local n = self:size()
  local order = opts.shuffle and random.Generator(opts.seed or 0):randperm(n)
    or tensor.arange(1, n + 1)
  local pos
  if mode == "contiguous" then
    local first, count = dist.shard_range(n, rank, size)
    pos = order:narrow(1, first, count)
  else
    pos = order:index_select(1, tensor.arange(rank + 1, n + 1, size))
  end
  local s = self:subset(pos)
  s.name = ("%s shard %d/%d"):format(self.name or "dataset", rank, size)
  return s
end

-- ds:class_indices() -> {[c] = int64 tensor of the positions of class c}
function Dataset:class_indices()
  if not self._y then raise("class_indices: dataset has no labels") end
  return D.class_index(self:labels(), self.num_classes, 1)
end

-- ds:class_counts() -> {[c] = count}
function Dataset:class_counts()
  local out = {}
  for c, ix in ipairs(self:class_indices()) do out[c] = ix:numel() end
  return out
end

-- ds:normalize{mean = {..}, std = {..}} -> a dataset whose batches are
-- (x - mean) / std per channel, x in [0,1] for uint8 images; without
-- arguments mean and std are measured on this dataset.
function Dataset:normalize(opts)
  opts = check("normalize", 1, opts, { "mean", "std" }) or {}
  local mean, std = opts.mean, opts.std
  if type(mean) == "number" then mean = { mean } end
  if type(std) == "number" then std = { std } end
  if not mean or not std then
    local x = self.index and D.gather(self._x, self.index) or self._x
    local m, s = D.channel_stats(x, self.nchan, self.base_scale)
    mean, std = mean or m, std or s
  end
  if #mean ~= self.nchan or #std ~= self.nchan then
    raise(("bad argument #1 to 'normalize' (%d channel values expected)"):format(self.nchan))
  end
  for c = 1, self.nchan do
    if not (std[c] > 0) then raise(("bad argument #1 to 'normalize' (std of channel %d is not positive)"):format(c)) end
  end
  local n = setmetatable({}, Dataset)
  for k, v in pairs(self) do if k ~= "x" and k ~= "y" and k ~= "coarse" then n[k] = v end end
  n.norm = { mean = mean, std = std }
  return n
end

function Dataset:loader(opts) return M.loader(self, opts) end

---------------------------------------------------------------------------
-- batching
---------------------------------------------------------------------------

local Loader = {}
Loader.__index = Loader
Loader.__name = "Loader"

-- loader(ds [, {batch_size = 64, shuffle = false, seed = 0, generator = nil, drop_last = false,
--             reuse = false}]) -> loader
-- ds is a dataset, or anything with size() and batch(idx). With reuse, every
-- batch is written into the same two tensors (no allocation per batch: about
-- twice as fast); a batch is then valid until the next one, so clone what
-- you keep.
function M.loader(ds, opts)
  opts = check("loader", 2, opts, { "batch_size", "shuffle", "seed", "generator", "drop_last",
                                    "reuse" }) or {}
  local bs = opts.batch_size or 64
  if math.type(bs) ~= "integer" or bs < 1 then
    raise("bad argument #2 to 'loader' (batch_size must be a positive integer)")
  end
  return setmetatable({ ds = ds, batch_size = bs, shuffle = opts.shuffle or false, drop_last = opts.drop_last or false,
                        reuse = opts.reuse or false, generator = opts.generator or random.Generator(opts.seed or 0) }, Loader)
end

function Loader:__len()
  local n = self.ds:size()
  return self.drop_last and n // self.batch_size or -(-n // self.batch_size)
end

-- loader:iter() -> iterator of x, y, idx
-- One pass over the data, for x, y, idx in loader:iter() do ... end (a new permutation each
-- pass when shuffling); idx holds the batch's positions.
function Loader:iter()
  local n, bs, nb = self.ds:size(), self.batch_size, #self
  local order = self.shuffle and self.generator:randperm(n) or tensor.arange(1, n + 1)
  local b, xs, ys = 0, nil, nil
  return function()
    b = b + 1
    if b > nb then return nil end
    local first = (b - 1) * bs + 1
    local idx = order:narrow(1, first, math.min(bs, n - first + 1))
    local x, y = self.ds:batch(idx, xs, ys)
    if self.reuse then xs, ys = x, y end
    return x, y, idx
  end
end
Loader.__call = Loader.iter

---------------------------------------------------------------------------
-- dataset constructors
---------------------------------------------------------------------------

M.FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"
M.FASHION_MNIST_CLASSES = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" }
M.CIFAR10_CLASSES = { "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck" }

local cache = setmetatable({}, { __mode = "v" })

local function exists(path)
  local f = io and io.open(path, "rb")
  if f then f:close() return true end
  return false
end

-- The first existing name among candidates (with and without .gz).
local function find(dir, names)
  for _, n in ipairs(names) do
    for _, p in ipairs { dir .. "/" .. n .. ".gz", dir .. "/" .. n } do
      if exists(p) then return p end
    end
  end
  return nil
end

local function load_or_fail(fn, path, ...)
  local r, err = fn(path, ...)
  if not r then raise(err) end
  return r
end

-- idx{images = path, labels = path [, classes = {...}, name =]} -> dataset:
-- [N,H,W] images become [N,1,H,W]; labels 0..K-1 become classes 1..K.
function M.idx(opts)
  if type(opts) ~= "table" or type(opts.images) ~= "string" then
    raise("bad argument #1 to 'idx' ({images = path, labels = path} expected)")
  end
  check("idx", 1, opts, { "images", "labels", "classes", "name" })
  local key = opts.images .. "\0" .. tostring(opts.labels)
  if cache[key] then return cache[key] end
  local x = load_or_fail(lio.read_idx, opts.images)
  if x:dim() == 3 then x = x:reshape(x:size(1), 1, x:size(2), x:size(3)) end
  local y, k
  if opts.labels then
    local raw = load_or_fail(lio.read_idx, opts.labels)
    if raw:dim() ~= 1 or raw:size(1) ~= x:size(1) then
      raise(("%s: %d labels for %d images"):format(opts.labels, raw:numel(), x:size(1)))
    end
    y = raw:long() + 1
    k = opts.classes and #opts.classes or (raw:numel() > 0 and raw:max() + 1 or 0)
    if raw:numel() > 0 and (raw:min() < 0 or raw:max() >= k) then
      raise(("%s: label %d outside 0..%d"):format(opts.labels, raw:max(), k - 1))
    end
  end
  local ds = new_dataset { _x = x:contiguous(), _y = y, classes = opts.classes, num_classes = k, name = opts.name or "idx" }
  cache[key] = ds
  return ds
end

local function idx_pair(root, split, name, classes)
  local prefix = split == "test" and "t10k" or "train"
  if split ~= "train" and split ~= "test" then raise("bad argument #1 to '" .. name .. "' (split must be 'train' or 'test')") end
  local images = find(root, { prefix .. "-images-idx3-ubyte", prefix .. "-images.idx3-ubyte" })
  local labels = find(root, { prefix .. "-labels-idx1-ubyte", prefix .. "-labels.idx1-ubyte" })
  if not images or not labels then raise(("%s: no %s IDX files in %s"):format(name, split, root)) end
  return M.idx { images = images, labels = labels, classes = classes, name = name .. " " .. split }
end

-- fashion_mnist{split = "train"|"test", root = FASHION_MNIST_ROOT}: 60,000 /
-- 10,000 images [1,28,28] uint8, 10 classes (M.FASHION_MNIST_CLASSES).
function M.fashion_mnist(opts)
  opts = check("fashion_mnist", 1, opts, { "split", "root" }) or {}
  return idx_pair(opts.root or M.FASHION_MNIST_ROOT, opts.split or "train", "fashion_mnist", M.FASHION_MNIST_CLASSES)
end

-- mnist{root = dir, split = "train"|"test"}: the same layout of files (root is required).
function M.mnist(opts)
  opts = check("mnist", 1, opts, { "root", "split" }) or {}
  if not opts.root then raise("bad argument #1 to 'mnist' (root directory expected)") end
  local names = {}
  for d = 0, 9 do names[d + 1] = tostring(d) end
  return idx_pair(opts.root, opts.split or "train", "mnist", names)
end

local function read_names(path)
  local f = io and io.open(path, "r")
  if not f then return nil end
  local out = {}
  for line in f:lines() do if line:match("%S") then out[#out + 1] = line:match("^%s*(.-)%s*$") end end
  f:close()
  return out
end

local function cifar_files(root, sub, files, name)
  for _, dir in ipairs { root, root .. "/" .. sub } do
    if exists(dir .. "/" .. files[1]) then return dir end
  end
  raise(("%s: no %s in %s (the binary version from cs.toronto.edu/~kriz/cifar.html)"):format(name, files[1], root))
end

-- cifar10{root = dir, split = "train"|"test"}: data_batch_1..5.bin /
-- test_batch.bin in root or root/cifar-10-batches-bin.
function M.cifar10(opts)
  opts = check("cifar10", 1, opts, { "root", "split" }) or {}
  local root, split = opts.root, opts.split or "train"
  if type(root) ~= "string" then raise("bad argument #1 to 'cifar10' (root directory expected)") end
  local files = split == "test" and { "test_batch.bin" } or
    { "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin" }
  local dir = cifar_files(root, "cifar-10-batches-bin", files, "cifar10")
  local xs, ys = {}, {}
  for i, f in ipairs(files) do
    local x, y = lio.read_cifar(dir .. "/" .. f, { classes = 10 })
    if not x then raise(y) end
    xs[i], ys[i] = x, y
  end
  local x = #xs == 1 and xs[1] or tensor.cat(xs, 1)
  local y = (#ys == 1 and ys[1] or tensor.cat(ys, 1)) + 1
  return new_dataset { _x = x, _y = y, classes = read_names(dir .. "/batches.meta.txt") or M.CIFAR10_CLASSES,
                       num_classes = 10, name = "cifar10 " .. split }
end

-- cifar100{root = dir, split = "train"|"test", label = "fine"|"coarse"}: train.bin / test.bin
-- in root or root/cifar-100-binary; fine labels (100) by default.
function M.cifar100(opts)
  opts = check("cifar100", 1, opts, { "root", "split", "label" }) or {}
  local root, split, which = opts.root, opts.split or "train", opts.label or "fine"
  if type(root) ~= "string" then raise("bad argument #1 to 'cifar100' (root directory expected)") end
  if which ~= "fine" and which ~= "coarse" then raise("bad argument #1 to 'cifar100' (label must be 'fine' or 'coarse')") end
  local file = split == "test" and "test.bin" or "train.bin"
  local dir = cifar_files(root, "cifar-100-binary", { file }, "cifar100")
  local x, fine, coarse = lio.read_cifar(dir .. "/" .. file, { classes = 100 })
  if not x then raise(fine) end
  local k = which == "fine" and 100 or 20
  local names = read_names(dir .. "/" .. which .. "_label_names.txt")
  if not names then names = {}; for i = 1, k do names[i] = tostring(i - 1) end end
  return new_dataset { _x = x, _y = (which == "fine" and fine or coarse) + 1, _coarse = coarse + 1, classes = names,
                       num_classes = k, name = "cifar100 " .. split }
end

-- tensor_dataset(x [, y] [, {classes =, num_classes =, name =}]): samples
-- along dim 1 of x, labels y (1-based class numbers) if given.
function M.tensor_dataset(x, y, opts)
  if not is_tensor(x) or x:dim() < 1 then raise("bad argument #1 to 'tensor_dataset' (tensor expected)") end
  if y ~= nil and not is_tensor(y) then opts, y = y, nil end
  opts = check("tensor_dataset", 3, opts, { "classes", "num_classes", "name" }) or {}
  local k
  if y then
    if y:dim() ~= 1 or y:size(1) ~= x:size(1) then
      raise(("bad argument #2 to 'tensor_dataset' (%d labels for %d samples)"):format(y:numel(), x:size(1)))
    end
    y = y:long():contiguous()
    k = opts.num_classes or (opts.classes and #opts.classes) or (y:numel() > 0 and y:max() or 0)
    if y:numel() > 0 and (y:min() < 1 or y:max() > k) then
      raise(("bad argument #2 to 'tensor_dataset' (labels must be class numbers 1..%d)"):format(k))
    end
  end
  return new_dataset { _x = x:contiguous(), _y = y, classes = opts.classes, num_classes = k, name = opts.name or "tensors" }
end

-- Labels from a Parquet column: dictionary text {codes, levels}, a string array, or integer
-- class ids counted from base. Returns 1-based class numbers and the class names (or nil).
local function parquet_labels(v, where, base)
  if type(v) == "table" and v.codes then
    if v.codes:numel() > 0 and v.codes:min() < 1 then raise(where .. ": null labels") end
    return v.codes, v.levels
  end
  if type(v) == "table" and not is_tensor(v) then
    local seen, names = {}, {}
    for i, s in ipairs(v) do
      if type(s) ~= "string" then raise(("%s: label %d is null"):format(where, i)) end
      if not seen[s] then seen[s] = true; names[#names + 1] = s end
    end
    -- Sorted, so shards and row ranges give the same class numbers.
    table.sort(names)
    local num = {}
    for k, s in ipairs(names) do num[s] = k end
    local ids = {}
    for i, s in ipairs(v) do ids[i] = num[s] end
    return tensor.new(ids, "int64"), names
  end
  if not is_tensor(v) or v:dim() ~= 1 then raise(where .. ": labels must be a text or integer column") end
  if v:dtype() == "float32" or v:dtype() == "float64" then
    if v:ne(v):any() then raise(where .. ": null labels") end
  end
  return v:long() + (1 - base), nil
end

--- from_parquet{path = file | {shards...}, x = "embedding" [, y = "label", base = 0, rows =, name =]} -> Dataset
-- A dataset from Parquet files (a Hugging Face shard, or several read as one): x names a
-- list<float> column of equal lengths (an embedding column; samples are its rows, as float32),
-- y an optional label column: dictionary or plain text (classes = the text; plain text is
-- numbered in sorted order), or integer class ids counted from base (0, as Python writes
-- them). rows is read_parquet's (only the first shard's rows when shards are given). A missing
-- file or column, a ragged or null embedding, or a null label raises an error naming the file.
function M.from_parquet(opts)
  check("from_parquet", 1, opts, { "path", "x", "y", "base", "rows", "name" })
  if type(opts) ~= "table" then raise("bad argument #1 to 'from_parquet' (options table expected)") end
  local paths = type(opts.path) == "table" and opts.path or { opts.path }
  if #paths == 0 or type(paths[1]) ~= "string" then
    raise("bad argument #1 to 'from_parquet' (path must be a file name or an array of them)")
  end
  if type(opts.x) ~= "string" then raise("bad argument #1 to 'from_parquet' (x must name a column)") end
  local cols = { opts.x, opts.y }
  local xs, ys = {}, {}
  for i, path in ipairs(paths) do
    local f, ferr = lio.open_parquet(path)
    if not f then raise(ferr) end
    for _, c in ipairs(cols) do
      local found = false
      for _, n in ipairs(f.columns) do found = found or n == c end
      if not found then
        raise(("bad argument #1 to 'from_parquet' (%s has no column '%s'; it has %s)"):format(path, c,
          table.concat(f.columns, ", ")))
      end
    end
    local d, err = lio.read_parquet(path, { columns = cols, rows = i == 1 and opts.rows or nil })
    if not d then raise(err) end
    local x = d[opts.x]
    if not is_tensor(x) or x:dim() ~= 2 then
      raise(("%s: column '%s' is not a list<float> column of equal lengths"):format(path, opts.x))
    end
    if x:ne(x):any() then raise(("%s: column '%s' has nulls"):format(path, opts.x)) end
    xs[i] = x:float()
    if opts.y then ys[i] = d[opts.y] end
  end
  local x = #xs == 1 and xs[1] or tensor.cat(xs, 1)
  local y, classes
  if opts.y then
    local v = ys[1]
    if #ys > 1 then
      -- shards: text is joined as strings so that class numbers agree across files
      local joined = {}
      for _, p in ipairs(ys) do
        if type(p) == "table" and p.codes then
          for _, c in ipairs(p.codes:totable()) do joined[#joined + 1] = p.levels[c] or lio.null end
        elseif type(p) == "table" and not is_tensor(p) then
          table.move(p, 1, #p, #joined + 1, joined)
        else
          joined = nil
          break
        end
      end
      v = joined or tensor.cat(ys, 1)
    end
    y, classes = parquet_labels(v, paths[1] .. ": column '" .. opts.y .. "'", opts.base or 0)
  end
  return M.tensor_dataset(x, y, { classes = classes, name = opts.name or paths[1] })
end

---------------------------------------------------------------------------
-- feature files of several models
---------------------------------------------------------------------------

-- The entry `key` of a loaded file (a bare tensor for .npy), checked.
local function entry(v, key, path, dims)
  local t = is_tensor(v) and key == "features" and v or (type(v) == "table" and not is_tensor(v) and v[key]) or nil
  if t ~= nil and (not is_tensor(t) or (dims and t:dim() ~= dims)) then
    raise(("%s: '%s' is not a %s tensor"):format(path, key, dims and (dims .. "-d") or ""))
  end
  return t
end

-- Multi-hot [N x C] float32 labels from 0-based class ids [N] (base 0) or a membership matrix.
local function multi_hot(L, path, n, base)
  if L:dim() == 2 then return L:float() end
  if L:dim() ~= 1 or L:numel() == 0 then raise(("%s: labels must be ids [N] or a matrix [N x C]"):format(path)) end
  local ids = L:long() + (1 - base)
  if ids:min() < 1 then raise(("%s: label ids below %d"):format(path, base)) end
  return tensor.one_hot(ids, ids:max())
end

-- features(paths [, {labels = path | tensor, ids = "image_id", base = 0}]) -> {X1, X2, ...}, info
-- Loads the feature matrices of several models for the same samples, one file
-- each: a .npy holds the matrix; an .npz, .safetensors or .pt file the entry
-- `features` [N x D] and optionally `labels` and an id column (opts.ids,
-- default "image_id"). When files carry ids, every file's rows are reordered
-- to the first file's ids (a missing id is an error), as features extracted
-- in different orders are joined. Labels come from opts.labels (a file or a
-- tensor), else from the first file that has them: class ids [N] counted from
-- opts.base (0, as Python writes them) or a multi-hot membership matrix
-- [N x C]. info = {names = file names without folder and extension,
-- labels = float32 multi-hot [N x C] or nil, ids = the first file's ids or
-- nil, n = N}. A missing file, entry or id, or row counts that differ, raise an
-- error naming the file.
function M.features(paths, opts)
  check("features", 2, opts, { "labels", "ids", "base" })
  if type(paths) ~= "table" or #paths == 0 then raise("bad argument #1 to 'features' (list of file paths expected)") end
  opts = opts or {}
  local key, base, out, info = opts.ids or "image_id", opts.base or 0, {}, { names = {} }
  local pos, labels, lpath
  for i, path in ipairs(paths) do
    local v, err = lio.load(path)
    if v == nil then raise(err) end
    local X, id = entry(v, "features", path, 2), entry(v, key, path, 1)
    if not X then raise(("%s: no 'features' [N x D] tensor"):format(path)) end
    if id and pos then
      local idx, ids = {}, id:totable()
      local row = {}
      for r, k in ipairs(ids) do row[k] = r end
      for r, k in ipairs(info.ids:totable()) do
        idx[r] = row[k] or raise(("%s: no row for %s %s of %s"):format(path, key, tostring(k), paths[1]))
      end
      X = X:index_select(1, tensor.new(idx, "int64"))
    elseif id then
      info.ids, pos = id, true
    end
    if i > 1 and X:size(1) ~= out[1]:size(1) then
      raise(("%s: %d rows, but %s has %d"):format(path, X:size(1), paths[1], out[1]:size(1)))
    end
    out[i], info.names[i] = X:float(), path:match("([^/]*)%.[^./]*$") or path:match("[^/]*$")
    if not labels then labels, lpath = entry(v, "labels", path), path end
  end
  if opts.labels ~= nil then
    labels, lpath = opts.labels, "labels"
    if type(labels) == "string" then
      local v, err = lio.load(labels)
      if v == nil then raise(err) end
      lpath, labels = opts.labels, is_tensor(v) and v or entry(v, "labels", opts.labels)
      if not labels then raise(("%s: no 'labels' tensor"):format(opts.labels)) end
    end
  end
  info.n = out[1]:size(1)
  if labels then
    if labels:size(1) ~= info.n then raise(("%s: %d labels for %d rows"):format(lpath, labels:size(1), info.n)) end
    info.labels = multi_hot(labels, lpath, info.n, base)
  end
  return out, info
end

M.Dataset, M.Loader, M.Bar = Dataset, Loader, Bar
return M
