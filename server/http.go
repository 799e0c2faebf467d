package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Readiness reports whether the instance should receive traffic. Both
// Repository (every model serves) and *Server (that, and not draining) are
// one.
type Readiness interface {
	AllReady() bool
}

// NewHTTPHandler serves /metrics from g, /healthz (the process is up) and
// /readyz (ready.AllReady). Give it the *Server, so that /readyz turns 503
// as soon as a shutdown begins, before in-flight calls drain.
func NewHTTPHandler(g prometheus.Gatherer, repo Readiness) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !repo.AllReady() {
			http.Error(w, "models not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}
