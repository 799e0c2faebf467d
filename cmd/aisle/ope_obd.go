package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/ope"
)

// obdOptions configures the Open Bandit Dataset check.
type obdOptions struct {
	sims      int // Thompson rankings simulated for the evaluation policy
	bootstrap ope.Bootstrap
}

// obdResult is the check for one campaign: the Thompson-sampling ("bts")
// policy's click rate estimated from the uniform-random log, beside the
// click rate it achieved in its own log.
type obdResult struct {
	campaign string
	// observed is the bts log's mean click (its on-policy value); random
	// the random log's.
	observed, random ope.Estimate
	// estimates are IPS, SNIPS and DR of the bts policy on the random
	// log, with π_e from the priors (the standard way) and, as a check,
	// from the bts log's action frequencies.
	fromPriors, fromFrequencies []ope.Estimate
	// rankBound is the Monte Carlo bound on each π_e(a | position) from
	// the priors.
	rankBound float64
	rounds    int
}

// obdCheck runs the check for one campaign of an Open Bandit Dataset
// folder: either the original layout (random/men/men.csv) or the one in
// testdata/open-bandit (random/men.csv), with prior_bts.yaml beside.
//
// The evaluation policy's action distribution follows the Open Bandit
// Pipeline (Saito et al. 2021; examples/obd): the bts policy ranks items
// by one draw from each item's Beta(alpha, beta) in prior_bts.yaml and
// shows the top 3, so π_e(item | position) is estimated by simulating
// that ranking (BernoulliTS.compute_batch_action_dist, here
// bandit.RankDistribution) and does not depend on the user. The bts log's
// own propensity_score cannot serve: it is the probability of the logged
// item at its position under the bts state at that moment, which changes
// from row to row (9,894 distinct values among 10,000 men rows), and it
// gives nothing for items the bts log did not show. The ground truth is
// the bts log's mean click (calc_on_policy_policy_value_estimate).
func obdCheck(dir, campaign string, opts obdOptions) (obdResult, error) {
	res := obdResult{campaign: campaign}
	random, na, np, err := readOBDFile(dir, "random", campaign)
	if err != nil {
		return res, err
	}
	bts, naB, npB, err := readOBDFile(dir, "bts", campaign)
	if err != nil {
		return res, err
	}
	na, np = max(na, naB), max(np, npB)
	priors, err := readPriors(filepath.Join(dir, "prior_bts.yaml"), campaign)
	if err != nil {
		return res, err
	}
	if len(priors) < na {
		return res, fmt.Errorf("%w: prior_bts.yaml has %d %s items, the logs use %d", ope.ErrBadLog, len(priors), campaign, na)
	}
	dist, bound := bandit.RankDistribution(priors, np, opts.sims, opts.bootstrap.Seed)
	res.rankBound, res.rounds = bound, len(random)
	fromPriors := func(pos int) []float64 {
		p := make([]float64, na)
		for a := range p {
			p[a] = dist[a][pos]
		}
		return p
	}
	if res.observed, err = ope.Evaluate(bts, ope.OnPolicy, opts.bootstrap); err != nil {
		return res, err
	}
	if res.random, err = ope.Evaluate(random, ope.OnPolicy, opts.bootstrap); err != nil {
		return res, err
	}
	if res.fromPriors, err = evaluateAll(random, na, np, fromPriors, opts.bootstrap); err != nil {
		return res, err
	}
	freq := actionFrequencies(bts, na, np)
	res.fromFrequencies, err = evaluateAll(random, na, np, func(pos int) []float64 { return freq[pos] }, opts.bootstrap)
	return res, err
}

// evaluateAll sets each round's target from target(position), fills the
// DR terms and runs every estimator.
func evaluateAll(rounds []ope.Round, na, np int, target func(int) []float64, b ope.Bootstrap) ([]ope.Estimate, error) {
	rounds = append([]ope.Round(nil), rounds...)
	for i := range rounds {
		rounds[i].Target = target(rounds[i].Position)[rounds[i].Action]
	}
	if err := ope.FillDR(rounds, na, np, 2, target); err != nil {
		return nil, err
	}
	var out []ope.Estimate
	for _, est := range ope.Estimators {
		e, err := ope.Evaluate(rounds, est, b)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// actionFrequencies is the share of each item at each position in a log:
// [position][item].
func actionFrequencies(rounds []ope.Round, na, np int) [][]float64 {
	freq := make([][]float64, np)
	n := make([]float64, np)
	for p := range freq {
		freq[p] = make([]float64, na)
	}
	for _, r := range rounds {
		freq[r.Position][r.Action]++
		n[r.Position]++
	}
	for p := range freq {
		for a := range freq[p] {
			if n[p] > 0 {
				freq[p][a] /= n[p]
			}
		}
	}
	return freq
}

func readOBDFile(dir, policy, campaign string) ([]ope.Round, int, int, error) {
	path := filepath.Join(dir, policy, campaign+".csv")
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		path = filepath.Join(dir, policy, campaign, campaign+".csv")
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	rounds, na, np, err := ope.ReadOBD(f)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return rounds, na, np, nil
}

// readPriors reads one campaign's Beta priors from prior_bts.yaml.
func readPriors(path, campaign string) ([]bandit.Beta, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var all map[string]struct {
		Alpha []float64 `yaml:"alpha"`
		Beta  []float64 `yaml:"beta"`
	}
	if err := yaml.Unmarshal(data, &all); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c, ok := all[campaign]
	if !ok || len(c.Alpha) != len(c.Beta) {
		return nil, fmt.Errorf("%s: no campaign %q with as many alphas as betas", path, campaign)
	}
	out := make([]bandit.Beta, len(c.Alpha))
	for i := range out {
		if !(c.Alpha[i] > 0 && c.Beta[i] > 0) {
			return nil, fmt.Errorf("%s: %s item %d: Beta(%g, %g)", path, campaign, i, c.Alpha[i], c.Beta[i])
		}
		out[i] = bandit.Beta{Alpha: c.Alpha[i], Beta: c.Beta[i]}
	}
	return out, nil
}

// writeOBDTable writes the results as a Markdown table, click rates in
// percent with their bootstrap intervals.
func writeOBDTable(w io.Writer, results []obdResult, sims int) {
	pct := func(e ope.Estimate) string {
		return fmt.Sprintf("%.3f%% [%.3f, %.3f]", 100*e.Value, 100*e.Low, 100*e.High)
	}
	fmt.Fprintln(w, "| campaign | π_e of the bts policy from | IPS | SNIPS | DR | bts click rate observed (bts log) | random log's click rate |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range results {
		for _, row := range []struct {
			name string
			ests []ope.Estimate
		}{
			{fmt.Sprintf("prior_bts.yaml (%d rankings, ±%.4f)", sims, r.rankBound), r.fromPriors},
			{"bts log's action frequencies", r.fromFrequencies},
		} {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", r.campaign, row.name,
				pct(row.ests[0]), pct(row.ests[1]), pct(row.ests[2]), pct(r.observed), pct(r.random))
		}
	}
	fmt.Fprintf(w, "\n%d rounds (shown slots) per log and campaign; %.0f%% percentile bootstrap intervals.\n",
		results[0].rounds, 100*results[0].observed.Level)
}
