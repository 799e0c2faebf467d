#!/usr/bin/env bash
# aisle's load-test suite in one command: builds bin/aisle and the load client
# (bench/, its own Go module), serves a copy of models/ (plus the BERT-sized
# bench-encoder when it is built) on loopback, drives every RPC scenario with
# held-out Groceries carts, queries and sessions (RecordEvents into the
# in-process store, then into a redis-server it starts on loopback when
# third_party/redis is set up), then Recommend over synthetic catalogues of
# 169, 5k and 50k items (one server each), stops everything and writes
# build/bench/load/{results.md,results.json,*.png,requests/*.json}.
#
# usage: scripts/bench/load.sh [--smoke] [aisle-load flags...]
#   --smoke   CI: every scenario at c=1 and 8 for 0.2 s, the catalogue sweep at 169 items, c=8
#             (seconds in all); figures not asserted, but it fails when a scenario's calls all fail
#             or any call fails with a code other than RESOURCE_EXHAUSTED (the expected refusal)
#   full run  c = 1,4,16,64,256,512 for 3 s each, the bench-encoder at 8..128 tokens, the
#             catalogue sweep at c=16 (~6–7 min)
#   e.g.      scripts/bench/load.sh -only embed,cart -c 1,64 -d 5s
#             scripts/bench/load.sh -only events -c 1,16,64   (RecordEvents, both stores)
#             scripts/bench/load.sh -only catalog -catalog 169,5000,50000 -catalog-c 16
# env: OUT (default build/bench/load), SERVE_FLAGS (extra `aisle serve` flags),
#      ENCODER_FILE (model.onnx or model.int8.onnx: which query-encoder file to serve),
#      BENCH_ENCODER_CONFIG (a config.yaml for bench-encoder instead of the one below),
#      AISLE_BIN (the server binary to run, default bin/aisle: a before/after comparison)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT:-build/bench/load}
smoke=0
[ "${1:-}" = --smoke ] && smoke=1
make -s build >/dev/null
(cd bench && go build -o ../build/bench/bin/aisle-load ./cmd/aisle-load)

repo=$out/repo
rm -rf "$repo"
mkdir -p "$repo"
# catalog.jsonl as `aisle serve --models models` has it: hybrid search's text
# signals, rerank attributes, and RecordEvents' item validation.
cp -r models/query-encoder models/cart-gnn models/mlp models/surfaces.yaml models/catalog.jsonl "$repo/"
if [ -n "${ENCODER_FILE:-}" ]; then
  sed -i "1i default_model_filename: $ENCODER_FILE" "$repo/query-encoder/config.yaml"
fi
# The BERT-sized encoder (positions up to 128) for the sequence-length sweep:
# built by scripts/bench/make_encoder.py (python3-torch) in a full run.
if [ "$smoke" = 0 ] && [ ! -f build/bench/models/bench-encoder/1/model.onnx ] && /usr/bin/python3 -c 'import torch, onnx' 2>/dev/null; then
  /usr/bin/python3 scripts/bench/make_encoder.py >/dev/null
fi
if [ -f build/bench/models/bench-encoder/1/model.onnx ]; then
  mkdir -p "$repo/bench-encoder/1"
  cp build/bench/models/bench-encoder/1/model.onnx "$repo/bench-encoder/1/"
  cat >"$repo/bench-encoder/config.yaml" <<'YAML'
max_batch_size: 64
inputs:
  - {name: input_ids, data_type: INT64, dims: [-1], ragged: true}
  - {name: attention_mask, data_type: INT64, dims: [-1], ragged: true}
  - {name: token_type_ids, data_type: INT64, dims: [-1], ragged: true}
outputs:
  - {name: embedding, data_type: FP32, dims: [256]}
instance_group: [{count: 1, kind: KIND_CPU}]
runtime: {intra_op_threads: 2, inter_op_threads: 1}
dynamic_batching: {max_queue_delay_microseconds: 2000, default_queue_policy: {max_queue_size: 4096}}
YAML
  if [ -n "${BENCH_ENCODER_CONFIG:-}" ]; then cp "$BENCH_ENCODER_CONFIG" "$repo/bench-encoder/config.yaml"; fi
fi
exec build/bench/bin/aisle-load -root . -server "${AISLE_BIN:-bin/aisle}" -models "$repo" -out "$out" \
  -serve-flags "${SERVE_FLAGS:-}" "$@"
