package fusion

import (
	"math"
	"slices"
	"testing"
)

func ids[K comparable](hits []Hit[K]) []K {
	var out []K
	for _, h := range hits {
		out = append(out, h.ID)
	}
	return out
}

// TestRRF checks scores computed by hand with k = 60:
//
//	encoder: [yogurt, milk, cream]    bm25: [milk, butter, yogurt]
//	yogurt = 1/61 + 1/63 = 0.0322664    milk = 1/62 + 1/61 = 0.0325225
//	cream  = 1/63        = 0.0158730    butter = 1/62     = 0.0161290
func TestRRF(t *testing.T) {
	got := RRF(0, []string{"yogurt", "milk", "cream"}, []string{"milk", "butter", "yogurt"})
	if want := []string{"milk", "yogurt", "butter", "cream"}; !slices.Equal(ids(got), want) {
		t.Fatalf("order %v, want %v", ids(got), want)
	}
	for i, s := range []float64{1.0/62 + 1.0/61, 1.0/61 + 1.0/63, 1.0 / 62, 1.0 / 63} {
		if math.Abs(got[i].Score-s) > 1e-12 {
			t.Errorf("%s score %v, want %v", got[i].ID, got[i].Score, s)
		}
	}
	if !slices.Equal(got[0].Ranks, []int{2, 1}) || !slices.Equal(got[2].Ranks, []int{0, 2}) {
		t.Errorf("ranks: milk %v butter %v", got[0].Ranks, got[2].Ranks)
	}
}

func TestTiesAndRepeats(t *testing.T) {
	// a and b tie on score (1/61 + 1/62 each); a and b both have best rank
	// 1, so first appearance decides: a.
	got := RRF(60, []int{1, 2}, []int{2, 1})
	if !slices.Equal(ids(got), []int{1, 2}) || got[0].Score != got[1].Score {
		t.Errorf("tie: %v", got)
	}
	// A repeat within a list counts once, at its first position.
	got = RRF(60, []int{7, 7, 8})
	if len(got) != 2 || math.Abs(got[0].Score-1.0/61) > 1e-12 || got[1].Score != 1.0/63 {
		t.Errorf("repeat: %+v", got)
	}
	if got := RRF[int](60); len(got) != 0 {
		t.Errorf("no lists: %v", got)
	}
}

func TestWeighted(t *testing.T) {
	// Weight 2 on the second list: its second place, butter (2/62), passes
	// the first list's first place, yogurt (1/61).
	got := Weighted(60, []float64{1, 2}, []string{"yogurt", "milk"}, []string{"milk", "butter"})
	if want := []string{"milk", "butter", "yogurt"}; !slices.Equal(ids(got), want) {
		t.Errorf("order %v, want %v (scores %+v)", ids(got), want, got)
	}
	// Weight 0 keeps the ranks, not the score.
	got = Weighted(60, []float64{1, 0}, []string{"a"}, []string{"b", "a"})
	if got[0].ID != "a" || got[1].Score != 0 || !slices.Equal(got[1].Ranks, []int{0, 1}) {
		t.Errorf("zero weight: %+v", got)
	}
}

// TestBlend checks scores by hand: the query's best BM25 score is 8 (over
// the catalogue: "milk"), so w.Lexical = 1 adds 8/8 = 1 to milk and 2/8 =
// 0.25 to butter; w.Intent = 0.5 adds half of each intent score.
//
//	yogurt 0.9 + 0 + 0.5·0.8 = 1.3;  milk 0.5 + 1 + 0.5·0.1 = 1.55;
//	butter 0.7 + 0.25 + 0 = 0.95;    cream 0.9 + 0 + 0.1 = 1.0
func TestBlend(t *testing.T) {
	cands := []Candidate[string]{{"yogurt", 0.9, 0, 0.8}, {"milk", 0.5, 8, 0.1}, {"butter", 0.7, 2, 0}, {"cream", 0.9, 0, 0.2}}
	got := Blend(cands, Weights{Lexical: 1, Intent: 0.5}, 8, 0)
	if want := []string{"milk", "yogurt", "cream", "butter"}; !slices.Equal(ids(got), want) {
		t.Fatalf("order %v, want %v", ids(got), want)
	}
	for i, s := range []float64{1.55, 1.3, 1.0, 0.95} {
		if math.Abs(got[i].Score-s) > 1e-12 {
			t.Errorf("%s = %v, want %v", got[i].ID, got[i].Score, s)
		}
	}
	// No lexical match and no intent: the encoder's order; ties keep the
	// input order.
	flat := []Candidate[string]{{"a", 0.1, 0, 0}, {"b", 0.3, 0, 0}, {"c", 0.1, 0, 0}, {"d", 0.1, 0, 0}}
	got = Blend(flat, Weights{Lexical: 1, Intent: 1}, 0, 0)
	if !slices.Equal(ids(got), []string{"b", "a", "c", "d"}) || got[0].Score != 0.3 {
		t.Errorf("no lexical match: %+v", got)
	}
	// The k best are the first k of the whole order, ties included.
	for k := 1; k <= 5; k++ {
		if got := Blend(flat, Weights{}, 0, k); !slices.Equal(ids(got), []string{"b", "a", "c", "d"}[:min(k, 4)]) {
			t.Errorf("k=%d: %v", k, ids(got))
		}
	}
}
