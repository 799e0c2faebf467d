package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aisle-ai/aisle/graphnn"
	"github.com/aisle-ai/aisle/internal/reliability"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/tensor"
)

// isolationRepo serves the real query-encoder and cart-gnn from models/,
// plus "encoder-raw" and "gnn-raw", the same models without a tokenizer or
// declared ranges, so token ids past the vocabulary and node indexes past
// the graph reach the runtime and fail there (the case batching must
// isolate).
func isolationRepo(t *testing.T) recommendClient {
	t.Helper()
	root := t.TempDir()
	copyModel(t, root, "query-encoder")
	copyModel(t, root, "cart-gnn")
	data, err := os.ReadFile(filepath.Join("..", "models", "query-encoder", "1", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, filepath.Join(root, "encoder-raw", "1", "model.onnx"), data)
	writeAtomic(t, filepath.Join(root, "encoder-raw", "config.yaml"), []byte(`max_batch_size: 64
inputs:
  - {name: input_ids, data_type: INT64, dims: [-1], ragged: true}
  - {name: attention_mask, data_type: INT64, dims: [-1], ragged: true}
  - {name: token_type_ids, data_type: INT64, dims: [-1], ragged: true}
outputs:
  - {name: last_hidden_state, data_type: FP32, dims: [-1, 128], ragged: true}
dynamic_batching: {max_queue_delay_microseconds: 500}
`))
	data, err = os.ReadFile(filepath.Join("..", "models", "cart-gnn", "1", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, filepath.Join(root, "gnn-raw", "1", "model.onnx"), data)
	writeAtomic(t, filepath.Join(root, "gnn-raw", "config.yaml"), []byte(`max_batch_size: 64
dynamic_batching: {max_queue_delay_microseconds: 200}
`))
	var p *Personalization
	ts := startServerWith(t, root, func(repo Repository) []Service {
		p = NewPersonalization(repo, PersonalizationConfig{})
		return []Service{p}
	})
	return recommendClient{ts: ts, c: aislepb.NewPersonalizationClient(ts.conn)}
}

// tokenRequest is a ModelInfer of one 8-token sequence whose first id is
// first.
func tokenRequest(model string, first int64) *pb.ModelInferRequest {
	ids := []int64{2, first, 7, 8, 9, 10, 11, 3}
	ones := []int64{1, 1, 1, 1, 1, 1, 1, 1}
	zeros := make([]int64, 8)
	shape := []int64{1, 8}
	return &pb.ModelInferRequest{ModelName: model,
		Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: "input_ids", Datatype: "INT64", Shape: shape}, {Name: "attention_mask", Datatype: "INT64", Shape: shape},
			{Name: "token_type_ids", Datatype: "INT64", Shape: shape}},
		RawInputContents: [][]byte{tensor.AsBytes(ids), tensor.AsBytes(ones), tensor.AsBytes(zeros)}}
}

// graphRequest is a ModelInfer of model (cart-gnn or gnn-raw) for cart;
// badAlias points past the cart's nodes, badItem puts an id past the
// embedding table: both fail in the runtime unless the config's index_of
// and range refuse them first.
func graphRequest(t *testing.T, model string, cart []int64, badAlias, badItem bool) *pb.ModelInferRequest {
	var b graphnn.Builder
	var batch graphnn.Batch
	if err := b.Build([][]int64{cart}, &batch); err != nil {
		t.Fatal(err)
	}
	if badAlias {
		batch.Alias[0] = int64(batch.Nodes) + 40
	}
	if badItem {
		batch.Items[0] = 5000
	}
	is, as, ss := batch.ItemsShape(), batch.AShape(), batch.SeqShape()
	return &pb.ModelInferRequest{ModelName: model,
		Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: "items", Datatype: "INT64", Shape: is[:]}, {Name: "A", Datatype: "FP32", Shape: as[:]},
			{Name: "alias", Datatype: "INT64", Shape: ss[:]}, {Name: "mask", Datatype: "INT64", Shape: ss[:]}},
		Outputs: []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: "session"}},
		RawInputContents: [][]byte{tensor.AsBytes(batch.Items), tensor.AsBytes(batch.A),
			tensor.AsBytes(batch.Alias), tensor.AsBytes(batch.Mask)}}
}

// TestBadRequestsFailAlone runs clients sending bad requests as fast as
// they can beside clients sending good ones, to the real encoder and
// cart-gnn through the real server: every good request must succeed (the
// bad ones share their batches: the test checks batches were split), and
// every bad one must fail with the right code and a message free of
// runtime source locations and server paths.
func TestBadRequestsFailAlone(t *testing.T) {
	rc := isolationRepo(t)
	ctx := testCtx(t)
	cart := []int64{3, 17, 42}
	goodCalls := map[string]func() error{
		"EmbedQuery": func() error {
			_, err := rc.c.EmbedQuery(ctx, &aislepb.EmbedQueryRequest{Texts: []string{"whole milk", "organic bananas"}})
			return err
		},
		"RecommendCart": func() error {
			_, err := rc.c.RecommendCart(ctx, &aislepb.RecommendCartRequest{ItemIds: cart, K: 5})
			return err
		},
		"cart-gnn ModelInfer": func() error {
			_, err := rc.ts.client.ModelInfer(ctx, graphRequest(t, "cart-gnn", cart, false, false))
			return err
		},
		"gnn-raw ModelInfer": func() error {
			_, err := rc.ts.client.ModelInfer(ctx, graphRequest(t, "gnn-raw", cart, false, false))
			return err
		},
		"encoder-raw ModelInfer": func() error {
			_, err := rc.ts.client.ModelInfer(ctx, tokenRequest("encoder-raw", 1000))
			return err
		},
	}
	badCalls := map[string]struct {
		req  *pb.ModelInferRequest
		code codes.Code
	}{
		"token id past the vocabulary, isolated": {tokenRequest("encoder-raw", 1_000_000), codes.Internal},
		"token id past the vocabulary, refused":  {tokenRequest("query-encoder", 1_000_000), codes.InvalidArgument},
		"alias past the nodes, isolated":         {graphRequest(t, "gnn-raw", cart, true, false), codes.Internal},
		"item past the table, isolated":          {graphRequest(t, "gnn-raw", cart, false, true), codes.Internal},
		"alias past the nodes, refused":          {graphRequest(t, "cart-gnn", cart, true, false), codes.InvalidArgument},
		"item past the table, refused":           {graphRequest(t, "cart-gnn", cart, false, true), codes.InvalidArgument},
	}
	rounds := 60
	if testing.Short() {
		rounds = 15
	}
	var goodWG, badWG sync.WaitGroup
	stop := make(chan struct{})
	var mu sync.Mutex // guards failures
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	var goodN, badN atomic.Int64
	for name, call := range goodCalls {
		for range 3 {
			goodWG.Go(func() {
				for range rounds {
					goodN.Add(1)
					if err := call(); err != nil {
						fail("good %s failed: %v", name, err)
					}
				}
			})
		}
	}
	for name, bad := range badCalls {
		badWG.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				badN.Add(1)
				_, err := rc.ts.client.ModelInfer(ctx, bad.req)
				checkBadStatus(fail, name, err, bad.code)
			}
		})
	}
	goodWG.Wait()
	close(stop)
	badWG.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("%d good calls, %d bad calls", goodN.Load(), badN.Load())
	reliability.Write(t, reliability.Record{Package: "server", Load: fmt.Sprintf("%d clients × %d good calls (EmbedQuery, RecommendCart, ModelInfer on 3 models) beside %d clients sending bad requests nonstop", 3*len(goodCalls), rounds, len(badCalls)), Faults: "token ids past the vocabulary and graph indexes past the nodes or the item table: refused by config ranges, or failing inside ONNX Runtime in batches shared with good calls", BadInputs: badN.Load(), Calls: goodN.Load(), Failed: int64(len(failures))})
	// The bad requests that reach the runtime shared batches with good
	// ones: otherwise no batch would have been split.
	for _, model := range []string{"encoder-raw", "gnn-raw"} {
		n, err := testutil.GatherAndCount(rc.ts.reg, "aisle_batch_splits_total")
		if err != nil {
			t.Fatal(err)
		}
		if v := splits(t, rc, model); v == 0 {
			t.Errorf("%s: no batch was split (%d series): bad requests never shared a batch, the test proves nothing", model, n)
		}
	}
}

// checkBadStatus checks a bad request's error: the expected code, a
// bounded message, no runtime source location and no absolute path.
func checkBadStatus(fail func(string, ...any), name string, err error, want codes.Code) {
	st, _ := status.FromError(err)
	msg := st.Message()
	switch {
	case err == nil:
		fail("bad %s succeeded", name)
	case st.Code() != want:
		fail("bad %s: %v, want %v", name, err, want)
	case len(msg) > maxMessage+len("…"):
		fail("bad %s: %d-byte message", name, len(msg))
	case strings.Contains(msg, ".cc:") || strings.Contains(msg, "onnxruntime_src") || strings.Contains(msg, string(filepath.Separator)+"tmp"):
		fail("bad %s: message carries internals: %s", name, msg)
	}
}

func splits(t *testing.T, rc recommendClient, model string) float64 {
	t.Helper()
	mfs, err := rc.ts.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "aisle_batch_splits_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "model" && l.GetValue() == model {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestRuntimeErrorMessage checks one isolated runtime failure's message in
// full: INTERNAL, naming the model and step, without the runtime's source
// location or any absolute path.
func TestRuntimeErrorMessage(t *testing.T) {
	rc := isolationRepo(t)
	ctx := testCtx(t)
	_, err := rc.ts.client.ModelInfer(ctx, graphRequest(t, "gnn-raw", []int64{1, 2}, true, false))
	st, _ := status.FromError(err)
	t.Logf("message: %s", st.Message())
	if st.Code() != codes.Internal || !strings.Contains(st.Message(), "gnn-raw v1: run:") {
		t.Fatalf("ModelInfer with a bad alias = %v, want INTERNAL naming gnn-raw v1 and the run step", err)
	}
	if strings.Contains(st.Message(), ".cc:") || strings.Contains(st.Message(), "onnxruntime_src") {
		t.Errorf("message carries a runtime source location: %s", st.Message())
	}
}
