package recommend

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aisle-ai/aisle/ann"
	"github.com/aisle-ai/aisle/catalog"
)

// BenchmarkRecommend runs Recommend in-process (no gRPC) on the default
// models with the shipped surfaces: the 2-item cart on the cart surface,
// the query "baking" on the search surface, and both in turn ("mixed":
// surfaces over different models; "mixed-own" without the shipped
// attribute_models, so that the two surfaces merge the item tables of
// different model sets, which once evicted each other's merge every call).
func BenchmarkRecommend(b *testing.B) {
	cartReq := Request{Surface: "cart", Cart: []string{"whole milk", "domestic eggs"}}
	queryReq := Request{Surface: "search", Cart: []string{"whole milk", "domestic eggs"}, Query: "baking"}
	for _, bc := range []struct {
		name     string
		reqs     []Request
		ownAttrs bool // clear attribute_models
	}{
		{"cart", []Request{cartReq}, false},
		{"query", []Request{queryReq}, false},
		{"mixed", []Request{cartReq, queryReq}, false},
		{"mixed-own", []Request{cartReq, queryReq}, true},
	} {
		for _, c := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/c=%d", bc.name, c), func(b *testing.B) {
				repo := benchRepo(b)
				s, err := LoadSurfaces(repo.Dir + "/" + SurfacesFile)
				if err != nil {
					b.Fatal(err)
				}
				if bc.ownAttrs {
					s.AttributeModels = nil
				}
				store := &SurfaceStore{}
				store.Set(s)
				p := New(repo.Manager, store, Options{})
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ReportAllocs()
				b.ResetTimer()
				for range c {
					wg.Go(func() {
						for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
							if _, err := p.Recommend(b.Context(), bc.reqs[i%int64(len(bc.reqs))]); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
			})
		}
	}
}

// BenchmarkHybridTop is the query source's cost per call on an
// Instacart-sized synthetic catalogue (50,000 items, 128-d vectors, names
// of 3 words from a 5,000-word vocabulary in 100 categories): the text
// signals (BM25 postings, the intent posterior) and the blend over A7's
// candidate union (three top-200 lists). Sub-benchmarks: flat, the cosine
// list by an exact scan (FlatIndex); hnsw, by the ann package's graph as
// aisle serve builds it above ann's flat threshold, only with
// AISLE_BENCH_ANN=1 (building it takes a while on two cores). The indexes
// are built once, outside the timer.
func BenchmarkHybridTop(b *testing.B) {
	items, ix, ixT := benchCatalogue(b)
	var err error
	indexes := []struct {
		name string
		new  NewIndex
	}{{"flat", NewFlatIndex}}
	if os.Getenv("AISLE_BENCH_ANN") == "1" {
		indexes = append(indexes, struct {
			name string
			new  NewIndex
		}{"hnsw", newBenchANN})
	}
	q := items.Vector(7)
	ctx := context.Background()
	for _, bi := range indexes {
		if items.index, err = bi.new(items.vectors); err != nil {
			b.Fatal(err)
		}
		// random: two rare words over names of random words (soft intent, a
		// nearly flat posterior for query and names: the intent list's
		// worst case); topical: the same over names whose first word is
		// one of their category's 20 (as real names carry their aisle);
		// category: a category name (hard intent, one category).
		for _, bq := range []struct {
			name, query string
			ix          *TextIndex
		}{{"random", "w12 w345", ix}, {"topical", "t7_3 w345", ixT}, {"category", "c7", ix}} {
			b.Run(bi.name+"/"+bq.name, func(b *testing.B) {
				for range b.N {
					sig, err := bq.ix.Text(ctx, bq.query)
					if err != nil {
						b.Fatal(err)
					}
					h := (*Hybrid)(nil)
					if _, err := hybridTop(ctx, items, q, sig, h.weights(sig.CategoryQuery()), 50, h.candidates(), nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// benchANN is the ann index behind recommend.Index, as cmd/aisle adapts
// it (HNSW above ann's flat threshold).
type benchANN struct{ ix *ann.Index }

func newBenchANN(m *catalog.Matrix) (Index, error) {
	ix, err := ann.Build(context.Background(), m.Data, m.Dim, ann.Config{Metric: ann.Dot})
	return benchANN{ix}, err
}

func (a benchANN) Search(ctx context.Context, q []float32, k int, allow Allow) ([]Hit, error) {
	res, err := a.ix.SearchContext(ctx, ann.Query{Vector: q, K: k, Allow: allow})
	hits := make([]Hit, len(res))
	for i, r := range res {
		hits[i] = Hit{Row: r.Row, Score: r.Score}
	}
	return hits, err
}

// BenchmarkIntentList is the intent candidate list alone, for a category
// query on BenchmarkHybridTop's catalogue (every member of the category
// ties at P = 1): position is A7's tie rule (the first C members by
// position), cosine A9's (the top C members by the blend's cosine: one id
// lookup and one dot product per member).
func BenchmarkIntentList(b *testing.B) {
	items, ix, _ := benchCatalogue(b)
	sig, err := ix.Text(context.Background(), "c7")
	if err != nil {
		b.Fatal(err)
	}
	q := items.Vector(7)
	cos := func(d int32) float64 {
		r, _ := items.Row(sig.ix.ids[d])
		return dot(q, items.Vector(r))
	}
	for _, bc := range []struct {
		name string
		cos  func(int32) float64
	}{{"position", nil}, {"cosine", cos}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				sig.intentTop(DefaultHybridCandidates, false, bc.cos, nil, nil)
			}
		})
	}
}

// benchCatalogue builds BenchmarkHybridTop's synthetic catalogue: the
// items (no index yet) and the text indexes over random and topical names.
func benchCatalogue(b *testing.B) (items *Items, ix, ixT *TextIndex) {
	b.Helper()
	const n, dim = 50000, 128
	items = &Items{table: &catalog.Table{Items: make([]catalog.Item, n)}, ids: make([]string, n),
		vectors: &catalog.Matrix{Rows: n, Dim: dim, Data: make([]float32, n*dim)}}
	names, topical, cats := make([]string, n), make([]string, n), make([]string, n)
	x := uint64(1)
	next := func() uint64 { x = x*6364136223846793005 + 1442695040888963407; return x >> 33 }
	for r := range n {
		items.ids[r] = strconv.Itoa(r)
		names[r] = fmt.Sprintf("w%d w%d w%d", next()%5000, next()%5000, next()%5000)
		c := next() % 100
		cats[r] = fmt.Sprintf("c%d", c)
		topical[r] = fmt.Sprintf("t%d_%d %s", c, next()%20, names[r][:strings.IndexByte(names[r], ' ')])
		items.table.Items[r] = catalog.Item{ID: int64(r), Name: names[r]}
		for d := range dim {
			items.vectors.Data[r*dim+d] = float32(next()%1000)/1000 - 0.5
		}
	}
	items.byID = make(map[string]int, n)
	for r, id := range items.ids {
		items.byID[id] = r
	}
	ix, err := NewTextIndex(items.ids, names, cats)
	if err != nil {
		b.Fatal(err)
	}
	ixT, err = NewTextIndex(items.ids, topical, cats)
	if err != nil {
		b.Fatal(err)
	}
	return items, ix, ixT
}
