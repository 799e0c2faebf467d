package inference

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/aisle-ai/aisle/tensor"
)

// ErrRun reports a failure inside ONNX Runtime while running a model.
var ErrRun = errors.New("onnxruntime run failed")

// ErrUnsupported reports a tensor aisle cannot hand to or take from the
// runtime (an element type it does not convert). Unlike most runtime
// failures it does not depend on the data: a model whose outputs fail this
// way fails every request, so loading refuses it. Errors wrapping it also
// wrap ErrRun.
var ErrUnsupported error = &runFault{msg: "tensor conversion not supported"}

// ErrSessionClosed reports a Run on a destroyed Session (a version being
// unloaded). It does not depend on the inputs.
var ErrSessionClosed error = &runFault{msg: "session closed"}

// ErrOutOfMemory reports a run the runtime could not allocate memory for.
// Errors wrapping it also wrap ErrRun. It is not a runFault: one request's
// data can drive an allocation (an input-valued Expand, Range or
// ConstantOfShape, a long ragged row padding the batch), and then only
// running the batch again in halves, as the batching scheduler does for
// data errors, keeps that request from failing every other one. Under
// plain memory pressure the halves fail fast on their allocations.
var ErrOutOfMemory = errors.New("onnxruntime out of memory")

// runFault is a sentinel for a failure that no request's data causes.
type runFault struct{ msg string }

func (e *runFault) Error() string { return e.msg }

// InputFault reports false: the failure would be the same for any input.
// The batching scheduler reads it to fail a batch at once instead of
// splitting it to find a culprit.
func (e *runFault) InputFault() bool { return false }

// allocFailures are the runtime's messages for a failed allocation: the
// CPU arena's, C++'s std::bad_alloc (GCC and MSVC wordings) and CUDA's.
var allocFailures = []string{"failed to allocate memory", "bad_alloc", "bad allocation", "out of memory"}

// runError wraps a runtime failure in ErrRun, and in ErrOutOfMemory too
// when its message says an allocation failed.
func runError(err error) error {
	msg := strings.ToLower(err.Error())
	for _, a := range allocFailures {
		if strings.Contains(msg, a) {
			return fmt.Errorf("%w: %w: %v", ErrRun, ErrOutOfMemory, err)
		}
	}
	return fmt.Errorf("%w: %v", ErrRun, err)
}

// Session is one runnable instance of a Model. Run is not safe for
// concurrent use; Destroy must be called exactly once, after the last Run.
type Session struct {
	model   *Model
	sess    *ort.DynamicAdvancedSession
	runOpts *ort.RunOptions
	// closed is set by Destroy, so that a Run after it returns
	// ErrSessionClosed instead of handing the runtime a freed session.
	closed atomic.Bool
}

// NewSession creates a runtime session for m with the given options.
func (m *Model) NewSession(opts SessionOptions) (*Session, error) {
	so, err := opts.build()
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	if m.external {
		// Resolve external data in the model's folder, not the working
		// directory; the runtime also refuses locations escaping it.
		if err := so.AddSessionConfigEntry(folderConfigKey, m.Dir); err != nil {
			return nil, fmt.Errorf("set external data folder: %w", err)
		}
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(m.Data, m.InputNames(), m.OutputNames(), so)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModel, m.Path, err)
	}
	ro, err := ort.NewRunOptions()
	if err != nil {
		sess.Destroy()
		return nil, fmt.Errorf("create run options: %w", err)
	}
	return &Session{model: m, sess: sess, runOpts: ro}, nil
}

// Model returns the model the session runs.
func (s *Session) Model() *Model { return s.model }

// Run executes the model on inputs given in the model's input order and
// returns every output in the model's output order. The outputs own fresh
// memory. A cancelled ctx terminates the run inside the runtime.
func (s *Session) Run(ctx context.Context, inputs []tensor.Tensor) ([]tensor.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.closed.Load() {
		return nil, ErrSessionClosed
	}
	in, err := s.inputValues(inputs)
	defer destroyAll(in)
	if err != nil {
		return nil, err
	}
	// Every output is left nil for the runtime to allocate: the patched
	// wrapper converts every element type and shape, and on a failed
	// conversion releases what it allocated (see doc.go).
	out := make([]ort.Value, len(s.model.Outputs))
	defer func() { destroyAll(out) }()
	stop := context.AfterFunc(ctx, func() { _ = s.runOpts.Terminate() })
	err = s.sess.RunWithOptions(in, out, s.runOpts)
	if !stop() {
		// The terminate flag may be set: clear it for the next run.
		_ = s.runOpts.UnsetTerminate()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
	}
	if errors.Is(err, ort.OutputConversionError) {
		return nil, fmt.Errorf("%w: %w: %v", ErrRun, ErrUnsupported, err)
	}
	if err != nil {
		return nil, runError(err)
	}
	return s.outputTensors(out)
}

func (s *Session) inputValues(inputs []tensor.Tensor) ([]ort.Value, error) {
	if len(inputs) != len(s.model.Inputs) {
		return nil, fmt.Errorf("%w: model takes %d inputs, got %d", ErrRun, len(s.model.Inputs), len(inputs))
	}
	vals := make([]ort.Value, len(inputs))
	for i := range inputs {
		v, err := toValue(&inputs[i])
		if err != nil {
			return vals, fmt.Errorf("%w: %w: input %s: %v", ErrRun, ErrUnsupported, s.model.Inputs[i].Name, err)
		}
		vals[i] = v
	}
	return vals, nil
}

func (s *Session) outputTensors(out []ort.Value) ([]tensor.Tensor, error) {
	res := make([]tensor.Tensor, len(out))
	for i, v := range out {
		t, err := fromValue(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %w: output %s: %v", ErrRun, ErrUnsupported, s.model.Outputs[i].Name, err)
		}
		t.Name = s.model.Outputs[i].Name
		res[i] = t
	}
	return res, nil
}

// Destroy releases the native session.
func (s *Session) Destroy() error {
	s.closed.Store(true)
	err := s.sess.Destroy()
	if s.runOpts != nil {
		_ = s.runOpts.Destroy()
	}
	return err
}

func destroyAll(vals []ort.Value) {
	for _, v := range vals {
		if v != nil {
			_ = v.Destroy()
		}
	}
}
