#!/usr/bin/env bash
# docs/evaluation.md A10: trains the Groceries training-data-preparation variants, one
# at a time, into build/gnn/ablation/<variant>/ (git-ignored). Every variant is the
# shipped setting (scripts/gnn/train.sh: set-mode both, lr 3e-3, 14 epochs, patience
# 4, lr step 5, d 64, step 1, seed 1) with one preparation flag changed
# (scripts/gnn/samples.py). Score them with scripts/eval/run_ablation.py.
#
#   nice -n 5 scripts/eval/ablate_prep.sh              # every variant, in A10's order
#   nice -n 5 scripts/eval/ablate_prep.sh prefix once  # only some
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export AISLE_SHARED="${AISLE_SHARED:-$root/../shared}" OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
blas=$(bash scripts/gnn/openblas.sh)
if [ -n "$blas" ]; then export LD_LIBRARY_PATH="$blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
S=(--dataset groceries --epochs 14 --patience 4 --lr 3e-3 --lr-dc-step 5 --dim 64 --step 1
   --set-mode both --skip-baselines --protocol)
# The order is A10's: variants are run in it until the time runs out. <variant>-seed2 is
# the same variant with seed 2 (A10's supplementary second seed).
all=(shipped prefix holdout once file orders1 pool1 nomask shipped-seed2)
[ $# -gt 0 ] || set -- "${all[@]}"
mkdir -p build/gnn/ablation
for v in "$@"; do
  seed=(--seed 1)
  [[ $v == *-seed2 ]] && seed=(--seed 2)
  case ${v%-seed2} in
    shipped) x=() ;;
    prefix) x=(--set-mode prefix) ;;
    holdout) x=(--set-mode holdout) ;;
    once) x=(--set-order once) ;;
    file) x=(--set-order file) ;;
    orders1) x=(--holdout-orders 1) ;;
    pool1) x=(--batch-pool 1) ;;
    nomask) x=(--no-loss-mask) ;;
    *) echo "unknown variant $v" >&2; exit 2 ;;
  esac
  d=build/gnn/ablation/$v
  /usr/bin/python3 scripts/gnn/train.py "${S[@]}" "${seed[@]}" "${x[@]}" --out "$d" --work "$d" \
    > build/gnn/ablation/"$v".log 2>&1
  grep -E "best val epoch|SR-GNN " build/gnn/ablation/"$v".log | sed "s/^/$v: /"
done
