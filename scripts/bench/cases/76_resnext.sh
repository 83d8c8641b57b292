#!/bin/sh
# The seed's ResNeXt-29 (32x4d, 100 classes, kuangliu/pytorch-cifar's layout) in evaluation mode
# without gradients: forward passes over N random 32x32x3 images in batches of 250 (N from
# BENCH_RESNEXT_N, 500 unless set; 1.545 GFLOP per image, counted from the layers' shapes).
# One process per side, so rss_kb= is that run's peak resident set (VmHWM: model, inputs,
# activations, scratch, and for torch its libraries); user_s= and sys_s= (in raw.txt) are the
# process's CPU seconds. Each side runs its own seeded initialisation (timing only: no
# checksum). lunette runs the forward under nn.no_grad, torch under torch.no_grad().
# @row resnext_fwd goal=1 title="ResNeXt-29 32x4d forward, eval + no grad, 32x32 images (N=500 unless BENCH_RESNEXT_N), batch 250"
# @rounds 1
host=${LUNETTE_HOST:-}
n=${BENCH_RESNEXT_N:-500}
lua=$(mktemp /tmp/lunette_resnext_bench.XXXXXX.lua)
py=$(mktemp /tmp/lunette_resnext_bench.XXXXXX.py)
trap 'rm -f "$lua" "$py"' EXIT

cat > "$lua" <<'LUA'
local lt = require "lunette"
local nn = lt.nn
local N, B = tonumber(arg[1]), 250
lt.seed(0)
local model = nn.resnext29 { classes = 100 }
model:eval()
local x = lt.randn(N, 3, 32, 32)
local t0 = lt.time()
local check = 0
nn.no_grad(function()
  for b0 = 1, N, B do check = check + model:forward(x:narrow(1, b0, math.min(B, N - b0 + 1))):sum() end
end)
local dt = lt.time() - t0
local f = io.open("/proc/self/status")
local rss = f and f:read("a"):match("VmHWM:%s*(%d+)") or "0"
if f then f:close() end
f = io.open("/proc/self/stat")
local stat = f and f:read("a") or ""
if f then f:close() end
local fields = {}
for w in stat:gsub("^.*%) ", ""):gmatch("%S+") do fields[#fields + 1] = w end
local hz = 100 -- USER_HZ on Linux
print(("case=resnext_fwd side=lunette seconds=%.6f n=1 min=%.6f rss_kb=%s flops=%.6e user_s=%.2f sys_s=%.2f times=%.6e"):format(
  dt, dt, rss, 1.5452e9 * N, (tonumber(fields[12]) or 0) / hz, (tonumber(fields[13]) or 0) / hz, dt))
LUA

cat > "$py" <<'PY'
import os, resource, sys, time
import torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
N, B = int(sys.argv[1]), 250
class Block(nn.Module):  # kuangliu/pytorch-cifar models/resnext.py
    expansion = 2
    def __init__(s, cin, card, width, stride):
        super().__init__()
        gw = card * width
        s.conv1, s.bn1 = nn.Conv2d(cin, gw, 1, bias=False), nn.BatchNorm2d(gw)
        s.conv2 = nn.Conv2d(gw, gw, 3, stride=stride, padding=1, groups=card, bias=False)
        s.bn2 = nn.BatchNorm2d(gw)
        s.conv3, s.bn3 = nn.Conv2d(gw, 2 * gw, 1, bias=False), nn.BatchNorm2d(2 * gw)
        s.shortcut = nn.Sequential()
        if stride != 1 or cin != 2 * gw:
            s.shortcut = nn.Sequential(nn.Conv2d(cin, 2 * gw, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(2 * gw))
    def forward(s, x):
        out = F.relu(s.bn1(s.conv1(x)))
        out = F.relu(s.bn2(s.conv2(out)))
        out = s.bn3(s.conv3(out))
        return F.relu(out + s.shortcut(x))
class ResNeXt29(nn.Module):
    def __init__(s, card=32, width=4, classes=100):
        super().__init__()
        s.conv1, s.bn1 = nn.Conv2d(3, 64, 1, bias=False), nn.BatchNorm2d(64)
        layers, cin = [], 64
        for i in range(3):
            blocks = []
            for j in range(3):
                blocks.append(Block(cin, card, width, 2 if (j == 0 and i > 0) else 1))
                cin = 2 * card * width
            width *= 2
            layers.append(nn.Sequential(*blocks))
        s.layer1, s.layer2, s.layer3 = layers
        s.linear = nn.Linear(cin, classes)
    def forward(s, x):
        out = F.relu(s.bn1(s.conv1(x)))
        out = s.layer3(s.layer2(s.layer1(out)))
        return s.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))
torch.manual_seed(0)
model = ResNeXt29().eval()
x = torch.randn(N, 3, 32, 32)
t0 = time.perf_counter()
with torch.no_grad():
    check = sum(float(model(x[b:b + B]).sum()) for b in range(0, N, B))
dt = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_SELF)
print("case=resnext_fwd side=peer seconds=%.6f n=1 min=%.6f rss_kb=%d flops=%.6e user_s=%.2f sys_s=%.2f times=%.6e"
      % (dt, dt, ru.ru_maxrss, 1.5452e9 * N, ru.ru_utime, ru.ru_stime, dt))
PY

if [ -n "$host" ]; then
  "$host" "$lua" "$n" || echo "case=resnext_fwd side=lunette status=na reason='run failed'"
else
  echo "case=resnext_fwd side=lunette status=na reason='no lunette host'"
fi
"${PEER_PYTHON:-/usr/bin/python3}" "$py" "$n" ||
  echo "case=resnext_fwd side=peer status=na reason='torch run failed'"
