-- sage_distributed.lua - SAGE on several processes: a data-parallel warm-up epoch, then the
-- two SAGE passes with each rank on its shard (sketches allmerged, centroids allreduced, the
-- per-class top-k taken over everyone's scores). Run it on one machine or many:
--
--   mpirun -np 4 lunette examples/sage_distributed.lua [N = 60000]
--   mpirun --hostfile hosts -np 16 lunette examples/sage_distributed.lua
--   lunette examples/sage_distributed.lua 6000       -- alone: the same script, one rank
--
-- Every rank loads the dataset (lunette reads only the files; each rank trains and sketches
-- only its shard), every rank ends with the same subset; rank 0 prints.
local lt = require "lunette"
local d, S, nn, data = lt.dist, lt.select, lt.nn, lt.data

local N = tonumber(arg[1]) or 60000
local train = data.fashion_mnist { split = "train" }
if N < train:size() then train = train:subset(lt.arange(1, N + 1)) end
print(("%d rank(s); %d images, %d on this rank"):format(d.size(), N, train:shard():size()))

-- one warm-up epoch, data-parallel: rank 0's initial weights broadcast, each global batch of
-- 256 split over the ranks, gradients summed: every rank holds the same model afterwards
lt.seed(0)
local model = nn.mlp { 784, 256, 128, 10 }
local X, Y = train:tensors()
local t0 = lt.time()
local hist = nn.fit(model, { x = X, y = Y }, { epochs = 1, batch_size = 256, lr = 0.05, seed = 0,
                                               dist = true })
print(("warm-up epoch: loss %.4f, accuracy %.4f, %.1f s"):format(hist.epochs[1].loss,
  hist.epochs[1].accuracy, lt.time() - t0))

-- SAGE on the shards: the same indices on every rank, into the whole training set
local b0 = d.bytes_sent()
local idx, _, info = S.sage { model = model, dataset = train, ell = 256, fraction = 0.05, dist = true }
print(("SAGE: %d of %d kept; sketch %.1f s, projection %.1f s, scoring %.3f s; rank 0 sent %.1f MB")
  :format(idx:numel(), N, info.seconds.sketch, info.seconds.project, info.seconds.score,
          (d.bytes_sent() - b0) / 1e6))
local st = S.class_stats(idx, info.labels, 10)
print(("class balance: mean %.1f, std %.1f per class"):format(st.mean, st.std))
