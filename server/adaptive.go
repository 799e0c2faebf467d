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
	adaptWindow      = 100 * time.Millisecond
	adaptMinSamples  = 20
	adaptMaxSamples  = 1024
	adaptPercentile  = 99
	adaptInitial     = 64
	adaptMin         = 8
	adaptDecrease    = 0.9 // limit × this when the window's p99 is over the target
	adaptFullEnough  = 0.5 // grow only when the window used at least this share of the limit
	healthMethodPfx  = "/grpc.health.v1.Health/"
	adaptStartCtxKey = adaptCtxKey(0)
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
// A call over the limit is refused twice cheaply: by the tap handle
// (tapHandle) before gRPC reads its message or starts its goroutine, from
// a racy peek at the count, and by the interceptor (unary), which holds
// the count and refuses what slipped past the peek.
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
// reads the call's message or starts its handler goroutine, and stamps the
// call's arrival time for the latency the limit follows.
func (a *adaptiveLimit) tapHandle(ctx context.Context, info *tap.Info) (context.Context, error) {
	now := a.now()
	a.mu.Lock()
	m := a.methods[info.FullMethodName]
	full := m != nil && m.inFlight >= int(m.limit)
	lim := 0
	if m != nil {
		lim = int(m.limit)
	}
	a.mu.Unlock()
	if full {
		a.shed.WithLabelValues(info.FullMethodName).Inc()
		return nil, a.refusal(info.FullMethodName, lim)
	}
	return context.WithValue(ctx, adaptStartCtxKey, now), nil
}

func (a *adaptiveLimit) refusal(method string, limit int) error {
	return toStatus(fmt.Errorf("%s: %w (adaptive limit %d, latency target %v)",
		method, errTooManyCalls, limit, a.target))
}

// unary holds a unary call's place under its method's limit for the
// handler's run and records its latency from the tap's stamp.
func (a *adaptiveLimit) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if a == nil || strings.HasPrefix(info.FullMethod, healthMethodPfx) {
			return h(ctx, req)
		}
		start, ok := ctx.Value(adaptStartCtxKey).(time.Time)
		if !ok {
			start = a.now()
		}
		if lim, ok := a.acquire(info.FullMethod); !ok {
			return nil, a.refusal(info.FullMethod, lim)
		}
		defer func() { a.release(info.FullMethod, a.now().Sub(start)) }()
		return h(ctx, req)
	}
}

// acquire takes a place for a call of method, or reports the limit that
// refuses it.
func (a *adaptiveLimit) acquire(method string) (limit int, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.methods[method]
	if m == nil {
		m = &methodLimit{limit: min(adaptInitial, a.max)}
		a.methods[method] = m
		a.limitG.WithLabelValues(method).Set(m.limit)
	}
	if m.inFlight >= int(m.limit) {
		return int(m.limit), false
	}
	m.inFlight++
	m.peak = max(m.peak, m.inFlight)
	return 0, true
}

// release gives a call's place back, adds its latency to the window and,
// when the window closes, moves the limit.
func (a *adaptiveLimit) release(method string, d time.Duration) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.methods[method]
	m.inFlight--
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
