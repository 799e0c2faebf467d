# shellcheck shell=bash
# Sourced by the benchmark scripts that start `aisle serve` themselves (objective.sh,
# overload.sh, overhead.sh, serve_bench.sh): they used to poll /readyz a fixed number of times
# and carry on whatever came of it, so a server that died at start (a taken port, a bad flag)
# or never became ready surfaced later as an empty or all-error table.

# http_ok URL: whether a GET of URL (http://HOST:PORT/PATH) answers 200, with bash's /dev/tcp
# (curl is not on a fresh Debian 12 machine, and `make test` runs this through ready_test.sh).
http_ok() {
  local rest=${1#http://} hostport path line fd
  hostport=${rest%%/*}
  path=/${rest#*/}
  timeout 2 bash -c ': <>"/dev/tcp/$1"' _ "${hostport%:*}/${hostport##*:}" 2>/dev/null || return 1 # bounded connect
  exec {fd}<>"/dev/tcp/${hostport%:*}/${hostport##*:}" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&"$fd"
  IFS= read -r -t 2 line <&"$fd" || line=""
  exec {fd}>&-
  [[ $line == HTTP/1.?" 200"* ]]
}

# wait_ready PID URL SECONDS LOG: return once URL (the server's /readyz) answers 200 while the
# server process PID is alive, polling every 0.1 s; exit the calling script with status 1 and a
# message naming LOG (where the server's output went) when PID ends first or SECONDS pass.
wait_ready() {
  local pid=$1 url=$2 secs=$3 log=$4 rc end=$((SECONDS + $3))
  while ((SECONDS < end)); do # seconds, not passes: a pass can wait up to http_ok's read bound
    if ! kill -0 "$pid" 2>/dev/null; then
      rc=0
      wait "$pid" 2>/dev/null || rc=$?
      echo "$(basename "$0"): aisle serve (pid $pid) exited with status $rc before it was ready; see $log" >&2
      exit 1
    fi
    # Alive before and after the answer: a server that failed to bind exits at once, and
    # another process on the port must not pass for it.
    if http_ok "$url" 2>/dev/null && kill -0 "$pid" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "$(basename "$0"): aisle serve (pid $pid) not ready at $url after ${secs} s; see $log" >&2
  exit 1
}

# check_alive PID LOG: return while the server process PID is alive; exit the calling script
# with status 1 and a message naming LOG when it has ended (crashed or killed during a run),
# so that a dead server's failed calls are not printed as a measurement.
check_alive() {
  local pid=$1 log=$2 rc=0
  if kill -0 "$pid" 2>/dev/null; then
    return 0
  fi
  wait "$pid" 2>/dev/null || rc=$?
  echo "$(basename "$0"): aisle serve (pid $pid) exited with status $rc during the run; see $log" >&2
  exit 1
}
