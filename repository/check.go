package repository

import (
	"bytes"
	"fmt"

	"github.com/aisle-ai/aisle/batching"
	"github.com/aisle-ai/aisle/excerpt"
	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/tensor"
)

// orderInputs checks every input against the config and returns them in
// model order. Each message names the input and what was expected.
func (v *Version) orderInputs(in []tensor.Tensor) ([]tensor.Tensor, error) {
	cfg := v.Config
	out := make([]tensor.Tensor, len(cfg.Inputs))
	seen := make([]bool, len(cfg.Inputs))
	batch := int64(-1)
	for i := range in {
		t := &in[i]
		j := indexOf(cfg.Inputs, t.Name)
		if j < 0 {
			return nil, fmt.Errorf("%w: unexpected input %s for model %s (inputs: %v)", ErrInvalidInput, excerpt.Quote(t.Name), v.Name, tensorNames(cfg.Inputs))
		}
		if seen[j] {
			return nil, fmt.Errorf("%w: input %s given twice", ErrInvalidInput, excerpt.Quote(t.Name))
		}
		seen[j] = true
		if err := checkInput(t, cfg.Inputs[j], cfg.MaxBatchSize); err != nil {
			return nil, err
		}
		if cfg.MaxBatchSize > 0 {
			if batch >= 0 && t.Shape[0] != batch {
				return nil, fmt.Errorf("%w: input %s has batch size %d, other inputs %d", ErrInvalidInput, excerpt.Quote(t.Name), t.Shape[0], batch)
			}
			batch = t.Shape[0]
		}
		out[j] = *t
	}
	for j, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("%w: missing input %q for model %s", ErrInvalidInput, cfg.Inputs[j].Name, v.Name)
		}
	}
	if err := checkIndexes(out, cfg); err != nil {
		return nil, err
	}
	if err := v.checkGuards(out); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	return out, nil
}

// checkGuards runs the model's division guards (inference.InputGuard) on a
// request: a zero divisor would kill the process inside the runtime, so it
// must never reach a batch.
func (v *Version) checkGuards(in []tensor.Tensor) error {
	if v.Model == nil {
		return nil
	}
	for _, g := range v.Model.Guards {
		for i := range in {
			if in[i].Name == g.Input {
				if err := g.Check(&in[i]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// checkGuardedPads refuses a ragged input whose pad value a division guard
// refuses: the batcher would put it into the batch after the check.
func checkGuardedPads(cfg *Config, guards []inference.InputGuard) error {
	for _, g := range guards {
		i := indexOf(cfg.Inputs, g.Input)
		if i < 0 || !cfg.Inputs[i].Ragged {
			continue
		}
		dt := cfg.Inputs[i].DType()
		pad := tensor.Tensor{Name: g.Input, DType: dt, Shape: []int64{1}, Data: batching.PadElement(dt, cfg.Inputs[i].PadValue)}
		if err := g.Check(&pad); err != nil {
			return fmt.Errorf("%w: input %q is ragged and padded with %v: %v", ErrConfig, g.Input, cfg.Inputs[i].PadValue, err)
		}
	}
	return nil
}

func checkInput(t *tensor.Tensor, want TensorConfig, maxBatch int) error {
	if t.DType != want.DType() {
		return fmt.Errorf("%w: input %s has datatype %s, model expects %s", ErrInvalidInput, excerpt.Quote(t.Name), t.DType, want.DType())
	}
	dims := t.Shape
	if maxBatch > 0 {
		if len(dims) == 0 || dims[0] < 1 {
			return fmt.Errorf("%w: input %s has shape %s; expected [batch(1..%d)%s]", ErrInvalidInput, excerpt.Quote(t.Name), excerpt.Shape(t.Shape), maxBatch, dimsSuffix(want.Dims))
		}
		if dims[0] > int64(maxBatch) {
			return fmt.Errorf("%w: input %s has batch size %d, over max_batch_size %d", ErrInvalidInput, excerpt.Quote(t.Name), dims[0], maxBatch)
		}
		dims = dims[1:]
	}
	if !shapeMatches(dims, want.Dims) {
		return fmt.Errorf("%w: input %s has shape %s; expected %s", ErrInvalidInput, excerpt.Quote(t.Name), excerpt.Shape(t.Shape), expectedShape(want.Dims, maxBatch))
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("%w: input %s: %v", ErrInvalidInput, excerpt.Quote(t.Name), err)
	}
	if err := checkRange(t, want); err != nil {
		return err
	}
	// ONNX Runtime string tensors are C strings: a NUL would silently cut
	// the element short.
	for i, s := range t.Strings {
		if bytes.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("%w: input %s element %d contains a NUL byte, which ONNX string tensors cannot hold", ErrInvalidInput, excerpt.Quote(t.Name), i)
		}
	}
	return nil
}

func shapeMatches(got, want []int64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] < 0 || (want[i] != -1 && got[i] != want[i]) {
			return false
		}
	}
	return true
}

func expectedShape(dims []int64, maxBatch int) string {
	if maxBatch > 0 {
		return fmt.Sprintf("[batch(1..%d)%s]", maxBatch, dimsSuffix(dims))
	}
	return fmt.Sprint(dims)
}

func dimsSuffix(dims []int64) string {
	s := ""
	for _, d := range dims {
		s += fmt.Sprintf(", %d", d)
	}
	return s
}
