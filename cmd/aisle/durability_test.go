package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/redisstore"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// serve refuses a Redis without the AOF, naming the setting, its fix and
// the flag; with --redis-allow-nondurable it starts.
func TestServeRefusesNonDurableRedis(t *testing.T) {
	srv := redistest.Start(t, "--appendonly", "no")
	cfg, _, _, err := loadServeConfig([]string{"--redis-addr", srv.Addr()}, func(string) (string, bool) { return "", false }, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = startEvents(t.Context(), &cfg.features, nil, bandit.Config{}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err == nil || !strings.Contains(err.Error(), "appendonly") || !strings.Contains(err.Error(), "CONFIG SET appendonly yes") ||
		!strings.Contains(err.Error(), "--redis-allow-nondurable") {
		t.Fatalf("serve over appendonly no: %v", err)
	}
	cfg, _, _, err = loadServeConfig([]string{"--redis-addr", srv.Addr(), "--redis-allow-nondurable"}, func(string) (string, bool) { return "", false }, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := startEvents(t.Context(), &cfg.features, nil, bandit.Config{}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("with --redis-allow-nondurable: %v", err)
	}
	w.stop()
}

// aisle aggregate refuses the same Redis as serve (its run with the flag
// is serve's checkDurable, tested next).
func TestAggregateRefusesNonDurableRedis(t *testing.T) {
	srv := redistest.Start(t, "--appendonly", "no")
	err := aggregateCmd(t.Context(), []string{"--redis-addr", srv.Addr(), "--models", "../../models", "--log-level", "error"})
	if err == nil || !strings.Contains(err.Error(), "appendonly") || !strings.Contains(err.Error(), "--redis-allow-nondurable") {
		t.Fatalf("aggregate over appendonly no: %v", err)
	}
}

// checkDurable refuses a non-durable Redis unless allowed, and only warns
// when the settings cannot be read.
func TestCheckDurable(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		err     error
		allow   bool
		refused bool
	}{
		{fmt.Errorf("%w: appendonly", redisstore.ErrNotDurable), false, true},
		{fmt.Errorf("%w: appendonly", redisstore.ErrNotDurable), true, false},
		{redisstore.ErrConfigUnavailable, false, false},
		{errors.New("LOADING"), false, false},
		{nil, false, false},
	} {
		b := &featureBackend{checkDurability: func(context.Context) error { return tc.err }}
		got := checkDurable(t.Context(), b, &featureFlags{allowNondurable: tc.allow}, log)
		if (got != nil) != tc.refused {
			t.Errorf("check %v, allow %v: %v, want refused %v", tc.err, tc.allow, got, tc.refused)
		}
	}
}
