package recommend

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/aisle-ai/aisle/fusion"
)

// Hybrid search routes a query (docs/evaluation.md A6): a query whose terms
// equal a category name's (the catalogue's aisles) is a category query,
// any other a text query, and each route has its own weights. The defaults
// are the pair chosen on the validation half of the Instacart held-out
// queries (MODELS.md, "Hybrid search", has the grid, the choice and the
// test figures).
var (
	DefaultHybridText     = HybridWeights{Lexical: 3, Intent: 0.1, Soft: true}
	DefaultHybridCategory = HybridWeights{Lexical: 0, Intent: 0.5, Soft: false}
)

// maxHybridWeight bounds a hybrid weight: the encoder's weight is 1 and
// the grid measured went to 5; beyond 100 the encoder no longer counts.
const maxHybridWeight = 100

// HybridWeights are one route's blend (fusion.Blend):
//
//	score = cos + Lexical · BM25 / the query's best BM25 + Intent · I
//
// with I hard, P(item's predicted category | query), or Soft,
// Σ_a P(a | query) · P(a | item's name) (TextScores.Scores).
type HybridWeights struct {
	Lexical float64
	Intent  float64
	Soft    bool
}

// Hybrid is a query source's hybrid configuration; an omitted field takes
// its route's default.
type Hybrid struct {
	// Text weighs queries that are not a category name.
	Text HybridRoute `yaml:"text"`
	// Category weighs queries equal to a category name.
	Category HybridRoute `yaml:"category"`
	// Candidates is C, the length of each of the three candidate lists
	// whose union is scored (docs/evaluation.md A7); 0 takes
	// DefaultHybridCandidates.
	Candidates int `yaml:"candidates"`
}

// candidates returns C, the default filled in.
func (h *Hybrid) candidates() int {
	if h == nil || h.Candidates == 0 {
		return DefaultHybridCandidates
	}
	return h.Candidates
}

// HybridRoute is one route's configuration.
type HybridRoute struct {
	// Lexical weighs BM25 over the names, scaled by the query's best.
	Lexical *float64 `yaml:"lexical"`
	// Intent weighs the category-intent term (package intent).
	Intent *float64 `yaml:"intent"`
	// IntentForm is "hard" or "soft" (HybridWeights).
	IntentForm string `yaml:"intent_form"`
}

// weights returns the route's weights for a query, defaults filled in.
func (h *Hybrid) weights(category bool) HybridWeights {
	w, r := DefaultHybridText, HybridRoute{}
	if category {
		w = DefaultHybridCategory
	}
	if h != nil {
		r = h.Text
		if category {
			r = h.Category
		}
	}
	if r.Lexical != nil {
		w.Lexical = *r.Lexical
	}
	if r.Intent != nil {
		w.Intent = *r.Intent
	}
	if r.IntentForm != "" {
		w.Soft = r.IntentForm == "soft"
	}
	return w
}

func (h *Hybrid) validate() error {
	if h.Candidates < 0 || h.Candidates > maxHybridCandidates {
		return fmt.Errorf("hybrid.candidates %d must be in [1, %d] (0: the default %d)", h.Candidates, maxHybridCandidates, DefaultHybridCandidates)
	}
	for _, route := range []struct {
		name string
		r    HybridRoute
	}{{"text", h.Text}, {"category", h.Category}} {
		for _, x := range []struct {
			name string
			v    *float64
		}{{"lexical", route.r.Lexical}, {"intent", route.r.Intent}} {
			if x.v != nil && !(*x.v >= 0 && *x.v <= maxHybridWeight) {
				return fmt.Errorf("hybrid.%s.%s %v must be in [0, %d]", route.name, x.name, *x.v, maxHybridWeight)
			}
		}
		if f := route.r.IntentForm; f != "" && f != "hard" && f != "soft" {
			return fmt.Errorf("hybrid.%s.intent_form %q: want hard or soft", route.name, f)
		}
	}
	return nil
}

// hybridTop returns the k best items for the query (vector q, text signals
// sig) under the route's blend w, skipping the ids skip reports (nil:
// none). Only hybridUnion's candidates are scored; the blend is exact on
// them, as the evaluation computes it (TestHybridGolden). Cost: the index
// search plus 3c blends at most, and no allocation of catalogue size
// (BENCHMARKS.md: BenchmarkHybridTop).
func hybridTop(ctx context.Context, items *Items, q []float32, sig *TextScores, w HybridWeights, k, c int, skip func(id string) bool) ([]scored, error) {
	rows, err := hybridUnion(ctx, items, q, sig, w.Soft, c, skip)
	if err != nil {
		return nil, err
	}
	cands := make([]fusion.Candidate[int], 0, len(rows))
	for _, r := range rows {
		lex, in := sig.Scores(items.ID(r), w.Soft)
		cands = append(cands, fusion.Candidate[int]{ID: r, Dense: dot(q, items.Vector(r)), Lexical: lex, Intent: in})
	}
	best := fusion.Blend(cands, fusion.Weights{Lexical: w.Lexical, Intent: w.Intent}, sig.BestLexical(), k)
	out := make([]scored, 0, len(best))
	for _, h := range best {
		out = append(out, scored{items.ID(h.ID), items.Name(h.ID), h.Score})
	}
	return out, nil
}

// hybridUnion returns the rows of the candidate union (docs/evaluation.md
// A7, candidates.go), ascending: the encoder index's top c by cosine
// (approximate on a graph index, as served), the top c names by BM25 and
// the top c by the intent term (soft or hard), its ties broken by cosine
// (A9: a category query's members all tie). Each list is the top c of the
// items skip does not report: an excluded item takes no slot in any of
// them, so a guest's exclusions do not shrink the union (the index search
// always skipped them; the BM25 and intent lists used to fill their c
// slots first and drop the excluded after, TestHybridUnionExclusions).
func hybridUnion(ctx context.Context, items *Items, q []float32, sig *TextScores, soft bool, c int, skip func(id string) bool) ([]int, error) {
	var allow Allow
	var skipDoc func(d int32) bool
	if skip != nil {
		allow = func(r int) bool { return !skip(items.ID(r)) }
		skipDoc = func(d int32) bool { return skip(sig.ix.ids[d]) }
	}
	hits, err := items.Index().Search(ctx, q, c, allow)
	if err != nil {
		return nil, err
	}
	rows := make([]int, 0, 3*c)
	for _, h := range hits {
		rows = append(rows, h.Row)
	}
	cos := func(d int32) float64 { // the intent list's tie-breaker (A9): the blend's cosine
		r, ok := items.Row(sig.ix.ids[d])
		if !ok {
			return math.Inf(-1)
		}
		return dot(q, items.Vector(r))
	}
	docs := sig.intentTop(c, soft, cos, skipDoc, sig.lexicalTop(c, skipDoc, make([]int32, 0, 2*c)))
	for _, d := range docs {
		if r, ok := items.Row(sig.ix.ids[d]); ok {
			rows = append(rows, r)
		}
	}
	slices.Sort(rows)
	rows = slices.Compact(rows)
	return rows, ctx.Err()
}

// dot is the cosine of two L2-normalised vectors, accumulated in float64
// as the evaluation computes it.
func dot(a, b []float32) float64 {
	s := 0.0
	for i := range min(len(a), len(b)) {
		s += float64(a[i]) * float64(b[i])
	}
	if math.IsNaN(s) {
		return math.Inf(-1)
	}
	return s
}
