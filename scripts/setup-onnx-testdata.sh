#!/usr/bin/env bash
# Fetches the ONNX backend node tests (Debian 12's libonnx-testdata 1.12.0,
# Apache-2.0) into third_party/onnx-testdata/node (git-ignored) for the
# conformance suite (server/conformance_test.go). Nothing is copied into the
# repository. Needs Debian's apt (apt-get download runs as any user; apt-get
# update only when the package lists are missing).
set -euo pipefail

VERSION=1.12.0-2
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/third_party/onnx-testdata"
stamp="$dest/VERSION"

# shellcheck source=scripts/aptlock.sh
. "$root/scripts/aptlock.sh"
apt_lock "$root" # before the check: a turn taken after another run's install finds it done
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$VERSION" ] && [ -d "$dest/node" ]; then
  echo "onnx testdata $VERSION already in $dest"
  exit 0
fi
command -v apt-get >/dev/null || { echo "setup-onnx-testdata: Debian's apt-get is required" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp" # apt's _apt user downloads into it
download() { (cd "$tmp" && apt-get download -qq "libonnx-testdata=$VERSION" 2>/dev/null); }
if ! download; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  download
fi
dpkg -x "$tmp"/libonnx-testdata_*.deb "$tmp/x"
rm -rf "$dest"
mkdir -p "$dest"
mv "$tmp/x/usr/share/libonnx-testdata/data/node" "$dest/node"
cp "$tmp/x/usr/share/doc/libonnx-testdata/copyright" "$dest/copyright"
echo "$VERSION" >"$stamp"
echo "onnx testdata $VERSION ($(ls "$dest/node" | wc -l) node cases) installed in $dest"
