package recommend

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the pipeline's series. Labels are bounded: stage and reason
// come from the constants in this package, surface from the validated
// surfaces file.
type metrics struct {
	degraded *prometheus.CounterVec
	stage    *prometheus.HistogramVec
	// newItemsFailures counts the new-items table builds that failed
	// (newitems.go's buildEntry); each also logs why, and its calls take
	// the rung candidates/new_items_unavailable.
	newItemsFailures prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		degraded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_recommend_degraded_total",
			Help: "Recommend answers that took a degradation rung, by stage and reason.",
		}, []string{"stage", "reason"}),
		stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "aisle_recommend_stage_duration_seconds",
			Help: "Time spent in each Recommend stage (total = the whole call).",
			// 10µs to ~2.6s: a popularity look-up up to an encoder call
			// queued behind a full batch.
			Buckets: prometheus.ExponentialBuckets(10e-6, 2, 19),
		}, []string{"surface", "stage"}),
		newItemsFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aisle_recommend_new_items_build_failures_total",
			Help: "New-items table builds (one per catalogue and model version) that failed; the new_items source contributes nothing for that catalogue and version.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.degraded, m.stage, m.newItemsFailures)
	}
	return m
}

func (m *metrics) observe(surface, stage string, since time.Time) {
	m.stage.WithLabelValues(surface, stage).Observe(time.Since(since).Seconds())
}
