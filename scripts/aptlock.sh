# shellcheck shell=bash
# Sourced by the scripts that may run apt-get update or install (setup-redis.sh,
# setup-python.sh, setup-onnx-testdata.sh, genproto.sh). apt fails at once, not waits, when
# another apt holds the system's locks, and `make -j test` runs three of these scripts together
# (and two downloads into one third_party/ folder would race as well).

# apt_lock ROOT: take the checkout's setup lock, ROOT/third_party/.apt.lock (git-ignored), on
# file descriptor 9, waiting while another setup script holds it (with a message after a
# second: a script that finds its package installed holds it for about that). The lock is
# released when the calling script exits.
# A third_party/ the user cannot write (root-owned after an earlier sudo) skips the lock: the
# scripts' "already installed" checks still pass without writing, as before the lock existed.
# The wait is bounded (15 min): a holder stuck at a sudo password prompt under make -j fails
# the others instead of hanging them.
apt_lock() {
  mkdir -p "$1/third_party" 2>/dev/null || true
  { exec 9>>"$1/third_party/.apt.lock"; } 2>/dev/null || return 0 # braces: the 2>/dev/null is not kept
  if ! flock -w 1 9; then
    echo "$(basename "$0"): waiting for another setup script (third_party/.apt.lock)" >&2
    flock -w 900 9 || { echo "$(basename "$0"): gave up waiting for third_party/.apt.lock after 15 min" >&2; exit 1; }
  fi
}
