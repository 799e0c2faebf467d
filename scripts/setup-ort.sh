#!/usr/bin/env bash
# Fetches libonnxruntime.so.1 (ONNX Runtime 1.24.1, C API 24, the version
# onnxruntime_go v1.27.0 is built against) from the npm package
# onnxruntime-node@1.24.1 without running its install scripts, checks its
# sha256 and puts it in third_party/onnxruntime/ (git-ignored).
set -euo pipefail

VERSION=1.24.1
SHA256=53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/third_party/onnxruntime"
lib="$dest/libonnxruntime.so.1"

if [ -f "$lib" ] && echo "$SHA256  $lib" | sha256sum -c --status; then
  echo "onnxruntime $VERSION already in $dest"
  exit 0
fi
command -v npm >/dev/null || { echo "setup-ort: npm is required (apt-get install npm)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "onnxruntime-node@$VERSION" >/dev/null)
tar -xzf "$tmp/onnxruntime-node-$VERSION.tgz" -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
got=$(sha256sum "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" | cut -d' ' -f1)
if [ "$got" != "$SHA256" ]; then
  echo "setup-ort: sha256 mismatch: got $got, want $SHA256" >&2
  exit 1
fi
mkdir -p "$dest"
install -m 0644 "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$lib"
echo "onnxruntime $VERSION installed in $dest"
