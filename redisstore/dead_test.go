package redisstore

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest/guesttest"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// Redis refuses every write for maxmemory while a message is delivered
// again and again, far past MaxFailures: the refusals are Redis's, not the
// message's, so once memory is back the event folds and nothing is
// dead-lettered. (Before, the delivery count decided and the event became
// a dead letter.)
func TestTransientFailuresDoNotDeadLetter(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.Addr(), nil, guesttest.Config(), func(o *Options) {
		o.Partitions, o.MaxFailures, o.MinIdle, o.ClaimEvery = 1, 2, 10*time.Millisecond, 5*time.Millisecond
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.rdb.XGroupCreateMkStream(ctx, s.keys.stream(0), s.opts.Group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	guesttest.Send(t, s, guesttest.Ev("oom-1", "oom", "s", event.TypeView, time.Now(), "1"))
	if err := s.rdb.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	startWorker(t, s.NewWorker(guesttest.TestCatalog(), nil))
	for {
		p, err := s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: s.keys.stream(0), Group: s.opts.Group, Start: "-", End: "+", Count: 1}).Result()
		if err == nil && len(p) == 1 && p[0].RetryCount > int64(2*s.opts.MaxFailures) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the message was not delivered again and again under OOM: %v %v", p, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.rdb.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	guesttest.WaitEvents(t, s, "oom", 1)
	waitBacklogZero(t, s)
	if n, err := s.DeadLetters(ctx); err != nil || n != 0 {
		t.Fatalf("%d dead letters after a transient failure (%v), want 0", n, err)
	}
}

// A batch whose only failure is dropped by its charge as a duplicate
// (the event was folded from another copy meanwhile) is a finished round:
// fold counts the message folded and returns no error, so the loop does
// not back off for a message that is gone. The race (another copy folded
// between the fold and the charge) is made deterministic by the dead
// letters' record saying so (-1: an earlier dead letter of the event, and
// the event folded since) while the guest's key has the wrong type.
func TestFoldCountsDroppedDuplicateFolded(t *testing.T) {
	const g = "dropped-guest"
	s := newStore(t, redistest.Start(t).Addr(), nil, guesttest.Config(), nil)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p, stream, w, held := holdEvents(ctx, t, s, g, guesttest.Ev("dd-1", g, "s", event.TypeView, time.Now(), "1"))
	if err := s.rdb.Set(ctx, s.keys.realTime(g), "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.HSet(ctx, s.keys.deadSeen(p), s.keys.seen(g, "dd-1"), -1).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := w.fold(ctx, p, held); n != 1 || err != nil {
		t.Fatalf("fold: %d folded (%v), want 1 and no error: the failed message was dropped as a duplicate", n, err)
	}
	if pend, err := s.rdb.XPending(ctx, stream, s.opts.Group).Result(); err != nil || pend.Count != 0 {
		t.Fatalf("pending %v (%v), want none: the duplicate is acked", pend, err)
	}
}

func TestCausedByMessage(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.Addr(), nil, guesttest.Config(), nil)
	ctx := t.Context()
	if err := s.rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{context.DeadlineExceeded, false},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, false},
		{redis.ErrPoolTimeout, false},
		{s.rdb.HGet(ctx, "k", "f").Err(), true}, // WRONGTYPE
		{s.rdb.Eval(ctx, "error('bad data')", nil).Err(), true},
		{s.rdb.Eval(ctx, "return unpack({}, 1, 100000000)", nil).Err(), true},
		{s.rdb.Eval(ctx, "return redis.error_reply('OOM command not allowed')", nil).Err(), false},
		{s.rdb.Eval(ctx, "return redis.error_reply('LOADING Redis is loading')", nil).Err(), false},
		{s.rdb.Eval(ctx, "return redis.error_reply('NOPERM no permissions')", nil).Err(), false},
		{s.rdb.Eval(ctx, "return redis.error_reply('ERR max number of clients reached')", nil).Err(), false},
	} {
		if got := callCausedByMessage(c.err); got != c.want {
			t.Errorf("callCausedByMessage(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// Dead letters go back to the live stream and fold; a redrive run again
// finds nothing, and a dead letter of an event folded since (a resent
// copy) is dropped: the guest counts each event once.
// (TestRedriveSkipsEventFoldedSince: also once the dedupe marker is gone.)
func TestRedrive(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.Addr(), nil, guesttest.Config(), func(o *Options) {
		o.Partitions, o.MaxFailures, o.MinIdle, o.ClaimEvery = 1, 1, 10*time.Millisecond, 5*time.Millisecond
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// A wrong-typed features key dead-letters the guest's events.
	if err := s.rdb.Set(ctx, s.keys.realTime("rd"), "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	startWorker(t, s.NewWorker(guesttest.TestCatalog(), nil))
	guesttest.Send(t, s, guesttest.Ev("rd-1", "rd", "s", event.TypeView, time.Now(), "1"),
		guesttest.Ev("rd-2", "rd", "s", event.TypeView, time.Now(), "2"))
	waitDeadLetters(t, s, 2)
	// The cause is fixed; rd-1 is also resent and folded before the redrive.
	if err := s.rdb.Del(ctx, s.keys.realTime("rd")).Err(); err != nil {
		t.Fatal(err)
	}
	guesttest.Send(t, s, guesttest.Ev("rd-1", "rd", "s", event.TypeView, time.Now(), "1"))
	guesttest.WaitEvents(t, s, "rd", 1)
	if n, d, err := s.Redrive(ctx); err != nil || n != 1 || d != 1 {
		t.Fatalf("redrive moved %d and dropped %d (%v), want 1 (rd-2) and 1 (rd-1)", n, d, err)
	}
	if n, d, err := s.Redrive(ctx); err != nil || n != 0 || d != 0 {
		t.Fatalf("second redrive moved %d and dropped %d (%v), want 0", n, d, err)
	}
	waitBacklogZero(t, s)
	if n := folded(t, s, "rd"); n != 2 {
		t.Fatalf("guest counts %d events, want 2 (rd-1 once, rd-2 once)", n)
	}
	if n, err := s.DeadLetters(ctx); err != nil || n != 0 {
		t.Fatalf("%d dead letters after the redrive (%v)", n, err)
	}
}

// In a Cluster each partition's dead letters and stream share a slot, so
// the redrive script runs on the partition's node; the gauge's XLENs
// reach every node.
func TestRedriveCluster(t *testing.T) {
	cl := redistest.StartCluster(t)
	s := newStore(t, "", cl.Addrs(), guesttest.Config(), nil)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	payload := `{"id":"c-1","guest_id":"cg","type":"view","item_ids":["1"],"time":"` + time.Now().UTC().Format(time.RFC3339Nano) + `"}`
	for _, p := range []int{0, 3, 7} { // newStore: 8 partitions
		if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.keys.dead(p), Values: []string{"id", "1-1", "reason", "test", "e", payload}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.DeadLetters(ctx); err != nil || n != 3 {
		t.Fatalf("%d dead letters (%v), want 3", n, err)
	}
	if n, _, err := s.Redrive(ctx); err != nil || n != 3 {
		t.Fatalf("redrive moved %d (%v), want 3", n, err)
	}
	if n, err := s.DeadLetters(ctx); err != nil || n != 0 {
		t.Fatalf("%d dead letters after the redrive (%v)", n, err)
	}
}
