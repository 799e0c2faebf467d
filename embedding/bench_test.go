package embedding

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/internal/servetest"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/tensor"
)

// These benchmarks measure the query-encoder pipeline of EmbedQuery on the
// default model, models/query-encoder, without gRPC: BenchmarkEmbedRaw is
// its LIMIT (tokenize + one runtime call per batch + pooling, no
// scheduler) and BenchmarkEmbedServed the same path EmbedQuery takes
// (Encoder.Embed through the model version's scheduler). They skip when the
// model or the runtime library is absent.

// benchQuery is the text the EmbedQuery ghz run of scripts/bench/serve_bench.sh sends.
const benchQuery = "organic whole milk"

var queryEncoderDir = filepath.Join("..", "models", "query-encoder")

// benchModel loads models/query-encoder's config, encoder pipeline and ONNX
// file, or skips.
func benchModel(tb testing.TB) (*repository.Config, *Encoder, *inference.Model) {
	return benchModelFile(tb, "model.onnx")
}

// benchModelFile is benchModel with another ONNX file of version 1
// (model.int8.onnx, scripts/encoder/quantize.py).
func benchModelFile(tb testing.TB, file string) (*repository.Config, *Encoder, *inference.Model) {
	tb.Helper()
	onnx := filepath.Join(queryEncoderDir, "1", file)
	if _, err := os.Stat(onnx); err != nil {
		tb.Skipf("%s not found", onnx)
	}
	servetest.Runtime(tb)
	cfg, err := repository.LoadConfig(queryEncoderDir)
	if err != nil {
		tb.Fatal(err)
	}
	enc, err := New(queryEncoderDir, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := inference.ReadModel(onnx)
	if err != nil {
		tb.Fatal(err)
	}
	return cfg, enc, m
}

// rawBatch is the raw pipeline's per-batch work: tokenize the texts, pad
// them into [n, L] tensors, run the model once, mean-pool and normalise
// every row.
type rawBatch struct {
	enc   *Encoder
	sess  *inference.Session
	texts []string
	ins   [][]int64
}

func (r *rawBatch) run(ctx context.Context) ([][]float32, error) {
	encs, err := r.enc.tok.EncodeBatch(r.texts)
	if err != nil {
		return nil, err
	}
	n, l := len(encs), 0
	for i := range encs {
		l = max(l, len(encs[i].IDs))
	}
	if r.ins == nil {
		r.ins = make([][]int64, len(r.enc.inputs))
	}
	ts := make([]tensor.Tensor, len(r.enc.inputs))
	names := [...]string{roleIDs: "input_ids", roleMask: "attention_mask", roleTypes: "token_type_ids"}
	for k, role := range r.enc.inputs {
		buf := r.ins[k][:0]
		for i := range encs {
			var row []int64
			switch role {
			case roleIDs:
				row = encs[i].IDs
			case roleMask:
				row = encs[i].AttentionMask
			case roleTypes:
				row = encs[i].TypeIDs
			}
			buf = append(buf, row...)
			for range l - len(row) {
				buf = append(buf, 0)
			}
		}
		r.ins[k] = buf
		ts[k] = tensor.FromSlice(names[role], []int64{int64(n), int64(l)}, buf)
	}
	outs, err := r.sess.Run(ctx, ts)
	if err != nil {
		return nil, err
	}
	hidden := tensor.View[float32](outs[r.enc.output].Data)
	dim := int(outs[r.enc.output].Shape[2])
	vecs := make([][]float32, n)
	for i := range encs {
		vec := make([]float32, dim)
		mask := encs[i].AttentionMask
		cnt := 0
		for s := range mask {
			if mask[s] == 0 {
				continue
			}
			cnt++
			row := hidden[(i*l+s)*dim : (i*l+s+1)*dim]
			for j, x := range row {
				vec[j] += x
			}
		}
		for j := range vec {
			vec[j] /= float32(max(cnt, 1))
		}
		vecs[i] = r.enc.finish(vec)
	}
	return vecs, nil
}

// BenchmarkEmbedRaw is the EmbedQuery LIMIT: batches of 1 to 64 copies of
// benchQuery through tokenize → one Run → pool, on one session with 1 or 2
// intra-op threads or on two single-threaded sessions side by side, for the
// FP32 model (model=fp32) and its INT8 export (model=int8,
// model.int8.onnx). Compare the two within one run: the machine is shared.
func BenchmarkEmbedRaw(b *testing.B) {
	for _, prec := range []struct{ name, file string }{{"fp32", "model.onnx"}, {"int8", "model.int8.onnx"}} {
		b.Run("model="+prec.name, func(b *testing.B) {
			_, enc, m := benchModelFile(b, prec.file)
			benchEmbedRaw(b, enc, m)
		})
	}
}

func benchEmbedRaw(b *testing.B, enc *Encoder, m *inference.Model) {
	for _, l := range []struct{ sessions, threads int }{{1, 1}, {1, 2}, {2, 1}} {
		for _, n := range []int{1, 2, 4, 8, 16, 32, 64} {
			b.Run(fmt.Sprintf("layout=%dx%d/batch=%d", l.sessions, l.threads, n), func(b *testing.B) {
				texts := make([]string, n)
				for i := range texts {
					texts[i] = benchQuery
				}
				rs := make([]*rawBatch, l.sessions)
				for i := range rs {
					s, err := m.NewSession(inference.SessionOptions{IntraOpThreads: l.threads, InterOpThreads: 1})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { _ = s.Destroy() })
					rs[i] = &rawBatch{enc: enc, sess: s, texts: texts}
					if _, err := rs[i].run(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
				var next, busy atomic.Int64
				var wg sync.WaitGroup
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := processCPU()
				for _, r := range rs {
					wg.Go(func() {
						for next.Add(1) <= int64(b.N) {
							t0 := time.Now()
							if _, err := r.run(context.Background()); err != nil {
								b.Error(err)
								return
							}
							busy.Add(int64(time.Since(t0)))
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				cpu := processCPU() - cpu0
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "texts/s")
				b.ReportMetric(float64(busy.Load())/1e6/float64(b.N), "ms/batch")
				if cpu > 0 {
					// Texts per CPU-second of the whole process: what one core
					// yields, and far steadier than texts/s on a shared machine.
					b.ReportMetric(float64(n*b.N)/cpu.Seconds(), "texts/cpu-s")
				}
			})
		}
	}
}

// BenchmarkEmbedServed calls Encoder.Embed with one benchQuery per call
// from c goroutines through a repository serving a copy of
// models/query-encoder with its own config (dynamic batching, one
// instance): EmbedQuery without gRPC. The instance's intra-op threads are
// varied.
func BenchmarkEmbedServed(b *testing.B) {
	benchModel(b)
	for _, threads := range []int{1, 2} {
		for _, c := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("threads=%d/c=%d", threads, c), func(b *testing.B) {
				v, enc := servedEncoder(b, threads)
				texts := []string{benchQuery}
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ReportAllocs()
				b.ResetTimer()
				for range c {
					wg.Go(func() {
						for next.Add(1) <= int64(b.N) {
							if _, err := enc.Embed(context.Background(), v, texts); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
				st := v.Stats()
				b.ReportMetric(float64(st.InferenceCount)/float64(max(st.ExecutionCount, 1)), "rows/batch")
			})
		}
	}
}

// servedEncoder loads models/query-encoder into a repository with the
// given intra-op threads and returns its version (released and unloaded at
// cleanup) and Encoder. The item table parameter is dropped: its pipeline
// (recommend's item index) is not registered here.
func servedEncoder(b *testing.B, threads int) (*repository.Version, *Encoder) {
	b.Helper()
	root := b.TempDir()
	servetest.CopyModel(b, root, "query-encoder", servetest.WithoutParameters("items"))
	r := servetest.Repository(b, root, servetest.Options{IntraOpThreads: threads,
		Extensions: map[string]repository.Extension{ExtensionName: Extension{}}})
	v := r.Version(b, "query-encoder")
	enc, ok := repository.PipelineOf[*Encoder](v)
	if !ok {
		b.Fatal("query-encoder has no text-encoder pipeline")
	}
	return v, enc
}

// processCPU is the user + system CPU time of this process so far (every
// thread, ONNX Runtime's included); 0 where getrusage fails.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
