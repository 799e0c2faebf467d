package repository

import (
	"errors"
	"strings"
	"testing"

	"github.com/aisle-ai/aisle/tensor"
)

func TestRangeConfig(t *testing.T) {
	bad := map[string]string{
		"output":           "outputs: [{name: y, data_type: INT64, dims: [1], range: [0, 1]}]",
		"float":            "inputs: [{name: x, data_type: FP32, dims: [1], range: [0, 1]}]",
		"one value":        "inputs: [{name: x, data_type: INT64, dims: [1], range: [3]}]",
		"reversed":         "inputs: [{name: x, data_type: INT64, dims: [1], range: [5, 1]}]",
		"not number":       "inputs: [{name: x, data_type: INT64, dims: [1], range: [a, 1]}]",
		"index_of unknown": "inputs: [{name: x, data_type: INT64, dims: [1], index_of: {input: y, dim: 0}}]",
		"index_of self":    "inputs: [{name: x, data_type: INT64, dims: [1], index_of: {input: x, dim: 0}}]",
		"index_of dim": `inputs: [{name: x, data_type: INT64, dims: [1], index_of: {input: y, dim: 1}},
                 {name: y, data_type: FP32, dims: [-1]}]`,
		"index_of float": `inputs: [{name: x, data_type: FP32, dims: [1], index_of: {input: y, dim: 0}},
                 {name: y, data_type: FP32, dims: [-1]}]`,
		"index_of output": "outputs: [{name: x, data_type: INT64, dims: [1], index_of: {input: y, dim: 0}}]",
		"index_of key":    "inputs: [{name: x, data_type: INT64, dims: [1], index_of: {input: y, dimension: 0}}]",
	}
	for name, yaml := range bad {
		if _, err := ParseConfig([]byte(yaml)); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: ParseConfig = %v, want ErrConfig", name, err)
		}
	}
	cfg, err := ParseConfig([]byte("inputs: [{name: x, data_type: INT32, dims: [-1], range: [0, 9]}]"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.LimitInput("x", 2, 100); err != nil {
		t.Fatal(err)
	}
	if r := cfg.Inputs[0].Range; r[0] != 2 || r[1] != 9 {
		t.Errorf("LimitInput(2, 100) on [0, 9] = %v, want [2 9]", r)
	}
	if err := cfg.LimitInput("x", 20, 30); !errors.Is(err, ErrConfig) {
		t.Errorf("disjoint LimitInput = %v, want ErrConfig", err)
	}
}

// TestRangeCheck checks every integer type against a range, including a
// uint64 too large for an int64.
func TestRangeCheck(t *testing.T) {
	want := TensorConfig{Name: "ids", Range: []int64{0, 99}}
	cases := []struct {
		t       tensor.Tensor
		element string // "" when in range
	}{
		{tensor.FromSlice("ids", []int64{3}, []int64{0, 99, 5}), ""},
		{tensor.FromSlice("ids", []int64{3}, []int64{0, 100, 5}), "element 1 is 100"},
		{tensor.FromSlice("ids", []int64{2}, []int32{-1, 5}), "element 0 is -1"},
		{tensor.FromSlice("ids", []int64{2}, []int8{5, -128}), "element 1 is -128"},
		{tensor.FromSlice("ids", []int64{2}, []uint16{5, 1000}), "element 1 is 1000"},
		{tensor.FromSlice("ids", []int64{2}, []uint64{5, 1 << 63}), "element 1 is 9223372036854775808"},
		{tensor.FromSlice("ids", []int64{1}, []uint8{99}), ""},
	}
	for _, c := range cases {
		err := checkRange(&c.t, want)
		switch {
		case c.element == "" && err != nil:
			t.Errorf("%s %v: %v", c.t.DType, c.t.Data, err)
		case c.element != "" && (!errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), c.element)):
			t.Errorf("%s %v: %v, want ErrInvalidInput naming %q", c.t.DType, c.t.Data, err, c.element)
		}
	}
}

// TestIndexOf checks index inputs against the dimension they index, in the
// request's own tensors.
func TestIndexOf(t *testing.T) {
	cfg, err := ParseConfig([]byte(`max_batch_size: 4
inputs:
  - {name: nodes, data_type: INT64, dims: [-1]}
  - {name: alias, data_type: INT32, dims: [-1], index_of: {input: nodes, dim: 0}}
`))
	if err != nil {
		t.Fatal(err)
	}
	nodes := tensor.FromSlice("nodes", []int64{1, 3}, []int64{0, 5, 9})
	for _, c := range []struct {
		alias []int32
		ok    bool
	}{{[]int32{0, 2, 1, 0}, true}, {[]int32{0, 3, 1, 0}, false}, {[]int32{-1, 0, 0, 0}, false}} {
		in := []tensor.Tensor{nodes, tensor.FromSlice("alias", []int64{1, 4}, c.alias)}
		err := checkIndexes(in, cfg)
		if c.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidInput)) {
			t.Errorf("alias %v over 3 nodes: %v", c.alias, err)
		}
	}
}
