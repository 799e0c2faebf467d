package recommend

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkRecommend runs Recommend in-process (no gRPC) on the default
// models with the shipped surfaces: the 2-item cart on the cart surface,
// and the query "baking" on the search surface.
func BenchmarkRecommend(b *testing.B) {
	for _, bc := range []struct {
		name string
		req  Request
	}{
		{"cart", Request{Surface: "cart", Cart: []string{"whole milk", "domestic eggs"}}},
		{"query", Request{Surface: "search", Cart: []string{"whole milk", "domestic eggs"}, Query: "baking"}},
	} {
		for _, c := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/c=%d", bc.name, c), func(b *testing.B) {
				repo := benchRepo(b)
				s, err := LoadSurfaces(repo.Dir + "/" + SurfacesFile)
				if err != nil {
					b.Fatal(err)
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
						for next.Add(1) <= int64(b.N) {
							if _, err := p.Recommend(b.Context(), bc.req); err != nil {
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
