package batching

import (
	"fmt"
	"time"
)

// Admission and latency-targeted batching. Both rest on the cost model
// (cost.go) of the batches this scheduler has executed.
//
// Admission: a request is refused at once with ErrOverloaded when the
// latency it should expect, queued behind what is already there, exceeds
// its budget: the time left before its context's deadline and, when the
// model declares a LatencyObjective, the objective's target. Queueing it
// anyway only moves the failure later: measured before this existed, the
// encoder at three times its capacity rejected nothing and its p99 reached
// 1.86 s, every client waiting for answers most of them no longer wanted.
//
// Latency targeting: with a LatencyObjective the scheduler chooses the
// batch size limit and the queue delay itself. A request admitted behind a
// running batch waits for it, then runs in the next one, so its latency is
// at most about 2·cost(limit) + delay; the scheduler takes the largest limit
// (the best throughput, since the fixed cost a is shared by more rows) that
// keeps this within the budget, and a delay of at most the fixed cost a
// (waiting longer than a batch's fixed part to share it can cost a lone
// request more than it saves, the ski-rental bound) and a tenth of the
// budget. The budget is the target times a slack in [minSlack, 1] adjusted
// by additive increase, multiplicative decrease on the measured attainment,
// as Clipper adjusts its batch size: every objectiveWindow completed
// requests, a share within the target below the declared percentile cuts
// the slack by a quarter, and one at or above it adds 0.05. That corrects
// what the cost model misses (the time a request spends waiting for a
// worker to pick it up, other processes on the cores).

// Tuning of the latency controller.
const (
	objectiveWindow = 100  // completed requests per attainment check
	minSlack        = 0.2  // the budget never falls below a fifth of the target
	slackDecrease   = 0.75 // multiplicative decrease on a missed window
	slackIncrease   = 0.05 // additive increase on a met window
)

// admit decides whether e may queue; mu must be held. It returns
// ErrOverloaded (wrapped) when e's expected latency exceeds its budget.
//
// Two requests are always admitted. One that finds the model idle has
// nothing to wait behind, so refusing it cannot make it faster; this also
// guarantees recovery: however low the slack fell, an idle model runs
// requests, whose completions let the slack grow back. Under an objective,
// one that fits in the next batch of each instance is too: refusing it
// would leave an instance a batch short, losing throughput without
// shortening anyone's wait. When the batches themselves are slow (other
// processes on the cores), this keeps the model busy instead of refusing
// everything queued: before this rule (and the optimistic cold start in
// cost.go), the real encoder on a machine at load 13 refused calls with 4
// rows queued.
func (s *Scheduler) admit(e *entry, now time.Time) error {
	if s.queuedRows == 0 && s.running < s.instances {
		return nil
	}
	nextRound := s.queuedRows+e.rows <= s.limit*s.instances
	var est time.Duration
	if s.cost.known() {
		est = s.expected(e.rows)
	}
	if dl, ok := e.ctx.Deadline(); ok && s.cost.known() && est > dl.Sub(now) {
		return s.overloaded(est, dl.Sub(now))
	}
	o := s.objective
	if o == nil || nextRound {
		return nil
	}
	if !s.cost.known() {
		// Nothing measured yet (the first requests after a load): accept
		// one full batch per instance, which the first batches measure.
		return fmt.Errorf("%s: %w: %d rows queued before any batch was measured", s.name, ErrOverloaded, s.queuedRows)
	}
	if budget := seconds(s.slack * o.Target.Seconds()); est > budget {
		return s.overloaded(est, budget)
	}
	return nil
}

// overloaded is the refusal of a request expected to take est with budget
// left; mu must be held.
func (s *Scheduler) overloaded(est, budget time.Duration) error {
	return fmt.Errorf("%s: %w: expected %v, budget %v, %d rows queued, batches of %d rows take %v",
		s.name, ErrOverloaded, est.Round(time.Microsecond), budget.Round(time.Microsecond), s.queuedRows,
		s.limit, s.cost.predict(s.limit).Round(time.Microsecond))
}

// expected is the latency a request of rows should expect if queued now:
// the batches queued ahead of it and its own, limit rows each, shared by
// the instances, plus one whole batch when every instance is busy (the
// remainder of the running batches, counted whole to stay on the safe
// side). mu must be held.
func (s *Scheduler) expected(rows int) time.Duration {
	ahead := s.queuedRows + rows
	limit := s.batchLimit(ahead)
	batches := (ahead + limit - 1) / limit
	rounds := (batches + s.instances - 1) / s.instances
	est := time.Duration(rounds) * s.cost.predict(min(ahead, limit))
	if s.running >= s.instances {
		est += s.cost.predict(s.limit)
	}
	return est
}

// measured records one executed batch: its rows and compute time feed the
// cost model (only batches that ran once, unsplit and without failure),
// and its requests' latencies the objective's attainment. mu must be held.
// It returns the requests within the target, for the metrics.
func (s *Scheduler) measured(rows int, compute time.Duration, clean bool, latencies []time.Duration) (met int) {
	if clean {
		s.cost.observe(rows, compute)
	}
	if o := s.objective; o != nil {
		for _, l := range latencies {
			if l <= o.Target {
				met++
			}
		}
		s.window += len(latencies)
		s.windowMet += met
		if s.window >= objectiveWindow {
			if float64(s.windowMet) < o.Percentile/100*float64(s.window) {
				s.slack = max(s.slack*slackDecrease, minSlack)
			} else {
				s.slack = min(s.slack+slackIncrease, 1)
			}
			s.window, s.windowMet = 0, 0
		}
	}
	s.retune()
	return met
}

// batchLimit is the most rows the next batch may take with queued rows
// waiting; mu must be held. It is the chosen limit, raised under an
// objective to the backlog's share per instance: the limit bounds the batch
// a lone arrival waits behind, but once rows are queued, splitting them
// into more rounds than instances only adds a fixed cost to the wait of
// every one of them. Without this a limit cut by the attainment controller
// (slack at its floor on a loaded machine) made batches of 1–3 rows,
// whose lower throughput lengthened the queue, missed the target again and
// cut the limit further: the bench encoder at 16–64 closed-loop clients
// refused 1,000–10,000 calls a second and served half its capacity
// (BENCHMARKS.md §11).
func (s *Scheduler) batchLimit(queued int) int {
	if s.objective == nil {
		return s.limit
	}
	return min(max(s.limit, (queued+s.instances-1)/s.instances), s.maxRows)
}

// retune chooses the batch size limit and queue delay for the objective
// from the cost model; static configurations keep theirs. mu must be held.
func (s *Scheduler) retune() {
	o := s.objective
	if o == nil || !s.cost.known() {
		return
	}
	budget := seconds(s.slack * o.Target.Seconds())
	if !s.batching {
		return
	}
	delay := min(seconds(s.cost.a), budget/10)
	s.delay = delay
	switch {
	case 2*s.cost.predict(1)+delay <= budget:
		s.limit = s.cost.largest((budget-delay)/2, s.maxRows)
	case 2*s.cost.predict(1)+delay <= o.Target:
		// The slack's budget fits no row, but the target does: size
		// batches for the target. Jumping to the largest batches here
		// made every lone arrival wait behind one (the encoder's limit
		// flipped between 1 and 64 on a loaded machine).
		s.limit = s.cost.largest((o.Target-delay)/2, s.maxRows)
	default:
		// Not even one row meets the objective, at any load: serve as
		// much as possible instead, in the largest batches.
		s.limit = s.maxRows
	}
	s.inst.setLimit(s.limit)
}

// Tuning is a snapshot of the scheduler's current choices and cost model.
type Tuning struct {
	// MaxBatchSize is the batch size limit in rows: Config.MaxBatchSize for
	// a static configuration, the chosen one under a LatencyObjective.
	MaxBatchSize int
	// MaxQueueDelay is the queue delay in use.
	MaxQueueDelay time.Duration
	// Fixed and PerRow are the cost model's terms: a batch of n rows is
	// expected to take Fixed + n·PerRow. Both are 0 before any batch ran.
	Fixed, PerRow time.Duration
	// Slack is the share of the objective's target used as the budget.
	Slack float64
}

// Tuning returns the scheduler's current batch size limit, delay and cost
// model.
func (s *Scheduler) Tuning() Tuning {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Tuning{MaxBatchSize: s.limit, MaxQueueDelay: s.delay,
		Fixed: seconds(s.cost.a), PerRow: seconds(s.cost.b), Slack: s.slack}
}
