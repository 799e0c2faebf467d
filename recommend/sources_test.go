package recommend

import (
	"testing"
)

// preparedCall runs a call up to its candidates stage: models held, the
// cart and views resolved, the query vectors computed.
func preparedCall(t *testing.T, p *Pipeline, req Request) *call {
	t.Helper()
	all, sf, k, err := p.validate(req)
	if err != nil {
		t.Fatal(err)
	}
	c := p.newCall(req, sf, k)
	t.Cleanup(c.release)
	c.acquire(all.AttributeModels)
	c.resolve()
	var rungs []Rung
	c.embeddings(ctxT(t), &rungs)
	if len(rungs) > 0 {
		t.Fatalf("embeddings: %v", rungs)
	}
	return c
}

// TestCartTakesNoCandidateSlot: on a surface whose hard filter drops cart
// items, the query (hybrid or the encoder's index alone) and neighbours
// searches skip them in the index: a cart item never takes one of a
// source's budget slots, which the re-ranker would only empty later. On a
// surface that keeps cart items, the query search returns them.
func TestCartTakesNoCandidateSlot(t *testing.T) {
	repo := testRepo(t)
	for _, hybrid := range []bool{false, true} {
		for _, dropCart := range []bool{true, false} {
			store := testSurfaces(t, func(s *Surfaces) {
				s.Surfaces["search"].Rerank.Filters.InCart = dropCart
				s.Surfaces["search"].Sources[0].Budget = 5
			})
			var opts Options
			p := New(repo.Manager, store, opts)
			if hybrid {
				c := preparedCall(t, p, Request{Surface: "search", Query: "milk"})
				p.opts.Text = textIndexOf(t, c.models["query-encoder"].items)
			}
			query := func(cart []string) []scored {
				c := preparedCall(t, p, Request{Surface: "search", Query: "milk", Cart: cart})
				src := c.sf.Sources[0]
				hits, _, err := c.query(ctxT(t), c.models[src.Model].items, c.vectors[0], src)
				if err != nil {
					t.Fatal(err)
				}
				return hits
			}
			first := query(nil)
			if len(first) != 5 {
				t.Fatalf("hybrid %v: %d hits without a cart, want the budget 5", hybrid, len(first))
			}
			cart := []string{first[0].id, first[2].id}
			got := query(cart)
			if len(got) != 5 {
				t.Errorf("hybrid %v, in_cart %v: %d hits with a cart, want the budget 5", hybrid, dropCart, len(got))
			}
			inCart := 0
			for _, h := range got {
				if h.id == cart[0] || h.id == cart[1] {
					inCart++
				}
			}
			if want := map[bool]int{true: 0, false: 2}[dropCart]; inCart != want {
				t.Errorf("hybrid %v, in_cart %v: %d cart items among the hits %v, want %d", hybrid, dropCart, inCart, got, want)
			}
		}
	}

	// Neighbours on the cart surface (in_cart: true): a cart item near a
	// viewed one is not among the neighbours.
	p := New(repo.Manager, testSurfaces(t, nil), Options{})
	views := []string{"whole milk"}
	neighbours := func(cart []string) []scored {
		c := preparedCall(t, p, Request{Surface: "cart", RecentViews: views, Cart: cart})
		hits, err := c.neighbours(ctxT(t), c.models["cart-gnn"], 5)
		if err != nil {
			t.Fatal(err)
		}
		return hits
	}
	first := neighbours(nil)
	if len(first) != 5 {
		t.Fatalf("%d neighbours, want 5", len(first))
	}
	got := neighbours([]string{first[0].id})
	if len(got) != 5 {
		t.Errorf("%d neighbours with a cart, want 5", len(got))
	}
	for _, h := range got {
		if h.id == first[0].id {
			t.Errorf("cart item %s among the neighbours %v", h.id, got)
		}
	}
}
