package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest/guesttest"
	"github.com/aisle-ai/aisle/redisstore"
	"github.com/aisle-ai/aisle/redisstore/redistest"
	"github.com/aisle-ai/aisle/server"
)

// TestAggregateHTTP runs aisle aggregate's wiring with --http-addr on a
// private Redis (killed and restarted here): /readyz is ready once the
// workers have made their consumer groups; after two events fold and one
// undecodable event is dead-lettered, /metrics shows the fold counter,
// the dead-letter gauge and the backlog and pending gauges (0: all acked)
// from the same registry serve uses; with Redis
// killed /readyz answers 503 naming no address while /healthz and
// /metrics still answer; with Redis back it is ready again; on shutdown
// the HTTP server stops with the workers.
func TestAggregateHTTP(t *testing.T) {
	srv := redistest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	base := "http://" + ln.Addr().String()
	o := parseAggregate(t, "--redis-addr", srv.Addr(), "--models", filepath.Join("..", "..", "models"), "--http-addr", ln.Addr().String())
	actx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = runAggregate(actx, o, ln, slog.New(slog.DiscardHandler)) })
	defer func() { stop(); wg.Wait() }()
	hc := &http.Client{Timeout: 5 * time.Second}

	waitFor(ctx, t, "/readyz 200 with Redis up", func() bool { return httpStatus(hc, base+"/readyz") == http.StatusOK })
	ingest, err := redisstore.New(redisstore.Options{Addr: srv.Addr()})
	must(t, err)
	defer ingest.Close()
	now := time.Now()
	guesttest.Send(t, ingest,
		guesttest.Ev("o1", "guest-ops", "s1", event.TypeClick, now, "166"),
		guesttest.Ev("o2", "guest-ops", "s1", event.TypeAddToCart, now, "167"),
		guesttest.Ev("", "guest-ops-bad", "s1", event.TypeClick, now, "166")) // no id: dead-lettered undecoded
	guesttest.WaitEvents(t, ingest, "guest-ops", 2)
	var m map[string]float64
	// The Redis gauges are read at most once a second (storeMetrics):
	// polled until the reading follows the fold.
	waitFor(ctx, t, "aisle_events_folded_total >= 2, aisle_events_dead_letters 1, backlog and pending 0", func() bool {
		m = scrape(t, hc, base)
		backlog, okB := m["aisle_events_backlog"]
		pending, okP := m["aisle_events_pending"]
		return m["aisle_events_folded_total"] >= 2 && m["aisle_events_dead_letters"] == 1 &&
			okB && okP && backlog == 0 && pending == 0
	})
	if _, ok := m["go_goroutines"]; !ok {
		t.Errorf("/metrics has no go_goroutines: not the process registry")
	}

	srv.Kill()
	waitFor(ctx, t, "/readyz 503 with Redis killed", func() bool { return httpStatus(hc, base+"/readyz") == http.StatusServiceUnavailable })
	body := httpBody(t, hc, base+"/readyz")
	if !strings.HasPrefix(body, "not ready: ") || strings.Contains(body, "127.0.0.1") {
		t.Errorf("/readyz with Redis down: %q, want the reason without the address", body)
	}
	if c := httpStatus(hc, base+"/healthz"); c != http.StatusOK {
		t.Errorf("/healthz with Redis down: %d, want 200 (the process is alive)", c)
	}
	if m := scrape(t, hc, base); m["aisle_events_folded_total"] < 2 {
		t.Errorf("/metrics with Redis down: folded %v, want the count kept", m["aisle_events_folded_total"])
	}
	srv.Restart()
	waitFor(ctx, t, "/readyz 200 with Redis back", func() bool { return httpStatus(hc, base+"/readyz") == http.StatusOK })

	stop()
	wg.Wait()
	if runErr != nil {
		t.Fatalf("runAggregate: %v", runErr)
	}
	if _, err := hc.Get(base + "/healthz"); err == nil {
		t.Fatalf("/healthz still answers after aggregate returned")
	}
}

// A busy --http-addr fails start-up at once, naming the flag, before Redis
// is reached (port 1 of the Redis address answers nothing).
func TestAggregateHTTPAddrInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer busy.Close()
	err = aggregateCmd(t.Context(), []string{"--redis-addr", "127.0.0.1:1", "--http-addr", busy.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "--http-addr") {
		t.Fatalf("aggregate on a busy port: %v, want a listen error naming --http-addr", err)
	}
}

// server.NewHTTPHandler, as aggregate uses it: /readyz answers ready's
// reason with 503; /healthz and /metrics answer whatever it says.
func TestAggregateHandler(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		body string
	}{
		{nil, http.StatusOK, "ready\n"},
		{fmt.Errorf("%w: partition 3", redisstore.ErrNoGroup), http.StatusServiceUnavailable, "not ready: redis consumer group missing: partition 3\n"},
		{server.ErrShuttingDown, http.StatusServiceUnavailable, "not ready: shutting down\n"},
	} {
		h := server.NewHTTPHandler(prometheus.NewRegistry(), func(context.Context) error { return tc.err })
		for path, want := range map[string]int{"/readyz": tc.code, "/healthz": http.StatusOK, "/metrics": http.StatusOK, "/nope": http.StatusNotFound} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != want {
				t.Errorf("ready %v: %s answered %d, want %d", tc.err, path, rec.Code, want)
			}
			if path == "/readyz" && rec.Body.String() != tc.body {
				t.Errorf("ready %v: /readyz body %q, want %q", tc.err, rec.Body.String(), tc.body)
			}
		}
	}
}

// parseAggregate parses aisle aggregate's flags as aggregateCmd does.
func parseAggregate(t *testing.T, args ...string) *aggregateOptions {
	t.Helper()
	fs := flag.NewFlagSet("aisle aggregate", flag.ContinueOnError)
	var o aggregateOptions
	o.addFlags(fs)
	must(t, fs.Parse(args))
	return &o
}

// waitFor polls cond every 10 ms until it holds or ctx ends.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// httpStatus is the status of a GET of url, 0 when it fails.
func httpStatus(hc *http.Client, url string) int {
	resp, err := hc.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func httpBody(t *testing.T, hc *http.Client, url string) string {
	t.Helper()
	resp, err := hc.Get(url)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return string(b)
}

// scrape reads the unlabelled series of /metrics.
func scrape(t *testing.T, hc *http.Client, base string) map[string]float64 {
	t.Helper()
	body := httpBody(t, hc, base+"/metrics")
	m := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		name, val, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			m[name] = v
		}
	}
	return m
}
