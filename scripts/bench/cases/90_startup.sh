#!/bin/sh
# start-up: the lunette host running nothing vs the peer's Python importing numpy.
# @row startup goal=50 title="start-up: lunette -e '' vs python3 -c 'import numpy'"
# Environment from run.sh: LUNETTE_HOST (empty when the host is not usable),
# PEER_PYTHON, BENCH_PY (the Python that runs harness helpers), BENCH_LIB.
if [ -n "$LUNETTE_HOST" ]; then
  "$BENCH_PY" "$BENCH_LIB/cmdtime.py" startup lunette "$LUNETTE_HOST" -e ''
else
  echo "case=startup side=lunette status=na reason='lunette host not built'"
fi
"$BENCH_PY" "$BENCH_LIB/cmdtime.py" startup peer "$PEER_PYTHON" -c 'import numpy'
