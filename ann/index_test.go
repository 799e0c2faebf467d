package ann

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
)

func TestEdgeCases(t *testing.T) {
	vecs := clustered(300, 8, 5, 3)
	for _, kind := range []Kind{Flat, Graph} {
		ix := mustBuild(t, vecs, 8, Config{Metric: L2, Kind: kind})
		t.Run("k>n", func(t *testing.T) {
			res, err := ix.Search(Query{Vector: vecs[:8], K: 1 << 40})
			if err != nil || len(res) != 300 {
				t.Fatalf("got %d results, %v; want all 300", len(res), err)
			}
			if res[0].Row != 0 || res[0].Score != 0 {
				t.Errorf("best = %+v, want row 0 at distance 0", res[0])
			}
			if !slices.IsSortedFunc(res, func(a, b Result) int { return -cmpF(a.Score, b.Score) }) {
				t.Error("results not sorted best first")
			}
		})
		t.Run("k>allowed", func(t *testing.T) {
			res, err := ix.Search(Query{Vector: vecs[:8], K: 10, Allow: func(r int) bool { return r < 3 }})
			if err != nil || len(res) != 3 {
				t.Fatalf("got %v, %v; want rows 0..2", res, err)
			}
		})
		t.Run("errors", func(t *testing.T) {
			for _, tc := range []struct {
				q    Query
				want error
			}{
				{Query{Vector: make([]float32, 7), K: 1}, ErrDimension},
				{Query{Vector: make([]float32, 8), K: 0}, ErrBadQuery},
				{Query{Vector: make([]float32, 8), K: 1, Ef: -1}, ErrBadQuery},
				{Query{Vector: []float32{float32(math.NaN()), 0, 0, 0, 0, 0, 0, 0}, K: 1}, ErrBadVector},
			} {
				if _, err := ix.Search(tc.q); !errors.Is(err, tc.want) {
					t.Errorf("Search(%v) error = %v, want %v", tc.q, err, tc.want)
				}
			}
		})
	}
}

func cmpF(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestEmptyIndex(t *testing.T) {
	for _, kind := range []Kind{Auto, Graph} {
		ix := mustBuild(t, nil, 4, Config{Metric: Cosine, Kind: kind})
		res, err := ix.Search(Query{Vector: []float32{1, 0, 0, 0}, K: 5})
		if err != nil || len(res) != 0 || ix.Len() != 0 {
			t.Errorf("kind %d: %v, %v; want no results, no error", kind, res, err)
		}
	}
}

// A zero item vector has no direction: under cosine it scores 0 against any
// query rather than NaN. A zero query is refused.
func TestZeroVectorsCosine(t *testing.T) {
	vecs := []float32{0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, -1, 0, 0}
	for _, kind := range []Kind{Flat, Graph} {
		ix := mustBuild(t, vecs, 3, Config{Metric: Cosine, Kind: kind})
		res, err := ix.Search(Query{Vector: []float32{2, 0, 0}, K: 5})
		if err != nil {
			t.Fatal(err)
		}
		want := []Result{{1, 1}, {0, 0}, {2, 0}, {3, 0}, {4, -1}} // ties by row
		if !slices.Equal(res, want) {
			t.Errorf("kind %d: got %v, want %v", kind, res, want)
		}
		if _, err := ix.Search(Query{Vector: []float32{0, 0, 0}, K: 1}); !errors.Is(err, ErrBadVector) {
			t.Errorf("zero query: error %v, want ErrBadVector", err)
		}
	}
}

// Scores are the metric's own values, higher better, on every path.
func TestScores(t *testing.T) {
	vecs := []float32{1, 2, 3, 4, -1, 0}
	q := []float32{2, 1}
	for _, tc := range []struct {
		m    Metric
		want []Result
	}{
		{Dot, []Result{{1, 10}, {0, 4}, {2, -2}}},
		{L2, []Result{{0, -2}, {1, -10}, {2, -10}}}, // ties by row
		{Cosine, []Result{{1, float32(10 / math.Sqrt(125))}, {0, 0.8}, {2, float32(-2 / math.Sqrt(5))}}},
	} {
		for _, kind := range []Kind{Flat, Graph} {
			ix := mustBuild(t, vecs, 2, Config{Metric: tc.m, Kind: kind})
			res, err := ix.Search(Query{Vector: q, K: 3})
			if err != nil {
				t.Fatal(err)
			}
			for i := range res {
				if res[i].Row != tc.want[i].Row || math.Abs(float64(res[i].Score-tc.want[i].Score)) > 1e-5 {
					t.Errorf("%v kind %d: got %v, want %v", tc.m, kind, res, tc.want)
					break
				}
			}
		}
	}
}

func TestBuildErrors(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		vecs []float32
		dim  int
		cfg  Config
		want error
	}{
		{"ragged", make([]float32, 7), 2, Config{Metric: L2}, ErrDimension},
		{"dim 0", nil, 0, Config{Metric: L2}, ErrDimension},
		{"inf", []float32{1, float32(math.Inf(1))}, 2, Config{Metric: L2}, ErrBadVector},
		{"no metric", nil, 2, Config{}, ErrBadConfig},
		{"m", nil, 2, Config{Metric: L2, M: 2}, ErrBadConfig},
		{"ef_construction", nil, 2, Config{Metric: L2, M: 16, EfConstruction: 8}, ErrBadConfig},
		{"workers", nil, 2, Config{Metric: L2, Workers: -1}, ErrBadConfig},
	} {
		if _, err := Build(ctx, tc.vecs, tc.dim, tc.cfg); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Build(cancelled, clustered(100, 4, 2, 1), 4, Config{Metric: L2, Kind: Graph}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled build: error %v, want context.Canceled", err)
	}
}

func TestParseMetric(t *testing.T) {
	for _, m := range []Metric{Cosine, Dot, L2} {
		if got, err := ParseMetric(m.String()); err != nil || got != m {
			t.Errorf("ParseMetric(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseMetric("hamming"); !errors.Is(err, ErrBadConfig) {
		t.Errorf("ParseMetric(hamming) error %v, want ErrBadConfig", err)
	}
}

// Auto picks exact search for small catalogues and the graph for large ones.
func TestAutoKind(t *testing.T) {
	vecs := clustered(200, 4, 3, 1)
	if ix := mustBuild(t, vecs, 4, Config{Metric: L2}); !ix.Exact() {
		t.Error("200 items under the default FlatBelow built a graph")
	}
	if ix := mustBuild(t, vecs, 4, Config{Metric: L2, FlatBelow: 100}); ix.Exact() {
		t.Error("200 items over FlatBelow 100 searched exactly")
	}
}

// The graph depends on the seed only, not on how many workers built it.
func TestDeterministicBuild(t *testing.T) {
	n := 6000
	if raceOn {
		n = 1500
	}
	vecs := clustered(n, 16, 20, 5)
	a := mustBuild(t, vecs, 16, Config{Metric: L2, Kind: Graph, Seed: 42, Workers: 1})
	b := mustBuild(t, vecs, 16, Config{Metric: L2, Kind: Graph, Seed: 42, Workers: 3})
	c := mustBuild(t, vecs, 16, Config{Metric: L2, Kind: Graph, Seed: 43, Workers: 3})
	same := func(x, y *graph) bool {
		return slices.Equal(x.links0, y.links0) && slices.Equal(x.levels, y.levels) && x.entry == y.entry &&
			slices.EqualFunc(x.upper, y.upper, slices.Equal)
	}
	if !same(a.g, b.g) {
		t.Error("1 and 3 workers built different graphs from one seed")
	}
	if same(a.g, c.g) {
		t.Error("seeds 42 and 43 built the same graph")
	}
}

// countdownCtx is a context that ends after its first n looks at Err, so a
// test can end a search in the middle without a clock.
type countdownCtx struct {
	context.Context
	n     int
	looks int
}

func (c *countdownCtx) Err() error {
	c.looks++
	if c.looks > c.n {
		return context.Canceled
	}
	return nil
}

// TestSearchContext: SearchContext returns the context's error, from a
// context ended before the search and from one that ends during a graph
// walk (a wide, heavily filtered beam) or an exact scan; Search is
// SearchContext without one.
func TestSearchContext(t *testing.T) {
	const n, dim = 6000, 16
	vecs := clustered(n, dim, 10, 1)
	ix := mustBuild(t, vecs, dim, Config{Kind: Graph, Metric: L2, Seed: 1})
	q := Query{Vector: vecs[:dim], K: 10, Ef: 2000, Allow: func(r int) bool { return r%50 == 0 }}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for name, x := range map[string]*Index{"walk": ix.forced(forceWalk), "scan": ix.forced(forceScan)} {
		if _, err := x.SearchContext(ended, q); !errors.Is(err, context.Canceled) {
			t.Errorf("%s, ended context: %v, want context.Canceled", name, err)
		}
		mid := &countdownCtx{Context: context.Background(), n: 1} // the first look, at the start, passes
		if _, err := x.SearchContext(mid, q); !errors.Is(err, context.Canceled) || mid.looks < 2 {
			t.Errorf("%s, context ended mid-search: %v after %d looks, want context.Canceled after 2", name, err, mid.looks)
		}
		want, err := x.Search(q)
		if err != nil || len(want) != q.K {
			t.Fatalf("%s: %d results, %v", name, len(want), err)
		}
		got, err := x.SearchContext(context.Background(), q)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: SearchContext %v, %v; Search %v", name, got, err, want)
		}
	}
}
