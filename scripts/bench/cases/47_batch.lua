-- batch: one shuffled epoch over Fashion-MNIST (60,000 images, batch 256,
-- uint8 -> float32, normalised per channel): lunette.data's loader (one C
-- gather per batch) vs the obvious numpy loop over a permutation.
-- Images per second = 60000 / seconds.
-- @row batch_epoch_fmnist goal=1 title="epoch of 60,000 images, batch 256, shuffled + normalised"
local bench = require "bench"
local lt = bench.lt

local ds = lt.data.fashion_mnist{split = "train"}:normalize{mean = 0.2860, std = 0.3530}
bench.run("batch_epoch_fmnist", function()
  local loader = ds:loader{batch_size = 256, shuffle = true, seed = 0}
  local n = 0
  for x, y in loader:iter() do n = n + y:size(1) end
  return n
end, { check = function(n) return n end })
