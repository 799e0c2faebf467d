package server

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultFailureLogsPerSecond bounds the access log's lines for failed
// calls, per method and second. Every failed call used to be logged: at 3×
// RecommendCart's capacity that was 70,000 RESOURCE_EXHAUSTED lines in 10 s
// (BENCHMARKS.md §5c), each a synchronous write on the cores the accepted
// calls needed. 20 a second per method still shows what is failing and
// why; the failed calls themselves are all counted in
// aisle_grpc_requests_total, and the lines left out in
// aisle_access_log_suppressed_total and in the next line's "suppressed".
// The auth interceptor's "call refused" warnings have a budget of their
// own of the same size (sibling): an unauthenticated flood wrote one
// warning per call besides the access line.
const DefaultFailureLogsPerSecond = 20

// logBudget lets through at most perSec failure lines per method in each
// wall-clock second and counts the rest.
type logBudget struct {
	perSec     int
	now        func() time.Time
	suppressed *prometheus.CounterVec // aisle_access_log_suppressed_total{method}

	mu sync.Mutex // guards methods and every *methodBudget
	// methods is keyed by full method name; interceptors see registered
	// methods only, so the key set is fixed and small.
	methods map[string]*methodBudget
}

type methodBudget struct {
	second  int64 // the Unix second used counts lines of
	used    int   // lines written in second
	skipped int   // lines left out since the last one written
}

// newLogBudget returns nil (no bound) when perSec <= 0.
func newLogBudget(perSec int, reg prometheus.Registerer, now func() time.Time) *logBudget {
	if perSec <= 0 {
		return nil
	}
	b := &logBudget{perSec: perSec, now: now, methods: map[string]*methodBudget{},
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_access_log_suppressed_total",
			Help: "Access log lines and auth \"call refused\" warnings of failed calls left out by the per-method rate bound (the calls are counted in aisle_grpc_requests_total).",
		}, []string{"method"}),
	}
	if reg != nil {
		reg.MustRegister(b.suppressed)
	}
	return b
}

// sibling returns a budget of the same size with counts of its own,
// counting what it leaves out in the same aisle_access_log_suppressed_total
// series, for another kind of failure line. Nil for a nil b.
func (b *logBudget) sibling() *logBudget {
	if b == nil {
		return nil
	}
	return &logBudget{perSec: b.perSec, now: b.now, suppressed: b.suppressed, methods: map[string]*methodBudget{}}
}

// take reports whether a failure line for method may be written now and,
// when it may, how many were left out since the method's last line.
func (b *logBudget) take(method string) (ok bool, skipped int) {
	if b == nil {
		return true, 0
	}
	sec := b.now().Unix()
	b.mu.Lock()
	m := b.methods[method]
	if m == nil {
		m = &methodBudget{}
		b.methods[method] = m
	}
	if m.second != sec {
		m.second, m.used = sec, 0
	}
	if m.used >= b.perSec {
		m.skipped++
		b.mu.Unlock()
		b.suppressed.WithLabelValues(method).Inc()
		return false, 0
	}
	m.used++
	skipped, m.skipped = m.skipped, 0
	b.mu.Unlock()
	return true, skipped
}
