package batching

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// forever is a MaxQueueDelay no test outlives: a batch that waits for it
// hangs the test, so passing tests prove no such wait happened.
const forever = time.Hour

// TestNoIdlePenalty checks that a request reaching a free instance with an
// empty queue runs at once, even with a huge MaxQueueDelay.
func TestNoIdlePenalty(t *testing.T) {
	ctx := testContext(t)
	busy, idle := &echoRunner{gate: newGate()}, &echoRunner{}
	s := newTestScheduler(t, echoCfg(8, &Dynamic{MaxQueueDelay: forever}), runnersOf(busy, idle), nil)

	// With both instances free, the first request may land on either; make
	// it the gated one by retrying until busy holds a batch.
	first := inferAsync(ctx, s, echoReq(1))
	var held []<-chan outcome
	for {
		select {
		case <-busy.gate.started:
		case o := <-first:
			if o.err != nil {
				t.Fatal(o.err)
			}
			first = inferAsync(ctx, s, echoReq(1))
			continue
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		break
	}
	held = append(held, first)
	// One instance is busy, the other idle: requests run at once, one after
	// the other, on the idle one.
	for i := range 3 {
		o := recv(ctx, t, inferAsync(ctx, s, echoReq(float32(10+i))))
		if o.err != nil {
			t.Fatal(o.err)
		}
	}
	busy.gate.open(1)
	for _, c := range held {
		if o := recv(ctx, t, c); o.err != nil {
			t.Fatal(o.err)
		}
	}
}

// TestDelayFormsBatchBehindBusyInstance checks that requests queued behind a
// running batch wait for MaxQueueDelay, and go as soon as the batch is full.
func TestDelayFormsBatchBehindBusyInstance(t *testing.T) {
	ctx := testContext(t)
	r := &echoRunner{gate: newGate()}
	s := newTestScheduler(t, echoCfg(4, &Dynamic{MaxQueueDelay: forever}), runnersOf(r), nil)

	done := []<-chan outcome{inferAsync(ctx, s, echoReq(0))}
	if x := r.gate.next(ctx, t); !slices.Equal(x, []float32{0}) {
		t.Fatalf("first batch %v", x)
	}
	for i, v := range []float32{1, 2} {
		done = append(done, inferAsync(ctx, s, echoReq(v)))
		waitUntil(ctx, t, "queued", func() bool { return queuedCount(s) == i+1 })
	}
	r.gate.open(1) // the worker is free, but {1, 2} waits for more
	waitUntil(ctx, t, "worker back", func() bool { return s.Stats().ExecutionCount == 1 })
	done = append(done, inferAsync(ctx, s, echoReq(3, 4))) // fills the batch: 4 rows
	if x := r.gate.next(ctx, t); !slices.Equal(x, []float32{1, 2, 3, 4}) {
		t.Errorf("second batch %v, want [1 2 3 4]", x)
	}
	r.gate.open(1)
	for _, c := range done {
		if o := recv(ctx, t, c); o.err != nil {
			t.Fatal(o.err)
		}
	}
}

// TestPreferredBatchSizes checks that the largest preferred size formed is
// sent at once and the rest waits.
func TestPreferredBatchSizes(t *testing.T) {
	cases := []struct {
		name      string
		preferred []int
		rows      []int // rows of the requests queued behind the first batch
		want      [][]float32
	}{
		{"largest preferred wins", []int{2, 3}, []int{1, 1, 1, 1, 1, 1, 1},
			[][]float32{{0}, {1, 2, 3}, {4, 5, 6}, {7}}},
		{"multi-row requests", []int{4}, []int{3, 1, 2, 2, 1},
			[][]float32{{0}, {1, 1, 1, 2}, {3, 3, 4, 4}, {5}}},
		{"no preferred size reachable", []int{4}, []int{3, 3},
			[][]float32{{0}, {1, 1, 1, 2, 2, 2}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			r := &echoRunner{gate: newGate()}
			r.gate.open(100)
			r.gate.release = make(chan struct{}, 100) // hold the first batch only
			s := newTestScheduler(t, echoCfg(8, &Dynamic{PreferredBatchSizes: tc.preferred, MaxQueueDelay: forever}), runnersOf(r), nil)

			done := []<-chan outcome{inferAsync(ctx, s, echoReq(0))}
			r.gate.next(ctx, t)
			for i, n := range tc.rows {
				x := make([]float32, n)
				for k := range x {
					x[k] = float32(i + 1)
				}
				done = append(done, inferAsync(ctx, s, echoReq(x...)))
				waitUntil(ctx, t, "queued", func() bool { return queuedCount(s) == i+1 })
			}
			r.gate.open(100)
			// Batches reaching a preferred size run now; the remainder waits
			// for the (endless) delay until Close drains it.
			waitUntil(ctx, t, "preferred batches", func() bool { return len(r.seen()) >= len(tc.want)-1 })
			if err := s.Close(ctx); err != nil {
				t.Fatal(err)
			}
			for _, c := range done {
				if o := recv(ctx, t, c); o.err != nil {
					t.Fatal(o.err)
				}
			}
			if got := r.seen(); !slices.EqualFunc(got, tc.want, slices.Equal) {
				t.Errorf("batches %v, want %v", got, tc.want)
			}
		})
	}
}

// TestPriorityOrdering checks that level 1 runs first, then each level in
// turn, oldest first within a level; priority 0 and out-of-range values take
// the default level.
func TestPriorityOrdering(t *testing.T) {
	queued := []struct {
		x        float32
		priority int
	}{{10, 3}, {11, 0}, {12, 1}, {13, 3}, {14, 1}, {15, 9}, {16, 2}}
	cases := []struct {
		name     string
		maxBatch int
		want     [][]float32
	}{
		{"one per batch", 1, [][]float32{{0}, {12}, {14}, {11}, {15}, {16}, {10}, {13}}},
		{"one batch", 8, [][]float32{{0}, {12, 14, 11, 15, 16, 10, 13}}},
		{"batches of 3", 3, [][]float32{{0}, {12, 14, 11}, {15, 16, 10}, {13}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			r := &echoRunner{gate: newGate()}
			s := newTestScheduler(t, echoCfg(tc.maxBatch, &Dynamic{PriorityLevels: 3, DefaultPriorityLevel: 2}), runnersOf(r), nil)
			done := []<-chan outcome{inferAsync(ctx, s, echoReq(0))}
			r.gate.next(ctx, t)
			for i, q := range queued {
				req := echoReq(q.x)
				req.Priority = q.priority
				done = append(done, inferAsync(ctx, s, req))
				waitUntil(ctx, t, "queued", func() bool { return queuedCount(s) == i+1 })
			}
			r.gate.open(len(tc.want))
			for _, c := range done {
				if o := recv(ctx, t, c); o.err != nil {
					t.Fatal(o.err)
				}
			}
			if got := r.seen(); !slices.EqualFunc(got, tc.want, slices.Equal) {
				t.Errorf("batches %v, want %v", got, tc.want)
			}
		})
	}
}

// TestQueueFull checks that a full level rejects at once with ErrQueueFull
// while the accepted requests still succeed, and that levels have their own
// limits.
func TestQueueFull(t *testing.T) {
	ctx := testContext(t)
	r := &echoRunner{gate: newGate()}
	m := NewMetrics(nil)
	s := newTestScheduler(t, echoCfg(8, &Dynamic{
		PriorityLevels:       2,
		DefaultPriorityLevel: 2,
		DefaultQueuePolicy:   QueuePolicy{MaxQueueSize: 2},
		PriorityQueuePolicy:  map[int]QueuePolicy{1: {MaxQueueSize: 1}},
	}), runnersOf(r), m)

	done := []<-chan outcome{inferAsync(ctx, s, echoReq(0))}
	r.gate.next(ctx, t)
	for i := range 2 {
		done = append(done, inferAsync(ctx, s, echoReq(float32(i+1))))
		waitUntil(ctx, t, "queued", func() bool { return queuedCount(s) == i+1 })
	}
	// The runner is still held, so these return without waiting on it.
	if _, err := s.Infer(ctx, echoReq(9)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Infer on a full queue: %v, want ErrQueueFull", err)
	}
	high := echoReq(5)
	high.Priority = 1
	done = append(done, inferAsync(ctx, s, high))
	waitUntil(ctx, t, "queued", func() bool { return queuedCount(s) == 3 })
	if _, err := s.Infer(ctx, high); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Infer on a full level 1: %v, want ErrQueueFull", err)
	}
	r.gate.open(2)
	for i, c := range done {
		o := recv(ctx, t, c)
		if o.err != nil {
			t.Fatalf("accepted request %d: %v", i, o.err)
		}
	}
	if got := r.seen(); !slices.EqualFunc(got, [][]float32{{0}, {5, 1, 2}}, slices.Equal) {
		t.Errorf("batches %v", got)
	}
	if st := s.Stats(); st.Fail.Count != 2 || st.Success.Count != 4 {
		t.Errorf("stats: %d failures, %d successes; want 2, 4", st.Fail.Count, st.Success.Count)
	}
}

// TestQueueTimeout checks the Reject and Delay timeout actions.
func TestQueueTimeout(t *testing.T) {
	t.Run("reject", func(t *testing.T) {
		ctx := testContext(t)
		r := &echoRunner{gate: newGate()}
		// No default timeout: only the second request has one (1 ms), so
		// the first reaches the held runner however slowly its batch forms.
		s := newTestScheduler(t, echoCfg(8, &Dynamic{}), runnersOf(r), nil)
		first := inferAsync(ctx, s, echoReq(0))
		r.gate.next(ctx, t)
		// The runner is held, so the request can only time out.
		late := echoReq(1)
		late.Timeout = time.Millisecond
		if _, err := s.Infer(ctx, late); !errors.Is(err, ErrQueueTimeout) {
			t.Fatalf("Infer: %v, want ErrQueueTimeout", err)
		}
		if n := queuedCount(s); n != 0 {
			t.Errorf("%d requests still queued", n)
		}
		r.gate.open(1)
		if o := recv(ctx, t, first); o.err != nil {
			t.Fatal(o.err)
		}
	})
	t.Run("reject at batch formation", func(t *testing.T) {
		ctx := testContext(t)
		s := newTestScheduler(t, echoCfg(8, &Dynamic{}), runnersOf(&echoRunner{}), nil)
		// Queue an already expired entry directly, as if its timer had not
		// fired yet; the forming worker must reject it.
		e := getEntry()
		if err := s.prepare(ctx, e, echoReq(1), time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		e.timeout = time.Now().Add(-time.Millisecond)
		if err := s.enqueue(e, time.Now()); err != nil {
			t.Fatal(err)
		}
		s.signal()
		select {
		case r := <-e.done:
			if !errors.Is(r.err, ErrQueueTimeout) {
				t.Fatalf("result %v, want ErrQueueTimeout", r.err)
			}
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	})
	t.Run("delay", func(t *testing.T) {
		for _, maxBatch := range []int{1, 8} {
			t.Run(fmt.Sprint("max", maxBatch), func(t *testing.T) { testDelayAction(t, maxBatch) })
		}
	})
}

func testDelayAction(t *testing.T, maxBatch int) {
	ctx := testContext(t)
	r := &echoRunner{gate: newGate()}
	s := newTestScheduler(t, echoCfg(maxBatch, &Dynamic{DefaultQueuePolicy: QueuePolicy{TimeoutAction: Delay}}), runnersOf(r), nil)
	done := []<-chan outcome{inferAsync(ctx, s, echoReq(0))}
	r.gate.next(ctx, t)
	late := echoReq(1)
	late.Timeout = time.Millisecond // lowers the policy's "no timeout"
	done = append(done, inferAsync(ctx, s, late))
	waitUntil(ctx, t, "delayed", func() bool { return delayedCount(s) == 1 })
	done = append(done, inferAsync(ctx, s, echoReq(2)))
	waitUntil(ctx, t, "queued", func() bool { return queuedCount(s) == 2 })
	r.gate.open(3)
	for _, c := range done {
		if o := recv(ctx, t, c); o.err != nil {
			t.Fatal(o.err)
		}
	}
	want := [][]float32{{0}, {2}, {1}}
	if maxBatch > 1 {
		want = [][]float32{{0}, {2, 1}}
	}
	if got := r.seen(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("max batch %d: batches %v, want %v", maxBatch, got, want)
	}
}

func TestQueuePolicyTimeout(t *testing.T) {
	cases := []struct {
		name   string
		policy QueuePolicy
		req    time.Duration
		want   time.Duration
	}{
		{"no timeouts", QueuePolicy{}, 0, 0},
		{"default", QueuePolicy{DefaultTimeout: time.Second}, 0, time.Second},
		{"request lowers", QueuePolicy{DefaultTimeout: time.Second}, time.Millisecond, time.Millisecond},
		{"request cannot raise", QueuePolicy{DefaultTimeout: time.Second}, time.Minute, time.Second},
		{"request sets when no default", QueuePolicy{}, time.Minute, time.Minute},
		{"override raises", QueuePolicy{DefaultTimeout: time.Second, AllowTimeoutOverride: true}, time.Minute, time.Minute},
		{"override lowers", QueuePolicy{DefaultTimeout: time.Second, AllowTimeoutOverride: true}, time.Millisecond, time.Millisecond},
	}
	for _, tc := range cases {
		if got := tc.policy.timeout(tc.req); got != tc.want {
			t.Errorf("%s: timeout(%v) = %v, want %v", tc.name, tc.req, got, tc.want)
		}
	}
}

// expiringContext is a context the test expires by hand: Err reports
// DeadlineExceeded once expire is called, so deadline handling is tested
// without racing a clock.
type expiringContext struct {
	context.Context
	done chan struct{}
}

func (c *expiringContext) Done() <-chan struct{} { return c.done }

func (c *expiringContext) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// TestCancelWhileQueued checks that a request whose context ends in the
// queue leaves it, returns the context error unchanged and never runs.
func TestCancelWhileQueued(t *testing.T) {
	cases := []struct {
		name string
		ctx  func(context.Context) (context.Context, func())
		want error
	}{
		{"cancel", func(ctx context.Context) (context.Context, func()) {
			return context.WithCancel(ctx)
		}, context.Canceled},
		{"deadline", func(ctx context.Context) (context.Context, func()) {
			c := &expiringContext{Context: ctx, done: make(chan struct{})}
			return c, func() { close(c.done) }
		}, context.DeadlineExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			r := &echoRunner{gate: newGate()}
			m := NewMetrics(nil)
			s := newTestScheduler(t, echoCfg(8, &Dynamic{}), runnersOf(r), m)
			first := inferAsync(ctx, s, echoReq(0))
			r.gate.next(ctx, t)

			rctx, end := tc.ctx(ctx)
			c := inferAsync(rctx, s, echoReq(1))
			waitUntil(ctx, t, "queued", func() bool { return queuedCount(s) == 1 })
			end()
			if o := recv(ctx, t, c); o.err != tc.want { //nolint:errorlint // context errors must pass through unwrapped
				t.Fatalf("Infer: %v, want %v", o.err, tc.want)
			}
			if n := queuedCount(s); n != 0 {
				t.Errorf("%d requests still queued", n)
			}
			r.gate.open(1)
			if o := recv(ctx, t, first); o.err != nil {
				t.Fatal(o.err)
			}
			if got := r.seen(); !slices.EqualFunc(got, [][]float32{{0}}, slices.Equal) {
				t.Errorf("runner saw %v, want only the first batch", got)
			}
			if got := testutil.ToFloat64(m.rejected.WithLabelValues("echo", "1", reasonCancelled)); got != 1 {
				t.Errorf("cancelled rejections = %v, want 1", got)
			}
		})
	}
}

// TestPreserveOrdering checks that a later request finishing first is held
// until the earlier one is delivered, and is not held without the option.
func TestPreserveOrdering(t *testing.T) {
	for _, preserve := range []bool{false, true} {
		t.Run(fmt.Sprint("preserve=", preserve), func(t *testing.T) { testPreserveOrdering(t, preserve) })
	}
}

func testPreserveOrdering(t *testing.T, preserve bool) {
	ctx := testContext(t)
	a, b := &echoRunner{gate: newGate()}, &echoRunner{gate: newGate()}
	s := newTestScheduler(t, echoCfg(4, &Dynamic{PreserveOrdering: preserve}), runnersOf(a, b), nil)
	first := inferAsync(ctx, s, echoReq(1))
	var slow, fast *echoRunner
	select {
	case <-a.gate.started:
		slow, fast = a, b
	case <-b.gate.started:
		slow, fast = b, a
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	second := inferAsync(ctx, s, echoReq(2))
	fast.gate.next(ctx, t)
	fast.gate.open(1)
	waitUntil(ctx, t, "second batch done", func() bool { return s.Stats().ExecutionCount == 1 })
	if preserve {
		select {
		case o := <-second:
			t.Fatalf("preserve ordering: second request delivered before the first: %v", o)
		default:
		}
	} else if o := recv(ctx, t, second); o.err != nil {
		t.Fatal(o.err)
	}
	slow.gate.open(1)
	for _, c := range []<-chan outcome{first, second} {
		if preserve || c == first {
			if o := recv(ctx, t, c); o.err != nil {
				t.Fatal(o.err)
			}
		}
	}
}

// heldCount is the number of finished requests waiting for earlier ones to
// be delivered (PreserveOrdering).
func heldCount(s *Scheduler) int {
	s.orderMu.Lock()
	defer s.orderMu.Unlock()
	n := 0
	for e := s.orderHead; e != nil; e = e.ordNext {
		if e.finished {
			n++
		}
	}
	return n
}
