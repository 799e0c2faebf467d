package bandit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aisle-ai/aisle/bandit"
)

// A surface whose cart-GNN source has earned more clicks fills most slots
// from it, and every slot carries the probability it was chosen with.
func ExampleBandits_Decide() {
	b, err := bandit.New(bandit.Config{Surfaces: []bandit.SurfaceConfig{{
		Name: "home", Arms: []string{"cart-gnn", "popular"}, Policy: bandit.EpsilonGreedy,
	}}}, bandit.NewMemStore())
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	_ = b.Add(ctx, "home",
		bandit.Increment{Arm: "cart-gnn", Pulls: 1000, Rewards: 9, At: at},
		bandit.Increment{Arm: "popular", Pulls: 1000, Rewards: 4, At: at})
	d, err := b.Decide(ctx, bandit.Request{Surface: "home", Guest: "g42", ImpressionID: "imp-1", Slots: 4})
	if err != nil {
		panic(err)
	}
	for _, s := range d.Slots {
		fmt.Printf("%s %.2f\n", s.Arm, s.Propensity)
	}
	// Output:
	// cart-gnn 0.95
	// cart-gnn 0.95
	// cart-gnn 0.95
	// cart-gnn 0.95
}
