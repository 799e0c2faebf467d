package recommend

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTopC checks the bounded heap against a full sort, with many ties.
func TestTopC(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 5, 50, 1000} {
		for _, c := range []int{0, 1, 3, 50, 2000} {
			xs := make([]ranked, n)
			for i := range xs {
				xs[i] = ranked{int32(i), float64(rng.IntN(7))}
			}
			want := slices.Clone(xs)
			slices.SortFunc(want, func(a, b ranked) int {
				if a.score != b.score {
					return cmp.Compare(b.score, a.score)
				}
				return cmp.Compare(a.doc, b.doc)
			})
			want = want[:min(c, n)]
			rng.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
			if got := topC(xs, c); !slices.Equal(got, want) {
				t.Fatalf("n %d c %d: %v, want %v", n, c, got, want)
			}
		}
	}
}

// TestTopCategories checks A7's A_q: decreasing P, ties by index, until
// the sum first reaches intentMass.
func TestTopCategories(t *testing.T) {
	for _, tc := range []struct {
		p    []float64
		want []int
	}{
		{[]float64{0, 1, 0}, []int{1}},
		{[]float64{0.2, 0.5, 0.2999, 0.0001}, []int{1, 2, 0}},
		{[]float64{0.25, 0.25, 0.25, 0.25}, []int{0, 1, 2, 3}},
		{[]float64{0.0005, 0.999, 0.0005}, []int{1}},
	} {
		if got := topCategories(tc.p); !slices.Equal(got, tc.want) {
			t.Errorf("topCategories(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}
