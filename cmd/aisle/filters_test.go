package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aisle-ai/aisle/ann"
	"github.com/aisle-ai/aisle/catalog"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	"github.com/aisle-ai/aisle/recommend"
)

// filterItem is what the filter test reads of one catalogue item.
type filterItem struct {
	ID, Name, Aisle string
	Stock           int64
}

// filterCatalog reads the default repository's catalogue, its items in a
// fixed pseudo-random order (FNV of the id), so that excluding a prefix
// excludes a spread of aisles and popularity ranks.
func filterCatalog(t *testing.T) []filterItem {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "models", catalog.DefaultFile))
	must(t, err)
	var items []filterItem
	for line := range strings.Lines(string(data)) {
		var it filterItem
		if json.Unmarshal([]byte(line), &it) == nil && it.ID != "" {
			items = append(items, it)
		}
	}
	hash := func(s string) uint64 { h := fnv.New64a(); h.Write([]byte(s)); return h.Sum64() }
	slices.SortFunc(items, func(a, b filterItem) int {
		ha, hb := hash(a.ID), hash(b.ID)
		switch {
		case ha < hb:
			return -1
		case ha > hb:
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	return items
}

// graphIndex is serve's index forced to an HNSW graph: the default
// catalogue's 169 items are below ann.DefaultFlatBelow, where serve
// searches exactly, and the graph's filtered search is the one that must
// fall back to exact search when a filter is selective.
func graphIndex(m *catalog.Matrix) (recommend.Index, error) {
	ix, err := ann.Build(context.Background(), m.Data, m.Dim, ann.Config{Metric: ann.Dot, Kind: ann.Graph})
	if err != nil {
		return nil, err
	}
	return annIndex{ix}, nil
}

// TestFiltersEverySelectivity: through the real server on the default
// repository, with serve's exact index and with an HNSW graph, request
// filters are honoured on every surface at every selectivity — excluded
// ids (none, half, 90 %, 97 %, all but two, all; the unfiltered answer's
// items always among them), a category restriction (one aisle, five) and
// excluded categories (all aisles but one), a category with half the ids
// excluded — and never starve the answer: it holds min(k, allowed items)
// items, where allowed means in stock, not excluded, in the requested
// categories and not in the cart. The graph's answers equal the exact
// index's.
func TestFiltersEverySelectivity(t *testing.T) {
	items := filterCatalog(t)
	byID := map[string]filterItem{}
	var aisles []string
	for _, it := range items {
		byID[it.ID] = it
		if !slices.Contains(aisles, it.Aisle) {
			aisles = append(aisles, it.Aisle)
		}
	}
	slices.Sort(aisles)
	dairy := []string{"dairy produce"}
	if !slices.Contains(aisles, dairy[0]) {
		t.Fatalf("no aisle %q in the catalogue: %v", dairy[0], aisles)
	}
	bases := []*aislepb.RecommendRequest{
		{Surface: "cart", Cart: []string{"whole milk", "domestic eggs"}, RecentViews: []string{"butter"}, K: 10},
		{Surface: "search", Query: "baking", K: 10},
		{Surface: "home", RecentViews: []string{"butter", "yogurt"}, K: 10},
	}
	answers := map[string]map[string]string{"flat": {}, "hnsw": {}} // index kind → case → item ids
	for _, kind := range []struct {
		name  string
		build recommend.NewIndex
	}{{"flat", newANNIndex}, {"hnsw", graphIndex}} {
		t.Run(kind.name, func(t *testing.T) {
			_, client, _ := serveSwappable(t, kind.build)
			ctx := t.Context()
			for _, base := range bases {
				plain, err := client.Recommend(ctx, base)
				must(t, err)
				if len(plain.Items) != int(base.K) {
					t.Fatalf("%s unfiltered: %d items", base.Surface, len(plain.Items))
				}
				type filterCase struct {
					name string
					f    *aislepb.RecommendFilters
				}
				var cases []filterCase
				for _, n := range []int{0, len(items) / 2, len(items) * 9 / 10, len(items) * 97 / 100, len(items) - 2, len(items)} {
					ex := make([]string, 0, n+len(plain.Items))
					for _, it := range items[:n] {
						ex = append(ex, it.ID)
					}
					if n > 0 {
						for _, it := range plain.Items {
							ex = append(ex, it.Id)
						}
					}
					cases = append(cases, filterCase{fmt.Sprintf("exclude %d ids", n), &aislepb.RecommendFilters{ExcludeIds: ex}})
				}
				cases = append(cases,
					filterCase{"category dairy", &aislepb.RecommendFilters{Categories: dairy}},
					filterCase{"five categories", &aislepb.RecommendFilters{Categories: aisles[:5]}},
					filterCase{"exclude all categories but dairy", &aislepb.RecommendFilters{
						ExcludeCategories: slices.DeleteFunc(slices.Clone(aisles), func(a string) bool { return a == dairy[0] })}},
					filterCase{"dairy less half the ids", &aislepb.RecommendFilters{Categories: dairy,
						ExcludeIds: cases[1].f.ExcludeIds}},
				)
				for _, tc := range cases {
					req := &aislepb.RecommendRequest{Surface: base.Surface, Cart: base.Cart, RecentViews: base.RecentViews,
						Query: base.Query, K: base.K, Filters: tc.f}
					resp, err := client.Recommend(ctx, req)
					if err != nil {
						t.Errorf("%s, %s: %v", base.Surface, tc.name, err)
						continue
					}
					allowed := 0
					for _, it := range items {
						if admits(tc.f, it, base.Cart) {
							allowed++
						}
					}
					for _, got := range resp.Items {
						it, ok := byID[got.Id]
						if !ok || !admits(tc.f, it, base.Cart) {
							t.Errorf("%s, %s: %s (%s, aisle %s, stock %d) is filtered out", base.Surface, tc.name,
								got.Id, got.Name, it.Aisle, it.Stock)
						}
					}
					ids := make([]string, len(resp.Items))
					for i, it := range resp.Items {
						ids[i] = it.Id
					}
					answers[kind.name][base.Surface+", "+tc.name] = strings.Join(ids, ",")
					if want := min(int(base.K), allowed); len(resp.Items) != want {
						t.Errorf("%s, %s: %d items, want %d (%d allowed); rungs %v", base.Surface, tc.name,
							len(resp.Items), want, allowed, rungs(resp))
					}
				}
			}
		})
	}
	// The graph keeps exact recall under every filter at this size: its
	// answers are the exact index's, item for item.
	for name, flat := range answers["flat"] {
		if hnsw, ok := answers["hnsw"][name]; ok && hnsw != flat {
			t.Errorf("%s: hnsw answered %s, exact %s", name, hnsw, flat)
		}
	}
}

// admits reports whether the filters, the stock and the cart allow it.
func admits(f *aislepb.RecommendFilters, it filterItem, cart []string) bool {
	switch {
	case it.Stock <= 0, slices.Contains(f.ExcludeIds, it.ID), slices.Contains(cart, it.Name),
		slices.Contains(f.ExcludeCategories, it.Aisle),
		len(f.Categories) > 0 && !slices.Contains(f.Categories, it.Aisle):
		return false
	}
	return true
}
