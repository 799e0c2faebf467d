package redisstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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
