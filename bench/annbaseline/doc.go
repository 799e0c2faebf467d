// Package annbaseline benchmarks aisle's ann index against
// github.com/coder/hnsw v0.6.1 on the same vectors in the same run. It is a
// module of its own so that the main module never depends on coder/hnsw,
// which aisle keeps only as a baseline (no locking, one ef for build and
// search, no filtered search). Both run on the vectors and queries of
// internal/synthvec, the generator ann's own benchmark uses. Run from this
// directory:
//
//	AISLE_ANN_BENCH=50kx64 go test -run '^$' -bench . -benchtime 1000x -timeout 2h
//
// or, for BENCHMARKS.md §4f (1M × 128, niced, coder/hnsw's build bounded by
// AISLE_ANN_CODER_LIMIT, default 40m), from the repository root:
//
//	scripts/bench/ann1m.sh 1Mx128
package annbaseline
