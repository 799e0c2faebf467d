package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest/guesttest"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

func batch(prefix string, n, guests int, at time.Time) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		g := prefix + "-g" + strconv.Itoa(i%guests)
		evs[i] = guesttest.Ev(prefix+"-"+strconv.Itoa(i), g, "s", event.TypeView, at.Add(time.Duration(i)*time.Millisecond), strconv.Itoa(1+i%6))
	}
	return evs
}

func countByGuest(evs []event.Event) map[string]int64 {
	m := map[string]int64{}
	for _, e := range evs {
		m[e.GuestID]++
	}
	return m
}

// A worker dies after folding part of a batch it read; another consumer
// claims the rest. Every event is folded exactly once and nothing stays
// pending.
func TestExactlyOnceWhenAWorkerDiesMidBatch(t *testing.T) {
	srv := redistest.Start(t)
	cat := guesttest.TestCatalog()
	s := newStore(t, srv.Addr(), nil, guesttest.Config(), func(o *Options) { o.Partitions = 1; o.Consumer = "doomed" })
	evs := batch("mid", 100, 5, time.Now().Add(-time.Minute))
	doomed := s.NewWorker(cat, nil)
	doomed.crashAfter = 37
	// Create the group before appending so the doomed worker reads them all.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.rdb.XGroupCreateMkStream(ctx, s.keys.stream(0), s.opts.Group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	guesttest.Send(t, s, evs...)
	if err := doomed.Run(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("doomed worker: %v", err)
	}
	pending, err := s.rdb.XPending(ctx, s.keys.stream(0), s.opts.Group).Result()
	if err != nil || pending.Count != 63 {
		t.Fatalf("after the crash: %d pending, want 63 (%v)", pending.Count, err)
	}
	// The dead worker's messages are re-delivered to a second consumer;
	// resending a few events too (a client retry) must not count them twice.
	s2 := newStore(t, srv.Addr(), nil, guesttest.Config(), func(o *Options) { o.Partitions = 1; o.Consumer = "rescuer" })
	guesttest.Send(t, s2, evs[:50]...)
	startWorker(t, s2.NewWorker(cat, nil))
	for g, n := range countByGuest(evs) {
		snap := guesttest.WaitEvents(t, s, g, n)
		if snap.RealTime.Events != n {
			t.Fatalf("guest %s: %d events folded, want %d", g, snap.RealTime.Events, n)
		}
	}
	waitBacklogZero(t, s)
}

func waitBacklogZero(t *testing.T, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		n, err := s.Backlog(ctx)
		if err == nil && n == 0 {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("backlog %d never drained (%v)", n, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill -9 of Redis while events stream in: every acknowledged event is in
// the aggregates after the restart from the AOF, every other one was
// reported failed, and resending the failed ones counts every event once.
func TestKillRedisMidIngestion(t *testing.T) {
	srv := redistest.Start(t)
	cat := guesttest.TestCatalog()
	s := newStore(t, srv.Addr(), nil, guesttest.Config(), nil)
	startWorker(t, s.NewWorker(cat, nil))
	all := batch("kill", 3000, 20, time.Now().Add(-time.Minute))
	var acked, failed []event.Event
	for i := 0; i < len(all); i += 50 {
		if i == 1500 {
			srv.Kill()
		}
		if i == 2000 {
			srv.Restart()
			waitPing(t, s)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		part := all[i : i+50]
		for j, err := range s.Append(ctx, part) {
			switch {
			case err == nil:
				acked = append(acked, part[j])
			case errors.Is(err, event.ErrUnavailable) || errors.Is(err, event.ErrOverloaded):
				failed = append(failed, part[j])
			default:
				t.Fatalf("event %s: error %v is neither unavailable nor overloaded", part[j].ID, err)
			}
		}
		cancel()
	}
	if len(failed) == 0 || len(acked) < 1000 {
		t.Fatalf("acked %d, failed %d: the kill did not land mid-ingestion", len(acked), len(failed))
	}
	// Every acknowledged event is folded (its dedupe key exists).
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	waitBacklogZero(t, s)
	missing := 0
	for _, e := range acked {
		if n, err := s.rdb.Exists(ctx, s.keys.seen(e.GuestID, e.ID)).Result(); err != nil || n != 1 {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged events are missing from the aggregates after kill -9", missing, len(acked))
	}
	// The sender retries what failed; now every event counts exactly once.
	guesttest.Send(t, s, failed...)
	for g, n := range countByGuest(all) {
		if snap := guesttest.WaitEvents(t, s, g, n); snap.RealTime.Events != n {
			t.Fatalf("guest %s: %d events, want %d", g, snap.RealTime.Events, n)
		}
	}
	t.Logf("acked %d, failed %d (retried)", len(acked), len(failed))
}

// waitPing waits until the client reconnects (go-redis re-dials a failed
// pool about once a second).
func waitPing(t *testing.T, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for s.Ping(ctx) != nil {
		if ctx.Err() != nil {
			t.Fatal("redis never came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestClusterSlotColocation(t *testing.T) {
	c := redistest.StartCluster(t)
	s := newStore(t, "", c.Addrs(), guesttest.Config(), func(o *Options) { o.Partitions = 64 })
	cc := s.rdb.(*redis.ClusterClient)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	slots := map[int64]bool{}
	for i := range 50 {
		g := fmt.Sprintf("guest-%d", i)
		var slot int64 = -1
		for _, k := range s.GuestKeys(g, "event-1") {
			ks, err := cc.ClusterKeySlot(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			if slot >= 0 && ks != slot {
				t.Fatalf("guest %s: key %s in slot %d, others in %d", g, k, ks, slot)
			}
			slot = ks
		}
		slots[slot] = true
	}
	if len(slots) < 10 {
		t.Fatalf("50 guests landed in %d slots; partitions do not spread", len(slots))
	}
}

func TestDeadLetter(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.Addr(), nil, guesttest.Config(), func(o *Options) { o.Partitions = 1 })
	startWorker(t, s.NewWorker(guesttest.TestCatalog(), nil))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	guesttest.Send(t, s, guesttest.Ev("ok-1", "dl", "s", event.TypeView, time.Now(), "1"))
	guesttest.WaitEvents(t, s, "dl", 1)
	if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.keys.stream(0), Values: []string{"e", "{not json"}}).Err(); err != nil {
		t.Fatal(err)
	}
	for {
		n, _ := s.rdb.XLen(ctx, s.keys.dead(0)).Result()
		if n == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("undecodable message never reached the dead-letter stream")
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitBacklogZero(t, s)
}

func TestBackPressure(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.Addr(), nil, guesttest.Config(), func(o *Options) { o.Partitions = 1; o.MaxBacklog = 10 })
	evs := batch("bp", 12, 1, time.Now())
	guesttest.Send(t, s, evs[:8]...) // no worker: the backlog stays
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for i, err := range s.Append(ctx, evs[8:]) {
		if !errors.Is(err, event.ErrOverloaded) {
			t.Fatalf("event %d past the backlog: %v, want ErrOverloaded", i, err)
		}
	}
	srv.Kill()
	for i, err := range s.Append(ctx, evs[8:9]) {
		if !errors.Is(err, event.ErrUnavailable) {
			t.Fatalf("event %d with redis down: %v, want ErrUnavailable", i, err)
		}
	}
	if _, err := s.Snapshot(ctx, "bp-g0"); err == nil {
		t.Fatal("snapshot with redis down succeeded")
	}
}

// A message whose fold keeps failing (here: the guest's features key holds
// a string, so HMGET answers WRONGTYPE) is re-delivered until
// MaxFailures, then moved to the dead-letter stream; the others fold.
func TestPoisonMessageIsDeadLettered(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.Addr(), nil, guesttest.Config(), func(o *Options) {
		o.Partitions, o.MaxFailures, o.MinIdle, o.ClaimEvery = 1, 3, 20*time.Millisecond, 10*time.Millisecond
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.rdb.Set(ctx, s.keys.realTime("poison"), "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	startWorker(t, s.NewWorker(guesttest.TestCatalog(), nil))
	guesttest.Send(t, s, guesttest.Ev("p1", "poison", "s", event.TypeView, time.Now(), "1"),
		guesttest.Ev("h1", "healthy", "s", event.TypeView, time.Now(), "1"))
	guesttest.WaitEvents(t, s, "healthy", 1)
	for {
		msgs, err := s.rdb.XRange(ctx, s.keys.dead(0), "-", "+").Result()
		if err == nil && len(msgs) == 1 {
			if r, _ := msgs[0].Values["reason"].(string); !strings.Contains(r, "fold failed 3 times: WRONGTYPE") {
				t.Fatalf("dead letter reason %q", r)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatal("poison message never dead-lettered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitBacklogZero(t, s)
}
