package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/bandit/bandittest"
	"github.com/aisle-ai/aisle/guest"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

func TestArmsContractSingle(t *testing.T) {
	srv := redistest.Start(t)
	bandittest.TestStore(t, func(t *testing.T) bandit.Store {
		return newStore(t, srv.Addr(), nil, guest.Config{}, nil).Arms()
	})
}

func TestArmsContractCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	bandittest.TestStore(t, func(t *testing.T) bandit.Store {
		return newStore(t, "", c.Addrs(), guest.Config{}, nil).Arms()
	})
}

// TestArmsReplicasLearnTogether is two replicas (two Bandits, each over its
// own client) sharing one Redis Cluster: pulls and rewards one records,
// through its Learner, are in the other's state, and a reset on one is a
// reset for both.
func TestArmsReplicasLearnTogether(t *testing.T) {
	c := redistest.StartCluster(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cfg := bandit.Config{Surfaces: []bandit.SurfaceConfig{{Name: "home", Arms: []string{"gnn", "popular"}}}}
	replica := func() *bandit.Bandits {
		b, err := bandit.New(cfg, newStore(t, "", c.Addrs(), guest.Config{}, nil).Arms())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := replica(), replica()
	learner := bandit.NewLearner(a, bandit.LearnerConfig{})
	now := time.Now()
	for i, arm := range []string{"gnn", "gnn", "popular"} {
		imp := bandit.Impression{ID: "imp" + string(rune('0'+i)), Surface: "home", Guest: "g",
			Slots: []bandit.Slot{{Arm: arm, Propensity: 0.5}}, At: now}
		if err := learner.Impression(ctx, imp); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := learner.Feedback(ctx, bandit.Feedback{ImpressionID: "imp1", Type: bandit.Click, At: now}); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]float64{"gnn": {2, 1}, "popular": {1, 0}}
	checkState(ctx, t, b, want)
	checkState(ctx, t, a, want)

	if err := b.Reset(ctx, "home"); err != nil {
		t.Fatal(err)
	}
	checkState(ctx, t, a, map[string][2]float64{"gnn": {0, 0}, "popular": {0, 0}})
}

// checkState compares a surface's pulls and rewards per arm.
func checkState(ctx context.Context, t *testing.T, b *bandit.Bandits, want map[string][2]float64) {
	t.Helper()
	st, err := b.State(ctx, "home")
	if err != nil {
		t.Fatal(err)
	}
	for _, arm := range st.Arms {
		if w := want[arm.Arm]; arm.Pulls != w[0] || arm.Rewards != w[1] {
			t.Errorf("arm %s: pulls %g rewards %g, want %g %g", arm.Arm, arm.Pulls, arm.Rewards, w[0], w[1])
		}
	}
}

// TestJoinOutcomes: the shared join counts like bandit.Learner: a repeated
// impression adds no pull, feedback after the window is late, on an
// unknown id unknown, a second one on the slot a duplicate; only the
// first credits. Its keys live on a Cluster.
func TestJoinOutcomes(t *testing.T) {
	c := redistest.StartCluster(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	b, err := bandit.New(bandit.Config{Surfaces: []bandit.SurfaceConfig{{Name: "home", Arms: []string{"gnn", "popular"}}}},
		newStore(t, "", c.Addrs(), guest.Config{}, nil).Arms())
	if err != nil {
		t.Fatal(err)
	}
	j := newStore(t, "", c.Addrs(), guest.Config{}, nil).Join(b, time.Minute)
	now := time.Now()
	imp := func(id, arm string) bandit.Impression {
		return bandit.Impression{ID: id, Surface: "home", At: now, Slots: []bandit.Slot{{Arm: arm, Propensity: 0.5}}}
	}
	for _, id := range []string{"a#0", "a#0", "b#0"} {
		if err := j.Impression(ctx, imp(id, "gnn")); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Impression(ctx, imp("c#0", "nosuch")); err == nil {
		t.Error("impression of an unknown arm: no error")
	}
	for _, tc := range []struct {
		id   string
		at   time.Time
		want bandit.Outcome
	}{
		{"a#0", now.Add(2 * time.Minute), bandit.Late},
		{"a#0", now.Add(time.Second), bandit.Credited},
		{"a#0", now.Add(2 * time.Second), bandit.Duplicate},
		{"nope#0", now, bandit.Unknown},
		{"c#0", now, bandit.Unknown}, // its impression was refused
	} {
		got, err := j.Feedback(ctx, bandit.Feedback{ImpressionID: tc.id, Type: bandit.AddToCart, At: tc.at})
		if err != nil || got != tc.want {
			t.Errorf("feedback on %s at +%v: %v, %v; want %v", tc.id, tc.at.Sub(now), got, err, tc.want)
		}
	}
	checkState(ctx, t, b, map[string][2]float64{"gnn": {2, 1}, "popular": {0, 0}})
}

// A Redis that is down is bandit.ErrUnavailable on every call, so the
// server answers UNAVAILABLE rather than INTERNAL.
func TestArmsUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	a := newStore(t, srv.Addr(), nil, guest.Config{}, nil).Arms()
	srv.Kill()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := a.Load(ctx, "home")
	if !errors.Is(err, bandit.ErrUnavailable) {
		t.Errorf("Load: %v, want bandit.ErrUnavailable", err)
	}
	if err := a.Add(ctx, "home", 0, bandit.Increment{Arm: "a", Pulls: 1, At: time.Now()}); !errors.Is(err, bandit.ErrUnavailable) {
		t.Errorf("Add: %v, want bandit.ErrUnavailable", err)
	}
	if err := a.Reset(ctx, "home"); !errors.Is(err, bandit.ErrUnavailable) {
		t.Errorf("Reset: %v, want bandit.ErrUnavailable", err)
	}
}
