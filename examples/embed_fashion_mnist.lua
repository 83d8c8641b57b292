-- embed_fashion_mnist.lua: t-SNE and UMAP maps of Fashion-MNIST, as the SAGE notebook draws them
-- (PCA to 50 dimensions, then t-SNE with perplexity 30 and UMAP with 15 neighbours).
--
--   build/lunette examples/embed_fashion_mnist.lua [N=5000] [out=embed_fashion_mnist.png]
--
-- Prints timings and trustworthiness, writes the figure and the coordinates
-- (embed_fashion_mnist.csv: x_tsne, y_tsne, x_umap, y_umap, label).
local lt = require "lunette"
local embed, plot = lt.embed, lt.plot

local N = tonumber(arg and arg[1]) or 5000
local out = arg and arg[2] or "embed_fashion_mnist.png"

local train = lt.data.fashion_mnist { split = "train" }
local x, y = train:subset(lt.arange(1, N + 1)):tensors()
local X = x:reshape(N, 784)

local t0 = lt.time()
local Z, pca = embed.pca(X, 50)
print(("PCA-50: %.2fs, explained variance %.3f"):format(lt.time() - t0, pca.explained_variance_ratio:sum()))

t0 = lt.time()
local T, kl = embed.tsne(Z, { perplexity = 30, seed = 42 })
print(("t-SNE: %.2fs, KL %.3f, trustworthiness@10 %.4f"):format(lt.time() - t0, kl, embed.trustworthiness(Z, T, 10)))

t0 = lt.time()
local U = embed.umap(Z, { n_neighbors = 15, min_dist = 0.1, seed = 42 })
print(("UMAP: %.2fs, trustworthiness@10 %.4f"):format(lt.time() - t0, embed.trustworthiness(Z, U, 10)))

local fig, axes = plot.subplots(1, 2, { size = { 14, 6.5 } })
local classes = train.classes or {}
local colors = plot.palette("tab10")
for k, view in ipairs { { T, "t-SNE" }, { U, "UMAP" } } do
  local ax, Y = axes[k], view[1]
  for c = 1, 10 do
    local rows = y:eq(c):nonzero():select(2, 1)
    ax:scatter(Y:index_select(1, rows):select(2, 1), Y:index_select(1, rows):select(2, 2),
      { s = 2, alpha = 0.6, c = colors[c], label = classes[c] or tostring(c) })
  end
  ax:set_title(("%s of Fashion-MNIST (PCA-50, N = %d)"):format(view[2], N))
  ax:set_xlabel(view[2] .. " 1")
  ax:set_ylabel(view[2] .. " 2")
end
axes[2]:legend { loc = "upper right", fontsize = 7 }
local ok, err = fig:save(out, { dpi = 120 })
if not ok then error(err) end
print("wrote " .. out)

local csv = assert(io.open((out:gsub("%.%w+$", "")) .. ".csv", "w"))
csv:write("x_tsne,y_tsne,x_umap,y_umap,label\n")
local tt, uu, yy = T:totable(), U:totable(), y:totable()
for i = 1, N do csv:write(("%.6g,%.6g,%.6g,%.6g,%d\n"):format(tt[i][1], tt[i][2], uu[i][1], uu[i][2], yy[i])) end
csv:close()
