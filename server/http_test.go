package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// blockingCollector holds every Collect until release is closed, counting
// the collects inside on entered.
type blockingCollector struct {
	entered chan struct{}
	release chan struct{}
}

func (c blockingCollector) Describe(chan<- *prometheus.Desc) {}

func (c blockingCollector) Collect(chan<- prometheus.Metric) {
	c.entered <- struct{}{}
	<-c.release
}

// With MetricsInFlight scrapes held inside a collector, one more is
// refused with 503 at once (it would otherwise queue without bound);
// once they finish, scrapes are served again. MetricsInFlight is 16, so
// the third scraper of a hung Redis is held too, not refused.
func TestMetricsInFlightBounded(t *testing.T) {
	if MetricsInFlight < 16 {
		t.Fatalf("MetricsInFlight %d: a hung Redis holds each scrape 1 s, and the scrapers beyond it lose every metric", MetricsInFlight)
	}
	c := blockingCollector{entered: make(chan struct{}), release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	h := NewHTTPHandler(reg, func(context.Context) error { return nil })
	scrape := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return rec.Code
	}
	var wg sync.WaitGroup
	codes := make([]int, MetricsInFlight)
	for i := range MetricsInFlight {
		wg.Go(func() { codes[i] = scrape() })
	}
	for range MetricsInFlight {
		<-c.entered
	}
	if code := scrape(); code != http.StatusServiceUnavailable {
		t.Fatalf("scrape beyond %d in flight: %d, want 503", MetricsInFlight, code)
	}
	close(c.release)
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusOK {
			t.Fatalf("held scrape %d: %d, want 200", i, code)
		}
	}
	go func() { <-c.entered }() // release is closed: the next Collect returns at once
	if code := scrape(); code != http.StatusOK {
		t.Fatalf("scrape after the others finished: %d, want 200", code)
	}
}
