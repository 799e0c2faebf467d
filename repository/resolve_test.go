package repository

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/tensor"
)

// TestUnbatchScalarModel checks the fallback for a batched config of a
// model with a 0-d tensor: it is served with max_batch_size 0, and declared
// tensors get back the dimension 0 that max_batch_size excluded, so they
// still agree with the model.
func TestUnbatchScalarModel(t *testing.T) {
	model := &inference.Model{
		Inputs: []inference.TensorInfo{
			{Name: "x", DType: tensor.FP32, Dims: []int64{-1, 4}},
			{Name: "s", DType: tensor.FP32, Dims: []int64{}},
		},
		Outputs: []inference.TensorInfo{{Name: "y", DType: tensor.FP32, Dims: []int64{-1, 4}}},
	}
	cfg, err := ParseConfig([]byte(`
max_batch_size: 8
dynamic_batching: {max_queue_delay_microseconds: 100}
inputs:
  - {name: x, data_type: FP32, dims: [4]}
  - {name: s, data_type: FP32, dims: []}
outputs:
  - {name: y, data_type: FP32, dims: [4]}
`))
	if err != nil {
		t.Fatal(err)
	}
	why := unbatchable(cfg, model)
	if !strings.Contains(why, `input "s" is 0-d`) {
		t.Fatalf("unbatchable = %q, want input s named", why)
	}
	if _, _, err := resolveTensors(cfg, model); err == nil {
		t.Fatal("a batched config of a 0-d input resolved")
	}
	r := unbatch(cfg, model)
	ins, outs, err := resolveTensors(&r, model)
	if err != nil {
		t.Fatal(err)
	}
	if r.MaxBatchSize != 0 || r.DynamicBatching != nil || !r.unbatched {
		t.Errorf("unbatched config = max_batch_size %d, dynamic %v", r.MaxBatchSize, r.DynamicBatching)
	}
	got := fmt.Sprint(ins[0].Dims, ins[1].Dims, outs[0].Dims)
	if want := "[-1 4] [] [-1 4]"; got != want {
		t.Errorf("dims %s, want %s", got, want)
	}
	if cfg.MaxBatchSize != 8 || len(cfg.Inputs[0].Dims) != 1 {
		t.Error("unbatch changed the parsed config")
	}

	plain := &inference.Model{Inputs: model.Inputs[:1], Outputs: model.Outputs}
	if why := unbatchable(cfg, plain); why != "" {
		t.Errorf("a model without 0-d tensors is unbatchable: %s", why)
	}
}
