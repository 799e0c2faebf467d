#!/usr/bin/env bash
# Installs what the offline training, export and evaluation scripts need:
# Debian's python3-torch, python3-onnx and python3-numpy for /usr/bin/python3
# (PyPI is not used). `make test` runs the evaluation code's unit tests
# (scripts/eval/test_*.py, which import numpy and torch) with them; the
# serving path and the Go tests need none of it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/aptlock.sh
. "$root/scripts/aptlock.sh"
apt_lock "$root" # before the check: a turn taken after another run's install finds it done
if /usr/bin/python3 -c 'import torch, onnx, numpy' 2>/dev/null; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-torch python3-onnx python3-numpy >/dev/null
/usr/bin/python3 -c 'import torch, onnx; print("python: torch", torch.__version__, "onnx", onnx.__version__)'
