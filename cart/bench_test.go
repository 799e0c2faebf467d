package cart

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/internal/servetest"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/tensor"
)

// These benchmarks split RecommendCart on the default model,
// models/cart-gnn, into its stages (BenchmarkCartStages) and run the whole
// pipeline through the version's scheduler without gRPC
// (BenchmarkRecommendServed). They skip when the model or the runtime
// library is absent.

var cartGNNDir = filepath.Join("..", "models", "cart-gnn")

// benchCarts are the carts measured: the one scripts/bench/serve_bench.sh
// sends with ghz, and a longer basket.
var benchCarts = []struct {
	name  string
	items []string
}{
	{"cart=2", []string{"whole milk", "domestic eggs"}},
	{"cart=10", []string{"whole milk", "domestic eggs", "rolls/buns", "yogurt", "other vegetables",
		"tropical fruit", "root vegetables", "soda", "bottled water", "sausage"}},
}

// servedRecommender loads a copy of models/cart-gnn into a repository with
// single-threaded sessions and returns its version (released and unloaded
// at cleanup) and Recommender. The copy's config gets "pipeline: cart-gnn"
// when it lacks it, so a config written without the key is still measured.
func servedRecommender(b *testing.B) (*repository.Version, *Recommender) {
	b.Helper()
	root := b.TempDir()
	servetest.CopyModel(b, root, "cart-gnn", func(s string) string {
		if !strings.Contains(s, "pipeline:") {
			s = strings.Replace(s, "\nparameters:\n", "\nparameters:\n  pipeline: "+ExtensionName+"\n", 1)
		}
		return s
	})
	r := servetest.Repository(b, root, servetest.Options{
		Extensions: map[string]repository.Extension{ExtensionName: Extension{}}})
	v := r.Version(b, "cart-gnn")
	rec, ok := repository.PipelineOf[*Recommender](v)
	if !ok {
		b.Skip("cart-gnn has no cart pipeline")
	}
	return v, rec
}

// BenchmarkCartStages times each stage of one RecommendCart on its own,
// in the order Recommend runs them:
//
//	resolve  names → rows, exclusions, last max_cart_items
//	build    graphnn.Builder.Build + padding to the size bucket
//	runtime  one ONNX Runtime call on a dedicated single-threaded session
//	queue    the same call through the version (validation, scheduler)
//	score    top-k over the catalogue's scores (with the ensemble: the blend, then top-k)
//	total    Recommend end to end through the version
//
// The share of each stage is its ns/op over total's.
func BenchmarkCartStages(b *testing.B) {
	v, r := servedRecommender(b)
	sess, err := v.Model.NewSession(inference.SessionOptions{IntraOpThreads: 1, InterOpThreads: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sess.Destroy() })
	ctx := context.Background()
	scoresAt := -1
	for i, name := range v.Model.OutputNames() {
		if name == r.scores {
			scoresAt = i
		}
	}
	for _, cart := range benchCarts {
		c := Cart{Names: cart.items, K: DefaultK}
		rows, _ := r.resolve(c)
		excl := r.exclusions(nil, rows)
		s := r.pool.New().(*scratch)
		if err := s.b.Build([][]int64{rows}, &s.batch); err != nil {
			b.Fatal(err)
		}
		in := bucketTensors(&s.batch)
		outs, err := sess.Run(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		scores := tensor.View[float32](outs[scoresAt].Data)
		stages := []struct {
			name string
			fn   func() error
		}{
			{"resolve", func() error {
				rows, _ := r.resolve(c)
				_ = r.exclusions(nil, rows)
				return nil
			}},
			{"build", func() error {
				if err := s.b.Build([][]int64{rows}, &s.batch); err != nil {
					return err
				}
				_ = bucketTensors(&s.batch)
				return nil
			}},
			{"runtime", func() error {
				_, err := sess.Run(ctx, in)
				return err
			}},
			{"queue", func() error {
				_, err := v.Infer(ctx, repository.Request{Inputs: in, Outputs: []string{r.scores}})
				return err
			}},
			{"score", func() error {
				if r.ens != nil { // the A11 blend: kNN, co-occurrence, three rankings
					_ = r.topBlend(scores, rows, DefaultK, func(row int) bool { return excl[row] })
					return nil
				}
				_ = r.top(scores, DefaultK, excl)
				return nil
			}},
			{"total", func() error {
				_, err := r.Recommend(ctx, v, c)
				return err
			}},
		}
		for _, st := range stages {
			b.Run(fmt.Sprintf("%s/%s", cart.name, st.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := st.fn(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRecommendServed calls Recommend on the 2-item cart from c
// goroutines through the version's scheduler: RecommendCart without gRPC.
func BenchmarkRecommendServed(b *testing.B) {
	for _, c := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			v, r := servedRecommender(b)
			cart := Cart{Names: benchCarts[0].items, K: DefaultK}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			for range c {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						if _, err := r.Recommend(context.Background(), v, cart); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "carts/s")
			st := v.Stats()
			b.ReportMetric(float64(st.InferenceCount)/float64(max(st.ExecutionCount, 1)), "rows/batch")
		})
	}
}
