#!/usr/bin/env bash
# Trains, exports, evaluates and checks aisle's query encoder, and writes its INT8 export
# (1/model.int8.onnx, scripts/encoder/quantize.py) with FP32-vs-INT8 tables in build/encoder/*/eval-int8.md.
# See docs/models-encoder.md.
#
#   scripts/encoder/train.sh              # default model (Groceries) -> models/query-encoder/
#   scripts/encoder/train.sh --instacart  # also the Instacart model -> build/encoder/instacart/
#   scripts/encoder/train.sh --no-checks  # skip the Hugging Face tokenizers / ONNX Runtime checks
#   scripts/encoder/train.sh --instacart --hard-negatives
#       # also the same-aisle hard-negative Instacart model -> build/encoder/instacart-hardneg/ and its
#       # query-protocol rows -> build/eval/queries-hardneg.json (amendment A8; never shipped)
#
# Data: ../shared/data relative to the repository (override with AISLE_DATA); when it is absent
# the script says so and exits 0. Checks run with node + the npm packages tokenizers@0.23.2 and
# onnxruntime-node@1.24.1, taken from ENCODER_NODE_MODULES (default build/encoder/node/node_modules,
# installed there with `npm install --ignore-scripts` when missing).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
data="${AISLE_DATA:-$root/../shared/data}"
py=/usr/bin/python3
"$root/scripts/setup-python.sh"
instacart=0
checks=1
hardneg=0
for arg in "$@"; do
  case "$arg" in
    --instacart) instacart=1 ;;
    --no-checks) checks=0 ;;
    --hard-negatives) hardneg=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "train.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
if [ "$hardneg" = 1 ] && [ "$instacart" != 1 ]; then
  echo "train.sh: --hard-negatives needs --instacart" >&2
  exit 2
fi

for need in groceries/groceries.csv groceries/arules_data_src/Groceries.labels instacart/products.csv bert-base-uncased-vocab/vocab.txt; do
  if [ ! -f "$data/$need" ]; then
    echo "train.sh: $data/$need not found: shared data absent, nothing trained (skipped)"
    exit 0
  fi
done

node_modules="${ENCODER_NODE_MODULES:-$root/build/encoder/node/node_modules}"
run_checks() { # $1 = model repository folder, $2 = tokcheck.jsonl, $3 = golden (optional)
  [ "$checks" = 1 ] || return 0
  if [ ! -d "$node_modules/tokenizers" ] || [ ! -d "$node_modules/onnxruntime-node" ]; then
    if command -v npm >/dev/null; then
      mkdir -p "$(dirname "$node_modules")"
      (cd "$(dirname "$node_modules")" && npm install --silent --no-save --no-package-lock --ignore-scripts \
        tokenizers@0.23.2 onnxruntime-node@1.24.1 >/dev/null) || true
    fi
  fi
  if [ ! -d "$node_modules/tokenizers" ] || ! command -v node >/dev/null; then
    echo "train.sh: WARNING: node or npm tokenizers@0.23.2 unavailable, Hugging Face checks SKIPPED" >&2
    return 0
  fi
  NODE_PATH="$node_modules" node scripts/encoder/check_tokenizer.js "$1/tokenizer.json" "$2"
  if [ -n "${3:-}" ]; then
    NODE_PATH="$node_modules" node scripts/encoder/check_onnx.js "$1/1/model.onnx" "$3"
  fi
}

"$py" scripts/encoder/train_encoder.py --dataset groceries --eval --data "$data"
"$py" scripts/encoder/quantize.py --eval --dataset groceries --data "$data" models/query-encoder
run_checks models/query-encoder build/encoder/groceries/tokcheck.jsonl models/query-encoder/golden_embeddings.jsonl

if [ "$instacart" = 1 ]; then
  "$py" scripts/encoder/train_encoder.py --dataset instacart --eval --data "$data"
  "$py" scripts/encoder/quantize.py --eval --dataset instacart --data "$data" build/encoder/instacart/query-encoder-instacart
  run_checks build/encoder/instacart/query-encoder-instacart build/encoder/instacart/tokcheck.jsonl \
    build/encoder/instacart/query-encoder-instacart/golden_embeddings.jsonl
fi

if [ "$hardneg" = 1 ]; then
  "$py" scripts/encoder/train_encoder.py --dataset instacart --hard-negatives same-aisle --data "$data"
  AISLE_DATA="$data" "$py" scripts/eval/run_query.py
  AISLE_DATA="$data" ENCODER_PT=build/encoder/instacart-hardneg/model.pt EVAL_QUERY_OUT=build/eval/queries-hardneg.json \
    "$py" scripts/eval/run_query.py --encoder-only "encoder, same-aisle hard negatives"
fi
