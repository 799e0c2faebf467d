package repository

import (
	"fmt"
	"math"

	"github.com/aisle-ai/aisle/excerpt"
	"github.com/aisle-ai/aisle/tensor"
)

// Value ranges keep a request that would fail inside the runtime out of
// the batches it would otherwise join. ONNX Runtime fails a Gather whose
// index lies outside its table for the whole batch; batching isolates such
// a request by splitting the batch (batching/isolate.go), but refusing it
// first costs one scan of its values instead of 2·log2(batch) extra runs,
// and tells the client which input and element were wrong.

func isInteger(d tensor.DType) bool {
	switch d {
	case tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64,
		tensor.Uint8, tensor.Uint16, tensor.Uint32, tensor.Uint64:
		return true
	}
	return false
}

// LimitInput narrows the value range of the named integer input to at most
// [lo, hi], keeping a tighter declared range. An extension calls it from
// Prepare, before the version serves, with what it knows of the model (a
// text encoder: its tokenizer's vocabulary).
func (c *Config) LimitInput(name string, lo, hi int64) error {
	i := indexOf(c.Inputs, name)
	if i < 0 {
		return fmt.Errorf("%w: no input %q to limit", ErrConfig, name)
	}
	t := &c.Inputs[i]
	if !isInteger(t.dtype) {
		return fmt.Errorf("%w: input %s is %s; only integer inputs have a range", ErrConfig, name, t.dtype)
	}
	if t.Range != nil {
		lo, hi = max(lo, t.Range[0]), min(hi, t.Range[1])
	}
	if lo > hi {
		return fmt.Errorf("%w: input %s: range %v leaves no value within [%d, %d]", ErrConfig, name, t.Range, lo, hi)
	}
	t.Range = []int64{lo, hi}
	return nil
}

// checkRange reports the first element of t outside want's range.
func checkRange(t *tensor.Tensor, want TensorConfig) error {
	if want.Range == nil {
		return nil
	}
	lo, hi := want.Range[0], want.Range[1]
	i, v, ok := -1, int64(0), true
	switch t.DType {
	case tensor.Int8:
		i, v = firstOutside(tensor.View[int8](t.Data), lo, hi)
	case tensor.Int16:
		i, v = firstOutside(tensor.View[int16](t.Data), lo, hi)
	case tensor.Int32:
		i, v = firstOutside(tensor.View[int32](t.Data), lo, hi)
	case tensor.Int64:
		i, v = firstOutside(tensor.View[int64](t.Data), lo, hi)
	case tensor.Uint8:
		i, v = firstOutside(tensor.View[uint8](t.Data), lo, hi)
	case tensor.Uint16:
		i, v = firstOutside(tensor.View[uint16](t.Data), lo, hi)
	case tensor.Uint32:
		i, v = firstOutside(tensor.View[uint32](t.Data), lo, hi)
	case tensor.Uint64:
		var big bool
		i, v, big = firstOutsideU64(tensor.View[uint64](t.Data), lo, hi)
		ok = !big
	}
	if i < 0 {
		return nil
	}
	val := fmt.Sprint(v)
	if !ok {
		val = fmt.Sprint(tensor.View[uint64](t.Data)[i])
	}
	return fmt.Errorf("%w: input %s element %d is %s, outside the model's range [%d, %d]",
		ErrInvalidInput, excerpt.Quote(t.Name), i, val, lo, hi)
}

func firstOutside[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32](s []T, lo, hi int64) (int, int64) {
	for i, x := range s {
		if v := int64(x); v < lo || v > hi {
			return i, v
		}
	}
	return -1, 0
}

// firstOutsideU64 is firstOutside for uint64, whose values may not fit an
// int64; big reports such a value.
func firstOutsideU64(s []uint64, lo, hi int64) (i int, v int64, big bool) {
	for i, x := range s {
		if x > math.MaxInt64 {
			return i, 0, true
		}
		if v := int64(x); v < lo || v > hi {
			return i, v, false
		}
	}
	return -1, 0, false
}

// checkIndexes checks the inputs that declare index_of against the
// dimension they index, in this request's own tensors (in model order).
func checkIndexes(in []tensor.Tensor, cfg *Config) error {
	off := 0
	if cfg.MaxBatchSize > 0 {
		off = 1
	}
	for i, c := range cfg.Inputs {
		if c.IndexOf == nil {
			continue
		}
		target := &in[indexOf(cfg.Inputs, c.IndexOf.Input)]
		size := target.Shape[c.IndexOf.Dim+off]
		bound := TensorConfig{Range: []int64{0, size - 1}}
		if err := checkRange(&in[i], bound); err != nil {
			return fmt.Errorf("%w (an index into dim %d of input %q, of size %d)", err, c.IndexOf.Dim, c.IndexOf.Input, size)
		}
	}
	return nil
}
