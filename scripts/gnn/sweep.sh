#!/usr/bin/env bash
# Hyper-parameter sweep helper (val metrics only; logs to build/gnn/sweep/).
# usage: scripts/gnn/sweep.sh DATASET NAME [train.py args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
ds=$1 name=$2; shift 2
export LD_LIBRARY_PATH=$(bash "$root/scripts/gnn/openblas.sh")
mkdir -p "$root/build/gnn/sweep"
/usr/bin/python3 "$root/scripts/gnn/train.py" --dataset "$ds" --out "$root/build/gnn/sweep/$ds-$name" \
  --work "$root/build/gnn/sweep/$ds-$name" --skip-baselines --no-refit "$@" > "$root/build/gnn/sweep/$ds-$name.log" 2>&1
grep -E "^  epoch" "$root/build/gnn/sweep/$ds-$name.log" | sort -t" " -k13 -g | tail -1; grep "best val" "$root/build/gnn/sweep/$ds-$name.log"
