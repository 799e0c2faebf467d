#!/usr/bin/env bash
# Unpacks Debian's single-threaded OpenBLAS (libopenblas0-serial) into
# build/gnn/openblas/ without installing it system-wide, and prints the
# directory to put on LD_LIBRARY_PATH. Debian's python3-torch links the system
# libblas.so.3, which defaults to the reference BLAS (about 14x slower matmuls
# here); preloading OpenBLAS only for our training keeps the machine untouched.
# Prints nothing and exits 0 when the package cannot be fetched (training then
# runs on the system BLAS, just slower).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest="$root/build/gnn/openblas"
lib="$dest/usr/lib/x86_64-linux-gnu/openblas-serial"
if [ ! -f "$lib/libblas.so.3" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if (cd "$tmp" && apt-get download libopenblas0-serial >/dev/null 2>&1); then
    mkdir -p "$dest"
    dpkg-deb -x "$tmp"/libopenblas0-serial_*.deb "$dest"
  else
    echo "openblas.sh: could not fetch libopenblas0-serial; using the system BLAS" >&2
    exit 0
  fi
fi
echo "$lib"
