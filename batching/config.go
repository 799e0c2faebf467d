package batching

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/aisle-ai/aisle/tensor"
)

// TimeoutAction says what happens to a request whose queue timeout expires
// while it is still queued, as Triton's ModelQueuePolicy.timeout_action.
type TimeoutAction int

const (
	// Reject fails a timed-out request with ErrQueueTimeout (Triton REJECT,
	// the default).
	Reject TimeoutAction = iota
	// Delay keeps a timed-out request queued, but behind every request of the
	// same or a higher priority level that has not timed out (Triton DELAY).
	// Such a request may be delayed indefinitely under sustained load.
	Delay
)

// String returns the Triton spelling of a, such as "REJECT".
func (a TimeoutAction) String() string {
	switch a {
	case Reject:
		return "REJECT"
	case Delay:
		return "DELAY"
	}
	return fmt.Sprintf("TimeoutAction(%d)", int(a))
}

// InputSpec describes one model input in Config.Inputs.
type InputSpec struct {
	// Name is the model's input name; batched tensors handed to the Runner
	// carry it.
	Name string
	// DType is the input's element type. Invalid accepts any type, in which
	// case requests whose types differ are never batched together.
	DType tensor.DType
	// Ragged marks an input whose dimension 1 (a sequence length) varies
	// across requests. Requests of different lengths are padded to the
	// longest in their batch with PadValue. All ragged inputs of one request
	// must share the same dimension 1.
	Ragged bool
	// PadValue fills the padded positions of a ragged input, converted to
	// DType (0 or 1 for BOOL, rounded for FP16/BF16, truncated toward zero for
	// integer types). BYTES inputs pad with empty elements.
	PadValue float64
}

// OutputSpec describes one model output in Config.Outputs.
type OutputSpec struct {
	// Name is the model's output name; returned tensors carry it.
	Name string
	// Ragged marks an output whose dimension 1 follows the padded length of
	// the ragged inputs (for example per-token logits). Each request gets its
	// own rows trimmed back to its own length.
	Ragged bool
}

// QueuePolicy bounds one priority level's queue, as Triton's
// ModelQueuePolicy.
type QueuePolicy struct {
	// TimeoutAction is what happens to a request whose queue timeout expires
	// before it is scheduled. Default Reject.
	TimeoutAction TimeoutAction
	// DefaultTimeout is how long a request may wait in the queue. Default 0:
	// no timeout.
	DefaultTimeout time.Duration
	// AllowTimeoutOverride lets Request.Timeout replace DefaultTimeout, even
	// with a longer value. When false a request may only lower it (a request
	// timeout is always honoured when DefaultTimeout is 0).
	AllowTimeoutOverride bool
	// MaxQueueSize caps the requests queued at this level; a request arriving
	// at a full level fails at once with ErrQueueFull. Default 0: unbounded.
	MaxQueueSize int
}

// Dynamic configures dynamic batching, as Triton's ModelDynamicBatching.
type Dynamic struct {
	// PreferredBatchSizes are batch sizes (in rows) to dispatch at once when
	// they can be formed; the largest one formed wins. Each must lie in
	// [1, MaxBatchSize]. Triton's advice holds: most models should leave this
	// empty.
	PreferredBatchSizes []int
	// MaxQueueDelay is how long a batch forming behind busy instances may wait
	// for more requests, counted from its oldest request's arrival. Default 0:
	// dispatch whatever is queued as soon as an instance is free. Requests
	// that arrive while an instance is idle and the queue is empty never wait.
	MaxQueueDelay time.Duration
	// PreserveOrdering returns responses in the order requests were accepted,
	// holding a finished response until all earlier ones are delivered.
	PreserveOrdering bool
	// PriorityLevels is the number of priority levels; 1 is the highest.
	// Default 0: one level.
	PriorityLevels int
	// DefaultPriorityLevel is the level of requests that set Priority 0 or an
	// out-of-range priority, in [1, PriorityLevels]. 0 means 1.
	DefaultPriorityLevel int
	// DefaultQueuePolicy applies to every level not in PriorityQueuePolicy.
	DefaultQueuePolicy QueuePolicy
	// PriorityQueuePolicy overrides the queue policy of individual levels,
	// keyed by level in [1, PriorityLevels].
	PriorityQueuePolicy map[int]QueuePolicy
	// Objective, when set, makes the scheduler choose the batch size limit
	// (at most Config.MaxBatchSize) and the queue delay itself, from the
	// measured cost of its batches, and refuse requests it cannot serve
	// within the target (ErrOverloaded). PreferredBatchSizes and
	// MaxQueueDelay must then be unset. nil: the static settings apply.
	Objective *LatencyObjective
}

// LatencyObjective is a latency target for a share of requests: Percentile
// percent of them should spend at most Target in the scheduler (queue and
// batch; decoding and the network come on top).
type LatencyObjective struct {
	// Percentile is the share of requests, in percent, in (0, 100).
	Percentile float64
	// Target is the latency bound, > 0.
	Target time.Duration
}

// Config configures one Scheduler: one loaded version of one model.
type Config struct {
	// Model and Version name the model version in errors and metric labels.
	Model   string
	Version int64
	// MaxBatchSize is the most rows one execution may hold. 0 means the model
	// has no batch dimension: each request runs alone, unchanged.
	MaxBatchSize int
	// Dynamic enables dynamic batching. nil: each request runs as its own
	// batch, in arrival order.
	Dynamic *Dynamic
	// Inputs lists the model inputs in the order Request.Inputs and the
	// Runner use.
	Inputs []InputSpec
	// Outputs lists the model outputs in model order, the order the Runner
	// returns and Infer returns.
	Outputs []OutputSpec
	// Log receives the failures of requests that fail on their own (rate
	// limited, bounded length) and recovered panics with their stacks. nil
	// means slog.Default().
	Log *slog.Logger
}

func (c *Config) validate(runners []Runner) error {
	if len(runners) == 0 {
		return fmt.Errorf("no runners")
	}
	for i, r := range runners {
		if r == nil {
			return fmt.Errorf("runner %d is nil", i)
		}
	}
	if c.MaxBatchSize < 0 {
		return fmt.Errorf("max batch size %d is negative", c.MaxBatchSize)
	}
	if len(c.Outputs) == 0 {
		return fmt.Errorf("no outputs")
	}
	if c.MaxBatchSize > 0 && len(c.Inputs) == 0 {
		return fmt.Errorf("a batching model needs at least one input to size its batches")
	}
	ragged := false
	for _, in := range c.Inputs {
		if in.DType > tensor.Bytes {
			return fmt.Errorf("input %q has invalid datatype %v", in.Name, in.DType)
		}
		if in.Ragged {
			if c.MaxBatchSize == 0 {
				return fmt.Errorf("input %q is ragged but the model has no batch dimension", in.Name)
			}
			ragged = true
		}
	}
	for _, out := range c.Outputs {
		if out.Ragged && !ragged {
			return fmt.Errorf("output %q is ragged but no input is", out.Name)
		}
	}
	d := c.Dynamic
	if d == nil {
		return nil
	}
	for _, p := range d.PreferredBatchSizes {
		if p < 1 || p > max(c.MaxBatchSize, 1) {
			return fmt.Errorf("preferred batch size %d outside [1, %d]", p, max(c.MaxBatchSize, 1))
		}
	}
	if d.MaxQueueDelay < 0 {
		return fmt.Errorf("max queue delay %v is negative", d.MaxQueueDelay)
	}
	if d.PriorityLevels < 0 {
		return fmt.Errorf("priority levels %d is negative", d.PriorityLevels)
	}
	if d.DefaultPriorityLevel < 0 || d.DefaultPriorityLevel > max(d.PriorityLevels, 1) {
		return fmt.Errorf("default priority level %d outside [1, %d]", d.DefaultPriorityLevel, max(d.PriorityLevels, 1))
	}
	if o := d.Objective; o != nil {
		switch {
		case !(o.Percentile > 0 && o.Percentile < 100):
			return fmt.Errorf("latency objective percentile %v outside (0, 100)", o.Percentile)
		case o.Target <= 0:
			return fmt.Errorf("latency objective target %v is not positive", o.Target)
		case len(d.PreferredBatchSizes) > 0:
			return fmt.Errorf("a latency objective chooses batch sizes itself: preferred batch sizes must be unset")
		case d.MaxQueueDelay > 0:
			return fmt.Errorf("a latency objective chooses the queue delay itself: max queue delay must be unset")
		}
	}
	if err := d.DefaultQueuePolicy.validate(); err != nil {
		return fmt.Errorf("default queue policy: %w", err)
	}
	for lv, p := range d.PriorityQueuePolicy {
		if lv < 1 || lv > d.PriorityLevels {
			return fmt.Errorf("queue policy for priority level %d outside [1, %d]", lv, d.PriorityLevels)
		}
		if err := p.validate(); err != nil {
			return fmt.Errorf("queue policy for priority level %d: %w", lv, err)
		}
	}
	return nil
}

func (p *QueuePolicy) validate() error {
	switch {
	case p.TimeoutAction != Reject && p.TimeoutAction != Delay:
		return fmt.Errorf("unknown timeout action %v", p.TimeoutAction)
	case p.DefaultTimeout < 0:
		return fmt.Errorf("default timeout %v is negative", p.DefaultTimeout)
	case p.MaxQueueSize < 0:
		return fmt.Errorf("max queue size %d is negative", p.MaxQueueSize)
	}
	return nil
}

// timeout returns the queue timeout of a request asking for req (0: the
// policy default), or 0 for none.
func (p *QueuePolicy) timeout(req time.Duration) time.Duration {
	switch {
	case req <= 0:
		return p.DefaultTimeout
	case p.AllowTimeoutOverride, p.DefaultTimeout == 0, req < p.DefaultTimeout:
		return req
	}
	return p.DefaultTimeout
}
