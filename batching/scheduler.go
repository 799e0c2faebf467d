package batching

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aisle-ai/aisle/tensor"
)

// Runner executes one batch on one model instance.
//
// The scheduler calls each Runner from a single goroutine, one batch at a
// time, so a Runner needs no locking of its own. inputs follow Config.Inputs
// and carry the batch in dimension 0 (unless MaxBatchSize is 0, when they are
// one request's tensors unchanged); the Runner must not modify them or keep
// them after Run returns (their memory is reused for the next batch). It
// returns the outputs in Config.Outputs order with the same dimension 0. The
// scheduler copies every output before Run is called again, so a Runner may
// reuse its output buffers across calls. ctx ends only when Close gives up
// waiting; a Runner should then return promptly.
type Runner interface {
	Run(ctx context.Context, inputs []tensor.Tensor) ([]tensor.Tensor, error)
}

// Request is one inference request.
type Request struct {
	// Inputs follow Config.Inputs; dimension 0 is the batch and may hold
	// several rows. The scheduler only reads them, possibly until the batch
	// carrying them has been gathered, which can be after Infer returned
	// early on a context error: do not modify them after calling Infer.
	Inputs []tensor.Tensor
	// Priority is the priority level, 1 the highest; 0 or a level outside
	// [1, PriorityLevels] means Dynamic.DefaultPriorityLevel.
	Priority int
	// Timeout is the request's queue timeout; 0 means the level's
	// QueuePolicy.DefaultTimeout, which a request may only lower unless
	// AllowTimeoutOverride is set.
	Timeout time.Duration
}

// Scheduler queues the requests of one model version and runs them in
// batches on its Runners. It is safe for concurrent use.
type Scheduler struct {
	cfg       Config
	name      string // "model vN", for errors
	maxRows   int    // rows per batch; 1 for a model without a batch dimension
	batching  bool   // requests may share a batch
	preferred []bool // preferred[rows] reports a preferred batch size
	preserve  bool
	objective *LatencyObjective // nil: static batch size limit and delay
	levels    int               // priority levels, at least 1
	defLevel  int               // level index of requests without a valid priority
	policies  []QueuePolicy
	instances int // number of runners
	scanLimit int // most queue entries one batch formation examines
	inst      *instruments
	log       *slog.Logger
	logLimit  logLimit

	//nolint:containedctx // the runners' context, cancelled when Close gives up draining; it outlives any one call.
	runCtx    context.Context
	cancelRun context.CancelFunc

	token   chan struct{} // capacity 1: its holder is the one worker forming the next batch
	wake    chan struct{} // capacity 1: the queue changed, the forming worker re-examines it
	closing chan struct{} // closed by Close

	// mu guards lists, levelLen, queued, queuedRows, closed, running, live,
	// the queue links of entries, and the admission state below.
	mu          sync.Mutex
	lists       []fifo        // scan order: level 0 normal, level 0 delayed, level 1 normal, ...
	levelLen    []int         // entries queued per level, for MaxQueueSize
	queued      int           // entries in all lists
	queuedRows  int           // rows of the entries in all lists
	closed      bool          // Close was called; Infer returns ErrClosed
	running     int           // workers executing a batch
	live        int           // workers not yet exited
	workersDone chan struct{} // closed when the last worker exits

	// Admission and batch size control (admission.go), guarded by mu.
	cost              costModel
	limit             int           // rows per batch: maxRows, or chosen under an objective
	delay             time.Duration // MaxQueueDelay, or chosen under an objective
	slack             float64       // share of the objective's target used as the budget
	window, windowMet int           // requests completed and within the target in this attainment window

	orderMu              sync.Mutex // guards orderHead, orderTail and the ordering fields of entries
	orderHead, orderTail *entry     // accepted requests not yet delivered, in acceptance order (PreserveOrdering)

	statsMu sync.Mutex // guards stats
	stats   statsAcc
}

// New builds a Scheduler for cfg and starts one worker goroutine per runner
// (one per model instance). m may be nil to record no metrics. Call Close to
// stop the workers.
func New(cfg Config, runners []Runner, m *Metrics) (*Scheduler, error) {
	name := fmt.Sprintf("%s v%d", cfg.Model, cfg.Version)
	if err := cfg.validate(runners); err != nil {
		return nil, fmt.Errorf("batching %s: %w", name, err)
	}
	cfg.Inputs = append([]InputSpec(nil), cfg.Inputs...)
	cfg.Outputs = append([]OutputSpec(nil), cfg.Outputs...)
	s := &Scheduler{
		cfg:         cfg,
		name:        name,
		maxRows:     max(cfg.MaxBatchSize, 1),
		batching:    cfg.MaxBatchSize > 0 && cfg.Dynamic != nil,
		levels:      1,
		policies:    []QueuePolicy{{}},
		inst:        m.instruments(cfg.Model, strconv.FormatInt(cfg.Version, 10), cfg.Dynamic != nil && cfg.Dynamic.Objective != nil),
		log:         logger(cfg.Log),
		token:       make(chan struct{}, 1),
		wake:        make(chan struct{}, 1),
		closing:     make(chan struct{}),
		instances:   len(runners),
		live:        len(runners),
		workersDone: make(chan struct{}),
	}
	// Room for a full batch of one-row requests with several times as many
	// incompatible ones interleaved.
	s.scanLimit = max(8*s.maxRows, 256)
	s.preferred = make([]bool, s.maxRows+1)
	if d := cfg.Dynamic; d != nil {
		if s.batching {
			for _, p := range d.PreferredBatchSizes {
				s.preferred[p] = true
			}
			s.delay = d.MaxQueueDelay
		}
		s.objective = d.Objective
		s.preserve = d.PreserveOrdering
		s.levels = max(d.PriorityLevels, 1)
		s.defLevel = max(d.DefaultPriorityLevel, 1) - 1
		s.policies = make([]QueuePolicy, s.levels)
		for i := range s.policies {
			s.policies[i] = d.DefaultQueuePolicy
			if p, ok := d.PriorityQueuePolicy[i+1]; ok {
				s.policies[i] = p
			}
		}
	}
	s.limit, s.slack = s.maxRows, 1
	s.inst.setLimit(s.limit)
	s.lists = make([]fifo, 2*s.levels)
	s.levelLen = make([]int, s.levels)
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	for _, r := range runners {
		w := newWorker(s, r)
		go s.work(w)
	}
	return s, nil
}

// Infer queues req, waits for its batch and returns its outputs in
// Config.Outputs order, holding only req's rows. The outputs are the
// caller's: they share no memory with other requests' outputs or with the
// Runner.
//
// It fails at once with ErrQueueFull when req's priority level is full,
// with ErrOverloaded when the latency req should expect exceeds its budget
// (admission.go) and with ErrClosed after Close. When ctx ends while req is queued, req is
// dropped and ctx.Err() returned; when ctx ends while its batch runs, Infer
// returns ctx.Err() at once and the outputs are discarded.
func (s *Scheduler) Infer(ctx context.Context, req Request) ([]tensor.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	start := time.Now()
	e := getEntry()
	if err := s.prepare(ctx, e, req, start); err != nil {
		putEntry(e)
		s.recordFail(start)
		return nil, err
	}
	if err := s.enqueue(e, start); err != nil {
		putEntry(e)
		s.recordFail(start)
		return nil, err
	}
	s.signal()
	return s.wait(ctx, e)
}

// prepare checks req against the config and fills e.
func (s *Scheduler) prepare(ctx context.Context, e *entry, req Request, now time.Time) error {
	if len(req.Inputs) != len(s.cfg.Inputs) {
		return fmt.Errorf("%s: %w: got %d inputs, want %d", s.name, ErrInvalidInput, len(req.Inputs), len(s.cfg.Inputs))
	}
	rows, length := int64(-1), int64(-1)
	for i := range req.Inputs {
		t, spec := &req.Inputs[i], &s.cfg.Inputs[i]
		if spec.DType != tensor.Invalid && t.DType != spec.DType {
			return fmt.Errorf("%s: %w: input %q is %v, want %v", s.name, ErrInvalidInput, spec.Name, t.DType, spec.DType)
		}
		if err := t.Validate(); err != nil {
			return fmt.Errorf("%s: %w: input %q: %w", s.name, ErrInvalidInput, spec.Name, err)
		}
		if s.cfg.MaxBatchSize == 0 {
			continue
		}
		if len(t.Shape) == 0 {
			return fmt.Errorf("%s: %w: input %q has no batch dimension", s.name, ErrInvalidInput, spec.Name)
		}
		if rows >= 0 && t.Shape[0] != rows {
			return fmt.Errorf("%s: %w: input %q has %d rows, earlier inputs %d", s.name, ErrInvalidInput, spec.Name, t.Shape[0], rows)
		}
		rows = t.Shape[0]
		if !spec.Ragged {
			continue
		}
		if len(t.Shape) < 2 {
			return fmt.Errorf("%s: %w: ragged input %q has shape %v, want at least 2 dimensions", s.name, ErrInvalidInput, spec.Name, t.Shape)
		}
		if length >= 0 && t.Shape[1] != length {
			return fmt.Errorf("%s: %w: ragged input %q has length %d, earlier ragged inputs %d", s.name, ErrInvalidInput, spec.Name, t.Shape[1], length)
		}
		length = t.Shape[1]
	}
	if s.cfg.MaxBatchSize == 0 {
		rows = 1
	}
	if rows < 1 || rows > int64(s.maxRows) {
		return fmt.Errorf("%s: %w: batch of %d rows, want 1 to %d", s.name, ErrInvalidInput, rows, s.maxRows)
	}
	if req.Timeout < 0 {
		return fmt.Errorf("%s: %w: negative timeout %v", s.name, ErrInvalidInput, req.Timeout)
	}
	level := s.defLevel
	if req.Priority >= 1 && req.Priority <= s.levels && s.cfg.Dynamic != nil && s.cfg.Dynamic.PriorityLevels > 0 {
		level = req.Priority - 1
	}
	pol := &s.policies[level]
	e.ctx = ctx
	e.inputs = req.Inputs
	e.rows = int(rows)
	e.length = int(max(length, 0))
	e.bucket = lengthBucket(e.length)
	e.level = level
	e.action = pol.TimeoutAction
	e.enqueued = now
	if d := pol.timeout(req.Timeout); d > 0 {
		e.timeout = now.Add(d)
	}
	return nil
}

// enqueue admits e and appends it to its level's queue.
func (s *Scheduler) enqueue(e *entry, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("%s: %w", s.name, ErrClosed)
	}
	if limit := s.policies[e.level].MaxQueueSize; limit > 0 && s.levelLen[e.level] >= limit {
		s.inst.reject(reasonQueueFull)
		return fmt.Errorf("%s: %w (%d)", s.name, ErrQueueFull, limit)
	}
	if err := s.admit(e, now); err != nil {
		s.inst.reject(reasonOverloaded)
		return err
	}
	// A request that a free instance will take at once skips
	// MaxQueueDelay: there is no idle penalty.
	e.immediate = s.queued < s.instances-s.running
	s.lists[2*e.level].push(e)
	s.levelLen[e.level]++
	s.queued++
	s.queuedRows += e.rows
	s.inst.depth(1)
	if s.preserve {
		s.orderMu.Lock()
		if s.orderTail != nil {
			s.orderTail.ordNext = e
		} else {
			s.orderHead = e
		}
		s.orderTail = e
		s.orderMu.Unlock()
	}
	return nil
}

// unlink removes a queued entry from the queue; mu must be held.
func (s *Scheduler) unlink(e *entry) {
	e.list.remove(e)
	s.levelLen[e.level]--
	s.queued--
	s.queuedRows -= e.rows
	s.inst.depth(-1)
}

// signal wakes the worker forming the next batch, if any.
func (s *Scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// wait blocks until e has a result, ctx ends or e's queue timeout fires.
func (s *Scheduler) wait(ctx context.Context, e *entry) ([]tensor.Tensor, error) {
	var timeout <-chan time.Time
	if !e.timeout.IsZero() {
		t := time.NewTimer(time.Until(e.timeout))
		defer t.Stop()
		timeout = t.C
	}
	start := e.enqueued
	for {
		select {
		case r := <-e.done:
			putEntry(e)
			return r.outs, r.err
		case <-ctx.Done():
			err := ctx.Err()
			if s.withdraw(e) {
				s.inst.reject(reasonCancelled)
				s.recordFail(start)
				s.finish(e, result{err: err})
			}
			// Otherwise e is in a running batch, which finishes it; its
			// result is dropped (e is not recycled).
			return nil, err
		case <-timeout:
			timeout = nil
			if s.expire(e, time.Now()) {
				err := fmt.Errorf("%s: %w", s.name, ErrQueueTimeout)
				s.recordFail(start)
				s.finish(e, result{err: err})
				return nil, err
			}
		}
	}
}

// withdraw removes e from the queue if it is still there.
func (s *Scheduler) withdraw(e *entry) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.list == nil {
		return false
	}
	s.unlink(e)
	s.signal()
	return true
}

// expire applies e's timeout action if e is still queued and its timeout has
// passed. It reports whether e was rejected and removed. mu must not be held.
func (s *Scheduler) expire(e *entry, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rejected, _ := s.expireLocked(e, now)
	return rejected
}

// expireLocked is expire with mu held; moved reports an entry moved to its
// level's delayed list.
func (s *Scheduler) expireLocked(e *entry, now time.Time) (rejected, moved bool) {
	if e.list == nil || e.delayed || e.timeout.IsZero() || now.Before(e.timeout) {
		return false, false
	}
	if e.action == Delay {
		e.list.remove(e)
		e.delayed = true
		s.lists[2*e.level+1].push(e)
		s.signal()
		return false, true
	}
	s.unlink(e)
	s.inst.reject(reasonTimeout)
	s.signal()
	return true, false
}

// finish hands e its result. Without PreserveOrdering it is delivered at
// once; with it, delivery waits for every earlier accepted request. After
// finish, the caller must not touch e: Infer may recycle it.
func (s *Scheduler) finish(e *entry, r result) {
	if !s.preserve {
		e.done <- r
		return
	}
	s.orderMu.Lock()
	defer s.orderMu.Unlock()
	e.res, e.finished = r, true
	for h := s.orderHead; h != nil && h.finished; h = s.orderHead {
		s.orderHead = h.ordNext
		if s.orderHead == nil {
			s.orderTail = nil
		}
		r := h.res
		h.ordNext, h.res = nil, result{}
		h.done <- r // capacity 1 and sent once: never blocks
	}
}

// Close stops admitting requests (Infer returns ErrClosed), lets the workers
// drain every queued request and the running batches, and returns once all
// the scheduler's goroutines have exited; the runners may then be released.
// Queued requests are dispatched without waiting for MaxQueueDelay.
//
// If ctx ends first, requests still queued fail with ErrClosed, the runners'
// context is cancelled, and Close returns ctx.Err() once the running batches
// have returned and the workers exited. Close may be called more than once.
func (s *Scheduler) Close(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
	}
	s.mu.Unlock()
	select {
	case <-s.workersDone:
		s.cancelRun()
		return nil
	case <-ctx.Done():
	}
	var dropped []*entry
	s.mu.Lock()
	for i := range s.lists {
		for e := s.lists[i].head; e != nil; e = s.lists[i].head {
			s.unlink(e)
			dropped = append(dropped, e)
		}
	}
	s.mu.Unlock()
	for _, e := range dropped {
		s.recordFail(e.enqueued)
		s.finish(e, result{err: fmt.Errorf("%s: %w", s.name, ErrClosed)})
	}
	s.cancelRun()
	<-s.workersDone
	return ctx.Err()
}

// work is one worker's loop: take the formation token, form a batch, hand
// the token on and run the batch, until the scheduler is closed and drained.
func (s *Scheduler) work(w *worker) {
	defer func() {
		s.mu.Lock()
		s.live--
		if s.live == 0 {
			close(s.workersDone)
		}
		s.mu.Unlock()
	}()
	for {
		s.token <- struct{}{}
		ok := s.nextBatch(w)
		<-s.token
		if !ok {
			return
		}
		s.execute(w)
	}
}
