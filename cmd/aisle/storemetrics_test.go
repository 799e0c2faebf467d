package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aisle-ai/aisle/redisstore"
)

// Scrapes within storeCacheFor of a reading, concurrent ones included,
// share it (a failed reading too): Redis is asked again only once the
// clock has moved past storeCacheFor. The store is never reached (its
// address answers nothing): read stands in for ReadStats.
func TestStoreMetricsCacheReadings(t *testing.T) {
	s, err := redisstore.New(redisstore.Options{Addr: "127.0.0.1:1"})
	must(t, err)
	defer s.Close()
	var reads atomic.Int64
	var fail atomic.Bool
	var clock atomic.Int64 // ns since start
	start := time.Unix(1_700_000_000, 0)
	m := newStoreMetrics(s)
	m.now = func() time.Time { return start.Add(time.Duration(clock.Load())) }
	m.read = func(context.Context) (redisstore.Stats, error) {
		n := reads.Add(1)
		if fail.Load() {
			return redisstore.Stats{}, errors.New("down")
		}
		return redisstore.Stats{Backlog: 10 * n, Pending: n, DeadLetters: 0}, nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { _, _ = reg.Gather() })
	}
	wg.Wait()
	if n := reads.Load(); n != 1 {
		t.Fatalf("8 concurrent scrapes read Redis %d times, want 1", n)
	}
	if v := gathered(t, reg, "aisle_events_backlog"); v != 10 {
		t.Fatalf("backlog %v, want the first reading's 10", v)
	}
	if v := gathered(t, reg, "aisle_events_store_up"); v != 1 {
		t.Fatalf("store_up %v after a good reading, want 1", v)
	}
	clock.Add(int64(storeCacheFor - time.Millisecond))
	_, _ = reg.Gather()
	if n := reads.Load(); n != 1 {
		t.Fatalf("a scrape within storeCacheFor read Redis again (%d reads)", n)
	}
	clock.Add(int64(time.Millisecond))
	fail.Store(true)
	if n, _ := testutil.GatherAndCount(reg, "aisle_events_backlog", "aisle_events_pending", "aisle_events_dead_letters"); n != 0 {
		t.Fatalf("a failed reading exported %d Redis gauges, want none", n)
	}
	if v := gathered(t, reg, "aisle_events_store_up"); v != 0 {
		t.Fatalf("store_up %v after a failed reading, want 0", v)
	}
	_, _ = reg.Gather()
	if n := reads.Load(); n != 2 {
		t.Fatalf("reads %d after the cache expired and a failure, want 2 (the failure is cached too)", n)
	}
	if n, _ := testutil.GatherAndCount(reg, "aisle_events_folded_total", "aisle_events_stuck_claims_total"); n != 2 {
		t.Fatalf("in-process counters: %d series, want both kept while Redis fails", n)
	}
}

// gathered is the value of the unlabelled series name in reg, -1 when
// there is none.
func gathered(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	must(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}
