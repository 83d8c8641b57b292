-- hypersphere.lua [checkpoint.pt features...] [options]: the hypersphere analysis of a constellation
-- (seed 003). Each expert's features go through its Linear + LayerNorm projector onto the sphere,
-- are fused and PCA'd to S²; writes hypersphere_manifold.png (6 panels), expert_perspectives.png,
-- anchors_only.png and pairwise_diffs.png into --out and prints the statistics.
-- The checkpoint: {state_dict, config = {d_anchor, n_anchors[, classes, experts]}, mAP}, with
-- projectors.<i>.proj[_shared].{0,1}.* and constellation.anchors, plus either expert rotations,
-- whiteners and means, or native projectors (proj_native), or neither (the shared projections).
-- Feature files, one per expert: .npy (features), or .npz/.safetensors with features [N x D],
-- labels (0-based ids [N] or multi-hot [N x C]) and image_id (rows aligned on the first file's);
-- or Parquet as Hugging Face datasets ship them: a .parquet file or a folder of .parquet shards
-- per expert, with an embedding column (--column, default features) and an id column (--ids).
-- No arguments: out/hypersphere/constellation.pt and its experts' .npz files, which
-- examples/train_constellation.lua writes first when they are missing.
--   build/lunette examples/hypersphere.lua ckpt.pt clip.npz dino.npz siglip.npz --out figs
local lt = require "lunette"
local embed, plot, nn = lt.embed, lt.plot, lt.nn
local opt = lt.args {
  "hypersphere.lua [checkpoint.pt features...] [options]: hypersphere views of a constellation",
  out = { "out/hypersphere", "folder of the figures (and of the default checkpoint and features)" },
  labels = { "", "labels file (.npy/.npz/.safetensors) when the feature files carry none" },
  column = { "features", "the features entry or Parquet column of each feature file" },
  ids = { "image_id", "the id entry or column rows are aligned on" },
  classes = { "", "text file of class names, one a line (default: config.classes)" },
  sample = { 5000, "rows the PCA axes are fitted on" },
  dpi = { 200, "resolution of the figures" },
  seed = { 42, "seed of the random picks" },
  train = { "", "options for train_constellation.lua when it runs, e.g. '--train 2000'" },
}
local function fail(fmt, ...) error(fmt:format(...), 0) end
assert(lt.io.makedirs(opt.out))
local ckpt_path = opt[1] or opt.out .. "/constellation.pt"
if not opt[1] and not io.open(ckpt_path) then
  local script = (arg[0]:match("^(.*)/") or ".") .. "/train_constellation.lua" -- beside this one
  assert(os.execute(("%q %q --out %q %s"):format(arg[-1], script, opt.out, opt.train)))
end

print("Loading soup...")
local ckpt = assert(lt.io.load(ckpt_path))
local sd, cfg = ckpt.state_dict, ckpt.config
if type(sd) ~= "table" or type(cfg) ~= "table" or type(ckpt.mAP) ~= "number" then
  fail("%s: not a checkpoint with state_dict, config and mAP", ckpt_path)
end
local function need(k) return lt.is_tensor(sd[k]) and sd[k]:float() or fail("%s: no tensor '%s' in the state dict", ckpt_path, k) end
local D, NA, anchors = cfg.d_anchor, cfg.n_anchors, embed.normalize(need("constellation.anchors"))
if anchors:dim() ~= 2 or anchors:size(1) ~= NA or anchors:size(2) ~= D then
  fail("%s: anchors are [%s], config says [%sx%s]", ckpt_path, table.concat(anchors:size(), "x"), NA, D)
end

print("Loading features...")
local paths = table.move(opt, 2, #opt, 1, {})
for i, e in ipairs(#paths == 0 and cfg.experts or {}) do paths[i] = ckpt_path:gsub("[^/]*$", "") .. e .. ".npz" end
if #paths < 2 then fail("give two or more expert feature files after the checkpoint") end
-- A folder stands for its Parquet shards (a Hugging Face dataset's data/ folder), read as one.
for i, p in ipairs(paths) do
  local ls = io.popen(("ls -1 %q/*.parquet 2>/dev/null"):format(p:gsub("/$", "")))
  local shards = {}
  for f in ls:lines() do shards[#shards + 1] = f end
  ls:close()
  if #shards > 0 then paths[i] = shards end
end
local feats, info = lt.data.features(paths, { labels = opt.labels ~= "" and opt.labels or nil,
                                              x = opt.column, ids = opt.ids })
local L, names = info.labels or fail("no labels for the %d rows (--labels FILE)", info.n), info.names
local N, C, E, classes = L:size(1), L:size(2), #feats, {}
if opt.classes ~= "" then for l in io.lines(opt.classes) do classes[#classes + 1] = l end end
for c = 1, C do classes[c] = classes[c] or (cfg.classes or {})[c] or ("class " .. c - 1) end

local function projector(prefix) -- the seed's project_expert: Linear, LayerNorm, L2-normalise
  local W = need(prefix .. ".0.weight")
  local m = nn.Sequential { nn.Linear(W:size(2), W:size(1)), nn.LayerNorm(W:size(1)), nn.Normalize() }
  m:load_state_dict(sd, { prefix = prefix .. "." })
  return m
end
print("Generating embeddings...")
local projected, views, tris, rot = {}, {}, {}, sd["constellation.expert_rotations.0"]
for i = 1, E do
  local p = ("projectors.%d.proj"):format(i - 1)
  projected[i] = projector(sd[p .. "_shared.0.weight"] and p .. "_shared" or p):forward(feats[i])
end
local fused = embed.normalize(lt.stack(projected):mean(1))
for i = 1, E do -- each expert's own view: rotated fused embedding, native projection or its shared one
  local k = i - 1
  if rot then
    local c = (fused - need("constellation.expert_means." .. k)):matmul(need("constellation.expert_whiteners." .. k))
    views[i] = embed.normalize(c:matmul(need("constellation.expert_rotations." .. k):t()))
  elseif sd[("projectors.%d.proj_native.0.weight"):format(k)] then
    views[i] = projector(("projectors.%d.proj_native"):format(k)):forward(feats[i])
  else views[i] = projected[i] end
  tris[i] = 1 - views[i]:matmul(anchors:t())
end

local emb_s, pca, radii = embed.to_sphere(fused, { sample = opt.sample })
local anc_s, ve = pca:apply(anchors), pca.explained_variance_ratio * 100
print(("PCA 3D variance: %.1f%% (%.1f%%, %.1f%%, %.1f%%)"):format(ve:sum(), ve[1], ve[2], ve[3]))
local freq = L:sum(1)
local primary = (L * (freq:max() + 1 - freq)):argmax(2) -- the rarest class present ("most specific")
local class_colors = plot.cmap("tab20")((primary - 1) % 20 + 1)
local cls = { c = class_colors, s = 2, alpha = 0.4 } -- the class-coloured clouds
local function pca_view(X, center) -- PCA-3 on the sphere, its share of the variance (%), effective dimension
  local S, p = embed.to_sphere(X, { center = center, sample = opt.sample })
  return S, p.explained_variance_ratio:sum() * 100, embed.effective_dim(X, { sample = opt.sample })
end
local function minmax(t) return (t - t:min()) / (t:max() - t:min() + 1e-8) end
plot.style("dark")
local function sphere_ax(fig, r, c, i, title) return fig:subplot(r, c, i, { projection = "3d" }):sphere_frame { title = title } end
local function save(fig, name)
  assert(fig:save(opt.out .. "/" .. name, { dpi = opt.dpi, bbox = "tight", pad = 0.3, facecolor = "black" }))
  print("Saved: " .. opt.out .. "/" .. name)
end

print("Rendering figure 1...")
local fig, g = plot.figure { size = { 24, 16 } }, lt.random.Generator(opt.seed)
fig:suptitle(("GeoLIP Hypersphere Manifold — S%s projected to S²\n%d anchors × %d-d × %d experts | mAP=%.3f | eff_dim=%.1f")
  :format(plot.superscript(D - 1), NA, D, E, ckpt.mAP, embed.effective_dim(fused, { sample = opt.sample })), { fontsize = 16, y = 0.98 })
local ax = sphere_ax(fig, 2, 3, 1, ("Full Manifold — %d embeddings + %d anchors"):format(N, NA))
ax:scatter(emb_s, { c = class_colors, s = 1, alpha = 0.3 })
ax:scatter(anc_s, { c = "red", s = 8, alpha = 0.6, marker = "^" })
ax = sphere_ax(fig, 2, 3, 2, ("%d Class Centroids"):format(C))
local cen = pca:apply(embed.class_centroids(fused, L, C))
ax:scatter(cen, { c = plot.cmap("hsv")(lt.linspace(0, 0.95, C)), s = freq / freq:max() * 200 + 20, alpha = 0.8,
                  edgecolors = "white", linewidths = 0.3 })
for _, c in ipairs(select(2, freq:topk(math.min(9, C))):totable()) do -- the seed labels 9 chosen classes
  if freq[c] > 30 then ax:text(cen[c][1] * 1.15, cen[c][2] * 1.15, cen[c][3] * 1.15, classes[c], { fontsize = 7, ha = "center" }) end
end
ax = sphere_ax(fig, 2, 3, 3, "50 Random — nearest anchor connections")
local i50 = g:choice(N, math.min(50, N))
ax:scatter(anc_s, { c = "red", s = 4, alpha = 0.2, marker = "^" })
ax:scatter(emb_s:index_select(1, i50), { c = class_colors:index_select(1, i50), s = 40, alpha = 0.9, edgecolors = "white",
                                         linewidths = 0.5 })
ax:segments(emb_s:index_select(1, i50), anc_s:index_select(1, (embed.nearest_anchor(fused:index_select(1, i50), anchors))),
            { color = "yellow", alpha = 0.3, linewidth = 0.5 })
ax = sphere_ax(fig, 2, 3, 4, "10 Random — anchor affinity heatmap")
local i10 = g:choice(N, math.min(10, N))
ax:scatter(anc_s, { c = fused:index_select(1, i10):matmul(anchors:t()):mean(1), cmap = "hot", s = 10, alpha = 0.6 })
ax:scatter(emb_s:index_select(1, i10), { c = "cyan", s = 80, alpha = 1, edgecolors = "white", linewidths = 1 })
local one = math.min(43, N) -- the seed's single_idx = 42, counted from 0
ax = sphere_ax(fig, 2, 3, 5, ('Single Encoding: "%s" — top 5 anchors'):format(classes[primary[one]]))
local cs = fused:narrow(1, one, 1):matmul(anchors:t())[1]
local h, pt = minmax(cs), emb_s:narrow(1, one, 1)
ax:scatter(anc_s, { c = plot.cmap("plasma")(h), s = h ^ 3 * 50 + 2, alpha = 0.7 })
ax:scatter(pt, { c = "lime", s = 150, alpha = 1, edgecolors = "white", linewidths = 2, marker = "*" })
local top5 = select(2, cs:topk(math.min(5, NA)))
ax:segments(pt:expand(top5:size(1), 3), anc_s:index_select(1, top5), { color = "lime", alpha = 0.6, linewidth = 1.5 })
ax = sphere_ax(fig, 2, 3, 6, ("PCA Projection Radii — mean=%.4f std=%.4f"):format(radii:mean(), math.sqrt(radii:var(nil, nil, false))))
ax:scatter(emb_s * radii:unsqueeze(2) / radii:max(), { c = radii, cmap = "coolwarm", s = 2, alpha = 0.4 })
fig:tight_layout { rect = { 0, 0, 1, 0.95 } }
save(fig, "hypersphere_manifold.png")

print("Rendering figure 2...")
fig = plot.figure { size = { 7 * E, 7 } }
fig:suptitle(("Expert Perspective Divergence — Same sphere, %s lenses"):format(E == 3 and "three" or E), { fontsize = 14, y = 1.02 })
for i = 1, E do
  local S, var = pca_view(views[i], false)
  sphere_ax(fig, 1, E, i, ("%s\nPC variance: %.1f%%"):format(names[i]:sub(1, 25), var)):scatter(S, cls)
end
fig:tight_layout()
save(fig, "expert_perspectives.png")

print("Rendering figure 3 — anchors only...")
local counts, active, dead = embed.anchor_usage(fused, anchors)
local heat, live = counts:float():log1p(), dead:logical_not()
local iso, div = embed.anchor_isolation(anchors), embed.anchor_divergence(views, anchors)
heat = heat / (heat:max() + 1e-8)
fig = plot.figure { size = { 24, 8 } }
fig:suptitle(("Constellation — %d anchors × %d-d on S%s"):format(NA, D, plot.superscript(D - 1)), { fontsize = 14, y = 1.02 })
local a1 = sphere_ax(fig, 1, 3, 1, ("Anchor Utilization — %d/%d active"):format(active, NA))
a1:scatter(anc_s[dead], { c = "dodgerblue", s = 8, alpha = 0.4, marker = "x", label = ("dead (%d)"):format(NA - active) })
a1:scatter(anc_s[live], { c = plot.cmap("inferno")(heat[live]), s = heat[live] * 60 + 5, alpha = 0.8 })
local a2 = sphere_ax(fig, 1, 3, 2, ("Anchor Isolation — nearest neighbor cosine\nmean=%.3f max=%.3f"):format(iso:mean(), iso:max()))
a2:scatter(anc_s, { c = iso, cmap = "viridis", s = 15, alpha = 0.8 })
sphere_ax(fig, 1, 3, 3, ("Expert Divergence per Anchor\nmean=%.4f range=[%.4f, %.4f]"):format(div:mean(), div:min(), div:max()))
  :scatter(anc_s, { c = div, cmap = "coolwarm", s = 15, alpha = 0.8 })
local closest = embed.closest_anchor_pairs(anchors, 40) -- the seed's loop draws pairs 1-20 on a1, 21-40 on a2
a1:segments(anc_s, table.move(closest, 1, 20, 1, {}), { color = "white", alpha = 0.15, linewidth = 0.5 })
a2:segments(anc_s, table.move(closest, 21, 40, 1, {}), { color = "white", alpha = 0.15, linewidth = 0.5 })
fig:tight_layout()
save(fig, "anchors_only.png")

print("Rendering figure 4 — pairwise expert diffs...")
local diffs, dnames, mags, pa = {}, {}, {}, lt.zeros(NA)
for i = 1, E - 1 do for j = i + 1, E do diffs[#diffs + 1], dnames[#dnames + 1] = tris[i] - tris[j], names[i] .. " − " .. names[j] end end
print("\n  Pairwise diff statistics:")
for k, d in ipairs(diffs) do
  print(("    %-20s: mean=%.6f std=%.6f min=%.6f max=%.6f"):format(dnames[k], d:mean(), d:std(), d:min(), d:max()))
  mags[k], pa = d:norm(2, 2), pa + d:abs():mean(1) / #diffs
end
local abs_std = tris[1]:std()
print(("    Absolute tri std: %.6f\n    Ratio (diff/abs): %s"):format(abs_std,
  abs_std > 1e-10 and ("%.4f"):format(diffs[1]:std() / abs_std) or "N/A (zero abs std)"))
local dstack = lt.cat(diffs, 2)
local diff3, dvar, deff = pca_view(dstack, true)
local abs3, avar, aeff = pca_view(tris[1], true)
local full3, fvar, feff = pca_view(lt.cat({ tris[1], dstack }, 2), true)
print(("\n  Diff space effective dim: %.1f\n  Diff PCA 3D variance: %.1f%%\n  Absolute tri effective dim: %.1f\n"
  .. "  Full (abs+diffs) effective dim: %.1f\n  Information gain from diffs: %.1f dimensions"):format(deff, dvar, aeff, feff, feff - aeff))
fig = plot.figure { size = { 28, 14 } }
fig:suptitle(("Expert Pairwise Differences — Where the discriminative signal lives\nDiff eff_dim=%.1f | Abs eff_dim=%.1f | "
  .. "Combined eff_dim=%.1f | Info gain: +%.1f dims"):format(deff, aeff, feff, feff - aeff), { fontsize = 14, y = 0.98 })
for k = 1, math.min(3, #diffs) do
  sphere_ax(fig, 2, 4, k, ("%s\nstd=%.5f"):format(dnames[k], diffs[k]:std()))
    :scatter(emb_s, { c = mags[k], cmap = "magma", s = 2, alpha = 0.5 })
end
sphere_ax(fig, 2, 4, 4, ("Diff Space PCA\neff_dim=%.1f var=%.1f%%"):format(deff, dvar)):scatter(diff3, cls)
sphere_ax(fig, 2, 4, 5, ("Anchor Divergence (all pairs)\nrange=[%.5f, %.5f]"):format(pa:min(), pa:max()))
  :scatter(anc_s, { c = pa, cmap = "hot", s = minmax(pa) * 40 + 5, alpha = 0.8 })
sphere_ax(fig, 2, 4, 6, ("Absolute Tri PCA\neff_dim=%.1f var=%.1f%%"):format(aeff, avar)):scatter(abs3, cls)
sphere_ax(fig, 2, 4, 7, ("Combined (abs+diffs) PCA\neff_dim=%.1f var=%.1f%%"):format(feff, fvar)):scatter(full3, cls)
ax = fig:subplot(2, 4, 8)
for k = 1, math.min(3, #diffs) do
  ax:hist(mags[k], { bins = 50, alpha = 0.6, color = ({ "#ff6b6b", "#4ecdc4", "#ffe66d" })[k], label = dnames[k], density = true })
end
ax:xlabel("Diff magnitude (L2)", { color = "white", fontsize = 9 })
ax:ylabel("Density", { color = "white", fontsize = 9 })
ax:title("Per-image diff magnitudes", { color = "white", fontsize = 11 })
ax:legend { fontsize = 8, facecolor = "black", edgecolor = "gray", labelcolor = "white" }
ax:tick_params { colors = "gray", labelsize = 7 }
ax:spines { top = false, right = false, bottom = { color = "gray" }, left = { color = "gray" } }
fig:tight_layout { rect = { 0, 0, 1, 0.95 } }
save(fig, "pairwise_diffs.png")
print("\nDone. Figures in " .. opt.out)
