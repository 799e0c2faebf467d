package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aisle-ai/aisle/batching"
	"github.com/aisle-ai/aisle/inference"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/tensor"
)

func TestOverloadStatus(t *testing.T) {
	for _, err := range []error{batching.ErrOverloaded, batching.ErrQueueFull, errTooManyCalls} {
		if got := status.Code(toStatus(err)); got != codes.ResourceExhausted {
			t.Errorf("toStatus(%v) = %v, want ResourceExhausted", err, got)
		}
	}
}

// TestInFlightLimit holds limit calls of one method in a handler and checks
// the next is refused at once with RESOURCE_EXHAUSTED, another method and
// health checks are not, and a call is accepted again once one returns.
func TestInFlightLimit(t *testing.T) {
	ctx := testCtx(t)
	intercept := newInFlightLimit(2).unary()
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	blocking := func(context.Context, any) (any, error) {
		entered <- struct{}{}
		<-release
		return "ok", nil
	}
	quick := func(context.Context, any) (any, error) { return "ok", nil }
	embed := &grpc.UnaryServerInfo{FullMethod: "/aisle.v1.Personalization/EmbedQuery"}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := intercept(ctx, nil, embed, blocking); err != nil {
				t.Errorf("held call: %v", err)
			}
		})
	}
	<-entered
	<-entered
	if _, err := intercept(ctx, nil, embed, quick); status.Code(err) != codes.ResourceExhausted ||
		!strings.Contains(err.Error(), "EmbedQuery") {
		t.Errorf("third call: %v, want ResourceExhausted naming the method", err)
	}
	for _, m := range []string{"/aisle.v1.Personalization/RecommendCart", "/grpc.health.v1.Health/Check"} {
		if _, err := intercept(ctx, nil, &grpc.UnaryServerInfo{FullMethod: m}, quick); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
	close(release)
	wg.Wait()
	if _, err := intercept(ctx, nil, embed, quick); err != nil {
		t.Errorf("after the load: %v", err)
	}
}

// tokenBatch is a ModelInfer of rows 16-token sequences for the query
// encoder.
func tokenBatch(rows int) *pb.ModelInferRequest {
	const n = 16
	ids, ones, zeros := make([]int64, rows*n), make([]int64, rows*n), make([]int64, rows*n)
	for i := range ids {
		ids[i] = int64(5 + i%1000)
		ones[i] = 1
	}
	shape := []int64{int64(rows), n}
	return &pb.ModelInferRequest{ModelName: "query-encoder",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: "input_ids", Datatype: "INT64", Shape: shape}, {Name: "attention_mask", Datatype: "INT64", Shape: shape},
			{Name: "token_type_ids", Datatype: "INT64", Shape: shape}},
		RawInputContents: [][]byte{tensor.AsBytes(ids), tensor.AsBytes(ones), tensor.AsBytes(zeros)}}
}

// TestOverloadShedsOnRealEncoder overloads the real query encoder through
// the real server on loopback, with a latency objective of 2 ms: 48 clients
// send 4 calls each, half ModelInfer of 64 rows (a full batch, several ms
// of encoder time), half EmbedQuery of one text. Every call must end (the
// test context bounds them) either with its outputs or with
// RESOURCE_EXHAUSTED, some of each; once the load is over, calls are
// accepted again. Nothing is timed: a 64-row batch alone exceeds the
// objective, so every call that arrives while another runs is refused.
func TestOverloadShedsOnRealEncoder(t *testing.T) {
	root := t.TempDir()
	copyModel(t, root, "query-encoder")
	cfgPath := filepath.Join(root, "query-encoder", "config.yaml")
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(data), "dynamic_batching:")
	j := strings.Index(string(data), "instance_group:")
	if i < 0 || j < i {
		t.Fatalf("%s: no dynamic_batching block before instance_group", cfgPath)
	}
	cfg := string(data[:i]) + "dynamic_batching: {latency_objective: {percentile: 99, target_microseconds: 2000}}\n" + string(data[j:])
	writeAtomic(t, cfgPath, []byte(cfg))
	ts := startServerConfig(t, root, 0, Config{}, func(repo Repository) []Service {
		return []Service{NewPersonalization(repo, PersonalizationConfig{})}
	})
	pc := aislepb.NewPersonalizationClient(ts.conn)
	ctx := testCtx(t)

	const clients, each = 48, 4
	var ok, shed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for c := range clients {
		wg.Go(func() {
			<-start
			for range each {
				var err error
				if c%2 == 0 {
					var r *pb.ModelInferResponse
					r, err = ts.client.ModelInfer(ctx, tokenBatch(64))
					if err == nil && (len(r.Outputs) != 1 || r.Outputs[0].Shape[0] != 64) {
						err = errors.New("wrong outputs")
					}
				} else {
					var r *aislepb.EmbedQueryResponse
					r, err = pc.EmbedQuery(ctx, &aislepb.EmbedQueryRequest{Texts: []string{"organic whole milk"}})
					if err == nil && (len(r.Embeddings) != 1 || r.Dim == 0) {
						err = errors.New("wrong embeddings")
					}
				}
				switch status.Code(err) {
				case codes.OK:
					ok.Add(1)
				case codes.ResourceExhausted:
					shed.Add(1)
				default:
					t.Errorf("client %d: %v, want outputs or RESOURCE_EXHAUSTED", c, err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	t.Logf("accepted %d, refused %d", ok.Load(), shed.Load())
	if ok.Load() == 0 || shed.Load() == 0 {
		t.Fatalf("accepted %d, refused %d: want both", ok.Load(), shed.Load())
	}
	// Each refused call is one request refused by the scheduler.
	if n := counterValue(ts.reg, "aisle_batch_rejected_total", "query-encoder", "overloaded", "1"); n != float64(shed.Load()) {
		t.Errorf("aisle_batch_rejected_total{reason=overloaded} = %v, want %d", n, shed.Load())
	}
	for i := range 5 {
		if _, err := ts.client.ModelInfer(ctx, tokenBatch(64)); err != nil {
			t.Fatalf("ModelInfer %d after the load: %v", i, err)
		}
		if _, err := pc.EmbedQuery(ctx, &aislepb.EmbedQueryRequest{Texts: []string{"bananas"}}); err != nil {
			t.Fatalf("EmbedQuery %d after the load: %v", i, err)
		}
	}
}

// TestRuntimeFaultStatus checks the statuses of the runtime failures that
// the batching scheduler fails a whole batch with, unsplit.
func TestRuntimeFaultStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want codes.Code
	}{
		{fmt.Errorf("m: run: %w", inference.ErrSessionClosed), codes.Unavailable},
		{fmt.Errorf("m: run: %w: %w: x", inference.ErrRun, inference.ErrOutOfMemory), codes.ResourceExhausted},
		{fmt.Errorf("m: run: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{fmt.Errorf("m: run: %w: x", inference.ErrRun), codes.Internal},
	} {
		if got := status.Code(toStatus(tc.err)); got != tc.want {
			t.Errorf("toStatus(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
