package cart

import (
	"container/heap"
	"sort"
)

// top returns the k best-scored rows not excluded, best first.
func (r *Recommender) top(scores []float32, k int, excl map[int]bool) []Scored {
	h := make(minHeap, 0, k+1)
	for row, s := range scores {
		if excl[row] {
			continue
		}
		if len(h) < k {
			heap.Push(&h, entry{row, s})
		} else if s > h[0].score {
			h[0] = entry{row, s}
			heap.Fix(&h, 0)
		}
	}
	sort.Slice(h, func(i, j int) bool {
		if h[i].score != h[j].score {
			return h[i].score > h[j].score
		}
		return h[i].row < h[j].row
	})
	out := make([]Scored, len(h))
	for i, e := range h {
		it := r.items.Items[e.row]
		out[i] = Scored{ID: it.ID, Name: it.Name, Score: e.score, Row: e.row}
	}
	return out
}

// topBlend returns the k best rows by the ensemble's blend, not excluded;
// the score is the blend, a weighted mean of normalised ranks in [0, 1].
func (r *Recommender) topBlend(gnn []float32, cart []int64, k int, skip func(row int) bool) []Scored {
	sc := r.ens.pool.Get().(*blendScratch)
	order, blend := r.ens.blend(gnn, cart, sc)
	out := make([]Scored, 0, k)
	for _, row := range order {
		if len(out) == k {
			break
		}
		if skip(row) {
			continue
		}
		it := r.items.Items[row]
		out = append(out, Scored{ID: it.ID, Name: it.Name, Score: float32(blend[row]), Row: row})
	}
	// Back to the pool only after a normal return: blend's kNN leaves its
	// overlap counts zeroed on the way out, which a panic would not.
	r.ens.pool.Put(sc)
	return out
}

// topPopular returns the k most popular rows not excluded; their score is
// their popularity rank as a descending value in (0, 1].
func (r *Recommender) topPopular(k int, excl map[int]bool) []Scored {
	var out []Scored
	for i, row := range r.popular {
		if len(out) == k {
			break
		}
		if excl[row] {
			continue
		}
		it := r.items.Items[row]
		out = append(out, Scored{ID: it.ID, Name: it.Name, Score: 1 / float32(i+1), Row: row})
	}
	return out
}

type entry struct {
	row   int
	score float32
}

// minHeap keeps the k best entries with the worst on top.
type minHeap []entry

func (h minHeap) Len() int { return len(h) }
func (h minHeap) Less(i, j int) bool {
	return h[i].score < h[j].score || h[i].score == h[j].score && h[i].row > h[j].row
}
func (h minHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)   { *h = append(*h, x.(entry)) }
func (h *minHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
