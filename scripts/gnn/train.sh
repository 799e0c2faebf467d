#!/usr/bin/env bash
# Trains, evaluates and exports the SR-GNN cart models on all three datasets,
# then writes the goldens and the results table (docs/models-gnn.md).
#
#   scripts/gnn/train.sh            # all datasets (about 8 min on 2 idle cores)
#   scripts/gnn/train.sh groceries  # only some
#
# Needs Debian's /usr/bin/python3 with python3-torch, python3-onnx, python3-numpy,
# and ../shared/data. Outputs: models/cart-gnn/ (Groceries, committed),
# build/gnn/{instacart,diginetica}/ (git-ignored: their data may not be redistributed),
# build/gnn/<dataset>/results.json + model.pt, graphnn/testdata/*.jsonl,
# build/gnn/results.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
py=/usr/bin/python3
"$root/scripts/setup-python.sh"
# Single-threaded OpenBLAS for torch's matmuls (see openblas.sh); seeded runs are
# reproducible for a given BLAS.
blas=$(bash scripts/gnn/openblas.sh)
if [ -n "$blas" ]; then export LD_LIBRARY_PATH="$blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

datasets=("$@")
[ ${#datasets[@]} -gt 0 ] || datasets=(groceries instacart diginetica)
common=(--epochs 14 --patience 4 --lr 3e-3 --lr-dc-step 5 --dim 64 --step 1 --seed 1)
for ds in "${datasets[@]}"; do
  case $ds in
    groceries) out=models/cart-gnn; extra=(--set-mode both) ;;
    # Chosen on validation MRR@20 (docs/models-gnn.md, "What was tried").
    instacart) out=build/gnn/$ds
      extra=(--side-features --init-ppmi --dropout 0.2 --lr 1e-3 --lr-dc-step 3 --epochs 6 --patience 2) ;;
    diginetica) out=build/gnn/$ds
      extra=(--repeat --lr 1e-3 --lr-dc-step 3 --epochs 10 --patience 4) ;;
    *) echo "unknown dataset $ds" >&2; exit 2 ;;
  esac
  mkdir -p build/gnn/"$ds"
  start=$(date +%s)
  "$py" scripts/gnn/train.py --dataset "$ds" --out "$out" "${common[@]}" "${extra[@]}" \
    2>&1 | tee build/gnn/"$ds"/train.log
  echo "$ds: $(( $(date +%s) - start ))s wall"
done
"$py" scripts/gnn/golden.py
"$py" scripts/gnn/report.py
