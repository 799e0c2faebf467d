// Package bandittest holds the contract tests every bandit.Store
// implementation runs, so the in-process store and a shared (Redis) store
// are held to the same behaviour.
package bandittest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/bandit"
)

// TestStore runs the bandit.Store contract against stores made by
// newStore. Every subtest uses its own surface names (derived from the
// subtest's name), so newStore may return stores that share one backend.
func TestStore(t *testing.T, newStore func(t *testing.T) bandit.Store) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t.Run("EmptySurface", func(t *testing.T) {
		ctx := testContext(t)
		got, err := newStore(t).Load(ctx, surface(t, "a"))
		if err != nil || len(got) != 0 {
			t.Fatalf("Load of a new surface = %v, %v; want empty map, nil", got, err)
		}
	})
	t.Run("AddLoad", func(t *testing.T) {
		ctx, s, sf := testContext(t), newStore(t), surface(t, "a")
		must(t, s.Add(ctx, sf, 0, bandit.Increment{Arm: "x", Pulls: 3, Rewards: 1, At: t0},
			bandit.Increment{Arm: "y", Pulls: 2, At: t0}))
		must(t, s.Add(ctx, sf, 0, bandit.Increment{Arm: "x", Pulls: 1, Rewards: 1, At: t0.Add(time.Minute)}))
		got := load(ctx, t, s, sf)
		want := map[string]bandit.Counts{
			"x": {Pulls: 4, Rewards: 2, At: t0.Add(time.Minute)},
			"y": {Pulls: 2, At: t0},
		}
		equalCounts(t, got, want)
	})
	t.Run("SurfacesApart", func(t *testing.T) {
		ctx, s := testContext(t), newStore(t)
		a, b := surface(t, "a"), surface(t, "b")
		must(t, s.Add(ctx, a, 0, bandit.Increment{Arm: "x", Pulls: 1, At: t0}))
		must(t, s.Add(ctx, b, 0, bandit.Increment{Arm: "x", Pulls: 5, At: t0}))
		must(t, s.Reset(ctx, a))
		equalCounts(t, load(ctx, t, s, a), map[string]bandit.Counts{})
		equalCounts(t, load(ctx, t, s, b), map[string]bandit.Counts{"x": {Pulls: 5, At: t0}})
	})
	t.Run("HalfLife", func(t *testing.T) {
		ctx, s, sf := testContext(t), newStore(t), surface(t, "a")
		h := time.Hour
		must(t, s.Add(ctx, sf, h, bandit.Increment{Arm: "x", Pulls: 8, Rewards: 4, At: t0}))
		// One half-life later: the old counts halve, then add.
		must(t, s.Add(ctx, sf, h, bandit.Increment{Arm: "x", Pulls: 1, At: t0.Add(h)}))
		// A late increment from half an hour before the newest is decayed
		// to the newest time instead.
		must(t, s.Add(ctx, sf, h, bandit.Increment{Arm: "x", Rewards: 1, At: t0.Add(h / 2)}))
		want := bandit.Counts{Pulls: 5, Rewards: 2 + math.Sqrt(0.5), At: t0.Add(h)}
		equalCounts(t, load(ctx, t, s, sf), map[string]bandit.Counts{"x": want})
	})
	t.Run("ConcurrentAdds", func(t *testing.T) {
		ctx, s, sf := testContext(t), newStore(t), surface(t, "a")
		const workers, adds = 8, 50
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				for i := range adds {
					err := s.Add(ctx, sf, 0, bandit.Increment{Arm: "x", Pulls: 1, Rewards: float64(i % 2), At: t0},
						bandit.Increment{Arm: fmt.Sprint("w", w%2), Pulls: 1, At: t0})
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		equalCounts(t, load(ctx, t, s, sf), map[string]bandit.Counts{
			"x":  {Pulls: workers * adds, Rewards: workers * adds / 2, At: t0},
			"w0": {Pulls: workers * adds / 2, At: t0},
			"w1": {Pulls: workers * adds / 2, At: t0},
		})
	})
	t.Run("EndedContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(testContext(t))
		cancel()
		s, sf := newStore(t), surface(t, "a")
		if _, err := s.Load(ctx, sf); !errors.Is(err, context.Canceled) {
			t.Errorf("Load with a cancelled context: %v, want context.Canceled", err)
		}
		if err := s.Add(ctx, sf, 0, bandit.Increment{Arm: "x", Pulls: 1, At: t0}); !errors.Is(err, context.Canceled) {
			t.Errorf("Add with a cancelled context: %v, want context.Canceled", err)
		}
		if err := s.Reset(ctx, sf); !errors.Is(err, context.Canceled) {
			t.Errorf("Reset with a cancelled context: %v, want context.Canceled", err)
		}
	})
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// surface names a surface unique to the running subtest.
func surface(t *testing.T, name string) string { return t.Name() + "/" + name }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func load(ctx context.Context, t *testing.T, s bandit.Store, sf string) map[string]bandit.Counts {
	t.Helper()
	got, err := s.Load(ctx, sf)
	if err != nil {
		t.Fatalf("Load(%q): %v", sf, err)
	}
	return got
}

// equalCounts compares counts to 1e-9 relative (a shared store may keep
// floats as decimal strings) and times to the millisecond.
func equalCounts(t *testing.T, got, want map[string]bandit.Counts) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("arms = %v, want %v", got, want)
	}
	for arm, w := range want {
		g, ok := got[arm]
		if !ok || !near(g.Pulls, w.Pulls) || !near(g.Rewards, w.Rewards) || g.At.Sub(w.At).Abs() >= time.Millisecond {
			t.Errorf("arm %q = %+v, want %+v", arm, g, w)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b)) }
