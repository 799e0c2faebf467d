#!/usr/bin/env bash
# Served throughput and latency over gRPC with ghz, batching on and off, at
# client concurrency 1 4 16 64 256, on loopback. Prints markdown rows:
#   model | batching | c | rps | p50 ms | p95 ms | p99 ms | errors
#
# usage: scripts/bench/serve_bench.sh mlp|encoder [seconds per point, default 10]
# env:   CONCURRENCY="1 4 16 64 256"  DELAY_US=<queue delay>
#        ON_INSTANCES/ON_INTRA, OFF_INSTANCES/OFF_INTRA: sessions and intra-op threads per mode
# The encoder needs build/bench/models/bench-encoder (scripts/bench/make_encoder.py).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
model=${1:?usage: serve_bench.sh mlp|encoder [seconds]}
secs=${2:-10}
conc=${CONCURRENCY:-1 4 16 64 256}
ghz=${GHZ:-$root/third_party/bin/ghz}
[ -x "$ghz" ] || GOBIN="$root/third_party/bin" go install github.com/bojand/ghz/cmd/ghz@v0.93.0
make -s build >/dev/null

case "$model" in
mlp)
  src=testdata/onnx/mlp.onnx
  delay=${DELAY_US:-200}
  data=$(python3 -c 'import json;print(json.dumps({"model_name":"bench","inputs":[{"name":"x","datatype":"FP32","shape":[1,64],"contents":{"fp32_contents":[0.5]*64}}]}))')
  ragged=""
  ;;
encoder)
  src=build/bench/models/bench-encoder/1/model.onnx
  [ -f "$src" ] || /usr/bin/python3 scripts/bench/make_encoder.py >/dev/null
  delay=${DELAY_US:-2000}
  data=$(python3 -c '
import json
ids=[101]+[2000+i for i in range(14)]+[102]
t=lambda n,v:{"name":n,"datatype":"INT64","shape":[1,16],"contents":{"int64_contents":v}}
print(json.dumps({"model_name":"bench","inputs":[t("input_ids",ids),t("attention_mask",[1]*16),t("token_type_ids",[0]*16)]}))')
  ragged="inputs:
  - {name: input_ids, data_type: INT64, dims: [-1], ragged: true}
  - {name: attention_mask, data_type: INT64, dims: [-1], ragged: true}
  - {name: token_type_ids, data_type: INT64, dims: [-1], ragged: true}
outputs:
  - {name: embedding, data_type: FP32, dims: [256]}"
  ;;
*) echo "unknown model $model" >&2; exit 2 ;;
esac

run_mode() { # $1 = on|off
  local repo port hport pid
  repo=$(mktemp -d)
  mkdir -p "$repo/bench/1"
  cp "$src" "$repo/bench/1/model.onnx"
  {
    echo "max_batch_size: 64"
    [ -n "$ragged" ] && echo "$ragged"
    if [ "$1" = on ]; then
      echo "instance_group: [{count: ${ON_INSTANCES:-1}, kind: KIND_CPU}]"
      echo "runtime: {intra_op_threads: ${ON_INTRA:-2}, inter_op_threads: 1}"
    else
      echo "instance_group: [{count: ${OFF_INSTANCES:-2}, kind: KIND_CPU}]"
      echo "runtime: {intra_op_threads: ${OFF_INTRA:-1}, inter_op_threads: 1}"
    fi
    if [ "$1" = on ]; then
      echo "dynamic_batching: {max_queue_delay_microseconds: $delay, default_queue_policy: {max_queue_size: 4096}}"
    fi
  } >"$repo/bench/config.yaml"
  port=$((20000 + RANDOM % 20000))
  ./bin/aisle serve --models "$repo" --grpc-addr "127.0.0.1:$port" --http-addr "" --poll-interval 0 --log-level warn &
  pid=$!
  trap 'kill $pid 2>/dev/null; rm -rf "$repo"' RETURN
  for _ in $(seq 50); do
    "$ghz" --insecure --call inference.GRPCInferenceService/ModelInfer -d "$data" -n 1 "127.0.0.1:$port" >/dev/null 2>&1 && break
    sleep 0.2
  done
  "$ghz" --insecure --call inference.GRPCInferenceService/ModelInfer -d "$data" -c 16 -z 2s "127.0.0.1:$port" >/dev/null 2>&1
  for c in $conc; do
    "$ghz" --insecure --call inference.GRPCInferenceService/ModelInfer -d "$data" -c "$c" -z "${secs}s" \
      -O json "127.0.0.1:$port" 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)
lat = {d["percentage"]: d["latency"] / 1e6 for d in r.get("latencyDistribution") or []}
codes = r.get("statusCodeDistribution") or {}
errs = sum(v for k, v in codes.items() if k != "OK")
print("| %s | %s | %s | %.0f | %.2f | %.2f | %.2f | %d |" % (sys.argv[1], sys.argv[2], sys.argv[3], r["rps"], lat.get(50, 0), lat.get(95, 0), lat.get(99, 0), errs))
' "$model" "$1" "$c"
  done
}

echo "| model | batching | c | rps | p50 ms | p95 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|---|---|"
run_mode on
run_mode off
