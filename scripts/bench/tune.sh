#!/usr/bin/env bash
# Batching trade-off sweep for docs/TUNING.md: serve_bench.sh with batching on over
# a grid of settings, at a few concurrencies, one table. Run it in one quiet window.
#
# usage: scripts/bench/tune.sh mlp|encoder [seconds per point, default 5]
# env:   LAYOUTS="1x1 1x2 2x1"   sessions x intra-op threads
#        DELAYS="0 500 2000"     max_queue_delay_microseconds
#        PREFS="-"               preferred_batch_size lists ("-" = none), e.g. "- 16 32"
#        SPINS="-"               allow_spinning values ("-" = runtime default), e.g. "- false"
#        CONCURRENCY="1 16 64"
#        ROUNDS=1                repeat the whole grid, rows prefixed with the round: the
#                                machine drifts, so compare close settings over rounds
# Each grid point starts a fresh server (serve_bench.sh MODES=on).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
model=${1:?usage: tune.sh mlp|encoder [seconds]}
secs=${2:-5}
export CONCURRENCY=${CONCURRENCY:-1 16 64}
first=1
rounds=${ROUNDS:-1}
for r in $(seq "$rounds"); do
for l in ${LAYOUTS:-1x1 1x2 2x1}; do
  for d in ${DELAYS:-0 500 2000}; do
    for p in ${PREFS:--}; do
      for s in ${SPINS:--}; do
        [ "$p" = - ] && p=""
        [ "$s" = - ] && s=""
        out=$(ON_INSTANCES=${l%x*} ON_INTRA=${l#*x} DELAY_US=$d PREFERRED=$p SPIN=$s MODES=on WARMUP=${WARMUP:-2} \
          scripts/bench/serve_bench.sh "$model" "$secs")
        [ "$rounds" -gt 1 ] && out=$(echo "$out" | sed -e "s/^| what/| round | what/" -e "/^| round/!s/^| \([a-z]\)/| r$r | \1/" -e "s/^|---/|---|---/")
        if [ $first = 1 ]; then
          echo "$out" | grep -v '^<!-- done'
          first=0
        else
          echo "$out" | grep '^| [a-z]' | grep -v '^| what\|^| round'
        fi
      done
    done
  done
done
done
echo "<!-- done $(date -u '+%H:%M:%S UTC'); load$(uptime | sed 's/.*load average//') -->"
