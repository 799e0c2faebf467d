package recommend

import (
	"context"
	"fmt"
	"math"

	"github.com/aisle-ai/aisle/fusion"
)

// Hybrid search defaults: the setting chosen on the validation half of the
// Instacart held-out queries (docs/evaluation.md A5; MODELS.md, "Hybrid
// search", has the grid, the choice and the test figures).
const (
	DefaultHybridLexical    = 0.3
	DefaultHybridIntent     = 0.3
	DefaultHybridExactNames = true
)

// maxHybridWeight bounds a hybrid weight: the encoder's weight is 1 and
// the grid measured went to 1.5; beyond 100 the encoder no longer counts.
const maxHybridWeight = 100

// Hybrid weighs a query source's text signals against the encoder's
// cosine (fusion.Blend):
//
//	score = cos + lexical · BM25 / the query's best BM25 + intent · P(item's predicted category | query)
//
// An omitted field takes its default (the constants above).
type Hybrid struct {
	// Lexical weighs BM25 over the names, scaled by the query's best.
	Lexical *float64 `yaml:"lexical"`
	// Intent weighs the category-intent posterior (package intent).
	Intent *float64 `yaml:"intent"`
	// ExactNames: a query equal to a category name (after the encoder's
	// normalisation) is that category with probability 1.
	ExactNames *bool `yaml:"exact_names"`
}

// weights returns the blend weights and the exact-names switch, defaults
// filled in.
func (h *Hybrid) weights() (fusion.Weights, bool) {
	w := fusion.Weights{Lexical: DefaultHybridLexical, Intent: DefaultHybridIntent}
	exact := DefaultHybridExactNames
	if h == nil {
		return w, exact
	}
	if h.Lexical != nil {
		w.Lexical = *h.Lexical
	}
	if h.Intent != nil {
		w.Intent = *h.Intent
	}
	if h.ExactNames != nil {
		exact = *h.ExactNames
	}
	return w, exact
}

func (h *Hybrid) validate() error {
	for _, x := range []struct {
		name string
		v    *float64
	}{{"lexical", h.Lexical}, {"intent", h.Intent}} {
		if x.v != nil && !(*x.v >= 0 && *x.v <= maxHybridWeight) {
			return fmt.Errorf("hybrid.%s %v must be in [0, %d]", x.name, *x.v, maxHybridWeight)
		}
	}
	return nil
}

// hybridTop scores every item of items against the query (vector q, text
// signals sig) with the blend and returns the k best, skipping skip's ids.
// Every item is scored, as the evaluation scores the whole catalogue, so
// the served ranking is the measured one (TestHybridGolden); the encoder
// index's approximate search is not used. Cost: one dot product per item
// (BENCHMARKS.md: BenchmarkHybridTop).
func hybridTop(ctx context.Context, items *Items, q []float32, sig *TextScores, w fusion.Weights, k int, skip map[string]bool) ([]scored, error) {
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
		lex, in := sig.Scores(id)
		cands = append(cands, fusion.Candidate[int]{ID: r, Dense: dot(q, items.Vector(r)), Lexical: lex, Intent: in})
	}
	hits := fusion.Blend(cands, w, sig.BestLexical(), k)
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
