package bandit

import "slices"

// intervalQueue holds WinProbabilities' subintervals as a max-heap on
// their largest per-arm error, with each arm's running total error, so
// that a subdivision step costs O(k + log n): picking the worst interval
// by scanning all n of them (and re-summing the totals) made a refresh up
// to maxWinIntervals steps of O(n·k), O(n²·k) in all.
type intervalQueue struct {
	ivs    []winInterval // heap order: ivs[0] has the largest worst
	totals []float64     // per arm, Σ err over ivs (running)
}

func newIntervalQueue(k int) *intervalQueue {
	return &intervalQueue{totals: make([]float64, k)}
}

// total is the largest running per-arm total error. Subtracting popped
// intervals' errors can leave a rounding residue, so a total at or under
// the tolerance is confirmed with exactTotal before the loop stops.
func (q *intervalQueue) total() float64 { return slices.Max(q.totals) }

// exactTotal re-sums the totals from the intervals (O(n·k); called when
// the running total says the work is done, about once per call).
func (q *intervalQueue) exactTotal() float64 {
	clear(q.totals)
	for _, iv := range q.ivs {
		for i, e := range iv.err {
			q.totals[i] += e
		}
	}
	return q.total()
}

func (q *intervalQueue) push(iv winInterval) {
	for i, e := range iv.err {
		q.totals[i] += e
	}
	q.ivs = append(q.ivs, iv)
	for c := len(q.ivs) - 1; c > 0; {
		p := (c - 1) / 2
		if q.ivs[p].worst >= q.ivs[c].worst {
			break
		}
		q.ivs[p], q.ivs[c] = q.ivs[c], q.ivs[p]
		c = p
	}
}

// pop removes the interval with the largest error (ivs[0]).
func (q *intervalQueue) pop() winInterval {
	top := q.ivs[0]
	for i, e := range top.err {
		q.totals[i] -= e
	}
	last := len(q.ivs) - 1
	q.ivs[0] = q.ivs[last]
	q.ivs = q.ivs[:last]
	for p := 0; ; {
		c := 2*p + 1
		if c >= last {
			break
		}
		if c+1 < last && q.ivs[c+1].worst > q.ivs[c].worst {
			c++
		}
		if q.ivs[p].worst >= q.ivs[c].worst {
			break
		}
		q.ivs[p], q.ivs[c] = q.ivs[c], q.ivs[p]
		p = c
	}
	return top
}
