package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest/guesttest"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// held is one message read by a worker and not acked: the state in which
// the worker charges a failed fold (dead.lua).
type held struct {
	s          *Store
	w          *Worker
	p          int
	id, seen   string
	stream     string
	dead, recs string // the partition's dead letters and their events' record
}

// holdOne sends event eventID of guest g and has a worker of a fresh
// single-server store (MaxFailures 1) read it without folding it.
func holdOne(ctx context.Context, t *testing.T, g, eventID string) held {
	t.Helper()
	s := newStore(t, redistest.Start(t).Addr(), nil, guesttest.Config(), func(o *Options) { o.MaxFailures = 1 })
	p := s.keys.partition(g)
	h := held{s: s, p: p, seen: s.keys.seen(g, eventID), stream: s.keys.stream(p), dead: s.keys.dead(p), recs: s.keys.deadSeen(p)}
	if err := s.rdb.XGroupCreateMkStream(ctx, h.stream, s.opts.Group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	guesttest.Send(t, s, guesttest.Ev(eventID, g, "s", event.TypeView, time.Now(), "1"))
	h.w = s.NewWorker(guesttest.TestCatalog(), nil)
	msgs, err := h.w.read(ctx, h.stream)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("read %v (%v), want one message", msgs, err)
	}
	h.id = msgs[0].ID
	return h
}

// charge charges the held message's failure (at the limit: dead-letter).
func (h held) charge(ctx context.Context) {
	h.w.moveDead(ctx, h.p, []deadMove{h.w.chargeMove(h.p, h.id, h.seen, "WRONGTYPE Operation against a key holding the wrong kind of value")})
}

// inStream reports whether the held message is still in the stream.
func (h held) inStream(ctx context.Context, t *testing.T) bool {
	t.Helper()
	m, err := h.s.rdb.XRange(ctx, h.stream, h.id, h.id).Result()
	if err != nil {
		t.Fatal(err)
	}
	return len(m) == 1
}

func (h held) deadLetters(ctx context.Context, t *testing.T) int64 {
	t.Helper()
	n, err := h.s.rdb.XLen(ctx, h.dead).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The dead letters' record of the partition is not a hash: dead.lua reads
// it before any write, so its charge fails with nothing written, and the
// message stays pending for the next claim. Once the key is fixed the
// charge dead-letters it once. (Before, the dead letter was written first
// and the script failed after it: every claim wrote one more dead letter
// of a message that stayed pending, and its fold counted it again with
// them.)
func TestDeadLetterRecordReadBeforeWrites(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	h := holdOne(ctx, t, "wrong-record", "wr-1")
	if err := h.s.rdb.Set(ctx, h.recs, "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	h.charge(ctx)
	h.charge(ctx)
	if n := h.deadLetters(ctx, t); n != 0 {
		t.Fatalf("%d dead letters of a failed charge, want 0", n)
	}
	if !h.inStream(ctx, t) {
		t.Fatal("the message left the stream in a failed charge")
	}
	if err := h.s.rdb.Del(ctx, h.recs).Err(); err != nil {
		t.Fatal(err)
	}
	h.charge(ctx)
	if n := h.deadLetters(ctx, t); n != 1 || h.inStream(ctx, t) {
		t.Fatalf("%d dead letters (message still in the stream: %v), want 1 and moved", n, h.inStream(ctx, t))
	}
	if n, err := h.s.rdb.HGet(ctx, h.recs, h.seen).Result(); err != nil || n != "1" {
		t.Fatalf("dead letters' record %q (%v), want 1", n, err)
	}
}

// Dead letters that went away other than through Redrive (deleted by
// hand, or redriven by an older binary that did not know the record)
// leave their record behind, and every fold in the partition would pay
// one HGET per event for it. Redrive deletes the record of a partition
// whose dead letters are all gone: one already empty (no entry to move),
// and one it empties.
func TestRedriveDeletesLeftoverRecord(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s := newStore(t, redistest.Start(t).Addr(), nil, guesttest.Config(), func(o *Options) { o.Partitions = 2 })
	for p := range 2 {
		if err := s.rdb.HSet(ctx, s.keys.deadSeen(p), "gone-by-hand", 1).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// Partition 1 has one dead letter (without k: moved); partition 0 none.
	payload := `{"id":"lo-1","guest_id":"lo","type":"view","item_ids":["1"],"time":"` + time.Now().UTC().Format(time.RFC3339Nano) + `"}`
	if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.keys.dead(1), Values: []string{"id", "1-1", "reason", "test", "e", payload}}).Err(); err != nil {
		t.Fatal(err)
	}
	if moved, dropped, err := s.Redrive(ctx); err != nil || moved != 1 || dropped != 0 {
		t.Fatalf("redrive moved %d and dropped %d (%v), want 1 and 0", moved, dropped, err)
	}
	for p := range 2 {
		if n, err := s.rdb.Exists(ctx, s.keys.deadSeen(p)).Result(); err != nil || n != 0 {
			t.Fatalf("partition %d: the record outlived its dead letters (%v)", p, err)
		}
	}
}

// A field of the dead letters' record that is not a number (written by
// something else) reads as 0, "not folded since": dead.lua counts a dead
// letter over it, the fold leaves it, and the redrive moves the dead
// letter (never drops it: nothing lost; the dedupe marker makes the moved
// copy a duplicate) and forgets the field. (Before, each of the three
// scripts failed on it: the charge and the fold left the message pending,
// and the redrive of the partition failed every time.)
func TestGarbageRecordFieldReadsAsZero(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	const g = "garbage-record"
	h := holdOne(ctx, t, g, "gr-1")
	garble := func() {
		t.Helper()
		if err := h.s.rdb.HSet(ctx, h.recs, h.seen, "garbage").Err(); err != nil {
			t.Fatal(err)
		}
	}
	garble()
	h.charge(ctx)
	if n := h.deadLetters(ctx, t); n != 1 || h.inStream(ctx, t) {
		t.Fatalf("%d dead letters (message still in the stream: %v), want 1 and moved", n, h.inStream(ctx, t))
	}
	if n, err := h.s.rdb.HGet(ctx, h.recs, h.seen).Result(); err != nil || n != "1" {
		t.Fatalf("dead letters' record %q (%v), want 1", n, err)
	}
	// A resent copy folds in one call, the field as it was.
	garble()
	var logs logSink
	guesttest.Send(t, h.s, guesttest.Ev("gr-1", g, "s", event.TypeView, time.Now(), "1"))
	startWorker(t, h.s.NewWorker(guesttest.TestCatalog(), logs.logger()))
	waitBacklogZero(t, h.s)
	if n := folded(t, h.s, g); n != 1 {
		t.Fatalf("guest counts %d events, want 1", n)
	}
	if n := logs.count("level=WARN"); n != 0 {
		t.Fatalf("%d warnings folding next to a garbage field, want 0", n)
	}
	if moved, dropped, err := h.s.Redrive(ctx); err != nil || moved != 1 || dropped != 0 {
		t.Fatalf("redrive moved %d and dropped %d (%v), want 1 and 0", moved, dropped, err)
	}
	waitBacklogZero(t, h.s)
	if n := folded(t, h.s, g); n != 1 {
		t.Fatalf("guest counts %d events after the redrive, want 1", n)
	}
	if n, err := h.s.rdb.Exists(ctx, h.recs).Result(); err != nil || n != 0 {
		t.Fatalf("the record outlived its dead letters (%v)", err)
	}
}

// A message fails while its event, dead-lettered before from another
// copy, has been folded since (the record is negative) and the dedupe
// marker has expired: the charge drops it as a duplicate, as it does
// while the marker lives, instead of writing a dead letter that only a
// redrive would drop.
func TestChargeOfEventRecordedFolded(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	const g = "recorded-folded"
	h := holdOne(ctx, t, g, "rf-1")
	// An earlier copy's dead letter, as dead.lua writes it.
	payload := `{"id":"rf-1","guest_id":"` + g + `","type":"view","item_ids":["1"],"time":"` + time.Now().UTC().Format(time.RFC3339Nano) + `"}`
	if err := h.s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: h.dead, Values: []string{"id", "1-1", "reason", "test", "e", payload, "k", h.seen}}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := h.s.rdb.HSet(ctx, h.recs, h.seen, 1).Err(); err != nil {
		t.Fatal(err)
	}
	// A third copy folds (by a worker that never claims the held one),
	// and its marker expires.
	other := newStore(t, h.s.opts.Addr, nil, guesttest.Config(), func(o *Options) { o.Consumer, o.MinIdle = "other", time.Hour })
	guesttest.Send(t, h.s, guesttest.Ev("rf-1", g, "s", event.TypeView, time.Now(), "1"))
	startWorker(t, other.NewWorker(guesttest.TestCatalog(), nil))
	guesttest.WaitEvents(t, h.s, g, 1)
	if n, err := h.s.rdb.HGet(ctx, h.recs, h.seen).Result(); err != nil || n != "-1" {
		t.Fatalf("dead letters' record %q (%v), want -1", n, err)
	}
	forgetFolds(t, h.s, g, "rf-1")
	h.charge(ctx)
	if n := h.deadLetters(ctx, t); n != 1 || h.inStream(ctx, t) {
		t.Fatalf("%d dead letters (message still in the stream: %v), want 1 (the earlier one) and dropped", n, h.inStream(ctx, t))
	}
	if pend, err := h.s.rdb.XPending(ctx, h.stream, h.s.opts.Group).Result(); err != nil || pend.Count != 0 {
		t.Fatalf("pending %v (%v), want none: the duplicate is acked", pend, err)
	}
	if moved, dropped, err := h.s.Redrive(ctx); err != nil || moved != 0 || dropped != 1 {
		t.Fatalf("redrive moved %d and dropped %d (%v), want 0 and 1", moved, dropped, err)
	}
	if n := folded(t, h.s, g); n != 1 {
		t.Fatalf("guest counts %d events, want 1", n)
	}
}

// The partition's dead letters' record is not a hash: fold.lua's record
// of folded events runs through pcall and ignores the error, so the batch
// folds and is acked in its one call, with nothing to warn about. (Before,
// the error failed the whole call after the guests' writes; its retry,
// one message at a time, acked them as duplicates, and a record it could
// have flipped never would be.)
func TestWrongTypedRecordDoesNotFailFold(t *testing.T) {
	s := newStore(t, redistest.Start(t).Addr(), nil, guesttest.Config(), func(o *Options) { o.Partitions = 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.rdb.Set(ctx, s.keys.deadSeen(0), "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	evs := batch("wrong-record", 6, 3, time.Now())
	guesttest.Send(t, s, evs...) // before the worker starts: one batch
	var logs logSink
	startWorker(t, s.NewWorker(guesttest.TestCatalog(), logs.logger()))
	waitBacklogZero(t, s)
	for g, n := range countByGuest(evs) {
		if got := folded(t, s, g); got != n {
			t.Fatalf("guest %s counts %d events, want %d", g, got, n)
		}
	}
	if n := logs.count("level=WARN"); n != 0 {
		t.Fatalf("%d warnings (the batch failed as a whole?), want 0", n)
	}
	if pend, err := s.rdb.XPending(ctx, s.keys.stream(0), s.opts.Group).Result(); err != nil || pend.Count != 0 {
		t.Fatalf("pending %v (%v), want none", pend, err)
	}
}
