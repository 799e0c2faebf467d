package server

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/tensor"
)

const identConfig = "max_batch_size: 8\ndynamic_batching: {max_queue_delay_microseconds: 100}\n"

func fp32Input(name string, shape []int64, v []float32) *pb.ModelInferRequest_InferInputTensor {
	return &pb.ModelInferRequest_InferInputTensor{Name: name, Datatype: "FP32", Shape: shape,
		Contents: &pb.InferTensorContents{Fp32Contents: v}}
}

func TestServerRPCs(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "ident", identConfig)
	modelFile(t, root, "ident", 1, "identity_fp32.onnx")
	writeConfig(t, root, "mlp", "max_batch_size: 16\n")
	modelFile(t, root, "mlp", 1, "mlp.onnx")
	auth, token := tokenAuth(t)
	ts := startServerConfig(t, root, 0, Config{Auth: auth}, noServices)
	ctx := testCtx(t)
	c := ts.client

	live, err := c.ServerLive(ctx, &pb.ServerLiveRequest{})
	if err != nil || !live.Live {
		t.Fatalf("ServerLive = %v, %v", live, err)
	}
	ready, err := c.ServerReady(ctx, &pb.ServerReadyRequest{})
	if err != nil || !ready.Ready {
		t.Fatalf("ServerReady = %v, %v", ready, err)
	}
	meta, err := c.ServerMetadata(ctx, &pb.ServerMetadataRequest{})
	if err != nil || meta.Name != "aisle" || !contains(meta.Extensions, "model_repository") {
		t.Fatalf("ServerMetadata = %v, %v", meta, err)
	}
	mr, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "mlp", Version: "1"})
	if err != nil || !mr.Ready {
		t.Fatalf("ModelReady = %v, %v", mr, err)
	}
	mm, err := c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "mlp"})
	if err != nil {
		t.Fatal(err)
	}
	if mm.Platform != "onnxruntime_onnx" || len(mm.Versions) != 1 || mm.Inputs[0].Name != "x" ||
		mm.Inputs[0].Datatype != "FP32" || len(mm.Inputs[0].Shape) != 2 || mm.Inputs[0].Shape[0] != -1 || mm.Inputs[0].Shape[1] != 64 {
		t.Fatalf("ModelMetadata = %v", mm)
	}

	// Typed contents in, typed contents out.
	resp, err := c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "ident", Id: "req-1",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{2, 4}, []float32{1, 2, 3, 4, 5, 6, 7, 8})}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Id != "req-1" || resp.ModelVersion != "1" || len(resp.Outputs) != 1 || resp.Outputs[0].Contents.Fp32Contents[7] != 8 {
		t.Fatalf("ModelInfer typed = %v", resp)
	}
	// Raw contents in, raw contents out.
	x := []float32{9, 8, 7, 6}
	resp, err = c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "ident",
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{1, 4}}},
		RawInputContents: [][]byte{tensor.AsBytes(x)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.RawOutputContents) != 1 || string(resp.RawOutputContents[0]) != string(tensor.AsBytes(x)) {
		t.Fatalf("ModelInfer raw = %v", resp)
	}

	idx, err := c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{Ready: true})
	if err != nil || len(idx.Models) != 2 || idx.Models[0].Name != "ident" || idx.Models[0].State != "READY" {
		t.Fatalf("RepositoryIndex = %v, %v", idx, err)
	}
	st, err := c.ModelStatistics(ctx, &pb.ModelStatisticsRequest{Name: "ident"})
	if err != nil || len(st.ModelStats) != 1 || st.ModelStats[0].InferenceCount != 3 || st.ModelStats[0].InferenceStats.Success.Count != 2 {
		t.Fatalf("ModelStatistics = %v, %v", st, err)
	}

	h, err := healthpb.NewHealthClient(ts.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v", h, err)
	}

	// Reflection lists the services, so ghz and grpcurl need no proto files.
	stream, err := reflectpb.NewServerReflectionClient(ts.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectpb.ServerReflectionRequest{MessageRequest: &reflectpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	rr, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var services []string
	for _, s := range rr.GetListServicesResponse().GetService() {
		services = append(services, s.Name)
	}
	if !contains(services, "inference.GRPCInferenceService") || !contains(services, "grpc.health.v1.Health") {
		t.Fatalf("reflection lists %v", services)
	}
	_ = stream.CloseSend()

	if _, err := c.RepositoryModelUnload(withToken(ctx, token), &pb.RepositoryModelUnloadRequest{ModelName: "mlp"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "mlp"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("infer on unloaded model: %v, want Unavailable", err)
	}
	if _, err := c.RepositoryModelLoad(withToken(ctx, token), &pb.RepositoryModelLoadRequest{ModelName: "mlp"}); err != nil {
		t.Fatal(err)
	}
	if mr, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "mlp"}); err != nil || !mr.Ready {
		t.Fatalf("ModelReady after load = %v, %v", mr, err)
	}
}

func TestErrorStatuses(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "ident", identConfig)
	modelFile(t, root, "ident", 1, "identity_fp32.onnx")
	writeConfig(t, root, "strs", "max_batch_size: 4\n")
	modelFile(t, root, "strs", 1, "identity_bytes.onnx")
	writeConfig(t, root, "reshape", "max_batch_size: 0\n")
	modelFile(t, root, "reshape", 1, "reshape3.onnx")
	writeConfig(t, root, "broken", "max_batch_size: 4\n")
	writeAtomic(t, root+"/broken/1/model.onnx", []byte("not a model"))
	// dims left free in the config where the model fixes them: the model's
	// dims still decide, so a wrong size is the client's error.
	writeConfig(t, root, "loose", "max_batch_size: 8\ninputs: [{name: x, data_type: FP32, dims: [-1]}]\n")
	modelFile(t, root, "loose", 1, "identity_fp32.onnx")
	ts := startServer(t, root, 0)
	ctx := testCtx(t)
	good := func() []*pb.ModelInferRequest_InferInputTensor {
		return []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{1, 4}, []float32{1, 2, 3, 4})}
	}
	cases := []struct {
		name string
		req  *pb.ModelInferRequest
		code codes.Code
		msg  string
	}{
		{"unknown model", &pb.ModelInferRequest{ModelName: "nope", Inputs: good()}, codes.NotFound, "nope"},
		{"unknown version", &pb.ModelInferRequest{ModelName: "ident", ModelVersion: "7", Inputs: good()}, codes.NotFound, "v7"},
		{"bad version", &pb.ModelInferRequest{ModelName: "ident", ModelVersion: "latest", Inputs: good()}, codes.NotFound, "latest"},
		{"not ready", &pb.ModelInferRequest{ModelName: "broken", Inputs: good()}, codes.Unavailable, "broken"},
		{"wrong input name", &pb.ModelInferRequest{ModelName: "ident",
			Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("y", []int64{1, 4}, []float32{1, 2, 3, 4})}}, codes.InvalidArgument, `"y"`},
		{"missing input", &pb.ModelInferRequest{ModelName: "ident"}, codes.InvalidArgument, `missing input "x"`},
		{"extra input", &pb.ModelInferRequest{ModelName: "ident", Inputs: append(good(), fp32Input("extra", []int64{1, 4}, []float32{1, 2, 3, 4}))},
			codes.InvalidArgument, `unexpected input "extra"`},
		{"input twice", &pb.ModelInferRequest{ModelName: "ident", Inputs: append(good(), good()...)}, codes.InvalidArgument, `input "x" given twice`},
		{"wrong dtype", &pb.ModelInferRequest{ModelName: "ident", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "INT64",
			Shape: []int64{1, 4}, Contents: &pb.InferTensorContents{Int64Contents: []int64{1, 2, 3, 4}}}}}, codes.InvalidArgument, "expects FP32"},
		{"unknown dtype", &pb.ModelInferRequest{ModelName: "ident", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP8",
			Shape: []int64{1, 4}}}}, codes.InvalidArgument, "FP8"},
		{"wrong shape", &pb.ModelInferRequest{ModelName: "ident",
			Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{1, 3}, []float32{1, 2, 3})}}, codes.InvalidArgument, "expected [batch(1..8), 4]"},
		{"wrong shape, dims free in config", &pb.ModelInferRequest{ModelName: "loose",
			Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{1, 3}, []float32{1, 2, 3})}}, codes.InvalidArgument, "expected [batch(1..8), 4]"},
		{"negative dim", &pb.ModelInferRequest{ModelName: "ident",
			Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{-1, 4}, []float32{1, 2, 3, 4})}}, codes.InvalidArgument, "shape"},
		{"count mismatch", &pb.ModelInferRequest{ModelName: "ident",
			Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{1, 4}, []float32{1, 2})}}, codes.InvalidArgument, "needs 4"},
		{"raw byte length", &pb.ModelInferRequest{ModelName: "ident",
			Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{1, 4}}},
			RawInputContents: [][]byte{make([]byte, 15)}}, codes.InvalidArgument, "15 bytes"},
		{"raw count", &pb.ModelInferRequest{ModelName: "ident", Inputs: good(), RawInputContents: [][]byte{{1}, {2}}}, codes.InvalidArgument, "raw_input_contents"},
		{"raw and typed", &pb.ModelInferRequest{ModelName: "ident", Inputs: good(), RawInputContents: [][]byte{make([]byte, 16)}}, codes.InvalidArgument, "sets contents"},
		{"batch over max", &pb.ModelInferRequest{ModelName: "ident",
			Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{9, 4}, make([]float32, 36))}}, codes.InvalidArgument, "max_batch_size 8"},
		{"unknown output", &pb.ModelInferRequest{ModelName: "ident", Inputs: good(),
			Outputs: []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: "z"}}}, codes.InvalidArgument, `"z"`},
		{"NUL in a string", &pb.ModelInferRequest{ModelName: "strs", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "BYTES",
			Shape: []int64{1, 4}, Contents: &pb.InferTensorContents{BytesContents: [][]byte{{'a'}, {'b', 0}, {}, {}}}}}}, codes.InvalidArgument, "NUL"},
		{"runtime failure", &pb.ModelInferRequest{ModelName: "reshape",
			Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{1, 4}, []float32{1, 2, 3, 4})}}, codes.Internal, "Reshape"},
		{"bad priority", &pb.ModelInferRequest{ModelName: "ident", Inputs: good(),
			Parameters: map[string]*pb.InferParameter{"priority": {ParameterChoice: &pb.InferParameter_StringParam{StringParam: "high"}}}}, codes.InvalidArgument, "priority"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ts.client.ModelInfer(ctx, tc.req)
			st, _ := status.FromError(err)
			if st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
				t.Fatalf("got %v %q, want %v containing %q", st.Code(), st.Message(), tc.code, tc.msg)
			}
		})
	}
	// The server still answers after every bad request.
	if _, err := ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "ident", Inputs: good()}); err != nil {
		t.Fatal(err)
	}
	if r, err := ts.client.ServerReady(ctx, &pb.ServerReadyRequest{}); err != nil || r.Ready {
		t.Fatalf("ServerReady with a broken model = %v, %v; want false", r, err)
	}
	if _, err := ts.client.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("ModelMetadata unknown: %v", err)
	}
	idx, err := ts.client.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if idx.Models[0].Name != "broken" || idx.Models[0].State != "UNAVAILABLE" || !strings.Contains(idx.Models[0].Reason, "invalid onnx") {
		t.Fatalf("index = %v", idx)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
