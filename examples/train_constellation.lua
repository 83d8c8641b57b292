-- train_constellation.lua [options]: the default input of examples/hypersphere.lua, built from
-- Fashion-MNIST. Trains three different "experts" (an MLP on pixels, the small CNN, and spherical
-- k-means of the pixel vectors, an unsupervised kernel-like feature map), extracts their features,
-- then trains a constellation on them: per-expert Linear + LayerNorm projectors into d_anchor
-- dims, L2-normalised, averaged and re-normalised, the cosine to n_anchors learned anchors on the
-- sphere, and a linear classifier on those cosines (cross-entropy on the Fashion-MNIST label).
-- Writes, into --out:
--   constellation.pt  {state_dict = {"projectors.<i>.proj.0.weight", ..., "constellation.anchors",
--                     "classifier.weight", ...}, config = {d_anchor, n_anchors, experts, classes},
--                     mAP = macro average precision on the test set}; torch.load reads it
--   <expert>.npz      the test-set features of each expert: features [N x D] float32,
--                     labels [N] (0-based class ids, as the seed's datasets store them), image_id [N]
--
--   build/lunette examples/train_constellation.lua --out out/hypersphere
--   build/lunette examples/train_constellation.lua --train 2000 --test 500 --epochs 1   (tiny)
local lt = require "lunette"
local nn, embed = lt.nn, lt.embed
local opt = lt.args {
  "train_constellation.lua [options]: three Fashion-MNIST experts and a constellation over them",
  out = { "out/hypersphere", "folder of constellation.pt and the expert feature files" },
  train = { 20000, "training images (of 60000) for the experts and the constellation" },
  test = { 10000, "test images whose features are written (the analysed set)" },
  epochs = { 2, "epochs of each trained expert" },
  cepochs = { 8, "epochs of the constellation" },
  d_anchor = { 64, "dimension of the shared sphere" },
  n_anchors = { 128, "number of learned anchors" },
  kmeans = { 256, "centroids of the k-means expert" },
  format = { "npz", "feature files: npz, safetensors or npy (features only)" },
  seed = { 1, "seed of every random choice" },
}
local t_start = lt.time()
assert(lt.io.makedirs(opt.out))
lt.seed(opt.seed)

local function take(split, n)
  local x, y = lt.data.fashion_mnist { split = split }:tensors()
  n = math.min(n, x:size(1))
  return x:narrow(1, 1, n):contiguous(), y:narrow(1, 1, n):contiguous()
end
local xtr, ytr = take("train", opt.train)
local xte, yte = take("test", opt.test)
local MEAN, STD = 0.2860, 0.3530
local function standardise(x) return (x - MEAN) / STD end

-- Features of a trained model: its penultimate layer, in batches, with a progress bar.
local function features(model, x, desc)
  model:eval()
  local out, bar = {}, lt.data.progress(x:size(1), { desc = desc })
  for b0 = 1, x:size(1), 1000 do
    local n = math.min(1000, x:size(1) - b0 + 1)
    out[#out + 1] = model:features(standardise(x:narrow(1, b0, n)))
    bar:update(n)
  end
  bar:close()
  return lt.cat(out, 1)
end

local function trained(name, model)
  local o = nn.Adam(model, { lr = 1e-3 })
  nn.fit(model, { x = xtr, y = ytr }, { epochs = opt.epochs, batch_size = 128, optimizer = o, seed = opt.seed,
                                        transform = standardise })
  local acc = nn.evaluate(model, { x = xte, y = yte }, { transform = standardise, progress = false }).accuracy
  print(("expert %-14s test accuracy %.4f"):format(name, acc))
  return features(model, xtr, name .. " features"), features(model, xte, name .. " features")
end

-- The k-means expert: cosine of each (centred, normalised) pixel vector to the centroids.
local function kmeans_expert()
  local mean = xtr:reshape(xtr:size(1), 784):mean(1)
  local function unit(x) return embed.normalize(x:reshape(x:size(1), 784) - mean) end
  local fit = unit(xtr:narrow(1, 1, math.min(10000, xtr:size(1))))
  local cen = embed.spherical_kmeans(fit, math.min(opt.kmeans, fit:size(1)), { seed = opt.seed, max_iter = 20 })
  print(("expert %-14s %d centroids"):format("kmeans_pixels", cen:size(1)))
  return unit(xtr):matmul(cen:t()), unit(xte):matmul(cen:t())
end

local EXPERTS = { "mlp_pixels", "small_cnn", "kmeans_pixels" }
local ftr, fte = {}, {}
ftr[1], fte[1] = trained(EXPERTS[1], nn.mlp { 784, 512, 256, 10, seed = opt.seed })
ftr[2], fte[2] = trained(EXPERTS[2], nn.small_cnn { width = 16, hidden = 128, seed = opt.seed })
ftr[3], fte[3] = kmeans_expert()

-- The constellation: names as the hypersphere seed reads them (projectors.<i>.proj.{0,1}.*,
-- constellation.anchors).
local widths, branches = {}, {}
for i, f in ipairs(ftr) do
  widths[i] = f:size(2)
  branches[i] = nn.Sequential({ { "proj", nn.Sequential { nn.Linear(widths[i], opt.d_anchor), nn.LayerNorm(opt.d_anchor) } },
                                nn.Normalize() }, { anonymous = true })
end
local model = nn.Sequential({
  { "projectors", nn.Parallel(branches, { split = widths, combine = "mean" }) }, nn.Normalize(),
  { "constellation", nn.Anchors(opt.n_anchors, opt.d_anchor) }, { "classifier", nn.Linear(opt.n_anchors, 10) },
}, { anonymous = true })
local xc, xct = lt.cat(ftr, 2), lt.cat(fte, 2)
local o = nn.Adam(model, { lr = 3e-3 })
nn.fit(model, { x = xc, y = ytr }, { epochs = opt.cepochs, batch_size = 256, optimizer = o, seed = opt.seed,
                                     schedule = nn.CosineLR(o, { t_max = opt.cepochs }) })

-- Macro average precision of the classifier's scores on the test set (the seed's mAP).
model:eval()
local scores, ap = model:forward(xct), 0
for c = 1, 10 do
  local _, order = scores:select(2, c):sort(1, true)
  local hit = yte:index_select(1, order):eq(c):float()
  local prec = hit:cumsum(1) / lt.arange(1, hit:size(1) + 1):float()
  ap = ap + (prec * hit):sum() / math.max(hit:sum(), 1) / 10
end
local acc = scores:argmax(2):eq(yte):float():mean()
print(("constellation: test accuracy %.4f, mAP %.4f"):format(acc, ap))

local ckpt = opt.out .. "/constellation.pt"
assert(lt.io.save(ckpt, {
  state_dict = model:state_dict(), mAP = ap, accuracy = acc,
  config = { d_anchor = opt.d_anchor, n_anchors = opt.n_anchors, experts = EXPERTS, classes = lt.data.FASHION_MNIST_CLASSES },
}))
local files = { ckpt }
for i, name in ipairs(EXPERTS) do
  local path = ("%s/%s.%s"):format(opt.out, name, opt.format)
  local t = { features = fte[i], labels = yte - 1, image_id = lt.arange(0, yte:size(1)) }
  assert(lt.io.save(path, opt.format == "npy" and fte[i] or t))
  files[#files + 1] = path
end
print(("wrote %s (%.0f s)"):format(table.concat(files, " "), lt.time() - t_start))
