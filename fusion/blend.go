package fusion

import "container/heap"

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
// how its weights were chosen. It returns the k best (k <= 0: all), best
// first; ties keep the input order. Scores are returned in Hit.Score;
// Hit.Ranks is nil. Cost: O(n log k) (a bounded heap), so a search over a
// whole catalogue for a slate's candidates does not sort the catalogue.
func Blend[K comparable](cands []Candidate[K], w Weights, bestLexical float64, k int) []Hit[K] {
	if k <= 0 || k > len(cands) {
		k = len(cands)
	}
	h := make(blendHeap[K], 0, k)
	for i, c := range cands {
		lex := 0.0
		if bestLexical > 0 {
			lex = c.Lexical / bestLexical
		}
		s := c.Dense + float64(w.Lexical*lex)
		s += float64(w.Intent * c.Intent)
		e := blendEntry[K]{Hit[K]{ID: c.ID, Score: s}, i}
		if len(h) < k {
			heap.Push(&h, e)
		} else if k > 0 && e.before(h[0]) {
			h[0] = e
			heap.Fix(&h, 0)
		}
	}
	out := make([]Hit[K], len(h))
	for i := len(h) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&h).(blendEntry[K]).hit
	}
	return out
}

// blendEntry is a scored candidate and its input position (the tie-break).
type blendEntry[K comparable] struct {
	hit Hit[K]
	pos int
}

// before orders entries: higher score first, then earlier input.
func (e blendEntry[K]) before(o blendEntry[K]) bool {
	if e.hit.Score != o.hit.Score {
		return e.hit.Score > o.hit.Score
	}
	return e.pos < o.pos
}

// blendHeap is a min-heap by before: its root is the worst entry kept.
type blendHeap[K comparable] []blendEntry[K]

func (h blendHeap[K]) Len() int           { return len(h) }
func (h blendHeap[K]) Less(i, j int) bool { return h[j].before(h[i]) }
func (h blendHeap[K]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *blendHeap[K]) Push(x any)        { *h = append(*h, x.(blendEntry[K])) }
func (h *blendHeap[K]) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
