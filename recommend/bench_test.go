package recommend

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

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
// signals (BM25 over every name, the intent posterior) and the blend over
// every item. The index is built once, outside the timer.
func BenchmarkHybridTop(b *testing.B) {
	const n, dim = 50000, 128
	items := &Items{table: &catalog.Table{Items: make([]catalog.Item, n)}, ids: make([]string, n),
		vectors: &catalog.Matrix{Rows: n, Dim: dim, Data: make([]float32, n*dim)}}
	names, cats := make([]string, n), make([]string, n)
	x := uint64(1)
	next := func() uint64 { x = x*6364136223846793005 + 1442695040888963407; return x >> 33 }
	for r := range n {
		items.ids[r] = strconv.Itoa(r)
		names[r] = fmt.Sprintf("w%d w%d w%d", next()%5000, next()%5000, next()%5000)
		cats[r] = fmt.Sprintf("c%d", next()%100)
		items.table.Items[r] = catalog.Item{ID: int64(r), Name: names[r]}
		for d := range dim {
			items.vectors.Data[r*dim+d] = float32(next()%1000)/1000 - 0.5
		}
	}
	ix, err := NewTextIndex(items.ids, names, cats)
	if err != nil {
		b.Fatal(err)
	}
	q := items.Vector(7)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		sig, err := ix.Text(ctx, "w12 w345")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := hybridTop(ctx, items, q, sig, DefaultHybridText, 50, nil); err != nil {
			b.Fatal(err)
		}
	}
}
