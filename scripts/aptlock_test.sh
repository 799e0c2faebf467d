#!/usr/bin/env bash
# Tests that the setup scripts that run apt-get take turns (aptlock.sh), as `make -j test` needs
# (run by `make test`, ~3 s): copies of setup-redis.sh, setup-onnx-testdata.sh and
# setup-python.sh in an empty checkout run at once against a stand-in apt-get that notes when
# two of its calls overlap (and fails, so no script installs anything); sudo is a pass-through.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/checkout/scripts" "$tmp/bin" "$tmp/mark"
cp "$root"/scripts/{aptlock.sh,setup-redis.sh,setup-onnx-testdata.sh,setup-python.sh} "$tmp/checkout/scripts/"
cat >"$tmp/bin/apt-get" <<EOF2
#!/bin/sh
echo "\$*" >>"$tmp/mark/calls"
mkdir "$tmp/mark/busy" 2>/dev/null || echo "\$*" >>"$tmp/mark/overlap"
sleep 0.3
rmdir "$tmp/mark/busy"
exit 1
EOF2
printf '#!/bin/sh\nexec "$@"\n' >"$tmp/bin/sudo"
chmod +x "$tmp/bin/apt-get" "$tmp/bin/sudo"
pids=()
for s in setup-redis setup-onnx-testdata setup-python; do
  PATH="$tmp/bin:$PATH" "$tmp/checkout/scripts/$s.sh" >"$tmp/$s.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
calls=$(wc -l <"$tmp/mark/calls" 2>/dev/null || echo 0)
if [ -s "$tmp/mark/overlap" ]; then
  echo "FAIL: apt-get calls overlapped ($(wc -l <"$tmp/mark/overlap") of $calls):" >&2
  cat "$tmp/mark/overlap" >&2
  exit 1
fi
# setup-redis and setup-onnx-testdata each try a download, then an update, which fails them
# (setup-python calls apt-get only without python3-torch).
if [ "$calls" -lt 4 ]; then
  echo "FAIL: $calls apt-get calls, want at least 4; logs:" >&2
  tail -n 5 "$tmp"/*.log >&2
  exit 1
fi
echo "ok   $calls apt-get calls from three setup scripts at once, none overlapping"
# A script's stderr after taking the lock still reaches its caller (a redirection on the exec
# that opens the lock file once silenced every later error message of the setup scripts).
msg=$(bash -c '. "$1/scripts/aptlock.sh"; apt_lock "$2"; echo after-the-lock >&2' _ "$root" "$tmp" 2>&1 >/dev/null)
if [ "$msg" != after-the-lock ]; then
  echo "FAIL: stderr after apt_lock: got \"$msg\", want \"after-the-lock\"" >&2
  exit 1
fi
echo "ok   stderr is kept after the lock"
