// Package fusion merges what different retrievers say about the same
// items into one ranking. Two ways:
//
//   - Blend, the served hybrid search (recommend's query source): a score
//     blend of the encoder's cosine, BM25 scaled by the query's best, and
//     the category-intent posterior (package intent), with weights chosen
//     on a validation split (MODELS.md, "Hybrid search").
//
//   - RRF and Weighted: reciprocal rank fusion (Cormack, Clarke and
//     Büttcher, SIGIR 2009),
//
//     score(d) = Σ_lists w_l / (k + rank_l(d))
//
//     with rank_l(d) the 1-based position of d in list l (lists that lack d
//     add nothing). RRF uses ranks, not scores, so retrievers whose scores
//     live on different scales fuse without calibration. k damps the head:
//     with k = 60 (the paper's value, DefaultK) the first and the tenth
//     place of one list differ by a factor of 1.15. It was the first served
//     fusion; on the encoder protocols equal-weight RRF beat both
//     retrievers only on aisle + fragment queries (MODELS.md), so it is
//     kept for comparison only.
//
// The package is pure functions and allocation only.
package fusion

import "sort"

// DefaultK is the paper's k.
const DefaultK = 60

// Hit is one fused item.
type Hit[K comparable] struct {
	ID    K
	Score float64
	// Ranks holds the item's 1-based rank in each input list, 0 where the
	// list lacks it: the explanation of the score.
	Ranks []int
}

// RRF fuses lists with equal weights; k <= 0 means DefaultK. Items are
// ordered by score, then by their best rank, then by first appearance
// (list by list), so the result is deterministic. A list repeating an item
// counts its first position only.
func RRF[K comparable](k float64, lists ...[]K) []Hit[K] {
	return Weighted(k, nil, lists...)
}

// Weighted is RRF with one weight per list (nil: all 1); a weight of 0
// keeps a list's ranks in Hit.Ranks without scoring them.
func Weighted[K comparable](k float64, weights []float64, lists ...[]K) []Hit[K] {
	if k <= 0 {
		k = DefaultK
	}
	type entry struct {
		hit   Hit[K]
		best  int
		first int
	}
	byID := map[K]*entry{}
	var order []*entry
	for l, list := range lists {
		w := 1.0
		if weights != nil {
			w = weights[l]
		}
		for i, id := range list {
			e := byID[id]
			if e == nil {
				e = &entry{hit: Hit[K]{ID: id, Ranks: make([]int, len(lists))}, best: i + 1, first: len(order)}
				byID[id] = e
				order = append(order, e)
			}
			if e.hit.Ranks[l] != 0 {
				continue // repeated within a list
			}
			e.hit.Ranks[l] = i + 1
			e.hit.Score += w / (k + float64(i+1))
			e.best = min(e.best, i+1)
		}
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := order[a], order[b]
		if x.hit.Score != y.hit.Score {
			return x.hit.Score > y.hit.Score
		}
		if x.best != y.best {
			return x.best < y.best
		}
		return x.first < y.first
	})
	out := make([]Hit[K], len(order))
	for i, e := range order {
		out[i] = e.hit
	}
	return out
}
