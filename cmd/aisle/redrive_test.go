package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

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
	if !strings.Contains(out.String(), "moved 0 dead letters") {
		t.Fatalf("redrive said %q", out.String())
	}
	if err := eventsCmd(t.Context(), []string{"redrive"}, &out); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("redrive without Redis: %v", err)
	}
}
