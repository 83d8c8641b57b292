-- lunette.nn_data: Fashion-MNIST as the {x = uint8 [N x 1 x 28 x 28], y = int64 [N] (1..10)} tables
-- that nn.fit and nn.evaluate take, for the nn examples and benchmarks.
--
-- It returns lunette.data's dataset when that module is built, and otherwise
-- reads Debian's gzipped IDX files itself (through `gzip -dc`), so the nn
-- examples and benchmarks run whatever state the data module is in.

-- raise(msg): a façade error at the user's line (lunette.options).
local function raise(msg) require("lunette.options").raise(msg) end
local lt = require "lunette.tensor"

local M = {}

M.ROOT = "/usr/share/datasets/fashion-mnist"

local function read_gz(path)
  local f = io.open(path, "rb")
  if not f then return nil, path .. ": no such file (install dataset-fashion-mnist: make deps)" end
  f:close()
  local p = assert(io.popen("gzip -dc '" .. path:gsub("'", "'\\''") .. "'", "r"))
  local bytes = p:read("a")
  p:close()
  return bytes
end

local function be32(s, i)
  local a, b, c, d = s:byte(i, i + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

-- idx(path) -> uint8 tensor of the IDX file's shape.
function M.idx(path)
  local s, err = read_gz(path)
  if not s then raise(err) end
  if #s < 4 or s:byte(1) ~= 0 or s:byte(2) ~= 0 or s:byte(3) ~= 8 then raise(path .. ": not a uint8 IDX file") end
  local nd, shape, n = s:byte(4), {}, 1
  for d = 1, nd do
    shape[d] = be32(s, 5 + 4 * (d - 1))
    n = n * shape[d]
  end
  local off = 4 + 4 * nd
  if #s - off ~= n then raise(("%s: %d data bytes, expected %d"):format(path, #s - off, n)) end
  return lt.frombytes(s:sub(off + 1), "uint8", shape)
end

-- fashion_mnist{split = "train"|"test", root = M.ROOT} -> lunette.data's dataset when that
-- module is there, else a table {x, y}; both have .x (uint8 [N x 1 x 28 x 28]) and .y
-- (int64 [N], 1..10) and both are accepted by nn.fit and nn.evaluate.
function M.fashion_mnist(opts)
  opts = require("lunette.options").check("fashion_mnist", 1, opts, { "split", "root" }) or {}
  local split = opts.split or "train"
  local ok, data = false, nil
  if package.loaded["lunette.data"] or package.preload["lunette.data"] then ok, data = pcall(require, "lunette.data") end
  if ok and type(data) == "table" and type(data.fashion_mnist) == "function" then
    local ok2, d = pcall(data.fashion_mnist, { split = split, root = opts.root })
    if ok2 and type(d) == "table" and lt.is_tensor(d.x) and lt.is_tensor(d.y) then return d end
  end
  local root, pre = opts.root or M.ROOT, split == "train" and "train" or "t10k"
  local x = M.idx(root .. "/" .. pre .. "-images-idx3-ubyte.gz")
  local y = M.idx(root .. "/" .. pre .. "-labels-idx1-ubyte.gz")
  return { x = x:reshape(x:size(1), 1, x:size(2), x:size(3)), y = y:long() + 1 }
end

return M
