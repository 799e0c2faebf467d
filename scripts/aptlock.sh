# shellcheck shell=bash
# Sourced by the scripts that may run apt-get update or install (setup-redis.sh,
# setup-python.sh, setup-onnx-testdata.sh, genproto.sh). apt fails at once, not waits, when
# another apt holds the system's locks, and `make -j test` runs three of these scripts together
# (and two downloads into one third_party/ folder would race as well).

# apt_lock ROOT: take the checkout's setup lock, ROOT/third_party/.apt.lock (git-ignored), on
# file descriptor 9, waiting while another setup script holds it (with a message after a
# second: a script that finds its package installed holds it for about that). The lock is
# released when the calling script exits.
apt_lock() {
  mkdir -p "$1/third_party"
  exec 9>"$1/third_party/.apt.lock"
  if ! flock -w 1 9; then
    echo "$(basename "$0"): waiting for another setup script (third_party/.apt.lock)" >&2
    flock 9
  fi
}
