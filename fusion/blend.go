package fusion

import "sort"

// Candidate is one item to blend: its encoder cosine similarity (Dense)
// and its BM25 score (Lexical, 0 when it shares no term with the query).
type Candidate[K comparable] struct {
	ID      K
	Dense   float64
	Lexical float64
}

// Blend fuses by score instead of rank: each candidate scores
//
//	Dense + w · Lexical / (the best Lexical among the candidates)
//
// so that w means the same for every query (w = 0, or no lexical match at
// all, leaves the encoder's order). The candidates are the union of both
// retrievers' lists; lexical-only candidates need their cosine computed by
// the caller (their embeddings are in the index). On the encoder protocols
// of MODELS.md, w = 1 beats BM25 on name fragments and both retrievers on
// aisle + fragment queries, and loses to the encoder on pure category
// intent, so route category queries to the encoder alone. Ties keep the
// input order. Scores are returned in Hit.Score; Hit.Ranks is nil.
func Blend[K comparable](cands []Candidate[K], w float64) []Hit[K] {
	best := 0.0
	for _, c := range cands {
		best = max(best, c.Lexical)
	}
	out := make([]Hit[K], len(cands))
	for i, c := range cands {
		s := c.Dense
		if best > 0 {
			s += w * c.Lexical / best
		}
		out[i] = Hit[K]{ID: c.ID, Score: s}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Score > out[b].Score })
	return out
}
