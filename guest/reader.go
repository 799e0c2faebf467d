package guest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultReadTimeout bounds one Reader call: a Redis HGETALL pair on
// loopback answers in about 0.1 ms (BENCHMARKS.md), so 10 ms only trips
// when Redis is stalled or gone, and ranking still fits its budget.
const DefaultReadTimeout = 10 * time.Millisecond

// Reader serves decayed, merged features with a per-call timeout. When the
// store is slow or down it returns features with Degraded set and counts
// them in aisle_guest_features_degraded_total{reason}. Safe for concurrent
// use.
type Reader struct {
	store    Store
	cfg      Config
	timeout  time.Duration
	degraded *prometheus.CounterVec
	now      func() time.Time
}

// NewReader returns a reader over store; timeout <= 0 takes
// DefaultReadTimeout. reg may be nil (no metrics registered).
func NewReader(store Store, cfg Config, timeout time.Duration, reg prometheus.Registerer) *Reader {
	if timeout <= 0 {
		timeout = DefaultReadTimeout
	}
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "aisle_guest_features_degraded_total",
		Help: "Guest feature reads answered with no features because the store was slow (timeout) or failed (unavailable).",
	}, []string{"reason"})
	if reg != nil {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				c = are.ExistingCollector.(*prometheus.CounterVec)
			}
		}
	}
	return &Reader{store: store, cfg: cfg.WithDefaults(), timeout: timeout, degraded: c, now: time.Now}
}

// Features reads one guest. On a slow or failing store it returns features
// with Degraded set and an error wrapping ErrUnavailable (callers that
// degrade may ignore it); the caller's own cancellation comes back as ctx's
// error.
func (r *Reader) Features(ctx context.Context, guestID string) (Features, error) {
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	snap, err := r.store.Snapshot(cctx, guestID)
	if err == nil {
		return Compute(guestID, snap, r.now(), r.cfg), nil
	}
	if ctx.Err() != nil {
		return Features{GuestID: guestID, Degraded: "canceled"}, ctx.Err()
	}
	reason := "unavailable"
	if errors.Is(err, context.DeadlineExceeded) || cctx.Err() != nil {
		reason = "timeout"
	}
	r.degraded.WithLabelValues(reason).Inc()
	return Features{GuestID: guestID, Degraded: reason}, fmt.Errorf("%w: %s after %s: %v", ErrUnavailable, reason, r.timeout, err)
}
