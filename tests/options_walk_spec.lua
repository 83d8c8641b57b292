-- options_walk_spec.lua: every public function of every module (plot aside: see the last
-- describe) either rejects an unknown key in its options table, naming itself, at the
-- caller's line, or is listed below as taking no options table. A function that appears in a
-- module and is in neither list fails the walk, so a new function cannot skip the rule.
local lt = require "lunette"
local T = require "lunette.tensor"
local nn, lio, embed, S, sk = lt.nn, lt.io, lt.embed, lt.select, lt.sketch
local data, R, la = lt.data, lt.random, lt.linalg

local X = lt.Generator(1):randn(40, 3)
local Y = (lt.arange(40):remainder(3) + 1):long()
local E = lt.eye(3)
local tmp = os.tmpname()
local model = nn.mlp { 3, 4, 3, seed = 1 }
local ds = data.tensor_dataset(X, Y)
local set = { x = X, y = Y }

-- Per module, name -> {argument number, call(opts)}; the error must name the function
-- (the key) and that argument. Calls are otherwise valid, so only the typo can fail them.
local CHECKED = {
  tensor = {
    zeros = { 2, function(o) return T.zeros(2, o) end },
    ones = { 2, function(o) return T.ones(2, o) end },
    empty = { 2, function(o) return T.empty(2, o) end },
    full = { 3, function(o) return T.full({ 2 }, 1, o) end },
    zeros_like = { 2, function(o) return T.zeros_like(X, o) end },
    ones_like = { 2, function(o) return T.ones_like(X, o) end },
    empty_like = { 2, function(o) return T.empty_like(X, o) end },
    set_printoptions = { 1, function(o) return T.set_printoptions(o) end },
    meshgrid = { 3, function(o) return T.meshgrid(X[{ {}, 1 }], X[{ {}, 2 }], o) end },
  },
  random = {
    rand = { 2, function(o) return R.rand(3, o) end },
    randn = { 2, function(o) return R.randn(3, o) end },
    uniform = { 4, function(o) return R.uniform(0, 1, 3, o) end },
    normal = { 4, function(o) return R.normal(0, 1, 3, o) end },
    rand_like = { 2, function(o) return R.rand_like(X, o) end },
    randn_like = { 2, function(o) return R.randn_like(X, o) end },
    randint = { 4, function(o) return R.randint(0, 5, 3, o) end },
    randperm = { 2, function(o) return R.randperm(5, o) end },
    choice = { 3, function(o) return R.choice(5, 2, o) end },
    bernoulli = { 3, function(o) return R.bernoulli(0.5, 3, o) end },
    shuffle = { 2, function(o) return R.shuffle(X, o) end },
  },
  linalg = {
    svd = { 2, function(o) return la.svd(E, o) end },
    eigh = { 2, function(o) return la.eigh(E, o) end },
    matrix_rank = { 2, function(o) return la.matrix_rank(E, o) end },
    pinv = { 2, function(o) return la.pinv(E, o) end },
    cdist = { 3, function(o) return la.cdist(E, E, o) end },
    cosine_similarity = { 3, function(o) return la.cosine_similarity(E, E, o) end },
  },
  io = {
    load = { 2, function(o) return lio.load(tmp .. ".npy", o) end },
    save = { 3, function(o) return lio.save(tmp .. ".npy", X, o) end },
    read_bytes = { 3, function(o) return lio.read_bytes("npy", "", o) end },
    load_pt = { 2, function(o) return lio.load_pt(tmp .. ".pt", o) end },
    read_npy = { 2, function(o) return lio.read_npy(tmp .. ".npy", o) end },
    read_npz = { 2, function(o) return lio.read_npz(tmp .. ".npz", o) end },
    open_npz = { 2, function(o) return lio.open_npz(tmp .. ".npz", o) end },
    read_safetensors = { 2, function(o) return lio.read_safetensors(tmp .. ".st", o) end },
    open_safetensors = { 2, function(o) return lio.open_safetensors(tmp .. ".st", o) end },
    read_png = { 2, function(o) return lio.read_png(tmp .. ".png", o) end },
    read_idx = { 2, function(o) return lio.read_idx(tmp .. ".idx", o) end },
    read_cifar = { 2, function(o) return lio.read_cifar(tmp .. ".bin", o) end },
    read_csv = { 2, function(o) return lio.read_csv(tmp .. ".csv", o) end },
    read_parquet = { 2, function(o) return lio.read_parquet(tmp .. ".parquet", o) end },
    open_parquet = { 2, function(o) return lio.open_parquet(tmp .. ".parquet", o) end },
    read_arrow = { 2, function(o) return lio.read_arrow(tmp .. ".arrow", o) end },
    open_arrow = { 2, function(o) return lio.open_arrow(tmp .. ".arrow", o) end },
    write_csv = { 3, function(o) return lio.write_csv(tmp .. ".csv", X, o) end },
    read_hdf5 = { 2, function(o) return lio.read_hdf5(tmp .. ".h5", o) end },
    open_hdf5 = { 2, function(o) return lio.open_hdf5(tmp .. ".h5", o) end },
    write_hdf5 = { 3, function(o) return lio.write_hdf5(tmp .. ".h5", { x = X }, o) end },
    write_parquet = { 3, function(o) return lio.write_parquet(tmp .. ".parquet", { x = X }, o) end },
    write_arrow = { 3, function(o) return lio.write_arrow(tmp .. ".arrow", { x = X }, o) end },
    write_npz = { 3, function(o) return lio.write_npz(tmp .. ".npz", { x = X }, o) end },
    save_pt = { 3, function(o) return lio.save_pt(tmp .. ".pt", X, o) end },
  },
  data = {
    progress = { 2, function(o) return data.progress(3, o) end },
    loader = { 2, function(o) return data.loader(ds, o) end },
    idx = { 1, function(o) o.images = tmp return data.idx(o) end },
    fashion_mnist = { 1, function(o) return data.fashion_mnist(o) end },
    mnist = { 1, function(o) o.root = tmp return data.mnist(o) end },
    cifar10 = { 1, function(o) o.root = tmp return data.cifar10(o) end },
    cifar100 = { 1, function(o) o.root = tmp return data.cifar100(o) end },
    tensor_dataset = { 3, function(o) return data.tensor_dataset(X, Y, o) end },
    features = { 2, function(o) return data.features({ tmp }, o) end },
    from_parquet = { 1, function(o) o.path = tmp return data.from_parquet(o) end },
  },
  sketch = {
    fd = { 1, function(o) o.ell, o.dim = 2, 3 return sk.fd(o) end },
    gaussian = { 3, function(o) return sk.gaussian(2, 3, o) end },
    sparse_sign = { 3, function(o) return sk.sparse_sign(2, 3, o) end },
    countsketch = { 3, function(o) return sk.countsketch(2, 3, o) end },
  },
  select = {
    agreement_scores = { 3, function(o) return S.agreement_scores(X, Y, o) end },
    agreement = { 1, function(o) o.grads, o.budget = X, 3 return S.agreement(o) end },
    grand = { 1, function(o) o.grads, o.budget = X, 3 return S.grand(o) end },
    el2n = { 1, function(o) o.probs, o.budget = X, 3 return S.el2n(o) end },
    uncertainty = { 1, function(o) o.probs, o.budget = X, 3 return S.uncertainty(o) end },
    forgetting = { 1, function(o) o.record, o.budget = X, 3 return S.forgetting(o) end },
    random = { 1, function(o) o.n, o.budget = 10, 3 return S.random(o) end },
    kcenter = { 1, function(o) o.features, o.budget = X, 3 return S.kcenter(o) end },
    herding = { 1, function(o) o.features, o.budget = X, 3 return S.herding(o) end },
    craig = { 1, function(o) o.features, o.budget = X, 3 return S.craig(o) end },
    gradmatch = { 1, function(o) o.grads, o.budget = X, 3 return S.gradmatch(o) end },
    glister = { 1, function(o) o.grads, o.budget = X, 3 return S.glister(o) end },
    sage = { 1, function(o) o.model, o.dataset, o.budget = model, ds, 3 return S.sage(o) end },
  },
  embed = {
    pca = { 3, function(o) return embed.pca(X, 2, o) end },
    singular_values = { 2, function(o) return embed.singular_values(X, o) end },
    effective_dim = { 2, function(o) return embed.effective_dim(X, o) end },
    tsne = { 2, function(o) return embed.tsne(X, o) end },
    tsne_affinities = { 2, function(o) return embed.tsne_affinities(X, o) end },
    umap = { 2, function(o) return embed.umap(X, o) end },
    umap_graph = { 2, function(o) return embed.umap_graph(X, o) end },
    tsne_transform = { 4, function(o) return embed.tsne_transform(X, X:narrow(2, 1, 2), X, o) end },
    umap_transform = { 4, function(o) return embed.umap_transform(X, X:narrow(2, 1, 2), X, o) end },
    knn = { 3, function(o) return embed.knn(X, 3, o) end },
    quality = { 4, function(o) return embed.quality(X, X, 3, o) end },
    to_sphere = { 2, function(o) return embed.to_sphere(X, o) end },
    nearest_anchor = { 3, function(o) return embed.nearest_anchor(X, X, o) end },
    topk_anchors = { 4, function(o) return embed.topk_anchors(X, X, 2, o) end },
    anchor_usage = { 3, function(o) return embed.anchor_usage(X, X, o) end },
    anchor_isolation = { 2, function(o) return embed.anchor_isolation(X, o) end },
    closest_anchor_pairs = { 3, function(o) return embed.closest_anchor_pairs(X, 2, o) end },
    spherical_kmeans = { 3, function(o) return embed.spherical_kmeans(X, 2, o) end },
  },
  nn = {
    fit = { 3, function(o) return nn.fit(model, set, o) end },
    evaluate = { 3, function(o) return nn.evaluate(model, set, o) end },
    extract_features = { 3, function(o) return nn.extract_features(model, set, o) end },
    per_sample_grads = { 4, function(o) return nn.per_sample_grads(model, X, Y, o) end },
    per_sample_norms = { 4, function(o) return nn.per_sample_norms(model, X, Y, o) end },
    projected_grads = { 5, function(o) return nn.projected_grads(model, X, Y, lt.ones(2, 31), o) end },
    sample_stats = { 4, function(o) return nn.sample_stats(model, X, Y, o) end },
    param_dim = { 2, function(o) return nn.param_dim(model, o) end },
    SGD = { 2, function(o) o.lr = 0.1 return nn.SGD(model, o) end },
    Adam = { 2, function(o) return nn.Adam(model, o) end },
    AdamW = { 2, function(o) return nn.AdamW(model, o) end },
    StepLR = { 2, function(o) o.step_size = 1 return nn.StepLR(nn.Adam(model), o) end },
    CosineLR = { 2, function(o) o.t_max = 2 return nn.CosineLR(nn.Adam(model), o) end },
    LinearLR = { 2, function(o) return nn.LinearLR(nn.Adam(model), o) end },
    cross_entropy = { 3, function(o) return nn.cross_entropy(X, Y, o) end },
    nll_loss = { 3, function(o) return nn.nll_loss(X, Y, o) end },
    mse_loss = { 3, function(o) return nn.mse_loss(X, X, o) end },
    mlp = { 1, function(o) o[1], o[2] = 3, 2 return nn.mlp(o) end },
    small_cnn = { 1, function(o) return nn.small_cnn(o) end },
    resnet18 = { 1, function(o) return nn.resnet18(o) end },
    resnext29 = { 1, function(o) return nn.resnext29(o) end },
    resnext_block = { 5, function(o) return nn.resnext_block(8, 2, 2, 1, o) end },
    -- the classes (nn.Linear{...} runs Linear.new)
    Linear = { 3, function(o) return nn.Linear(3, 2, o) end },
    Conv2d = { 4, function(o) return nn.Conv2d(1, 2, 3, o) end },
    BatchNorm1d = { 2, function(o) return nn.BatchNorm1d(3, o) end },
    BatchNorm2d = { 2, function(o) return nn.BatchNorm2d(3, o) end },
    LayerNorm = { 2, function(o) return nn.LayerNorm(3, o) end },
    GELU = { 1, function(o) return nn.GELU(o) end },
    ReLU = { 1, function(o) return nn.ReLU(o) end },
    Tanh = { 1, function(o) return nn.Tanh(o) end },
    Sigmoid = { 1, function(o) return nn.Sigmoid(o) end },
    SiLU = { 1, function(o) return nn.SiLU(o) end },
    MaxPool2d = { 2, function(o) return nn.MaxPool2d(2, o) end },
    AvgPool2d = { 2, function(o) return nn.AvgPool2d(2, o) end },
    Dropout = { 2, function(o) return nn.Dropout(0.5, o) end },
    Sequential = { 2, function(o) return nn.Sequential({ nn.ReLU() }, o) end },
    CrossEntropyLoss = { 1, function(o) return nn.CrossEntropyLoss(o) end },
    NLLLoss = { 1, function(o) return nn.NLLLoss(o) end },
    MSELoss = { 1, function(o) return nn.MSELoss(o) end },
    Normalize = { 1, function(o) return nn.Normalize(o) end },
    Parallel = { 2, function(o) return nn.Parallel({ nn.ReLU() }, o) end },
    Anchors = { 3, function(o) return nn.Anchors(2, 3, o) end },
  },
  -- methods, by class
  Module = {
    fit = { 3, function(o) return model:fit(set, o) end },
    evaluate = { 3, function(o) return model:evaluate(set, o) end },
    per_sample_grads = { 4, function(o) return model:per_sample_grads(X, Y, o) end },
    per_sample_norms = { 4, function(o) return model:per_sample_norms(X, Y, o) end },
    projected_grads = { 5, function(o) return model:projected_grads(X, Y, lt.ones(2, 31), o) end },
    sample_stats = { 4, function(o) return model:sample_stats(X, Y, o) end },
    predict = { 2, function(o) return model:predict(X, o) end },
    named_parameters = { 1, function(o) return model:named_parameters(o) end },
    load_state_dict = { 2, function(o) return model:load_state_dict(model:state_dict(), o) end },
  },
  Dataset = {
    normalize = { 1, function(o) return ds:normalize(o) end },
    loader = { 2, function(o) return ds:loader(o) end },
    shard = { 1, function(o) return ds:shard(o) end },
  },
}

-- Functions that take no options table (a table argument they take is data: sizes, dims,
-- indices, values), by module. Space-separated to keep the list short.
local NO_OPTIONS = {
  tensor = [[abs abs_ add add_ all allclose any arange argmax argmin atan atan2 atan2_ atan_
    bincount bool cat ceil ceil_ chunk clamp clamp_ clock clone contiguous copy_ cos cos_
    count_nonzero cumprod cumsum diagonal dim div div_ double dtype equal eq eq_ exp exp_ expand
    expm1 expm1_ eye fill_ flatten float floor floor_ floor_divide floor_divide_ frombytes
    fromtable full_like gather ge ge_ gelu gelu_ get get_printoptions gt gt_ histogram
    index_select int is_contiguous is_tensor isfinite isin isinf isnan item le le_ linspace log
    log1p log1p_ log2 log2_ log_ logical_and logical_and_ logical_not logical_not_ logical_or
    logical_or_ logical_xor logical_xor_ logsumexp long lt lt_ masked_assign_ masked_fill
    masked_fill_ masked_select max maximum maximum_ mean memory memory_cache min minimum minimum_
    mul mul_ narrow nbytes ne ne_ neg neg_ new nonzero norm normalize numel one_hot ones_like
    permute pow pow_ prod reciprocal reciprocal_ relu relu_ remainder remainder_ reshape round round_ rsqrt
    rsqrt_ same_storage scatter scatter_ scatter_add scatter_add_ select sigmoid sigmoid_ sign
    sign_ sin sin_ size slice sort split sqrt sqrt_ square square_ squeeze stack std stride sub
    sub_ sum tan tan_ tanh tanh_ to tobytes topk tostring totable transpose trunc trunc_ unique
    unsqueeze var view where argsort astype einsum]],
  random = "Generator manual_seed seed state set_state",
  linalg = [[blas_info bmm cholesky det dot inv lstsq matmul mm mv norm outer qr slogdet solve svdvals]],
  io = "keys makedirs open_npy write_npy write_png write_safetensors",
  data = "progress_enabled",
  sketch = "cov_error fd_bound from_state",
  select = "class_stats forgetting_recorder sage_unavailable",
  embed = [[anchor_divergence class_centroids continuity knn_preservation knn_recall normalize
    trustworthiness umap_ab]],
  nn = [[augment check_input class clip_grad_norm clip_grad_value default_generator enable_grad
    generator grad_enabled head_of in_eval init is_module no_grad plan split_head Module_dtype Flatten
    Identity Softmax LogSoftmax AdaptiveAvgPool2d Residual Module]],
  Module = [[add backward child children cuda double dtype eval extra_repr float forward freeze grad_of
    named_modules num_parameters parameters register_buffer register_parameter state_dict to
    tostring train unfreeze zero_grad]],
  dist = [[abort active allgather allreduce barrier broadcast broadcast_value bytes_sent gather
    gather_values init is_root rank recv recv_value reduce_scatter scatter send send_value
    shard_range size]],
  Dataset = [[batch class_counts class_indices get labels size subset tensors]],
}

-- The public functions of a table (for nn, also its classes: tables with a constructor).
local function public(t)
  local out = {}
  for k, v in pairs(t) do
    local class = type(v) == "table" and type(rawget(v, "new")) == "function"
    if type(k) == "string" and k:sub(1, 1) ~= "_" and (type(v) == "function" or class) then
      out[#out + 1] = k
    end
  end
  table.sort(out)
  return out
end

local TABLES = {
  tensor = T, random = R, linalg = la, io = lio, data = data, sketch = sk, select = S,
  embed = embed, nn = nn, Module = nn.Module, Dataset = data.Dataset, dist = lt.dist,
}

local function set_of(words)
  local s = {}
  for w in (words or ""):gmatch("%S+") do s[w] = true end
  return s
end

-- The message of f(opts) with one unknown key, minus the "options_walk_spec.lua:N: " that
-- must start it (the error points at the caller's line, not into lunette).
local function typo_error(f)
  local ok, msg = pcall(f, { bogus_key = 1 })
  if ok then return nil, "accepted an unknown key" end
  msg = tostring(msg)
  local rest = msg:match("^[^:]*options_walk_spec%.lua:%d+: (.*)$")
  if not rest then return nil, "error not at the caller's line: " .. msg end
  return rest
end

describe("every options table outside plot", function()
  for _, mod in ipairs { "tensor", "random", "linalg", "io", "data", "sketch", "select", "embed",
                         "nn", "Module", "Dataset", "dist" } do
    it("of " .. mod .. " rejects an unknown key, naming the function", function()
      local none, checked = set_of(NO_OPTIONS[mod]), CHECKED[mod] or {}
      local problems = {}
      for _, name in ipairs(public(TABLES[mod])) do
        local c = checked[name]
        if c then
          local fname = c[3] or name
          local msg, why = typo_error(c[2])
          local want = ("bad argument #%d to '%s' (unknown option 'bogus_key' to '%s' ("):format(
            c[1], fname, fname)
          if not msg then
            problems[#problems + 1] = name .. ": " .. why
          elseif msg:sub(1, #want) ~= want then
            problems[#problems + 1] = name .. ": " .. msg
          end
        elseif not none[name] then
          problems[#problems + 1] = name .. ": neither checked nor listed as taking no options"
        end
      end
      assert.equal("", table.concat(problems, "\n"))
    end)
  end

  it("lists only functions that exist", function()
    for mod, words in pairs(NO_OPTIONS) do
      for w in words:gmatch("%S+") do
        assert.is_not_nil(TABLES[mod][w], mod .. "." .. w .. " is listed but does not exist")
      end
    end
  end)
end)

-- lunette.plot's functions, walked the same way; new plot functions must join a list.
local PLOT_STRICT = true

describe("plot's options tables", function()
  if not PLOT_STRICT then
    pending("reject an unknown key (PLOT_STRICT: enabled at the merge with the plot work)")
    return
  end
  local P = lt.plot
  local x = lt.arange(5):float()
  local img = lt.rand(4, 4)
  local function ax()
    local _, a = P.subplots(1, 1)
    return a
  end
  local function fig() return (P.figure()) end
  local PLOT_CHECKED = {
    plot = {
      scatter = { 3, function(o) return P.scatter(x, x, o) end },
      hist = { 2, function(o) return P.hist(x, o) end },
      bar = { 3, function(o) return P.bar(x, x, o) end },
      plot = { 3, function(o) return P.plot(x, x, o) end },
      figure = { 1, function(o) return P.figure(o) end },
      subplots = { 3, function(o) return P.subplots(1, 1, o) end },
      imshow = { 2, function(o) return P.imshow(img, o) end },
      image_grid = { 2, function(o) return P.image_grid({ img, img }, o) end },
      montage = { 2, function(o) return P.montage(lt.rand(2, 4, 4), o) end },
      show = { 1, function(o) return P.show(o) end },
    },
    Axes = {
      plot = { 4, function(o) return ax():plot(x, x, "-", o) end },
      semilogx = { 4, function(o) return ax():semilogx(x, x, "-", o) end },
      semilogy = { 3, function(o) return ax():semilogy(x, x, o) end },
      loglog = { 3, function(o) return ax():loglog(x, x, o) end },
      step = { 3, function(o) return ax():step(x, x, o) end },
      errorbar = { 3, function(o) return ax():errorbar(x, x, o) end },
      fill_betweenx = { 4, function(o) return ax():fill_betweenx(x, x, x + 1, o) end },
      axhspan = { 3, function(o) return ax():axhspan(0, 1, o) end },
      axvspan = { 3, function(o) return ax():axvspan(0, 1, o) end },
      annotate = { 3, function(o) return ax():annotate("a", { 1, 1 }, o) end },
      violinplot = { 2, function(o) return ax():violinplot({ x, x }, o) end },
      contour = { 4, function(o) return ax():contour(x, x, lt.rand(5, 5), o) end },
      contourf = { 4, function(o) return ax():contourf(x, x, lt.rand(5, 5), o) end },
      clabel = { 2, function(o)
        local a = ax()
        return a:clabel(a:contour(x, x, lt.rand(5, 5)), o)
      end },
      hexbin = { 3, function(o) return ax():hexbin(x, x, o) end },
      heatmap = { 2, function(o) return ax():heatmap(img, o) end },
      scatter = { 3, function(o) return ax():scatter(x, x, o) end },
      bar = { 3, function(o) return ax():bar(x, x, o) end },
      barh = { 3, function(o) return ax():barh(x, x, o) end },
      hist = { 2, function(o) return ax():hist(x, o) end },
      imshow = { 2, function(o) return ax():imshow(img, o) end },
      fill_between = { 4, function(o) return ax():fill_between(x, x, x + 1, o) end },
      axhline = { 2, function(o) return ax():axhline(1, o) end },
      axvline = { 2, function(o) return ax():axvline(1, o) end },
      text = { 4, function(o) return ax():text(1, 1, "a", o) end },
      legend = { 1, function(o)
        local a = ax()
        a:plot(x, x, { label = "a" })
        return a:legend(o)
      end },
      grid = { 2, function(o) return ax():grid(true, o) end },
      boxplot = { 2, function(o) return ax():boxplot({ x, x }, o) end },
      set_title = { 2, function(o) return ax():set_title("t", o) end, "title" },
      set_xlabel = { 2, function(o) return ax():set_xlabel("t", o) end, "xlabel" },
      set_ylabel = { 2, function(o) return ax():set_ylabel("t", o) end, "ylabel" },
      tick_params = { 1, function(o) return ax():tick_params(o) end },
    },
    Figure = {
      savefig = { 2, function(o) return fig():savefig(tmp .. ".png", o) end, "save" },
      encode = { 2, function(o) return fig():encode("png", o) end },
      show = { 1, function(o) return fig():show(o) end },
      save = { 2, function(o) return fig():save(tmp .. ".png", o) end },
      suptitle = { 2, function(o) return fig():suptitle("t", o) end },
      text = { 4, function(o) return fig():text(0.5, 0.5, "t", o) end },
      add_subplot = { 4, function(o) return fig():add_subplot(1, 1, 1, o) end, "subplot" },
      subplots = { 3, function(o) return fig():subplots(1, 1, o) end },
      colorbar = { 2, function(o)
        local f, a = P.subplots(1, 1)
        return f:colorbar(a:imshow(img), o)
      end },
    },
  }
  -- What takes no options table (and helpers the plot modules share through Axes).
  local PLOT_NONE = {
    plot = "Axes Axes3D Figure gcf cmap color colormaps palette rc read_png set_palette sphere_mesh style superscript",
    Axes = [[twinx twiny add add_rects autoscale_axis axis bar_label facecolor_ finite_mask hist_edges
      image_rgba invert_xaxis invert_yaxis margins new next_color opts_table rc_color select_rows
      set set_aspect set_facecolor set_spines set_xlim set_xscale set_xticklabels set_xticks
      set_ylim set_yscale set_yticklabels set_yticks spines title view_limits xlabel xlim xscale
      xticks ylabel ylim yscale yticks]],
    Figure = [[add_axes default_grid draw draw_texts gridspec measure_axes new place prepare render
      subplot subplots_adjust tight tight_layout]],
  }
  local PLOT_TABLES = { plot = P, Axes = P.Axes, Figure = P.Figure }
  for _, mod in ipairs { "plot", "Axes", "Figure" } do
    it("of " .. mod .. " rejects an unknown key, naming the function", function()
      local none, problems = set_of(PLOT_NONE[mod]), {}
      for _, name in ipairs(public(PLOT_TABLES[mod])) do
        local c = PLOT_CHECKED[mod][name]
        if c then
          local fname = c[3] or name
          local msg, why = typo_error(c[2])
          local want = ("bad argument #%d to '%s' (unknown option 'bogus_key' to '%s' ("):format(
            c[1], fname, fname)
          if not msg then
            problems[#problems + 1] = name .. ": " .. why
          elseif msg:sub(1, #want) ~= want then
            problems[#problems + 1] = name .. ": " .. msg
          end
        elseif not none[name] then
          problems[#problems + 1] = name .. ": neither checked nor listed as taking no options"
        end
      end
      assert.equal("", table.concat(problems, "\n"))
    end)
  end
end)
