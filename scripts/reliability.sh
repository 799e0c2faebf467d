#!/usr/bin/env bash
# Regenerates RELIABILITY.md from test runs: every test once (the
# reliability tests append a record each to $AISLE_RELIABILITY_OUT), each
# fuzz target for FUZZTIME (default 60s), then the records rendered into
# markdown. A failing test or fuzz target still leaves its record (marked
# FAIL) and the script exits non-zero after writing the file.
set -uo pipefail
cd "$(dirname "$0")/.."

mkdir -p build
export AISLE_RELIABILITY_OUT=$PWD/build/reliability.jsonl
rm -f "$AISLE_RELIABILITY_OUT"

rc=0
go test -count=1 ./... || rc=$?
FUZZ_PARALLEL=${FUZZ_PARALLEL:-2} ./scripts/fuzz.sh "${FUZZTIME:-60s}" || rc=$?
go run ./internal/reliability/render -in "$AISLE_RELIABILITY_OUT" -out RELIABILITY.md || rc=$?
echo "RELIABILITY.md written from $AISLE_RELIABILITY_OUT"
exit "$rc"
