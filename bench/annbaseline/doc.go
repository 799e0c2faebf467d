// Package annbaseline benchmarks aisle's ann index against
// github.com/coder/hnsw v0.6.1 on the same vectors in the same run. It is a
// module of its own so that the main module never depends on coder/hnsw,
// which aisle keeps only as a baseline (no locking, one ef for build and
// search, no filtered search). Run from this directory:
//
//	AISLE_ANN_BENCH=50kx64 go test -run '^$' -bench . -benchtime 1000x -timeout 2h
package annbaseline
