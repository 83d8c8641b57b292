-- cuda_gpu_spec_dryrun.lua - a busted helper that runs tests/cuda_gpu_spec.lua on a machine without
-- a GPU, with CPU stand-ins for lunette.cuda and the CUDA tensor methods: it checks the spec's own
-- Lua (its CPU references and API use), not the GPU. Expected failures: the print and the
-- device-mixing cases (a stand-in is a CPU tensor). Usage:
--   LUNETTE_BUILD=build build/lunette /usr/bin/busted --cpath="build/?.so" \
--     --helper=scripts/cuda_gpu_spec_dryrun.lua tests/cuda_gpu_spec.lua
local lt = require "lunette"
local meta = getmetatable(lt.zeros(1))
local m = meta.__methods
m.cuda = function(t) return t end
m.cpu = function(t) return t end
m.device = function() return "cuda:0" end
local sm = lt.nn.Softmax()
local lsm = lt.nn.LogSoftmax()
m.softmax = function(t) return sm:forward(t) end
m.log_softmax = function(t) return lsm:forward(t) end
local gen = lt.Generator(1)
local shim = {
  is_available = function() return true end,
  device_name = function() return "CPU stand-in" end,
  cdist = lt.cdist,
  eigh = function(a) return lt.linalg.eigh(a) end,
  manual_seed = function(n) gen = lt.Generator(n) end,
  rand = function(n) return gen:rand(n) end,
  randn = function(n) return gen:randn(n) end,
  knn = function(x, k) return lt.cdist(x, x):topk(k, -1, false) end,
  fd_shrink = function(B, l)
    local w, V = lt.linalg.eigh(B:matmul(B:t()))
    local r = B:size(1)
    local delta = w[r - l + 1]
    local rows = {}
    for j = r, r - l + 1, -1 do
      if w[j] - delta > 0 then
        local c = math.sqrt((w[j] - delta) / w[j])
        rows[#rows + 1] = V:select(2, j):reshape(1, r):matmul(B) * c
      end
    end
    return lt.cat(rows, 1), delta
  end,
  last_layer_gy = function(logits, labels)
    return sm:forward(logits) - lt.eye(logits:size(2)):index_select(1, labels)
  end,
  per_sample_grads = function(h, gy)
    local n, d, c = h:size(1), h:size(2), gy:size(2)
    return lt.bmm(gy:reshape(n, c, 1), h:reshape(n, 1, d))
  end,
  per_sample_norms = function(h, gy) return ((gy * gy):sum(2) * (h * h):sum(2)):sqrt() end,
  projected_grads = function(h, gy, B)
    local n, d, c = h:size(1), h:size(2), gy:size(2)
    return lt.bmm(gy:reshape(n, c, 1), h:reshape(n, 1, d)):reshape(n, c * d):matmul(B:t())
  end,
  synchronize = function() end,
  memory = function()
    return { device_mallocs = 0, cache_hits = 0, total = 1, free = 1, reserved = 1, allocated = 0 }
  end,
}
package.loaded["lunette.cuda"] = shim
rawset(lt, "cuda", shim)
