package recommend

import (
	"context"
	"slices"
)

// maxNeighbourViews bounds the recent views searched: the last ones matter
// most, and each is one index search.
const maxNeighbourViews = 10

// candidates runs every source under the candidates budget and merges
// their items. A source that fails adds a rung and contributes nothing;
// the popular source of a model that is not ready answers from the last
// snapshot of its popularity table.
func (c *call) candidates(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, c.sf.Budgets.Candidates)
	defer cancel()
	for i, src := range c.sf.Sources {
		m := c.models[src.Model]
		if src.Kind == SourcePopular {
			c.popular(src, m)
			continue
		}
		if m.err != nil || m.items == nil {
			continue // the embeddings stage has flagged it
		}
		var hits []scored
		var err error
		switch src.Kind {
		case SourceSession:
			if h, ok := c.blended[i]; ok {
				hits = h
			} else if v, ok := c.sessions[src.Model]; ok {
				hits, err = c.search(cctx, m.items, v, src.Budget, m.cartSkip())
			}
		case SourceQuery:
			if v, ok := c.vectors[i]; ok {
				var blended bool
				hits, blended, err = c.query(cctx, m.items, v, src)
				if err == nil && blended {
					// The blend's scale is uneven (hybrid.go): rank, not
					// min–max, carries its relevance.
					c.add(src.Kind, byRank(hits, src.Weight))
					continue
				}
			}
		case SourceNeighbours:
			hits, err = c.neighbours(cctx, m, src.Budget)
		case SourceNewItems:
			hits, err = c.newItems(cctx, m, src)
			if err == nil {
				// Scaled against the model's own top known items
				// (newitems.go), not min–max within the source.
				c.add(src.Kind, hits)
				continue
			}
		}
		if err != nil {
			c.degrade(StageCandidates, src.Kind+"_"+reasonOf(err))
			continue
		}
		c.add(src.Kind, normalise(hits, src.Weight))
	}
}

// scored is a source's hit before merging.
type scored struct {
	id, name string
	score    float64
}

// skipID reports whether an item may not take a candidate slot: the
// request excludes it, or it is in the cart and the surface's hard filter
// drops cart items. The re-ranker drops them anyway; skipping them in the
// index keeps the source's budget for the others (the query and
// neighbours searches used to spend it on them). Every source and the
// back-fill skip by it, so a surface that keeps cart items (search) gets
// them from each (the popular source and the back-fill used to drop them
// whatever the filter said).
func (c *call) skipID(id string) bool {
	return c.exclude[id] || c.sf.Rerank.Filters.InCart && c.inCart[id]
}

// skipsAny reports whether skipID may be true for some item.
func (c *call) skipsAny() bool {
	return len(c.exclude) > 0 || c.sf.Rerank.Filters.InCart && len(c.inCart) > 0
}

// search queries items' index, skipping skip's rows and the items skipID
// names.
func (c *call) search(ctx context.Context, items *Items, q []float32, k int, skip map[int]bool) ([]scored, error) {
	hits, err := items.Index().Search(ctx, q, k, c.allow(items, skip))
	if err != nil {
		return nil, err
	}
	out := make([]scored, len(hits))
	for i, h := range hits {
		out[i] = scored{items.ID(h.Row), items.Name(h.Row), float64(h.Score)}
	}
	return out, nil
}

// allow is the filter of a search of items' index that skips skip's rows
// and the items skipID names; nil when it would pass every row, which
// lets the index skip its filter path entirely.
func (c *call) allow(items *Items, skip map[int]bool) Allow {
	if len(skip) == 0 && !c.skipsAny() {
		return nil
	}
	return func(r int) bool { return !skip[r] && !c.skipID(items.ID(r)) }
}

// cartSkip is the session search's skip set: m's rows of the cart's
// items, which a session proposes whatever the in-cart filter says.
func (m *model) cartSkip() map[int]bool {
	skip := make(map[int]bool, len(m.cartRows))
	for _, r := range m.cartRows {
		skip[int(r)] = true
	}
	return skip
}

// query is hybrid search (hybrid.go): the encoder's cosine blended with
// the catalogue's text signals over the union of three top-C candidate
// lists (candidates.go); without a Text, or when it
// fails (a rung), the encoder's index alone. blended says which ran.
func (c *call) query(ctx context.Context, items *Items, q []float32, src Source) (hits []scored, blended bool, err error) {
	if c.p.opts.Text == nil {
		hits, err = c.search(ctx, items, q, src.Budget, nil)
		return hits, false, err
	}
	sig, err := c.p.opts.Text.Text(ctx, c.req.Query)
	if err != nil {
		c.degrade(StageCandidates, "lexical_"+reasonOf(err))
		hits, err = c.search(ctx, items, q, src.Budget, nil)
		return hits, false, err
	}
	var skip func(id string) bool
	if c.skipsAny() {
		skip = c.skipID
	}
	hits, err = hybridTop(ctx, items, q, sig, src.Hybrid.weights(sig.CategoryQuery()), src.Budget, src.Hybrid.candidates(), skip)
	return hits, true, err
}

// neighbours searches the items nearest each recent view (the last
// maxNeighbourViews), keeping each item's best similarity.
func (c *call) neighbours(ctx context.Context, m *model, k int) ([]scored, error) {
	items, views := m.items, m.viewRows
	views = views[max(0, len(views)-maxNeighbourViews):]
	if len(views) == 0 {
		return nil, nil
	}
	skip := map[int]bool{}
	for _, r := range views {
		skip[int(r)] = true
	}
	best := map[string]scored{}
	for _, r := range views {
		hits, err := c.search(ctx, items, items.Vector(int(r)), k, skip)
		if err != nil {
			return nil, err
		}
		for _, h := range hits {
			if b, ok := best[h.id]; !ok || h.score > b.score {
				best[h.id] = h
			}
		}
	}
	out := make([]scored, 0, len(best))
	for _, h := range best {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b scored) int {
		if d := cmpDesc(a.score, b.score); d != 0 {
			return d
		}
		return cmpStr(a.id, b.id)
	})
	return out[:min(k, len(out))], nil
}

// add merges a source's normalised hits: an item keeps its best relevance
// and the source that gave it.
func (c *call) add(source string, hits []scored) {
	for _, h := range hits {
		if ex, ok := c.cands[h.id]; ok {
			if h.score > ex.rel {
				ex.rel, ex.source = h.score, source
			}
			continue
		}
		c.cands[h.id] = &cand{id: h.id, name: h.name, source: source, rel: h.score}
		c.order = append(c.order, h.id)
	}
}

// normalise rescales scores to [0, w] within one source, so sources with
// different scales (dot products, fused ranks, popularity) can be mixed.
func normalise(hits []scored, w float64) []scored {
	if len(hits) == 0 {
		return hits
	}
	lo, hi := hits[0].score, hits[0].score
	for _, h := range hits {
		lo, hi = min(lo, h.score), max(hi, h.score)
	}
	for i := range hits {
		if hi > lo {
			hits[i].score = w * (hits[i].score - lo) / (hi - lo)
		} else {
			hits[i].score = w
		}
	}
	return hits
}

// byRank gives hybrid search's hits relevance by rank, w / (1 + r/10) for
// the r-th (0-based), instead of normalise's min–max of the scores. The
// blend's scale depends on how many terms a name matched (a lexical weight
// of 3 puts the one name sharing a rare term 3 above everything else), so
// min–max would flatten all but that name to about 0 and let the popular
// back-fill outrank them; a linear rank scale would be so flat that the
// economic terms reorder the head. With this one the tenth hit keeps half
// the first's relevance, and a popular item of weight 0.2 ties the
// fortieth. The order is the blend's, the measured one.
func byRank(hits []scored, w float64) []scored {
	for i := range hits {
		hits[i].score = w / (1 + float64(i)/10)
	}
	return hits
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
