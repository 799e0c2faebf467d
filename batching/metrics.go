package batching

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the Prometheus collectors of every Scheduler in a process,
// labelled by model and version. Build one with NewMetrics and pass it to each
// New; it is safe for concurrent use.
type Metrics struct {
	batchSize  *prometheus.HistogramVec
	queueDepth *prometheus.GaugeVec
	queueTime  *prometheus.HistogramVec
	compute    *prometheus.HistogramVec
	rejected   *prometheus.CounterVec
	inferences *prometheus.CounterVec
	executions *prometheus.CounterVec
	splits     *prometheus.CounterVec
	panics     *prometheus.CounterVec
	limit      *prometheus.GaugeVec
	objective  *prometheus.CounterVec
	objMet     *prometheus.CounterVec
}

// Reasons in aisle_batch_rejected_total.
const (
	reasonQueueFull  = "queue_full"
	reasonTimeout    = "timeout"
	reasonCancelled  = "cancelled"
	reasonOverloaded = "overloaded"
)

// NewMetrics builds the batching collectors and registers them with reg (none
// when reg is nil). Registering on a registry that already holds them reuses
// the registered collectors, so two calls share one set.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	labels := []string{"model", "version"}
	// 50µs to ~1.6s in 16 doublings: an MLP batch runs in tens of
	// microseconds, an encoder batch of 32 in ~50ms, and anything past a
	// second is an outage rather than a latency to resolve finely.
	latency := prometheus.ExponentialBuckets(50e-6, 2, 16)
	m := &Metrics{
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aisle_batch_size",
			Help: "Rows per executed batch.",
			// 1, 2, 4, ..., 512: one bucket per power of two, covering every
			// max_batch_size we configure.
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}, labels),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aisle_queue_depth",
			Help: "Requests waiting in the batching queue.",
		}, labels),
		queueTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "aisle_queue_duration_seconds",
			Help:    "Time a request waited in the queue before its batch started.",
			Buckets: latency,
		}, labels),
		compute: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "aisle_compute_duration_seconds",
			Help:    "Time one batch took to gather inputs, run and scatter outputs.",
			Buckets: latency,
		}, labels),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_batch_rejected_total",
			Help: "Requests refused or that left the queue without running, by reason (queue_full, overloaded, timeout, cancelled).",
		}, append(labels, "reason")),
		inferences: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_inference_count_total",
			Help: "Rows inferred successfully (a batch of n rows counts n), as Triton's nv_inference_count.",
		}, labels),
		executions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_execution_count_total",
			Help: "Batches executed successfully, as Triton's nv_inference_exec_count.",
		}, labels),
		splits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_batch_splits_total",
			Help: "Failed batches split in halves and run again to isolate the failing requests.",
		}, labels),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_batch_panics_total",
			Help: "Panics recovered while gathering, running or splitting a batch (re-runs of a split batch included).",
		}, labels),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aisle_batch_size_limit",
			Help: "Most rows a batch may hold now: max_batch_size, or the size chosen for the latency objective.",
		}, labels),
		objective: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_latency_objective_requests_total",
			Help: "Requests completed by a model with a latency objective.",
		}, labels),
		objMet: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_latency_objective_met_total",
			Help: "Requests completed within the latency objective's target; divided by aisle_latency_objective_requests_total, the attainment.",
		}, labels),
	}
	if reg != nil {
		m.batchSize = register(reg, m.batchSize)
		m.queueDepth = register(reg, m.queueDepth)
		m.queueTime = register(reg, m.queueTime)
		m.compute = register(reg, m.compute)
		m.rejected = register(reg, m.rejected)
		m.inferences = register(reg, m.inferences)
		m.executions = register(reg, m.executions)
		m.splits = register(reg, m.splits)
		m.panics = register(reg, m.panics)
		m.limit = register(reg, m.limit)
		m.objective = register(reg, m.objective)
		m.objMet = register(reg, m.objMet)
	}
	return m
}

// register registers c, or returns the equal collector already registered.
// Any other failure is a programmer error (a name clash), so it panics like
// prometheus.MustRegister.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if old, ok := are.ExistingCollector.(C); ok {
			return old
		}
	}
	panic(fmt.Sprintf("batching: register metrics: %v", err))
}

// Forget deletes the series of one model version, for when the version is
// unloaded and its Scheduler closed.
func (m *Metrics) Forget(model, version string) {
	if m == nil {
		return
	}
	m.batchSize.DeleteLabelValues(model, version)
	m.queueDepth.DeleteLabelValues(model, version)
	m.queueTime.DeleteLabelValues(model, version)
	m.compute.DeleteLabelValues(model, version)
	m.rejected.DeletePartialMatch(prometheus.Labels{"model": model, "version": version})
	m.inferences.DeleteLabelValues(model, version)
	m.executions.DeleteLabelValues(model, version)
	m.splits.DeleteLabelValues(model, version)
	m.panics.DeleteLabelValues(model, version)
	m.limit.DeleteLabelValues(model, version)
	m.objective.DeleteLabelValues(model, version)
	m.objMet.DeleteLabelValues(model, version)
}

// instruments are one scheduler's curried series, resolved once in New so
// the hot path does no label lookups. A nil *instruments records nothing.
type instruments struct {
	batchSize, queueTime, compute prometheus.Observer
	queueDepth                    prometheus.Gauge
	queueFull, timeout, cancelled prometheus.Counter
	overloaded                    prometheus.Counter
	inferences, executions        prometheus.Counter
	splits, panics                prometheus.Counter
	limit                         prometheus.Gauge
	objective, objMet             prometheus.Counter
}

func (m *Metrics) instruments(model, version string, objective bool) *instruments {
	if m == nil {
		return nil
	}
	in := &instruments{
		batchSize:  m.batchSize.WithLabelValues(model, version),
		queueTime:  m.queueTime.WithLabelValues(model, version),
		compute:    m.compute.WithLabelValues(model, version),
		queueDepth: m.queueDepth.WithLabelValues(model, version),
		queueFull:  m.rejected.WithLabelValues(model, version, reasonQueueFull),
		timeout:    m.rejected.WithLabelValues(model, version, reasonTimeout),
		cancelled:  m.rejected.WithLabelValues(model, version, reasonCancelled),
		inferences: m.inferences.WithLabelValues(model, version),
		executions: m.executions.WithLabelValues(model, version),
		splits:     m.splits.WithLabelValues(model, version),
		panics:     m.panics.WithLabelValues(model, version),
		overloaded: m.rejected.WithLabelValues(model, version, reasonOverloaded),
		limit:      m.limit.WithLabelValues(model, version),
	}
	if objective { // only models with an objective have these series
		in.objective = m.objective.WithLabelValues(model, version)
		in.objMet = m.objMet.WithLabelValues(model, version)
	}
	return in
}

func (in *instruments) split() {
	if in != nil {
		in.splits.Inc()
	}
}

func (in *instruments) panicked() {
	if in != nil {
		in.panics.Inc()
	}
}

func (in *instruments) depth(delta int) {
	if in != nil {
		in.queueDepth.Add(float64(delta))
	}
}

func (in *instruments) reject(reason string) {
	if in == nil {
		return
	}
	switch reason {
	case reasonQueueFull:
		in.queueFull.Inc()
	case reasonTimeout:
		in.timeout.Inc()
	case reasonCancelled:
		in.cancelled.Inc()
	case reasonOverloaded:
		in.overloaded.Inc()
	}
}

func (in *instruments) setLimit(rows int) {
	if in != nil {
		in.limit.Set(float64(rows))
	}
}

// attained counts n completed requests of a model with an objective, met
// of them within its target.
func (in *instruments) attained(n, met int) {
	if in == nil || in.objective == nil || n == 0 {
		return
	}
	in.objective.Add(float64(n))
	in.objMet.Add(float64(met))
}
