package batching

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aisle-ai/aisle/tensor"
)

// errRuntimeDown is a runner failure that says no input caused it, as
// inference.ErrSessionClosed and inference.ErrUnsupported do.
var errRuntimeDown error = &notInput{}

type notInput struct{}

func (*notInput) Error() string    { return "runtime down" }
func (*notInput) InputFault() bool { return false }

// downRunner runs its first batch as an echoRunner (behind the gate), then
// fails every later one with err, counting the runs.
type downRunner struct {
	echoRunner
	err  error
	runs atomic.Int64
}

func (r *downRunner) Run(ctx context.Context, in []tensor.Tensor) ([]tensor.Tensor, error) {
	if r.runs.Add(1) == 1 {
		return r.echoRunner.Run(ctx, in)
	}
	return nil, r.err
}

// TestFailureNoInputCausedIsNotSplit queues a batch of 16 behind a blocked
// one on a runner that then fails every run with an error no request's data
// caused (one that reports InputFault() false, or a context error), and
// checks that the batch ran once, was not split, and every request got the
// runner's error. Bisection would have cost 31 runs.
func TestFailureNoInputCausedIsNotSplit(t *testing.T) {
	for _, cause := range []error{errRuntimeDown, fmt.Errorf("wrapped: %w", errRuntimeDown), context.DeadlineExceeded} {
		t.Run(cause.Error(), func(t *testing.T) {
			ctx := testContext(t)
			g := newGate()
			r := &downRunner{echoRunner: echoRunner{gate: g}, err: cause}
			s := newTestScheduler(t, echoCfg(16, &Dynamic{}), runnersOf(r), NewMetrics(prometheus.NewRegistry()))
			first := inferAsync(ctx, s, echoReq(100))
			g.next(ctx, t)
			chans := make([]<-chan outcome, 16)
			for i := range chans {
				chans[i] = inferAsync(ctx, s, echoReq(float32(i)))
			}
			waitUntil(ctx, t, "16 queued requests", func() bool { return queuedCount(s) == 16 })
			g.open(1)
			if o := recv(ctx, t, first); o.err != nil {
				t.Fatalf("first request: %v", o.err)
			}
			for i, ch := range chans {
				o := recv(ctx, t, ch)
				if !errors.Is(o.err, cause) {
					t.Errorf("request %d: %v, want the runner's error %v", i, o.err, cause)
				}
			}
			if n := r.runs.Load(); n != 2 {
				t.Errorf("%d runs, want 2 (the first batch, and the failed batch of 16 once)", n)
			}
			if n := testutil.ToFloat64(s.inst.splits); n != 0 {
				t.Errorf("aisle_batch_splits_total = %v, want 0", n)
			}
		})
	}
}
