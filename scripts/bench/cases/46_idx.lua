-- idx: the Fashion-MNIST training images from the gzipped IDX file to a
-- float32 tensor in [0, 1]: lunette.io inflates straight into the float
-- tensor and scales in the same pass; the peer is gzip + numpy.
-- @row fmnist_idx_gz_f32 goal=1 title="Fashion-MNIST train .gz IDX → f32 [60000×28×28]"
local bench = require "bench"
local lt = bench.lt

local PATH = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
bench.run("fmnist_idx_gz_f32", function()
  return assert(lt.io.read_idx(PATH, {dtype = "float32", scale = 1 / 255}))
end, { check = bench.total })
