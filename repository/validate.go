package repository

import (
	"fmt"
	"strings"

	"github.com/aisle-ai/aisle/tensor"
)

// maxInstances bounds instance_group count: each instance is a full
// runtime session with its own memory.
const maxInstances = 64

// Validate checks the config on its own, before any model file is read.
func (c *Config) Validate() error {
	if c.Name != "" && !ValidName(c.Name) {
		return fmt.Errorf("%w: name %q: use letters, digits, '_', '-', '.'", ErrConfig, c.Name)
	}
	if c.Platform != "" && c.Platform != "onnxruntime_onnx" && c.Platform != "onnx_onnxv1" {
		return fmt.Errorf("%w: platform %q: only onnxruntime_onnx is served", ErrConfig, c.Platform)
	}
	if c.MaxBatchSize < 0 {
		return fmt.Errorf("%w: max_batch_size %d must be >= 0", ErrConfig, c.MaxBatchSize)
	}
	if err := validateTensors("inputs", c.Inputs); err != nil {
		return err
	}
	if err := validateTensors("outputs", c.Outputs); err != nil {
		return err
	}
	if err := validateIndexOf(c.Inputs); err != nil {
		return err
	}
	if err := c.VersionPolicy.validate(); err != nil {
		return err
	}
	if err := c.validateBatching(); err != nil {
		return err
	}
	if err := c.validateInstances(); err != nil {
		return err
	}
	if c.Runtime != nil {
		if err := c.Runtime.Validate(); err != nil {
			return fmt.Errorf("%w: runtime: %v", ErrConfig, err)
		}
	}
	if strings.ContainsAny(c.DefaultModelFilename, `/\`) || c.DefaultModelFilename == "." || c.DefaultModelFilename == ".." {
		return fmt.Errorf("%w: default_model_filename %q must be a plain file name", ErrConfig, c.DefaultModelFilename)
	}
	return c.validateWarmup()
}

func validateTensors(kind string, ts []TensorConfig) error {
	seen := map[string]bool{}
	for i := range ts {
		t := &ts[i]
		if t.Name == "" {
			return fmt.Errorf("%w: %s[%d] has no name", ErrConfig, kind, i)
		}
		if seen[t.Name] {
			return fmt.Errorf("%w: %s: duplicate name %q", ErrConfig, kind, t.Name)
		}
		seen[t.Name] = true
		dt, err := tensor.ParseDType(t.DataType)
		if err != nil {
			return fmt.Errorf("%w: %s %s: %v", ErrConfig, kind, t.Name, err)
		}
		t.dtype = dt
		for _, d := range t.Dims {
			if d < -1 {
				return fmt.Errorf("%w: %s %s: dim %d must be -1 or >= 0", ErrConfig, kind, t.Name, d)
			}
		}
		if n := probeElements(t.Dims, 1); n < 0 || n > maxProbeElements {
			return fmt.Errorf("%w: %s %s: dims %v hold more than %d elements", ErrConfig, kind, t.Name, t.Dims, maxProbeElements)
		}
		if t.Ragged && len(t.Dims) == 0 {
			return fmt.Errorf("%w: %s %s: ragged needs at least one non-batch dim", ErrConfig, kind, t.Name)
		}
		if err := validateRange(kind, t); err != nil {
			return err
		}
		if t.IndexOf != nil && kind != "inputs" {
			return fmt.Errorf("%w: %s %s: index_of applies to inputs only", ErrConfig, kind, t.Name)
		}
	}
	return nil
}

// validateIndexOf checks that every index_of names another declared input
// and one of its dimensions.
func validateIndexOf(ins []TensorConfig) error {
	for _, t := range ins {
		ix := t.IndexOf
		if ix == nil {
			continue
		}
		j := indexOf(ins, ix.Input)
		switch {
		case !isInteger(t.dtype):
			return fmt.Errorf("%w: inputs %s: index_of needs an integer data_type, not %s", ErrConfig, t.Name, t.dtype)
		case j < 0 || ix.Input == t.Name:
			return fmt.Errorf("%w: inputs %s: index_of.input %q is not another declared input", ErrConfig, t.Name, ix.Input)
		case ix.Dim < 0 || ix.Dim >= len(ins[j].Dims):
			return fmt.Errorf("%w: inputs %s: index_of.dim %d is not a dim of %s (dims %v, batch excluded)",
				ErrConfig, t.Name, ix.Dim, ix.Input, ins[j].Dims)
		}
	}
	return nil
}

func validateRange(kind string, t *TensorConfig) error {
	switch {
	case len(t.Range) == 0:
		// "range: []" states no range, as an absent key does (FuzzParseConfig
		// found the config's own YAML, which writes it so, refused).
		t.Range = nil
		return nil
	case kind != "inputs":
		return fmt.Errorf("%w: %s %s: range applies to inputs only", ErrConfig, kind, t.Name)
	case !isInteger(t.dtype):
		return fmt.Errorf("%w: %s %s: range needs an integer data_type, not %s", ErrConfig, kind, t.Name, t.dtype)
	case len(t.Range) != 2 || t.Range[0] > t.Range[1]:
		return fmt.Errorf("%w: %s %s: range %v must be [min, max] with min <= max", ErrConfig, kind, t.Name, t.Range)
	}
	return nil
}

func (p VersionPolicy) validate() error {
	n := 0
	if p.Latest != nil {
		n++
		if p.Latest.NumVersions < 1 {
			return fmt.Errorf("%w: version_policy.latest.num_versions must be >= 1", ErrConfig)
		}
	}
	if p.All != nil {
		n++
	}
	if p.Specific != nil {
		n++
		if len(p.Specific.Versions) == 0 {
			return fmt.Errorf("%w: version_policy.specific.versions is empty", ErrConfig)
		}
		for _, v := range p.Specific.Versions {
			if v < 1 {
				return fmt.Errorf("%w: version_policy.specific: version %d must be >= 1", ErrConfig, v)
			}
		}
	}
	if n > 1 {
		return fmt.Errorf("%w: version_policy: set only one of latest, all, specific", ErrConfig)
	}
	return nil
}

func (c *Config) validateBatching() error {
	db := c.DynamicBatching
	if db == nil {
		return nil
	}
	if c.MaxBatchSize == 0 {
		return fmt.Errorf("%w: dynamic_batching needs max_batch_size > 0", ErrConfig)
	}
	for _, p := range db.PreferredBatchSize {
		if p < 1 || p > c.MaxBatchSize {
			return fmt.Errorf("%w: preferred_batch_size %d must be in [1, max_batch_size %d]", ErrConfig, p, c.MaxBatchSize)
		}
	}
	if db.PriorityLevels < 0 || db.DefaultPriorityLevel < 0 || db.DefaultPriorityLevel > db.PriorityLevels {
		return fmt.Errorf("%w: default_priority_level %d must be in [0, priority_levels %d]",
			ErrConfig, db.DefaultPriorityLevel, db.PriorityLevels)
	}
	if o := db.LatencyObjective; o != nil {
		switch {
		case !(o.Percentile > 0 && o.Percentile < 100):
			return fmt.Errorf("%w: latency_objective.percentile %v must be in (0, 100)", ErrConfig, o.Percentile)
		case o.TargetMicroseconds == 0:
			return fmt.Errorf("%w: latency_objective.target_microseconds must be > 0", ErrConfig)
		case len(db.PreferredBatchSize) > 0:
			return fmt.Errorf("%w: latency_objective chooses batch sizes: remove preferred_batch_size", ErrConfig)
		case db.MaxQueueDelayMicroseconds > 0:
			return fmt.Errorf("%w: latency_objective chooses the queue delay: remove max_queue_delay_microseconds", ErrConfig)
		}
	}
	if err := db.DefaultQueuePolicy.validate("default_queue_policy"); err != nil {
		return err
	}
	for level, p := range db.PriorityQueuePolicy {
		if level < 1 || level > db.PriorityLevels {
			return fmt.Errorf("%w: priority_queue_policy level %d outside [1, %d]", ErrConfig, level, db.PriorityLevels)
		}
		if err := p.validate(fmt.Sprintf("priority_queue_policy[%d]", level)); err != nil {
			return err
		}
	}
	return nil
}

func (p QueuePolicy) validate(where string) error {
	switch strings.ToUpper(p.TimeoutAction) {
	case "", "REJECT", "DELAY":
	default:
		return fmt.Errorf("%w: %s.timeout_action %q (want REJECT or DELAY)", ErrConfig, where, p.TimeoutAction)
	}
	if p.MaxQueueSize < 0 {
		return fmt.Errorf("%w: %s.max_queue_size must be >= 0", ErrConfig, where)
	}
	return nil
}

func (c *Config) validateInstances() error {
	total := 0
	for _, g := range c.InstanceGroup {
		switch strings.ToUpper(g.Kind) {
		case "", "KIND_CPU", "KIND_AUTO", "KIND_GPU":
		default:
			return fmt.Errorf("%w: instance_group kind %q (want KIND_CPU, KIND_GPU or KIND_AUTO)", ErrConfig, g.Kind)
		}
		if g.Count < 0 {
			return fmt.Errorf("%w: instance_group count %d must be >= 0", ErrConfig, g.Count)
		}
		total += g.Count
	}
	if total > maxInstances {
		return fmt.Errorf("%w: %d instances exceed the limit of %d", ErrConfig, total, maxInstances)
	}
	return nil
}

// Instances returns the number of sessions to create (at least one).
func (c *Config) Instances() int {
	total := 0
	for _, g := range c.InstanceGroup {
		total += g.Count
	}
	return max(total, 1)
}

func (c *Config) validateWarmup() error {
	for i, w := range c.ModelWarmup {
		if w.BatchSize < 0 || w.Count < 0 {
			return fmt.Errorf("%w: model_warmup[%d]: batch_size and count must be >= 0", ErrConfig, i)
		}
		if c.MaxBatchSize > 0 && w.BatchSize > c.MaxBatchSize {
			return fmt.Errorf("%w: model_warmup[%d]: batch_size %d > max_batch_size %d", ErrConfig, i, w.BatchSize, c.MaxBatchSize)
		}
		for name, in := range w.Inputs {
			if _, err := tensor.ParseDType(in.DataType); err != nil {
				return fmt.Errorf("%w: model_warmup[%d] input %s: %v", ErrConfig, i, name, err)
			}
			for _, d := range in.Dims {
				if d < 1 {
					return fmt.Errorf("%w: model_warmup[%d] input %s: dims must be >= 1", ErrConfig, i, name)
				}
			}
			if n := probeElements(in.Dims, w.BatchSize); n < 0 || n > maxProbeElements {
				return fmt.Errorf("%w: model_warmup[%d] input %s: batch_size %d and dims %v hold more than %d elements",
					ErrConfig, i, name, w.BatchSize, in.Dims, maxProbeElements)
			}
		}
	}
	return nil
}

// maxProbeElements bounds the tensors load builds from a config alone (the
// probe of ones and the warm-up requests): 2^28 elements, 2 GiB at 8 bytes,
// far above any real model's one-row input. Without it a config with dims
// [2^32, 2^32] was accepted, and its element count overflows to -1, which
// makes zeros (warmup.go) call make with a negative length at load.
const maxProbeElements = 1 << 28

// probeElements returns the elements of one request of batch rows (0 means
// 1) with dims, a free dim (-1) counted as 1; -1 when that overflows.
func probeElements(dims []int64, batch int) int64 {
	shape := make([]int64, 0, len(dims)+1)
	shape = append(shape, int64(max(batch, 1)))
	for _, d := range dims {
		shape = append(shape, max(d, 1))
	}
	return tensor.NumElements(shape)
}
