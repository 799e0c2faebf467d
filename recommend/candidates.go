package recommend

import (
	"cmp"
	"math"
	"slices"
)

// The hybrid's candidate stage (docs/evaluation.md A7): the blend is
// computed on the union of three top-C lists only, the encoder index's top
// C by cosine, the top C names by BM25 and the top C by the intent term,
// so that a query costs a few hundred blends, not one per item. The intent
// list breaks its ties by cosine (A9): a category query gives every member
// of its category the same intent, and A7's tie rule (catalogue position)
// kept an arbitrary C of them, losing targets the full scan ranked high.

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

// ranked is a name position with a score, for top-C selection, and its
// tie-breaker once computed (keeper.tie).
type ranked struct {
	doc   int32
	score float64
	tie   float64
	tied  bool // tie is computed
}

// keeper keeps the c best ranked pushed into it: a min-heap whose root is
// the worst kept. Order: score descending, then, when tie is set, tie(doc)
// descending, then doc ascending. tie is computed lazily, only for items
// compared with an equal score: a category query's intent list computes it
// for its category's members, a soft list for the rare exact ties.
//
// skip drops docs that may not take a slot (the request's exclusions,
// hybridUnion): a skipped doc never enters, so the c kept are the c best
// of the others. It is asked only about a doc that would enter, so its
// cost is per admission, not per push.
type keeper struct {
	h    []ranked
	c    int
	tie  func(doc int32) float64 // nil: ties by doc alone (A7)
	skip func(doc int32) bool    // nil: none skipped
}

// skipped reports whether k.skip drops x.
func (k *keeper) skipped(x *ranked) bool { return k.skip != nil && k.skip(x.doc) }

// tieOf returns x's tie-breaker, computing it once. tie must not return
// NaN (the order would not be total).
func (k *keeper) tieOf(x *ranked) float64 {
	if !x.tied {
		x.tie, x.tied = k.tie(x.doc), true
	}
	return x.tie
}

// worse reports whether a ranks below b.
func (k *keeper) worse(a, b *ranked) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	if k.tie != nil {
		if ta, tb := k.tieOf(a), k.tieOf(b); ta != tb {
			return ta < tb
		}
	}
	return a.doc > b.doc
}

func (k *keeper) push(x ranked) {
	h := k.h
	switch {
	case len(h) < k.c:
		if k.skipped(&x) {
			return
		}
		h = append(h, x)
		for i := len(h) - 1; i > 0; {
			p := (i - 1) / 2
			if !k.worse(&h[i], &h[p]) {
				break
			}
			h[i], h[p] = h[p], h[i]
			i = p
		}
	case len(h) > 0 && k.worse(&h[0], &x) && !k.skipped(&x):
		h[0] = x
		for i := 0; ; {
			l := 2*i + 1
			if l >= len(h) {
				break
			}
			if r := l + 1; r < len(h) && k.worse(&h[r], &h[l]) {
				l = r
			}
			if !k.worse(&h[l], &h[i]) {
				break
			}
			h[i], h[l] = h[l], h[i]
			i = l
		}
	}
	k.h = h
}

// sorted returns the kept, best first, in keeper's order.
func (k *keeper) sorted() []ranked {
	h := k.h
	slices.SortFunc(h, func(a, b ranked) int {
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		return cmp.Compare(a.doc, b.doc)
	})
	if k.tie == nil {
		return h
	}
	for i := 0; i < len(h); { // each run of equal scores by tie, computed once per item
		j := i + 1
		for j < len(h) && h[j].score == h[i].score {
			j++
		}
		if j-i > 1 {
			run := h[i:j]
			for r := range run {
				k.tieOf(&run[r])
			}
			slices.SortStableFunc(run, func(a, b ranked) int { return cmp.Compare(b.tie, a.tie) })
		}
		i = j
	}
	return h
}

// lexicalTop appends to dst the c names with the best BM25 scores among
// those skip does not drop (nil: none dropped; names sharing no term with
// the query are never among them). Memory: O(c).
func (s *TextScores) lexicalTop(c int, skip func(doc int32) bool, dst []int32) []int32 {
	if c <= 0 {
		return dst
	}
	k := keeper{h: make([]ranked, 0, min(c, len(s.lexical))), c: c, skip: skip}
	for _, h := range s.lexical {
		k.push(ranked{doc: int32(h.Doc), score: h.Score})
	}
	for _, x := range k.sorted() {
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
// topCategories that skip does not drop (nil: none dropped) with the best
// intent term (hard or soft), ties broken by
// cos(name) descending, then position (docs/evaluation.md A9; cos nil:
// position alone, A7); nothing for a query without intent. cos is the
// blend's cosine of a name, −Inf for a name without a vector, never NaN.
// Hard: every name outside scores at most the smallest P inside, so this
// is the exact top C whenever at least C names are predicted inside; a
// category query (one category, P = 1) computes cos for every member of
// its category, a text query for the members of the categories tied at
// the C boundary. Soft: see softTop. Memory: O(c).
func (s *TextScores) intentTop(c int, soft bool, cos func(doc int32) float64, skip func(doc int32) bool, dst []int32) []int32 {
	if s.posterior == nil || c <= 0 {
		return dst
	}
	cats := topCategories(s.posterior)
	k := keeper{h: make([]ranked, 0, c), c: c, tie: cos, skip: skip}
	if soft {
		s.softTop(cats, &k)
	} else {
		for _, a := range cats {
			for _, d := range s.ix.members[a] {
				k.push(ranked{doc: d, score: s.posterior[a]})
			}
		}
	}
	for _, x := range k.sorted() {
		dst = append(dst, x.doc)
	}
	return dst
}

// softTop pushes into k the members of cats whose soft intent may be among
// the k.c best, with that intent computed exactly: the same top c as
// computing every member's, at a fraction of the cost. On Instacart a name
// fragment's top categories hold 126 of 134 aisles (median; test queries),
// so computing every member's intent would cost 49,667 names × 134
// products per query. With m = P(â(d) | name d), p = P(· | query) and
// pmax = max p,
//
//	p[â(d)] · m ≤ I(d) ≤ p[â(d)] · m + (1 − m) · pmax
//
// (the posterior of a name sums to 1). The c-th largest lower bound θ is
// at most the c-th largest I, so a member whose upper bound is below θ
// cannot be among the c best and is skipped. The lower bounds skip what k
// skips: θ is then the c-th largest among the docs k may keep.
func (s *TextScores) softTop(cats []int, k *keeper) {
	p, L := s.posterior, len(s.posterior)
	pmax := 0.0
	for _, v := range p {
		pmax = max(pmax, v)
	}
	lows := keeper{h: make([]ranked, 0, k.c), c: k.c, skip: k.skip}
	for _, a := range cats {
		for _, d := range s.ix.members[a] {
			lows.push(ranked{doc: d, score: p[a] * s.ix.posterior[int(d)*L+a]})
		}
	}
	theta := math.Inf(-1)
	if len(lows.h) == k.c {
		theta = lows.h[0].score // the root: the c-th largest lower bound
	}
	for _, a := range cats {
		for _, d := range s.ix.members[a] {
			m := s.ix.posterior[int(d)*L+a]
			// 1e-12: the bound's rounding (a posterior sums to 1 within ~1e-15).
			if p[a]*m+(1-m)*pmax+1e-12 >= theta {
				k.push(ranked{doc: d, score: s.intent(int(d), true)})
			}
		}
	}
}
