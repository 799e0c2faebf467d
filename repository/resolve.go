package repository

import (
	"fmt"

	"github.com/aisle-ai/aisle/inference"
)

// resolveTensors fills the config's inputs and outputs from the ONNX model
// when they are omitted, and otherwise checks that both agree: a file whose
// inputs disagree with its config is refused rather than failing on every
// request.
func resolveTensors(cfg *Config, m *inference.Model) (inputs, outputs []TensorConfig, err error) {
	inputs, err = resolveSide("input", cfg.Inputs, m.Inputs, cfg.MaxBatchSize, true)
	if err != nil {
		return nil, nil, err
	}
	outputs, err = resolveSide("output", cfg.Outputs, m.Outputs, cfg.MaxBatchSize, false)
	if err != nil {
		return nil, nil, err
	}
	return inputs, outputs, nil
}

// resolveSide returns the tensors in the model's order. Every model input
// must be configured; outputs may be a subset.
func resolveSide(kind string, declared []TensorConfig, actual []inference.TensorInfo, maxBatch int, all bool) ([]TensorConfig, error) {
	byName := make(map[string]inference.TensorInfo, len(actual))
	for _, a := range actual {
		byName[a.Name] = a
	}
	for _, d := range declared {
		a, ok := byName[d.Name]
		if !ok {
			return nil, fmt.Errorf("%w: config %s %q is not in the model (model has %v)", ErrConfig, kind, d.Name, infoNames(actual))
		}
		if err := checkAgree(kind, d, a, maxBatch); err != nil {
			return nil, err
		}
	}
	out := make([]TensorConfig, 0, len(actual))
	for _, a := range actual {
		if d, ok := find(declared, a.Name); ok {
			out = append(out, tighten(d, a, maxBatch))
			continue
		}
		if all && len(declared) > 0 {
			return nil, fmt.Errorf("%w: model %s %q is missing from config", ErrConfig, kind, a.Name)
		}
		derived, err := derive(a, maxBatch)
		if err != nil {
			return nil, err
		}
		out = append(out, derived)
	}
	return out, nil
}

func checkAgree(kind string, d TensorConfig, a inference.TensorInfo, maxBatch int) error {
	if d.DType() != a.DType {
		return fmt.Errorf("%w: %s %s: config says %s, model has %s", ErrConfig, kind, d.Name, d.DType(), a.DType)
	}
	dims := a.Dims
	if maxBatch > 0 {
		if len(dims) == 0 || (dims[0] != -1 && dims[0] < int64(maxBatch)) {
			return fmt.Errorf("%w: %s %s: max_batch_size %d needs a batch dim 0, model has dims %v", ErrConfig, kind, d.Name, maxBatch, a.Dims)
		}
		dims = dims[1:]
	}
	if len(dims) != len(d.Dims) {
		return fmt.Errorf("%w: %s %s: config dims %v, model dims %v (batch dim excluded when max_batch_size > 0)", ErrConfig, kind, d.Name, d.Dims, dims)
	}
	for i := range dims {
		if dims[i] != -1 && d.Dims[i] != -1 && dims[i] != d.Dims[i] {
			return fmt.Errorf("%w: %s %s: dim %d is %d in config, %d in model", ErrConfig, kind, d.Name, i, d.Dims[i], dims[i])
		}
	}
	return nil
}

// tighten takes the model's fixed dims where the config left them free
// (-1), so that a request of the wrong size is refused by the repository
// with INVALID_ARGUMENT naming the input, rather than failing in the
// runtime as INTERNAL. checkAgree has already checked the ranks.
func tighten(d TensorConfig, a inference.TensorInfo, maxBatch int) TensorConfig {
	dims := a.Dims
	if maxBatch > 0 {
		dims = dims[1:]
	}
	d.Dims = append([]int64(nil), d.Dims...)
	for i, m := range dims {
		if d.Dims[i] == -1 && m >= 0 {
			d.Dims[i] = m
		}
	}
	return d
}

func derive(a inference.TensorInfo, maxBatch int) (TensorConfig, error) {
	dims := append([]int64(nil), a.Dims...)
	if maxBatch > 0 {
		if len(dims) == 0 {
			return TensorConfig{}, fmt.Errorf("%w: %s is a scalar; it cannot have a batch dim (set max_batch_size: 0)", ErrConfig, a.Name)
		}
		dims = dims[1:]
	}
	return TensorConfig{Name: a.Name, DataType: a.DType.String(), Dims: dims, dtype: a.DType}, nil
}

func find(ts []TensorConfig, name string) (TensorConfig, bool) {
	for _, t := range ts {
		if t.Name == name {
			return t, true
		}
	}
	return TensorConfig{}, false
}

func infoNames(infos []inference.TensorInfo) []string {
	out := make([]string, len(infos))
	for i, in := range infos {
		out[i] = in.Name
	}
	return out
}

// unbatchable says why a batched config cannot batch its model, or "": a
// 0-d (scalar) input or output has no dimension 0 to batch on.
func unbatchable(cfg *Config, m *inference.Model) string {
	if cfg.MaxBatchSize == 0 {
		return ""
	}
	for i, in := range append(append([]inference.TensorInfo(nil), m.Inputs...), m.Outputs...) {
		if len(in.Dims) == 0 {
			kind := "input"
			if i >= len(m.Inputs) {
				kind = "output"
			}
			return fmt.Sprintf("%s %q is 0-d and has no dimension 0 to batch on", kind, in.Name)
		}
	}
	return ""
}

// unbatch returns cfg served without batching: max_batch_size 0, no
// dynamic batching, no ragged tensors, and each declared tensor's dims
// given back the model's dimension 0 that max_batch_size had excluded.
func unbatch(cfg *Config, m *inference.Model) Config {
	r := *cfg
	r.MaxBatchSize, r.DynamicBatching, r.unbatched = 0, nil, true
	r.Inputs = withDim0(cfg.Inputs, m.Inputs)
	r.Outputs = withDim0(cfg.Outputs, m.Outputs)
	return r
}

func withDim0(declared []TensorConfig, actual []inference.TensorInfo) []TensorConfig {
	out := make([]TensorConfig, len(declared))
	for i, d := range declared {
		d.Ragged = false
		for _, a := range actual {
			if a.Name == d.Name && len(a.Dims) > 0 {
				d.Dims = append([]int64{a.Dims[0]}, d.Dims...)
			}
		}
		out[i] = d
	}
	return out
}
