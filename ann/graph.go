package ann

import (
	"context"
	"slices"
)

// graph is a hierarchical navigable small world (Malkov & Yashunin, 2016):
// every item sits on layer 0, and on each higher layer with probability 1/M,
// so a query descends greedily through sparse layers to a good entry point
// and then widens its search on layer 0.
//
// Links are stored flat for cache locality: layer 0, which almost every
// step of a search reads, is one []uint32 of n fixed-size slots; the few
// nodes above layer 0 (1 in M) own a small slice each.
type graph struct {
	m, m0  int        // link caps: m on upper layers, m0 = 2m on layer 0
	levels []uint8    // top layer of each node
	links0 []uint32   // n slots of m0+1: count, then the ids
	upper  [][]uint32 // per node, levels[r] slots of m+1 for layers 1..levels[r]
	entry  uint32     // a node on the top layer
	top    int        // highest layer; -1 while empty
}

// links returns r's neighbours on layer l; the slice aliases the graph.
func (g *graph) links(r uint32, l int) []uint32 {
	if l == 0 {
		o := int(r) * (g.m0 + 1)
		return g.links0[o+1 : o+1+int(g.links0[o])]
	}
	o := (l - 1) * (g.m + 1)
	s := g.upper[r]
	return s[o+1 : o+1+int(s[o])]
}

// setLinks replaces r's neighbours on layer l (at most the layer's cap).
func (g *graph) setLinks(r uint32, l int, ids []uint32) {
	var slot []uint32
	if l == 0 {
		o := int(r) * (g.m0 + 1)
		slot = g.links0[o : o+g.m0+1]
	} else {
		o := (l - 1) * (g.m + 1)
		slot = g.upper[r][o : o+g.m+1]
	}
	slot[0] = uint32(copy(slot[1:], ids))
}

func (g *graph) bytes() int64 {
	b := int64(len(g.levels)) + int64(len(g.links0))*4 + int64(len(g.upper))*24
	for _, u := range g.upper {
		b += int64(len(u)) * 4
	}
	return b
}

// scratch is one search's reusable state, pooled on the Index.
type scratch struct {
	visited
	c minHeap
	w maxHeap
}

func (ix *Index) getScratch() *scratch {
	s, ok := ix.seen.Get().(*scratch)
	if !ok {
		s = &scratch{visited: visited{marks: make([]uint32, ix.n)}}
	}
	return s
}

// greedy walks layer l from ep to a local minimum of the distance to q.
func (ix *Index) greedy(q []float32, ep cand, l int) cand {
	m := ix.inner
	for changed := true; changed; {
		changed = false
		for _, nb := range ix.g.links(ep.id, l) {
			if d := m.dist(q, ix.row(nb)); d < ep.d {
				ep, changed = cand{d: d, id: nb}, true
			}
		}
	}
	return ep
}

// searchLayer is the beam search of layer l from the entry points eps,
// keeping the ef closest allowed nodes in s.w (nil allow: all). Nodes that
// allow refuses are still expanded, so a filter does not cut the graph into
// islands; the walk just goes on until ef allowed nodes are found. It
// returns ctx's error, looked at every ctxCheckEvery expansions, if ctx
// ends first (s then holds a partial beam).
func (ix *Index) searchLayer(ctx context.Context, q []float32, eps []cand, ef, l int, allow func(uint32) bool, s *scratch) error {
	s.next()
	s.c, s.w = s.c[:0], s.w[:0]
	for _, e := range eps {
		s.see(e.id)
		s.c.push(e)
		if allow == nil || allow(e.id) {
			s.w.bounded(e, ef)
		}
	}
	m := ix.inner
	for expanded := 1; len(s.c) > 0; expanded++ {
		if expanded%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		c := s.c.pop()
		if len(s.w) >= ef && c.d > s.w.top().d {
			break
		}
		for _, nb := range ix.g.links(c.id, l) {
			if s.see(nb) {
				continue
			}
			d := m.dist(q, ix.row(nb))
			if len(s.w) < ef || d < s.w.top().d {
				s.c.push(cand{d: d, id: nb})
				if allow == nil || allow(nb) {
					s.w.bounded(cand{d: d, id: nb}, ef)
				}
			}
		}
	}
	return nil
}

// graphSearch answers a query from the graph: greedy descent to layer 1,
// then a beam of width ef on layer 0.
func (ix *Index) graphSearch(ctx context.Context, q []float32, ef int, allow func(uint32) bool) ([]cand, error) {
	g := ix.g
	ep := cand{d: ix.inner.dist(q, ix.row(g.entry)), id: g.entry}
	for l := g.top; l > 0; l-- {
		ep = ix.greedy(q, ep, l)
	}
	s := ix.getScratch()
	defer ix.seen.Put(s)
	if err := ix.searchLayer(ctx, q, []cand{ep}, ef, 0, allow, s); err != nil {
		return nil, err
	}
	return slices.Clone(s.w), nil
}

// selectNeighbours is the heuristic of the HNSW paper (algorithm 4): walking
// the candidates from the closest, keep one only if it is closer to the base
// than to every neighbour kept so far. Links then point in diverse
// directions, which keeps clustered data connected across clusters. cands
// must be sorted closest first; the result reuses its storage.
func (ix *Index) selectNeighbours(cands []cand, limit int) []cand {
	m := ix.inner
	out := cands[:0]
	for _, c := range cands {
		if len(out) >= limit {
			break
		}
		keep := true
		for _, s := range out {
			if m.dist(ix.row(c.id), ix.row(s.id)) < c.d {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, c)
		}
	}
	return out
}

func sortCands(c []cand) {
	slices.SortFunc(c, func(a, b cand) int {
		if closer(a, b) {
			return -1
		}
		return 1
	})
}
