package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/aisle-ai/aisle/cart"
	"github.com/aisle-ai/aisle/internal/servetest"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/repository"
)

// These benchmarks drive a real server on loopback with a compiled Go gRPC
// client instead of ghz (whose dynamic messages cost more CPU per call):
// the same calls as scripts/bench/serve_bench.sh, to tell the load
// generator's share of the 2 cores from the server's. Each reports calls/s
// and the p50/p99 latency of the calls. Models that are absent are skipped.

// benchServer serves root on loopback until the benchmark ends and returns a
// client connection; it is the tests' server harness.
func benchServer(b *testing.B, root string) *grpc.ClientConn {
	b.Helper()
	return startServerOpts(b, root, 0, func(repo Repository) []Service {
		return []Service{NewPersonalization(repo, PersonalizationConfig{})}
	}).conn
}

// benchCopy copies models/<name> into root, or skips when it is absent;
// edit, when set, rewrites its config.yaml.
func benchCopy(b *testing.B, root, name string, edit func(string) string) {
	b.Helper()
	servetest.CopyModel(b, root, name, edit)
}

// withCartPipeline adds "pipeline: cart-gnn" to a cart-gnn config that
// lacks it, so RecommendCart serves it.
func withCartPipeline(cfg string) string {
	if strings.Contains(cfg, "pipeline:") {
		return cfg
	}
	return strings.Replace(cfg, "\nparameters:\n", "\nparameters:\n  pipeline: "+cart.ExtensionName+"\n", 1)
}

// benchCalls issues b.N calls from c goroutines and reports calls/s and
// latency percentiles.
func benchCalls(b *testing.B, c int, call func(context.Context) error) {
	b.Helper()
	ctx := context.Background()
	for range 2 * c { // connection and batch shapes warmed up
		if err := call(ctx); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	var mu sync.Mutex // guards lats
	lats := make([]time.Duration, 0, b.N)
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for range c {
		wg.Go(func() {
			var mine []time.Duration
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if err := call(ctx); err != nil {
					b.Error(err)
					break
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	if len(lats) == 0 {
		return
	}
	slices.Sort(lats)
	pct := func(p float64) float64 { return float64(lats[int(p*float64(len(lats)-1))]) / 1e6 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

var benchConcurrency = []int{1, 16, 64}

// BenchmarkGRPCHealth is the empty RPC: the server's gRPC ceiling.
func BenchmarkGRPCHealth(b *testing.B) {
	conn := benchServer(b, b.TempDir())
	hc := healthpb.NewHealthClient(conn)
	for _, c := range benchConcurrency {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			benchCalls(b, c, func(ctx context.Context) error {
				_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
				return err
			})
		})
	}
}

// BenchmarkGRPCModelInferMLP sends the ghz MLP request (64 floats in
// fp32_contents) to models/mlp as shipped.
func BenchmarkGRPCModelInferMLP(b *testing.B) {
	root := b.TempDir()
	benchCopy(b, root, "mlp", nil)
	conn := benchServer(b, root)
	client := pb.NewGRPCInferenceServiceClient(conn)
	x := make([]float32, 64)
	for i := range x {
		x[i] = 0.5
	}
	req := &pb.ModelInferRequest{ModelName: "mlp", Inputs: []*pb.ModelInferRequest_InferInputTensor{{
		Name: "x", Datatype: "FP32", Shape: []int64{1, 64}, Contents: &pb.InferTensorContents{Fp32Contents: x},
	}}}
	for _, c := range benchConcurrency {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			benchCalls(b, c, func(ctx context.Context) error {
				_, err := client.ModelInfer(ctx, req)
				return err
			})
		})
	}
}

// BenchmarkGRPCEmbedQuery sends {"texts":["organic whole milk"]} to
// models/query-encoder as shipped.
func BenchmarkGRPCEmbedQuery(b *testing.B) {
	root := b.TempDir()
	benchCopy(b, root, "query-encoder", nil)
	conn := benchServer(b, root)
	client := aislepb.NewPersonalizationClient(conn)
	req := &aislepb.EmbedQueryRequest{Texts: []string{"organic whole milk"}}
	for _, c := range benchConcurrency {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			benchCalls(b, c, func(ctx context.Context) error {
				_, err := client.EmbedQuery(ctx, req)
				return err
			})
		})
	}
}

// BenchmarkGRPCRecommendCart sends the 2-item cart to models/cart-gnn as
// shipped.
func BenchmarkGRPCRecommendCart(b *testing.B) {
	root := b.TempDir()
	benchCopy(b, root, "cart-gnn", withCartPipeline)
	conn := benchServer(b, root)
	client := aislepb.NewPersonalizationClient(conn)
	req := &aislepb.RecommendCartRequest{ItemNames: []string{"whole milk", "domestic eggs"}, K: 10}
	for _, c := range benchConcurrency {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			benchCalls(b, c, func(ctx context.Context) error {
				_, err := client.RecommendCart(ctx, req)
				return err
			})
		})
	}
}

// BenchmarkGRPCModelInferEncoder sends the 16-token query of
// scripts/bench/serve_bench.sh to the BERT-sized benchmark encoder
// (build/bench, scripts/bench/make_encoder.py) with batching on, one
// session of 2 intra-op threads or two of 1.
func BenchmarkGRPCModelInferEncoder(b *testing.B) {
	src := filepath.Join("..", "build", "bench", "models", "bench-encoder", "1", "model.onnx")
	onnx, err := os.ReadFile(src)
	if err != nil {
		b.Skipf("%s not found (scripts/bench/make_encoder.py)", src)
	}
	ids := []int64{101}
	for i := range 14 {
		ids = append(ids, int64(2000+i))
	}
	ids = append(ids, 102)
	mask, types := make([]int64, len(ids)), make([]int64, len(ids))
	for i := range mask {
		mask[i] = 1
	}
	in := func(name string, v []int64) *pb.ModelInferRequest_InferInputTensor {
		return &pb.ModelInferRequest_InferInputTensor{Name: name, Datatype: "INT64", Shape: []int64{1, int64(len(v))},
			Contents: &pb.InferTensorContents{Int64Contents: v}}
	}
	req := &pb.ModelInferRequest{ModelName: "bench", Inputs: []*pb.ModelInferRequest_InferInputTensor{
		in("input_ids", ids), in("attention_mask", mask), in("token_type_ids", types)}}
	for _, l := range []struct{ instances, threads, delayUS int }{{1, 2, 4000}, {2, 1, 1000}} {
		b.Run(fmt.Sprintf("layout=%dx%d", l.instances, l.threads), func(b *testing.B) {
			root := b.TempDir()
			if err := os.MkdirAll(filepath.Join(root, "bench", "1"), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "bench", "1", "model.onnx"), onnx, 0o644); err != nil {
				b.Fatal(err)
			}
			cfg := fmt.Sprintf(`max_batch_size: 64
inputs:
  - {name: input_ids, data_type: INT64, dims: [-1], ragged: true}
  - {name: attention_mask, data_type: INT64, dims: [-1], ragged: true}
  - {name: token_type_ids, data_type: INT64, dims: [-1], ragged: true}
instance_group: [{count: %d, kind: KIND_CPU}]
runtime: {intra_op_threads: %d, inter_op_threads: 1}
dynamic_batching: {max_queue_delay_microseconds: %d, default_queue_policy: {max_queue_size: 4096}}
`, l.instances, l.threads, l.delayUS)
			if err := os.WriteFile(filepath.Join(root, "bench", repository.ConfigFile), []byte(cfg), 0o644); err != nil {
				b.Fatal(err)
			}
			client := pb.NewGRPCInferenceServiceClient(benchServer(b, root))
			for _, c := range benchConcurrency {
				b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
					benchCalls(b, c, func(ctx context.Context) error {
						_, err := client.ModelInfer(ctx, req)
						return err
					})
				})
			}
		})
	}
}
