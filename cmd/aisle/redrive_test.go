package main

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// serve with Redis exports the dead-letter gauge, and aisle events
// redrive runs against the same Redis (redisstore's TestRedrive covers
// what it moves).
func TestDeadLettersGaugeAndRedrive(t *testing.T) {
	srv := redistest.Start(t)
	ff := featureFlags{redisAddr: srv.Addr(), partitions: 16, rtWeight: 1, ltWeight: 1, banditWindow: bandit.DefaultWindow}
	reg := prometheus.NewRegistry()
	w, err := startEvents(t.Context(), &ff, nil, bandit.Config{}, slog.New(slog.DiscardHandler), reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.stop)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found, stuck := false, false
	for _, mf := range mfs {
		if mf.GetName() == "aisle_events_dead_letters" {
			found = mf.GetMetric()[0].GetGauge().GetValue() == 0
		}
		if mf.GetName() == "aisle_events_stuck_claims_total" {
			stuck = mf.GetMetric()[0].GetCounter().GetValue() == 0
		}
	}
	if !found || !stuck {
		t.Fatalf("aisle_events_dead_letters 0 exported: %v; aisle_events_stuck_claims_total 0: %v", found, stuck)
	}
	var out bytes.Buffer
	if err := eventsCmd(t.Context(), []string{"redrive", "--redis-addr", srv.Addr()}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "moved 0 dead letters") || strings.Contains(out.String(), "counts twice") {
		t.Fatalf("redrive said %q", out.String())
	}
	// A redrive that moved something, and the help, state the one bound
	// left: a fold more than the dedupe TTL before the dead-lettering.
	payload := `{"id":"d-1","guest_id":"dg","type":"view","item_ids":["1"],"time":"` + time.Now().UTC().Format(time.RFC3339Nano) + `"}`
	redisCLI(t, srv.Addr(), "XADD", "aisle:{g0}:dead", "*", "id", "1-1", "reason", "test", "e", payload)
	out.Reset()
	if err := eventsCmd(t.Context(), []string{"redrive", "--redis-addr", srv.Addr()}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "moved 1 dead letters") || !strings.Contains(out.String(), "dropped 0 whose event was folded since") ||
		!strings.Contains(out.String(), "--dedupe-ttl (default 15m) before it was dead-lettered counts twice") {
		t.Fatalf("redrive of one dead letter said %q, want the dedupe TTL's limit", out.String())
	}
	out.Reset()
	if err := eventsCmd(t.Context(), []string{"redrive", "--help"}, &out); !errors.Is(err, flag.ErrHelp) ||
		!strings.Contains(out.String(), "is dropped instead") || !strings.Contains(out.String(), "--dedupe-ttl (default 15m) before the dead letter was written") {
		t.Fatalf("redrive --help: %v\n%s", err, out.String())
	}
	if err := eventsCmd(t.Context(), []string{"redrive"}, &out); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("redrive without Redis: %v", err)
	}
}
