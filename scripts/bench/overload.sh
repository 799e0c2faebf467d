#!/usr/bin/env bash
# Overload: an RPC at FACTOR times its measured capacity, with the model's batching config
# static (as before admission control) and with a latency objective. Loopback only, ghz on the
# same cores as the server, every ghz run bounded (-z or -n). Prints one markdown row per config:
#   rpc | config | capacity rps | offered rps | sent | OK | RESOURCE_EXHAUSTED | other |
#   goodput rps | accepted p50 / p99 ms | refused p50 / p99 ms | peak RSS MiB | before rps |
#   recovery rps (errors, refusals)
#
# usage: scripts/bench/overload.sh encoder|embed|recommend
#   encoder    KServe ModelInfer of one 16-token query on the BERT-sized benchmark encoder
#              (build/bench, scripts/bench/make_encoder.py; 1 instance x 2 intra-op threads,
#              the best layout in docs/TUNING.md): the model's cost dominates the call's
#   embed      aisle.v1.Personalization/EmbedQuery on a copy of models/query-encoder
#   recommend  aisle.v1.Personalization/RecommendCart on a copy of models/cart-gnn
# env (optional): SECS=10 overload seconds; FACTOR=3; CONC=512 ghz workers during overload;
#   CAP_CONC=256 concurrency of the capacity point; CONFIGS="static objective";
#   TARGET_US=50000 the objective's p99 target; SERVE_FLAGS extra `aisle serve` flags
#   (SERVE_FLAGS=--latency-target=0: the static per-method limit alone, as before the adaptive one).
#
# capacity = OK rps of a closed loop at CAP_CONC (large batches: the best rate) for SECS/2 s,
# measured once, on the first config (static: nothing refused), unless CAP is set; every config
# is then offered the same FACTOR x capacity, open loop: ghz --rps, -n = rate x SECS calls, 20 s
# timeout per call. "before" is the OK rps of a 2 s closed loop at c=16 (below capacity) before
# the overload, "recovery" the same for 1 s started right after it ends (with its non-OK count);
# peak RSS is the server's VmHWM at the end (model loading included).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mode=${1:?usage: overload.sh encoder|embed|recommend}
secs=${SECS:-10}
factor=${FACTOR:-3}
conc=${CONC:-512}
cap_conc=${CAP_CONC:-256}
target=${TARGET_US:-50000}
ghz=${GHZ:-$root/third_party/bin/ghz}
[ -x "$ghz" ] || GOBIN="$root/third_party/bin" go install github.com/bojand/ghz/cmd/ghz@v0.93.0
go build -o bin/aisle ./cmd/aisle

case "$mode" in
encoder)
  dir="" name=bench
  src=build/bench/models/bench-encoder/1/model.onnx
  [ -f "$src" ] || /usr/bin/python3 scripts/bench/make_encoder.py >/dev/null
  call=inference.GRPCInferenceService/ModelInfer
  data=$(python3 -c '
import json
ids=[101]+[2000+i for i in range(14)]+[102]
t=lambda n,v:{"name":n,"datatype":"INT64","shape":[1,16],"contents":{"int64_contents":v}}
print(json.dumps({"model_name":"bench","inputs":[t("input_ids",ids),t("attention_mask",[1]*16),t("token_type_ids",[0]*16)]}))')
  static='dynamic_batching: {max_queue_delay_microseconds: 2000, default_queue_policy: {max_queue_size: 1024}}'
  ;;
embed)
  dir=models/query-encoder name=query-encoder
  call=aisle.v1.Personalization/EmbedQuery
  data='{"texts":["organic whole milk"]}'
  static='dynamic_batching: {max_queue_delay_microseconds: 500, default_queue_policy: {max_queue_size: 1024}}'
  ;;
recommend)
  dir=models/cart-gnn name=cart-gnn
  call=aisle.v1.Personalization/RecommendCart
  data='{"item_names":["whole milk","domestic eggs"],"k":10}'
  static='dynamic_batching: {max_queue_delay_microseconds: 200, default_queue_policy: {max_queue_size: 1024}}'
  ;;
*) echo "unknown mode $mode" >&2; exit 2 ;;
esac
objective="dynamic_batching: {latency_objective: {percentile: 99, target_microseconds: $target}, default_queue_policy: {max_queue_size: 1024}}"

# write_repo REPO BLOCK: a copy of the model with its dynamic_batching block replaced.
write_repo() {
  if [ -z "$dir" ]; then
    mkdir -p "$1/$name/1"
    cp "$src" "$1/$name/1/model.onnx"
    cat >"$1/$name/config.yaml" <<EOF
max_batch_size: 64
inputs:
  - {name: input_ids, data_type: INT64, dims: [-1], ragged: true}
  - {name: attention_mask, data_type: INT64, dims: [-1], ragged: true}
  - {name: token_type_ids, data_type: INT64, dims: [-1], ragged: true}
outputs:
  - {name: embedding, data_type: FP32, dims: [256]}
instance_group: [{count: 1, kind: KIND_CPU}]
runtime: {intra_op_threads: 2, inter_op_threads: 1}
$2
EOF
    return
  fi
  cp -r "$dir" "$1/$name"
  python3 - "$1/$name/config.yaml" "$2" <<'EOF'
import re, sys
path, block = sys.argv[1], sys.argv[2]
lines = open(path).read().split("\n")
out, skip = [], False
for l in lines:
    if l.startswith("dynamic_batching:"):
        skip = True
        out.append(block)
        continue
    if skip and (l.startswith(" ") or l.startswith("\t")):
        continue
    skip = False
    out.append(l)
open(path, "w").write("\n".join(out))
EOF
}

# stats FILE: "sent ok re other ok_rps acc_p50 acc_p99 rej_p50 rej_p99" from a ghz JSON report.
stats() {
  python3 - "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
d = r.get("details") or []
def pct(v, p):
    if not v: return float("nan")
    v = sorted(v); return v[min(len(v) - 1, int(p / 100 * len(v)))] / 1e6
ok = [x["latency"] for x in d if x.get("status") == "OK"]
re_ = [x["latency"] for x in d if x.get("status") == "ResourceExhausted"]
# ghz -z cuts off the calls in flight when time is up: not the server's errors.
cut = sum(1 for x in d if x.get("status") == "Canceled" or "closing" in (x.get("error") or ""))
other = len(d) - len(ok) - len(re_) - cut
span = r["total"] / 1e9
print(len(d), len(ok), len(re_), other, round(len(ok) / span), "%.1f %.1f %.2f %.2f" % (pct(ok, 50), pct(ok, 99), pct(re_, 50), pct(re_, 99)))
EOF
}

cap=${CAP:-}
repo="" out="" pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$repo" "$out"' EXIT

run_config() { # $1 = static|objective
  local port hport block
  repo=$(mktemp -d) out=$(mktemp -d)
  block=$static
  [ "$1" = objective ] && block=$objective
  write_repo "$repo" "$block"
  read -r port hport < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
  # shellcheck disable=SC2086
  bin/aisle serve --models "$repo" --grpc-addr "127.0.0.1:$port" --http-addr "127.0.0.1:$hport" \
    --poll-interval 0 --log-level warn ${SERVE_FLAGS:-} &
  pid=$!
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$hport/readyz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { echo "aisle serve exited" >&2; exit 1; }
    sleep 0.1
  done
  local g=("$ghz" --insecure --call "$call" -d "$data" --connections 1)
  "${g[@]}" -c 16 -z 2s "127.0.0.1:$port" >/dev/null
  if [ -z "$cap" ]; then
    "${g[@]}" -c "$cap_conc" -z "$((secs / 2))s" -O json "127.0.0.1:$port" >"$out/cap.json"
    cap=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(round(r["statusCodeDistribution"].get("OK",0)/(r["total"]/1e9)))' "$out/cap.json")
  fi
  local rate=$((cap * factor))
  "${g[@]}" -c 16 -z 2s -O json "127.0.0.1:$port" >"$out/base.json"
  "${g[@]}" -c "$conc" --rps "$rate" -n "$((rate * secs))" -t 20s -O json "127.0.0.1:$port" >"$out/over.json"
  "${g[@]}" -c 16 -z 1s -O json "127.0.0.1:$port" >"$out/rec.json"
  local hwm
  hwm=$(awk '/VmHWM/ {printf "%d", $2/1024}' "/proc/$pid/status")
  kill -TERM "$pid"
  wait "$pid" || true
  pid=""
  read -r sent ok re other okrps ap50 ap99 rp50 rp99 < <(stats "$out/over.json")
  read -r _ _ _ _ bokrps _ < <(stats "$out/base.json")
  read -r _ _ rre rother rokrps _ < <(stats "$out/rec.json")
  echo "| $mode | $1 | $cap | $rate | $sent | $ok | $re | $other | $okrps | $ap50 / $ap99 | $rp50 / $rp99 | $hwm | $bokrps | $rokrps ($rother, $rre refused) |"
  rm -rf "$repo" "$out"
}

echo "| rpc | config | capacity rps | offered rps | sent | OK | RESOURCE_EXHAUSTED | other | goodput rps | accepted p50 / p99 ms | refused p50 / p99 ms | peak RSS MiB | before rps | recovery rps (errors, refusals) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in ${CONFIGS:-static objective}; do
  run_config "$c"
done
