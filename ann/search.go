package ann

import (
	"context"
	"fmt"
	"math"
	"slices"
)

// Query is one nearest-neighbour request.
type Query struct {
	// Vector is the query, of the index's dimension.
	Vector []float32
	// K is the number of results wanted (at least 1). Fewer come back when
	// fewer items are allowed.
	K int
	// Ef overrides Config.EfSearch for this query; 0 keeps it. It is raised
	// to K when smaller. Exact searches ignore it.
	Ef int
	// Allow, if set, reports whether a row may be returned (in stock, in an
	// allowed category). It is called from the searching goroutine only, up
	// to Len times per query, so it should be a slice or bitset lookup.
	Allow func(row int) bool
	// Exclude lists rows never returned (the cart, items already shown).
	// Rows outside 0..Len-1 are ignored.
	Exclude []int
}

// Result is one item found, with its score under the index's metric: the
// cosine, the dot product, or the negated squared L2 distance. Higher is
// better.
type Result struct {
	Row   int
	Score float32
}

// Search returns the (approximately, on a graph) K best allowed rows, best
// first; ties are broken by the lower row. Filtered queries keep their
// recall at any selectivity: the graph walk passes through filtered-out
// nodes but keeps only allowed ones, and when few items are allowed (the
// fraction is estimated on a fixed sample, or known when only Exclude is
// set) the allowed rows are scanned exactly instead, whichever the cost
// model in scanCheaper says is faster.
func (ix *Index) Search(q Query) ([]Result, error) {
	return ix.SearchContext(context.Background(), q)
}

// ctxCheckEvery is how many graph expansions (each 2M distances) or scanned
// rows a search goes between looks at its context: with
// hybrid.candidates up to 10,000 (ef as large), a walk runs for
// milliseconds, and one ctx.Err every 64 expansions (some 2,000 distances)
// costs nothing measurable: 20,000 × 64 L2, ef 200, one core, 8 runs each
// on a shared 2-core machine, 171–263 µs a search with the checks and
// 181–294 µs without.
const ctxCheckEvery = 64

// SearchContext is Search that stops when ctx ends, mid-walk or mid-scan,
// returning ctx's error.
func (ix *Index) SearchContext(ctx context.Context, q Query) ([]Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(q.Vector) != ix.dim {
		return nil, fmt.Errorf("%w: query has %d dims, index %d", ErrDimension, len(q.Vector), ix.dim)
	}
	if q.K < 1 || q.Ef < 0 {
		return nil, fmt.Errorf("%w: k %d, ef %d", ErrBadQuery, q.K, q.Ef)
	}
	if !finite(q.Vector) {
		return nil, fmt.Errorf("%w: query holds NaN or Inf", ErrBadVector)
	}
	// vec is the query in the public metric's terms, walk in the graph's.
	vec, walk := q.Vector, q.Vector
	switch ix.cfg.Metric {
	case Cosine:
		vec = slices.Clone(vec)
		if !normalize(vec) {
			return nil, fmt.Errorf("%w: zero query under cosine", ErrBadVector)
		}
		walk = vec
	case Dot:
		walk = append(slices.Clone(vec), 0)
	}
	if ix.n == 0 {
		return nil, nil
	}
	allow, frac := ix.allowFunc(q.Allow, q.Exclude)
	if frac == 0 {
		return nil, nil // every row excluded: no scan to find nothing
	}
	ef := q.Ef
	if ef == 0 {
		ef = ix.cfg.EfSearch
	}
	ef = max(ef, q.K)
	var found []cand
	var err error
	switch {
	case ix.g == nil || (allow != nil && ix.scanCheaper(allow, frac, ef)):
		found, err = ix.exact(ctx, vec, q.K, allow)
	default:
		found, err = ix.graphSearch(ctx, walk, ef, allow)
		for i := range found { // rank by the public score, computed exactly
			found[i].d = -ix.score(vec, found[i].id)
		}
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(found, func(a, b cand) int {
		if closer(a, b) {
			return -1
		}
		return 1
	})
	found = found[:min(q.K, len(found))]
	out := make([]Result, len(found))
	for i, c := range found {
		out[i] = Result{Row: int(c.id), Score: -c.d}
	}
	return out, nil
}

// allowFunc folds the predicate and the exclusion list into one test; nil
// means every row is allowed. frac is the fraction of rows the test admits
// when that is known without sampling — with no predicate it is
// 1 − (distinct in-range excluded rows)/n — and -1 otherwise.
func (ix *Index) allowFunc(pred func(int) bool, exclude []int) (allow func(uint32) bool, frac float64) {
	if pred == nil && len(exclude) == 0 {
		return nil, 1
	}
	// A cart is a handful of rows: a linear scan beats a map up to a few
	// dozen, and the map is built only for longer lists.
	var excluded func(uint32) bool
	nExcluded := 0 // distinct rows in 0..n-1
	switch {
	case len(exclude) == 0:
		excluded = func(uint32) bool { return false }
	case len(exclude) <= 32:
		excluded = func(r uint32) bool { return slices.Contains(exclude, int(r)) }
		for i, r := range exclude { // at most 32²/2 compares, no allocation
			if pred != nil {
				break // with a predicate frac is unknown: nothing to count
			}
			if r >= 0 && r < ix.n && !slices.Contains(exclude[:i], r) {
				nExcluded++
			}
		}
	default:
		set := make(map[uint32]struct{}, len(exclude))
		for _, r := range exclude {
			if r >= 0 && r < ix.n {
				set[uint32(r)] = struct{}{}
			}
		}
		excluded = func(r uint32) bool { _, ok := set[r]; return ok }
		nExcluded = len(set)
	}
	if pred == nil {
		return func(r uint32) bool { return !excluded(r) }, 1 - float64(nExcluded)/float64(ix.n)
	}
	return func(r uint32) bool { return pred(int(r)) && !excluded(r) }, -1
}

// strategy forces one way of answering filtered queries (tests only).
type strategy int

const (
	costModel strategy = iota
	forceWalk
	forceScan
)

// scanCheaper reports whether scanning the allowed rows exactly costs less
// than walking the graph for a filtered query; the fraction allowed is frac
// when known (0 to 1: an exclude-only filter, from allowFunc), else it is
// estimated on the index's fixed sample (up to maxSampleSize predicate
// calls), and the costs are compared by scanBeatsWalk.
func (ix *Index) scanCheaper(allow func(uint32) bool, frac float64, ef int) bool {
	switch ix.force {
	case forceWalk:
		return false
	case forceScan:
		return true
	}
	p := frac
	if p < 0 {
		hit := 0
		for _, r := range ix.sample {
			if allow(r) {
				hit++
			}
		}
		p = float64(hit) / float64(len(ix.sample))
	}
	if p == 0 {
		return true
	}
	return scanBeatsWalk(ix.n, ix.walkCost, ef, ix.cfg.M, p)
}

// scanBeatsWalk is the filter cost model, in units of one distance of a
// sequential scan. A walk that keeps only a fraction p of the nodes it meets
// expands about ef/p nodes of 2M links each, and each of those distances
// costs walkCost units (walkDistanceCost of the vectors' size, which
// Index.walkCost holds): the walk reads rows in graph
// order, the scan in memory order. A scan tests all n rows (a predicate
// call costs about 1/16 of a distance at dim 64) and measures the p·n
// allowed.
//
// At 50k × 64 (12 MiB of vectors, walk factor 1) and ef 96 this puts the
// switch at 22% allowed, where the benchmark measured the two within 5% of
// each other at 20% (BENCHMARKS.md §4b). At 1M × 128 (488 MiB) and ef 64 a
// factor of 1 put it at 2.4%, and the sampled estimate of a 2% filter
// (5 ± 2 hits of 256) often lands above that: §4e measured the walk at 5.0×
// exact against the scan's 19× at 2%, and the walk 2.4× cheaper at 5%, a
// crossover near 3.5% (geometric interpolation), which the factor of 1.69
// at that size reproduces; remeasured with this model (§4f), the two
// crossed near 3.9%, and the automatic choice took the cheaper of the two
// at every selectivity from 1% to 30%.
func scanBeatsWalk(n int, walkCost float64, ef, m int, p float64) bool {
	walk := walkCost * float64(ef*2*m) / p
	scan := float64(n) * (p + 1.0/16)
	return scan < walk
}

// walkDistanceCost is what one distance of a graph walk costs against one of
// a sequential scan, by the size of the vectors: 1 up to 32 MiB (at 50k ×
// 64, 12 MiB, the walk's distances measured 1.0–1.2 times the full scan's
// per row; the served 50k × 128 Dot catalogue, 129 floats a row, is 24.6
// MiB and keeps the factor of 1 it was tuned with), rising linearly in
// log2(size) to 1.7 at 512 MiB,
// the 1M × 128 fit above, and held there: no larger set was measured. Past
// the caches a walk's distances are random row reads (the measured ratio
// was 1.9–2.0 at 98 and 488 MiB), but a sparse scan's allowed rows are
// partly so too, so the fitted factor is below the raw ratio.
func walkDistanceCost(vecBytes int) float64 {
	const lo, hi, top = 32 << 20, 512 << 20, 1.7
	switch {
	case vecBytes <= lo:
		return 1
	case vecBytes >= hi:
		return top
	}
	return 1 + (top-1)*math.Log2(float64(vecBytes)/lo)/math.Log2(hi/lo)
}

// exact scans every allowed row, keeping the k best by the public score;
// it looks at ctx every ctxCheckEvery² rows (a row costs one distance).
func (ix *Index) exact(ctx context.Context, q []float32, k int, allow func(uint32) bool) ([]cand, error) {
	res := make(maxHeap, 0, min(k, ix.n)+1) // K is caller input: never size by it alone
	for r := range uint32(ix.n) {
		if r%(ctxCheckEvery*ctxCheckEvery) == ctxCheckEvery*ctxCheckEvery-1 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if allow != nil && !allow(r) {
			continue
		}
		res.bounded(cand{d: -ix.score(q, r), id: r}, k)
	}
	return res, nil
}
