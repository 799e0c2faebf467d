package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/bandit"
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

// aisle aggregate refuses the same Redis as serve, and folds with the flag
// (until its context ends).
func TestAggregateRefusesNonDurableRedis(t *testing.T) {
	srv := redistest.Start(t, "--appendonly", "no")
	err := aggregateCmd(t.Context(), []string{"--redis-addr", srv.Addr(), "--models", "../../models", "--log-level", "error"})
	if err == nil || !strings.Contains(err.Error(), "appendonly") || !strings.Contains(err.Error(), "--redis-allow-nondurable") {
		t.Fatalf("aggregate over appendonly no: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := aggregateCmd(ctx, []string{"--redis-addr", srv.Addr(), "--models", "../../models", "--log-level", "error", "--redis-allow-nondurable"}); err != nil {
		t.Fatalf("with --redis-allow-nondurable: %v", err)
	}
}
