package batching

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aisle-ai/aisle/tensor"
)

const ms = time.Millisecond

func TestCostModelFit(t *testing.T) {
	cases := []struct {
		name         string
		batches      [][2]float64 // rows, milliseconds
		wantA, wantB float64      // milliseconds
	}{
		{"exact line", [][2]float64{{1, 2.5}, {4, 4}, {16, 10}, {32, 18}}, 2, 0.5},
		{"one size only: all fixed part assumed", [][2]float64{{1, 3}, {1, 3}}, 3, 0},
		{"falling cost: flat", [][2]float64{{1, 4}, {8, 2}}, 3, 0},
		{"negative intercept: through the origin", [][2]float64{{2, 1}, {4, 5}}, 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c costModel
			for _, b := range tc.batches {
				c.observe(int(b[0]), time.Duration(b[1]*float64(ms)))
			}
			// Within 0.01 ms: older batches weigh slightly less (costDecay).
			if math.Abs(c.a*1e3-tc.wantA) > 0.01 || math.Abs(c.b*1e3-tc.wantB) > 0.01 {
				t.Errorf("fit a=%vms b=%vms, want a=%vms b=%vms", c.a*1e3, c.b*1e3, tc.wantA, tc.wantB)
			}
		})
	}
}

// objectiveScheduler is an echo model with a p99 objective of target and
// its cost model set to a + b·rows; no request is sent to it.
func objectiveScheduler(t *testing.T, maxBatch int, target, a, b time.Duration) *Scheduler {
	t.Helper()
	s := newTestScheduler(t, echoCfg(maxBatch, &Dynamic{Objective: &LatencyObjective{Percentile: 99, Target: target}}),
		runnersOf(&echoRunner{}), nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.measured(1, a+b, true, nil)
	s.measured(9, a+9*b, true, nil)
	return s
}

// TestObjectiveChoosesBatchSize checks the batch size limit and delay the
// scheduler derives from its cost model: the largest batch with
// 2·cost(n) + delay within the target, delay = min(fixed cost, target/10).
func TestObjectiveChoosesBatchSize(t *testing.T) {
	cases := []struct {
		name      string
		maxBatch  int
		target    time.Duration
		a, b      time.Duration
		wantLimit int
		wantDelay time.Duration
	}{
		// (50-2)/2 = 24 ms per batch: 2 + 0.5·44 = 24.
		{"roomy target", 64, 50 * ms, 2 * ms, ms / 2, 44, 2 * ms},
		{"capped by max_batch_size", 16, 50 * ms, 2 * ms, ms / 2, 16, 2 * ms},
		// delay = 10/10 = 1 ms; (10-1)/2 = 4.5 ms: 2 + 0.5·5 = 4.5.
		{"tight target", 64, 10 * ms, 2 * ms, ms / 2, 5, ms},
		// Infeasible at any load: the largest batches, for throughput.
		{"target below one row", 64, 10 * ms, 30 * ms, ms, 64, ms},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := objectiveScheduler(t, tc.maxBatch, tc.target, tc.a, tc.b)
			got := s.Tuning()
			if got.MaxBatchSize != tc.wantLimit || got.MaxQueueDelay != tc.wantDelay {
				t.Errorf("chose batch %d, delay %v; want %d, %v (cost model %v + %v/row)",
					got.MaxBatchSize, got.MaxQueueDelay, tc.wantLimit, tc.wantDelay, got.Fixed, got.PerRow)
			}
		})
	}
}

// TestObjectiveAttainmentAdjustsSlack checks the AIMD loop: a window of
// requests missing the target shrinks the budget (and the batch size), a
// window meeting it grows them back.
func TestObjectiveAttainmentAdjustsSlack(t *testing.T) {
	s := objectiveScheduler(t, 64, 50*ms, 2*ms, ms/2)
	before := s.Tuning()
	latencies := func(d time.Duration) []time.Duration {
		l := make([]time.Duration, objectiveWindow)
		for i := range l {
			l[i] = d
		}
		return l
	}
	s.mu.Lock()
	met := s.measured(8, 6*ms, true, latencies(60*ms)) // every request missed
	s.mu.Unlock()
	missed := s.Tuning()
	if met != 0 || missed.Slack != slackDecrease || missed.MaxBatchSize >= before.MaxBatchSize {
		t.Fatalf("after a missed window: met %d, slack %v, batch %d (before %d); want 0, %v, smaller",
			met, missed.Slack, missed.MaxBatchSize, before.MaxBatchSize, slackDecrease)
	}
	s.mu.Lock()
	met = s.measured(8, 6*ms, true, latencies(10*ms))
	s.mu.Unlock()
	recovered := s.Tuning()
	if met != objectiveWindow || recovered.Slack != slackDecrease+slackIncrease || recovered.MaxBatchSize <= missed.MaxBatchSize {
		t.Fatalf("after a met window: met %d, slack %v, batch %d (missed %d); want %d, %v, larger",
			met, recovered.Slack, recovered.MaxBatchSize, missed.MaxBatchSize, objectiveWindow, slackDecrease+slackIncrease)
	}
	for range 20 {
		s.mu.Lock()
		s.measured(8, 6*ms, true, latencies(10*ms))
		s.mu.Unlock()
	}
	if got := s.Tuning(); got.Slack != 1 || got.MaxBatchSize != before.MaxBatchSize {
		t.Errorf("after met windows: slack %v, batch %d; want 1, %d", got.Slack, got.MaxBatchSize, before.MaxBatchSize)
	}
}

// TestObjectiveBacklogAndFloor checks two rules that keep a cut slack from
// costing throughput: a backlog is drained in one round per instance
// whatever the chosen limit (batchLimit), and a slack whose budget fits no
// row sizes batches for the whole target instead of jumping to the largest.
func TestObjectiveBacklogAndFloor(t *testing.T) {
	s := objectiveScheduler(t, 64, 50*ms, 2*ms, ms/2) // one instance, limit 44
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slack = minSlack // budget 10 ms: delay 1 ms, (10-1)/2 = 4.5 ms: 5 rows
	s.retune()
	if s.limit != 5 {
		t.Fatalf("limit at the slack floor %d, want 5", s.limit)
	}
	for _, tc := range []struct{ queued, want int }{{0, 5}, {3, 5}, {12, 12}, {200, 64}} {
		if got := s.batchLimit(tc.queued); got != tc.want {
			t.Errorf("batchLimit(%d queued) = %d, want %d", tc.queued, got, tc.want)
		}
	}
	// 12 rows queued behind a running batch: one round of 12 (2 + 6 ms)
	// plus the running batch of 5 (4.5 ms), not three rounds of 5.
	s.queuedRows, s.running = 11, 1
	if got, want := s.expected(1), 8*ms+4500*time.Microsecond; got != want {
		t.Errorf("expected with 12 rows ahead %v, want %v", got, want)
	}
	s.queuedRows, s.running = 0, 0
	// Fixed cost 6 ms: at the floor (budget 10 ms) no row fits 2·6.5 + 1,
	// but the 50 ms target does: delay 1 ms, (50-1)/2 = 24.5 ms is 37 rows.
	s.cost = costModel{}
	s.cost.observe(1, 6500*time.Microsecond)
	s.cost.observe(9, 10500*time.Microsecond)
	s.retune()
	if s.limit != 37 {
		t.Errorf("limit with no row in the slack's budget %d, want 37 (sized for the target)", s.limit)
	}
}

// TestAdmissionDecisions checks expected latency and the admission decision
// for queue states of a static model (batch limit 8) whose batches cost
// 1 ms + 1 ms/row, against the request's deadline.
func TestAdmissionDecisions(t *testing.T) {
	cases := []struct {
		name            string
		instances       int
		queued, running int
		deadline        time.Duration // 0: none
		wantExpected    time.Duration
		wantAdmit       bool
	}{
		{"idle", 1, 0, 0, 20 * ms, 2 * ms, true},
		// Nothing to wait behind: admitted even past its deadline.
		{"idle, short deadline", 1, 0, 0, ms, 2 * ms, true},
		// Behind the running batch (counted whole: 9 ms).
		{"busy", 1, 0, 1, 20 * ms, 11 * ms, true},
		{"busy, short deadline", 1, 0, 1, 5 * ms, 11 * ms, false},
		// 16 rows ahead: two batches of 8 (18 ms) after the running one.
		{"queue of two batches", 1, 15, 1, 20 * ms, 27 * ms, false},
		{"no deadline: no bound", 1, 15, 1, 0, 27 * ms, true},
		// Two instances share the two batches.
		{"two instances", 2, 15, 2, 20 * ms, 18 * ms, true},
		{"one of two instances free", 2, 15, 1, 20 * ms, 9 * ms, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runners := make([]Runner, tc.instances)
			for i := range runners {
				runners[i] = &echoRunner{}
			}
			s := newTestScheduler(t, echoCfg(8, &Dynamic{}), runners, nil)
			// Admission is asked at the same instant the deadline counts
			// from, so the budget is exactly tc.deadline however slowly the
			// test runs (the two-instance case has 2 ms to spare).
			now := time.Now()
			ctx := t.Context()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, now.Add(tc.deadline))
				defer cancel()
			}
			e := &entry{ctx: ctx, rows: 1}
			s.mu.Lock()
			defer s.mu.Unlock()
			s.cost.observe(1, 2*ms)
			s.cost.observe(8, 9*ms)
			// A state no request produced: restored before the workers
			// can see it.
			s.queuedRows, s.running = tc.queued, tc.running
			defer func() { s.queuedRows, s.running = 0, 0 }()
			if got := s.expected(1); got != tc.wantExpected {
				t.Errorf("expected latency %v, want %v", got, tc.wantExpected)
			}
			err := s.admit(e, now)
			if admitted := err == nil; admitted != tc.wantAdmit {
				t.Errorf("admitted %v (%v), want %v", admitted, err, tc.wantAdmit)
			}
			if err != nil && !errors.Is(err, ErrOverloaded) {
				t.Errorf("refusal %v, want ErrOverloaded", err)
			}
		})
	}
}

// TestDeadlineAdmission refuses through Infer a request whose deadline is
// shorter than the queue ahead of it, at once, and queues one with time
// enough, on a static configuration.
func TestDeadlineAdmission(t *testing.T) {
	ctx := testContext(t)
	r := &echoRunner{gate: newGate()}
	s := newTestScheduler(t, echoCfg(8, &Dynamic{}), runnersOf(r), nil)
	first := inferAsync(ctx, s, echoReq(1))
	r.gate.next(ctx, t) // the instance is busy from here on
	s.mu.Lock()
	// Costs in seconds, so that "short" (5 s) cannot expire before
	// admission looks at it however slow the machine, and is still far
	// shorter than the 9 s queue.
	s.cost.observe(1, time.Second)
	s.cost.observe(8, 8*time.Second) // 1 s a row
	s.mu.Unlock()

	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := s.Infer(short, echoReq(2)); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("Infer with 5s left behind a 9s queue: %v, want ErrOverloaded", err)
	}
	if queuedCount(s) != 0 {
		t.Fatal("the refused request was queued")
	}
	long := inferAsync(ctx, s, echoReq(3))
	unbounded := inferAsync(context.WithoutCancel(ctx), s, echoReq(4))
	waitUntil(ctx, t, "two queued", func() bool { return queuedCount(s) == 2 })
	r.gate.open(2)
	for _, ch := range []<-chan outcome{first, long, unbounded} {
		if o := recv(ctx, t, ch); o.err != nil {
			t.Fatal(o.err)
		}
	}
}

// linearRunner is an echo runner whose batches take fixed + perRow·rows of
// real time (sleeping), the cost shape the model assumes.
type linearRunner struct {
	echoRunner
	fixed, perRow time.Duration
}

func (r *linearRunner) Run(ctx context.Context, in []tensor.Tensor) ([]tensor.Tensor, error) {
	time.Sleep(r.fixed + time.Duration(in[0].Shape[0])*r.perRow)
	return r.echoRunner.Run(ctx, in)
}

// TestOverloadShedsAndRecovers has 100 clients send 4 requests each, one
// after the other, to a slow model: many times what it serves within its
// objective. Some must be refused with ErrOverloaded, none may hang or fail
// otherwise, every accepted one gets its own outputs, and once the load is
// over requests are accepted again. No assertion depends on speed: 100
// requests in flight against 8-row batches of 13 ms each queue about 160 ms
// of work against a 100 ms objective, whatever the machine.
func TestOverloadShedsAndRecovers(t *testing.T) {
	ctx := testContext(t)
	reg := prometheus.NewRegistry()
	s := newTestScheduler(t, echoCfg(8, &Dynamic{Objective: &LatencyObjective{Percentile: 99, Target: 100 * ms}}),
		runnersOf(&linearRunner{fixed: 5 * ms, perRow: ms}), NewMetrics(reg))
	const clients, each = 100, 4
	var ok, shed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for c := range clients {
		wg.Go(func() {
			<-start
			for j := range each {
				x := float32(c*each + j)
				outs, err := s.Infer(ctx, echoReq(x))
				switch {
				case err == nil:
					if got := tensor.View[float32](outs[0].Data); len(got) != 1 || got[0] != x {
						t.Errorf("request %v got %v", x, got)
					}
					ok.Add(1)
				case errors.Is(err, ErrOverloaded):
					shed.Add(1)
				default:
					t.Errorf("request %v: %v, want outputs or ErrOverloaded", x, err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	t.Logf("accepted %d, refused %d, tuning %+v", ok.Load(), shed.Load(), s.Tuning())
	if shed.Load() == 0 || ok.Load() == 0 {
		t.Fatalf("accepted %d, refused %d: want both", ok.Load(), shed.Load())
	}
	for i := range 20 {
		if _, err := s.Infer(ctx, echoReq(float32(i))); err != nil {
			t.Fatalf("request %d after the burst: %v", i, err)
		}
	}
	if got := testutil.ToFloat64(s.inst.overloaded); got != float64(shed.Load()) {
		t.Errorf("aisle_batch_rejected_total{reason=overloaded} = %v, want %d", got, shed.Load())
	}
	if got := testutil.ToFloat64(s.inst.objective); got != float64(ok.Load()+20) {
		t.Errorf("aisle_latency_objective_requests_total = %v, want %d", got, ok.Load()+20)
	}
	if lim := testutil.ToFloat64(s.inst.limit); lim < 1 || lim > 8 {
		t.Errorf("aisle_batch_size_limit = %v, want within [1, 8]", lim)
	}
}

func TestObjectiveConfigValidation(t *testing.T) {
	cases := map[string]*Dynamic{
		"percentile":     {Objective: &LatencyObjective{Percentile: 100, Target: ms}},
		"target":         {Objective: &LatencyObjective{Percentile: 99}},
		"with delay":     {MaxQueueDelay: ms, Objective: &LatencyObjective{Percentile: 99, Target: ms}},
		"with preferred": {PreferredBatchSizes: []int{2}, Objective: &LatencyObjective{Percentile: 99, Target: ms}},
	}
	for name, d := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := New(echoCfg(4, d), runnersOf(&echoRunner{}), nil); err == nil {
				t.Fatal("New accepted an invalid objective")
			}
		})
	}
}

// TestObjectiveAdmitsNextBatch checks admission under an objective that no
// batch can meet (30 ms batches, 10 ms target): the next batch is still
// filled, so the instance never runs short, and only what would wait
// longer is refused.
func TestObjectiveAdmitsNextBatch(t *testing.T) {
	s := objectiveScheduler(t, 64, 10*ms, 30*ms, ms)
	e := &entry{ctx: t.Context(), rows: 1}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() { s.queuedRows, s.running = 0, 0 }()
	s.running = 1
	for _, tc := range []struct {
		queued int
		admit  bool
	}{{0, true}, {10, true}, {63, true}, {64, false}, {500, false}} {
		s.queuedRows = tc.queued
		err := s.admit(e, time.Now())
		if (err == nil) != tc.admit || (err != nil && !errors.Is(err, ErrOverloaded)) {
			t.Errorf("%d rows queued: admit error %v, want admitted %v", tc.queued, err, tc.admit)
		}
	}
}
