package repository

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/tensor"
)

// warmup runs the configured warm-up requests on every instance, so the
// first real request does not pay for lazy allocation, and checks every
// output the way a request's would be checked. A failing warm-up refuses the
// version, as in Triton.
//
// Without configured warm-ups it probes the model once instead (see probe),
// so a model that cannot be served is refused at load rather than marked
// ready and then failing every request.
func (v *Version) warmup(ctx context.Context) error {
	if len(v.Config.ModelWarmup) == 0 {
		return v.probe(ctx)
	}
	for _, w := range v.Config.ModelWarmup {
		inputs, err := v.warmupInputs(w)
		if err == nil {
			if err = v.checkGuards(inputs); err != nil {
				err = fmt.Errorf("%w: %v", ErrConfig, err)
			}
		}
		if err != nil {
			return fmt.Errorf("warmup %q: %w", w.Name, err)
		}
		for _, s := range v.sessions {
			for range max(w.Count, 1) {
				outs, err := s.Run(ctx, inputs)
				if err == nil {
					err = v.checkOutputs(outs, max(w.BatchSize, 1))
				}
				if err != nil {
					return fmt.Errorf("warmup %q: %w", w.Name, err)
				}
			}
		}
	}
	return nil
}

// probe runs one request of ones, every free dimension and the batch 1, on
// the first instance: the input conversion, the runtime call, the output
// conversion and the checks the scheduler applies to outputs. Ones, not
// zeros: ONNX Runtime's integer Div and Mod kernels raise SIGFPE on a zero
// divisor, which kills the process (seen on the ONNX node tests). The data is
// synthetic, so a model the runtime rejects it for (a Reshape to a shape
// input of ones, say) still loads; what refuses the model is a failure
// that does not depend on the data: a tensor aisle cannot convert
// (inference.ErrUnsupported) or outputs that contradict the config (a
// batched model whose outputs do not carry the batch in dimension 0).
func (v *Version) probe(ctx context.Context) error {
	if len(v.sessions) == 0 {
		return nil
	}
	outs, err := v.sessions[0].Run(ctx, v.probeInputs())
	if err == nil {
		err = v.checkOutputs(outs, 1)
	}
	dataDependent := errors.Is(err, inference.ErrRun) && !errors.Is(err, inference.ErrUnsupported)
	if err != nil && !dataDependent {
		return fmt.Errorf("probe with ones: %w", err)
	}
	return nil
}

// probeInputs builds one request of ones from the resolved config.
func (v *Version) probeInputs() []tensor.Tensor {
	out := make([]tensor.Tensor, len(v.Config.Inputs))
	for i, in := range v.Config.Inputs {
		shape := make([]int64, 0, len(in.Dims)+1)
		if v.Config.MaxBatchSize > 0 {
			shape = append(shape, 1)
		}
		for _, d := range in.Dims {
			shape = append(shape, max(d, 1)) // -1 (free) becomes 1
		}
		t := zeros(in.Name, in.DType(), shape)
		fillOnes(&t)
		out[i] = t
	}
	return out
}

// fillOnes sets every element of t to one ("1" for BYTES).
func fillOnes(t *tensor.Tensor) {
	var one []byte
	switch t.DType {
	case tensor.Bytes:
		for i := range t.Strings {
			t.Strings[i] = []byte("1")
		}
		return
	case tensor.FP32:
		one = tensor.AsBytes([]float32{1})
	case tensor.FP64:
		one = tensor.AsBytes([]float64{1})
	case tensor.FP16:
		one = tensor.AsBytes([]uint16{tensor.Float16Bits(1)})
	case tensor.BF16:
		one = tensor.AsBytes([]uint16{0x3f80})
	default: // integers and BOOL: little-endian 1
		one = make([]byte, t.DType.Size())
		one[0] = 1
	}
	for i := 0; i < len(t.Data); i += len(one) {
		copy(t.Data[i:], one)
	}
}

// checkOutputs checks a run's outputs as the scheduler and the server will:
// one per configured output, consistent data, the configured type and, for
// a batched model, rows in dimension 0.
func (v *Version) checkOutputs(outs []tensor.Tensor, rows int) error {
	if len(outs) != len(v.Config.Outputs) {
		return fmt.Errorf("%w: the model returned %d outputs, config has %d", ErrConfig, len(outs), len(v.Config.Outputs))
	}
	for i := range outs {
		o, want := &outs[i], &v.Config.Outputs[i]
		if err := o.Validate(); err != nil {
			return fmt.Errorf("%w: output %q: %w", inference.ErrUnsupported, want.Name, err)
		}
		if o.DType != want.DType() {
			return fmt.Errorf("%w: output %q is %s, config says %s", ErrConfig, want.Name, o.DType, want.DType())
		}
		if v.Config.MaxBatchSize > 0 && (len(o.Shape) == 0 || o.Shape[0] != int64(rows)) {
			return fmt.Errorf("%w: output %q has shape %v for a batch of %d; with max_batch_size > 0 dimension 0 of every output must be the batch",
				ErrConfig, want.Name, o.Shape, rows)
		}
	}
	return nil
}

func (v *Version) warmupInputs(w Warmup) ([]tensor.Tensor, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]tensor.Tensor, len(v.Config.Inputs))
	for i, in := range v.Config.Inputs {
		spec, ok := w.Inputs[in.Name]
		if !ok {
			return nil, fmt.Errorf("no data for input %q", in.Name)
		}
		dt, _ := tensor.ParseDType(spec.DataType)
		if dt != in.DType() {
			return nil, fmt.Errorf("input %q: warm-up datatype %s, model expects %s", in.Name, dt, in.DType())
		}
		shape := append([]int64(nil), spec.Dims...)
		if v.Config.MaxBatchSize > 0 || (v.Config.unbatched && len(in.Dims) > 0) {
			shape = append([]int64{int64(max(w.BatchSize, 1))}, shape...)
		}
		t := zeros(in.Name, dt, shape)
		if spec.RandomData && dt != tensor.Bytes {
			fillRandom(t.Data, dt, rng)
			if v.divisor(in.Name) {
				noZeros(t.Data, dt)
			}
		}
		out[i] = t
	}
	return out, nil
}

// divisor reports whether an inspected division refuses zeros in the named
// input (inference.InputGuard).
func (v *Version) divisor(name string) bool {
	if v.Model == nil {
		return false
	}
	for _, g := range v.Model.Guards {
		if g.Input == name && g.Zero {
			return true
		}
	}
	return false
}

// noZeros turns fillRandom's zeros into ones, so random warm-up data is a
// valid divisor; its values are small and non-negative, never -1 or a
// type's minimum, which the other guards refuse.
func noZeros(b []byte, dt tensor.DType) {
	size := dt.Size()
	for i := 0; i < len(b); i += size {
		if b[i] == 0 {
			b[i] = 1
		}
	}
}

// zeros returns a tensor of shape filled with zeros (empty strings for
// BYTES).
func zeros(name string, dt tensor.DType, shape []int64) tensor.Tensor {
	t := tensor.Tensor{Name: name, DType: dt, Shape: shape}
	n := tensor.NumElements(shape)
	if dt == tensor.Bytes {
		t.Strings = make([][]byte, n)
		for j := range t.Strings {
			t.Strings[j] = []byte{}
		}
		return t
	}
	t.Data = make([]byte, n*int64(dt.Size()))
	return t
}

// fillRandom writes small non-negative values, valid for every type
// (booleans 0/1, indices small enough for embedding lookups).
func fillRandom(b []byte, dt tensor.DType, rng *rand.Rand) {
	size := dt.Size()
	for i := 0; i < len(b); i += size {
		switch dt {
		case tensor.FP32:
			copy(b[i:], tensor.AsBytes([]float32{rng.Float32()}))
		case tensor.FP64:
			copy(b[i:], tensor.AsBytes([]float64{rng.Float64()}))
		case tensor.Bool:
			b[i] = byte(rng.IntN(2))
		default:
			b[i] = byte(rng.IntN(8))
		}
	}
}
