#!/bin/sh
# The whole SAGE selection on Fashion-MNIST train: the small CNN at initialisation (seed 0),
# last-layer gradients (D = 1,290), ell = 256, 5% kept per class; both passes (per-sample
# gradients into the FD sketch, then projection and agreement scoring), progress bars off.
# One process per run, so rss_kb= is that run's peak resident set (VmHWM, dataset included).
# One call each, in one round (@rounds 1: the group takes minutes).
# The peer is the seed's notebook code in torch (one backward pass per sample for the last
# layer, the classic FD with one SVD per row once full, a second backward pass per sample
# to project, class-balanced agreement) on the same architecture and images. It needs
# minutes per thousand images, so it runs at N = 500 only, against lunette's fast sketch and
# its classic one (the seed's algorithm); at 10k-60k the peer is n/a.
# The sage_mlp rows take every parameter's gradient of the MLP 784-256-10 at initialisation
# (D = 203,530, never formed for more than a batch), with ell = 64 so the three runs stay
# within minutes; their peak RSS shows the O(ell * D + N * ell) memory.
# @row sage_seed_500 goal=10 title="SAGE selection, small-CNN last layer, ℓ=256, 5%: N=500, fast FD vs the seed's code"
# @row sage_seed_500_classic goal=2 title="the same, lunette's classic FD (the seed's algorithm) vs the seed's code"
# @row sage_last_10k goal=1 title="SAGE selection, small-CNN last layer, ℓ=256, 5%: N=10,000"
# @row sage_last_30k goal=1 title="SAGE selection, small-CNN last layer, ℓ=256, 5%: N=30,000"
# @row sage_last_60k goal=1 title="SAGE selection, small-CNN last layer, ℓ=256, 5%: N=60,000"
# @row sage_mlp_10k goal=1 title="SAGE selection, full MLP 784-256-10 gradients (D=203,530), ℓ=64, 5%: N=10,000"
# @row sage_mlp_30k goal=1 title="SAGE selection, full MLP gradients (D=203,530), ℓ=64, 5%: N=30,000"
# @row sage_mlp_60k goal=1 title="SAGE selection, full MLP gradients (D=203,530), ℓ=64, 5%: N=60,000"
# @rounds 1
host=${LUNETTE_HOST:-}
if [ -z "$host" ]; then
  for c in seed_500 seed_500_classic last_10k last_30k last_60k mlp_10k mlp_30k mlp_60k; do
    echo "case=sage_$c side=lunette status=na reason='no lunette host'"
  done
  exit 0
fi
# the seed's FD (lib/seed_fd.py, shared with 55_sketch.py) for the peer script below
PYTHONPATH="$(cd "$(dirname "$0")/../lib" && pwd)${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH
lua=$(mktemp /tmp/lunette_sage_bench.XXXXXX.lua)
py=$(mktemp /tmp/lunette_sage_seed.XXXXXX.py)
trap 'rm -f "$lua" "$py"' EXIT

cat > "$lua" <<'LUA'
local lt = require "lunette"
local S = require "lunette.select"
local nn, data = require "lunette.nn", require "lunette.data"
local n, name, variant, mlp = tonumber(arg[1]), arg[2], arg[3], arg[4] == "mlp"
local ds = data.fashion_mnist { split = "train" }
if n < ds:size() then ds = ds:subset(lt.arange(1, n + 1)) end
lt.seed(0)
local model = mlp and nn.mlp { 784, 256, 10 } or nn.small_cnn {}
local t0 = lt.time()
local idx = S.sage { model = model, dataset = ds, ell = mlp and 64 or 256, fraction = 0.05, progress = false,
                     variant = variant, last_layer = not mlp }
local dt = lt.time() - t0
local f = io.open("/proc/self/status")
local rss = f and f:read("a"):match("VmHWM:%s*(%d+)") or "0"
if f then f:close() end
print(("case=%s side=lunette seconds=%.6f n=1 min=%.6f check=%d rss_kb=%s times=%.6e"):format(
  name, dt, dt, idx:numel(), rss, dt))
LUA

cat > "$py" <<'PY'
import gzip, sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
N = int(sys.argv[1])
def idx(path):
    with gzip.open(path) as f:
        d = f.read()
    nd = d[3]
    dims = [int.from_bytes(d[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(d, np.uint8, offset=4 + 4 * nd).reshape(dims)
root = "/usr/share/datasets/fashion-mnist/"
X = torch.tensor(idx(root + "train-images-idx3-ubyte.gz")[:N], dtype=torch.float32).unsqueeze(1) / 255
Y = torch.tensor(idx(root + "train-labels-idx1-ubyte.gz")[:N].astype(np.int64))
torch.manual_seed(0)
class CNN(nn.Module):  # lunette's nn.small_cnn{} layer for layer
    def __init__(s):
        super().__init__()
        s.conv1, s.conv2 = nn.Conv2d(1, 32, 3, padding=1), nn.Conv2d(32, 64, 3, padding=1)
        s.fc1, s.fc2 = nn.Linear(64 * 7 * 7, 128), nn.Linear(128, 10)
    def forward(s, x):
        x = F.max_pool2d(F.relu(s.conv1(x)), 2)
        x = F.max_pool2d(F.relu(s.conv2(x)), 2)
        return s.fc2(F.relu(s.fc1(x.flatten(1))))
model = CNN().eval()
for p in model.parameters():
    p.requires_grad_(False)
for p in model.fc2.parameters():  # the notebook trains only the last layer
    p.requires_grad_(True)
def grads(x, y):  # per_sample_grads_slow: one backward per sample
    out = []
    for i in range(x.size(0)):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        out.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
    return torch.stack(out)
from seed_fd import fd_stream  # gpu_fd_stream on the CPU in float32: one SVD per row once full
t0 = time.perf_counter()
P = fd_stream(torch.cat([grads(X[i:i + 64], Y[i:i + 64]) for i in range(0, N, 64)]), 256)
proj = torch.cat([grads(X[i:i + 64], Y[i:i + 64]) @ P.T for i in range(0, N, 64)])
sel = []
for c in range(10):  # class_balanced_agreeing_subset_fast's scoring
    I = (Y == c).nonzero().flatten()
    g = F.normalize(proj[I], dim=1)
    sel += I[torch.topk(g @ g.mean(0), int(0.05 * N / 10)).indices].tolist()
dt = time.perf_counter() - t0
for name in ("sage_seed_500", "sage_seed_500_classic"):
    print("case=%s side=peer seconds=%.6f n=1 min=%.6f check=%d times=%.6e" % (name, dt, dt, len(sel), dt))
PY

"$host" "$lua" 500 sage_seed_500 fast || echo "case=sage_seed_500 side=lunette status=na reason='run failed'"
"$host" "$lua" 500 sage_seed_500_classic classic ||
  echo "case=sage_seed_500_classic side=lunette status=na reason='run failed'"
"${PEER_PYTHON:-/usr/bin/python3}" "$py" 500 ||
  for c in sage_seed_500 sage_seed_500_classic; do echo "case=$c side=peer status=na reason='torch run failed'"; done
for spec in 10000:10k 30000:30k 60000:60k; do
  n=${spec%%:*}; tag=${spec##*:}
  "$host" "$lua" "$n" "sage_last_$tag" fast || echo "case=sage_last_$tag side=lunette status=na reason='run failed'"
  echo "case=sage_last_$tag side=peer status=na reason='the seed code needs minutes per 1,000 images; see the N=500 rows'"
done
for spec in 10000:10k 30000:30k 60000:60k; do
  n=${spec%%:*}; tag=${spec##*:}
  "$host" "$lua" "$n" "sage_mlp_$tag" fast mlp || echo "case=sage_mlp_$tag side=lunette status=na reason='run failed'"
  echo "case=sage_mlp_$tag side=peer status=na reason='lunette alone: the seed code projects per sample (minutes per 1,000 images)'"
done
