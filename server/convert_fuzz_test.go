package server

import (
	"bytes"
	"errors"
	"math/big"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/tensor"
)

// FuzzInferRequest feeds arbitrary ModelInferRequest wire bytes through the
// decoding half of ModelInfer (the per-field limits, then the conversion of
// typed and raw contents, BYTES framing and shapes into tensors), which runs
// on every request before any model is touched. It must not panic; a
// refusal must wrap errBadRequest or errBadTensor and map to
// INVALID_ARGUMENT; an accepted tensor must hold exactly the bytes its shape
// and type need (computed without overflow), and it must survive the trip
// back to the wire and in again unchanged. Seeds: testdata/fuzz/FuzzInferRequest
// and the requests below.
func FuzzInferRequest(f *testing.F) {
	shape := []int64{1, 2}
	for _, req := range []*pb.ModelInferRequest{
		{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", shape, []float32{1, 2})}},
		{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "ids", Datatype: "INT64", Shape: shape}},
			RawInputContents: [][]byte{tensor.AsBytes([]int64{7, 8})}},
		{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "t", Datatype: "BYTES", Shape: shape}},
			RawInputContents: [][]byte{tensor.EncodeStrings([][]byte{[]byte("milk"), {}})}},
		{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "t", Datatype: "BYTES", Shape: shape,
			Contents: &pb.InferTensorContents{BytesContents: [][]byte{[]byte("a"), []byte("b")}}}}},
		{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "b", Datatype: "BOOL", Shape: shape,
			Contents: &pb.InferTensorContents{BoolContents: []bool{true, false}}}},
			Parameters: map[string]*pb.InferParameter{"priority": {ParameterChoice: &pb.InferParameter_Int64Param{Int64Param: 1}}}},
		{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "i8", Datatype: "INT8", Shape: shape,
			Contents: &pb.InferTensorContents{IntContents: []int32{-1, 300}}}}},
		{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "h", Datatype: "FP16", Shape: []int64{1}}},
			RawInputContents: [][]byte{{0, 0x3c}}},
		{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "big", Datatype: "UINT64", Shape: []int64{1 << 31, 1 << 31}}},
			RawInputContents: [][]byte{{}}},
		{ModelName: "none"},
	} {
		data, err := proto.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	limits := Limits{}.withDefaults()
	f.Fuzz(func(t *testing.T, data []byte) {
		req := &pb.ModelInferRequest{}
		if proto.Unmarshal(data, req) != nil {
			return
		}
		var ins []tensor.Tensor
		var raw bool
		err := limits.checkInfer(req)
		if err == nil {
			_, _, err = inferRequest(req)
		}
		if err == nil {
			ins, raw, err = requestTensors(req)
		}
		if err != nil {
			if !errors.Is(err, errBadRequest) && !errors.Is(err, errBadTensor) {
				t.Fatalf("refusal %v wraps neither errBadRequest nor errBadTensor", err)
			}
			if st, _ := status.FromError(toStatus(err)); st.Code() != codes.InvalidArgument {
				t.Fatalf("refusal %v maps to %v, want INVALID_ARGUMENT", err, st.Code())
			}
			return
		}
		for i := range ins {
			checkDecoded(t, &ins[i])
		}
		roundTrip(t, ins, raw)
	})
}

// checkDecoded checks an accepted tensor against its shape in exact
// arithmetic, so an overflowing element count cannot hide a short buffer.
func checkDecoded(t *testing.T, in *tensor.Tensor) {
	t.Helper()
	n := big.NewInt(1)
	for _, d := range in.Shape {
		n.Mul(n, big.NewInt(d))
	}
	if in.DType == tensor.Bytes {
		if !n.IsInt64() || int64(len(in.Strings)) != n.Int64() {
			t.Fatalf("input %q: %d strings for shape %v", in.Name, len(in.Strings), in.Shape)
		}
		return
	}
	want := new(big.Int).Mul(n, big.NewInt(int64(in.DType.Size())))
	if !want.IsInt64() || int64(len(in.Data)) != want.Int64() {
		t.Fatalf("input %q: %d bytes for shape %v of %s (needs %v)", in.Name, len(in.Data), in.Shape, in.DType, want)
	}
	if err := in.Validate(); err != nil {
		t.Fatalf("accepted input fails Validate: %v", err)
	}
}

// roundTrip encodes accepted tensors as a response would and decodes them
// again as a request: the bytes must come back unchanged. Types without a
// typed contents field (FP16, BF16) only travel raw.
func roundTrip(t *testing.T, ins []tensor.Tensor, raw bool) {
	t.Helper()
	resp := &pb.ModelInferResponse{}
	if err := responseTensors(resp, ins, raw); err != nil {
		if raw || !errors.Is(err, errBadTensor) {
			t.Fatalf("encoding accepted inputs: %v", err)
		}
		return
	}
	back := &pb.ModelInferRequest{RawInputContents: resp.RawOutputContents}
	for _, o := range resp.Outputs {
		back.Inputs = append(back.Inputs, &pb.ModelInferRequest_InferInputTensor{Name: o.Name, Datatype: o.Datatype, Shape: o.Shape, Contents: o.Contents})
	}
	got, _, err := requestTensors(back)
	if err != nil {
		t.Fatalf("decoding encoded inputs: %v", err)
	}
	for i := range ins {
		a, b := &ins[i], &got[i]
		if a.DType != b.DType || !bytes.Equal(a.Data, b.Data) || len(a.Strings) != len(b.Strings) {
			t.Fatalf("input %q changed on the round trip: %s %d bytes %d strings, then %s %d bytes %d strings",
				a.Name, a.DType, len(a.Data), len(a.Strings), b.DType, len(b.Data), len(b.Strings))
		}
		for j := range a.Strings {
			if !bytes.Equal(a.Strings[j], b.Strings[j]) {
				t.Fatalf("input %q string %d changed on the round trip", a.Name, j)
			}
		}
	}
}
