#!/bin/sh
# The whole SAGE selection on Fashion-MNIST train: the small CNN at initialisation (seed 0),
# last-layer gradients (D = 1,290), ell = 256, 5% kept per class; both passes (per-sample
# gradients into the FD sketch, then projection and agreement scoring), progress bars off.
# One process per N, so rss_kb= is that run's peak resident set (VmHWM, dataset included).
# Measured once per `make bench` run (later rounds find the rows in raw.txt), one call each.
# The peer - the seed's notebook code (a backward pass per sample, then the classic FD with
# one SVD per row once full) - takes hours at these sizes, so it is not run.
# @row sage_last_10k goal=1 title="SAGE selection, small-CNN last layer, ℓ=256, 5%: N=10,000"
# @row sage_last_30k goal=1 title="SAGE selection, small-CNN last layer, ℓ=256, 5%: N=30,000"
# @row sage_last_60k goal=1 title="SAGE selection, small-CNN last layer, ℓ=256, 5%: N=60,000"
host=${LUNETTE_HOST:-}
raw=$(dirname "${host:-build/lunette}")/bench/raw.txt
peer_na() {
  echo "case=$1 side=peer status=na reason='the seed pipeline (per-sample backward loop + classic FD) takes hours here'"
}
if [ -z "$host" ]; then
  for n in 10k 30k 60k; do echo "case=sage_last_$n side=lunette status=na reason='no lunette host'"; done
  exit 0
fi
grep -q '^case=sage_last_10k side=lunette' "$raw" 2>/dev/null && exit 0
script=$(mktemp /tmp/lunette_sage_bench.XXXXXX.lua)
trap 'rm -f "$script"' EXIT
cat > "$script" <<'EOF'
local lt = require "lunette"
local S = require "lunette.select"
local nn, data = require "lunette.nn", require "lunette.data"
local n, name = tonumber(arg[1]), arg[2]
local ds = data.fashion_mnist { split = "train" }
if n < ds:size() then ds = ds:subset(lt.arange(1, n + 1)) end
lt.seed(0)
local model = nn.small_cnn {}
local t0 = lt.time()
local idx = S.sage { model = model, dataset = ds, ell = 256, fraction = 0.05, progress = false }
local dt = lt.time() - t0
local f = io.open("/proc/self/status")
local rss = f and f:read("a"):match("VmHWM:%s*(%d+)") or "0"
if f then f:close() end
print(("case=%s side=lunette seconds=%.6f n=1 min=%.6f check=%d rss_kb=%s times=%.6e"):format(
  name, dt, dt, idx:numel(), rss, dt))
EOF
for spec in 10000:10k 30000:30k 60000:60k; do
  n=${spec%%:*}; tag=${spec##*:}
  "$host" "$script" "$n" "sage_last_$tag" || echo "case=sage_last_$tag side=lunette status=na reason='run failed'"
  peer_na "sage_last_$tag"
done
