package ann

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// maxBatch bounds how many nodes are inserted against one frozen graph.
// Members of a batch do not route through each other, but each one is
// compared exactly with the earlier members of its batch, so nothing is
// lost; the comparisons cost up to maxBatch/2 distances per node, against
// several thousand for the efConstruction search itself.
const maxBatch = 512

// build inserts the rows in batches so that the graph is the same for any
// number of workers (Config.Seed fixes it):
//
//  1. in parallel, each new node searches the graph as it stood before the
//     batch (read-only) and chooses its neighbours per layer, adding the
//     earlier members of its batch as candidates by exact comparison;
//  2. sequentially, each new node gets its own links;
//  3. in parallel by target node, each chosen neighbour gets the reverse
//     link, pruned when full; a target's updates are applied in row order
//     by the one worker that owns it, so the outcome does not depend on
//     scheduling.
func build(ctx context.Context, ix *Index, rng *rand.Rand) (*graph, error) {
	m := ix.cfg.M
	g := &graph{
		m: m, m0: 2 * m, top: -1,
		levels: make([]uint8, ix.n),
		links0: make([]uint32, ix.n*(2*m+1)),
		upper:  make([][]uint32, ix.n),
	}
	ml := 1 / math.Log(float64(m)) // layer l holds a fraction m^-l of the nodes
	for r := range g.levels {
		l := min(int(-math.Log(1-rng.Float64())*ml), 31)
		g.levels[r] = uint8(l)
		if l > 0 {
			g.upper[r] = make([]uint32, l*(m+1))
		}
	}
	ix.g = g // plan and addLink read it; Build drops the index on error
	workers := ix.cfg.Workers
	plans := make([][][]uint32, maxBatch)
	for done := 0; done < ix.n; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end := min(ix.n, done+max(1, min(maxBatch, done/4)))
		parallel(workers, end-done, func(i int) {
			s := ix.getScratch()
			plans[i] = ix.plan(uint32(done+i), uint32(done), s)
			ix.seen.Put(s)
		})
		for i := done; i < end; i++ {
			for l, nb := range plans[i-done] {
				g.setLinks(uint32(i), l, nb)
			}
		}
		parallel(workers, workers, func(w int) {
			var buf []cand
			for i := done; i < end; i++ {
				for l, nbs := range plans[i-done] {
					for _, j := range nbs {
						if int(j)%workers == w {
							buf = ix.addLink(j, l, uint32(i), buf)
						}
					}
				}
			}
		})
		for i := done; i < end; i++ {
			if int(g.levels[i]) > g.top {
				g.top, g.entry = int(g.levels[i]), uint32(i)
			}
		}
		done = end
	}
	return g, nil
}

// plan chooses node r's neighbours on each of its layers from the graph of
// nodes < first plus the batch members first..r-1.
func (ix *Index) plan(r, first uint32, s *scratch) [][]uint32 {
	g := ix.g
	q := ix.row(r)
	lr := int(g.levels[r])
	out := make([][]uint32, lr+1)
	var eps []cand
	if g.top >= 0 {
		ep := cand{d: ix.inner.dist(q, ix.row(g.entry)), id: g.entry}
		for l := g.top; l > lr; l-- {
			ep = ix.greedy(q, ep, l)
		}
		eps = []cand{ep}
	}
	for l := lr; l >= 0; l-- {
		var cands []cand
		if l <= g.top {
			// Build looks at its context between batches: an insert
			// always completes, so the graph stays whole.
			_ = ix.searchLayer(context.Background(), q, eps, ix.cfg.EfConstruction, l, nil, s)
			eps = append(eps[:0], s.w...)
			cands = append(cands, s.w...)
		}
		for j := first; j < r; j++ {
			if int(g.levels[j]) >= l {
				cands = append(cands, cand{d: ix.inner.dist(q, ix.row(j)), id: j})
			}
		}
		sortCands(cands)
		sel := ix.selectNeighbours(cands, g.m)
		ids := make([]uint32, len(sel))
		for k, c := range sel {
			ids[k] = c.id
		}
		out[l] = ids
	}
	return out
}

// addLink gives node j a link to node r on layer l, pruning j's list with
// the neighbour heuristic when it is full. buf is reused between calls.
func (ix *Index) addLink(j uint32, l int, r uint32, buf []cand) []cand {
	g := ix.g
	limit := g.m
	if l == 0 {
		limit = g.m0
	}
	cur := g.links(j, l)
	if len(cur) < limit {
		// The slot has room: cur aliases it, so this append writes in place.
		g.setLinks(j, l, append(cur, r))
		return buf
	}
	base := ix.row(j)
	m := ix.inner
	buf = buf[:0]
	for _, x := range cur {
		buf = append(buf, cand{d: m.dist(base, ix.row(x)), id: x})
	}
	buf = append(buf, cand{d: m.dist(base, ix.row(r)), id: r})
	sortCands(buf)
	sel := ix.selectNeighbours(buf, limit)
	ids := make([]uint32, len(sel))
	for k, c := range sel {
		ids[k] = c.id
	}
	g.setLinks(j, l, ids)
	return buf
}

// parallel runs f(0..n-1) on up to workers goroutines and returns when all
// calls have.
func parallel(workers, n int, f func(i int)) {
	if workers <= 1 || n <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		})
	}
	wg.Wait()
}
