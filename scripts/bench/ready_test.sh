#!/usr/bin/env bash
# Tests ready.sh's wait_ready (run by `make test`, ~3 s): it returns for a live server whose
# /readyz answers 200, and exits 1 with a message for a server that exits first or never
# becomes ready; and its check_alive, which returns for a live server and exits 1 with a
# message for one that has ended. The servers are stand-ins: a python3 HTTP server, `exit 3`, `sleep`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fail=0

# expect NAME CHECK WANT_STATUS WANT_MESSAGE CMD...: in a subshell (wait_ready and check_alive
# exit the script they run in), start CMD in the background as a script does its server, then
# check it: CHECK a number, wait_ready for that many seconds; CHECK "alive", check_alive half a
# second later. Compare the status and stderr ("": none) with the wanted ones.
expect() {
  local name=$1 check=$2 want=$3 msg=$4 rc=0
  shift 4
  (
    "$@" &
    pid=$!
    echo "$pid" >"$tmp/pid"
    . "$root/scripts/bench/ready.sh"
    if [ "$check" = alive ]; then
      sleep 0.5
      check_alive "$pid" server.log
    else
      wait_ready "$pid" "http://127.0.0.1:$port/readyz" "$check" server.log
    fi
  ) 2>"$tmp/err" || rc=$?
  pids+=("$(cat "$tmp/pid")")
  if [ "$rc" != "$want" ] || { [ -z "$msg" ] && [ -s "$tmp/err" ]; } || { [ -n "$msg" ] && ! grep -q "$msg" "$tmp/err"; }; then
    echo "FAIL $name: status $rc (want $want), stderr: $(cat "$tmp/err")" >&2
    fail=1
  else
    echo "ok   $name"
  fi
  kill "${pids[-1]}" 2>/dev/null || true
}

expect "ready server" 30 0 "" python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/readyz" else 404); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$port"
expect "server that exits" 30 1 "exited with status 3 before it was ready; see server.log" sh -c 'exit 3'
expect "server never ready" 1 1 "not ready at http://127.0.0.1:$port/readyz after 1 s; see server.log" sleep 30
expect "server alive" alive 0 "" sleep 30
expect "server that died" alive 1 "exited with status 3 during the run; see server.log" sh -c 'exit 3'
exit "$fail"
