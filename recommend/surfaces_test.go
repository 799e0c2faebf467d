package recommend

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/internal/servetest"
)

func TestDefaultSurfacesParse(t *testing.T) {
	s, err := LoadSurfaces(filepath.Join(servetest.Root(t), "models", SurfacesFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cart", "search", "home"} {
		if s.Surfaces[name] == nil {
			t.Errorf("surface %s missing", name)
		}
	}
}

const minimalSurface = `surfaces:
  cart:
    k: 5
    budgets: {features: 1s, embeddings: 1s, candidates: 1s, slate: 1s}
    sources: [{kind: popular, model: cart-gnn, budget: 10}]
`

func TestSurfacesValidation(t *testing.T) {
	for _, tc := range []struct{ edit, want string }{
		{"", ""},
		{"    colour: blue\n", "field colour not found"},
		{"    rerank: {weights: {relevence: 1}}\n", "field relevence not found"},
		{"    rerank: {weights: {margin: -1}}\n", "weights.margin -1"},
		{"    max_k: 2\n", "max_k 2 must be in [k, 200]"},
		{"    bandit: {arms: -1}\n", "bandit.arms -1"},
	} {
		s, err := ParseSurfaces([]byte(minimalSurface + tc.edit))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.edit, err)
		case tc.want != "" && (err == nil || !errors.Is(err, ErrSurfaces) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: got %v, want %q", tc.edit, err, tc.want)
		case tc.want == "" && s.Surfaces["cart"].MaxK != 5:
			t.Errorf("max_k defaults to k: %d", s.Surfaces["cart"].MaxK)
		}
	}
	for _, tc := range []struct{ body, want string }{
		{"surfaces: {}\n", "no surfaces"},
		{strings.Replace(minimalSurface, "kind: popular", "kind: trending", 1), `kind "trending"`},
		{strings.Replace(minimalSurface, "kind: popular", "kind: session", 1), "no popular source"},
		{strings.Replace(minimalSurface, "budget: 10", "budget: 0", 1), "budget 0 must be in [1, 1000]"},
		{strings.Replace(minimalSurface, "model: cart-gnn", "model: ../etc", 1), `model "../etc" is not a valid model name`},
		{strings.Replace(minimalSurface, "slate: 1s", "slate: 0s", 1), "budgets.slate 0s"},
		{strings.Replace(minimalSurface, "sources: [", "sources: [{kind: new_items, model: cart-gnn, budget: 0}, ", 1), "(new_items): budget 0 must be in [1, 1000]"},
		{strings.Replace(minimalSurface, "sources: [", "sources: [{kind: new_items, budget: 5}, ", 1), `(new_items): model "" is not a valid model name`},
		{strings.Replace(minimalSurface, "sources: [", "sources: [{kind: new_items, model: cart-gnn, budget: 5, hybrid: {}}, ", 1), "hybrid applies to query sources only"},
		{strings.Replace(minimalSurface, "sources: [", "sources: [{kind: new_items, model: cart-gnn, budget: 5, k: 3}, ", 1), "field k not found"},
	} {
		if _, err := ParseSurfaces([]byte(tc.body)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

// TestSurfaceStoreReload: a valid change is applied, an invalid one is
// refused and the previous surfaces keep serving, a removed file means no
// surfaces.
func TestSurfaceStoreReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), SurfacesFile)
	store, err := NewSurfaceStore(path, nil)
	if err != nil || store.Get() != nil {
		t.Fatalf("missing file: %v %v", store.Get(), err)
	}
	write := func(body string, age time.Duration) {
		servetest.WriteFile(t, path, []byte(body))
		// A distinct mtime per write, so the stamp changes even within
		// the file system's timestamp granularity.
		mt := time.Now().Add(-age)
		if err := os.Chtimes(path, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	write(minimalSurface, 3*time.Hour)
	if err := store.Reload(); err != nil || store.Get().Surfaces["cart"].K != 5 {
		t.Fatalf("first load: %v", err)
	}
	write(strings.Replace(minimalSurface, "k: 5", "k: 7", 1), 2*time.Hour)
	if err := store.Reload(); err != nil || store.Get().Surfaces["cart"].K != 7 {
		t.Fatalf("change: %v", err)
	}
	write(minimalSurface+"    oops: 1\n", time.Hour)
	if err := store.Reload(); err == nil || store.Get().Surfaces["cart"].K != 7 {
		t.Fatalf("invalid change applied or not reported: %v", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := store.Reload(); err != nil || store.Get() != nil {
		t.Fatalf("removed: %v", err)
	}
	if _, err := NewSurfaceStore(path+".bad", nil); err != nil {
		t.Fatal(err)
	}
	servetest.WriteFile(t, path, []byte("surfaces: [1]"))
	if _, err := NewSurfaceStore(path, nil); !errors.Is(err, ErrSurfaces) {
		t.Fatalf("invalid at start: %v", err)
	}
}

// TestHybridConfig: a query source's hybrid block is strict, validated,
// and fills omitted fields with its route's defaults.
func TestHybridConfig(t *testing.T) {
	query := strings.Replace(minimalSurface, "sources: [", "sources: [{kind: query, model: query-encoder, budget: 10, hybrid: HYBRID}, ", 1)
	for _, tc := range []struct{ hybrid, want string }{
		{"{}", ""},
		{"{text: {lexical: 2, intent_form: soft}, category: {intent: 0}}", ""},
		{"{text: {lexicl: 2}}", "field lexicl not found"},
		{"{route: {}}", "field route not found"},
		{"{text: {lexical: -1}}", "hybrid.text.lexical -1 must be in [0, 100]"},
		{"{category: {intent: 101}}", "hybrid.category.intent 101"},
		{"{category: {intent_form: fuzzy}}", `hybrid.category.intent_form "fuzzy"`},
		{"{candidates: -1}", "hybrid.candidates -1 must be in [1, 10000]"},
		{"{candidates: 10001}", "hybrid.candidates 10001"},
		{"{candidates: 10}", ""},
		{"{candidates: 9}", "budget 10 exceeds hybrid.candidates 9"},
	} {
		_, err := ParseSurfaces([]byte(strings.Replace(query, "HYBRID", tc.hybrid, 1)))
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.hybrid, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrSurfaces) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.hybrid, err, tc.want)
		}
	}
	s, err := ParseSurfaces([]byte(strings.Replace(query, "HYBRID", "{text: {lexical: 2, intent_form: soft}, category: {intent: 0}}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	h := s.Surfaces["cart"].Sources[0].Hybrid
	if got := h.weights(false); got != (HybridWeights{Lexical: 2, Intent: DefaultHybridText.Intent, Soft: true}) {
		t.Errorf("text route %+v", got)
	}
	if got := h.weights(true); got != (HybridWeights{Lexical: DefaultHybridCategory.Lexical, Intent: 0, Soft: DefaultHybridCategory.Soft}) {
		t.Errorf("category route %+v", got)
	}
	var none *Hybrid
	if none.weights(true) != DefaultHybridCategory || none.weights(false) != DefaultHybridText {
		t.Error("no hybrid block: not the defaults")
	}
	if none.candidates() != DefaultHybridCandidates || h.candidates() != DefaultHybridCandidates || (&Hybrid{Candidates: 5}).candidates() != 5 {
		t.Error("hybrid.candidates: not the default, or not the value set")
	}
	// No hybrid block: C is the default, and the budget may not pass it.
	noHybrid := strings.Replace(query, ", hybrid: HYBRID", "", 1)
	for budget, want := range map[int]string{DefaultHybridCandidates: "", DefaultHybridCandidates + 1: "budget 201 exceeds hybrid.candidates 200"} {
		_, err := ParseSurfaces([]byte(strings.Replace(noHybrid, "budget: 10}", fmt.Sprintf("budget: %d}", budget), 1)))
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "hybrid search")) {
			t.Errorf("budget %d without a hybrid block: got %v, want %q, about hybrid search", budget, err, want)
		}
	}
	popular := strings.Replace(minimalSurface, "budget: 10}", "budget: 10, hybrid: {}}", 1)
	if _, err := ParseSurfaces([]byte(popular)); err == nil || !strings.Contains(err.Error(), "query sources only") {
		t.Errorf("hybrid on a popular source: %v", err)
	}
}

// TestNewItemsSourceParses: a new_items source takes a model and a budget
// (and a weight) like the session source.
func TestNewItemsSourceParses(t *testing.T) {
	s, err := ParseSurfaces([]byte(strings.Replace(minimalSurface, "sources: [",
		"sources: [{kind: new_items, model: cart-gnn, budget: 5, weight: 0.5}, ", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if src := s.Surfaces["cart"].Sources[0]; src != (Source{Kind: SourceNewItems, Model: "cart-gnn", Budget: 5, Weight: 0.5}) {
		t.Fatalf("source %+v", src)
	}
	if got := s.Surfaces["cart"].newItemsModels; !slices.Equal(got, []string{"cart-gnn"}) {
		t.Fatalf("models of the new_items sources %v, want [cart-gnn]", got)
	}
}
