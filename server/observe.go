package server

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aisle-ai/aisle/excerpt"
)

// The interceptors of every RPC, chained in New as recover → observer
// (metrics and access log) → auth → limit: a panic anywhere below is
// answered INTERNAL (and counted and logged as such), and calls refused by
// auth are counted and logged like any other.

// callMetrics are the per-RPC series: every method of every service (KServe,
// Personalization, Bandits, health, reflection), one label value per
// registered method, so the series are bounded.
type callMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newCallMetrics(reg prometheus.Registerer) *callMetrics {
	m := &callMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_grpc_requests_total",
			Help: "gRPC calls handled, by full method and status code.",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aisle_grpc_request_duration_seconds",
			Help: "gRPC call time in the server, from the first interceptor to the handler's return (for streams, the stream's life).",
			// 50µs to ~3.3s: a cached health check up to an overloaded encoder.
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 17),
		}, []string{"method"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *callMetrics) observe(method string, code codes.Code, d time.Duration) {
	m.requests.WithLabelValues(method, code.String()).Inc()
	m.duration.WithLabelValues(method).Observe(d.Seconds())
}

// codeOf is the code the client gets for err, as grpc-go reports it:
// status errors keep theirs, context errors map to CANCELLED or
// DEADLINE_EXCEEDED, anything else is UNKNOWN.
func codeOf(err error) codes.Code {
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	return status.FromContextError(err).Code()
}

// observer counts, times and logs every call in one interceptor, reading
// the clock once at each end; the metrics and the access log were two
// near-identical interceptors run back to back.
type observer struct {
	calls  *callMetrics // nil: not counted (tests of the log alone)
	access accessLog
}

// done records one call. A handler that panics never returns (returned
// false); the call is counted and logged as INTERNAL, which recoverUnary
// and recoverStream answer.
func (o observer) done(ctx context.Context, method, model string, err error, returned bool, start time.Time) {
	d, code := time.Since(start), finalCode(err, returned)
	if o.calls != nil {
		o.calls.observe(method, code, d)
	}
	o.access.write(ctx, method, model, code, err, d)
}

func (o observer) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
		start, returned := time.Now(), false
		defer func() { o.done(ctx, info.FullMethod, modelOf(req), err, returned, start) }()
		resp, err = h(ctx, req)
		returned = true
		return resp, err
	}
}

func (o observer) stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
		start, returned := time.Now(), false
		defer func() { o.done(ss.Context(), info.FullMethod, "", err, returned, start) }()
		err = h(srv, ss)
		returned = true
		return err
	}
}

func finalCode(err error, returned bool) codes.Code {
	if !returned {
		return codes.Internal
	}
	return codeOf(err)
}

// accessLog writes one structured line per call: failed calls up to
// failures' bound per method and second (the first line after some were
// left out says how many, "suppressed"), and a sample (rate, 0 to 1) of the
// successful ones. A line holds the method, code, duration, peer address,
// the model named (cut to excerpt.MaxBytes) and the status message, which
// toStatus keeps free of internals. It never holds metadata, so no bearer
// token reaches the log.
type accessLog struct {
	log      *slog.Logger
	rate     float64
	failures *logBudget // nil: every failed call
}

// write logs one call that ended with code (err: the handler's error;
// INTERNAL without one is a panic).
func (a accessLog) write(ctx context.Context, method, model string, code codes.Code, err error, d time.Duration) {
	if code == codes.OK && (a.rate <= 0 || a.rate < 1 && rand.Float64() >= a.rate) {
		return
	}
	skipped := 0
	if code != codes.OK {
		var ok bool
		if ok, skipped = a.failures.take(method); !ok {
			return
		}
	}
	level := slog.LevelInfo
	switch code {
	case codes.OK:
	case codes.Internal, codes.Unknown, codes.DataLoss:
		level = slog.LevelError
	default:
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("method", method), slog.String("code", code.String()),
		slog.Duration("duration", d), slog.String("peer", peerAddr(ctx)),
	}
	if model != "" {
		attrs = append(attrs, slog.String("model", excerpt.Text(model, excerpt.MaxBytes)))
	}
	if code != codes.OK {
		msg := "handler panicked"
		if err != nil {
			msg = status.Convert(err).Message()
		}
		attrs = append(attrs, slog.String("error", excerpt.Text(msg, maxMessage)))
	}
	if skipped > 0 {
		attrs = append(attrs, slog.Int("suppressed", skipped))
	}
	a.log.LogAttrs(ctx, level, "grpc call", attrs...)
}
