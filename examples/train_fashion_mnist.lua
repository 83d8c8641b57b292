-- train_fashion_mnist.lua: trains the small CNN (or the MLP) on Fashion-MNIST and prints the test accuracy.
--
--   build/lunette examples/train_fashion_mnist.lua              -- small CNN, 4 epochs (~0.91)
--   build/lunette examples/train_fashion_mnist.lua mlp 5        -- MLP 784-256-10, 5 epochs (~0.88)
--   build/lunette examples/train_fashion_mnist.lua cnn 3 out.pt -- also saves the weights (needs lunette.io)
local lt = require "lunette"
local nn = lt.nn
local data = require "lunette.nn_data"

local arch, epochs, save = arg[1] or "cnn", tonumber(arg[2] or "4"), arg[3]

local train = data.fashion_mnist { split = "train" }
local test = data.fashion_mnist { split = "test" }
print(("Fashion-MNIST: %d train, %d test images"):format(train.x:size(1), test.x:size(1)))

-- Inputs are uint8 pixels; fit/evaluate scale them to [0, 1], this normalises them.
local MEAN, STD = 0.2860, 0.3530
local function normalise(x) return x:add_(-MEAN):mul_(1 / STD) end

local model = arch == "mlp" and nn.mlp { 784, 256, 10, seed = 1 } or nn.small_cnn { seed = 1 }
print(model)
print(("%d parameters"):format(model:num_parameters()))

local opt = nn.Adam(model, { lr = 1e-3 })
local t0 = lt.time()
nn.fit(model, train, {
  epochs = epochs, batch_size = 128, optimizer = opt, seed = 1, transform = normalise,
  schedule = nn.CosineLR(opt, { t_max = epochs }), test = test, verbose = true,
})
local r = nn.evaluate(model, test, { transform = normalise })
print(("test accuracy %.4f (loss %.4f) after %d epochs, %.0f s"):format(r.accuracy, r.loss, epochs, lt.time() - t0))
local names = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" }
for c, acc in ipairs(r.per_class) do print(("  %-12s %.3f"):format(names[c], acc)) end

if save then
  lt.io.save(save, model:state_dict())
  print("weights written to " .. save)
end
