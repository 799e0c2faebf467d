package server

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aisle-ai/aisle/cart"
	"github.com/aisle-ai/aisle/internal/servetest"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
)

// copyModel copies a model directory of the default repository into root.
func copyModel(t *testing.T, root, name string) {
	t.Helper()
	servetest.CopyModel(t, root, name, nil)
}

// copyDir copies the files under src to dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	servetest.CopyDir(t, src, dst)
}

type recommendClient struct {
	ts *testServer
	c  aislepb.PersonalizationClient
}

func startPersonalization(t *testing.T, models ...string) recommendClient {
	t.Helper()
	root := t.TempDir()
	for _, m := range models {
		copyModel(t, root, m)
	}
	var p *Personalization
	ts := startServerWith(t, root, func(repo Repository) []Service {
		p = NewPersonalization(repo, PersonalizationConfig{})
		return []Service{p}
	})
	return recommendClient{ts: ts, c: aislepb.NewPersonalizationClient(ts.conn)}
}

func TestRecommendCartSeedCarts(t *testing.T) {
	rc := startPersonalization(t, "cart-gnn")
	ctx := testCtx(t)
	seeds := [][]string{{"whole milk"}, {"whole milk", "domestic eggs"}, {"whole milk", "domestic eggs", "sugar"}}
	for _, cart := range seeds {
		resp, err := rc.c.RecommendCart(ctx, &aislepb.RecommendCartRequest{ItemNames: cart, K: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Items) != 10 || resp.Fallback || len(resp.UnknownItems) != 0 || int(resp.CartItemsUsed) != len(cart) {
			t.Fatalf("cart %v: %v", cart, resp)
		}
		for i, it := range resp.Items {
			for _, name := range cart {
				if it.Name == name {
					t.Errorf("cart %v: recommended its own item %q", cart, name)
				}
			}
			if i > 0 && it.Score > resp.Items[i-1].Score {
				t.Errorf("cart %v: scores not descending at %d", cart, i)
			}
		}
	}
}

func TestRecommendCartBadInput(t *testing.T) {
	rc := startPersonalization(t, "cart-gnn")
	ctx := testCtx(t)
	milk, err := rc.c.RecommendCart(ctx, &aislepb.RecommendCartRequest{ItemNames: []string{"whole milk"}, K: 1})
	if err != nil {
		t.Fatal(err)
	}
	huge := make([]int64, DefaultMaxCartItems) // the longest cart accepted
	for i := range huge {
		huge[i] = int64(i % 20)
	}
	cases := []struct {
		name  string
		req   *aislepb.RecommendCartRequest
		check func(*aislepb.RecommendCartResponse) bool
	}{
		{"empty cart falls back to popular", &aislepb.RecommendCartRequest{},
			func(r *aislepb.RecommendCartResponse) bool { return r.Fallback && len(r.Items) == cart.DefaultK }},
		{"unknown ids and names reported", &aislepb.RecommendCartRequest{ItemIds: []int64{-5, 99999}, ItemNames: []string{"caviar"}},
			func(r *aislepb.RecommendCartResponse) bool {
				return r.Fallback && len(r.UnknownItems) == 3 && r.UnknownItems[0] == "-5" && r.UnknownItems[2] == "caviar"
			}},
		{"unknown skipped, known used", &aislepb.RecommendCartRequest{ItemIds: []int64{99999}, ItemNames: []string{"Whole Milk "}},
			func(r *aislepb.RecommendCartResponse) bool {
				return !r.Fallback && r.CartItemsUsed == 1 && len(r.UnknownItems) == 1
			}},
		{"duplicates", &aislepb.RecommendCartRequest{ItemNames: []string{"whole milk", "whole milk", "whole milk"}},
			func(r *aislepb.RecommendCartResponse) bool {
				return len(r.Items) == cart.DefaultK && r.CartItemsUsed == 3
			}},
		{"long cart keeps the most recent", &aislepb.RecommendCartRequest{ItemIds: huge},
			func(r *aislepb.RecommendCartResponse) bool {
				return r.CartItemsUsed == 50 && len(r.Items) == cart.DefaultK
			}},
		{"k above the catalogue is capped", &aislepb.RecommendCartRequest{ItemNames: []string{"whole milk"}, K: DefaultMaxK},
			func(r *aislepb.RecommendCartResponse) bool { return len(r.Items) == 168 }},
		{"exclusions", &aislepb.RecommendCartRequest{ItemNames: []string{"whole milk"}, K: 1, ExcludeIds: []int64{milk.Items[0].Id}},
			func(r *aislepb.RecommendCartResponse) bool {
				return len(r.Items) == 1 && r.Items[0].Id != milk.Items[0].Id
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := rc.c.RecommendCart(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(resp) {
				t.Fatalf("unexpected answer: %v", resp)
			}
		})
	}
	_, err = rc.c.RecommendCart(ctx, &aislepb.RecommendCartRequest{K: -1})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("k=-1: %v, want InvalidArgument", err)
	}
	_, err = rc.c.RecommendCart(ctx, &aislepb.RecommendCartRequest{ItemIds: append(huge, 1)})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("cart over the limit: %v, want InvalidArgument", err)
	}
	_, err = rc.c.RecommendCart(ctx, &aislepb.RecommendCartRequest{Model: "nope"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("unknown model: %v, want NotFound", err)
	}
}
