package redisstore

import (
	"context"
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
