package recommend

import (
	"testing"

	"github.com/aisle-ai/aisle/cart"
)

// TestSessionSourceServesEnsemble: models/cart-gnn serves the A11
// ensemble, so the cart surface's session source is the model's own
// ranking, the same items in the same order as RecommendCart (pinned to
// run_ensemble.py by server/TestEnsembleGolden), not an index search with
// the session embedding.
func TestSessionSourceServesEnsemble(t *testing.T) {
	repo := testRepo(t)
	p := New(repo.Manager, testSurfaces(t, nil), Options{})
	basket := []string{"whole milk", "domestic eggs", "sugar"}
	c := preparedCall(t, p, Request{Surface: "cart", Cart: basket})
	m := c.models["cart-gnn"]
	if !m.cart.Blends() {
		t.Fatal("models/cart-gnn does not serve the ensemble")
	}
	got, ok := c.blended[0]
	if !ok {
		t.Fatal("the session source has no blended hits")
	}
	if _, ok := c.vectors[0]; ok {
		t.Error("the session source also computed a session embedding")
	}
	budget := c.sf.Sources[0].Budget
	want, err := m.cart.Recommend(ctxT(t), m.v, cart.Cart{Names: basket, K: budget})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != budget || len(want.Items) != budget {
		t.Fatalf("%d hits, RecommendCart %d, want the budget %d", len(got), len(want.Items), budget)
	}
	for i, h := range want.Items {
		if got[i].id != m.items.ID(h.Row) || got[i].score != float64(h.Score) {
			t.Fatalf("hit %d: %v, RecommendCart %+v", i, got[i], h)
		}
	}
	c.candidates(ctxT(t))
	for _, name := range basket {
		for _, h := range got {
			if h.name == name {
				t.Errorf("cart item %q among the session hits", name)
			}
		}
	}
	if cd, ok := c.cands[got[0].id]; !ok || cd.source != SourceSession {
		t.Errorf("top blended item %s is not a session candidate: %+v", got[0].id, cd)
	}
}
