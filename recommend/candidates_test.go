package recommend

import (
	"cmp"
	"context"
	"fmt"
	"math"
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
				xs[i] = ranked{doc: int32(i), score: float64(rng.IntN(7))}
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

// TestIntentTopSoft checks softTop's pruning against computing every
// member's soft intent, on a random catalogue whose queries have nearly
// flat posteriors (the case the pruning is for).
func TestIntentTopSoft(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 3000
	ids, names, cats := make([]string, n), make([]string, n), make([]string, n)
	for d := range n {
		ids[d] = fmt.Sprint(d)
		names[d] = fmt.Sprintf("w%d w%d w%d", rng.IntN(400), rng.IntN(400), rng.IntN(400))
		cats[d] = fmt.Sprintf("c%d", rng.IntN(30))
	}
	ix, err := NewTextIndex(ids, names, cats)
	if err != nil {
		t.Fatal(err)
	}
	for _, query := range []string{"w1", "w7 w300", "w12 w13 w14", "c3", "w5 c4"} {
		sig, err := ix.Text(context.Background(), query)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []int{1, 5, 200, 5000} {
			var all []ranked
			for _, a := range topCategories(sig.posterior) {
				for _, d := range ix.members[a] {
					all = append(all, ranked{doc: d, score: sig.intent(int(d), true)})
				}
			}
			var want []int32
			for _, x := range topC(all, c) {
				want = append(want, x.doc)
			}
			if got := sig.intentTop(c, true, nil, nil, nil); !slices.Equal(got, want) {
				t.Fatalf("%q c %d: %v, want %v", query, c, got, want)
			}
		}
	}
}

// topC keeps the c best of xs through a keeper, in order (the oracle the
// tests compare keeper with).
func topC(xs []ranked, c int) []ranked {
	if c <= 0 {
		return xs[:0]
	}
	h := keeper{h: xs[:0], c: c}
	for _, x := range xs {
		h.push(x)
	}
	return h.sorted()
}

// TestIntentTopTies checks A9's order of the intent list against a full
// sort by (intent descending, cosine descending, position ascending), for
// category queries (every member ties at P = 1), text queries (hard and
// soft) and a cosine with ties of its own and names without a vector.
func TestIntentTopTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 2000
	ids, names, cats := make([]string, n), make([]string, n), make([]string, n)
	cosine := make([]float64, n)
	for d := range n {
		ids[d] = fmt.Sprint(d)
		names[d] = fmt.Sprintf("w%d w%d", rng.IntN(300), rng.IntN(300))
		cats[d] = fmt.Sprintf("c%d", rng.IntN(8))
		cosine[d] = float64(rng.IntN(9)) / 8 // many equal cosines
		if rng.IntN(10) == 0 {
			cosine[d] = math.Inf(-1) // no vector
		}
	}
	ix, err := NewTextIndex(ids, names, cats)
	if err != nil {
		t.Fatal(err)
	}
	cos := func(d int32) float64 { return cosine[d] }
	for _, query := range []string{"c3", "c0", "w1", "w7 w200", "c4 w5"} {
		sig, err := ix.Text(context.Background(), query)
		if err != nil {
			t.Fatal(err)
		}
		for _, soft := range []bool{false, true} {
			var all []ranked
			for _, a := range topCategories(sig.posterior) {
				for _, d := range ix.members[a] {
					all = append(all, ranked{doc: d, score: sig.intent(int(d), soft), tie: cosine[d]})
				}
			}
			slices.SortFunc(all, func(a, b ranked) int {
				return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(b.tie, a.tie), cmp.Compare(a.doc, b.doc))
			})
			for _, c := range []int{1, 7, 200, 5000} {
				var want []int32
				for _, x := range all[:min(c, len(all))] {
					want = append(want, x.doc)
				}
				if got := sig.intentTop(c, soft, cos, nil, nil); !slices.Equal(got, want) {
					t.Fatalf("%q soft %v c %d: %v, want %v", query, soft, c, got, want)
				}
			}
		}
	}
}
