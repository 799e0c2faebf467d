package batching_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/batching"
	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/tensor"
)

// The raw benchmarks here are the LIMIT of BENCHMARKS.md: ONNX Runtime
// called in-process, no scheduler and no gRPC, at batch sizes 1 to 64, for
// the three ways of spending 2 cores (one session with 1 or 2 intra-op
// threads, or two single-threaded sessions running side by side).
// BenchmarkRaw in ort_test.go is the MLP's 1x1 case alone.

// benchEncoderPath is the BERT-sized benchmark encoder written by
// scripts/bench/make_encoder.py (git-ignored; the benchmarks skip without it).
var benchEncoderPath = filepath.Join("..", "build", "bench", "models", "bench-encoder", "1", "model.onnx")

// loadModelAt loads the model at path, skipping the benchmark or test when
// it or the runtime is missing; hint says how to make the model.
func loadModelAt(tb testing.TB, path, hint string) *inference.Model {
	tb.Helper()
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("%s not found (%s)", path, hint)
	}
	ortOnce.Do(func() {
		ortErr = inference.Init(inference.LibraryPath(""))
	})
	if ortErr != nil {
		tb.Skipf("onnxruntime: %v", ortErr)
	}
	m, err := inference.ReadModel(path)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func loadBenchEncoder(tb testing.TB) *inference.Model {
	tb.Helper()
	return loadModelAt(tb, benchEncoderPath, "run /usr/bin/python3 scripts/bench/make_encoder.py")
}

// encoderQueryLen is the benchmark query: [CLS], 14 word pieces, [SEP].
const encoderQueryLen = 16

// encoderRequest is rows copies of the 16-token benchmark query, the same
// ids scripts/bench/serve_bench.sh sends.
func encoderRequest(rows int) batching.Request {
	ids := make([]int64, 0, rows*encoderQueryLen)
	for range rows {
		ids = append(ids, 101)
		for i := range encoderQueryLen - 2 {
			ids = append(ids, int64(2000+i))
		}
		ids = append(ids, 102)
	}
	mask, types := make([]int64, len(ids)), make([]int64, len(ids))
	for i := range mask {
		mask[i] = 1
	}
	shape := []int64{int64(rows), encoderQueryLen}
	return batching.Request{Inputs: []tensor.Tensor{
		tensor.FromSlice("input_ids", shape, ids),
		tensor.FromSlice("attention_mask", shape, mask),
		tensor.FromSlice("token_type_ids", shape, types),
	}}
}

// layout is a way to spend the cores: sessions running side by side, each
// with threads intra-op threads.
type layout struct{ sessions, threads int }

func (l layout) String() string { return fmt.Sprintf("%dx%d", l.sessions, l.threads) }

// rawLayouts are the layouts worth trying on 2 cores (2x2 oversubscribes:
// 0.5-0.6x of 2x1 in ../shared/docs/measured-baselines.md).
var rawLayouts = []layout{{1, 1}, {1, 2}, {2, 1}}

// rawBatches are the batch sizes of the LIMIT table.
var rawBatches = []int{1, 2, 4, 8, 16, 32, 64}

// benchRaw runs m on batches of 1 to 64 rows in every layout. Each session
// has its own goroutine running whole batches back to back; items/s is the
// total over the sessions and ms/batch the mean time of one Run (the
// latency a request of that batch would see, queueing aside).
func benchRaw(b *testing.B, m *inference.Model, request func(rows int) []tensor.Tensor) {
	for _, l := range rawLayouts {
		for _, n := range rawBatches {
			b.Run(fmt.Sprintf("layout=%s/batch=%d", l, n), func(b *testing.B) {
				ss := make([]*inference.Session, l.sessions)
				for i := range ss {
					s, err := m.NewSession(inference.SessionOptions{IntraOpThreads: l.threads, InterOpThreads: 1})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { _ = s.Destroy() })
					ss[i] = s
				}
				in := request(n)
				for _, s := range ss { // first runs allocate the arenas
					if _, err := s.Run(context.Background(), in); err != nil {
						b.Fatal(err)
					}
				}
				var next atomic.Int64
				var busy atomic.Int64 // ns spent inside Run, summed over sessions
				var wg sync.WaitGroup
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := processCPU()
				for _, s := range ss {
					wg.Go(func() {
						for next.Add(1) <= int64(b.N) {
							t0 := time.Now()
							if _, err := s.Run(context.Background(), in); err != nil {
								b.Error(err)
								return
							}
							busy.Add(int64(time.Since(t0)))
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "items/s")
				b.ReportMetric(float64(busy.Load())/1e6/float64(b.N), "ms/batch")
				if cpu := processCPU() - cpu0; cpu > 0 {
					// Items per CPU-second of the whole process: what one core
					// yields at this batch size, steadier than items/s on a
					// shared machine (scripts/bench/objective.sh divides the
					// served rate per server core by it).
					b.ReportMetric(float64(n*b.N)/cpu.Seconds(), "items/cpu-s")
				}
			})
		}
	}
}

// processCPU is the user + system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRawEncoder is the encoder's LIMIT: the BERT-sized benchmark
// encoder (in-graph mean pooling) on 16-token queries.
func BenchmarkRawEncoder(b *testing.B) {
	m := loadBenchEncoder(b)
	benchRaw(b, m, func(n int) []tensor.Tensor { return encoderRequest(n).Inputs })
}

// BenchmarkRawMLP is the MLP's LIMIT in every layout (BenchmarkRaw is its
// 1x1 row).
func BenchmarkRawMLP(b *testing.B) {
	m := loadModel(b, "mlp.onnx")
	rng := rand.New(rand.NewPCG(3, 3))
	benchRaw(b, m, func(n int) []tensor.Tensor { return mlpRequest(rng, n).Inputs })
}

// BenchmarkServedEncoder sends one-query encoder requests from c goroutines
// through the scheduler in-process (no gRPC): the SERVER figures minus the
// transport, to tell the scheduler's share from gRPC's. Layouts and queue
// delay are those scripts/bench/serve_bench.sh uses.
func BenchmarkServedEncoder(b *testing.B) {
	m := loadBenchEncoder(b)
	cfg := func(d *batching.Dynamic) batching.Config {
		return batching.Config{
			Model: "encoder", Version: 1, MaxBatchSize: 64, Dynamic: d,
			Inputs: []batching.InputSpec{
				{Name: "input_ids", DType: tensor.Int64, Ragged: true},
				{Name: "attention_mask", DType: tensor.Int64, Ragged: true},
				{Name: "token_type_ids", DType: tensor.Int64, Ragged: true},
			},
			Outputs: []batching.OutputSpec{{Name: "embedding"}},
		}
	}
	for _, mode := range []struct {
		name string
		l    layout
		dyn  *batching.Dynamic
	}{
		{"batched/layout=1x2", layout{1, 2}, &batching.Dynamic{MaxQueueDelay: 2 * time.Millisecond}},
		{"batched/layout=2x1", layout{2, 1}, &batching.Dynamic{MaxQueueDelay: 2 * time.Millisecond}},
		{"unbatched/layout=2x1", layout{2, 1}, nil},
	} {
		for _, c := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/c=%d", mode.name, c), func(b *testing.B) {
				rs := make([]batching.Runner, mode.l.sessions)
				for i := range rs {
					s, err := m.NewSession(inference.SessionOptions{IntraOpThreads: mode.l.threads, InterOpThreads: 1})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { _ = s.Destroy() })
					rs[i] = s
				}
				s, err := batching.New(cfg(mode.dyn), rs, nil)
				if err != nil {
					b.Fatal(err)
				}
				req := encoderRequest(1)
				b.ReportAllocs()
				cpu0 := processCPU()
				runParallel(b, c, func(ctx context.Context) error {
					_, err := s.Infer(ctx, req)
					return err
				})
				if cpu := processCPU() - cpu0; cpu > 0 {
					// As BenchmarkRawEncoder's: compare at the rows/batch
					// reported, to tell the scheduler's cost per item.
					b.ReportMetric(float64(b.N)/cpu.Seconds(), "items/cpu-s")
				}
				if err := s.Close(context.Background()); err != nil {
					b.Fatal(err)
				}
				st := s.Stats()
				b.ReportMetric(float64(st.InferenceCount)/float64(max(st.ExecutionCount, 1)), "rows/batch")
			})
		}
	}
}
