#!/usr/bin/env bash
# Puts Debian 12's redis-server and redis-cli (Redis 7.0) into
# third_party/redis/ (git-ignored) without installing anything system-wide:
# `apt-get download` fetches the .debs (signed by the Debian archive, so apt
# checks them), `dpkg -x` unpacks them, and the binaries run with
# LD_LIBRARY_PATH at the unpacked liblzf and libjemalloc. The tests and
# `aisle` find the binaries through third_party/redis/bin (wrappers that set
# the library path). Idempotent: a working install of Redis 7.0 is kept.
#
# Usage: scripts/setup-redis.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/third_party/redis"
want_major=7.0

# check prints the server version and fails unless both wrappers run and the
# server is Redis 7.0 (the version the stream log is written against: no
# HEXPIRE, no idempotent XADD).
check() {
  [ -x "$dest/bin/redis-server" ] && [ -x "$dest/bin/redis-cli" ] || return 1
  local v
  v=$("$dest/bin/redis-server" --version 2>/dev/null | sed -n 's/.* v=\([0-9.]*\).*/\1/p')
  "$dest/bin/redis-cli" --version >/dev/null 2>&1 || return 1
  case "$v" in "$want_major".*) echo "$v" ;; *) return 1 ;; esac
}

# shellcheck source=scripts/aptlock.sh
. "$root/scripts/aptlock.sh"
apt_lock "$root" # before the check: a turn taken after another run's install finds it done
if v=$(check); then
  echo "redis $v already in $dest"
  exit 0
fi
command -v apt-get >/dev/null || { echo "setup-redis: apt-get is required (Debian 12)" >&2; exit 1; }
command -v dpkg >/dev/null || { echo "setup-redis: dpkg is required (Debian 12)" >&2; exit 1; }

tmp=$(mktemp -d)
chmod 0755 "$tmp" # apt's _apt user must be able to write the downloads
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && apt-get download redis-server redis-tools liblzf1 libjemalloc2 >/dev/null 2>"$tmp/apt.err"); then
  echo "setup-redis: apt-get download failed; running apt-get update and retrying" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update >/dev/null
  (cd "$tmp" && apt-get download redis-server redis-tools liblzf1 libjemalloc2 >/dev/null)
fi
rm -rf "$dest.new"
mkdir -p "$dest.new"
for deb in "$tmp"/*.deb; do
  dpkg -x "$deb" "$dest.new/root"
done
mkdir -p "$dest.new/bin"
for b in redis-server redis-cli; do
  cat >"$dest.new/bin/$b" <<WRAP
#!/bin/sh
# Runs Debian's $b with the libraries unpacked beside it.
here=\$(cd "\$(dirname "\$0")/.." && pwd)
LD_LIBRARY_PATH="\$here/root/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "\$here/root/usr/bin/$b" "\$@"
WRAP
  chmod 0755 "$dest.new/bin/$b"
done
rm -rf "$dest"
mv "$dest.new" "$dest"
if ! v=$(check); then
  echo "setup-redis: unpacked redis in $dest does not run or is not $want_major" >&2
  "$dest/bin/redis-server" --version >&2 || true
  exit 1
fi
echo "redis $v installed in $dest"
