package cart

import "math/bits"

// argPartition reorders idx (a permutation of positions into v) so that
// its first kth entries index the kth smallest values, exactly as numpy
// 1.24's np.argpartition(v, kth) (introselect: median-of-3 pivots,
// unguarded Hoare partition, median-of-medians after 2·msb(n) rounds).
// Served = evaluated needs the same choice among values tied at the kth
// one: scripts/gnn/baselines.py's session kNN keeps whichever neighbours
// argpartition leaves in front, and a stable rule (lowest index first)
// changes 7,496 of the 8,244 Groceries test top 20s
// (scripts/eval/ensemble_golden.py). v is not modified.
func argPartition(v []float64, idx []int32, kth int) {
	num := len(idx)
	low, high := 0, num-1
	less := func(a, b float64) bool { return a < b }
	at := func(i int) float64 { return v[idx[i]] }
	swap := func(i, j int) { idx[i], idx[j] = idx[j], idx[i] }
	if kth-low < 3 {
		dumbSelect(v, idx[low:high+1], kth-low)
		return
	}
	if kth == num-1 {
		// numpy's shortcut for the last position: the last maximum moves there.
		m, mv := low, at(low)
		for k := low + 1; k < num; k++ {
			if !less(at(k), mv) {
				m, mv = k, at(k)
			}
		}
		swap(kth, m)
		return
	}
	depth := 2 * (bits.Len(uint(num)) - 1)
	for low+1 < high {
		ll, hh := low+1, high
		if depth > 0 || hh-ll < 5 {
			mid := low + (high-low)/2
			// median3_swap_
			if less(at(high), at(mid)) {
				swap(high, mid)
			}
			if less(at(high), at(low)) {
				swap(high, low)
			}
			if less(at(low), at(mid)) {
				swap(low, mid)
			}
			swap(mid, low+1)
		} else {
			mid := ll + medianOfMedian5(v, idx[ll:hh])
			swap(mid, low)
			ll--
			hh++
		}
		depth--
		pivot := at(low)
		for {
			for ll++; less(at(ll), pivot); ll++ {
			}
			for hh--; less(pivot, at(hh)); hh-- {
			}
			if hh < ll {
				break
			}
			swap(ll, hh)
		}
		swap(low, hh)
		if hh >= kth {
			high = hh - 1
		}
		if hh <= kth {
			low = ll
		}
	}
	if high == low+1 && at(high) < at(low) {
		swap(high, low)
	}
}

// dumbSelect is numpy's O(n·kth) selection for kth < 3.
func dumbSelect(v []float64, idx []int32, kth int) {
	for i := 0; i <= kth && i < len(idx); i++ {
		m, mv := i, v[idx[i]]
		for k := i + 1; k < len(idx); k++ {
			if v[idx[k]] < mv {
				m, mv = k, v[idx[k]]
			}
		}
		idx[i], idx[m] = idx[m], idx[i]
	}
}

// medianOfMedian5 is numpy's median_of_median5_: the median of the
// medians of groups of five, moved to the front; returns its position.
func medianOfMedian5(v []float64, idx []int32) int {
	nmed := len(idx) / 5
	for i, sub := 0, 0; i < nmed; i, sub = i+1, sub+5 {
		m := median5(v, idx[sub:sub+5])
		idx[sub+m], idx[i] = idx[i], idx[sub+m]
	}
	if nmed > 2 {
		argPartition(v, idx[:nmed], nmed/2)
	}
	return nmed / 2
}

// median5 is numpy's median5_: a partial sorting network on five entries.
func median5(v []float64, idx []int32) int {
	at := func(i int) float64 { return v[idx[i]] }
	swap := func(i, j int) { idx[i], idx[j] = idx[j], idx[i] }
	if at(1) < at(0) {
		swap(1, 0)
	}
	if at(4) < at(3) {
		swap(4, 3)
	}
	if at(3) < at(0) {
		swap(3, 0)
	}
	if at(4) < at(1) {
		swap(4, 1)
	}
	if at(2) < at(1) {
		swap(2, 1)
	}
	if at(3) < at(2) {
		if at(3) < at(1) {
			return 1
		}
		return 3
	}
	return 2
}
