#!/usr/bin/env bash
# Served ÷ raw per server core for the query encoder (issue 13 item 2), in one window:
#   1. raw:  BenchmarkEmbedRaw (tokenize → one Run → pool, no scheduler, no gRPC), 1 session × 1
#            thread at batch B, as texts per CPU-second of the benchmark process;
#   2. served, compiled Go client (bench/cmd/aisle-load, its own process): EmbedQuery at c=C,
#            ok requests/s ÷ the server's CPU cores (/proc/<pid>/stat);
#   3. served, ghz (same requests file, same server config), the same ratio.
# B should match the rows/batch the served runs reach (printed). usage: overhead.sh [B] [C] [seconds]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
B=${1:-8} C=${2:-64} secs=${3:-5}
export ONNXRUNTIME_LIB=${ONNXRUNTIME_LIB:-$root/third_party/onnxruntime/libonnxruntime.so.1}
ghz=$root/third_party/bin/ghz
[ -x "$ghz" ] || GOBIN="$root/third_party/bin" go install github.com/bojand/ghz/cmd/ghz@v0.93.0
out=build/bench/overhead
mkdir -p "$out" build/bench/bin
go test -c -o build/bench/bin/embedding.test ./embedding/
echo "load: $(uptime | sed 's/.*load average: //')"
(cd embedding && ../build/bench/bin/embedding.test -test.run '^$' \
  -test.bench "BenchmarkEmbedRaw/model=fp32/layout=1x1/batch=$B\$" -test.benchtime 3s) | grep Bench
OUT=$out/go scripts/bench/load.sh -only embed -c "$C" -d "${secs}s" 2>&1 | grep 'c=' | cut -c21-
# ghz against a server started here on the repository load.sh prepared.
port=$((20000 + RANDOM % 20000))
bin/aisle serve --models "$out/go/repo" --grpc-addr "127.0.0.1:$port" --http-addr "127.0.0.1:$((port + 1))" \
  --poll-interval 0 --log-level warn >"$out/ghz-server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
# shellcheck source=scripts/bench/ready.sh
. "$root/scripts/bench/ready.sh"
wait_ready "$pid" "http://127.0.0.1:$((port + 1))/readyz" 20 "$out/ghz-server.log"
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
"$ghz" --insecure --call aisle.v1.Personalization/EmbedQuery --data-file "$out/go/requests/embed.json" \
  -c "$C" -z 1s "127.0.0.1:$port" >/dev/null # warm-up
t0=$(ticks) s0=$(date +%s.%N)
"$ghz" --insecure --call aisle.v1.Personalization/EmbedQuery --data-file "$out/go/requests/embed.json" \
  -c "$C" -z "${secs}s" --format json "127.0.0.1:$port" >"$out/ghz.json" || true
t1=$(ticks) s1=$(date +%s.%N)
python3 - "$out/ghz.json" "$t0" "$t1" "$s0" "$s1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ok = r.get("statusCodeDistribution", {}).get("OK", 0)
wall = float(sys.argv[5]) - float(sys.argv[4])
cores = (int(sys.argv[3]) - int(sys.argv[2])) / 100 / wall
lat = {d["percentage"]: d["latency"] / 1e6 for d in r.get("latencyDistribution") or []}
print("ghz embed c=%s: %.0f ok rps  p50 %.2f ms  p99 %.2f ms  server %.2f cores  %.0f rps per server core" % (
    r["options"]["concurrency"], ok / wall, lat.get(50, 0), lat.get(99, 0), cores, ok / wall / max(cores, 1e-9)))
PY
echo "load: $(uptime | sed 's/.*load average: //')"
