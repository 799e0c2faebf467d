#!/usr/bin/env bash
# Served throughput and latency over gRPC with ghz on loopback (ghz shares the
# machine's cores with the server). Prints one markdown row per point:
#   what | batching | layout | delay µs | c | ok rps | p50 | p95 | p99 ms | rows/batch | server cores | busy cores | errors | cancelled
#
# usage: scripts/bench/serve_bench.sh MODE [seconds per point, default 10]
# MODE:
#   mlp      testdata/onnx/mlp.onnx over KServe ModelInfer, batching on then off
#   encoder  the BERT-sized benchmark encoder (build/bench, scripts/bench/make_encoder.py),
#            one 16-token query per ModelInfer, batching on then off
#   health   the empty RPC: grpc.health.v1.Health/Check (the server's gRPC ceiling)
#   embed    aisle.v1.Personalization/EmbedQuery {"texts":["organic whole milk"]} on a copy
#            of models/query-encoder
#   recommend aisle.v1.Personalization/RecommendCart {"item_names":["whole milk","domestic eggs"],"k":10}
#            on a copy of models/cart-gnn
# env (all optional):
#   CONCURRENCY="1 4 16 32 64 256"  client concurrency points (ghz -c)
#   MODES="on off"                mlp/encoder: which batching modes to run
#   ON_INSTANCES ON_INTRA         batching on: sessions x intra-op threads; default the best
#                                 measured (docs/TUNING.md): mlp 1x1, encoder 1x2
#   OFF_INSTANCES=2 OFF_INTRA=1   batching off: sessions x intra-op threads (one Run per request)
#   DELAY_US                      max_queue_delay_microseconds (default mlp 0, encoder 2000)
#   MAX_BATCH=64                  max_batch_size
#   PREFERRED=""                  preferred_batch_size list, e.g. "16,32"
#   SPIN=""                       runtime allow_spinning (true/false) for mlp/encoder; empty: runtime default
#   SERVE_FLAGS=""                extra `aisle serve` flags (embed/recommend: e.g. --intra-op-threads 2)
#   INSTANCES=""                  embed/recommend: instance_group count of the copied config
#   GHZ_CPUS=""                   ghz --cpus (default: all cores)
#   WARMUP=2                      warm-up seconds (at c=64) before the points
#
# ghz -z cuts off the calls in flight when the time is up (they fail with "transport is
# closing" or code Canceled) and counts them as errors: they are reported apart ("cancelled", at most c)
# and left out of "errors" and of "ok rps", which counts OK responses only. "rows/batch" is the server's
# aisle_inference_count_total / aisle_execution_count_total over the point, "server
# cores" the server process's CPU time over the point's wall time, "busy cores" the
# whole machine's (server + ghz + anything else running).
set -euo pipefail
command -v curl >/dev/null || { echo "serve_bench.sh: curl is required to read the server's metrics (apt-get install curl)" >&2; exit 1; }
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mode=${1:?usage: serve_bench.sh mlp|encoder|health|embed|recommend [seconds]}
secs=${2:-10}
conc=${CONCURRENCY:-1 4 16 32 64 256}
ghz=${GHZ:-$root/third_party/bin/ghz}
[ -x "$ghz" ] || GOBIN="$root/third_party/bin" go install github.com/bojand/ghz/cmd/ghz@v0.93.0
make -s build >/dev/null
# shellcheck source=scripts/bench/ready.sh
. "$root/scripts/bench/ready.sh"
ghz_cpus=()
[ -n "${GHZ_CPUS:-}" ] && ghz_cpus=(--cpus "$GHZ_CPUS")

call=inference.GRPCInferenceService/ModelInfer
src="" ragged="" delay=0 copydir="" on_inst=1 on_intra=1
case "$mode" in
mlp | health)
  src=testdata/onnx/mlp.onnx
  delay=${DELAY_US:-0}
  on_inst=${ON_INSTANCES:-1} on_intra=${ON_INTRA:-1}
  data=$(python3 -c 'import json;print(json.dumps({"model_name":"bench","inputs":[{"name":"x","datatype":"FP32","shape":[1,64],"contents":{"fp32_contents":[0.5]*64}}]}))')
  if [ "$mode" = health ]; then
    call=grpc.health.v1.Health/Check
    data='{}'
  fi
  ;;
encoder)
  src=build/bench/models/bench-encoder/1/model.onnx
  [ -f "$src" ] || /usr/bin/python3 scripts/bench/make_encoder.py >/dev/null
  delay=${DELAY_US:-2000}
  on_inst=${ON_INSTANCES:-1} on_intra=${ON_INTRA:-2}
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
embed)
  copydir=models/query-encoder
  call=aisle.v1.Personalization/EmbedQuery
  data='{"texts":["organic whole milk"]}'
  ;;
recommend)
  copydir=models/cart-gnn
  call=aisle.v1.Personalization/RecommendCart
  data='{"item_names":["whole milk","domestic eggs"],"k":10}'
  ;;
*) echo "unknown mode $mode" >&2; exit 2 ;;
esac

# write_repo DIR on|off: a one-model repository for the mode.
write_repo() {
  local repo=$1 batching=$2
  if [ -n "$copydir" ]; then
    local name
    name=$(basename "$copydir")
    cp -r "$copydir" "$repo/$name"
    # RecommendCart needs the cart pipeline; a config regenerated without the key
    # would otherwise serve the GNN only as a plain model.
    if [ "$mode" = recommend ] && ! grep -q '^ *pipeline:' "$repo/$name/config.yaml"; then
      sed -i 's/^parameters:$/parameters:\n  pipeline: cart-gnn/' "$repo/$name/config.yaml"
    fi
    if [ -n "${INSTANCES:-}" ]; then
      sed -i "s/^instance_group: \[{count: [0-9]*/instance_group: [{count: $INSTANCES/" "$repo/$name/config.yaml"
      grep -q "count: $INSTANCES" "$repo/$name/config.yaml" || { echo "INSTANCES: no one-line instance_group in $copydir" >&2; exit 2; }
    fi
    return
  fi
  mkdir -p "$repo/bench/1"
  cp "$src" "$repo/bench/1/model.onnx"
  {
    echo "max_batch_size: ${MAX_BATCH:-64}"
    [ -n "$ragged" ] && echo "$ragged"
    local inst intra spin=""
    if [ "$batching" = on ]; then inst=$on_inst intra=$on_intra; else inst=${OFF_INSTANCES:-2} intra=${OFF_INTRA:-1}; fi
    [ -n "${SPIN:-}" ] && spin=", allow_spinning: $SPIN"
    echo "instance_group: [{count: $inst, kind: KIND_CPU}]"
    echo "runtime: {intra_op_threads: $intra, inter_op_threads: 1$spin}"
    if [ "$batching" = on ]; then
      local pref=""
      [ -n "${PREFERRED:-}" ] && pref="preferred_batch_size: [${PREFERRED}], "
      echo "dynamic_batching: {${pref}max_queue_delay_microseconds: $delay, default_queue_policy: {max_queue_size: 4096}}"
    fi
  } >"$repo/bench/config.yaml"
}

# counters PID HPORT: "server_ticks busy_ticks inferences executions"
counters() {
  local st busy inf exe
  st=$(awk '{print $14+$15}' "/proc/$1/stat")
  busy=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat)
  read -r inf exe < <(curl -s "http://127.0.0.1:$2/metrics" | awk '
    /^aisle_inference_count_total/ {i+=$NF} /^aisle_execution_count_total/ {e+=$NF}
    END {printf "%d %d\n", i, e}')
  echo "$st $busy $inf $exe"
}

# The server of the mode being run, and its repository; stop_server ends it (at the end of
# run_mode, and on exit when wait_ready or check_alive gives up or a command fails).
pid="" repo=""
stop_server() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ -n "$repo" ]; then rm -rf "$repo"; fi
  pid="" repo=""
}
trap stop_server EXIT

run_mode() { # $1 = on|off
  local port hport label layout d
  repo=$(mktemp -d)
  write_repo "$repo" "$1"
  port=$((20000 + RANDOM % 20000))
  hport=$((port + 1))
  # shellcheck disable=SC2086
  ./bin/aisle serve --models "$repo" --grpc-addr "127.0.0.1:$port" --http-addr "127.0.0.1:$hport" \
    --poll-interval 0 --log-level warn ${SERVE_FLAGS:-} &
  pid=$!
  # Ready: every model of the repository serves (strict readiness, the default).
  wait_ready "$pid" "http://127.0.0.1:$hport/readyz" 60 "the server's output above"
  timeout 60 "$ghz" --insecure --call "$call" -d "$data" -c 64 -z "${WARMUP:-2}s" "127.0.0.1:$port" >/dev/null 2>&1 || true
  check_alive "$pid" "the server's output above"
  sleep 1 # let the calls ghz cut off leave the queue
  label=$mode layout=- d=-
  case "$mode" in
  mlp | encoder)
    if [ "$1" = on ]; then layout="${on_inst}x${on_intra}" d=$delay; else layout="${OFF_INSTANCES:-2}x${OFF_INTRA:-1}"; fi
    [ -n "${PREFERRED:-}" ] && d="$d pref ${PREFERRED}"
    [ -n "${SPIN:-}" ] && layout="$layout spin=$SPIN"
    ;;
  health) ;;
  *) layout="${SERVE_FLAGS:-shipped config}${INSTANCES:+, $INSTANCES instances}" ;;
  esac
  for c in $conc; do
    local before after
    before=$(counters "$pid" "$hport")
    # shellcheck disable=SC2068
    timeout $((secs + 60)) "$ghz" --insecure --call "$call" -d "$data" -c "$c" -z "${secs}s" ${ghz_cpus[@]+"${ghz_cpus[@]}"} \
      -O json "127.0.0.1:$port" 2>/dev/null >"$repo/ghz.json" || true
    check_alive "$pid" "the server's output above"
    after=$(counters "$pid" "$hport")
    sleep 1
    python3 - "$repo/ghz.json" "$label" "$1" "$layout" "$d" "$c" "$before" "$after" "$(getconf CLK_TCK)" <<'EOF'
import json, sys
path, label, batching, layout, delay, c, before, after, tck = sys.argv[1:]
r = json.load(open(path))
b = [float(x) for x in before.split()]
a = [float(x) for x in after.split()]
secs = r["total"] / 1e9
codes = r.get("statusCodeDistribution") or {}
ok = codes.get("OK", 0)
# Calls cut off by ghz at the end of -z fail with "transport is closing"
# (Unavailable) or code Canceled ("context canceled", "the client connection
# is closing"): ghz's doing, not the server's errors.
edist = r.get("errorDistribution") or {}
cut = lambda k: "transport is closing" in k or "code = Canceled" in k
cancelled = sum(v for k, v in edist.items() if cut(k))
errors = sum(v for k, v in codes.items() if k != "OK") - cancelled
lat = {d["percentage"]: d["latency"] / 1e6 for d in r.get("latencyDistribution") or []}
rows = (a[2] - b[2]) / (a[3] - b[3]) if a[3] > b[3] else float("nan")
cores = (a[0] - b[0]) / float(tck) / secs
busy = (a[1] - b[1]) / float(tck) / secs
print("| %s | %s | %s | %s | %s | %.0f | %.2f | %.2f | %.2f | %.1f | %.2f | %.2f | %d | %d |" % (
    label, batching, layout, delay, c, ok / secs, lat.get(50, 0), lat.get(95, 0), lat.get(99, 0),
    rows, cores, busy, errors, cancelled))
for k, v in edist.items():
    if not cut(k):
        print("<!-- c=%s: %d x %s -->" % (c, v, k[:200]))
EOF
  done
  stop_server
}

echo "<!-- $(date -u '+%Y-%m-%d %H:%M:%S UTC'); $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs); load$(uptime | sed 's/.*load average//') -->"
echo "| what | batching | layout | delay µs | c | ok rps | p50 ms | p95 ms | p99 ms | rows/batch | server cores | busy cores | errors | cancelled |"
echo "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
case "$mode" in
mlp | encoder) for m in ${MODES:-on off}; do run_mode "$m"; done ;;
health) run_mode off ;;
*) run_mode on ;;
esac
echo "<!-- done $(date -u '+%H:%M:%S UTC'); load$(uptime | sed 's/.*load average//') -->"
