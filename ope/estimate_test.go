package ope_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aisle-ai/aisle/ope"
)

// synthetic is a context-free logging problem with known ground truth.
type synthetic struct {
	rates    [][]float64 // [action][position] reward probability
	behavior [][]float64 // [position][action] π_b
	target   [][]float64 // [position][action] π_e
}

var world = synthetic{
	rates: [][]float64{{0.10, 0.06, 0.04}, {0.20, 0.12, 0.08}, {0.05, 0.03, 0.02}, {0.30, 0.20, 0.10}},
	behavior: [][]float64{
		{0.4, 0.3, 0.2, 0.1}, {0.25, 0.25, 0.25, 0.25}, {0.1, 0.2, 0.3, 0.4},
	},
	target: [][]float64{
		{0.1, 0.2, 0.1, 0.6}, {0.05, 0.5, 0.05, 0.4}, {0.7, 0.1, 0.1, 0.1},
	},
}

// truth is the target policy's value: positions equally likely.
func (w synthetic) truth() float64 {
	v := 0.0
	for p, dist := range w.target {
		for a, pi := range dist {
			v += pi * w.rates[a][p] / float64(len(w.target))
		}
	}
	return v
}

func (w synthetic) log(n int, rng *rand.Rand) []ope.Round {
	rounds := make([]ope.Round, n)
	for i := range rounds {
		p := i % len(w.behavior)
		a := pick(w.behavior[p], rng)
		r := 0.0
		if rng.Float64() < w.rates[a][p] {
			r = 1
		}
		rounds[i] = ope.Round{Action: a, Position: p, Reward: r, Propensity: w.behavior[p][a], Target: w.target[p][a]}
	}
	if err := ope.FillDR(rounds, len(w.rates), len(w.behavior), 2, func(p int) []float64 { return w.target[p] }); err != nil {
		panic(err)
	}
	return rounds
}

func pick(dist []float64, rng *rand.Rand) int {
	u := rng.Float64()
	for a, p := range dist {
		if u < p {
			return a
		}
		u -= p
	}
	return len(dist) - 1
}

// TestUnbiased draws many logs from a known world: the mean of each
// estimator over the logs matches the true value within 4 standard errors
// (SNIPS is consistent rather than unbiased, but its O(1/n) bias at n =
// 3,000 is far below that), and the 95% bootstrap intervals cover it in
// about 95% of logs.
func TestUnbiased(t *testing.T) {
	const logs, n = 300, 3000
	truth := world.truth()
	rng := rand.New(rand.NewPCG(3, 4))
	vals := map[ope.Estimator][]float64{}
	covered := map[ope.Estimator]int{}
	const coverageLogs = 60
	for l := range logs {
		rounds := world.log(n, rng)
		for _, est := range ope.Estimators {
			if l < coverageLogs {
				e, err := ope.Evaluate(rounds, est, ope.Bootstrap{Resamples: 200, Seed: uint64(l)})
				if err != nil {
					t.Fatal(err)
				}
				if e.Low <= truth && truth <= e.High {
					covered[est]++
				}
				vals[est] = append(vals[est], e.Value)
				continue
			}
			e, err := ope.Evaluate(rounds, est, ope.Bootstrap{Resamples: 1})
			if err != nil {
				t.Fatal(err)
			}
			vals[est] = append(vals[est], e.Value)
		}
	}
	for _, est := range ope.Estimators {
		m, se := meanSE(vals[est])
		t.Logf("%s: mean %.5f ± %.5f (truth %.5f), 95%% interval covered truth in %d/%d logs", est, m, se, truth, covered[est], coverageLogs)
		if math.Abs(m-truth) > 4*se {
			t.Errorf("%s: mean over %d logs %.5f, truth %.5f, beyond 4 × %.5f", est, logs, m, truth, se)
		}
		// 95% coverage over 60 logs: fewer than 50 covered happens with
		// probability below 10^-3.
		if covered[est] < 50 {
			t.Errorf("%s: interval covered the truth in %d of %d logs", est, covered[est], coverageLogs)
		}
	}
	// DR's reward model must earn its keep: lower spread than IPS.
	if _, seIPS := meanSE(vals[ope.IPS]); true {
		if _, seDR := meanSE(vals[ope.DR]); seDR >= seIPS {
			t.Errorf("DR spread %.5f not below IPS %.5f", seDR, seIPS)
		}
	}
}

func meanSE(v []float64) (mean, se float64) {
	for _, x := range v {
		mean += x / float64(len(v))
	}
	for _, x := range v {
		se += (x - mean) * (x - mean) / float64(len(v)-1)
	}
	return mean, math.Sqrt(se / float64(len(v)))
}

// TestOnPolicyIdentity: evaluating the logging policy itself, IPS and
// SNIPS equal the on-policy mean exactly.
func TestOnPolicyIdentity(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	rounds := world.log(500, rng)
	for i := range rounds {
		rounds[i].Target = rounds[i].Propensity
	}
	on, _ := ope.Evaluate(rounds, ope.OnPolicy, ope.Bootstrap{Resamples: 10})
	for _, est := range []ope.Estimator{ope.IPS, ope.SNIPS} {
		e, err := ope.Evaluate(rounds, est, ope.Bootstrap{Resamples: 10})
		if err != nil || math.Abs(e.Value-on.Value) > 1e-12 {
			t.Errorf("%s of the logging policy = %v, %v; on-policy %v", est, e.Value, err, on.Value)
		}
	}
}

func TestEvaluateBadLogs(t *testing.T) {
	bad := [][]ope.Round{
		nil,
		{{Propensity: 0, Target: 0.5}},
		{{Propensity: 1.5, Target: 0.5}},
		{{Propensity: 0.5, Target: -1}},
		{{Propensity: 0.5, Target: 0.5, Reward: math.NaN()}},
	}
	for _, rounds := range bad {
		if _, err := ope.Evaluate(rounds, ope.IPS, ope.Bootstrap{}); !errors.Is(err, ope.ErrBadLog) {
			t.Errorf("Evaluate(%+v) = %v, want ErrBadLog", rounds, err)
		}
	}
	if err := ope.FillDR([]ope.Round{{Action: 5}}, 2, 1, 2, nil); !errors.Is(err, ope.ErrBadLog) {
		t.Errorf("FillDR with an action out of range = %v", err)
	}
}

func TestReadOBD(t *testing.T) {
	const csv = ",timestamp,item_id,position,click,propensity_score,user_feature_0\n" +
		"0,2019-11-24 00:03:13+00:00,14,3,0,0.029411764705882353,abc\n" +
		"1,2019-11-24 00:03:36+00:00,10,1,1,0.05,def\n"
	rounds, na, np, err := ope.ReadOBD(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	want := []ope.Round{{Action: 14, Position: 2, Propensity: 0.029411764705882353}, {Action: 10, Position: 0, Reward: 1, Propensity: 0.05}}
	if len(rounds) != 2 || rounds[0] != want[0] || rounds[1] != want[1] || na != 15 || np != 3 {
		t.Errorf("ReadOBD = %+v, %d, %d", rounds, na, np)
	}
	for _, bad := range []string{
		"item_id,position,click\n1,1,0\n",
		"item_id,position,click,propensity_score\n1,0,0,0.5\n",
		"item_id,position,click,propensity_score\n1,1,0,0\n",
		"item_id,position,click,propensity_score\nx,1,0,0.5\n",
		"item_id,position,click,propensity_score\n-1,1,0,0.5\n",
	} {
		if _, _, _, err := ope.ReadOBD(strings.NewReader(bad)); !errors.Is(err, ope.ErrBadLog) {
			t.Errorf("ReadOBD(%q) = %v, want ErrBadLog", bad, err)
		}
	}
}

func TestReadJSONL(t *testing.T) {
	const log = `{"impression_id":"i1","surface":"home","at":"2026-03-01T12:00:00Z","slots":[{"arm":"popular","propensity":0.5,"reward":0},{"arm":"cart-gnn","propensity":0.25,"reward":1}]}
{"impression_id":"i2","surface":"cart","at":"2026-03-01T12:00:01Z","slots":[{"arm":"popular","propensity":0.5,"reward":1}]}

{"impression_id":"i3","surface":"home","at":"2026-03-01T12:00:02Z","slots":[{"arm":"query","propensity":1,"reward":0}]}
`
	rounds, arms, err := ope.ReadJSONL(strings.NewReader(log), "home", []string{"cart-gnn"})
	if err != nil {
		t.Fatal(err)
	}
	want := []ope.Round{{Action: 1, Position: 0, Propensity: 0.5}, {Action: 0, Position: 1, Reward: 1, Propensity: 0.25}, {Action: 2, Position: 0, Propensity: 1}}
	if len(rounds) != 3 || rounds[0] != want[0] || rounds[1] != want[1] || rounds[2] != want[2] || strings.Join(arms, ",") != "cart-gnn,popular,query" {
		t.Errorf("ReadJSONL = %+v, %v", rounds, arms)
	}
	for _, bad := range []string{
		`{"impression_id":"i1","slots":[]}`,
		`{"impression_id":"i1","slots":[{"arm":"a","propensity":0}]}`,
		`{"impression_id":"i1","extra":1,"slots":[{"arm":"a","propensity":1}]}`,
		`not json`,
	} {
		if _, _, err := ope.ReadJSONL(strings.NewReader(bad), "", nil); !errors.Is(err, ope.ErrBadLog) {
			t.Errorf("ReadJSONL(%q) = %v, want ErrBadLog", bad, err)
		}
	}
}

func FuzzReadOBD(f *testing.F) {
	f.Add("item_id,position,click,propensity_score\n1,1,0,0.5\n")
	f.Fuzz(func(t *testing.T, s string) {
		rounds, na, np, err := ope.ReadOBD(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range rounds {
			if r.Action >= na || r.Position >= np || !(r.Propensity > 0 && r.Propensity <= 1) {
				t.Fatalf("round %+v outside %d × %d", r, na, np)
			}
		}
	})
}

func BenchmarkEvaluate(b *testing.B) {
	rounds := world.log(10_000, rand.New(rand.NewPCG(1, 1)))
	for b.Loop() {
		if _, err := ope.Evaluate(rounds, ope.DR, ope.Bootstrap{Resamples: 100}); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzReadJSONL(f *testing.F) {
	f.Add(`{"impression_id":"i1","surface":"home","slots":[{"arm":"a","propensity":0.5,"reward":1}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		rounds, arms, err := ope.ReadJSONL(strings.NewReader(s), "", nil)
		if err != nil {
			return
		}
		for _, r := range rounds {
			if r.Action >= len(arms) || !(r.Propensity > 0 && r.Propensity <= 1) {
				t.Fatalf("round %+v with %d arms", r, len(arms))
			}
		}
	})
}

// TestLevelOutOfRange: a level outside (0, 1), NaN included, takes the
// default 0.95 instead of indexing the resamples out of range.
func TestLevelOutOfRange(t *testing.T) {
	rounds := world.log(100, rand.New(rand.NewPCG(7, 8)))
	want, err := ope.Evaluate(rounds, ope.IPS, ope.Bootstrap{Resamples: 50, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, level := range []float64{math.NaN(), -1, 0, 1, math.Inf(1)} {
		got, err := ope.Evaluate(rounds, ope.IPS, ope.Bootstrap{Resamples: 50, Seed: 1, Level: level})
		if err != nil || got != want {
			t.Errorf("level %v: %+v, %v; want the 0.95 default's %+v", level, got, err, want)
		}
	}
}
