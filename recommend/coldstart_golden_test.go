package recommend

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/internal/servetest"
)

// coldStartGolden is testdata/coldstart_golden.json
// (scripts/eval/coldstart_golden.py).
type coldStartGolden struct {
	Dim   int `json:"dim"`
	Items []struct {
		ID         string   `json:"id"`
		Reachable  bool     `json:"reachable"`
		VectorBits []uint32 `json:"vector_bits"`
	} `json:"items"`
	Sessions []struct {
		Name       string   `json:"name"`
		VectorBits []uint32 `json:"vector_bits"`
		Exclude    []string `json:"exclude"`
		Top        []string `json:"top"`
	} `json:"sessions"`
}

// newItemsCatalog is the default repository's catalogue with
// testdata/new_items.jsonl appended, as a retailer would add items.
func newItemsCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	base, err := os.ReadFile(filepath.Join(servetest.Root(t), "models", catalog.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	added, err := os.ReadFile(filepath.Join("testdata", "new_items.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Parse(append(base, added...))
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestColdStartGolden checks the served new_items table (buildNewItems over
// the cart model's committed item vectors and the catalogue with the new
// items appended) against the reference implementation of A13's rule
// (scripts/eval/coldstart.py through coldstart_golden.py): the same new
// items reachable, bit-identical vectors, and, for fixed session vectors,
// the same ranking (the table's index, as the source searches it), with
// and without an excluded item.
func TestColdStartGolden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "coldstart_golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g coldStartGolden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	items, err := LoadItems(filepath.Join(servetest.Root(t), "models", "cart-gnn", "items"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tab := buildNewItems(newItemsCatalog(t), items)
	if tab.index.m.Dim != g.Dim {
		t.Fatalf("dim %d, golden %d", tab.index.m.Dim, g.Dim)
	}
	var reachable []string
	for _, it := range g.Items {
		if it.Reachable {
			reachable = append(reachable, it.ID)
		}
	}
	if !slices.Equal(tab.ids, reachable) {
		t.Fatalf("reachable new items %v, golden %v", tab.ids, reachable)
	}
	for _, it := range g.Items {
		r, ok := tab.byID[it.ID]
		if !it.Reachable {
			continue
		}
		if !ok {
			t.Fatalf("%s: not in the table", it.ID)
		}
		for j, b := range it.VectorBits {
			if got := math.Float32bits(tab.index.m.Data[r*g.Dim+j]); got != b {
				t.Fatalf("%s: dimension %d has bits %#08x (%v), golden %#08x (%v)", it.ID, j, got,
					math.Float32frombits(got), b, math.Float32frombits(b))
			}
		}
	}
	for _, s := range g.Sessions {
		q := make([]float32, len(s.VectorBits))
		for j, b := range s.VectorBits {
			q[j] = math.Float32frombits(b)
		}
		top, err := tab.index.Search(t.Context(), q, len(tab.ids), func(r int) bool {
			return !slices.Contains(s.Exclude, tab.ids[r])
		})
		if err != nil {
			t.Fatal(err)
		}
		got := make([]string, len(top))
		for i, h := range top {
			got[i] = tab.ids[h.Row]
		}
		if !slices.Equal(got, s.Top) {
			t.Errorf("session %q without %v: %v, golden %v", s.Name, s.Exclude, got, s.Top)
		}
	}
}
