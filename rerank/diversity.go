package rerank

// diversify picks up to k items (all when k <= 0) from items sorted by
// score: MMR when configured, then the per-category cap, whose overflow
// follows the capped-in items in order so a short list is back-filled.
func diversify(cfg *Config, catAttr string, items []Ranked, k int) []Ranked {
	if k <= 0 || k > len(items) {
		k = len(items)
	}
	if l := cfg.Diversity.MMRLambda; l > 0 && l < 1 {
		// MMR picks the top k (and as many again for the category cap's
		// back-fill); the rest keep their score order.
		items = mmr(items, catAttr, l, min(len(items), 2*k))
	}
	if limit := cfg.Diversity.MaxPerCategory; limit > 0 {
		items = capCategories(items, catAttr, limit)
	}
	return items[:k]
}

// mmr reorders items greedily by λ·score − (1−λ)·max similarity to the
// items already picked, similarity being 1 within a category. Scores are
// rescaled to [0, 1] first so λ means the same on every surface. O(n²) on
// the few hundred candidates a surface re-ranks, O(picks·n) when only the
// first picks are chosen this way: the rest follow in score order.
func mmr(items []Ranked, catAttr string, lambda float64, picks int) []Ranked {
	if len(items) == 0 {
		// Every candidate filtered out (a category filter no item matches).
		return items
	}
	lo, hi := items[len(items)-1].Components.Score, items[0].Components.Score
	span := hi - lo
	out := make([]Ranked, 0, len(items))
	picked := make([]bool, len(items))
	seen := map[string]bool{}
	for range picks {
		best, bestVal := -1, 0.0
		for i := range items {
			if picked[i] {
				continue
			}
			s := 1.0
			if span > 0 {
				s = (items[i].Components.Score - lo) / span
			}
			sim := 0.0
			if cat := items[i].Attrs[catAttr]; cat != "" && seen[cat] {
				sim = 1
			}
			if v := lambda*s - (1-lambda)*sim; best < 0 || v > bestVal {
				best, bestVal = i, v
			}
		}
		picked[best] = true
		seen[items[best].Attrs[catAttr]] = true
		out = append(out, items[best])
	}
	for i := range items {
		if !picked[i] {
			out = append(out, items[i])
		}
	}
	return out
}

// capCategories keeps the order but moves every item past the limit-th of
// its category behind the others.
func capCategories(items []Ranked, catAttr string, limit int) []Ranked {
	count := map[string]int{}
	head := make([]Ranked, 0, len(items))
	var tail []Ranked
	for _, it := range items {
		cat := it.Attrs[catAttr]
		if cat != "" && count[cat] >= limit {
			tail = append(tail, it)
			continue
		}
		count[cat]++
		head = append(head, it)
	}
	return append(head, tail...)
}
