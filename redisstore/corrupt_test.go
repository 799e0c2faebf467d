package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest/guesttest"
	"github.com/aisle-ai/aisle/internal/reliability"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// Guests whose stored features hold values fold.lua cannot read (a
// garbage renewal mark 'x', a recent-list entry without a time) share a
// batch with a healthy guest. No event is lost: the garbage mark is
// renewed and its event folds; the unreadable list fails its guest's
// fold, whose markers are taken back, so the event is dead-lettered and
// folds on redrive once the key is fixed. (Before, both raised a Lua
// error outside the guest's pcall after its markers were written: the
// whole call failed, and the one-at-a-time retry acked both events as
// duplicates, folded nowhere.)
func TestCorruptFeaturesLoseNoEvent(t *testing.T) {
	reliability.Write(t, reliability.Record{Package: "redisstore", Load: "one redis-server, one batch of three guests' events, one worker",
		Faults:    "two guests' stored features corrupted (a garbage renewal mark, a recent-list entry without a time) in the batch of a healthy guest: no event may be lost (folded, or dead-lettered and folded by the redrive once fixed)",
		BadInputs: 2, Calls: 3})
	srv := redistest.Start(t)
	s := newStore(t, srv.Addr(), nil, guesttest.Config(), func(o *Options) {
		o.Partitions, o.MaxFailures, o.MinIdle, o.ClaimEvery = 1, 1, 10*time.Millisecond, 5*time.Millisecond
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.rdb.HSet(ctx, s.keys.realTime("bad-x"), "x", "garbage").Err(); err != nil {
		t.Fatal(err)
	}
	// The first entry is older than the event, so the list is never
	// compared with the second; only writing the list back reads it.
	if err := s.rdb.HSet(ctx, s.keys.realTime("bad-r"), "r", "a@1;zz@garbage").Err(); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	guesttest.Send(t, s, guesttest.Ev("bx-1", "bad-x", "s", event.TypeView, now, "1"),
		guesttest.Ev("br-1", "bad-r", "s", event.TypeView, now, "1"),
		guesttest.Ev("ok-1", "fine", "s", event.TypeView, now, "1"))
	startWorker(t, s.NewWorker(guesttest.TestCatalog(), nil))
	waitBacklogZero(t, s)
	count := func(g string) string {
		t.Helper()
		n, _ := s.rdb.HGet(ctx, s.keys.realTime(g), "n").Result()
		return n
	}
	if got := count("fine"); got != "1" {
		t.Fatalf("healthy guest counts %q events, want 1", got)
	}
	if got := count("bad-x"); got != "1" {
		t.Fatalf("guest with a garbage renewal mark counts %q events, want 1", got)
	}
	if n, err := s.DeadLetters(ctx); err != nil || n != 1 {
		t.Fatalf("%d dead letters (%v), want 1 (br-1)", n, err)
	}
	if n, err := s.rdb.Exists(ctx, s.keys.seen("bad-r", "br-1")).Result(); err != nil || n != 0 {
		t.Fatalf("br-1 failed but its dedupe marker exists (%v): a redrive would drop it as a duplicate", err)
	}
	// The key is fixed; the redrive folds the event.
	if err := s.rdb.Del(ctx, s.keys.realTime("bad-r")).Err(); err != nil {
		t.Fatal(err)
	}
	if moved, _, err := s.Redrive(ctx); err != nil || moved != 1 {
		t.Fatalf("redrive moved %d (%v), want 1", moved, err)
	}
	waitBacklogZero(t, s)
	if got := count("bad-r"); got != "1" {
		t.Fatalf("guest counts %q events after the redrive, want 1", got)
	}
}

// A partition's failure counts hold a string: fold.lua's HDEL of them
// comes after the guests' writes and the batch's acks, and runs through
// pcall, so the call succeeds: every event counts once, Folded counts
// every message, and none stays pending or becomes a dead letter. (The
// HDEL used to fail the whole call after the acks: the events were folded
// but uncounted, and the worker's retry one message at a time found them
// gone.)
//
// That was the last known trigger of the retry path (worker.go fold: a
// whole call failing with an error the messages caused): a guest's own
// key of the wrong type fails only its messages inside the script, and
// the dead letters' record is read through pcall. The path stays as a
// guard for an unknown one; no test reaches it now.
func TestWrongTypedFailureCountsDoNotFailFold(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.Addr(), nil, guesttest.Config(), func(o *Options) { o.Partitions = 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.rdb.Set(ctx, s.keys.fails(0), "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	evs := batch("whole", 6, 3, time.Now())
	guesttest.Send(t, s, evs...) // before the worker starts: one batch
	var logs logSink
	startWorker(t, s.NewWorker(guesttest.TestCatalog(), logs.logger()))
	waitBacklogZero(t, s)
	waitCond(ctx, t, "Folded 6", func() bool { return s.Folded() >= 6 })
	if n := s.Folded(); n != 6 {
		t.Fatalf("Folded %d, want 6 (each message once)", n)
	}
	if n := logs.count(`one at a time`); n != 0 {
		t.Fatalf("the call failed as a whole (%d retry logs): %s", n, logs.buf.String())
	}
	for g, n := range countByGuest(evs) {
		if got := folded(t, s, g); got != n {
			t.Fatalf("guest %s counts %d events, want %d", g, got, n)
		}
	}
	if pend, err := s.rdb.XPending(ctx, s.keys.stream(0), s.opts.Group).Result(); err != nil || pend.Count != 0 {
		t.Fatalf("pending %v (%v), want none", pend, err)
	}
	if n, err := s.DeadLetters(ctx); err != nil || n != 0 {
		t.Fatalf("%d dead letters (%v), want 0", n, err)
	}
}
