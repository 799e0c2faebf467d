package server

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/tensor"
)

// typedCases holds, per datatype, typed contents of four elements that use
// the type's extremes.
var typedCases = []struct {
	dt       string
	contents *pb.InferTensorContents
}{
	{"BOOL", &pb.InferTensorContents{BoolContents: []bool{true, false, true, true}}},
	{"INT8", &pb.InferTensorContents{IntContents: []int32{-128, 127, 0, -1}}},
	{"INT16", &pb.InferTensorContents{IntContents: []int32{-32768, 32767, 0, -1}}},
	{"INT32", &pb.InferTensorContents{IntContents: []int32{-2147483648, 2147483647, 0, -1}}},
	{"INT64", &pb.InferTensorContents{Int64Contents: []int64{-1 << 63, 1<<63 - 1, 0, -1}}},
	{"UINT8", &pb.InferTensorContents{UintContents: []uint32{0, 255, 1, 128}}},
	{"UINT16", &pb.InferTensorContents{UintContents: []uint32{0, 65535, 1, 32768}}},
	{"UINT32", &pb.InferTensorContents{UintContents: []uint32{0, 4294967295, 1, 2}}},
	{"UINT64", &pb.InferTensorContents{Uint64Contents: []uint64{0, 1<<64 - 1, 1, 1 << 63}}},
	{"FP32", &pb.InferTensorContents{Fp32Contents: []float32{-1.5, 3.25e38, 0, 1e-30}}},
	{"FP64", &pb.InferTensorContents{Fp64Contents: []float64{-1.5, 1.7e308, 0, 5e-324}}},
	{"BYTES", &pb.InferTensorContents{BytesContents: [][]byte{[]byte("milk"), {}, []byte("ß∂"), {0, 1}}}},
}

func TestTypedContentsRoundTrip(t *testing.T) {
	for _, tc := range typedCases {
		t.Run(tc.dt, func(t *testing.T) {
			req := &pb.ModelInferRequest{Inputs: []*pb.ModelInferRequest_InferInputTensor{
				{Name: "x", Datatype: tc.dt, Shape: []int64{2, 2}, Contents: tc.contents}}}
			ts, raw, err := requestTensors(req)
			if err != nil || raw {
				t.Fatalf("requestTensors: %v raw=%v", err, raw)
			}
			if err := ts[0].Validate(); err != nil {
				t.Fatal(err)
			}
			back, err := toContents(&ts[0])
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(back, tc.contents) {
				t.Fatalf("round trip = %v, want %v", back, tc.contents)
			}
		})
	}
}

// TestRawRoundTrip packs typed contents to raw bytes through the server's
// encoder and decodes them again as raw input.
func TestRawRoundTrip(t *testing.T) {
	for _, tc := range typedCases {
		t.Run(tc.dt, func(t *testing.T) {
			in, _, err := requestTensors(&pb.ModelInferRequest{Inputs: []*pb.ModelInferRequest_InferInputTensor{
				{Name: "x", Datatype: tc.dt, Shape: []int64{4}, Contents: tc.contents}}})
			if err != nil {
				t.Fatal(err)
			}
			resp := &pb.ModelInferResponse{}
			if err := responseTensors(resp, in, true); err != nil {
				t.Fatal(err)
			}
			again, raw, err := requestTensors(&pb.ModelInferRequest{
				Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: tc.dt, Shape: []int64{4}}},
				RawInputContents: resp.RawOutputContents})
			if err != nil || !raw {
				t.Fatalf("raw decode: %v", err)
			}
			if !reflect.DeepEqual(again[0].Data, in[0].Data) || !reflect.DeepEqual(again[0].Strings, in[0].Strings) {
				t.Fatalf("raw round trip differs: %v vs %v", again[0], in[0])
			}
		})
	}
}

func TestHalfPrecisionNeedsRaw(t *testing.T) {
	_, _, err := requestTensors(&pb.ModelInferRequest{Inputs: []*pb.ModelInferRequest_InferInputTensor{
		{Name: "h", Datatype: "FP16", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1}}}}})
	if err == nil || !strings.Contains(err.Error(), "raw_input_contents") {
		t.Fatalf("FP16 typed contents: err = %v, want a hint to use raw", err)
	}
	half := tensor.Tensor{Name: "h", DType: tensor.FP16, Shape: []int64{1}, Data: []byte{0, 0x3c}}
	if _, err := toContents(&half); err == nil {
		t.Fatal("FP16 output as typed contents should fail")
	}
}

// serverCases are typedCases with BYTES elements ONNX Runtime can hold: its
// string tensors are C strings, so an element cannot contain a NUL byte.
func serverCases() []struct {
	dt       string
	contents *pb.InferTensorContents
} {
	out := append(typedCases[:0:0], typedCases...)
	for i := range out {
		if out[i].dt == "BYTES" {
			out[i].contents = &pb.InferTensorContents{BytesContents: [][]byte{[]byte("milk"), {}, []byte("ß∂"), []byte("x y")}}
		}
	}
	return out
}

// TestEveryDTypeThroughServer runs each identity model through the real
// server, typed and raw.
func TestEveryDTypeThroughServer(t *testing.T) {
	root := t.TempDir()
	for _, tc := range serverCases() {
		name := "id_" + strings.ToLower(tc.dt)
		writeConfig(t, root, name, "max_batch_size: 4\n")
		modelFile(t, root, name, 1, fmt.Sprintf("identity_%s.onnx", strings.ToLower(tc.dt)))
	}
	writeConfig(t, root, "id_fp16", "max_batch_size: 4\n")
	modelFile(t, root, "id_fp16", 1, "identity_fp16.onnx")
	ts := startServer(t, root, 0)
	ctx := testCtx(t)
	for _, tc := range serverCases() {
		t.Run(tc.dt, func(t *testing.T) {
			resp, err := ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "id_" + strings.ToLower(tc.dt),
				Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: tc.dt, Shape: []int64{1, 4}, Contents: tc.contents}}})
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Outputs[0]; got.Datatype != tc.dt || !proto.Equal(got.Contents, tc.contents) {
				t.Fatalf("output = %v, want %v", got, tc.contents)
			}
		})
	}
	t.Run("FP16 raw", func(t *testing.T) {
		raw := tensor.AsBytes([]uint16{tensor.Float16Bits(1.5), tensor.Float16Bits(-2), 0, tensor.Float16Bits(65504)})
		resp, err := ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "id_fp16",
			Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP16", Shape: []int64{1, 4}}},
			RawInputContents: [][]byte{raw}})
		if err != nil {
			t.Fatal(err)
		}
		if string(resp.RawOutputContents[0]) != string(raw) {
			t.Fatalf("FP16 raw output %v, want %v", resp.RawOutputContents[0], raw)
		}
	})
}
