package server

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/tap"
)

// DefaultLatencyTarget is the server-side latency (tap to handler return)
// each unary method's adaptive concurrency limit steers its window p99
// under: issue 12's objective for accepted calls at 3× capacity.
const DefaultLatencyTarget = 50 * time.Millisecond

// The adaptive limit's constants. A window closes after adaptWindow and at
// least adaptMinSamples completed calls (or adaptMaxSamples, whichever is
// first), so a decision rests on enough calls to have a p99 and comes
// within ~0.1 s of a change of load. Starting at 64 and never going below
// 8: 64–256 calls in flight is where the batched models reach their best
// throughput (BENCHMARKS.md §1b), and 8 keeps a method whose every call is
// slower than the target (a large ModelInfer) serving a few at a time
// instead of none.
const (
	adaptWindow     = 100 * time.Millisecond
	adaptMinSamples = 20
	adaptMaxSamples = 1024
	adaptPercentile = 99
	adaptInitial    = 64
	adaptMin        = 8
	adaptDecrease   = 0.9 // limit × this when the window's p99 is over the target
	adaptFullEnough = 0.5 // grow only when the window used at least this share of the limit
	healthMethodPfx = "/grpc.health.v1.Health/"
	adaptResCtxKey  = adaptCtxKey(0)
)

type adaptCtxKey int

// adaptiveLimit is a per-method concurrency limit that follows latency
// (additive increase, multiplicative decrease, as TCP's congestion window
// and Netflix's concurrency-limits AIMD): each unary method may have limit
// calls in flight; a window whose p99 latency is under the target, with the
// limit in use, raises it by √limit, a window over it cuts it to 0.9×.
// Little's law says why this sheds the right amount: at a throughput X the
// in-flight calls are L = X·W, so capping L at about X·target keeps W near
// the target and refuses the rest at once, where a static cap (512) lets W
// grow to 512/X (170 ms at 3,000 rps).
//
// A call over the limit is refused by the tap handle (tapHandle) before
// gRPC reads its message or starts its goroutine; the tap also takes the
// place of each call it admits, so the count includes calls whose handlers
// have yet to start. The interceptor (unary) takes over that place, or
// takes one itself for a method's first call (the tap knows only methods
// the interceptor has seen) and refuses that call at the limit.
type adaptiveLimit struct {
	target time.Duration
	max    float64 // the static --max-inflight-per-method cap; the limit never passes it
	now    func() time.Time
	limitG *prometheus.GaugeVec   // aisle_concurrency_limit{method}
	shed   *prometheus.CounterVec // aisle_concurrency_shed_total{method}

	mu sync.Mutex // guards methods and every *methodLimit's fields
	// methods holds registered unary methods only: an entry is made by the
	// interceptor, which gRPC reaches only for registered methods, so a
	// client cannot grow it with made-up names (the tap only looks up).
	methods map[string]*methodLimit
}

// methodLimit is one method's state; adaptiveLimit.mu guards it.
type methodLimit struct {
	limit       float64
	inFlight    int
	peak        int             // most calls in flight in this window
	windowStart time.Time       // zero: no call completed yet in this window
	samples     []time.Duration // latencies of calls completed in this window
	refused     error           // the refusal status at limit refusedAt (refusal)
	refusedAt   int
}

// newAdaptiveLimit returns nil (no adaptive limit) when target <= 0.
// max is the static cap (0: none, the limit grows without bound).
func newAdaptiveLimit(target time.Duration, max int, reg prometheus.Registerer, now func() time.Time) *adaptiveLimit {
	if target <= 0 {
		return nil
	}
	a := &adaptiveLimit{target: target, max: math.Inf(1), now: now, methods: map[string]*methodLimit{},
		limitG: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aisle_concurrency_limit",
			Help: "Adaptive limit on calls in flight, by unary method (--latency-target).",
		}, []string{"method"}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_concurrency_shed_total",
			Help: "Calls refused RESOURCE_EXHAUSTED by the adaptive limit before their message was read (not in aisle_grpc_requests_total).",
		}, []string{"method"}),
	}
	if max > 0 {
		a.max = float64(max)
	}
	if reg != nil {
		reg.MustRegister(a.limitG, a.shed)
	}
	return a
}

// tapHandle refuses a call of a method at its limit before the server
// reads the call's message or starts its handler goroutine. A call it
// admits takes its place under the limit here, in the transport's reader,
// not later in the interceptor: gRPC starts the handler goroutines after
// the tap, so a count taken only there lags the arrivals, and under 3×
// overload half the refusals (70,174 of 137,029 at 14,000 rps offered to
// RecommendCart, BENCHMARKS.md §5c) slipped past the tap and were refused
// only after the message was read and decoded, metered and access-logged.
// The place is the call's until the interceptor, which takes it over, or
// until the stream ends without reaching it (a client that cancels, a
// message that does not decode): a context.AfterFunc on the stream's
// context gives it back then. A stream that sends its headers but not
// its message holds its place until its deadline or its connection ends,
// as a handler holds one until it returns.
//
// The tap admits a method it has no entry for (its first call, or a
// streaming or unknown method); the interceptor then takes the place.
func (a *adaptiveLimit) tapHandle(ctx context.Context, info *tap.Info) (context.Context, error) {
	now := a.now()
	a.mu.Lock()
	m := a.methods[info.FullMethodName]
	if m == nil {
		a.mu.Unlock()
		return ctx, nil
	}
	if m.inFlight >= int(m.limit) {
		err := a.refusal(info.FullMethodName, m)
		a.mu.Unlock()
		a.shed.WithLabelValues(info.FullMethodName).Inc()
		return nil, err
	}
	m.take()
	a.mu.Unlock()
	method := info.FullMethodName
	res := &reservation{start: now}
	res.stop = context.AfterFunc(ctx, func() { a.release(method, 0, false) })
	return context.WithValue(ctx, adaptResCtxKey, res), nil
}

// reservation is a place under the limit the tap took for a call.
type reservation struct {
	start time.Time   // the call's arrival at the tap
	stop  func() bool // stops the stream-end release; false: it ran, the place is given back
}

// refusal is the RESOURCE_EXHAUSTED status refusing a call of method at
// m's limit; a.mu held. It is built by toStatus once per limit value and
// kept: the tap runs in the connection's frame reader, where every
// microsecond delays all the connection's other calls, and toStatus's
// message scrubbing (regexps) took 15% of the server's CPU when it ran per
// refusal at 3× RecommendCart's capacity (perf, BENCHMARKS.md §5c).
func (a *adaptiveLimit) refusal(method string, m *methodLimit) error {
	if lim := int(m.limit); m.refused == nil || m.refusedAt != lim {
		m.refused = toStatus(fmt.Errorf("%s: %w (adaptive limit %d, latency target %v)",
			method, errTooManyCalls, lim, a.target))
		m.refusedAt = lim
	}
	return m.refused
}

// unary holds a unary call's place under its method's limit for the
// handler's run and records its latency from the tap's stamp. The place is
// the tap's reservation when there is one, else taken here.
func (a *adaptiveLimit) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if a == nil || strings.HasPrefix(info.FullMethod, healthMethodPfx) {
			return h(ctx, req)
		}
		if res, ok := ctx.Value(adaptResCtxKey).(*reservation); ok {
			if !res.stop() {
				// The stream ended (deadline, cancel) before the handler
				// ran and its place is already given back: the handler
				// returns at once on the done context, untracked.
				return h(ctx, req)
			}
			defer func() { a.release(info.FullMethod, a.now().Sub(res.start), true) }()
			return h(ctx, req)
		}
		start := a.now()
		if err := a.acquire(info.FullMethod); err != nil {
			return nil, err
		}
		defer func() { a.release(info.FullMethod, a.now().Sub(start), true) }()
		return h(ctx, req)
	}
}

// acquire takes a place for a call of method, or returns the refusal.
func (a *adaptiveLimit) acquire(method string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.methods[method]
	if m == nil {
		m = &methodLimit{limit: min(adaptInitial, a.max)}
		a.methods[method] = m
		a.limitG.WithLabelValues(method).Set(m.limit)
	}
	if m.inFlight >= int(m.limit) {
		return a.refusal(method, m)
	}
	m.take()
	return nil
}

// take counts one more call in flight; a.mu held.
func (m *methodLimit) take() {
	m.inFlight++
	m.peak = max(m.peak, m.inFlight)
}

// release gives a call's place back and, for a call that ran (ran), adds
// its latency d to the window and, when the window closes, moves the limit.
func (a *adaptiveLimit) release(method string, d time.Duration, ran bool) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.methods[method]
	m.inFlight--
	if !ran {
		return
	}
	if m.windowStart.IsZero() {
		m.windowStart = now
	}
	if len(m.samples) < adaptMaxSamples {
		m.samples = append(m.samples, d)
	}
	if len(m.samples) < adaptMaxSamples &&
		(now.Sub(m.windowStart) < adaptWindow || len(m.samples) < adaptMinSamples) {
		return
	}
	slices.Sort(m.samples)
	p := m.samples[min(len(m.samples)-1, len(m.samples)*adaptPercentile/100)]
	switch {
	case p > a.target:
		m.limit = min(a.max, max(adaptMin, m.limit*adaptDecrease))
	case float64(m.peak) >= adaptFullEnough*m.limit:
		m.limit = min(a.max, m.limit+math.Sqrt(m.limit))
	}
	a.limitG.WithLabelValues(method).Set(math.Floor(m.limit))
	m.samples, m.peak, m.windowStart = m.samples[:0], m.inFlight, now
}
