package recommend

import (
	"fmt"
	"sync"
	"testing"

	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/rerank"
)

// TestMergedAttrsKeptPerModelSet serves two surfaces whose item tables
// come from different model sets (no attribute_models) in turn: each set's
// merge is built once and kept, where a single cached merge was rebuilt on
// every call that changed surface. The merge carries each item's numbers,
// parsed once.
func TestMergedAttrsKeptPerModelSet(t *testing.T) {
	repo := testRepo(t)
	p := New(repo.Manager, testSurfaces(t, func(s *Surfaces) { s.AttributeModels = nil }), Options{})
	ctx := ctxT(t)
	reqs := []Request{
		{Surface: "cart", Cart: []string{"whole milk", "domestic eggs"}},
		{Surface: "search", Cart: []string{"whole milk"}, Query: "baking"},
	}
	merges := func() map[string]*mergedAttrs {
		p.attrsMu.Lock()
		defer p.attrsMu.Unlock()
		out := map[string]*mergedAttrs{}
		for k, e := range p.attrs.byKey {
			out[k] = e.merged
		}
		return out
	}
	for _, r := range reqs {
		if _, err := p.Recommend(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	first := merges()
	if len(first) != 2 {
		t.Fatalf("%d merges after two surfaces over different models, want 2: %v", len(first), first)
	}
	for range 3 {
		for _, r := range reqs {
			if _, err := p.Recommend(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	for k, m := range merges() {
		if first[k] != m {
			t.Errorf("merge %q was rebuilt", k)
		}
		for id, a := range m.byID {
			if n := m.nums[id]; n == nil || *n != rerank.ParseNumbers(a) {
				t.Fatalf("merge %q item %s: numbers %v, want those of %v", k, id, n, a)
			}
		}
	}
}

// TestMergedAttrsBounded merges more model sets than maxMerged: the cache
// keeps the newest maxMerged.
func TestMergedAttrsBounded(t *testing.T) {
	p := New(nil, &SurfaceStore{}, Options{})
	for i := range maxMerged + 5 {
		models := map[string]*model{"m": {v: &repository.Version{Number: int64(i + 1)}, items: &Items{}}}
		if m := p.mergedAttrs(models); m.key != fmt.Sprintf("m:%d#0,", i+1) {
			t.Fatalf("merge key %q", m.key)
		}
	}
	p.attrsMu.Lock()
	defer p.attrsMu.Unlock()
	if len(p.attrs.byKey) != maxMerged || len(p.attrs.order) != maxMerged {
		t.Errorf("%d merges kept (%d in order), want %d", len(p.attrs.byKey), len(p.attrs.order), maxMerged)
	}
	if _, ok := p.attrs.byKey[fmt.Sprintf("m:%d#0,", maxMerged+5)]; !ok {
		t.Error("the newest merge was evicted")
	}
}

// numCatalog is a catalogue whose numbers were parsed at load; its
// attribute strings say otherwise, so a re-rank that parses them shows.
type numCatalog struct{ MapCatalog }

func (numCatalog) ItemNumbers(string) (*rerank.Numbers, bool) {
	return &rerank.Numbers{Margin: 0.25, Stock: 3, HasStock: true}, true
}

// TestCatalogNumbersUsed checks that the re-rank gets the numbers a
// CatalogNumbers parsed at load, not its attribute strings.
func TestCatalogNumbersUsed(t *testing.T) {
	repo := testRepo(t)
	p := New(repo.Manager, testSurfaces(t, nil), Options{})
	ctx := ctxT(t)
	req := Request{Surface: "cart", Cart: []string{"whole milk", "domestic eggs"}}
	resp, err := p.Recommend(ctx, req)
	if err != nil || len(resp.Items) == 0 {
		t.Fatalf("Recommend: %v, %v", resp, err)
	}
	cat := numCatalog{MapCatalog{}}
	for _, it := range resp.Items {
		cat.MapCatalog[it.ID] = map[string]string{"margin": "0.9", "stock": "0"}
	}
	p = New(repo.Manager, testSurfaces(t, nil), Options{Catalog: cat})
	resp, err = p.Recommend(ctx, req)
	if err != nil || len(resp.Items) == 0 {
		t.Fatalf("Recommend with the catalogue: %v, %v", resp, err)
	}
	known := 0
	for _, it := range resp.Items {
		if _, ok := cat.MapCatalog[it.ID]; ok {
			known++
			if it.Components.Margin != 0.25 {
				t.Errorf("item %s: margin %v, want the parsed 0.25 (not the string's 0.9)", it.ID, it.Components.Margin)
			}
		}
	}
	if known == 0 {
		t.Error("no catalogue item in the slate: their string stock 0 dropped them, not the parsed 3")
	}
}

// TestMergedAttrsBuiltOnce: calls that need a merge nobody has built yet
// (after a reload) build it once between them and share it.
func TestMergedAttrsBuiltOnce(t *testing.T) {
	p := New(nil, &SurfaceStore{}, Options{})
	models := map[string]*model{"m": {v: &repository.Version{Number: 7}, items: &Items{}}}
	const calls = 16
	got := make([]*mergedAttrs, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() { got[i] = p.mergedAttrs(models) })
	}
	wg.Wait()
	if n := p.attrs.builds.Load(); n != 1 {
		t.Errorf("%d concurrent calls built %d merges, want 1", calls, n)
	}
	for _, m := range got {
		if m == nil || m != got[0] {
			t.Fatalf("calls got different merges: %p and %p", m, got[0])
		}
	}
}

// TestMergedAttrsReplacedInPlace: a version replaced in place keeps its
// number but loads a new item table; the merge must be the new table's.
func TestMergedAttrsReplacedInPlace(t *testing.T) {
	p := New(nil, &SurfaceStore{}, Options{})
	v := &repository.Version{Number: 3}
	old := p.mergedAttrs(map[string]*model{"m": {v: v, items: &Items{load: 1}}})
	now := p.mergedAttrs(map[string]*model{"m": {v: v, items: &Items{load: 2}}})
	if old == now || old.key == now.key {
		t.Fatalf("the replaced version's table reused the old merge (key %q)", now.key)
	}
}
