package server

import (
	"context"
	"errors"
	"io"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aisle-ai/aisle/batching"
	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/internal/servetest"
	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/tensor"
)

func streamRequest(model string, i int) *pb.ModelInferRequest {
	v := float32(i)
	return &pb.ModelInferRequest{ModelName: model, Id: strconv.Itoa(i),
		Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{1, 4}, []float32{v, v + 1, v + 2, v + 3})}}
}

// TestModelStreamInferOrder sends several times the in-flight bound on one
// stream, every fifth request bad, while reading: every request is
// answered, in order, with its own id and outputs or its own error.
func TestModelStreamInferOrder(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "ident", identConfig)
	modelFile(t, root, "ident", 1, "identity_fp32.onnx")
	ts := startServer(t, root, 0)
	ctx := testCtx(t)
	stream, err := ts.client.ModelStreamInfer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 5 * maxStreamInFlight
	sent := make(chan error, 1)
	go func() {
		defer close(sent)
		for i := range n {
			req := streamRequest("ident", i)
			if i%5 == 4 {
				req.Inputs[0].Datatype = "INT64"
			}
			if err := stream.Send(req); err != nil {
				sent <- err
				return
			}
		}
		sent <- stream.CloseSend()
	}()
	for i := range n {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if got := resp.InferResponse.GetId(); got != strconv.Itoa(i) {
			t.Fatalf("response %d has id %q", i, got)
		}
		if i%5 == 4 {
			if resp.ErrorMessage == "" {
				t.Fatalf("response %d: bad request answered without error", i)
			}
			continue
		}
		if resp.ErrorMessage != "" {
			t.Fatalf("response %d: %s", i, resp.ErrorMessage)
		}
		if got := resp.InferResponse.Outputs[0].Contents.Fp32Contents; got[0] != float32(i) || got[3] != float32(i+3) {
			t.Fatalf("response %d: outputs %v", i, got)
		}
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last response: %v, want EOF", err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

// heldRunner is a model that holds every run until release is closed (or
// the scheduler gives up on it), so requests stay inside the server.
type heldRunner struct {
	batching.Runner
	entered chan struct{} // one send per run started
	release chan struct{}
}

func (h heldRunner) Run(ctx context.Context, in []tensor.Tensor) ([]tensor.Tensor, error) {
	h.entered <- struct{}{}
	select {
	case <-h.release:
	case <-ctx.Done():
	}
	return h.Runner.Run(ctx, in)
}

// TestModelStreamInferCancel cancels a stream whose requests are held
// inside the server by a blocked model: the call ends CANCELLED, every
// held request ends CANCELLED on the server (its metrics, not the
// client's own context, say so), the server's goroutines for it end
// (TestMain checks for leaks), and the server goes on serving new streams.
func TestModelStreamInferCancel(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "ident", identConfig)
	modelFile(t, root, "ident", 1, "identity_fp32.onnx")
	held := heldRunner{entered: make(chan struct{}, 64), release: make(chan struct{})}
	r := servetest.Repository(t, root, servetest.Options{Extensions: testExtensions(),
		Runner: func(s *inference.Session) batching.Runner { held.Runner = s; return held }})
	srv := New(Config{HealthInterval: 20 * time.Millisecond}, r.Manager, r.Reg, r.Log)
	conn := servetest.Serve(t, srv)
	client := pb.NewGRPCInferenceServiceClient(conn)
	t.Cleanup(func() { close(held.release) }) // before the repository closes

	ctx, cancel := context.WithCancel(testCtx(t))
	stream, err := client.ModelStreamInfer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	for i := range n {
		if err := stream.Send(streamRequest("ident", i)); err != nil {
			t.Fatal(err)
		}
	}
	<-held.entered // the first batch runs; the rest queue behind it
	waitFor(t, "every request inside the server", func() bool { return gaugeValue(r.Reg, "aisle_requests_in_flight", "ident") == n })
	cancel()
	if _, err := stream.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("after cancel: %v, want CANCELLED", err)
	}
	// The client's CANCELLED comes from its own context; the server's
	// side is in its metrics: every held request ended CANCELLED there,
	// with the model still blocked, and none is in flight.
	waitFor(t, "the server to cancel the held requests", func() bool {
		return counterValue(r.Reg, "aisle_requests_total", "ident", "Canceled", "1") == n &&
			gaugeValue(r.Reg, "aisle_requests_in_flight", "ident") == 0
	})
	close(held.release)
	held.release = make(chan struct{}) // the cleanup's close

	again, err := client.ModelStreamInfer(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Send(streamRequest("ident", 7)); err != nil {
		t.Fatal(err)
	}
	resp, err := again.Recv()
	if err != nil || resp.ErrorMessage != "" || resp.InferResponse.Id != "7" {
		t.Fatalf("new stream after a cancel: %v, %v", resp, err)
	}
	if err := again.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := again.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("after CloseSend: %v, want EOF", err)
	}
}
