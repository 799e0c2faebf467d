package inference

import (
	"errors"
	"fmt"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// ErrProvider reports an execution provider the loaded runtime lacks.
var ErrProvider = errors.New("execution provider not available")

// SessionOptions configure how ONNX Runtime runs one session.
type SessionOptions struct {
	// IntraOpThreads is the size of the thread pool inside one operator.
	// 0 lets ONNX Runtime choose (one per core). On small machines 1 with
	// several instances usually wins: pools of several sessions fight over
	// the same cores otherwise.
	IntraOpThreads int `yaml:"intra_op_threads"`
	// InterOpThreads is the size of the pool running independent operators
	// in parallel; 0 lets ONNX Runtime choose.
	InterOpThreads int `yaml:"inter_op_threads"`
	// GraphOptimization is one of "disable", "basic", "extended" or "all"
	// (default "all").
	GraphOptimization string `yaml:"graph_optimization_level"`
	// ExecutionProvider is "cpu" (default), "cuda" or "tensorrt".
	ExecutionProvider string `yaml:"execution_provider"`
	// DeviceID selects the GPU for the cuda and tensorrt providers.
	DeviceID int `yaml:"device_id"`
	// AllowSpinning, when set, turns ONNX Runtime's spin-waiting of idle
	// thread-pool threads on or off (session.intra_op.allow_spinning and
	// session.inter_op.allow_spinning); nil keeps the runtime's default, on.
	// Spinning only exists with more than one thread in a pool. Off frees the
	// cores the pool threads burn between runs (gRPC and the load generator
	// need them on a small machine) at the cost of a slower wake-up for each
	// run; see docs/TUNING.md for measured numbers.
	AllowSpinning *bool `yaml:"allow_spinning"`
}

// Validate reports options no runtime could accept.
func (o SessionOptions) Validate() error {
	if o.IntraOpThreads < 0 || o.InterOpThreads < 0 {
		return fmt.Errorf("thread counts must be >= 0, got intra %d inter %d", o.IntraOpThreads, o.InterOpThreads)
	}
	if _, err := parseOptLevel(o.GraphOptimization); err != nil {
		return err
	}
	switch strings.ToLower(o.ExecutionProvider) {
	case "", "cpu", "cuda", "tensorrt":
		return nil
	}
	return fmt.Errorf("unknown execution provider %q (want cpu, cuda or tensorrt)", o.ExecutionProvider)
}

func parseOptLevel(s string) (ort.GraphOptimizationLevel, error) {
	switch strings.ToLower(s) {
	case "", "all":
		return ort.GraphOptimizationLevelEnableAll, nil
	case "extended":
		return ort.GraphOptimizationLevelEnableExtended, nil
	case "basic":
		return ort.GraphOptimizationLevelEnableBasic, nil
	case "disable", "none":
		return ort.GraphOptimizationLevelDisableAll, nil
	}
	return 0, fmt.Errorf("unknown graph optimization level %q (want disable, basic, extended or all)", s)
}

// build turns o into native session options; the caller destroys them.
func (o SessionOptions) build() (*ort.SessionOptions, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("create session options: %w", err)
	}
	if err := o.apply(so); err != nil {
		so.Destroy()
		return nil, err
	}
	return so, nil
}

func (o SessionOptions) apply(so *ort.SessionOptions) error {
	if o.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(o.IntraOpThreads); err != nil {
			return fmt.Errorf("set intra-op threads: %w", err)
		}
	}
	if o.InterOpThreads > 0 {
		if err := so.SetInterOpNumThreads(o.InterOpThreads); err != nil {
			return fmt.Errorf("set inter-op threads: %w", err)
		}
	}
	if o.AllowSpinning != nil {
		v := "0"
		if *o.AllowSpinning {
			v = "1"
		}
		for _, key := range []string{"session.intra_op.allow_spinning", "session.inter_op.allow_spinning"} {
			if err := so.AddSessionConfigEntry(key, v); err != nil {
				return fmt.Errorf("set %s: %w", key, err)
			}
		}
	}
	level, _ := parseOptLevel(o.GraphOptimization)
	if err := so.SetGraphOptimizationLevel(level); err != nil {
		return fmt.Errorf("set graph optimization level: %w", err)
	}
	return o.appendProvider(so)
}

func (o SessionOptions) appendProvider(so *ort.SessionOptions) error {
	switch strings.ToLower(o.ExecutionProvider) {
	case "cuda":
		opts, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return fmt.Errorf("%w: cuda: %v", ErrProvider, err)
		}
		defer opts.Destroy()
		if err := opts.Update(map[string]string{"device_id": fmt.Sprint(o.DeviceID)}); err != nil {
			return fmt.Errorf("%w: cuda: %v", ErrProvider, err)
		}
		if err := so.AppendExecutionProviderCUDA(opts); err != nil {
			return fmt.Errorf("%w: cuda (this libonnxruntime is CPU-only unless built with CUDA): %v", ErrProvider, err)
		}
	case "tensorrt":
		opts, err := ort.NewTensorRTProviderOptions()
		if err != nil {
			return fmt.Errorf("%w: tensorrt: %v", ErrProvider, err)
		}
		defer opts.Destroy()
		if err := opts.Update(map[string]string{"device_id": fmt.Sprint(o.DeviceID)}); err != nil {
			return fmt.Errorf("%w: tensorrt: %v", ErrProvider, err)
		}
		if err := so.AppendExecutionProviderTensorRT(opts); err != nil {
			return fmt.Errorf("%w: tensorrt (this libonnxruntime is CPU-only unless built with TensorRT): %v", ErrProvider, err)
		}
	}
	return nil
}
