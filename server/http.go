package server

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewHTTPHandler serves /metrics from g, /healthz (the process is up) and
// /readyz: 200 while ready returns nil, else 503 "not ready: " and its
// error, which must name no internals. ready gets the probe's request
// context (aisle aggregate's asks Redis); serve's is Server.CheckReady,
// which follows the server's Readiness. At most MetricsInFlight scrapes run at once; another is
// answered 503 at once.
func NewHTTPHandler(g prometheus.Gatherer, ready func(context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{MaxRequestsInFlight: MetricsInFlight}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := ready(r.Context()); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}

// MetricsInFlight bounds the /metrics scrapes served at once, against a
// scraper storm piling up goroutines. It is not what spares Redis: the
// store's gauges are read once a second at most however many scrapes
// wait (cmd/aisle's storeMetrics caches the reading and holds its mutex
// across the read). While Redis hangs each scrape takes the read's 1 s
// timeout, so a depth of 2 answered a third scraper 503 and lost it every
// metric of the process during the incident; 16 covers the Prometheus
// replicas, a federation and people with curl.
const MetricsInFlight = 16
