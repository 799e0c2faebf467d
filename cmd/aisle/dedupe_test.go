package main

import (
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest"
	"github.com/aisle-ai/aisle/guest/guesttest"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// The dedupe TTL defaults to minutes, not a day (at 30k events/s a day of
// markers is about 250 GB of Redis), is validated, and reaches the Redis
// fold: a folded event's marker expires within the configured TTL.
func TestDedupeTTL(t *testing.T) {
	cfg, _, _, err := loadServeConfig(nil, envOf(nil), io.Discard)
	must(t, err)
	if ttl := cfg.features.config().DedupeTTL; ttl > time.Hour || ttl < guest.MinDedupeTTL {
		t.Fatalf("default dedupe TTL %v, want minutes", ttl)
	}
	for _, bad := range []string{"10s", "721h"} {
		_, _, _, err := loadServeConfig([]string{"--dedupe-ttl", bad}, envOf(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "dedupe-ttl") {
			t.Errorf("--dedupe-ttl %s: %v, want an error naming the key", bad, err)
		}
	}
	srv := redistest.Start(t)
	cfg, _, _, err = loadServeConfig([]string{"--redis-addr", srv.Addr(), "--dedupe-ttl", "2m", "--redis-partitions", "1"}, envOf(nil), io.Discard)
	must(t, err)
	b, err := openFeatures(t.Context(), &cfg.features, noItems{}, slog.New(slog.DiscardHandler))
	must(t, err)
	stop, err := b.start(t.Context(), &cfg.features, slog.New(slog.DiscardHandler))
	must(t, err)
	t.Cleanup(stop)
	guesttest.Send(t, b.log, guesttest.Ev("ttl-1", "ttl", "s", event.TypeView, time.Now(), "1"))
	guesttest.WaitEvents(t, b.store, "ttl", 1)
	out := redisCLI(t, srv.Addr(), "PTTL", "aisle:{g0}:seen:ttl|ttl-1")
	ms, err := time.ParseDuration(strings.TrimSpace(out) + "ms")
	if err != nil || ms <= 0 || ms > 2*time.Minute {
		t.Fatalf("dedupe marker PTTL %q, want at most 2m", out)
	}
}

// redisCLI runs one command with redis-cli against addr and returns its
// output (cmd/aisle does not import go-redis: redisstore owns it).
func redisCLI(t *testing.T, addr string, args ...string) string {
	t.Helper()
	_, cli := redistest.Binaries(t)
	host, port, _ := strings.Cut(addr, ":")
	out, err := exec.Command(cli, append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return string(out)
}
