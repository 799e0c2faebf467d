package redisstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest/guesttest"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// CheckGroups (aisle aggregate's readiness): ErrNoGroup on an empty Redis,
// nil once a worker has made the groups, event.ErrUnavailable with no
// address while Redis is down, nil again once it is back from its AOF.
// Folded counts what the worker finished, a duplicate included. Pending
// (the same XINFO GROUPS reading) is 0 without groups and after the fold.
func TestCheckGroupsAndFolded(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.Addr(), nil, guesttest.Config(), nil)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := s.CheckGroups(ctx); !errors.Is(err, ErrNoGroup) {
		t.Fatalf("CheckGroups before any worker: %v, want ErrNoGroup", err)
	}
	if n, err := s.Pending(ctx); err != nil || n != 0 {
		t.Fatalf("Pending before any worker: %d (%v), want 0", n, err)
	}
	startWorker(t, s.NewWorker(guesttest.TestCatalog(), nil))
	waitCond(ctx, t, "groups made", func() bool { return s.CheckGroups(ctx) == nil })
	e := guesttest.Ev("g-1", "g", "s", event.TypeView, time.Now(), "1")
	guesttest.Send(t, s, e, guesttest.Ev("g-2", "g", "s", event.TypeView, time.Now(), "2"), e) // e twice: one duplicate
	waitCond(ctx, t, "3 messages folded", func() bool { return s.Folded() >= 3 })
	if n, err := s.Pending(ctx); err != nil || n != 0 {
		t.Fatalf("Pending after the fold: %d (%v), want 0", n, err)
	}
	if snap := guesttest.WaitEvents(t, s, "g", 2); snap.RealTime.Events != 2 {
		t.Fatalf("guest counts %d events, want 2", snap.RealTime.Events)
	}

	srv.Kill()
	err := s.CheckGroups(ctx)
	if !errors.Is(err, event.ErrUnavailable) || strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("CheckGroups with Redis down: %v, want event.ErrUnavailable without the address", err)
	}
	if _, err := s.Pending(ctx); !errors.Is(err, event.ErrUnavailable) || strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("Pending with Redis down: %v, want event.ErrUnavailable without the address", err)
	}
	srv.Restart()
	waitCond(ctx, t, "groups back from the AOF", func() bool { return s.CheckGroups(ctx) == nil })
}

// waitCond polls cond every 10 ms until it holds or ctx ends.
func waitCond(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// ReadStats reads the three gauges in one pipeline: 0 on an empty Redis,
// the events appended, the one read by a consumer of the workers' group
// and not acknowledged, the dead letter written; event.ErrUnavailable
// without the address while Redis is down.
func TestReadStats(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.Addr(), nil, guesttest.Config(), func(o *Options) { o.Partitions = 2 })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if st, err := s.ReadStats(ctx); err != nil || st != (Stats{}) {
		t.Fatalf("ReadStats on an empty Redis: %+v (%v), want zeros", st, err)
	}
	guesttest.Send(t, s, batch("st", 3, 3, time.Now())...)
	if err := s.rdb.XGroupCreateMkStream(ctx, s.keys.stream(0), s.opts.Group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: s.opts.Group, Consumer: "c",
		Streams: []string{s.keys.stream(0), ">"}, Count: 1}).Err(); err != nil && err != redis.Nil {
		t.Fatal(err)
	}
	if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.keys.dead(1), Values: []any{"r", "x"}}).Err(); err != nil {
		t.Fatal(err)
	}
	// Guest st-g0 hashes to partition 0 (checked below), so its stream
	// has a message to read and one is pending.
	if p := s.keys.partition("st-g0"); p != 0 {
		t.Fatalf("st-g0 is in partition %d: the test needs a guest of partition 0", p)
	}
	st, err := s.ReadStats(ctx)
	want := Stats{Backlog: 3, Pending: 1, DeadLetters: 1}
	if err != nil || st != want {
		t.Fatalf("ReadStats: %+v (%v), want %+v", st, err, want)
	}
	srv.Kill()
	if _, err := s.ReadStats(ctx); !errors.Is(err, event.ErrUnavailable) || strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("ReadStats with Redis down: %v, want event.ErrUnavailable without the address", err)
	}
}
