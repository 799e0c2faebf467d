#!/usr/bin/env bash
# BENCHMARKS.md §4f: aisle's ann index and the github.com/coder/hnsw baseline
# on the same synthetic vectors and queries (internal/synthvec, one
# generator), in one process, one window: build wall / CPU and heap per
# index, then per ef the querying thread's CPU per query, recall@10 against
# exact search and the ratio to exact, then aisle's filtered search by its
# own walk-or-scan choice. Long at 1M × 128 (aisle's build is minutes on
# 2 workers, coder/hnsw's single-threaded build longer), so it runs under
# nice and coder/hnsw's build is bounded (AISLE_ANN_CODER_LIMIT, default
# 40m): past it, what was built is reported and its queries skipped.
#
# usage: scripts/bench/ann1m.sh [NxDIM]   (default 1Mx128; e.g. 50kx64)
# env:   BENCHTIME (queries per sub-benchmark, default 300x),
#        AISLE_ANN_CODER_LIMIT (Go duration, default 40m)
# Output: the terminal and build/bench/ann1m-<size>.txt.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
size=${1:-1Mx128}
out="$root/build/bench/ann1m-$size.txt"
mkdir -p "$root/build/bench/bin"
cd "$root/bench/annbaseline"
# Compiled first, so no compiler shares the window.
go test -c -o "$root/build/bench/bin/annbaseline.test" .
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load: $(uptime | sed 's/.*load average: //')"
  echo "\$ AISLE_ANN_BENCH=$size AISLE_ANN_CODER_LIMIT=${AISLE_ANN_CODER_LIMIT:-40m} nice -n 5 annbaseline.test -test.run '^\$' -test.bench . -test.benchtime ${BENCHTIME:-300x} -test.timeout 3h"
  AISLE_ANN_BENCH=$size AISLE_ANN_CODER_LIMIT=${AISLE_ANN_CODER_LIMIT:-40m} \
    nice -n 5 "$root/build/bench/bin/annbaseline.test" -test.run '^$' -test.bench . \
    -test.benchtime "${BENCHTIME:-300x}" -test.timeout 3h
  echo "end: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load: $(uptime | sed 's/.*load average: //')"
} 2>&1 | tee "$out"
