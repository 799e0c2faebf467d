package main

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/redisstore"
)

// storeMetrics is what serve and aisle aggregate export about the Redis
// store, on the same registry as the rest of the process's metrics:
//
//   - aisle_events_folded_total counts this process's workers' finished
//     messages (redisstore.Store.Folded); a replica started with
//     --no-aggregate exports 0. rate() of it summed over the aggregate
//     processes is the fold throughput.
//   - aisle_events_stuck_claims_total counts the in-process workers'
//     claims of stuck messages (redisstore.Store.StuckClaims): above 0,
//     some event is redelivered forever without folding.
//   - aisle_events_backlog is the unfolded events in the streams (the
//     fold XDELs what it acks, so XLEN is the backlog): the lag an alert
//     watches, shared by every process on the Redis. Appends to a
//     partition are refused at redisstore.DefaultMaxBacklog (100 000).
//   - aisle_events_pending is the part of it delivered to a worker and not
//     yet acknowledged (a dead worker's until --claim-idle).
//   - aisle_events_dead_letters is the dead-letter streams' length. They
//     are not trimmed (trimming would drop acknowledged events): alert
//     when it is above 0, fix the cause, then aisle events redrive.
//   - aisle_events_store_up is 1 when the last Redis reading succeeded,
//     0 when it failed (the three gauges above are then absent, not 0):
//     alert on it, since an absent gauge fires no threshold alert.
//
// The three Redis gauges come from one redisstore.Store.ReadStats (one
// pipeline) within storeScrapeTimeout; a scrape that cannot read Redis
// omits them and exports aisle_events_store_up 0. The reading (or its failure) is kept for storeCacheFor and
// concurrent scrapes wait for the one read in flight: in serve the reads
// share the store's connection pool with RecordEvents and the feature
// reads, so scrapes, however many, cost Redis one pipeline a second at
// most (server.NewHTTPHandler also bounds the scrapes in flight).
type storeMetrics struct {
	s *redisstore.Store
	// read is s.ReadStats (a test's stand-in counts the calls); now is
	// time.Now.
	read func(context.Context) (redisstore.Stats, error)
	now  func() time.Time

	// mu guards the cached reading (at, stats, err) and is held across
	// the read itself, so that a scrape arriving meanwhile waits and takes
	// its result instead of sending a pipeline of its own.
	mu    sync.Mutex
	at    time.Time
	stats redisstore.Stats
	err   error
}

// newStoreMetrics is s's collector.
func newStoreMetrics(s *redisstore.Store) *storeMetrics {
	return &storeMetrics{s: s, read: s.ReadStats, now: time.Now}
}

// storeCacheFor is how long one Redis reading answers scrapes: a gauge a
// second old is fresh for any scrape interval, and Redis is asked once a
// second at most however many scrapers there are.
const storeCacheFor = time.Second

// storeScrapeTimeout bounds the Redis reads of one scrape: Prometheus's
// default scrape timeout is 10 s, and a Redis slower than this is down for
// the purpose of a gauge.
const storeScrapeTimeout = time.Second

var (
	foldedDesc = prometheus.NewDesc("aisle_events_folded_total",
		"Events this process's fold workers folded or acknowledged as duplicates.", nil, nil)
	stuckClaimsDesc = prometheus.NewDesc("aisle_events_stuck_claims_total",
		"Claims of pending events already delivered more than 20 x the dead-letter limit without folding (never dead-lettered; see the aggregate error log).", nil, nil)
	backlogDesc = prometheus.NewDesc("aisle_events_backlog",
		"Events in the Redis streams not folded yet, over all partitions (shared by every process on this Redis).", nil, nil)
	pendingDesc = prometheus.NewDesc("aisle_events_pending",
		"Events delivered to a fold worker and not acknowledged yet, over all partitions.", nil, nil)
	deadLettersDesc = prometheus.NewDesc("aisle_events_dead_letters",
		"Events in the Redis dead-letter streams (not folded; see aisle events redrive).", nil, nil)
	storeUpDesc = prometheus.NewDesc("aisle_events_store_up",
		"1 when the last read of the Redis store's gauges succeeded, 0 when it failed (the backlog, pending and dead-letter gauges are then absent).", nil, nil)
)

// Describe implements prometheus.Collector.
func (m *storeMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{foldedDesc, stuckClaimsDesc, backlogDesc, pendingDesc, deadLettersDesc, storeUpDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *storeMetrics) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(foldedDesc, prometheus.CounterValue, float64(m.s.Folded()))
	ch <- prometheus.MustNewConstMetric(stuckClaimsDesc, prometheus.CounterValue, float64(m.s.StuckClaims()))
	st, err := m.reading()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(st.Backlog))
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(deadLettersDesc, prometheus.GaugeValue, float64(st.DeadLetters))
}

// reading is the cached Redis reading, read again once it is
// storeCacheFor old (a failure is kept as long: a down Redis is not asked
// by every scrape either). The zero at is centuries old, so the first
// scrape reads; time.Now's monotonic reading keeps the age from going
// negative when the wall clock steps back.
func (m *storeMetrics) reading() (redisstore.Stats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.now().Sub(m.at) >= storeCacheFor {
		ctx, cancel := context.WithTimeout(context.Background(), storeScrapeTimeout)
		m.stats, m.err = m.read(ctx)
		cancel()
		m.at = m.now()
	}
	return m.stats, m.err
}
