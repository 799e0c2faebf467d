package bandit

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestIncBeta(t *testing.T) {
	tests := []struct {
		x, a, b, want float64
	}{
		{0.3, 1, 1, 0.3},
		{0.3, 2, 1, 0.09},                 // x²
		{0.3, 1, 3, 1 - math.Pow(0.7, 3)}, // 1 − (1−x)³
		{0.4, 2, 3, 0.5248},               // 6x²−8x³+3x⁴
		{0.5, 7.5, 7.5, 0.5},              // symmetry
		// mpmath.betainc(a, b, 0, x, regularized=True) at 40 digits:
		{0.006, 6, 994, 0.55383719890099536},
		{1e-3, 47, 12198, 3.221541902107689e-14},
		{0.0047, 857, 181745, 0.52128520543666852},
	}
	for _, tt := range tests {
		got := incBeta(tt.x, tt.a, tt.b)
		if math.Abs(got-tt.want) > 1e-9*tt.want {
			t.Errorf("I_%g(%g, %g) = %.16g, want %.16g", tt.x, tt.a, tt.b, got, tt.want)
		}
	}
}

// exactWin is P(X_b > X_a) for integer Beta parameters, by the closed
// form Σ_{i<α_b} B(α_a+i, β_a+β_b) / ((β_b+i) B(1+i, β_b) B(α_a, β_a))
// (E. Miller, "Formulas for Bayesian A/B testing").
func exactWin(a, b Beta) float64 {
	total := 0.0
	for i := 0.0; i < b.Alpha; i++ {
		total += math.Exp(logB(a.Alpha+i, a.Beta+b.Beta) - math.Log(b.Beta+i) - logB(1+i, b.Beta) - logB(a.Alpha, a.Beta))
	}
	return total
}

func TestWinProbabilitiesClosedForm(t *testing.T) {
	pairs := [][2]Beta{
		{{1, 1}, {2, 1}},
		{{6, 994}, {9, 1191}},    // about 0.5% click rates
		{{3, 800}, {4, 700}},     // few clicks
		{{30, 5000}, {31, 5000}}, // close race
	}
	for _, ab := range pairs {
		p, bound := WinProbabilities(ab[:])
		want := exactWin(ab[0], ab[1])
		if math.Abs(p[1]-want) > bound || math.Abs(p[0]-(1-want)) > bound {
			t.Errorf("%v: P = %.15g, %.15g, want %.15g, %.15g within %.2g", ab, p[0], p[1], 1-want, want, bound)
		}
		if bound > 1e-9 {
			t.Errorf("%v: error bound %g, want ≤ 1e-9", ab, bound)
		}
	}
}

// TestWinProbabilitiesMonteCarlo compares with independent draws, for more
// than two arms where no closed form is at hand, and checks the sum.
func TestWinProbabilitiesMonteCarlo(t *testing.T) {
	cases := [][]Beta{
		{{2, 3}, {3, 2}, {1, 1}},
		{{1, 200}, {2, 150}, {5, 900}, {1, 1}},
		{{47, 12198}, {8, 3566}, {62, 15993}, {857, 181745}}, // Open Bandit priors
	}
	const draws = 200_000
	rng := rand.New(rand.NewPCG(1, 2))
	for _, arms := range cases {
		p, bound := WinProbabilities(arms)
		sum := 0.0
		for _, v := range p {
			sum += v
		}
		if math.Abs(sum-1) > float64(len(arms))*bound {
			t.Errorf("%v: probabilities sum to 1%+.3g, beyond %d × %.2g", arms, sum-1, len(arms), bound)
		}
		wins := make([]float64, len(arms))
		for range draws {
			best, bx := 0, -1.0
			for i, d := range arms {
				if x := d.Sample(rng); x > bx {
					best, bx = i, x
				}
			}
			wins[best]++
		}
		for i := range arms {
			f := wins[i] / draws
			// 4.5 standard errors: all 11 comparisons pass with
			// probability above 0.9999 if p is right.
			if tol := 4.5*math.Sqrt(p[i]*(1-p[i])/draws) + bound + 1/draws; math.Abs(f-p[i]) > tol {
				t.Errorf("%v arm %d: P = %.5f, Monte Carlo %.5f (tolerance %.5f)", arms, i, p[i], f, tol)
			}
		}
	}
}

func TestWinProbabilitiesSingular(t *testing.T) {
	if _, bound := WinProbabilities([]Beta{{0.5, 0.5}, {1, 1}}); !math.IsInf(bound, 1) {
		t.Errorf("bound with a shape below 1 = %g, want +Inf", bound)
	}
}

func TestRankDistribution(t *testing.T) {
	arms := []Beta{{10, 990}, {20, 980}, {5, 995}, {12, 988}}
	dist, bound := RankDistribution(arms, 3, 50_000, 1)
	for p := range 3 {
		sum := 0.0
		for a := range arms {
			sum += dist[a][p]
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Errorf("position %d sums to %g", p, sum)
		}
	}
	// Position 1 of a ranking is the Thompson winner.
	win, _ := WinProbabilities(arms)
	for a := range arms {
		if math.Abs(dist[a][0]-win[a]) > bound {
			t.Errorf("arm %d first %.4f, win probability %.4f, beyond %.4f", a, dist[a][0], win[a], bound)
		}
	}
}

func BenchmarkWinProbabilities(b *testing.B) {
	arms := []Beta{{6, 994}, {9, 1191}, {3, 800}, {12, 1400}}
	for b.Loop() {
		WinProbabilities(arms)
	}
}

// TestWinProbabilitiesDominatedArms: an arm dominated by far (a posterior
// near 0 against one near 1) has a probability that underflows to 0 in
// float64, yet Thompson can still draw it; its propensity must stay a
// usable one, positive and within the error bound, which the slate check
// and the learner accept.
func TestWinProbabilitiesDominatedArms(t *testing.T) {
	for _, arms := range [][]Beta{
		{{Alpha: 1, Beta: 1e6}, {Alpha: 1e6, Beta: 1}},
		{{Alpha: 1, Beta: 1e4}, {Alpha: 1e4, Beta: 1}},
		{{Alpha: 2, Beta: 500}, {Alpha: 500, Beta: 2}, {Alpha: 250, Beta: 250}},
	} {
		p, bound := WinProbabilities(arms)
		for i, x := range p {
			if !(x > 0 && x <= 1) || math.IsInf(1/x, 0) {
				t.Errorf("%v: arm %d probability %g; want in (0, 1] with a finite inverse", arms, i, x)
			}
		}
		if p[0] > bound {
			t.Errorf("%v: dominated arm %g above the error bound %g", arms, p[0], bound)
		}
		imp := Impression{ID: "i", Surface: "s", At: time.Unix(1, 0), Slots: []Slot{{Arm: "a", Propensity: p[0]}}}
		if err := validImpression(imp); err != nil {
			t.Errorf("%v: the dominated arm's propensity is refused: %v", arms, err)
		}
	}
}
