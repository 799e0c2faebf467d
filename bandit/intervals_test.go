package bandit

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The queue hands out intervals by decreasing largest error and keeps
// each arm's total, as the full scan it replaces did.
func TestIntervalQueue(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const k = 3
	q := newIntervalQueue(k)
	for range 500 {
		iv := winInterval{err: make([]float64, k)}
		for i := range k {
			iv.err[i] = rng.Float64()
			iv.worst = max(iv.worst, iv.err[i])
		}
		q.push(iv)
	}
	exact := func() float64 {
		totals := make([]float64, k)
		for _, iv := range q.ivs {
			for i, e := range iv.err {
				totals[i] += e
			}
		}
		return max(totals[0], totals[1], totals[2])
	}
	last := math.Inf(1)
	for len(q.ivs) > 250 {
		scan := 0.0 // the old full scan's pick
		for _, iv := range q.ivs {
			scan = max(scan, iv.worst)
		}
		iv := q.pop()
		if iv.worst != scan || iv.worst > last {
			t.Fatalf("popped %v, the largest is %v (previous %v)", iv.worst, scan, last)
		}
		last = iv.worst
		if d := math.Abs(q.total() - exact()); d > 1e-9 {
			t.Fatalf("running total off by %g", d)
		}
	}
	if q.exactTotal() != exact() {
		t.Fatal("exactTotal differs from the sum")
	}
}

// The subdivision's bookkeeping at its limit: maxWinIntervals steps over
// 50 arms, each popping the worst interval and pushing its two halves
// (the integrand evaluations left out). With the full scan per step it
// was about n²·k/2 = 4·10^8 additions; with the heap, n·(k + log n).
func BenchmarkIntervalQueueAtLimit(b *testing.B) {
	const k = 50
	rng := rand.New(rand.NewPCG(1, 2))
	half := func(iv winInterval) winInterval {
		h := winInterval{err: make([]float64, k)}
		for i, e := range iv.err {
			h.err[i] = e * (0.3 + 0.4*rng.Float64())
			h.worst = max(h.worst, h.err[i])
		}
		return h
	}
	for b.Loop() {
		q := newIntervalQueue(k)
		q.push(half(winInterval{err: slicesRepeat(1.0, k)}))
		for len(q.ivs) < maxWinIntervals {
			_ = q.total()
			iv := q.pop()
			q.push(half(iv))
			q.push(half(iv))
		}
	}
}

func slicesRepeat(v float64, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = v
	}
	return s
}
