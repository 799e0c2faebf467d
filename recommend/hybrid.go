package recommend

import (
	"context"
	"fmt"
	"math"

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

// hybridTop scores every item of items against the query (vector q, text
// signals sig) with the route's blend w and returns the k best, skipping
// skip's ids.
// Every item is scored, as the evaluation scores the whole catalogue, so
// the served ranking is the measured one (TestHybridGolden); the encoder
// index's approximate search is not used. Cost: one dot product per item
// (BENCHMARKS.md: BenchmarkHybridTop).
func hybridTop(ctx context.Context, items *Items, q []float32, sig *TextScores, w HybridWeights, k int, skip map[string]bool) ([]scored, error) {
	cands := make([]fusion.Candidate[int], 0, items.Len())
	for r := range items.Len() {
		if r%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		id := items.ID(r)
		if skip[id] {
			continue
		}
		lex, in := sig.Scores(id, w.Soft)
		cands = append(cands, fusion.Candidate[int]{ID: r, Dense: dot(q, items.Vector(r)), Lexical: lex, Intent: in})
	}
	hits := fusion.Blend(cands, fusion.Weights{Lexical: w.Lexical, Intent: w.Intent}, sig.BestLexical(), k)
	out := make([]scored, 0, len(hits))
	for _, h := range hits {
		out = append(out, scored{items.ID(h.ID), items.Name(h.ID), h.Score})
	}
	return out, nil
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
