package server

import (
	"github.com/prometheus/client_golang/prometheus"
)

// counterValue sums the counter series called name whose label values, in
// label-name order, equal labels.
func counterValue(reg prometheus.Gatherer, name string, labels ...string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			lp := m.GetLabel()
			if len(lp) != len(labels) {
				continue
			}
			ok := true
			for i, l := range lp {
				ok = ok && l.GetValue() == labels[i]
			}
			if ok {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

// gaugeValue is counterValue for a gauge.
func gaugeValue(reg prometheus.Gatherer, name string, labels ...string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			lp := m.GetLabel()
			ok := len(lp) == len(labels)
			for i := 0; ok && i < len(lp); i++ {
				ok = lp[i].GetValue() == labels[i]
			}
			if ok {
				total += m.GetGauge().GetValue()
			}
		}
	}
	return total
}
