#!/usr/bin/env bash
# Installs what the offline training and export scripts need: Debian's
# python3-torch, python3-onnx and python3-numpy for /usr/bin/python3 (PyPI is
# not used). Only the serving path and the tests run without them.
set -euo pipefail
if /usr/bin/python3 -c 'import torch, onnx, numpy' 2>/dev/null; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-torch python3-onnx python3-numpy >/dev/null
/usr/bin/python3 -c 'import torch, onnx; print("python: torch", torch.__version__, "onnx", onnx.__version__)'
