-- io_checkpoint.lua: open a PyTorch checkpoint the way the hypersphere seed
-- does (torch.load(...)["state_dict"], ["config"]), look inside, and hand the
-- weights on as safetensors and .npz. Nothing in the file is ever executed.
--   build/lunette examples/io_checkpoint.lua [checkpoint.pt] [out-dir]
local lt = require "lunette"
local lio = lt.io

local path = arg[1] or "tests/fixtures/io_torch/checkpoint.pth"
local out = arg[2] or os.getenv("TMPDIR") or "/tmp"

local ckpt = assert(lio.load(path))
local sd, cfg = ckpt.state_dict, ckpt.config or {}

print(("%s: epoch %s, mAP %s"):format(path, tostring(ckpt.epoch), tostring(ckpt.mAP)))
for _, k in ipairs(lio.keys(cfg)) do
  local v = cfg[k]
  if v == lio.null then v = "None" elseif type(v) == "table" then v = "{" .. table.concat(v, ", ") .. "}" end
  print(("  config.%-10s %s"):format(k, tostring(v)))
end
for name, t in pairs(sd) do -- file order
  print(("  %-12s %-8s [%s]  mean %.4f"):format(name, t:dtype(), table.concat(t:size(), "x"), t:double():mean()))
end

-- A Linear + LayerNorm projection as in the seed's project_expert().
local W, b = sd["0.weight"], sd["0.bias"]
local x = lt.ones(5, W:size(2))
local y = lt.matmul(x, W:t()) + b
print("projected", table.concat(y:size(), "x"))

assert(lio.save(out .. "/weights.safetensors", sd, {metadata = {source = path}}))
assert(lio.save(out .. "/weights.npz", sd))
print("wrote " .. out .. "/weights.safetensors and weights.npz")
