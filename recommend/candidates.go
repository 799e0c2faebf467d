package recommend

import (
	"cmp"
	"slices"
)

// The hybrid's candidate stage (docs/evaluation.md A7): the blend is
// computed on the union of three top-C lists only, the encoder index's top
// C by cosine, the top C names by BM25 and the top C by the intent term,
// so that a query costs a few hundred blends, not one per item.

// DefaultHybridCandidates is A7's C, fixed a priori (a typical candidate
// budget; not tuned on the evaluation's queries). MODELS.md, "Hybrid
// search", reports the test figures at this C.
const DefaultHybridCandidates = 200

// maxHybridCandidates bounds hybrid.candidates: each list costs C blends.
const maxHybridCandidates = 10000

// intentMass is the share of P(a | query) the intent list's categories
// carry (topCategories). A name predicted outside them has a hard intent
// of at most 1 − intentMass; the soft list leaves such names out.
const intentMass = 0.999

// ranked is a name position with a score, for top-C selection.
type ranked struct {
	doc   int32
	score float64
}

// topC keeps the c best of xs (higher score first, ties: lower position)
// in that order, reusing xs: a bounded heap, O(len(xs) · log c), since
// the intent list's domain may be most of the catalogue (a flat posterior)
// and a full sort of 50,000 cost 6 ms (BenchmarkHybridTop profile).
func topC(xs []ranked, c int) []ranked {
	if c <= 0 {
		return xs[:0]
	}
	worse := func(a, b ranked) bool { return a.score < b.score || a.score == b.score && a.doc > b.doc }
	h := xs[:0] // a min-heap by worse over the prefix: its root is the worst kept
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			if r := l + 1; r < len(h) && worse(h[r], h[l]) {
				l = r
			}
			if !worse(h[l], h[i]) {
				return
			}
			h[i], h[l] = h[l], h[i]
			i = l
		}
	}
	for _, x := range xs {
		switch {
		case len(h) < c:
			h = append(h, x)
			for i := len(h) - 1; i > 0; {
				p := (i - 1) / 2
				if !worse(h[i], h[p]) {
					break
				}
				h[i], h[p] = h[p], h[i]
				i = p
			}
		case worse(h[0], x):
			h[0] = x
			down(0)
		}
	}
	slices.SortFunc(h, func(a, b ranked) int {
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		return cmp.Compare(a.doc, b.doc)
	})
	return h
}

// lexicalTop appends to dst the c names with the best BM25 scores (names
// sharing no term with the query are never among them).
func (s *TextScores) lexicalTop(c int, dst []int32) []int32 {
	xs := make([]ranked, len(s.lexical))
	for i, h := range s.lexical {
		xs[i] = ranked{int32(h.Doc), h.Score}
	}
	for _, x := range topC(xs, c) {
		dst = append(dst, x.doc)
	}
	return dst
}

// topCategories is A7's A_q: the categories by decreasing P(a | query)
// (ties: the lower index first) until their sum first reaches intentMass.
func topCategories(p []float64) []int {
	order := make([]int, len(p))
	for a := range order {
		order[a] = a
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(p[b], p[a]) })
	sum := 0.0
	for i, a := range order {
		sum += p[a]
		if sum >= intentMass {
			return order[:i+1]
		}
	}
	return order
}

// intentTop appends to dst the c names predicted in the query's
// topCategories with the best intent term (hard or soft); nothing for a
// query without intent. Hard: every name outside scores at most the
// smallest P inside, so this is the exact top C whenever at least C names
// are predicted inside. Cost: one intent term per member of those
// categories.
func (s *TextScores) intentTop(c int, soft bool, dst []int32) []int32 {
	if s.posterior == nil {
		return dst
	}
	cats := topCategories(s.posterior)
	n := 0
	for _, a := range cats {
		n += len(s.ix.members[a])
	}
	xs := make([]ranked, 0, n)
	for _, a := range cats {
		for _, d := range s.ix.members[a] {
			xs = append(xs, ranked{d, s.intent(int(d), soft)})
		}
	}
	for _, x := range topC(xs, c) {
		dst = append(dst, x.doc)
	}
	return dst
}
