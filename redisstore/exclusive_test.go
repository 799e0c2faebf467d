package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest/guesttest"
	"github.com/aisle-ai/aisle/internal/reliability"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// onBoth runs f against a single server and against a Cluster (addr or
// addrs set), so that every key a script touches is checked to share the
// partition's slot.
func onBoth(t *testing.T, f func(t *testing.T, addr string, cluster []string)) {
	t.Run("single", func(t *testing.T) { f(t, redistest.Start(t).Addr(), nil) })
	t.Run("cluster", func(t *testing.T) { f(t, "", redistest.StartCluster(t).Addrs()) })
}

// forgetFolds deletes the guest's dedupe markers of ids: what DedupeTTL
// (at least a minute) does to them, without waiting for it.
func forgetFolds(t *testing.T, s *Store, guestID string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := s.rdb.Del(t.Context(), s.keys.seen(guestID, id)).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// drain folds whatever is in the guest's partition with a worker of s
// and waits until the backlog is empty.
func drain(t *testing.T, s *Store) {
	t.Helper()
	startWorker(t, s.NewWorker(guesttest.TestCatalog(), nil))
	waitBacklogZero(t, s)
}

func folded(t *testing.T, s *Store, guestID string) int64 {
	t.Helper()
	snap, err := s.Snapshot(t.Context(), guestID)
	if err != nil {
		t.Fatal(err)
	}
	return snap.RealTime.Events
}

// A slow worker still holds a message that another worker has claimed,
// failed to fold (its guest's key had the wrong type) and dead-lettered.
// The slow worker's fold, arriving after the cause is fixed, must fold
// nothing: the event is in the dead-letter stream, and the redrive folds
// it. (Before, the slow fold counted it and the redrive counted it again
// once the dedupe marker had expired.)
func TestSlowFoldOfDeadLetteredMessage(t *testing.T) {
	reliability.Write(t, reliability.Record{Package: "redisstore", Load: "a single redis-server and a 3-master Cluster (AOF, appendfsync always): one event per mode, two workers",
		Faults:    "a worker folds a message it read long before, after another worker claimed it, failed it on a wrong-typed key and dead-lettered it; the key is fixed, the dedupe marker deleted (as DedupeTTL would) and the dead letter redriven: the event must count once",
		BadInputs: 2, Calls: 2})
	onBoth(t, func(t *testing.T, addr string, cluster []string) {
		const g = "slow-guest"
		mk := func(consumer string) *Store {
			return newStore(t, addr, cluster, guesttest.Config(), func(o *Options) { o.Consumer, o.MaxFailures = consumer, 1 })
		}
		slow, fast := mk("slow"), mk("fast")
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		p := slow.keys.partition(g)
		stream := slow.keys.stream(p)
		if err := slow.rdb.XGroupCreateMkStream(ctx, stream, slow.opts.Group, "0").Err(); err != nil {
			t.Fatal(err)
		}
		guesttest.Send(t, slow, guesttest.Ev("sl-1", g, "s", event.TypeView, time.Now(), "1"))
		slowW, fastW := slow.NewWorker(guesttest.TestCatalog(), nil), fast.NewWorker(guesttest.TestCatalog(), nil)
		held, err := slowW.read(ctx, stream)
		if err != nil || len(held) != 1 {
			t.Fatalf("slow worker read %v (%v), want one message", held, err)
		}

		// The fast worker claims it (as after MinIdle) and fails for the
		// guest's wrong-typed key: one failure is the limit.
		if err := fast.rdb.Set(ctx, fast.keys.realTime(g), "not a hash", 0).Err(); err != nil {
			t.Fatal(err)
		}
		claimed, err := fast.rdb.XClaim(ctx, &redis.XClaimArgs{Stream: stream, Group: fast.opts.Group, Consumer: "fast",
			Messages: []string{held[0].ID}}).Result()
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v (%v)", claimed, err)
		}
		if _, err := fastW.fold(ctx, p, claimed); err == nil {
			t.Fatal("the fold of a guest with a wrong-typed key did not fail")
		}
		if n, err := fast.DeadLetters(ctx); err != nil || n != 1 {
			t.Fatalf("%d dead letters (%v), want 1", n, err)
		}

		// The cause is fixed; the slow worker's fold comes through.
		if err := fast.rdb.Del(ctx, fast.keys.realTime(g)).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := slowW.fold(ctx, p, held); err != nil {
			t.Fatalf("slow fold: %v", err)
		}
		if n := folded(t, slow, g); n != 0 {
			t.Fatalf("the slow worker folded %d events of a dead-lettered message, want 0", n)
		}

		// Much later (the dedupe marker gone), the redrive counts it once.
		forgetFolds(t, slow, g, "sl-1")
		if moved, dropped, err := slow.Redrive(ctx); err != nil || moved != 1 || dropped != 0 {
			t.Fatalf("redrive moved %d and dropped %d (%v), want 1 and 0", moved, dropped, err)
		}
		drain(t, slow)
		if n := folded(t, slow, g); n != 1 {
			t.Fatalf("guest counts %d events, want 1", n)
		}
	})
}

// An event dead-lettered and then folded from a resent copy counts once
// when its dead letter is redriven, however long after that fold: the
// redrive drops the dead letter. (Before, the dedupe marker decided, and
// a redrive more than DedupeTTL after the fold counted it twice.)
func TestRedriveSkipsEventFoldedSince(t *testing.T) {
	reliability.Write(t, reliability.Record{Package: "redisstore", Load: "a single redis-server and a 3-master Cluster (AOF, appendfsync always): three events per mode, one worker",
		Faults:    "two events dead-lettered on a wrong-typed key; the key fixed and one event resent and folded; its dedupe marker deleted (as DedupeTTL would), then the redrive: each event must count once",
		BadInputs: 4, Calls: 6})
	onBoth(t, func(t *testing.T, addr string, cluster []string) {
		const g = "rd-since"
		s := newStore(t, addr, cluster, guesttest.Config(), func(o *Options) {
			o.MaxFailures, o.MinIdle, o.ClaimEvery = 1, 10*time.Millisecond, 5*time.Millisecond
		})
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		if err := s.rdb.Set(ctx, s.keys.realTime(g), "not a hash", 0).Err(); err != nil {
			t.Fatal(err)
		}
		startWorker(t, s.NewWorker(guesttest.TestCatalog(), nil))
		guesttest.Send(t, s, guesttest.Ev("rs-1", g, "s", event.TypeView, time.Now(), "1"),
			guesttest.Ev("rs-2", g, "s", event.TypeView, time.Now(), "2"))
		waitDeadLetters(t, s, 2)
		// The cause is fixed and rs-1 resent and folded; the dedupe
		// marker of that fold expires before the redrive.
		if err := s.rdb.Del(ctx, s.keys.realTime(g)).Err(); err != nil {
			t.Fatal(err)
		}
		guesttest.Send(t, s, guesttest.Ev("rs-1", g, "s", event.TypeView, time.Now(), "1"))
		guesttest.WaitEvents(t, s, g, 1)
		forgetFolds(t, s, g, "rs-1")
		if moved, dropped, err := s.Redrive(ctx); err != nil || moved != 1 || dropped != 1 {
			t.Fatalf("redrive moved %d and dropped %d (%v), want 1 (rs-2) and 1 (rs-1, folded since)", moved, dropped, err)
		}
		waitBacklogZero(t, s)
		if n := folded(t, s, g); n != 2 {
			t.Fatalf("guest counts %d events, want 2 (rs-1 once, rs-2 once)", n)
		}
		if n, err := s.DeadLetters(ctx); err != nil || n != 0 {
			t.Fatalf("%d dead letters after the redrive (%v)", n, err)
		}
	})
}

func waitDeadLetters(t *testing.T, s *Store, want int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		n, err := s.DeadLetters(ctx)
		if err == nil && n == want {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("%d dead letters (%v), want %d", n, err, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A message whose fold failed is charged a round trip later; if its event
// has been folded from another copy in between, the charge drops it as a
// duplicate instead of dead-lettering it, so no redrive can count the
// event again once the dedupe marker is gone; Folded counts the drop.
func TestChargeOfEventFoldedMeanwhile(t *testing.T) {
	reliability.Write(t, reliability.Record{Package: "redisstore", Load: "a single redis-server and a 3-master Cluster (AOF, appendfsync always): one event sent twice per mode, two workers",
		Faults:    "a message's failure charged (at the dead-letter limit) after a resent copy of its event was folded by another worker; the marker then deleted and a redrive run: the event must count once, nothing dead-lettered",
		BadInputs: 2, Calls: 4})
	onBoth(t, func(t *testing.T, addr string, cluster []string) {
		const g = "charge-guest"
		s := newStore(t, addr, cluster, guesttest.Config(), func(o *Options) { o.Consumer, o.MaxFailures = "slow", 1 })
		// The other worker never claims the slow one's message.
		other := newStore(t, addr, cluster, guesttest.Config(), func(o *Options) { o.Consumer, o.MinIdle = "other", time.Hour })
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		p, stream, w, held := holdEvents(ctx, t, s, g, guesttest.Ev("cm-1", g, "s", event.TypeView, time.Now(), "1"))
		// Its fold has failed (say, WRONGTYPE); meanwhile a resent copy
		// is folded by the other worker; then the charge arrives.
		guesttest.Send(t, s, guesttest.Ev("cm-1", g, "s", event.TypeView, time.Now(), "1"))
		startWorker(t, other.NewWorker(guesttest.TestCatalog(), nil))
		guesttest.WaitEvents(t, s, g, 1)
		dropped := w.moveDead(ctx, p, []deadMove{w.chargeMove(p, held[0].ID, s.keys.seen(g, "cm-1"), "WRONGTYPE Operation against a key holding the wrong kind of value")})
		if n, err := s.DeadLetters(ctx); err != nil || n != 0 {
			t.Fatalf("%d dead letters (%v), want 0: the event was folded", n, err)
		}
		if pend, err := s.rdb.XPending(ctx, stream, s.opts.Group).Result(); err != nil || pend.Count != 0 {
			t.Fatalf("pending %v (%v), want none: the duplicate is acked", pend, err)
		}
		if dropped != 1 {
			t.Fatalf("moveDead dropped %d, want 1 (acknowledged as a duplicate: fold counts it folded)", dropped)
		}
		waitBacklogZero(t, s)
		forgetFolds(t, s, g, "cm-1")
		if moved, dropped, err := s.Redrive(ctx); err != nil || moved+dropped != 0 {
			t.Fatalf("redrive moved %d and dropped %d (%v), want nothing", moved, dropped, err)
		}
		if n := folded(t, s, g); n != 1 {
			t.Fatalf("guest counts %d events, want 1", n)
		}
	})
}

// Two copies of one event are both dead-lettered (each failed before the
// other was settled): the record counts two dead letters. A fold of a
// third copy marks them both folded, and the redrive drops both; without
// it, the redrive moves both and the dedupe counts the event once.
func TestRedriveOfTwoDeadLettersOfOneEvent(t *testing.T) {
	for _, resend := range []bool{true, false} {
		g := "twice-" + map[bool]string{true: "resent", false: "not-resent"}[resend]
		t.Run(g, func(t *testing.T) { twoDeadLetters(t, g, resend) })
	}
}

func twoDeadLetters(t *testing.T, g string, resend bool) {
	s := newStore(t, redistest.Start(t).Addr(), nil, guesttest.Config(), func(o *Options) { o.Consumer, o.MaxFailures = "slow", 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ev := guesttest.Ev("tw-1", g, "s", event.TypeView, time.Now(), "1")
	p, _, w, held := holdEvents(ctx, t, s, g, ev, ev)
	seen := s.keys.seen(g, "tw-1")
	w.moveDead(ctx, p, []deadMove{w.chargeMove(p, held[0].ID, seen, "WRONGTYPE"), w.chargeMove(p, held[1].ID, seen, "WRONGTYPE")})
	if n, err := s.rdb.HGet(ctx, s.keys.deadSeen(p), seen).Result(); err != nil || n != "2" {
		t.Fatalf("%s: dead letters' record %q (%v), want 2", g, n, err)
	}
	want := [2]int{2, 0} // moved, dropped
	if resend {
		guesttest.Send(t, s, ev)
		drain(t, s)
		forgetFolds(t, s, g, "tw-1")
		want = [2]int{0, 2}
	}
	moved, dropped, err := s.Redrive(ctx)
	if err != nil || [2]int{moved, dropped} != want {
		t.Fatalf("%s: redrive moved %d and dropped %d (%v), want %v", g, moved, dropped, err, want)
	}
	drain(t, s)
	if n := folded(t, s, g); n != 1 {
		t.Fatalf("%s: guest counts %d events, want 1", g, n)
	}
	if n, err := s.rdb.Exists(ctx, s.keys.deadSeen(p)).Result(); err != nil || n != 0 {
		t.Fatalf("%s: the dead letters' record outlived them (%v)", g, err)
	}
}

// holdEvents makes guest g's partition group, appends evs and has a new
// worker of s read them, so the test holds them pending as a slow worker
// would: the partition, its stream, the worker and the messages read.
func holdEvents(ctx context.Context, t *testing.T, s *Store, g string, evs ...event.Event) (int, string, *Worker, []redis.XMessage) {
	t.Helper()
	p := s.keys.partition(g)
	stream := s.keys.stream(p)
	if err := s.rdb.XGroupCreateMkStream(ctx, stream, s.opts.Group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	guesttest.Send(t, s, evs...)
	w := s.NewWorker(guesttest.TestCatalog(), nil)
	held, err := w.read(ctx, stream)
	if err != nil || len(held) != len(evs) {
		t.Fatalf("read %v (%v), want %d messages", held, err, len(evs))
	}
	return p, stream, w, held
}
