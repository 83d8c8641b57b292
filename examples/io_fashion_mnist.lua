-- io_fashion_mnist.lua: Fashion-MNIST from Debian's dataset package, a
-- class-balanced subset, a shuffled normalised epoch with a progress bar,
-- and a 4x4 montage of the subset written as a PNG.
--   build/lunette examples/io_fashion_mnist.lua [montage.png]
local lt = require "lunette"
local data = lt.data

local train = data.fashion_mnist{split = "train"}
print(train)

-- 5% per class, as the SAGE seed keeps
local keep = {}
for c, ix in ipairs(train:class_indices()) do keep[c] = ix:narrow(1, 1, ix:numel() // 20) end
local subset = train:subset(lt.cat(keep, 1))
print(("subset: %d images, %d per class"):format(#subset, subset:class_counts()[1]))

local norm = train:normalize()
print(("mean %.4f, std %.4f"):format(norm.norm.mean[1], norm.norm.std[1]))
local seen, counts = 0, lt.zeros(10, "int64")
for x, y in data.progress(norm:loader{batch_size = 256, shuffle = true, seed = 1}, {desc = "epoch"}) do
  seen = seen + x:size(1)                                 -- x: [B,1,28,28] float32, y: [B] classes 1..10
  counts = counts + (y - 1):bincount(10)               -- bincount counts values 0..9
end
print(("epoch: %d images, per class %s"):format(seen, table.concat(counts:totable(), " ")))

local imgs = subset:batch(lt.arange(1, 17))             -- [16,1,28,28] in [0,1]
local montage = imgs:reshape(4, 4, 28, 28):permute(1, 3, 2, 4):contiguous():reshape(112, 112)
local path = arg[1] or (os.getenv("TMPDIR") or "/tmp") .. "/fashion_montage.png"
assert(lt.io.write_png(path, montage))
print("wrote " .. path)
