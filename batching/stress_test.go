package batching

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentStress sends thousands of concurrent requests of random
// shapes, priorities and timeouts, cancelling some and giving others short
// deadlines, against a small bounded queue. Every request must either get
// exactly its unbatched outputs or fail with one of the documented errors;
// Close must then leave no goroutine behind (checked by newTestScheduler).
func TestConcurrentStress(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 500
	}
	cases := []struct {
		name string
		dyn  *Dynamic
	}{
		{"priorities and bounded queues", &Dynamic{
			MaxQueueDelay: 100 * time.Microsecond, PriorityLevels: 2, DefaultPriorityLevel: 2,
			DefaultQueuePolicy:  QueuePolicy{MaxQueueSize: 300, TimeoutAction: Delay},
			PriorityQueuePolicy: map[int]QueuePolicy{1: {MaxQueueSize: 100, DefaultTimeout: 2 * time.Millisecond}},
		}},
		{"preserve ordering", &Dynamic{PreserveOrdering: true, PreferredBatchSizes: []int{4, 8}}},
	}
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			runners := []*toyRunner{{}, {}, {}}
			s := newTestScheduler(t, toyCfg(8, tc.dyn), runnersOf(runners...), nil)
			lengths := []int{1, 4, 7, 9, 10, 12, 16, 20, 33}

			var ok, cancelled, deadline, timedOut, full, overloaded atomic.Int64
			var wg sync.WaitGroup
			for i := range n {
				rng := rand.New(rand.NewPCG(uint64(ci), uint64(i)))
				req := toyReq(rng, 1+rng.IntN(3), lengths[rng.IntN(len(lengths))])
				req.Priority = rng.IntN(3)
				if rng.IntN(10) == 0 {
					req.Timeout = time.Duration(rng.IntN(500)) * time.Microsecond
				}
				mode := rng.IntN(10)
				wait := time.Duration(rng.IntN(2000)) * time.Microsecond
				wg.Go(func() {
					rctx, cancel := context.WithCancel(ctx)
					defer cancel()
					switch mode {
					case 0:
						time.AfterFunc(wait, cancel)
					case 1:
						var c2 context.CancelFunc
						rctx, c2 = context.WithTimeout(rctx, wait)
						defer c2()
					}
					outs, err := s.Infer(rctx, req)
					switch {
					case err == nil:
						if err := equalTensors(outs, toyWant(req)); err != nil {
							t.Errorf("request %d: %v", i, err)
						}
						ok.Add(1)
					case errors.Is(err, context.Canceled):
						cancelled.Add(1)
					case errors.Is(err, context.DeadlineExceeded):
						deadline.Add(1)
					case errors.Is(err, ErrQueueTimeout):
						timedOut.Add(1)
					case errors.Is(err, ErrQueueFull):
						full.Add(1)
					case errors.Is(err, ErrOverloaded):
						// Refused at admission: its deadline was shorter
						// than the queue ahead of it.
						overloaded.Add(1)
					default:
						t.Errorf("request %d: unexpected error %v", i, err)
					}
				})
			}
			wg.Wait()
			t.Logf("ok %d, cancelled %d, deadline %d, queue timeout %d, queue full %d, overloaded %d",
				ok.Load(), cancelled.Load(), deadline.Load(), timedOut.Load(), full.Load(), overloaded.Load())
			if ok.Load() == 0 {
				t.Error("no request succeeded")
			}
			if err := s.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if q := queuedCount(s); q != 0 {
				t.Errorf("%d requests left in the queue", q)
			}
			s.orderMu.Lock()
			if s.orderHead != nil {
				t.Errorf("responses still held for ordering")
			}
			s.orderMu.Unlock()
			st := s.Stats()
			if st.Success.Count < uint64(ok.Load()) {
				t.Errorf("stats count %d successes, callers saw %d", st.Success.Count, ok.Load())
			}
		})
	}
}
