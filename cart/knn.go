package cart

import "math"

// sessionKNN is session-based kNN (Jannach & Ludewig 2017, "SKNN"), as
// scripts/gnn/baselines.py SessionKNN: a training session's similarity to
// the cart is |cart ∩ session| / sqrt(|cart| |session|) over distinct
// items; the k most similar sessions vote for their items with that
// similarity. Read-only after newSessionKNN, so safe for concurrent use.
type sessionKNN struct {
	k     int
	items [][]int32 // session → its distinct item rows, ascending
	size  []float64 // session → len(items[s])
	inv   [][]int32 // item row → the sessions holding it, ascending
}

func newSessionKNN(sessions [][]int32, numItems, k int) *sessionKNN {
	m := &sessionKNN{k: k, items: make([][]int32, len(sessions)), size: make([]float64, len(sessions)),
		inv: make([][]int32, numItems)}
	for s, rows := range sessions {
		u := distinct(rows)
		m.items[s], m.size[s] = u, float64(len(u))
		for _, i := range u {
			m.inv[i] = append(m.inv[i], int32(s))
		}
	}
	return m
}

// knnScratch is one request's working memory, reused through the
// ensemble's pool so a request allocates nothing proportional to the
// number of training sessions.
type knnScratch struct {
	overlap []int32   // session → shared distinct items with the cart
	cand    []int32   // sessions with overlap > 0, ascending
	negSim  []float64 // -similarity per candidate, argPartition's key
	order   []int32   // positions into cand, argPartition's permutation
}

// score adds nothing to out beyond zeros when no session shares an item;
// cart holds distinct rows. out has one entry per item row and is overwritten.
func (m *sessionKNN) score(cart []int32, sc *knnScratch, out []float64) {
	clear(out)
	if len(sc.overlap) != len(m.items) {
		sc.overlap = make([]int32, len(m.items))
	}
	touched := false
	for _, i := range cart {
		for _, s := range m.inv[i] {
			sc.overlap[s]++
		}
		touched = touched || len(m.inv[i]) > 0
	}
	if !touched {
		return
	}
	// One pass over every session gives the candidates in np.nonzero's
	// (ascending) order: cheaper than sorting the touched ones, which was
	// half the blend's time on a 10-item cart (thousands of candidates).
	sc.cand, sc.negSim, sc.order = sc.cand[:0], sc.negSim[:0], sc.order[:0]
	n := float64(len(cart))
	for s, ov := range sc.overlap {
		if ov == 0 {
			continue
		}
		sim := float64(ov) / math.Sqrt(n*m.size[s])
		sc.order = append(sc.order, int32(len(sc.cand)))
		sc.cand = append(sc.cand, int32(s))
		sc.negSim = append(sc.negSim, -sim)
		sc.overlap[s] = 0
	}
	keep := sc.order
	if len(sc.cand) > m.k {
		argPartition(sc.negSim, sc.order, m.k)
		keep = sc.order[:m.k]
	}
	// Summed in the order numpy visits them: float sums are not associative,
	// and the blend ranks exact ties.
	for _, p := range keep {
		w := -sc.negSim[p]
		for _, i := range m.items[sc.cand[p]] {
			out[i] += w
		}
	}
}
