package intent

import (
	"errors"
	"math"
	"slices"
	"testing"
)

var (
	names  = []string{"greek yogurt", "vanilla yogurt", "whole milk", "skim milk", "milk chocolate"}
	labels = []string{"yogurt", "yogurt", "milk", "milk", "candy chocolate"}
)

// TestPosteriorByHand checks P(a | "yogurt") against the formula of the
// package doc worked by hand: V = 7 terms (greek, yogurt, vanilla, whole,
// milk, skim, chocolate); totals yogurt 4, milk 4, candy chocolate 2;
// priors 2/5, 2/5, 1/5. "yogurt" occurs twice in yogurt, never elsewhere:
//
//	yogurt: 2/5 · 3/11     milk: 2/5 · 1/11     candy chocolate: 1/5 · 1/9
func TestPosteriorByHand(t *testing.T) {
	c, err := Fit(names, labels)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"candy chocolate", "milk", "yogurt"}; !slices.Equal(c.Labels(), want) {
		t.Fatalf("labels %v", c.Labels())
	}
	j := []float64{1.0 / 5 / 9, 2.0 / 5 / 11, 2.0 / 5 * 3 / 11}
	z := j[0] + j[1] + j[2]
	p, ok := c.Posterior("  YOGURT!", false)
	if !ok {
		t.Fatal("no posterior")
	}
	for i := range j {
		if math.Abs(p[i]-j[i]/z) > 1e-12 {
			t.Errorf("P(%s) = %v, want %v", c.Labels()[i], p[i], j[i]/z)
		}
	}
	if _, ok := c.Posterior("zzz ??", false); ok {
		t.Error("a query of unknown terms has a posterior")
	}
	if p, ok := c.Posterior("Candy, chocolate", true); !ok || p[0] != 1 || p[1] != 0 {
		t.Errorf("exact name: %v %v", p, ok)
	}
	if p, _ := c.Posterior("Candy, chocolate", false); p[0] == 1 {
		t.Errorf("exact off: %v", p)
	}
	if j, ok := c.IsLabel(" CANDY chocolate "); !ok || j != 0 {
		t.Errorf("IsLabel: %d %v", j, ok)
	}
	if _, ok := c.IsLabel("candy"); ok {
		t.Error("a part of a label is a label")
	}
	np := c.NamePosterior("yogurt")
	for i := range j {
		if math.Abs(np[i]-p[i]) > 1e-15 {
			t.Errorf("NamePosterior %v, Posterior %v", np, p)
		}
	}
	if np := c.NamePosterior("zzz"); math.Abs(np[1]-0.4) > 1e-12 {
		t.Errorf("NamePosterior of no known term: %v, want the prior", np)
	}
	if got := c.Labels()[c.Predict("chocolate milk")]; got != "milk" {
		t.Errorf("chocolate milk → %s", got)
	}
	// No known term: the prior decides, and milk and yogurt tie on it (2/5
	// each): the first label wins.
	if got := c.Predict("zzz"); c.Labels()[got] != "milk" {
		t.Errorf("unknown name → %s, want the larger prior (milk before yogurt)", c.Labels()[got])
	}
}

func TestFitErrors(t *testing.T) {
	if _, err := Fit([]string{"a"}, nil); !errors.Is(err, ErrFit) {
		t.Errorf("length mismatch: %v", err)
	}
	if _, err := Fit([]string{"a"}, []string{""}); !errors.Is(err, ErrFit) {
		t.Errorf("no labels: %v", err)
	}
}

// FuzzPosterior: any query text (client input) gives no posterior or a
// distribution, never a panic, NaN or a label out of range.
func FuzzPosterior(f *testing.F) {
	c, err := Fit(names, labels)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "yogurt", "CANDY, chocolate", "milk milk milk", "\xff\xfe", "é ü ß", "  \t\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		for _, exact := range []bool{false, true} {
			p, ok := c.Posterior(q, exact)
			if !ok {
				continue
			}
			sum := 0.0
			for _, x := range p {
				if !(x >= 0 && x <= 1) {
					t.Fatalf("%q: P %v", q, p)
				}
				sum += x
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Fatalf("%q: sums to %v", q, sum)
			}
		}
		if j := c.Predict(q); j < 0 || j >= len(c.Labels()) {
			t.Fatalf("%q: label %d", q, j)
		}
	})
}
