-- sage_feature_space.lua - the SAGE feature-space notebook (seeds/000) in lunette: a Frequent
-- Directions sketch of per-sample gradients, SAGE (class-balanced gradient agreement) vs
-- GradMatch vs random at 5%, t-SNE/UMAP views of kept vs discarded points, class balance,
-- image montages, agreement scores and a summary figure, as PNGs at 300 dpi.
--
--   lunette examples/sage_feature_space.lua [--data cifar100 --root DIR] [--model resnext]
--                                           [--weights model.pt] [--out DIR] [--help]
local lt = require "lunette"
local nn, data, embed, plot, S = lt.nn, lt.data, lt.embed, lt.plot, lt.select
local opt = lt.args {
  "sage_feature_space.lua [options]: the SAGE feature-space analysis (Fashion-MNIST by default)",
  data = { "fashion_mnist", "fashion_mnist | cifar100 (binary version, needs --root)" },
  root = { "", "directory of the CIFAR-100 binary files" },
  model = { "small_cnn", "small_cnn | resnext (ResNeXt-29 32x4d)" },
  weights = { "", "a torch state dict (.pt) for the model; without it the model is trained first" },
  epochs = { 1, "epochs of training when no --weights are given" }, n = { 0, "first n training images (0: all)" },
  fraction = { 0.05, "share of the training set kept" }, ell = { 256, "rows of the Frequent Directions sketch" },
  viz = { 5000, "points in the t-SNE / UMAP views" }, agree = { 2000, "samples in the agreement analysis" },
  out = { "out/sage_feature_space", "folder for the figures" }, dpi = { 300, "resolution of the PNG figures" },
  seed = { 42, "seed of the random subsets and the embeddings" },
}
lt.seed(opt.seed)
assert(lt.io.makedirs(opt.out))

-- Load data and model ------------------------------------------------------------------------
if opt.data ~= "cifar100" and opt.data ~= "fashion_mnist" then error("--data must be fashion_mnist or cifar100", 0) end
if opt.model ~= "small_cnn" and opt.model ~= "resnext" then error("--model must be small_cnn or resnext", 0) end
local cifar = opt.data == "cifar100"
if cifar and opt.root == "" then error("--data cifar100 needs --root DIR (the CIFAR-100 binary version)", 0) end
local MEAN, STD = cifar and { 0.5071, 0.4867, 0.4408 } or { 0.2860 }, cifar and { 0.2675, 0.2565, 0.2761 } or { 0.3530 }
local train = cifar and data.cifar100 { root = opt.root } or data.fashion_mnist { split = "train" }
if opt.n > 0 and opt.n < train:size() then train = train:subset(lt.arange(1, opt.n + 1)) end
train = train:normalize { mean = MEAN, std = STD }
local N, C, labels = train:size(), train.num_classes, train:labels()
print(("Loaded %d training samples of %s (%d classes)"):format(N, opt.data, C))
local model = opt.model == "resnext" and nn.resnext29 { classes = C, in_channels = #MEAN, seed = 0 }
  or nn.small_cnn { in_channels = #MEAN, size = cifar and 32 or 28, classes = C, seed = 0 }
local trained = opt.weights == ""
print(trained and ("Model: %s, trained for %d epoch(s) so that its gradients are meaningful"):format(opt.model, opt.epochs)
  or ("Model: %s with the weights of %s"):format(opt.model, opt.weights))
if trained then nn.fit(model, train, { epochs = opt.epochs, optimizer = nn.SGD(model, { lr = 0.05, momentum = 0.9 }), seed = 0 })
else model:load_state_dict(assert(lt.io.load(opt.weights))) end
model:eval()

-- Build the sketch and select subsets ---------------------------------------------------------
local sage, _, info = S.sage { model = model, dataset = train, ell = opt.ell, fraction = opt.fraction, return_grads = true }
print(("Built projection matrix: [%dx%d] (sketch %.1f s, projection %.1f s)"):format(
  info.sketch:size(1), info.sketch:size(2), info.seconds.sketch, info.seconds.project))
local picks = { SAGE = sage, GradMatch = S.gradmatch { grads = info.grads, labels = labels, budget = opt.fraction },
                Random = lt.choice(N, sage:numel()) }
local methods, colors = { "SAGE", "GradMatch", "Random" }, { "red", "blue", "green" }
for _, m in ipairs(methods) do print(("  %-10s %d samples"):format(m, picks[m]:numel())) end

-- Features of a 5,000-point sample, PCA-50, t-SNE and UMAP ------------------------------------
local viz = lt.choice(N, math.min(opt.viz, N))
local feats = nn.extract_features(model, train, { indices = viz })
local Z, pca = embed.pca(feats, math.min(50, feats:size(2), viz:numel()))
print(("Features %s; PCA explained variance ratio: %.3f"):format(table.concat(feats.shape, "x"),
  pca.explained_variance_ratio:sum()))
local views = { ["t-SNE"] = embed.tsne(Z, { perplexity = math.min(30, (viz:numel() - 1) / 3), seed = opt.seed }),
                UMAP = embed.umap(Z, { n_neighbors = math.min(15, viz:numel() - 1), min_dist = 0.1, seed = opt.seed }) }
local sel = {}
for _, m in ipairs(methods) do
  sel[m] = viz:isin(picks[m])
  print(("  %s selected: %d / %d"):format(m, sel[m]:sum(), viz:numel()))
end

plot.style("seaborn", { ["font.size"] = 12 })
plot.set_palette("husl")
local function save(fig, name) assert(fig:save(opt.out .. "/" .. name, { dpi = opt.dpi, bbox = "tight" })) end
-- Kept points in colour over the discarded ones in light gray.
local function kept_scatter(ax, Y, mask, color, label)
  local rest = Y[mask:logical_not()]
  ax:scatter(rest:select(2, 1), rest:select(2, 2), { c = "lightgray", alpha = 0.3, s = 1, label = "Discarded" })
  ax:scatter(Y[mask]:select(2, 1), Y[mask]:select(2, 2), { c = color, alpha = 0.8, s = 10, label = label })
end

-- Visualization 1: feature space with selection methods
local fig, axes = plot.subplots(2, 3, { size = { 18, 12 } })
for row, view in ipairs { "t-SNE", "UMAP" } do
  for i, m in ipairs(methods) do
    kept_scatter(axes[row][i], views[view], sel[m], colors[i], "Selected")
    axes[row][i]:set { title = { ("%s Selection (%s)"):format(m, view), fontsize = 14 }, xlabel = view .. " 1",
             ylabel = view .. " 2", legend = true, grid = { alpha = 0.3 } }
  end
end
save(fig, "feature_space_visualization.png")

-- Visualization 2: class distribution analysis
local stats = { Original = S.class_stats(lt.arange(1, N + 1), labels, C) }
fig, axes = plot.subplots(2, 2, { size = { 15, 10 } })
axes[1][1]:bar(lt.arange(C), stats.Original.counts, { alpha = 0.7 })
axes[1][1]:set { title = "Original Dataset Class Distribution", xlabel = "Class ID", ylabel = "Sample Count", xlim = { 0, C } }
for i, m in ipairs(methods) do
  local st, ax = S.class_stats(picks[m], labels, C), axes[i // 2 + 1][i % 2 + 1]
  stats[m] = st
  ax:bar(lt.arange(C), st.counts, { alpha = 0.7, color = colors[i] })
  ax:set { title = m .. " Selected Subset Distribution", xlabel = "Class ID", ylabel = "Sample Count", xlim = { 0, C } }
  ax:text(0.02, 0.98, ("CV: %.3f\nStd: %.1f"):format(st.cv, st.std), { transform = "axes", va = "top",
    bbox = { boxstyle = "round", facecolor = "white", alpha = 0.8 } })
end
save(fig, "class_distribution_analysis.png")
print("\nClass Distribution Statistics:\n" .. ("="):rep(50))
for _, m in ipairs { "Original", "SAGE", "GradMatch", "Random" } do
  print(("%-10s: Mean=%6.1f, Std=%6.1f, CV=%.3f"):format(m, stats[m].mean, stats[m].std, stats[m].cv))
end

-- Visualization 3: sample montages of 24 images per method
for _, m in ipairs(methods) do
  local x, y = train:batch(picks[m]:index_select(1, lt.choice(picks[m]:numel(), math.min(24, picks[m]:numel()))))
  save(plot.montage(x, { ncols = 6, titles = "Class %d", labels = y - 1, mean = MEAN, std = STD, size = { 12, 8 },
    suptitle = ("%s Selected Samples (%g%% of dataset)"):format(m, opt.fraction * 100) }),
    m:lower() .. "_sample_montage.png")
end

-- Visualization 4: agreement scores of a 2,000-sample analysis set (global centroid, as the seed)
local rows = lt.choice(N, math.min(opt.agree, N))
local scores = S.agreement_scores(info.grads:index_select(1, rows)):double()
local mask, alab = rows:isin(sage), labels:index_select(1, rows)
local chosen, others = scores[mask], scores[mask:logical_not()]
print(("\nComputed agreement scores for %d samples; SAGE selected %d of them"):format(rows:numel(), chosen:numel()))
fig, axes = plot.subplots(2, 2, { size = { 15, 10 } })
local ax = axes[1][1]
ax:hist(scores, { bins = 50, alpha = 0.7, density = true, label = "All samples" })
ax:hist(chosen, { bins = 50, alpha = 0.7, density = true, label = "SAGE selected" })
ax:set { title = "Agreement Score Distribution", xlabel = "Agreement Score", ylabel = "Density" }:legend():grid(true, { alpha = 0.3 })
ax = axes[1][2]
ax:boxplot({ others, chosen }, { labels = { "Unselected", "SAGE Selected" } })
ax:set { title = "Agreement Scores by Selection Status", ylabel = "Agreement Score" }:grid(true, { alpha = 0.3 })
ax = axes[2][1]
ax:scatter(alab[mask:logical_not()] - 1, others, { alpha = 0.3, s = 1, c = "gray", label = "Unselected" })
ax:scatter(alab[mask] - 1, chosen, { alpha = 0.8, s = 20, c = "red", label = "SAGE Selected" })
ax:set { title = "Agreement Score vs Class Label", xlabel = "Class Label", ylabel = "Agreement Score" }:legend():grid(true, { alpha = 0.3 })
ax = axes[2][2]
local K = math.min(20, C)
local avg = embed.class_centroids(scores:view(-1, 1), alab, C):narrow(1, 1, K):view(-1)
local savg = embed.class_centroids(chosen:view(-1, 1), alab[mask], C):narrow(1, 1, K):view(-1)
ax:bar(lt.arange(K):double() - 0.35 / 2, avg, { width = 0.35, label = "Class Average", alpha = 0.7 })
ax:bar(lt.arange(K):double() + 0.35 / 2, savg, { width = 0.35, label = "SAGE Selected", alpha = 0.7 })
ax:set { title = ("Agreement Scores by Class (First %d classes)"):format(K), xlabel = "Class ID",
         ylabel = "Average Agreement Score", legend = true, grid = { alpha = 0.3 } }:xticks(lt.arange(K), lt.arange(K))
save(fig, "agreement_score_analysis.png")
local bias = chosen:mean() - others:mean()
print("\nAgreement Score Statistics:\n" .. ("="):rep(40))
for _, r in ipairs { { "All samples:", scores }, { "SAGE selected:", chosen }, { "Unselected:", others } } do
  print(("%-16s Mean=%.4f, Std=%.4f"):format(r[1], r[2]:mean(), r[2]:std()))
end
print(("Selection bias:  %.4f"):format(bias))

-- Summary figure
fig = plot.figure { size = { 16, 10 }, layout = "none" }
local gs = fig:gridspec(3, 4, { hspace = 0.3, wspace = 0.3 })
ax = fig:subplot(gs:cell(1, { 1, 2 }))
kept_scatter(ax, views["t-SNE"], sel.SAGE, "red", "SAGE Selected")
ax:set { title = { "SAGE Selection in Feature Space (t-SNE)", fontsize = 14 }, legend = true }
ax = fig:subplot(gs:cell(1, { 3, 4 }))
local cv = { stats.SAGE.cv, stats.GradMatch.cv, stats.Random.cv }
ax:bar_label(ax:bar(methods, cv, { color = colors, alpha = 0.7 }), { fmt = "%.3f" })
ax:set { title = { "Class Balance (Lower is Better)", fontsize = 14 }, ylabel = "Coefficient of Variation" }
ax = fig:subplot(gs:cell(2, { 1, 2 }))
ax:hist(scores, { bins = 30, alpha = 0.5, density = true, label = "All samples" })
ax:hist(chosen, { bins = 30, alpha = 0.7, density = true, label = "SAGE selected" })
ax:set { title = { "Agreement Score Distribution", fontsize = 14 }, xlabel = "Agreement Score", ylabel = "Density",
         legend = true }
ax = fig:subplot(gs:cell(2, { 3, 4 }))
local eight = train:batch(sage:index_select(1, lt.choice(sage:numel(), math.min(8, sage:numel()))))
ax:imshow(plot.image_grid(eight, { ncols = 4, mean = MEAN, std = STD }), { cmap = "gray" })
ax:set { title = { "SAGE Selected Samples", fontsize = 14 }, axis = "off" }
ax = fig:subplot(gs:cell(3, ":"))
ax:axis("off")
ax:text(0.05, 0.95, ([[

SAGE SELECTION INSIGHTS:

• CLASS BALANCE: SAGE achieves CV=%.3f vs GradMatch=%.3f vs Random=%.3f
  (Lower coefficient of variation = better class balance)

• AGREEMENT BIAS: SAGE selects samples with %.3f higher agreement scores
  (Selects samples that agree more with gradient centroid)

• FEATURE SPACE: SAGE selection is distributed across feature space but avoids outliers
  (Maintains diversity while selecting informative samples)

• SUBSET SIZE: %d samples (%.1f%% of %d total)
  (%d samples per class on average)
]]):format(cv[1], cv[2], cv[3], bias, sage:numel(), opt.fraction * 100, N, sage:numel() // C),
  { transform = "axes", fontsize = 12, va = "top", bbox = { boxstyle = "round,pad=0.5", facecolor = "lightblue", alpha = 0.8 } })
fig:suptitle("SAGE Subset Selection Analysis Summary", { fontsize = 18, y = 0.98 })
save(fig, "sage_analysis_summary.png")

print("\n" .. ("="):rep(80) .. "\nSAGE FEATURE SPACE ANALYSIS COMPLETE\n" .. ("="):rep(80))
print("\nKey findings:")
print(("1. SAGE maintains better class balance (CV=%.3f) than baselines"):format(cv[1]))
print(("2. SAGE selects high-agreement samples (bias: %+.3f)"):format(bias))
print("3. Selection is distributed across feature space, avoiding outliers")
print(("4. %d samples selected (%.1f%% of dataset)"):format(sage:numel(), opt.fraction * 100))
print("\nVisualizations saved to " .. opt.out .. "/")
