package repository

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the repository's Prometheus series.
type metrics struct {
	loads    *prometheus.CounterVec
	reloads  *prometheus.CounterVec
	failures *prometheus.CounterVec
	ready    *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_model_loads_total", Help: "Model versions loaded and published.",
		}, []string{"model", "version"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_model_reloads_total", Help: "Model versions replaced in place by a new file or config.",
		}, []string{"model", "version"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_model_load_failures_total", Help: "Model files or configs refused, by reason (config, load).",
		}, []string{"model", "reason"}),
		ready: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aisle_model_ready", Help: "1 while a model version is serving.",
		}, []string{"model", "version"}),
	}
	reg.MustRegister(m.loads, m.reloads, m.failures, m.ready)
	return m
}

func (m *metrics) loaded(model string, version int64, reload bool) {
	v := strconv.FormatInt(version, 10)
	m.loads.WithLabelValues(model, v).Inc()
	if reload {
		m.reloads.WithLabelValues(model, v).Inc()
	}
}
