package repository

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/tensor"
)

// ConfigFile is the name of a model's configuration file.
const ConfigFile = "config.yaml"

// DefaultModelFile is the model file name inside a version directory.
const DefaultModelFile = "model.onnx"

// ErrConfig reports an invalid model configuration.
var ErrConfig = errors.New("invalid model config")

// Config is a model's config.yaml. Field names follow Triton's
// model_config.proto so its users can read them at sight.
type Config struct {
	// Name must equal the model's directory name when set.
	Name string `yaml:"name"`
	// Platform is informational; only "onnxruntime_onnx" is served.
	Platform string `yaml:"platform"`
	// MaxBatchSize is the largest batch a runtime call takes. Greater than
	// zero means dim 0 of every input and output is the batch and Dims
	// exclude it; 0 means the model has no batch dimension.
	MaxBatchSize int `yaml:"max_batch_size"`
	// Inputs and Outputs may be omitted: they are then read from the ONNX
	// file. When given they are checked against it.
	Inputs  []TensorConfig `yaml:"inputs"`
	Outputs []TensorConfig `yaml:"outputs"`
	// VersionPolicy chooses which numeric version directories are served
	// (default: the latest one).
	VersionPolicy VersionPolicy `yaml:"version_policy"`
	// DynamicBatching enables gathering concurrent requests into one run.
	DynamicBatching *DynamicBatching `yaml:"dynamic_batching"`
	// InstanceGroup sets how many sessions run the model in parallel
	// (default one).
	InstanceGroup []InstanceGroup `yaml:"instance_group"`
	// Runtime overrides the server's ONNX Runtime session options.
	Runtime *inference.SessionOptions `yaml:"runtime"`
	// ModelWarmup lists requests run on each instance before the version is
	// marked ready.
	ModelWarmup []Warmup `yaml:"model_warmup"`
	// DefaultModelFilename overrides model.onnx.
	DefaultModelFilename string `yaml:"default_model_filename"`
	// Parameters are free-form settings for pre- and post-processing
	// pipelines (tokenizer path, pooling, item tables).
	Parameters map[string]string `yaml:"parameters"`

	// unbatched is set on a resolved config whose max_batch_size was dropped
	// because the model has a 0-d tensor (see unbatch).
	unbatched bool
}

// TensorConfig declares one input or output.
type TensorConfig struct {
	Name     string `yaml:"name"`
	DataType string `yaml:"data_type"`
	// Dims exclude the batch dimension when max_batch_size > 0; -1 is free.
	Dims []int64 `yaml:"dims"`
	// Ragged marks an input whose first non-batch dim differs between
	// requests (token sequences): the batcher pads it with PadValue. On an
	// output it means that dim follows the padded length and is trimmed
	// back per request.
	Ragged   bool    `yaml:"ragged"`
	PadValue float64 `yaml:"pad_value"`
	// Range bounds the values of an integer input, [min, max] inclusive:
	// an index into a table of n rows is [0, n-1]. A request holding a value
	// outside is refused with INVALID_ARGUMENT before it is batched, instead
	// of failing inside the runtime (batching would then isolate it, at the
	// cost of extra runs). Inputs only; integer types only.
	Range []int64 `yaml:"range"`
	// IndexOf bounds the values of an integer input by a dimension of
	// another input of the same request: each value v must satisfy
	// 0 <= v < that dimension (a node index into the request's own node
	// list, whose length no static range can state). Dim counts like Dims,
	// without the batch dimension. Checked before batching, like Range.
	IndexOf *IndexOf `yaml:"index_of"`

	dtype tensor.DType
}

// IndexOf names the dimension an index input points into.
type IndexOf struct {
	Input string `yaml:"input"`
	Dim   int    `yaml:"dim"`
}

// DType returns the parsed data type.
func (t TensorConfig) DType() tensor.DType { return t.dtype }

// VersionPolicy is Triton's ModelVersionPolicy: exactly one of Latest,
// All or Specific, or none for latest 1.
type VersionPolicy struct {
	Latest *struct {
		NumVersions int `yaml:"num_versions"`
	} `yaml:"latest"`
	All      *struct{} `yaml:"all"`
	Specific *struct {
		Versions []int64 `yaml:"versions"`
	} `yaml:"specific"`
}

// DynamicBatching is Triton's ModelDynamicBatching.
type DynamicBatching struct {
	PreferredBatchSize        []int               `yaml:"preferred_batch_size"`
	MaxQueueDelayMicroseconds uint64              `yaml:"max_queue_delay_microseconds"`
	PreserveOrdering          bool                `yaml:"preserve_ordering"`
	PriorityLevels            int                 `yaml:"priority_levels"`
	DefaultPriorityLevel      int                 `yaml:"default_priority_level"`
	DefaultQueuePolicy        QueuePolicy         `yaml:"default_queue_policy"`
	PriorityQueuePolicy       map[int]QueuePolicy `yaml:"priority_queue_policy"`
	// LatencyObjective (aisle's own, not Triton's) makes the scheduler
	// choose the batch size (up to max_batch_size) and the queue delay
	// itself and refuse with RESOURCE_EXHAUSTED what it cannot serve within
	// the target; preferred_batch_size and max_queue_delay_microseconds must
	// then be unset.
	LatencyObjective *LatencyObjective `yaml:"latency_objective"`
}

// LatencyObjective is a latency target for a percentile of requests, such
// as {percentile: 99, target_microseconds: 50000}: p99 within 50 ms of
// queueing and batch execution.
type LatencyObjective struct {
	Percentile         float64 `yaml:"percentile"`
	TargetMicroseconds uint64  `yaml:"target_microseconds"`
}

// QueuePolicy is Triton's ModelQueuePolicy.
type QueuePolicy struct {
	// TimeoutAction is REJECT (default) or DELAY.
	TimeoutAction              string `yaml:"timeout_action"`
	DefaultTimeoutMicroseconds uint64 `yaml:"default_timeout_microseconds"`
	AllowTimeoutOverride       bool   `yaml:"allow_timeout_override"`
	MaxQueueSize               int    `yaml:"max_queue_size"`
}

// InstanceGroup is Triton's ModelInstanceGroup; only CPU kinds run here.
type InstanceGroup struct {
	Count int    `yaml:"count"`
	Kind  string `yaml:"kind"`
}

// Warmup is Triton's ModelWarmup.
type Warmup struct {
	Name      string                 `yaml:"name"`
	BatchSize int                    `yaml:"batch_size"`
	Inputs    map[string]WarmupInput `yaml:"inputs"`
	Count     int                    `yaml:"count"`
}

// WarmupInput describes one synthetic warm-up input.
type WarmupInput struct {
	DataType   string  `yaml:"data_type"`
	Dims       []int64 `yaml:"dims"`
	ZeroData   bool    `yaml:"zero_data"`
	RandomData bool    `yaml:"random_data"`
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// ValidName reports whether name is a safe model name: no path separators,
// no traversal, not hidden.
func ValidName(name string) bool {
	return validName.MatchString(name) && !strings.Contains(name, "..")
}

// LoadConfig reads <dir>/config.yaml; a missing file yields an empty config
// whose tensors come from the model file.
func LoadConfig(dir string) (*Config, error) {
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if errors.Is(err, os.ErrNotExist) {
		return ParseConfig(nil)
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParseConfig(data)
}

// ParseConfig parses and validates config.yaml bytes. Unknown keys are
// errors: a misspelt setting must not be silently ignored.
func ParseConfig(data []byte) (*Config, error) {
	cfg := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}
