package server

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	st "github.com/aisle-ai/aisle/internal/servetest"
	pb "github.com/aisle-ai/aisle/proto/inference"
)

// ONNX Runtime's integer Div traps (SIGFPE) on a zero divisor, which would
// end the server: these tests send the zero through the real server and
// then check it still answers.

// divModel is z = x / y on uint8 [batch, 3], the shape of the ONNX node
// test test_div_uint8 with a batch dimension.
func divModel() []byte {
	v := func(name string) st.ONNXValue {
		return st.ONNXValue{Name: name, Type: st.ONNXUint8, Dims: []int64{-1, 3}}
	}
	return st.ONNXModel(st.ONNXGraph{
		Inputs:  []st.ONNXValue{v("x"), v("y")},
		Outputs: []st.ONNXValue{v("z")},
		Nodes:   []st.ONNXNode{{Op: "Div", Name: "div", Inputs: []string{"x", "y"}, Outputs: []string{"z"}}},
	})
}

// constDivModel is z = x / c on int32 [batch, 2] with c an initializer.
func constDivModel(c0, c1 int32) []byte {
	v := func(name string) st.ONNXValue {
		return st.ONNXValue{Name: name, Type: st.ONNXInt32, Dims: []int64{-1, 2}}
	}
	raw := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, uint32(c0)), uint32(c1))
	return st.ONNXModel(st.ONNXGraph{
		Inputs:       []st.ONNXValue{v("x")},
		Outputs:      []st.ONNXValue{v("z")},
		Initializers: []st.ONNXTensor{{Name: "c", Type: st.ONNXInt32, Dims: []int64{2}, Raw: raw}},
		Nodes:        []st.ONNXNode{{Op: "Div", Name: "div", Inputs: []string{"x", "c"}, Outputs: []string{"z"}}},
	})
}

func uint8Input(name string, v ...byte) *pb.ModelInferRequest_InferInputTensor {
	return &pb.ModelInferRequest_InferInputTensor{Name: name, Datatype: "UINT8", Shape: []int64{1, int64(len(v))},
		Contents: &pb.InferTensorContents{UintContents: func() []uint32 {
			out := make([]uint32, len(v))
			for i, b := range v {
				out[i] = uint32(b)
			}
			return out
		}()}}
}

// TestZeroDivisorRefused sends zero divisors among good requests that
// batch with them: each zero is refused with INVALID_ARGUMENT naming the
// input and element, every other request in the same batches is answered,
// and the server answers afterwards.
func TestZeroDivisorRefused(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "div", "max_batch_size: 8\ndynamic_batching: {max_queue_delay_microseconds: 20000}\n")
	writeAtomic(t, filepath.Join(root, "div", "1", "model.onnx"), divModel())
	ts := startServer(t, root, 0)
	ctx := testCtx(t)

	var wg sync.WaitGroup
	errs := make([]error, 8)
	outs := make([]*pb.ModelInferResponse, 8)
	for i := range 8 {
		wg.Go(func() {
			y := []byte{2, 4, byte(1 + i)}
			if i%2 == 1 {
				y[1] = 0
			}
			outs[i], errs[i] = ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "div",
				Inputs: []*pb.ModelInferRequest_InferInputTensor{uint8Input("x", 8, 8, 8), uint8Input("y", y...)}})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if i%2 == 1 {
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `input "y" element 1 is 0`) {
				t.Errorf("request %d, zero divisor: %v; want InvalidArgument naming y element 1", i, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("request %d (no zero), batched with zero divisors: %v", i, err)
			continue
		}
		got := outs[i].Outputs[0].Contents.GetUintContents()
		if want := []uint32{4, 2, uint32(8 / (1 + i))}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("request %d: z = %v; want %v", i, got, want)
		}
	}
	if _, err := ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "div",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{uint8Input("x", 9, 9, 9), uint8Input("y", 3, 3, 3)}}); err != nil {
		t.Fatalf("the call after the zero divisors: %v", err)
	}
}

// TestConstantZeroDivisorRefusedAtLoad serves z = x / [2, 3], then offers
// version 2 dividing by [2, 0]: it is refused, and version 1 keeps
// answering.
func TestConstantZeroDivisorRefusedAtLoad(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "cdiv", "max_batch_size: 4\n")
	writeAtomic(t, filepath.Join(root, "cdiv", "1", "model.onnx"), constDivModel(2, 3))
	ts := startServer(t, root, 20*time.Millisecond)
	ctx := testCtx(t)
	ask := func() ([]int32, error) {
		resp, err := ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "cdiv",
			Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "INT32", Shape: []int64{1, 2},
				Contents: &pb.InferTensorContents{IntContents: []int32{12, 12}}}}})
		if err != nil {
			return nil, err
		}
		return resp.Outputs[0].Contents.GetIntContents(), nil
	}
	if got, err := ask(); err != nil || fmt.Sprint(got) != "[6 4]" {
		t.Fatalf("v1: %v, %v; want [6 4]", got, err)
	}

	writeAtomic(t, filepath.Join(root, "cdiv", "2", "model.onnx"), constDivModel(2, 0))
	waitFor(t, "v2 refused", func() bool {
		return counterValue(ts.reg, "aisle_model_load_failures_total", "cdiv", "load") >= 1
	})
	idx, err := ts.client.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var reason string
	for _, m := range idx.Models {
		if m.Name == "cdiv" && m.Version == "2" {
			reason = m.Reason
		}
	}
	if !strings.Contains(reason, `divides by constant "c", which holds a zero (element 1)`) {
		t.Errorf("v2's reason %q does not name the zero divisor", reason)
	}
	if got, err := ask(); err != nil || fmt.Sprint(got) != "[6 4]" {
		t.Fatalf("after the refused v2: %v, %v; want v1's [6 4]", got, err)
	}
}

// TestZeroDivisorConfigsRefused: data the server itself would put into a
// guarded divisor (zero warm-up data, a ragged input's zero padding) refuses
// the version at load instead of crashing it; random warm-up data is drawn
// without zeros there, and loads.
func TestZeroDivisorConfigsRefused(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "warm", "max_batch_size: 2\nmodel_warmup: [{name: zeros, batch_size: 1, inputs: {x: {data_type: TYPE_UINT8, dims: [3], zero_data: true}, y: {data_type: TYPE_UINT8, dims: [3], zero_data: true}}}]\n")
	writeAtomic(t, filepath.Join(root, "warm", "1", "model.onnx"), divModel())
	writeConfig(t, root, "pad", "max_batch_size: 2\ninputs: [{name: x, data_type: TYPE_UINT8, dims: [-1], ragged: true, pad_value: 1}, {name: y, data_type: TYPE_UINT8, dims: [-1], ragged: true}]\n")
	writeAtomic(t, filepath.Join(root, "pad", "1", "model.onnx"), divModel())
	writeConfig(t, root, "rand", "max_batch_size: 2\nmodel_warmup: [{name: r, batch_size: 2, count: 4, inputs: {x: {data_type: TYPE_UINT8, dims: [3], random_data: true}, y: {data_type: TYPE_UINT8, dims: [3], random_data: true}}}]\n")
	writeAtomic(t, filepath.Join(root, "rand", "1", "model.onnx"), divModel())
	ts := startServer(t, root, 0)
	idx, err := ts.client.RepositoryIndex(testCtx(t), &pb.RepositoryIndexRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"warm": `warmup "zeros": invalid model config: input "y" element 0 is 0`,
		"pad":  `input "y" is ragged and padded with 0: input "y" element 0 is 0`,
	}
	for _, m := range idx.Models {
		if m.Name == "rand" && m.State != "READY" {
			t.Errorf("rand (random warm-up data): state %s, reason %q; want READY", m.State, m.Reason)
		}
		if w, ok := want[m.Name]; ok {
			if m.State == "READY" || !strings.Contains(m.Reason, w) {
				t.Errorf("%s: state %s, reason %q; want refused with %q", m.Name, m.State, m.Reason, w)
			}
			delete(want, m.Name)
		}
	}
	if len(want) > 0 {
		t.Errorf("not in the index: %v", want)
	}
}
