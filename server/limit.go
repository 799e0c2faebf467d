package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
)

// errTooManyCalls reports a call refused because its method already has
// Config.MaxInFlightPerMethod calls in flight.
var errTooManyCalls = errors.New("too many calls in flight")

// DefaultMaxInFlightPerMethod bounds the calls of one method in flight.
// The batching queues already refuse what a model cannot serve in time, but
// the work before them is not queued: EmbedQuery tokenizes and fans out
// every text, RecommendCart builds a graph per cart, each in its own
// goroutine with its own buffers. 512 is above the 64–256 concurrent calls
// at which the encoder and cart-gnn reach their best throughput
// (BENCHMARKS.md §1b), so the limit only cuts in under overload, and it
// bounds that work (and its memory) to a few hundred calls per method.
const DefaultMaxInFlightPerMethod = 512

// inFlightLimit refuses a unary call at once with RESOURCE_EXHAUSTED when
// its method already has limit calls in flight. Health checks are never
// refused: a probe failing because the server is busy would restart a
// server that is working.
type inFlightLimit struct {
	limit int64
	calls sync.Map // full method name -> *methodCalls; a fixed, small key set
}

// methodCalls is one method's count and its refusal, built once: the
// status message goes through toStatus's scrubbing regexps, which cost the
// adaptive limit 19% of the server's CPU under overload when built per
// refusal (BENCHMARKS.md §5c).
type methodCalls struct {
	n       atomic.Int64
	refusal error
}

// limitUnary is the per-method limit's interceptor: the adaptive one when
// it is on (it never lets more than max calls in flight either, so the
// static one would only count every call a second time: two more atomic
// adds on a shared cache line per call), else the static one.
func limitUnary(max int, adaptive *adaptiveLimit) grpc.UnaryServerInterceptor {
	if adaptive != nil {
		return adaptive.unary()
	}
	return newInFlightLimit(max).unary()
}

func newInFlightLimit(limit int) *inFlightLimit {
	return &inFlightLimit{limit: int64(limit)}
}

func (l *inFlightLimit) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if l.limit <= 0 || strings.HasPrefix(info.FullMethod, healthMethodPfx) {
			return h(ctx, req)
		}
		m := l.counter(info.FullMethod)
		defer m.n.Add(-1)
		if m.n.Add(1) > l.limit {
			return nil, m.refusal
		}
		return h(ctx, req)
	}
}

func (l *inFlightLimit) counter(method string) *methodCalls {
	if c, ok := l.calls.Load(method); ok {
		return c.(*methodCalls)
	}
	c, _ := l.calls.LoadOrStore(method, &methodCalls{
		refusal: toStatus(fmt.Errorf("%s: %w (limit %d)", method, errTooManyCalls, l.limit))})
	return c.(*methodCalls)
}
