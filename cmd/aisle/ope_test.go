package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aisle-ai/aisle/ope"
)

var obdDir = filepath.Join("..", "..", "testdata", "open-bandit")

// TestOBDCheck is the Open Bandit Dataset check: the Thompson-sampling
// policy's click rate estimated from the uniform-random log agrees with the
// click rate it achieved in its own log, in both campaigns: the observed
// rate lies inside every estimate's 95% interval, and every estimate is a
// click rate between 0.1% and 2%. With about 50 clicks per log the
// intervals are wide (about ±50%), so this catches gross errors (inverted
// weights, a wrong item or position index, another campaign's priors), not
// small biases; TestUnbiased in package ope covers those.
func TestOBDCheck(t *testing.T) {
	opts := obdOptions{sims: 20_000, bootstrap: ope.Bootstrap{Resamples: 400, Seed: 1}}
	for _, campaign := range []string{"men", "women"} {
		t.Run(campaign, func(t *testing.T) {
			r, err := obdCheck(obdDir, campaign, opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.rounds != 10_000 {
				t.Errorf("%d rounds, want 10,000", r.rounds)
			}
			for _, e := range append(r.fromPriors, r.fromFrequencies...) {
				if r.observed.Value < e.Low || r.observed.Value > e.High {
					t.Errorf("%s: estimate %.4f [%.4f, %.4f] does not cover the observed %.4f", e.Estimator, e.Value, e.Low, e.High, r.observed.Value)
				}
				if !(e.Value > 0.001 && e.Value < 0.02) {
					t.Errorf("%s: estimate %.4f is not a click rate near 0.5%%", e.Estimator, e.Value)
				}
			}
		})
	}
}

func TestOBDRankDistributionSums(t *testing.T) {
	priors, err := readPriors(filepath.Join(obdDir, "prior_bts.yaml"), "men")
	if err != nil {
		t.Fatal(err)
	}
	if len(priors) != 34 {
		t.Fatalf("%d men priors, want 34", len(priors))
	}
	if _, err := readPriors(filepath.Join(obdDir, "prior_bts.yaml"), "kids"); err == nil {
		t.Error("unknown campaign accepted")
	}
}

func TestOpeCommand(t *testing.T) {
	var out bytes.Buffer
	if err := opeCmd([]string{"--obd", obdDir, "--campaigns", "men", "--sims", "2000", "--resamples", "50"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "| men | prior_bts.yaml (2000 rankings") {
		t.Errorf("ope --obd output:\n%s", out.String())
	}

	dir := t.TempDir()
	log := filepath.Join(dir, "log.jsonl")
	var lines strings.Builder
	// A uniform logger over two arms where "b" is clicked twice as often.
	for i := range 400 {
		arm, reward := "a", 0
		if i%2 == 1 {
			arm = "b"
		}
		if (arm == "a" && i%20 == 0) || (arm == "b" && i%10 == 1) {
			reward = 1
		}
		lines.WriteString(`{"impression_id":"i` + strings.Repeat("x", i%3) + `","surface":"home","at":"2026-03-01T12:00:00Z","slots":[{"arm":"` + arm + `","propensity":0.5,"reward":` + string(rune('0'+reward)) + `}]}` + "\n")
	}
	if err := os.WriteFile(log, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "target.yaml")
	if err := os.WriteFile(target, []byte("probabilities: {b: 1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := opeCmd([]string{"--log", log, "--target", target, "--resamples", "50"}, &out); err != nil {
		t.Fatal(err)
	}
	// Always-b earns b's rate, 0.2 (a's is 0.1); the uniform logger
	// earned 0.15. DR's reward model is cross-fitted, so it is near 0.2
	// rather than exact.
	for _, want := range []string{"logging policy (observed)  0.15000", "IPS                        0.20000", "SNIPS                      0.20000", "DR                         0.2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("ope --log output lacks %q:\n%s", want, out.String())
		}
	}
	if err := opeCmd(nil, &out); err == nil {
		t.Error("ope without --obd or --log succeeded")
	}
}
