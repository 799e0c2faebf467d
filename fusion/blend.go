package fusion

import "sort"

// Candidate is one item to blend: its encoder cosine similarity (Dense),
// its BM25 score (Lexical, 0 when it shares no term with the query) and its
// category-intent score (Intent, package intent: P(the item's predicted
// category | query), 0 when the query carries no intent).
type Candidate[K comparable] struct {
	ID      K
	Dense   float64
	Lexical float64
	Intent  float64
}

// Weights are a blend's weights; the encoder's weight is 1.
type Weights struct {
	Lexical float64
	Intent  float64
}

// Blend fuses by score instead of rank: each candidate scores
//
//	Dense + w.Lexical · Lexical / bestLexical + w.Intent · Intent
//
// added in that order, each product rounded on its own (no fused
// multiply-add), so that it equals scripts/eval/intent.py's hybrid() to
// the last bit given the same inputs. bestLexical is the query's best BM25
// score over the whole catalogue, not only the candidates, so that
// w.Lexical means the same for every query; bestLexical <= 0 (no name
// shares a term with the query) adds no lexical term. Zero weights leave
// the encoder's order. MODELS.md ("Hybrid search") measures the blend and
// how its weights were chosen. Ties keep the input order. Scores are
// returned in Hit.Score; Hit.Ranks is nil.
func Blend[K comparable](cands []Candidate[K], w Weights, bestLexical float64) []Hit[K] {
	out := make([]Hit[K], len(cands))
	for i, c := range cands {
		lex := 0.0
		if bestLexical > 0 {
			lex = c.Lexical / bestLexical
		}
		s := c.Dense + float64(w.Lexical*lex)
		s += float64(w.Intent * c.Intent)
		out[i] = Hit[K]{ID: c.ID, Score: s}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Score > out[b].Score })
	return out
}
