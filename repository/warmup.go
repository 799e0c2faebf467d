package repository

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/aisle-ai/aisle/tensor"
)

// warmup runs the configured warm-up requests on every instance, so the
// first real request does not pay for lazy allocation. A failing warm-up
// refuses the version, as in Triton.
func (v *Version) warmup(ctx context.Context) error {
	for _, w := range v.Config.ModelWarmup {
		inputs, err := v.warmupInputs(w)
		if err != nil {
			return fmt.Errorf("warmup %q: %w", w.Name, err)
		}
		for _, s := range v.sessions {
			for range max(w.Count, 1) {
				if _, err := s.Run(ctx, inputs); err != nil {
					return fmt.Errorf("warmup %q: %w", w.Name, err)
				}
			}
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
		if v.Config.MaxBatchSize > 0 {
			shape = append([]int64{int64(max(w.BatchSize, 1))}, shape...)
		}
		t := tensor.Tensor{Name: in.Name, DType: dt, Shape: shape}
		n := tensor.NumElements(shape)
		if dt == tensor.Bytes {
			t.Strings = make([][]byte, n)
			for j := range t.Strings {
				t.Strings[j] = []byte{}
			}
		} else {
			t.Data = make([]byte, n*int64(dt.Size()))
			if spec.RandomData {
				fillRandom(t.Data, dt, rng)
			}
		}
		out[i] = t
	}
	return out, nil
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
