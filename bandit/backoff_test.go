package bandit_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/bandit"
)

// countingStore fails Load while down is set, counting every Load.
type countingStore struct {
	bandit.Store
	down  atomic.Bool
	loads atomic.Int64
}

func (c *countingStore) Load(ctx context.Context, s string) (map[string]bandit.Counts, error) {
	c.loads.Add(1)
	if c.down.Load() {
		return nil, errors.New("store down")
	}
	return c.Store.Load(ctx, s)
}

// TestFailingStoreBacksOff drives the clock by hand over a store that goes
// down: decisions keep the last statistics (Stale), and the store is read
// again only after the refresh interval doubled per failure, capped at 32
// intervals, not on every call past the interval. Once it answers again,
// decisions are fresh and the interval is back to one refresh.
func TestFailingStoreBacksOff(t *testing.T) {
	const refresh = time.Second
	store := &countingStore{Store: bandit.NewMemStore()}
	b, err := bandit.New(bandit.Config{Refresh: refresh, Surfaces: []bandit.SurfaceConfig{{Name: "home", Arms: []string{"a", "b"}}}}, store)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	bandit.SetClock(b, func() time.Time { return now })
	ctx := testContext(t)
	req := bandit.Request{Surface: "home", ImpressionID: "i", Slots: 1}
	decide := func(wantStale bool) {
		t.Helper()
		d, err := b.Decide(ctx, req)
		if err != nil || d.Stale != wantStale {
			t.Fatalf("at +%v: Decide = %+v, %v; want stale %v", now.Sub(t0), d, err, wantStale)
		}
	}
	decide(false)
	store.down.Store(true)
	// Failures at +1s, +2s, +4s, +8s, ... : each retry waits twice as long
	// as the previous one, up to 32 s. Calls every 100 ms in between read
	// nothing.
	now = now.Add(refresh)
	wait := refresh
	for range 9 {
		before := store.loads.Load()
		decide(true) // this one reads, and fails
		if n := store.loads.Load() - before; n != 1 {
			t.Fatalf("at +%v: %d loads, want 1", now.Sub(t0), n)
		}
		retry := now.Add(wait)
		for now = now.Add(100 * time.Millisecond); now.Before(retry); now = now.Add(100 * time.Millisecond) {
			decide(true)
		}
		if n := store.loads.Load() - before; n != 1 {
			t.Fatalf("%d loads while backing off for %v, want 1", n, wait)
		}
		now = retry
		wait = min(2*wait, 32*refresh)
	}
	store.down.Store(false)
	decide(false)
	before := store.loads.Load()
	now = now.Add(refresh)
	decide(false)
	if n := store.loads.Load() - before; n != 1 {
		t.Errorf("%d loads one refresh after recovery, want 1", n)
	}
}

// TestFailingStoreNoViewFailsFast checks that a surface never read fails
// at once, without reading the store, while a failure's back-off runs.
func TestFailingStoreNoViewFailsFast(t *testing.T) {
	store := &countingStore{Store: bandit.NewMemStore()}
	store.down.Store(true)
	b, err := bandit.New(bandit.Config{Surfaces: []bandit.SurfaceConfig{{Name: "home", Arms: []string{"a"}}}}, store)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	bandit.SetClock(b, func() time.Time { return now })
	ctx := testContext(t)
	req := bandit.Request{Surface: "home", ImpressionID: "i", Slots: 1}
	for range 10 {
		if _, err := b.Decide(ctx, req); err == nil {
			t.Fatal("Decide with the store down and no statistics succeeded")
		}
	}
	if n := store.loads.Load(); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
}
