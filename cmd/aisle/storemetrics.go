package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/redisstore"
)

// storeMetrics is what serve and aisle aggregate export about the Redis
// store, on the same registry as the rest of the process's metrics:
// deadLetterCollector's series (dead letters, stuck claims) and the fold's
// progress:
//
//   - aisle_events_folded_total counts this process's workers' finished
//     messages (redisstore.Store.Folded); a replica started with
//     --no-aggregate exports 0. rate() of it summed over the aggregate
//     processes is the fold throughput.
//   - aisle_events_backlog is the unfolded events in the streams (the
//     fold XDELs what it acks, so XLEN is the backlog): the lag an alert
//     watches, shared by every process on the Redis. Appends to a
//     partition are refused at redisstore.DefaultMaxBacklog (100 000).
//   - aisle_events_pending is the part of it delivered to a worker and not
//     yet acknowledged (a dead worker's until --claim-idle).
//
// The Redis series are read at scrape time (one pipeline each), within
// storeScrapeTimeout; a scrape that cannot read Redis omits them.
type storeMetrics struct{ s *redisstore.Store }

// storeScrapeTimeout bounds the Redis reads of one scrape: Prometheus's
// default scrape timeout is 10 s, and a Redis slower than this is down for
// the purpose of a gauge.
const storeScrapeTimeout = time.Second

var (
	foldedDesc = prometheus.NewDesc("aisle_events_folded_total",
		"Events this process's fold workers folded or acknowledged as duplicates.", nil, nil)
	backlogDesc = prometheus.NewDesc("aisle_events_backlog",
		"Events in the Redis streams not folded yet, over all partitions (shared by every process on this Redis).", nil, nil)
	pendingDesc = prometheus.NewDesc("aisle_events_pending",
		"Events delivered to a fold worker and not acknowledged yet, over all partitions.", nil, nil)
)

// Describe implements prometheus.Collector.
func (m storeMetrics) Describe(ch chan<- *prometheus.Desc) {
	deadLetterCollector(m).Describe(ch)
	ch <- foldedDesc
	ch <- backlogDesc
	ch <- pendingDesc
}

// Collect implements prometheus.Collector.
func (m storeMetrics) Collect(ch chan<- prometheus.Metric) {
	deadLetterCollector(m).Collect(ch)
	ch <- prometheus.MustNewConstMetric(foldedDesc, prometheus.CounterValue, float64(m.s.Folded()))
	ctx, cancel := context.WithTimeout(context.Background(), storeScrapeTimeout)
	defer cancel()
	if n, err := m.s.Backlog(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(n))
	}
	if n, err := m.s.Pending(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(n))
	}
}
