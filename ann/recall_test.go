package ann

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/internal/synthvec"
)

// The committed item embeddings of the default repository: the cart GNN
// scores items by dot product, the query encoder by cosine.
func TestRecallRealEmbeddings(t *testing.T) {
	for _, tc := range []struct {
		model  string
		metric Metric
	}{
		{"cart-gnn", Dot},
		{"query-encoder", Cosine},
		{"cart-gnn", L2},
	} {
		t.Run(tc.model+"/"+tc.metric.String(), func(t *testing.T) {
			m, err := catalog.ReadMatrix(filepath.Join("..", "models", tc.model, "items.f32"))
			if err != nil {
				t.Fatal(err)
			}
			// 169 items would be searched exactly under Auto; force the graph,
			// with M = 8 (16 links on layer 0) so that it is far from complete.
			ix := mustBuild(t, m.Data, m.Dim, Config{Metric: tc.metric, Kind: Graph, M: 8, EfConstruction: 32})
			ex := mustBuild(t, m.Data, m.Dim, Config{Metric: tc.metric, Kind: Flat})
			if ix.Exact() || !ex.Exact() {
				t.Fatal("Kind not honoured")
			}
			// Every item is a query (item-to-item neighbours), at a search ef
			// of 32 for the 10 wanted.
			got := recall(t, ix, ex, rows(m.Data, m.Dim), 10, func() Query { return Query{Ef: 32} })
			t.Logf("recall@10 = %.4f", got)
			if got < 0.95 {
				t.Errorf("recall@10 = %.4f, want ≥ 0.95", got)
			}
		})
	}
}

// synth is one clustered synthetic set, its graph and its exact index,
// shared by the tests that need them (the build is the slow part).
type synth struct {
	dim       int
	queries   [][]float32
	ix, exact *Index
}

var (
	synthOnce sync.Once
	synthSet  synth
)

func synthetic(t *testing.T) synth {
	synthOnce.Do(func() {
		n, dim := 20000, 64
		if raceOn {
			n = 3000
		}
		vecs := clustered(n, dim, 100, 1)
		synthSet = synth{
			dim:     dim,
			queries: rows(clustered(200, dim, 100, 2), dim),
			ix:      mustBuild(t, vecs, dim, Config{Metric: L2, Kind: Graph, Seed: 7}),
			exact:   mustBuild(t, vecs, dim, Config{Metric: L2, Kind: Flat}),
		}
	})
	if synthSet.ix == nil {
		t.Fatal("synthetic build failed")
	}
	return synthSet
}

func TestRecallSynthetic(t *testing.T) {
	s := synthetic(t)
	for _, ef := range []int{0, 32} {
		got := recall(t, s.ix, s.exact, s.queries, 10, func() Query { return Query{Ef: ef} })
		t.Logf("n=%d ef=%d recall@10 = %.4f", s.ix.Len(), ef, got)
		if got < 0.95 {
			t.Errorf("ef=%d: recall@10 = %.4f, want ≥ 0.95", ef, got)
		}
	}
}

// Filters are honoured and recall kept at every selectivity, both by the
// strategy the cost model picks and by each one forced.
func TestFilteredSearch(t *testing.T) {
	s := synthetic(t)
	exclude := []int{}
	for r := range 40 { // longer than the linear-scan cut-off
		exclude = append(exclude, r*7)
	}
	for _, p := range []int{1, 10, 50, 100} {
		for name, ix := range map[string]*Index{"auto": s.ix, "walk": s.ix.forced(forceWalk), "scan": s.ix.forced(forceScan)} {
			t.Run(fmt.Sprintf("%dpct/%s", p, name), func(t *testing.T) {
				allow := synthvec.AllowPercent(p)
				for _, v := range s.queries {
					res, err := ix.Search(Query{Vector: v, K: 10, Allow: allow, Exclude: exclude})
					if err != nil {
						t.Fatal(err)
					}
					if len(res) != 10 {
						t.Fatalf("%d results, want 10", len(res))
					}
					for _, r := range res {
						if !allow(r.Row) || r.Row%7 == 0 && r.Row < 280 {
							t.Fatalf("row %d returned but filtered out", r.Row)
						}
					}
				}
				got := recall(t, ix, s.exact, s.queries, 10, func() Query { return Query{Allow: allow, Exclude: exclude} })
				t.Logf("%d%% allowed, %s: recall@10 = %.4f", p, name, got)
				if got < 0.95 {
					t.Errorf("recall@10 = %.4f, want ≥ 0.95", got)
				}
			})
		}
	}
}

// Concurrent searches share the pooled scratch state; under -race this
// checks that they share nothing else, and that answers do not depend on
// interleaving.
func TestConcurrentSearch(t *testing.T) {
	s := synthetic(t)
	want := make([][]Result, len(s.queries))
	for i, v := range s.queries {
		var err error
		if want[i], err = s.ix.Search(Query{Vector: v, K: 10}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range s.queries {
				i = (i + g*25) % len(s.queries)
				q := Query{Vector: s.queries[i], K: 10}
				if g%2 == 1 {
					q.Allow = synthvec.AllowPercent(100)
				}
				got, err := s.ix.Search(q)
				if err != nil {
					errs <- err.Error()
					return
				}
				for j := range got {
					if got[j] != want[i][j] {
						errs <- "concurrent answer differs from the serial one"
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
