package server

import (
	"context"
	"errors"
	"io"
	"strconv"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/aisle-ai/aisle/proto/inference"
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

// TestModelStreamInferCancel cancels a stream with requests in flight: the
// call ends CANCELLED, the server's goroutines for it end (TestMain checks
// for leaks), and the server goes on serving new streams.
func TestModelStreamInferCancel(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "ident", identConfig)
	modelFile(t, root, "ident", 1, "identity_fp32.onnx")
	ts := startServer(t, root, 0)
	ctx, cancel := context.WithCancel(testCtx(t))
	stream, err := ts.client.ModelStreamInfer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 * maxStreamInFlight {
		if err := stream.Send(streamRequest("ident", i)); err != nil {
			break // the server may stop reading: the bound
		}
		if i == 0 {
			if _, err := stream.Recv(); err != nil {
				t.Fatal(err)
			}
		}
	}
	cancel()
	for {
		if _, err := stream.Recv(); err != nil {
			if status.Code(err) != codes.Canceled {
				t.Fatalf("after cancel: %v, want CANCELLED", err)
			}
			break
		}
	}

	again, err := ts.client.ModelStreamInfer(testCtx(t))
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
