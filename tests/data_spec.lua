-- data_spec.lua: Fashion-MNIST and the other datasets, subsets, class
-- indices, normalisation, the batching iterator (seeded shuffles) and the
-- progress bar.
local lt = require "lunette"
local data = lt.data

local NP = "tests/fixtures/io_numpy/"

describe("fashion_mnist", function()
  local train, test
  setup(function()
    train = data.fashion_mnist{split = "train"}
    test = data.fashion_mnist{split = "test"}
  end)

  it("has 60,000 + 10,000 images of [1,28,28] in 10 balanced classes", function()
    assert.equal(60000, #train)
    assert.equal(10000, test:size())
    assert.same({60000, 1, 28, 28}, train.x:size())
    assert.equal("uint8", train.x:dtype())
    assert.equal(10, train.num_classes)
    assert.equal("Ankle boot", train.classes[10])
    for c, n in ipairs(train:class_counts()) do assert.equal(6000, n, "class " .. c) end
    for c, n in ipairs(test:class_counts()) do assert.equal(1000, n, "class " .. c) end
  end)

  it("labels are 1-based class numbers and samples are floats in [0,1]", function()
    local x, y = train:get(1)
    assert.equal(10, y) -- the first training image is an ankle boot (file label 9)
    assert.same({1, 28, 28}, x:size())
    assert.equal("float32", x:dtype())
    assert.is_true(x:min() >= 0 and x:max() <= 1)
    assert.is_true(x:allclose(train.x[1]:float() / 255, 1e-6, 1e-7))
    assert.is_true(lt.data.fashion_mnist{split = "train"} == train) -- loaded once, cached
  end)

  it("per-class indices list exactly the samples of each class", function()
    local ci = train:class_indices()
    assert.equal(10, #ci)
    local labels, total = train:labels(), 0
    for c, ix in ipairs(ci) do
      total = total + ix:numel()
      assert.is_true(labels:index_select(1, ix):eq(c):all(), "class " .. c)
    end
    assert.equal(60000, total)
  end)

  it("normalises with measured or given statistics", function()
    local n = train:normalize()
    assert.near(0.2860, n.norm.mean[1], 1e-4)
    assert.near(0.3530, n.norm.std[1], 1e-4)
    local x = n:tensors()
    assert.near(0, x:mean(), 1e-4)
    assert.near(1, x:std(), 1e-3)
    local h = train:normalize{mean = 0.5, std = 0.5}
    local b = h:batch(lt.arange(1, 101))
    assert.is_true(b:min() >= -1 and b:max() <= 1)
    assert.error_matches(function() train:normalize{mean = {0, 0}, std = {1, 1}} end, "1 channel values expected")
    assert.error_matches(function() train:normalize{mean = 0, std = 0} end, "not positive")
  end)

  it("subsets compose and share memory", function()
    local ci = train:class_indices()
    local s = train:subset(ci[3])
    assert.equal(6000, #s)
    assert.equal(6000, s:class_counts()[3])
    local ss = s:subset({1, 2, 3})
    local x, y = ss:batch({2})
    assert.equal(3, y[1])
    assert.is_true(x[1]:equal(train:get(ci[3][2])))
    assert.is_true(rawget(ss, "_x") == rawget(train, "_x")) -- no copy
    assert.same({3, 1, 28, 28}, ss.x:size())                -- ds.x: this subset's own samples
    assert.is_true(ss.x[2]:equal(train.x[ci[3][2]]))
    assert.same({3, 3, 3}, ss.y:totable())
    assert.error_matches(function() s:subset({6001}) end, "out of range")
    assert.error_matches(function() train:get(0) end, "out of range")
  end)
end)

describe("loader", function()
  local ds = data.tensor_dataset(lt.arange(0, 100):reshape(50, 2):float(), (lt.arange(0, 50) % 5) + 1)

  it("batches in order with the last batch short, or dropped", function()
    local l = ds:loader{batch_size = 16}
    assert.equal(4, #l)
    local sizes, seen = {}, {}
    for x, y, idx in l:iter() do
      sizes[#sizes + 1] = x:size(1)
      assert.same({x:size(1), 2}, x:size())
      assert.equal("float32", x:dtype())
      assert.equal("int64", y:dtype())
      for _, i in ipairs(idx:totable()) do seen[#seen + 1] = i end
    end
    assert.same({16, 16, 16, 2}, sizes)
    for i = 1, 50 do assert.equal(i, seen[i]) end
    assert.equal(3, #ds:loader{batch_size = 16, drop_last = true})
    local n = 0
    for _ in ds:loader{batch_size = 16, drop_last = true}() do n = n + 1 end
    assert.equal(3, n)
  end)

  it("shuffles with a seed: same seed same order, each pass a permutation", function()
    local function order(l)
      local out = {}
      for _, _, idx in l:iter() do for _, i in ipairs(idx:totable()) do out[#out + 1] = i end end
      return out
    end
    local a, b = ds:loader{batch_size = 7, shuffle = true, seed = 3}, ds:loader{batch_size = 7, shuffle = true, seed = 3}
    local o1, o2 = order(a), order(b)
    assert.same(o1, o2)
    local sorted = {table.unpack(o1)}
    table.sort(sorted)
    for i = 1, 50 do assert.equal(i, sorted[i]) end
    assert.are_not.same(o1, order(a)) -- the next pass is another permutation
    assert.are_not.same(o1, order(ds:loader{batch_size = 7, shuffle = true, seed = 4}))
  end)

  it("hands out the samples its indices name", function()
    for x, y, idx in ds:loader{batch_size = 9, shuffle = true, seed = 1}:iter() do
      local bx, by = ds:batch(idx)
      assert.is_true(x:equal(bx))
      assert.is_true(y:equal(by))
      assert.is_true(x:select(2, 1):equal(idx:float() * 2 - 2))
    end
  end)

  it("iterates Fashion-MNIST fast (one C gather per batch)", function()
    local train = data.fashion_mnist{split = "train"}:normalize()
    local t0, n = lt.time(), 0
    for x in train:loader{batch_size = 256, shuffle = true, seed = 0}:iter() do n = n + x:size(1) end
    assert.equal(60000, n)
    assert.is_true(lt.time() - t0 < 3, "an epoch took " .. (lt.time() - t0) .. " s")
  end)

  it("can write every batch into the same two tensors", function()
    local xs, n = {}, 0
    for x, y, idx in ds:loader{batch_size = 8, reuse = true, shuffle = true, seed = 2}:iter() do
      local bx, by = ds:batch(idx)
      assert.is_true(x:equal(bx) and y:equal(by))
      xs[#xs + 1] = x
      n = n + x:size(1)
    end
    assert.equal(50, n)
    assert.is_true(rawequal(xs[1], xs[5]))     -- full batches share one tensor
    assert.is_false(rawequal(xs[1], xs[7]))    -- the short last batch gets its own
  end)

  it("rejects bad batch sizes", function()
    assert.error_matches(function() ds:loader{batch_size = 0} end, "batch_size must be a positive integer")
  end)

  -- issue 13 (data 7): the kernels formed index - base and label - base before checking the
  -- range, which overflows for math.mininteger (undefined behaviour; caught by the UBSan
  -- build), and class_index(labels, 2, math.maxinteger) put label math.mininteger in class 2.
  it("refuses extreme indices, labels and bases without overflow", function()
    local D = require "lunette._data"
    local function refused(f, want)
      local ok, err = pcall(f)
      assert.is_false(ok)
      assert.truthy(tostring(err):find(want, 1, true), tostring(err))
    end
    local min, max = math.mininteger, math.maxinteger
    refused(function() ds:batch({ 1, min }) end, "index " .. min .. " out of range 1..50")
    refused(function() D.gather(lt.ones(3), lt.tensor({ max, min }, "int64")) end,
      "index " .. max .. " out of range 1..3")
    refused(function() D.class_index(lt.tensor({ 1, min }, "int64"), 2) end,
      "label " .. min .. " outside 1..2")
    refused(function() D.class_index(lt.tensor({ max }, "int64"), 2, -2) end,
      "label " .. max .. " outside -2..-1")
    refused(function() D.class_index(lt.tensor({ min }, "int64"), 2, max) end,
      "bad argument #3 to 'class_index' (base " .. max .. " too large")
    refused(function() D.class_index(lt.tensor({ max, max }, "int64"), 1, max) end,
      "bad argument #3 to 'class_index' (base " .. max .. " too large")
    -- the largest base that numbers every class and row still works
    local idx = D.class_index(lt.tensor({ max }, "int64"), 1, max)
    assert.same({ max }, idx[1]:totable())
    idx = D.class_index(lt.tensor({ min, min + 1 }, "int64"), 2, min)
    assert.same({ min }, idx[1]:totable())
    assert.same({ min + 1 }, idx[2]:totable())
  end)
end)

describe("other datasets", function()
  local tmp
  setup(function()
    tmp = os.tmpname()
    os.remove(tmp)
    os.execute("mkdir -p '" .. tmp .. "/cifar-10-batches-bin' '" .. tmp .. "/c100'")
    for _, n in ipairs { "data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch" } do
      os.execute("cp " .. NP .. "cifar10_tiny.bin '" .. tmp .. "/cifar-10-batches-bin/" .. n .. ".bin'")
    end
    os.execute("cp " .. NP .. "cifar100_tiny.bin '" .. tmp .. "/c100/train.bin'")
  end)
  teardown(function() os.execute("rm -rf '" .. tmp .. "'") end)

  it("cifar10 concatenates the five training batches", function()
    local tr = data.cifar10{root = tmp}
    assert.equal(15, #tr)
    assert.same({3, 32, 32}, tr.x[1]:size())
    assert.equal("airplane", tr.classes[1])
    local _, y = tr:get(1)
    assert.equal(10, y) -- file label 9
    assert.equal(3, #data.cifar10{root = tmp, split = "test"})
    local n = tr:normalize()
    assert.equal(3, #n.norm.mean)
    assert.same({2, 3, 32, 32}, n:batch({1, 2}):size())
  end)

  it("cifar100 has fine and coarse labels", function()
    local fine = data.cifar100{root = tmp .. "/c100"}
    assert.equal(100, fine.num_classes)
    assert.same({100, 43, 1}, fine:labels():totable())
    local coarse = data.cifar100{root = tmp .. "/c100", label = "coarse"}
    assert.same({20, 4, 1}, coarse:labels():totable())
    assert.error_matches(function() data.cifar100{root = tmp} end, "no train.bin")
  end)

  it("idx datasets pair images with labels and check them", function()
    local ds = data.idx{images = NP .. "tiny-images-idx3-ubyte.gz", labels = NP .. "tiny-labels-idx1-ubyte.gz"}
    assert.equal(3, #ds)
    assert.same({3, 1, 4, 5}, ds.x:size())
    assert.same({3, 1, 2}, ds:labels():totable())
    assert.error_matches(function()
      data.idx{images = NP .. "tiny-images-idx3-ubyte", labels = NP .. "floats.idx"}
    end, "6 labels for 3 images")
  end)

  it("tensor datasets keep float data as it is", function()
    local x = lt.tensor({{0.25, 2}, {3, 4}})
    local ds = data.tensor_dataset(x, lt.tensor({1, 2}), {classes = {"a", "b"}})
    assert.is_true(ds:batch({2, 1}):equal(lt.tensor({{3, 4}, {0.25, 2}})))
    assert.equal(2, ds.num_classes)
    assert.error_matches(function() data.tensor_dataset(x, lt.tensor({0, 1})) end, "class numbers 1..1")
    assert.error_matches(function() data.tensor_dataset(x, lt.tensor({1})) end, "1 labels for 2 samples")
    local unl = data.tensor_dataset(x)
    assert.is_nil(select(2, unl:batch({1})))
  end)
end)

describe("progress", function()
  it("formats count, percentage, elapsed, ETA and rate like tqdm", function()
    local bar = data.progress(200, {desc = "sketch", disable = true})
    bar.start = 0
    bar.n = 50
    local s = bar:render(10)
    assert.matches("^sketch:  25%%|", s)
    assert.matches("| 50/200 %[00:10<00:30, 5%.00 it/s%]$", s)
    bar.total = nil
    assert.equal("sketch: 50 [00:10, 5.00 it/s]", bar:render(10))
    bar:close()
  end)

  it("wraps loaders, arrays and iterator functions without changing what they yield", function()
    local ds = data.tensor_dataset(lt.zeros(10, 2), lt.ones(10):long())
    local n = 0
    for x, y, idx in data.progress(ds:loader{batch_size = 3}, {disable = true}) do
      n = n + x:size(1)
      assert.equal(x:size(1), y:size(1))
      assert.equal(x:size(1), idx:size(1))
    end
    assert.equal(10, n)
    local got = {}
    for i, v in data.progress({"a", "b"}, {disable = true}) do got[i] = v end
    assert.same({"a", "b"}, got)
    local k = 0
    local it = function() k = k + 1; if k <= 3 then return k end end
    local seen = 0
    for v in data.progress(it, {total = 3, disable = true}) do seen = seen + v end
    assert.equal(6, seen)
    assert.error_matches(function() data.progress(true) end, "number, loader, array or iterator expected")
  end)

  it("closes its bar when a loop breaks early", function()
    local f, st, c, bar = data.progress({1, 2, 3}, {disable = true})
    for _ in f, st, c, bar do break end
    assert.is_true(bar.closed)
    assert.equal(1, bar.n)
  end)

  it("is silent unless stderr is a terminal", function()
    local enabled = data.progress_enabled()
    assert.is_boolean(enabled)
    assert.is_false(data.progress(3, {disable = true}).enabled)
  end)
end)

describe("features", function()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p '" .. dir .. "'")
  teardown(function() os.execute("rm -rf '" .. dir .. "'") end)
  local A = lt.tensor { { 1, 1 }, { 2, 2 }, { 3, 3 } }
  assert(lt.io.save(dir .. "/a.npz", { features = A, labels = lt.tensor { 0, 2, 1 }, image_id = lt.tensor { 10, 20, 30 } }))
  assert(lt.io.save(dir .. "/b.safetensors", { features = lt.tensor { { 30 }, { 10 }, { 20 } }, image_id = lt.tensor { 30, 10, 20 } }))
  assert(lt.io.save(dir .. "/c.npy", A * 2))

  it("loads several models' features with rows aligned on the ids, names and multi-hot labels", function()
    local X, info = data.features { dir .. "/a.npz", dir .. "/b.safetensors", dir .. "/c.npy" }
    assert.same({ "a", "b", "c" }, info.names)
    assert.equal(3, info.n)
    assert.same({ { 10 }, { 20 }, { 30 } }, X[2]:totable())
    assert.same({ { 2, 2 }, { 4, 4 }, { 6, 6 } }, X[3]:totable())
    assert.equal("float32", X[1]:dtype())
    assert.same({ { 1, 0, 0 }, { 0, 0, 1 }, { 0, 1, 0 } }, info.labels:totable())
    assert.same({ 10, 20, 30 }, info.ids:totable())
    local _, i2 = data.features({ dir .. "/c.npy" }, { labels = lt.tensor { 1, 1, 2 }, base = 1 })
    assert.same({ { 1, 0 }, { 1, 0 }, { 0, 1 } }, i2.labels:totable())
  end)

  it("names the file and the problem", function()
    assert(lt.io.save(dir .. "/short.npy", lt.zeros(2, 2)))
    assert(lt.io.save(dir .. "/noid.npz", { features = A, image_id = lt.tensor { 10, 20, 99 } }))
    assert(lt.io.save(dir .. "/nofeat.npz", { x = A }))
    assert.error_matches(function() data.features { dir .. "/a.npz", dir .. "/short.npy" } end, "short.npy: 2 rows, but .*a.npz has 3")
    assert.error_matches(function() data.features { dir .. "/a.npz", dir .. "/noid.npz" } end, "noid.npz: no row for image_id 30")
    assert.error_matches(function() data.features { dir .. "/nofeat.npz" } end, "nofeat.npz: no 'features' %[N x D%] tensor")
    assert.error_matches(function() data.features { dir .. "/missing.npy" } end, "missing.npy")
    assert.error_matches(function() data.features {} end, "list of file paths expected")
  end)
end)

describe("shard", function()
  local ds = data.tensor_dataset(lt.arange(0, 11):reshape(11, 1):float(), lt.arange(1, 12))
  local function labels(s) return s:labels():totable() end

  it("splits contiguously as dist.scatter does, or strided, disjoint and covering", function()
    assert.same({ 1, 2, 3 }, labels(ds:shard { rank = 0, size = 4 }))
    assert.same({ 10, 11 }, labels(ds:shard { rank = 3, size = 4 }))
    assert.same({ 2, 6, 10 }, labels(ds:shard { rank = 1, size = 4, mode = "strided" }))
    for _, mode in ipairs { "contiguous", "strided" } do
      local seen, total = {}, 0
      for r = 0, 3 do
        for _, y in ipairs(labels(ds:shard { rank = r, size = 4, mode = mode, shuffle = true,
                                             seed = 7 })) do
          assert.is_nil(seen[y])
          seen[y], total = true, total + 1
        end
      end
      assert.are.equal(11, total)
    end
  end)

  it("draws the same permutation on every rank (a seeded randperm)", function()
    local perm = lt.Generator(7):randperm(11):totable()
    local got = {}
    for r = 0, 3 do
      for _, y in ipairs(labels(ds:shard { rank = r, size = 4, shuffle = true, seed = 7 })) do
        got[#got + 1] = y
      end
    end
    assert.same(perm, got)
    assert.are_not.same(got, labels(ds:shard { rank = 0, size = 1, shuffle = true, seed = 8 }))
  end)

  it("defaults to lunette.dist's rank and size (all of it in one process)", function()
    assert.are.equal(11, ds:shard():size())
    assert.truthy(tostring(ds:shard { rank = 1, size = 2 }):find("shard 1/2"))
  end)

  it("rejects bad ranks, sizes, modes and unknown options", function()
    assert.error_matches(function() ds:shard { rank = 4, size = 4 } end,
      "bad argument #1 to 'shard' %(rank must be an integer in 0..3, got 4%)")
    assert.error_matches(function() ds:shard { size = 0 } end, "size must be a positive integer")
    assert.error_matches(function() ds:shard { mode = "blocks" } end,
      'mode must be "contiguous" or "strided", got blocks')
    assert.error_matches(function() ds:shard { sise = 2 } end, "%(did you mean 'size'%?%)")
  end)
end)
