package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/internal/servetest"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	"github.com/aisle-ai/aisle/recommend"
)

// sparklingWater is the product a retailer adds: an aisle the cart model
// knows (non-alc. drinks), a name sharing "water" with bottled water, so
// A13's rule gives it bottled water's vector (S1).
const sparklingWater = `{"id":"9001","name":"sparkling water","category":"sparkling water","aisle":"non-alc. drinks","department":"drinks","price":0.59,"stock":100}` + "\n"

// TestNewProductServedBeforeRetrain: through the real server on loopback,
// the shipped home surface (which lists a new_items source) returns no
// new_items item for the default catalogue (every item has a vector);
// after a product is appended to the catalogue file and the store reloads
// it, the same request returns that product with source new_items (once
// the new-items table is built: no call waits for it).
func TestNewProductServedBeforeRetrain(t *testing.T) {
	// The catalogue store polls its file every 10 ms (serve: every 5 s).
	served := serveCopy(t, copyOptions{catalogPoll: 10 * time.Millisecond})
	root, client, store := served.root, served.client, served.catalog
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	req := &aislepb.RecommendRequest{Surface: "home", Cart: []string{"bottled beer", "soda"}, K: 10}
	sources := func() map[string]string {
		t.Helper()
		resp, err := client.Recommend(ctx, req)
		must(t, err)
		out := map[string]string{}
		for _, it := range resp.Items {
			out[it.Id] = it.Source
		}
		return out
	}
	for id, src := range sources() {
		if src == recommend.SourceNewItems {
			t.Fatalf("item %s from new_items on the default catalogue", id)
		}
	}

	path := filepath.Join(root, catalog.DefaultFile)
	data, err := os.ReadFile(path)
	must(t, err)
	before := store.Catalog()
	servetest.WriteFile(t, path, append(data, sparklingWater...))
	waitFor(ctx, t, "the catalogue reload", func() bool { return store.Catalog() != before })
	if _, ok := store.Catalog().Item("9001"); !ok {
		t.Fatal("the reloaded catalogue lacks the new product")
	}
	// The first call after the reload starts the new-items table's build
	// and does not wait for it: a later call serves the product.
	waitFor(ctx, t, "the new product from new_items", func() bool {
		src, ok := sources()["9001"]
		return ok && src == recommend.SourceNewItems
	})
}
