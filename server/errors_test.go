package server

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/aisle-ai/aisle/proto/inference"
)

// TestErrorMessagesBounded sends client input of megabytes where the
// server quotes it (model, input, output and datatype names, shapes) and
// checks each answer keeps its code with a short message; and that
// refusal reasons and runtime failures carry no server paths or runtime
// source locations.
func TestErrorMessagesBounded(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "ident", identConfig)
	modelFile(t, root, "ident", 1, "identity_fp32.onnx")
	writeConfig(t, root, "reshape", "max_batch_size: 0\n")
	modelFile(t, root, "reshape", 1, "reshape3.onnx")
	writeConfig(t, root, "broken", "max_batch_size: 4\n")
	writeAtomic(t, root+"/broken/1/model.onnx", []byte("not a model"))
	// RepositoryModelLoad is a mutating call: authorised, so that the
	// bound on its NOT_FOUND message is what is tested.
	auth, tok := tokenAuth(t)
	ts := startServerConfig(t, root, 0, Config{Auth: auth}, func(Repository) []Service { return nil })
	ctx := withToken(testCtx(t), tok)
	huge := strings.Repeat("n", 1<<20)
	hugeShape := make([]int64, 1_000_000)
	for i := range hugeShape {
		hugeShape[i] = 1
	}
	x := func() *pb.ModelInferRequest_InferInputTensor {
		return fp32Input("x", []int64{1, 4}, []float32{1, 2, 3, 4})
	}
	cases := []struct {
		name string
		req  *pb.ModelInferRequest
		code codes.Code
		msg  string // a part the message must hold
	}{
		{"1 MB model name", &pb.ModelInferRequest{ModelName: huge, Inputs: []*pb.ModelInferRequest_InferInputTensor{x()}}, codes.NotFound, ""},
		{"1 MB version", &pb.ModelInferRequest{ModelName: "ident", ModelVersion: huge}, codes.NotFound, ""},
		{"1M-dim shape", &pb.ModelInferRequest{ModelName: "ident", Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: "x", Datatype: "FP32", Shape: hugeShape, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}}, codes.InvalidArgument, ""},
		{"1M-dim shape, raw", &pb.ModelInferRequest{ModelName: "ident", Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: "x", Datatype: "FP32", Shape: hugeShape}}, RawInputContents: [][]byte{make([]byte, 4)}}, codes.InvalidArgument, ""},
		{"1 MB input name", &pb.ModelInferRequest{ModelName: "ident", Inputs: []*pb.ModelInferRequest_InferInputTensor{
			fp32Input(huge, []int64{1, 4}, []float32{1, 2, 3, 4})}}, codes.InvalidArgument, ""},
		{"1 MB datatype", &pb.ModelInferRequest{ModelName: "ident", Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: "x", Datatype: huge, Shape: []int64{1, 4}}}}, codes.InvalidArgument, ""},
		{"1 MB output name", &pb.ModelInferRequest{ModelName: "ident", Inputs: []*pb.ModelInferRequest_InferInputTensor{x()},
			Outputs: []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: huge}}}, codes.InvalidArgument, ""},
		{"refused model", &pb.ModelInferRequest{ModelName: "broken", Inputs: []*pb.ModelInferRequest_InferInputTensor{x()}}, codes.Unavailable,
			"broken/1/model.onnx"},
		{"runtime failure", &pb.ModelInferRequest{ModelName: "reshape", Inputs: []*pb.ModelInferRequest_InferInputTensor{x()}}, codes.Internal, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ts.client.ModelInfer(ctx, tc.req)
			st, _ := status.FromError(err)
			msg := st.Message()
			if st.Code() != tc.code || !strings.Contains(msg, tc.msg) {
				t.Fatalf("got %v %.200q, want %v containing %q", st.Code(), msg, tc.code, tc.msg)
			}
			checkClientMessage(t, root, msg)
		})
	}
	for _, call := range []func() error{
		func() error {
			_, err := ts.client.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: huge})
			return err
		},
		func() error { _, err := ts.client.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: huge}); return err },
		func() error {
			_, err := ts.client.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{RepositoryName: huge})
			return err
		},
	} {
		err := call()
		if status.Code(err) != codes.NotFound {
			t.Errorf("got %v, want NotFound", err)
		}
		checkClientMessage(t, root, status.Convert(err).Message())
	}
	idx, err := ts.client.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range idx.Models {
		if m.Name == "broken" && !strings.Contains(m.Reason, "broken/1/model.onnx") {
			t.Errorf("reason %q does not name the file relative to the repository", m.Reason)
		}
		checkClientMessage(t, root, m.Reason)
	}
}

func checkClientMessage(t *testing.T, root, msg string) {
	t.Helper()
	if len(msg) > 600 {
		t.Errorf("message of %d bytes: %.100q…", len(msg), msg)
	}
	if strings.Contains(msg, root) || strings.Contains(msg, ".cc:") || strings.Contains(msg, ".go:") {
		t.Errorf("message carries a server path or source location: %q", msg)
	}
}

// TestRecoverUnary checks that a handler panic is answered INTERNAL naming
// the method and model, logged once with its stack and counted, with no
// panic text in the message.
func TestRecoverUnary(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	intercept := recoverUnary(log, m.panics)
	info := &grpc.UnaryServerInfo{FullMethod: "/inference.GRPCInferenceService/ModelInfer"}
	resp, err := intercept(context.Background(), &pb.ModelInferRequest{ModelName: "mlp"}, info,
		func(context.Context, any) (any, error) {
			var s []int
			return s[3], nil // index out of range: a Go runtime panic
		})
	st, _ := status.FromError(err)
	if resp != nil || st.Code() != codes.Internal {
		t.Fatalf("got %v, %v; want INTERNAL", resp, err)
	}
	for _, want := range []string{"ModelInfer", `"mlp"`} {
		if !strings.Contains(st.Message(), want) {
			t.Errorf("message %q does not name %s", st.Message(), want)
		}
	}
	for _, leak := range []string{"index out of range", "goroutine", ".go:"} {
		if strings.Contains(st.Message(), leak) {
			t.Errorf("message %q carries %q", st.Message(), leak)
		}
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), `"stack":"goroutine`) {
		t.Errorf("want one log line with the stack, got %d:\n%s", n, logs.String())
	}
	if n := testutil.ToFloat64(m.panics.WithLabelValues(info.FullMethod)); n != 1 {
		t.Errorf("aisle_grpc_panics_total = %v, want 1", n)
	}
}

func TestClientMessage(t *testing.T) {
	cases := map[string]string{
		"Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/tensor/gather_elements.cc:150 void onnxruntime::core_impl(const onnxruntime::Tensor*, onnxruntime::Tensor*) [with Tin = long int; int64_t = long int] GatherElements op: Out of range": "Status Message: GatherElements op: Out of range",
		"load m v1: invalid onnx model: /srv/aisle/models/m/1/model.onnx: truncated": "load m v1: invalid onnx model: model.onnx: truncated",
		"node Name:'/encoder/layer.0/Add' failed":                                    "node Name:'/encoder/layer.0/Add' failed",
		"read m/1/model.onnx: no such file":                                          "read m/1/model.onnx: no such file",
		"run failed at session.cc:88 in Run":                                         "run failed at in Run",
		"bench: overloaded: queue would wait 80ms":                                   "bench: overloaded: queue would wait 80ms",
	}
	for in, want := range cases {
		if got := clientMessage(in); got != want {
			t.Errorf("clientMessage(%q)\n = %q\nwant %q", in, got, want)
		}
	}
	if got := clientMessage(strings.Repeat("x", 1<<20)); len(got) > maxMessage+len("…") {
		t.Errorf("clientMessage of 1 MB = %d bytes", len(got))
	}
}

func TestRecoverStream(t *testing.T) {
	var logs bytes.Buffer
	m := newMetrics(prometheus.NewRegistry())
	intercept := recoverStream(slog.New(slog.NewJSONHandler(&logs, nil)), m.panics)
	info := &grpc.StreamServerInfo{FullMethod: "/inference.GRPCInferenceService/ModelStreamInfer"}
	err := intercept(nil, nil, info, func(any, grpc.ServerStream) error { panic("kaput") })
	if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "kaput") {
		t.Fatalf("got %v, want INTERNAL without the panic text", err)
	}
	if testutil.ToFloat64(m.panics.WithLabelValues(info.FullMethod)) != 1 || !strings.Contains(logs.String(), "kaput") {
		t.Errorf("panic not counted or not logged: %s", logs.String())
	}
}
