package ann

import (
	"context"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/internal/synthvec"
)

// clustered is synthvec.Clustered, the generator shared with the
// coder/hnsw baseline (bench/annbaseline).
func clustered(n, dim, clusters int, seed uint64) []float32 {
	return synthvec.Clustered(n, dim, clusters, seed)
}

func rows(flat []float32, dim int) [][]float32 {
	out := make([][]float32, len(flat)/dim)
	for i := range out {
		out[i] = flat[i*dim : (i+1)*dim]
	}
	return out
}

func mustBuild(t testing.TB, vecs []float32, dim int, cfg Config) *Index {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Hour) // 1M benchmark builds
	defer cancel()
	ix, err := Build(ctx, vecs, dim, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// recall returns the mean recall@k of got against the exact answers.
func recall(t testing.TB, got, exact *Index, queries [][]float32, k int, mk func() Query) float64 {
	t.Helper()
	hits, total := 0, 0
	for _, v := range queries {
		q := mk()
		q.Vector, q.K = v, k
		a, err := got.Search(q)
		if err != nil {
			t.Fatal(err)
		}
		b, err := exact.Search(q)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]bool{}
		for _, r := range b {
			want[r.Row] = true
		}
		for _, r := range a {
			if want[r.Row] {
				hits++
			}
		}
		total += len(b)
	}
	if total == 0 {
		return 1
	}
	return float64(hits) / float64(total)
}

// forced returns a view of ix sharing its vectors and graph that answers
// filtered queries with one strategy.
func (ix *Index) forced(s strategy) *Index {
	return &Index{cfg: ix.cfg, dim: ix.dim, n: ix.n, vecs: ix.vecs, stride: ix.stride, inner: ix.inner, g: ix.g, sample: ix.sample, walkCost: ix.walkCost, force: s}
}
