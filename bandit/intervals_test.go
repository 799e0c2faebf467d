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

// Many arms with narrow posteriors need many subintervals: the
// subdivision stays cheap (run with -bench; was O(n²·k)).
func BenchmarkWinProbabilitiesManyArms(b *testing.B) {
	arms := make([]Beta, 50)
	for i := range arms {
		arms[i] = Beta{Alpha: float64(100 + 7*i), Beta: float64(20000 - 150*i)}
	}
	for b.Loop() {
		WinProbabilities(arms)
	}
}
