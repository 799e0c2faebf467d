package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the request-level series; queue and compute times come from
// the batching package.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight *prometheus.GaugeVec
	panics   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_requests_total",
			Help: "Inference requests by model, version and outcome (the gRPC code name).",
		}, []string{"model", "version", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aisle_request_duration_seconds",
			Help: "End-to-end inference handler time, from decode to encode.",
			// 50µs to ~3.3s: covers a cached MLP call up to an overloaded encoder.
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 17),
		}, []string{"model", "version"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aisle_requests_in_flight",
			Help: "Inference requests being handled now.",
		}, []string{"model"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_grpc_panics_total",
			Help: "Panics recovered in gRPC handlers, by method (each answered INTERNAL and logged with its stack).",
		}, []string{"method"}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight, m.panics)
	return m
}

// observe records one request. Unknown models share one label value so a
// client cannot grow the series without bound.
func (m *metrics) observe(model, version string, err error, d time.Duration) {
	if version == "" {
		model = "_unknown"
	}
	m.requests.WithLabelValues(model, version, outcome(err)).Inc()
	if version != "" {
		m.duration.WithLabelValues(model, version).Observe(d.Seconds())
	}
}

func outcome(err error) string {
	if err == nil {
		return "OK"
	}
	return statusCode(err).String()
}
