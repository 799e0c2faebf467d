#!/usr/bin/env bash
# Overload: an RPC at FACTOR times its measured capacity, with the model's batching config
# static (as before admission control) and/or with a latency objective. Loopback only, every
# load run bounded. Prints one markdown row per config:
#   rpc | config | load gen (aisle-overload: its schedule's worst lag, calls unsent) | pinning | capacity rps | offered rps | sent | OK | RESOURCE_EXHAUSTED |
#   other | goodput rps | accepted p50 / p99 ms | refused p50 / p99 ms | peak RSS MiB | before rps |
#   recovery rps (errors, refusals) | load avg
#
# usage: scripts/bench/overload.sh encoder|embed|recommend
#   encoder    KServe ModelInfer of one 16-token query on the BERT-sized benchmark encoder
#              (build/bench, scripts/bench/make_encoder.py; 1 instance x 2 intra-op threads,
#              the best layout in docs/TUNING.md): the model's cost dominates the call's
#   embed      aisle.v1.Personalization/EmbedQuery on a copy of models/query-encoder
#   recommend  aisle.v1.Personalization/RecommendCart on a copy of models/cart-gnn
# env (optional): SECS=10 overload seconds; FACTOR=3; CONC=512 calls outstanding during overload;
#   CAP_CONC=256 concurrency of the capacity point; CONFIGS="static objective";
#   TARGET_US=50000 the objective's p99 target; SERVE_FLAGS extra `aisle serve` flags
#   (SERVE_FLAGS=--latency-target=0: the static per-method limit alone, as before the adaptive one);
#   LOADGEN=go (bench/cmd/aisle-overload, compiled, 4 connections, at most CONC calls outstanding:
#   the calls past it are not sent and counted as unsent) or ghz (v0.93.0, 1 connection, CONC workers);
#   SPIN=off adds `allow_spinning: false` to the model's runtime block (ONNX Runtime's idle pool
#   threads sleep instead of spinning); PIN=S:C runs the server under `taskset -c S` and the load
#   generator under `taskset -c C` (PIN=1:0 on 2 cores; capacity is measured under the same pinning);
#   AISLE=path serves with that aisle binary instead of building bin/aisle (an older build, for A/B).
#
# capacity = OK rps of a closed loop at CAP_CONC (large batches: the best rate) for SECS/2 s,
# measured once, on a server of its own with the static config and `--latency-target 0` (the
# adaptive limit would refuse part of a closed loop of 256 and understate it), unless CAP is set;
# every config is then offered the same FACTOR x capacity, open loop (ghz --rps / aisle-overload
# --rps), SECS s of calls, 20 s timeout per call. "before" is the OK rps of a 2 s closed loop at
# c=16 (below capacity) before the overload, "recovery" the same for 1 s started right after the
# last overload call answered (with its non-OK count); peak RSS is the server's VmHWM at the end
# (model loading included); load avg is `uptime`'s 1-minute figure after the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mode=${1:?usage: overload.sh encoder|embed|recommend}
secs=${SECS:-10}
factor=${FACTOR:-3}
conc=${CONC:-512}
cap_conc=${CAP_CONC:-256}
target=${TARGET_US:-50000}
loadgen=${LOADGEN:-go}
spin=${SPIN:-on}
srv_pin=() cli_pin=() pin=none
if [ -n "${PIN:-}" ]; then
  srv_pin=(taskset -c "${PIN%%:*}") cli_pin=(taskset -c "${PIN##*:}") pin="server ${PIN%%:*}, client ${PIN##*:}"
fi
ghz=${GHZ:-$root/third_party/bin/ghz}
if [ "$loadgen" = ghz ]; then
  [ -x "$ghz" ] || GOBIN="$root/third_party/bin" go install github.com/bojand/ghz/cmd/ghz@v0.93.0
else
  (cd bench && go build -o ../bin/aisle-overload ./cmd/aisle-overload)
fi
aisle=${AISLE:-bin/aisle}
[ -n "${AISLE:-}" ] || go build -o bin/aisle ./cmd/aisle

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

# write_repo REPO BLOCK: a copy of the model with its dynamic_batching block replaced (and, with
# SPIN=off, allow_spinning: false in its runtime block).
write_repo() {
  local spinkv=""
  [ "$spin" = off ] && spinkv="allow_spinning: false"
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
runtime: {intra_op_threads: 2, inter_op_threads: 1${spinkv:+, $spinkv}}
$2
EOF
    return
  fi
  cp -r "$dir" "$1/$name"
  python3 - "$1/$name/config.yaml" "$2" "$spinkv" <<'EOF'
import sys
path, block, spin = sys.argv[1], sys.argv[2], sys.argv[3]
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
    if spin and l.startswith("runtime:"):
        raise SystemExit("SPIN=off: the model already has a runtime block; edit the script")
    out.append(l)
if spin:
    out.append("runtime: {%s}" % spin)
open(path, "w").write("\n".join(out))
EOF
}

# stats FILE: "sent ok re other ok_rps acc_p50 acc_p99 rej_p50 rej_p99" from a ghz JSON report
# (aisle-overload prints that line itself, with the schedule's lag after it).
stats() {
  if [ "$loadgen" != ghz ]; then
    cat "$1"
    return
  fi
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

# load PORT OUT C SECS [RPS]: a closed loop of C workers for SECS s, or with RPS an open loop
# of RPS x SECS calls (C: ghz's workers; aisle-overload's cap on calls outstanding), into OUT.
load() {
  local port=$1 out=$2 c=$3 s=$4 rps=${5:-}
  if [ "$loadgen" = ghz ]; then
    local g=("${cli_pin[@]}" "$ghz" --insecure --call "$call" -d "$data" --connections 1 -O json)
    if [ -n "$rps" ]; then
      "${g[@]}" -c "$c" --rps "$rps" -n "$((rps * s))" -t 20s "127.0.0.1:$port" >"$out"
    else
      "${g[@]}" -c "$c" -z "${s}s" "127.0.0.1:$port" >"$out"
    fi
    return
  fi
  local a=("${cli_pin[@]}" bin/aisle-overload --addr "127.0.0.1:$port" --call "/$call" -d "$data" -z "${s}s" -t 20s)
  if [ -n "$rps" ]; then
    "${a[@]}" --rps "$rps" -c "$c" >"$out"
  else
    "${a[@]}" -c "$c" >"$out"
  fi
}

# shellcheck source=scripts/bench/ready.sh
. "$root/scripts/bench/ready.sh"

cap=${CAP:-}
repo="" out="" pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$repo" "$out"' EXIT

# start CONFIG [FLAGS...]: serve a fresh copy of the model with CONFIG's batching; sets pid,
# port, repo.
start() {
  local block=$static hport
  [ "$1" = objective ] && block=$objective
  shift
  repo=$(mktemp -d)
  write_repo "$repo" "$block"
  read -r port hport < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
  # shellcheck disable=SC2086
  "${srv_pin[@]}" "$aisle" serve --models "$repo" --grpc-addr "127.0.0.1:$port" --http-addr "127.0.0.1:$hport" \
    --poll-interval 0 --log-level warn ${SERVE_FLAGS:-} "$@" &
  pid=$!
  wait_ready "$pid" "http://127.0.0.1:$hport/readyz" 30 "the server's output above"
}

stop() {
  kill -TERM "$pid"
  wait "$pid" || true
  pid=""
  rm -rf "$repo"
}

measure_cap() {
  out=$(mktemp -d)
  start static --latency-target 0
  load "$port" /dev/null 16 2
  load "$port" "$out/cap" "$cap_conc" "$((secs / 2))"
  stop
  read -r _ _ _ _ cap _ < <(stats "$out/cap")
  rm -rf "$out"
}

run_config() { # $1 = static|objective
  out=$(mktemp -d)
  start "$1"
  load "$port" /dev/null 16 2
  local rate=$((cap * factor))
  load "$port" "$out/base" 16 2
  load "$port" "$out/over" "$conc" "$secs" "$rate"
  load "$port" "$out/rec" 16 1
  local hwm
  hwm=$(awk '/VmHWM/ {printf "%d", $2/1024}' "/proc/$pid/status")
  stop
  read -r sent ok re other okrps ap50 ap99 rp50 rp99 lag unsent < <(stats "$out/over")
  read -r _ _ _ _ bokrps _ < <(stats "$out/base")
  read -r _ _ rre rother rokrps _ < <(stats "$out/rec")
  local la
  la=$(awk '{print $1}' /proc/loadavg)
  echo "| $mode | $1 | $loadgen${lag:+ (lag $lag ms, $unsent unsent)} | $pin | $cap | $rate | $sent | $ok | $re | $other | $okrps | $ap50 / $ap99 | $rp50 / $rp99 | $hwm | $bokrps | $rokrps ($rother, $rre refused) | $la |"
  rm -rf "$out"
}

[ -n "$cap" ] || measure_cap
echo "| rpc | config | load gen | pinning | capacity rps | offered rps | sent | OK | RESOURCE_EXHAUSTED | other | goodput rps | accepted p50 / p99 ms | refused p50 / p99 ms | peak RSS MiB | before rps | recovery rps (errors, refusals) | load avg |"
echo "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in ${CONFIGS:-static objective}; do
  run_config "$c"
done
