#!/usr/bin/env bash
# test.sh BUILD_DIR - run every busted spec under BUILD_DIR/lunette (the host,
# so specs see what users see) and end with "N passed, N failed".
build=${1:-build}
host="$build/lunette"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
LUNETTE_BUILD="$build" "$host" /usr/bin/busted --cpath="$build/?.so" -o utfTerminal tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
line=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '[0-9]+ successes? / [0-9]+ failures? / [0-9]+ errors?' | tail -n 1)
if [ -z "$line" ]; then
  echo "0 passed, 1 failed"
  exit 1
fi
ok=$(echo "$line" | sed -E 's/^([0-9]+) success.*/\1/')
fail=$(echo "$line" | sed -E 's/.* ([0-9]+) failures?.*/\1/')
err=$(echo "$line" | sed -E 's/.* ([0-9]+) errors?.*/\1/')
# Pending specs (a peer such as torch not installed) are neither passed nor failed: say so.
pend=$(echo "$line" | sed -nE 's/.* ([0-9]+) pending.*/\1/p')
if [ -n "$pend" ] && [ "$pend" -gt 0 ]; then
  echo "$pend pending (not counted as passed; see 'Pending' above)"
fi
echo "$ok passed, $((fail + err)) failed"
[ "$status" -eq 0 ] && [ "$((fail + err))" -eq 0 ]
