#!/usr/bin/env bash
# Runs every fuzz target for a while (default 10s each; CI runs 5s).
#
#   scripts/fuzz.sh            # 10s a target
#   scripts/fuzz.sh 5m         # the longer run: 5 minutes a target
#   scripts/fuzz.sh 30s FuzzInferRequest FuzzParseConfig   # only these
#
# Go fuzzes one target of one package at a time, so targets run in turn.
# The seed corpus of each is its f.Add calls plus testdata/fuzz/<Target>/
# beside the package; inputs the engine finds go to the build cache
# ($(go env GOCACHE)/fuzz). A failing input is written to
# testdata/fuzz/<Target>/ and the script stops: commit that file (it is then
# a regression test that plain `go test` runs) and fix the code.
# FUZZ_PARALLEL sets the workers per target (default: GOMAXPROCS).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-10s}
shift || true

# package target
targets=(
	"./server FuzzInferRequest"
	"./tensor FuzzDecodeStrings"
	"./tensor FuzzValidate"
	"./tensor FuzzFloat16"
	"./tokenize FuzzEncode"
	"./graphnn FuzzBuild"
	"./repository FuzzParseConfig"
	"./inference FuzzExternalRefs"
	"./ope FuzzReadOBD"
	"./ope FuzzReadJSONL"
)

parallel=()
if [ -n "${FUZZ_PARALLEL:-}" ]; then
	parallel=(-parallel "$FUZZ_PARALLEL")
fi

ran=0
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then
		continue
	fi
	echo "== $name ($pkg, $duration)"
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$duration" "${parallel[@]}" "$pkg"
	ran=$((ran + 1))
done
if [ "$ran" -eq 0 ]; then
	echo "fuzz.sh: no target named $*" >&2
	exit 1
fi
