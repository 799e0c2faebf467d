package batching

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aisle-ai/aisle/tensor"
)

// mlpRunner is a cheap stand-in for an MLP: score[b] = x[b]·w, into a
// buffer it reuses across calls.
type mlpRunner struct {
	w     []float32
	out   []float32
	outs  [1]tensor.Tensor
	shape [2]int64
}

func newMLPRunner(dim int) *mlpRunner {
	w := make([]float32, dim)
	for i := range w {
		w[i] = float32(i%7) / 7
	}
	return &mlpRunner{w: w}
}

func (r *mlpRunner) Run(_ context.Context, in []tensor.Tensor) ([]tensor.Tensor, error) {
	x := tensor.View[float32](in[0].Data)
	rows, dim := int(in[0].Shape[0]), len(r.w)
	r.out = r.out[:0]
	for b := range rows {
		var s float32
		for i, v := range x[b*dim : (b+1)*dim] {
			s += v * r.w[i]
		}
		r.out = append(r.out, s)
	}
	r.shape = [2]int64{int64(rows), 1}
	r.outs[0] = tensor.FromSlice("score", r.shape[:], r.out)
	return r.outs[:], nil
}

// runConcurrent issues b.N requests from c goroutines and reports
// items/s. It is shared by the fake and the ONNX Runtime benchmarks.
func runConcurrent(b *testing.B, c int, infer func(context.Context) error) {
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

// BenchmarkScheduler measures the scheduler's own overhead with a
// near-free runner: one 64-float row per request, two instances, max batch
// 64, no queue delay.
func BenchmarkScheduler(b *testing.B) {
	const dim = 64
	for _, c := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			cfg := Config{
				Model: "mlp", Version: 1, MaxBatchSize: 64, Dynamic: &Dynamic{},
				Inputs:  []InputSpec{{Name: "x", DType: tensor.FP32}},
				Outputs: []OutputSpec{{Name: "score"}},
			}
			s, err := New(cfg, []Runner{newMLPRunner(dim), newMLPRunner(dim)}, NewMetrics(nil))
			if err != nil {
				b.Fatal(err)
			}
			x := make([]float32, dim)
			req := Request{Inputs: []tensor.Tensor{tensor.FromSlice("x", []int64{1, dim}, x)}}
			b.ReportAllocs()
			runConcurrent(b, c, func(ctx context.Context) error {
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

// BenchmarkGather measures assembling and splitting one batch of 32 ragged
// requests, the per-batch work the scheduler adds around the runner (here
// the toy model itself, whose output shapes cost 3 allocations). Gathering
// allocates nothing; scattering allocates 3 times per batch.
func BenchmarkGather(b *testing.B) {
	s, err := New(toyCfg(32, &Dynamic{}), []Runner{&toyRunner{}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(context.Background()) //nolint:errcheck // benchmark teardown
	w := newWorker(s, nil)
	var reqs []*entry
	for i := range 32 {
		e := &entry{}
		req := toyReq(randFor(i), 1, 9+i%2)
		if err := s.prepare(context.Background(), e, req, e.enqueued); err != nil {
			b.Fatal(err)
		}
		reqs = append(reqs, e)
	}
	var y, h []float32
	var n []int64
	var outs [3]tensor.Tensor
	res := make([]result, len(reqs))
	b.ReportAllocs()
	for b.Loop() {
		w.batch = append(w.batch[:0], reqs...)
		rows, padLen := s.gather(w, w.batch)
		y, h, n, outs = toyCompute(w.in, y[:0], h[:0], n[:0])
		if err := s.scatter(w.batch, res, outs[:], rows, padLen); err != nil {
			b.Fatal(err)
		}
	}
}
