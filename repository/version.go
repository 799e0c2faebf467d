package repository

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aisle-ai/aisle/batching"
	"github.com/aisle-ai/aisle/excerpt"
	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/tensor"
)

// Version is one loaded, servable model version: its runtime sessions
// behind a batching scheduler. Callers hold it between Acquire and Release
// so that an unload waits for their requests to finish.
type Version struct {
	Name   string
	Number int64
	// Dir is the model's directory, where pipeline files live.
	Dir string
	// Config is the model's config with inputs and outputs resolved against
	// the ONNX file, in model order.
	Config *Config
	// Model describes the ONNX file.
	Model *inference.Model
	// LoadedAt is when the version became ready.
	LoadedAt time.Time

	sessions  []*inference.Session
	sched     *batching.Scheduler
	pipelines []Pipeline

	mu     sync.Mutex // guards closed and the Add side of users
	closed bool
	users  sync.WaitGroup
}

// Request is one inference call against a version.
type Request struct {
	// Inputs by name; every model input must be present.
	Inputs []tensor.Tensor
	// Outputs names the outputs to return; empty means all.
	Outputs []string
	// Priority and Timeout follow Triton's schedule-policy parameters.
	Priority int
	Timeout  time.Duration
}

// acquire registers a user; it fails once the version is closing.
func (v *Version) acquire() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return false
	}
	v.users.Add(1)
	return true
}

// Release ends a use begun by Manager.Get.
func (v *Version) Release() { v.users.Done() }

// PipelineOf returns the pipeline of type T an Extension prepared for v,
// if any. The pipeline lives as long as v: use it only between Manager.Get
// and Release.
func PipelineOf[T Pipeline](v *Version) (T, bool) {
	for _, p := range v.pipelines {
		if t, ok := p.(T); ok {
			return t, true
		}
	}
	var zero T
	return zero, false
}

// Infer validates req against the model and runs it through the scheduler.
func (v *Version) Infer(ctx context.Context, req Request) ([]tensor.Tensor, error) {
	inputs, err := v.orderInputs(req.Inputs)
	if err != nil {
		return nil, err
	}
	want, err := v.outputIndexes(req.Outputs)
	if err != nil {
		return nil, err
	}
	outs, err := v.sched.Infer(ctx, batching.Request{Inputs: inputs, Priority: req.Priority, Timeout: req.Timeout})
	if err != nil {
		// The scheduler's own errors already name the model and version
		// ("cart-gnn v1: run: ..."); only context errors come bare.
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, fmt.Errorf("infer %s v%d: %w", v.Name, v.Number, err)
		}
		return nil, err
	}
	res := make([]tensor.Tensor, 0, len(want))
	for _, i := range want {
		t := outs[i]
		t.Name = v.Config.Outputs[i].Name
		res = append(res, t)
	}
	return res, nil
}

// Stats returns the scheduler's statistics.
func (v *Version) Stats() batching.Stats { return v.sched.Stats() }

func (v *Version) outputIndexes(names []string) ([]int, error) {
	if len(names) == 0 {
		idx := make([]int, len(v.Config.Outputs))
		for i := range idx {
			idx[i] = i
		}
		return idx, nil
	}
	idx := make([]int, 0, len(names))
	for _, n := range names {
		i := indexOf(v.Config.Outputs, n)
		if i < 0 {
			return nil, fmt.Errorf("%w: unknown output %s for model %s (outputs: %v)", ErrInvalidInput, excerpt.Quote(n), v.Name, tensorNames(v.Config.Outputs))
		}
		idx = append(idx, i)
	}
	return idx, nil
}

// close stops new users, waits for current ones, drains the scheduler and
// frees the sessions. ctx bounds the wait.
func (v *Version) close(ctx context.Context) error {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	done := make(chan struct{})
	go func() {
		v.users.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if cerr := v.sched.Close(ctx); cerr != nil && err == nil {
		err = cerr
	}
	<-done // requests end once the scheduler has failed them
	v.destroySessions()
	return err
}

func (v *Version) destroySessions() {
	for _, s := range v.sessions {
		_ = s.Destroy()
	}
	v.sessions = nil
	for _, p := range v.pipelines {
		_ = p.Close()
	}
	v.pipelines = nil
}

func indexOf(ts []TensorConfig, name string) int {
	for i, t := range ts {
		if t.Name == name {
			return i
		}
	}
	return -1
}

func tensorNames(ts []TensorConfig) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}
