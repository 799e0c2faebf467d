#!/usr/bin/env bash
# Runs the measurements behind BENCHMARKS.md in one window, section by section,
# printing each command before its output. Compare figures only within one run:
# the project's 2-core machine drifts by ±30% within an hour.
#
# usage: scripts/bench/run_all.sh [SECTION...]   (default: all, in this order)
#   context   date, machine, load and the busiest processes
#   raw       LIMIT: ONNX Runtime in-process at batch 1..64 (encoder, MLP)
#   inproc    the scheduler in-process, no gRPC (encoder, MLP)
#   health    ghz: the empty RPC (grpc.health.v1.Health/Check)
#   mlp       ghz: MLP over ModelInfer, batching on and off
#   encoder   ghz: BERT-sized encoder over ModelInfer, batching on and off
#   tokenizer tokenize benchmarks and the Hugging Face reference (node)
#   embed     EmbedQuery: raw pipeline and scheduler in-process, then ghz
#   cart      RecommendCart: graph building, stage split, in-process, then ghz
#   goclient  the same calls from a compiled Go client (server/bench_test.go)
#   objective the bench encoder under a latency objective only vs raw (scripts/bench/objective.sh, §11)
#   load      the load-test suite (scripts/bench/load.sh, §9): every RPC including RecordEvents
#             (in-process store and Redis) and Recommend vs catalogue size; tables and plots
#             in build/bench/load/ (LOAD_ARGS: extra aisle-load flags, e.g. "-only events,catalog")
#   ann1m     opt-in, not in the default list (about an hour): ann and coder/hnsw at 1M × 128
#             in one process (scripts/bench/ann1m.sh, §4f; ANN_SIZE overrides 1Mx128)
# env: SECS (ghz seconds per point, default 10), and serve_bench.sh's knobs.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
secs=${SECS:-10}
sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(context raw inproc health mlp encoder tokenizer embed cart goclient objective load)
bin=build/bench/bin
mkdir -p "$bin"
make -s build >/dev/null
[ -f build/bench/models/bench-encoder/1/model.onnx ] || /usr/bin/python3 scripts/bench/make_encoder.py

# Test binaries are compiled up front so no compiler runs inside the window
# (only when a section runs Go benchmarks).
if [[ " ${sections[*]} " =~ \ (raw|inproc|tokenizer|embed|cart|goclient)\  ]]; then
  for p in batching embedding recommend graphnn tokenize server; do
    go test -c -o "$bin/$p.test" "./$p/"
  done
fi

say() { printf '\n$ %s\n' "$*"; }
# gobench PKG ARGS...: run a compiled benchmark binary from its package directory.
gobench() {
  local p=$1
  shift
  local shown=() a
  for a in "$@"; do [[ $a == *[\^\$\|]* ]] && shown+=("'$a'") || shown+=("$a"); done
  say "go test -run '^\$' ${shown[*]} ./$p/"
  (cd "$p" && "../$bin/$p.test" -test.run '^$' "${@/#-/-test.}")
}
context() {
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) cores (nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "go: $(go version | cut -d' ' -f3), node: $(node --version), ghz: v0.93.0 (third_party/bin/ghz)"
  echo "load: $(uptime | sed 's/.*load average: //')"
  ps -eo pcpu,etime,args --sort=-pcpu | head -6 | cut -c1-120
  sha256sum testdata/onnx/mlp.onnx build/bench/models/bench-encoder/1/model.onnx \
    models/query-encoder/1/model.onnx models/cart-gnn/1/model.onnx | sed 's/^\(.\{16\}\)[^ ]*/\1/'
}

for s in "${sections[@]}"; do
  printf '\n## %s (load %s)\n' "$s" "$(uptime | sed 's/.*load average: //')"
  case "$s" in
  context) context ;;
  raw)
    gobench batching -bench '^BenchmarkRawEncoder$' -benchtime 2s
    gobench batching -bench '^BenchmarkRawMLP$' -benchtime 1s
    ;;
  inproc)
    gobench batching -bench '^BenchmarkServedEncoder$' -benchtime 3s
    gobench batching -bench '^BenchmarkServedMLP$' -benchtime 2s
    ;;
  health | mlp | encoder)
    say "scripts/bench/serve_bench.sh $s $secs"
    scripts/bench/serve_bench.sh "$s" "$secs"
    ;;
  tokenizer)
    gobench tokenize -bench '^BenchmarkEncode' -benchtime 3s
    say "cd scripts/tokenizer && node bench.js --seconds 4"
    [ -d scripts/tokenizer/node_modules ] || (cd scripts/tokenizer && npm ci)
    (cd scripts/tokenizer && node bench.js --seconds 4)
    ;;
  embed)
    gobench embedding -bench '^BenchmarkEmbedRaw$' -benchtime 1s
    gobench embedding -bench '^BenchmarkEmbedServed$' -benchtime 3s
    say "scripts/bench/serve_bench.sh embed $secs"
    scripts/bench/serve_bench.sh embed "$secs"
    ;;
  cart)
    gobench graphnn -bench '^BenchmarkBuild$' -benchtime 1s
    gobench recommend -bench '^BenchmarkCartStages$' -benchtime 1s
    gobench recommend -bench '^BenchmarkRecommendServed$' -benchtime 3s
    say "scripts/bench/serve_bench.sh recommend $secs"
    scripts/bench/serve_bench.sh recommend "$secs"
    ;;
  goclient) gobench server -bench '^BenchmarkGRPC' -benchtime 3s ;;
  objective)
    say "scripts/bench/objective.sh 5"
    scripts/bench/objective.sh 5
    ;;
  load)
    say "scripts/bench/load.sh ${LOAD_ARGS:-}"
    # shellcheck disable=SC2086 # LOAD_ARGS is a list of flags
    scripts/bench/load.sh ${LOAD_ARGS:-}
    cat "${OUT:-build/bench/load}/results.md"
    ;;
  ann1m)
    say "scripts/bench/ann1m.sh ${ANN_SIZE:-1Mx128}"
    scripts/bench/ann1m.sh "${ANN_SIZE:-1Mx128}"
    ;;
  *) echo "unknown section $s" >&2; exit 2 ;;
  esac
done
printf '\n## end (load %s)\n' "$(uptime | sed 's/.*load average: //')"
