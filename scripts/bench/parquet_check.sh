#!/bin/sh
# parquet_check.sh FILE [G...] - an independent check of a Parquet file lunette wrote (the bench's
# 1 GB files: build/bench/parquet/r1000000_{snappy,zstd}.parquet, 47_parquet_data): row groups
# G... (0-based; default the first, one in the middle and the last) read by parquet-wasm (Apache
# Arrow's Rust reader, through apache-arrow JS) and by hyparquet, and by lunette; per row group
# and column the row count, the float64 sum of the values in row order and the first values must
# agree (sums to 1e-9 relative: the readers add in the same order, but JS and lunette may round
# the last digit differently). The npm packages go to a temporary folder (as
# scripts/fixtures/parquet.sh installs them), never into the repository. Exit 0 when all agree.
set -eu
cd "$(dirname "$0")/../.."
file=$1; shift
command -v npm >/dev/null || { echo "parquet_check: npm not found (apt-get install npm)"; exit 2; }
[ -x build/lunette ] || { echo "parquet_check: build/lunette not found (make all)"; exit 2; }
if [ $# -eq 0 ]; then
  n=$(echo 'print(assert(require("lunette").io.open_parquet(arg[1])).num_row_groups)' |
    build/lunette - "$file")
  set -- 0 $((n / 2)) $((n - 1))
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm install --silent --no-audit --no-fund --prefix "$tmp" parquet-wasm@0.8.0 apache-arrow@21.2.0 \
  hyparquet@1.33.0 hyparquet-compressors@1.1.2 >/dev/null
# ES modules resolve packages next to the script, so it runs from the temporary folder.
cp scripts/bench/parquet_check.mjs "$tmp/"
node --max-old-space-size=8192 "$tmp/parquet_check.mjs" "$file" "$@" > "$tmp/js.txt"
build/lunette - "$file" "$@" > "$tmp/lt.txt" <<'LUA'
local lt = require "lunette"
local f = assert(lt.io.open_parquet(arg[1]))
local function fmt(x) return ("%.17g"):format(x) end
for i = 2, #arg do
  local g = tonumber(arg[i])
  local d = assert(f:read_row_group(g + 1))
  for _, name in ipairs(f.columns) do
    local v = d[name]
    local flat = v:double():reshape(v:numel())
    -- in row order, one value after another, as the JS readers add
    local s, vals = 0, flat:totable()
    for k = 1, #vals do s = s + vals[k] end
    local w = v:dim() == 2 and v:size(2) or 1
    local head = {}
    for k = 1, math.min(4, w) do head[k] = fmt(vals[k]) end
    print(("lunette rg=%d col=%s rows=%d sum=%s head=%s"):format(g, name, v:size(1), fmt(s),
      table.concat(head, ",")))
  end
end
LUA
cat "$tmp/js.txt" "$tmp/lt.txt"
"${PEER_PYTHON:-/usr/bin/python3}" - "$tmp/js.txt" "$tmp/lt.txt" <<'PY'
import re, sys
rows = {}
for path in sys.argv[1:]:
    for ln in open(path):
        m = re.match(r"(\S+) rg=(\d+) col=(\S+) rows=(\d+) sum=(\S+) head=(\S*)", ln)
        if m:
            r, g, c, n, s, h = m.groups()
            rows.setdefault((g, c), {})[r] = (int(n), float(s), [float(x) for x in h.split(",") if x])
bad = 0
for (g, c), by in sorted(rows.items()):
    ref = by.get("lunette")
    for r, (n, s, h) in by.items():
        ok = ref and n == ref[0] and abs(s - ref[1]) <= 1e-9 * max(1.0, abs(ref[1])) and h == ref[2]
        if not ok:
            bad += 1
            print("MISMATCH rg=%s col=%s %s %r vs lunette %r" % (g, c, r, (n, s, h), ref))
    if set(by) != {"lunette", "parquet-wasm", "hyparquet"}:
        bad += 1
        print("MISSING rg=%s col=%s: only %s" % (g, c, sorted(by)))
print("parquet_check: %s" % ("all readers agree" if not bad else "%d mismatches" % bad))
sys.exit(1 if bad else 0)
PY
