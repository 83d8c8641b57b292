-- embed_million.lua: t-SNE and UMAP of a million points on a laptop's cores, with time and peak
-- memory. Two datasets, both seeded:
--   features: the small CNN's 128-d penultimate features of Fashion-MNIST's 70,000 images (train
--     and test) under `augs` random augmentations each (crop by up to 2 pixels, flip), reduced to
--     50 dimensions by PCA: 1,050,000 points with real class structure at the defaults;
--   mixture: as many points from a mixture of 10 Gaussians in 50-D with known clusters.
-- The CNN is trained first for `epochs` epochs on the 60,000 training images.
--
--   build/lunette examples/embed_million.lua [--n N] [--augs 15] [--epochs 1] [--only NAME]
--                                            [--out embed_million.png]
--
-- --n caps the points per dataset (the first ceil(N / augs) images, each under every
-- augmentation); --only features|mixture embeds one dataset. Prints each stage's time and the
-- process's peak resident memory so far, and draws both maps of both datasets into --out.
local lt = require "lunette"
local embed, nn, plot = lt.embed, lt.nn, lt.plot
local data = require "lunette.nn_data"

local opts = { n = 1050000, augs = 15, epochs = 1, out = "embed_million.png" }
local i = 1
while arg and arg[i] do
  local key = arg[i]:match("^%-%-([%w_]+)$")
  if not key or opts[key] == nil and key ~= "only" then error("unknown argument " .. arg[i]) end
  local v = arg[i + 1]
  opts[key] = tonumber(v) or v
  i = i + 2
end

-- The process's peak resident set so far (VmHWM), in MiB.
local function peak_mib()
  local f = io.open("/proc/self/status")
  if not f then return 0 / 0 end
  local kb = f:read("a"):match("VmHWM:%s*(%d+)")
  f:close()
  return tonumber(kb) / 1024
end

local function report(what, t0)
  print(("%-40s %8.1f s   peak RSS %6.0f MiB"):format(what, lt.time() - t0, peak_mib()))
  io.stdout:flush()
end

-- Pixels to the network's input: [0, 1], then normalised as train_fashion_mnist.lua does.
local MEAN, STD = 0.2860, 0.3530
local function normalise(x) return x:float():mul_(1 / 255):add_(-MEAN):mul_(1 / STD) end

-- features(n, augs, epochs) -> Z [n x 50] float32, labels [n] (1..10)
local function cnn_features(n, augs, epochs)
  local train = data.fashion_mnist { split = "train" }
  local test = data.fashion_mnist { split = "test" }
  local t0 = lt.time()
  local model = nn.small_cnn { seed = 1 }
  local opt = nn.Adam(model, { lr = 1e-3 })
  nn.fit(model, train, { epochs = epochs, batch_size = 128, optimizer = opt, seed = 1,
    transform = function(x) return x:add_(-MEAN):mul_(1 / STD) end, verbose = true })
  report(("small CNN, %d epoch(s) on 60,000 images"):format(epochs), t0)
  local images = lt.cat({ train.x, test.x }, 1)
  local labels = lt.cat({ train.y, test.y }, 1)
  local m = math.min(images:size(1), (n + augs - 1) // augs)
  n = math.min(n, m * augs)
  t0 = lt.time()
  model:eval()
  local F = lt.zeros({ n, 128 }, "float32")
  local y = lt.zeros({ n }, "int64")
  local gen, B, row = lt.random.Generator(7), 1000, 0
  nn.no_grad(function()
    for a = 1, augs do
      for s = 1, m, B do
        local b = math.min(B, m - s + 1, n - row)
        if b <= 0 then break end
        local xb = nn.augment(normalise(images:narrow(1, s, b)), { crop = 2, flip = true }, gen)
        F:narrow(1, row + 1, b):copy_(model:features(xb))
        y:narrow(1, row + 1, b):copy_(labels:narrow(1, s, b))
        row = row + b
      end
    end
  end)
  report(("features of %d images x %d augmentations"):format(m, augs), t0)
  t0 = lt.time()
  local Z = embed.pca(F, 50)
  F = nil
  collectgarbage()
  report(("PCA %d x 128 -> 50"):format(n), t0)
  return Z:float(), y
end

-- mixture(n) -> X [n x 50] float32, labels: 10 Gaussians, unit spread, centres N(0, 1.5^2 I).
local function mixture(n)
  local g = lt.random.Generator(11)
  local centres = g:randn(10, 50) * 1.5
  local y = g:randint(1, 11, n)
  local X = (g:randn(n, 50) + centres:index_select(1, y)):float()
  return X, y
end

local function embed_both(name, Z, y)
  local t0 = lt.time()
  local T, kl, info = embed.tsne(Z, { seed = 42 })
  report(("t-SNE of %s (%s), KL %.4f"):format(name, info.method, kl), t0)
  t0 = lt.time()
  local U = embed.umap(Z, { n_neighbors = 15, min_dist = 0.1, seed = 42 })
  report(("UMAP of %s"):format(name), t0)
  return { name = name, n = Z:size(1), y = y, maps = { { T, "t-SNE" }, { U, "UMAP" } } }
end

local cases = {}
if opts.only ~= "mixture" then
  local Z, y = cnn_features(opts.n, opts.augs, opts.epochs)
  cases[#cases + 1] = embed_both("CNN features", Z, y)
end
if opts.only ~= "features" then
  local t0 = lt.time()
  local X, y = mixture(opts.n)
  report(("Gaussian mixture %d x 50"):format(opts.n), t0)
  cases[#cases + 1] = embed_both("Gaussian mixture", X, y)
end

-- Plain scatter, small markers, one colour per class.
local t0 = lt.time()
local fig, axes = plot.subplots(#cases, 2, { size = { 12, 5.5 * #cases } })
local colors = plot.palette("tab10")
for r, case in ipairs(cases) do
  for c, view in ipairs(case.maps) do
    local ax = #cases == 1 and axes[c] or axes[r][c]
    local Y = view[1]
    for k = 1, 10 do
      local rows = case.y:eq(k):nonzero()
      if rows:numel() > 0 then
        rows = rows:select(2, 1)
        ax:scatter(Y:index_select(1, rows):select(2, 1), Y:index_select(1, rows):select(2, 2),
          { s = 0.3, alpha = 0.5, c = colors[k] })
      end
    end
    ax:set_title(("%s of %s, N = %d"):format(view[2], case.name, case.n))
  end
end
local ok, err = fig:save(opts.out, { dpi = 150 })
if not ok then error(err) end
report("figure " .. opts.out, t0)

-- The same maps coloured by point density (drawn densest last), which is what still reads
-- at a million points, where class colours overplot one another.
t0 = lt.time()
fig, axes = plot.subplots(#cases, 2, { size = { 13, 5.5 * #cases } })
for r, case in ipairs(cases) do
  for c, view in ipairs(case.maps) do
    local ax = #cases == 1 and axes[c] or axes[r][c]
    local Y = view[1]
    local art = ax:scatter(Y:select(2, 1), Y:select(2, 2), { s = 0.3, density = true })
    fig:colorbar(art, { ax = ax })
    ax:set_title(("%s of %s, N = %d (density)"):format(view[2], case.name, case.n))
  end
end
local dens_out = opts.out:gsub("%.png$", "") .. "_density.png"
ok, err = fig:save(dens_out, { dpi = 150 })
if not ok then error(err) end
report("figure " .. dens_out, t0)
