package batching_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/aisle-ai/aisle/batching"
	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/tensor"
)

// These tests and benchmarks run the scheduler on real ONNX Runtime
// sessions over the committed test models; they skip when the runtime
// library or a model is missing.

var (
	ortOnce sync.Once
	ortErr  error
)

func loadModel(tb testing.TB, name string) *inference.Model {
	tb.Helper()
	return loadModelAt(tb, filepath.Join("..", "testdata", "onnx", name), "scripts/make_testmodels.py")
}

// sessions creates n single-threaded sessions (2 × 1 thread is the best
// layout on 2 cores, see docs/measured-baselines.md) destroyed at cleanup.
func sessions(tb testing.TB, m *inference.Model, n int) []*inference.Session {
	tb.Helper()
	out := make([]*inference.Session, n)
	for i := range out {
		s, err := m.NewSession(inference.SessionOptions{IntraOpThreads: 1, InterOpThreads: 1})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = s.Destroy() })
		out[i] = s
	}
	return out
}

func runners(ss []*inference.Session) []batching.Runner {
	out := make([]batching.Runner, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// serve builds a scheduler over ss and closes it (checking for leaks) at
// cleanup, before the sessions are destroyed.
func serve(tb testing.TB, cfg batching.Config, ss []*inference.Session) *batching.Scheduler {
	tb.Helper()
	s, err := batching.New(cfg, runners(ss), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			tb.Error(err)
		}
		goleak.VerifyNone(tb)
	})
	return s
}

func mlpConfig(maxBatch int, d *batching.Dynamic) batching.Config {
	return batching.Config{
		Model: "mlp", Version: 1, MaxBatchSize: maxBatch, Dynamic: d,
		Inputs:  []batching.InputSpec{{Name: "x", DType: tensor.FP32}},
		Outputs: []batching.OutputSpec{{Name: "score"}},
	}
}

func mlpRequest(rng *rand.Rand, rows int) batching.Request {
	x := make([]float32, rows*64)
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	return batching.Request{Inputs: []tensor.Tensor{tensor.FromSlice("x", []int64{int64(rows), 64}, x)}}
}

// TestServedSeqSum checks batched against unbatched outputs of a real
// ragged model: input_ids and attention_mask padded with 0, the per-token
// output trimmed back.
func TestServedSeqSum(t *testing.T) {
	m := loadModel(t, "seq_sum.onnx")
	ss := sessions(t, m, 2)
	s := serve(t, batching.Config{
		Model: "seq_sum", Version: 1, MaxBatchSize: 16, Dynamic: &batching.Dynamic{MaxQueueDelay: time.Millisecond},
		Inputs: []batching.InputSpec{
			{Name: "input_ids", DType: tensor.Int64, Ragged: true},
			{Name: "attention_mask", DType: tensor.Int64, Ragged: true},
		},
		Outputs: []batching.OutputSpec{{Name: "hidden", Ragged: true}, {Name: "total"}},
	}, ss)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	rng := rand.New(rand.NewPCG(1, 1))
	var wg sync.WaitGroup
	var mu sync.Mutex // serialises the reference session, used beside the scheduler's
	ref := sessions(t, m, 1)[0]
	for i := range 200 {
		rows, l := 1+rng.IntN(3), 1+rng.IntN(20)
		ids, mask := make([]int64, rows*l), make([]int64, rows*l)
		for k := range ids {
			ids[k] = rng.Int64N(1000)
			if rng.IntN(4) > 0 {
				mask[k] = 1
			}
		}
		in := []tensor.Tensor{
			tensor.FromSlice("input_ids", []int64{int64(rows), int64(l)}, ids),
			tensor.FromSlice("attention_mask", []int64{int64(rows), int64(l)}, mask),
		}
		wg.Go(func() {
			got, err := s.Infer(ctx, batching.Request{Inputs: in})
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			mu.Lock()
			want, err := ref.Run(ctx, in)
			mu.Unlock()
			if err != nil {
				t.Errorf("reference %d: %v", i, err)
				return
			}
			for k := range want {
				if fmt.Sprint(got[k].Shape) != fmt.Sprint(want[k].Shape) || string(got[k].Data) != string(want[k].Data) {
					t.Errorf("request %d output %s: batched %v differs from unbatched %v", i, want[k].Name, got[k].Shape, want[k].Shape)
				}
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	t.Logf("%d rows in %d executions", st.InferenceCount, st.ExecutionCount)
}

// TestServedMLP checks batched against unbatched MLP scores (within float
// tolerance: a batched GEMM may sum in another order).
func TestServedMLP(t *testing.T) {
	m := loadModel(t, "mlp.onnx")
	ss := sessions(t, m, 2)
	s := serve(t, mlpConfig(64, &batching.Dynamic{}), ss)
	ref := sessions(t, m, 1)[0]
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	rng := rand.New(rand.NewPCG(2, 2))
	reqs := make([]batching.Request, 300)
	got := make([][]tensor.Tensor, len(reqs))
	var wg sync.WaitGroup
	for i := range reqs {
		reqs[i] = mlpRequest(rng, 1+rng.IntN(4))
		wg.Go(func() {
			var err error
			if got[i], err = s.Infer(ctx, reqs[i]); err != nil {
				t.Errorf("request %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i, req := range reqs {
		want, err := ref.Run(ctx, req.Inputs)
		if err != nil {
			t.Fatal(err)
		}
		if got[i] == nil {
			continue
		}
		g, w := tensor.View[float32](got[i][0].Data), tensor.View[float32](want[0].Data)
		if len(g) != len(w) {
			t.Fatalf("request %d: %d scores, want %d", i, len(g), len(w))
		}
		for k := range w {
			if math.Abs(float64(g[k]-w[k])) > 1e-5*(1+math.Abs(float64(w[k]))) {
				t.Errorf("request %d score %d: batched %v, unbatched %v", i, k, g[k], w[k])
			}
		}
	}
}

// BenchmarkRaw runs one MLP session directly at batch sizes 1 to 64: the
// ceiling the scheduler can approach.
func BenchmarkRaw(b *testing.B) {
	m := loadModel(b, "mlp.onnx")
	sess := sessions(b, m, 1)[0]
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{1, 2, 4, 8, 16, 32, 64} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			in := mlpRequest(rng, n).Inputs
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sess.Run(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkServedMLP sends one-row MLP requests from c goroutines through a
// scheduler with two single-threaded sessions: dynamic batching (max 64,
// without and with a queue delay) against one Run per request.
func BenchmarkServedMLP(b *testing.B) {
	m := loadModel(b, "mlp.onnx")
	for _, mode := range []struct {
		name string
		dyn  *batching.Dynamic
	}{
		{"batched", &batching.Dynamic{}},
		{"batched/delay=200us", &batching.Dynamic{MaxQueueDelay: 200 * time.Microsecond}},
		{"unbatched", nil},
	} {
		for _, c := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/c=%d", mode.name, c), func(b *testing.B) {
				s, err := batching.New(mlpConfig(64, mode.dyn), runners(sessions(b, m, 2)), nil)
				if err != nil {
					b.Fatal(err)
				}
				req := mlpRequest(rand.New(rand.NewPCG(4, 4)), 1)
				b.ReportAllocs()
				runParallel(b, c, func(ctx context.Context) error {
					_, err := s.Infer(ctx, req)
					return err
				})
				if err := s.Close(context.Background()); err != nil {
					b.Fatal(err)
				}
				st := s.Stats()
				b.ReportMetric(float64(st.InferenceCount)/float64(max(st.ExecutionCount, 1)), "rows/batch")
			})
		}
	}
}

// runParallel issues b.N requests from c goroutines and reports items/s.
func runParallel(b *testing.B, c int, infer func(context.Context) error) {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range c {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := infer(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}
