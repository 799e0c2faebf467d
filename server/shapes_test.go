package server

import (
	"fmt"
	"strings"
	"testing"

	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/tensor"
)

// shapesRequest asks testdata/onnx/shapes.onnx for 2s, [s s s], e + 2 and
// t, with s = 3, e of rows rows of 3 and t = "milk", in raw_input_contents
// or typed contents.
func shapesRequest(model string, rows int, raw bool) *pb.ModelInferRequest {
	e := make([]float32, rows*3)
	for i := range e {
		e[i] = float32(i)
	}
	req := &pb.ModelInferRequest{ModelName: model, Inputs: []*pb.ModelInferRequest_InferInputTensor{
		{Name: "s", Datatype: "FP32", Shape: []int64{}},
		{Name: "e", Datatype: "FP32", Shape: []int64{int64(rows), 3}},
		{Name: "t", Datatype: "BYTES", Shape: []int64{}},
	}}
	if raw {
		req.RawInputContents = [][]byte{tensor.AsBytes([]float32{3}), tensor.AsBytes(e),
			tensor.EncodeStrings([][]byte{[]byte("milk")})}
		return req
	}
	req.Inputs[0].Contents = &pb.InferTensorContents{Fp32Contents: []float32{3}}
	req.Inputs[1].Contents = &pb.InferTensorContents{Fp32Contents: e}
	req.Inputs[2].Contents = &pb.InferTensorContents{BytesContents: [][]byte{[]byte("milk")}}
	return req
}

// TestScalarEmptyAndInputlessThroughServer sends 0-d (KServe shape []) and
// zero-element tensors both ways through ModelInfer, typed and raw, on an
// unbatched model and on one whose config asks for batching (served
// unbatched, since a 0-d tensor has no dimension 0), and calls a model
// without inputs (issue 11).
func TestScalarEmptyAndInputlessThroughServer(t *testing.T) {
	root := t.TempDir()
	modelFile(t, root, "shapes", 1, "shapes.onnx")
	writeConfig(t, root, "shapes_batched", "max_batch_size: 8\ndynamic_batching: {}\n")
	modelFile(t, root, "shapes_batched", 1, "shapes.onnx")
	modelFile(t, root, "constant", 1, "constant.onnx")
	ts := startServer(t, root, 0)
	ctx := testCtx(t)

	for _, model := range []string{"shapes", "shapes_batched"} {
		for _, raw := range []bool{false, true} {
			for _, rows := range []int{0, 2} {
				resp, err := ts.client.ModelInfer(ctx, shapesRequest(model, rows, raw))
				if err != nil {
					t.Fatalf("%s raw=%v rows=%d: %v", model, raw, rows, err)
				}
				outs := responseOutputs(t, resp)
				if s2 := outs["s2"]; len(s2.Shape) != 0 || tensor.View[float32](s2.Data)[0] != 6 {
					t.Errorf("%s raw=%v: s2 = %v shape %v, want 6 shape []", model, raw, s2.Data, s2.Shape)
				}
				if e2 := outs["e2"]; len(e2.Shape) != 2 || e2.Shape[0] != int64(rows) || len(e2.Data) != rows*12 {
					t.Errorf("%s raw=%v rows=%d: e2 shape %v with %d bytes", model, raw, rows, e2.Shape, len(e2.Data))
				}
				if t2 := outs["t2"]; len(t2.Shape) != 0 || len(t2.Strings) != 1 || string(t2.Strings[0]) != "milk" {
					t.Errorf("%s raw=%v: t2 = %q shape %v", model, raw, t2.Strings, t2.Shape)
				}
			}
		}
	}
	meta, err := ts.client.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "shapes_batched"})
	if err != nil {
		t.Fatal(err)
	}
	if got := meta.Inputs[1].Shape; len(got) != 2 || got[0] != -1 || got[1] != 3 {
		t.Errorf("shapes_batched input e has shape %v in metadata, want [-1 3] (served unbatched)", got)
	}
	if got := meta.Inputs[0].Shape; len(got) != 0 {
		t.Errorf("scalar input s has shape %v in metadata, want []", got)
	}

	resp, err := ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "constant"})
	if err != nil {
		t.Fatal(err)
	}
	outs := responseOutputs(t, resp)
	if k := outs["k"]; len(k.Shape) != 0 || tensor.View[int64](k.Data)[0] != 7 {
		t.Errorf("constant k = %v shape %v, want 7 shape []", k.Data, k.Shape)
	}
	if c := outs["c"]; len(tensor.View[float32](c.Data)) != 4 {
		t.Errorf("constant c = %v", c)
	}
	// With no inputs to follow, outputs come back raw (as Triton always
	// answers), so an FP16 output, which has no typed field, is served too.
	if h := outs["h"]; len(resp.RawOutputContents) == 0 || len(h.Shape) != 0 || tensor.Float16Value(tensor.View[uint16](h.Data)[0]) != 1.5 {
		t.Errorf("constant h = %v shape %v, want raw FP16 1.5 shape []", h.Data, h.Shape)
	}
}

// responseOutputs decodes a response's outputs, raw or typed, by name.
func responseOutputs(t *testing.T, resp *pb.ModelInferResponse) map[string]tensor.Tensor {
	t.Helper()
	out, err := decodeOutputs(resp)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decodeOutputs(resp *pb.ModelInferResponse) (map[string]tensor.Tensor, error) {
	out := map[string]tensor.Tensor{}
	for i, o := range resp.Outputs {
		dt, err := tensor.ParseDType(o.Datatype)
		if err != nil {
			return nil, err
		}
		tt := tensor.Tensor{Name: o.Name, DType: dt, Shape: o.Shape}
		n := tensor.NumElements(o.Shape)
		switch {
		case len(resp.RawOutputContents) > i:
			err = fromRaw(&tt, resp.RawOutputContents[i], n)
		case len(resp.RawOutputContents) > 0:
			err = fmt.Errorf("%d raw outputs for %d outputs", len(resp.RawOutputContents), len(resp.Outputs))
		default:
			err = fromContents(&tt, o.Contents, n)
		}
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", o.Name, err)
		}
		out[o.Name] = tt
	}
	return out, nil
}

// TestUnservableModelRefusedAtLoad checks that load probes a model without
// configured warm-ups: one whose output does not carry the batch its config
// asks for is refused instead of marked ready and failing every request,
// while one the runtime merely rejects zeros for still loads.
func TestUnservableModelRefusedAtLoad(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "sum_rows", "max_batch_size: 8\n")
	modelFile(t, root, "sum_rows", 1, "sum_rows.onnx")
	modelFile(t, root, "sum_rows_unbatched", 1, "sum_rows.onnx")
	modelFile(t, root, "reshape3", 1, "reshape3.onnx") // zeros of shape [1, 4] cannot reshape to [-1, 3]
	ts := startServer(t, root, 0)
	ctx := testCtx(t)
	for model, ready := range map[string]bool{"sum_rows": false, "sum_rows_unbatched": true, "reshape3": true} {
		r, err := ts.client.ModelReady(ctx, &pb.ModelReadyRequest{Name: model})
		if err != nil || r.Ready != ready {
			t.Errorf("%s: ready = %v, %v; want %v", model, r.GetReady(), err, ready)
		}
	}
	for _, e := range ts.repo.Index() {
		if e.Name == "sum_rows" && !strings.Contains(e.Reason, "dimension 0 of every output must be the batch") {
			t.Errorf("sum_rows refused for %q, want the batch dimension named", e.Reason)
		}
	}
}

// TestEmptyRowsBatched sends zero-length sequences ([rows, 0]) to a batching
// model from several clients at once, so they are gathered into one batch
// of zero-byte inputs and scattered back.
func TestEmptyRowsBatched(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "seq", "max_batch_size: 8\ndynamic_batching: {max_queue_delay_microseconds: 2000}\n")
	modelFile(t, root, "seq", 1, "seq_sum.onnx")
	ts := startServer(t, root, 0)
	ctx := testCtx(t)
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			rows := int64(1 + i%2)
			in := func(name string) *pb.ModelInferRequest_InferInputTensor {
				return &pb.ModelInferRequest_InferInputTensor{Name: name, Datatype: "INT64", Shape: []int64{rows, 0},
					Contents: &pb.InferTensorContents{}}
			}
			resp, err := ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "seq",
				Inputs: []*pb.ModelInferRequest_InferInputTensor{in("input_ids"), in("attention_mask")}})
			if err != nil {
				errs <- err
				return
			}
			outs, err := decodeOutputs(resp)
			switch {
			case err != nil:
			case formatShape(outs["hidden"].Shape) != formatShape([]int64{rows, 0, 2}):
				err = fmt.Errorf("hidden has shape %v, want [%d 0 2]", outs["hidden"].Shape, rows)
			case formatShape(outs["total"].Shape) != formatShape([]int64{rows, 1}):
				err = fmt.Errorf("total has shape %v, want [%d 1]", outs["total"].Shape, rows)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func formatShape(s []int64) string { return fmt.Sprint(s) }
