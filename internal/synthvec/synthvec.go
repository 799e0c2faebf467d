// Package synthvec draws the synthetic clustered vectors, and the stock
// filter (AllowPercent), that the candidate index's benchmarks run on
// (ann/bench_test.go and the coder/hnsw baseline in bench/annbaseline, a
// module of its own): one generator, so that "the same vectors" and "the
// same filter" across the two are true by construction, not by a copy kept
// in step. It is test and benchmark support only; nothing the server runs
// imports it.
package synthvec

import "math/rand/v2"

// Clustered draws n vectors of dim (row-major, n·dim floats) around
// `clusters` Gaussian centres (N(0,1) components, spread 0.4), the shape of
// real item embeddings (categories), which is harder for a graph than uniform
// noise: links must cross between clusters. The centres depend on clusters
// and dim only, so queries drawn with another seed come from the same
// distribution as the items; the same arguments give the same vectors.
func Clustered(n, dim, clusters int, seed uint64) []float32 {
	crng := rand.New(rand.NewPCG(uint64(clusters), uint64(dim)))
	centres := make([]float32, clusters*dim)
	for i := range centres {
		centres[i] = float32(crng.NormFloat64())
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]float32, n*dim)
	for r := range n {
		c := rng.IntN(clusters)
		for d := range dim {
			out[r*dim+d] = centres[c*dim+d] + 0.4*float32(rng.NormFloat64())
		}
	}
	return out
}

// Clusters is the benchmarks' cluster count for n items: one cluster per 200
// items, at least 10.
func Clusters(n int) int { return max(10, n/200) }

// Queries is the benchmarks' query count for n items: 200, or 100 from 500k
// items up, where each exact answer (the recall reference) costs ~130 ms.
func Queries(n int) int {
	if n >= 500000 {
		return 100
	}
	return 200
}

// AllowPercent is the benchmarks' stock filter: it admits a pseudo-random
// p% of the rows (a multiplicative hash of the row), uncorrelated with the
// clusters, as stock is. ann's filtered benchmarks and tests and the
// coder/hnsw baseline's filtered queries all use it, so "the same filter"
// across the two is true by construction too.
func AllowPercent(p int) func(row int) bool {
	return func(r int) bool { return (uint32(r)*2654435761)>>16%100 < uint32(p) }
}
