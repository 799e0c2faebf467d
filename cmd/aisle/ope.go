package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/aisle-ai/aisle/ope"
)

// opeCmd evaluates a policy off-policy: either the Open Bandit Dataset
// check (--obd) or a target policy over aisle's JSONL impression log
// (--log, --target).
func opeCmd(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("aisle ope", flag.ContinueOnError)
	obdDir := fs.String("obd", "", "Open Bandit Dataset folder (random/, bts/, prior_bts.yaml): estimate the bts policy from the random log")
	campaigns := fs.String("campaigns", "men,women", "Open Bandit campaigns to check, comma-separated")
	sims := fs.Int("sims", 100_000, "Thompson rankings simulated for the bts policy's action distribution")
	logPath := fs.String("log", "", "JSONL impression log (one ope.ImpressionRecord per line)")
	surface := fs.String("surface", "", "only this surface's impressions of --log (default all)")
	target := fs.String("target", "", `YAML of the evaluated policy's per-slot arm probabilities: "probabilities: {arm: p, ...}"`)
	var b ope.Bootstrap
	fs.IntVar(&b.Resamples, "resamples", 1000, "bootstrap resamples")
	fs.Float64Var(&b.Level, "level", 0.95, "confidence level of the intervals")
	fs.Uint64Var(&b.Seed, "seed", 1, "seed of the simulation and the bootstrap")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: aisle ope --obd DIR [flags]  |  aisle ope --log FILE.jsonl --target POLICY.yaml [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *obdDir != "":
		var results []obdResult
		for _, c := range strings.Split(*campaigns, ",") {
			r, err := obdCheck(*obdDir, strings.TrimSpace(c), obdOptions{sims: *sims, bootstrap: b})
			if err != nil {
				return err
			}
			results = append(results, r)
		}
		writeOBDTable(w, results, *sims)
		return nil
	case *logPath != "" && *target != "":
		return opeLog(w, *logPath, *surface, *target, b)
	}
	fs.Usage()
	return fmt.Errorf("need --obd DIR, or --log and --target")
}

// opeLog evaluates a fixed per-slot arm distribution over a JSONL log.
func opeLog(w io.Writer, logPath, surface, targetPath string, b ope.Bootstrap) error {
	data, err := os.ReadFile(targetPath)
	if err != nil {
		return err
	}
	var policy struct {
		Probabilities map[string]float64 `yaml:"probabilities"`
	}
	if err := yaml.Unmarshal(data, &policy); err != nil {
		return fmt.Errorf("%s: %w", targetPath, err)
	}
	var arms []string
	for a := range policy.Probabilities {
		arms = append(arms, a)
	}
	f, err := os.Open(logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	rounds, arms, err := ope.ReadJSONL(f, surface, arms)
	if err != nil {
		return fmt.Errorf("%s: %w", logPath, err)
	}
	dist := make([]float64, len(arms))
	for i, a := range arms {
		dist[i] = policy.Probabilities[a]
	}
	np := 0
	for i := range rounds {
		rounds[i].Target = dist[rounds[i].Action]
		np = max(np, rounds[i].Position+1)
	}
	if err := ope.FillDR(rounds, len(arms), np, 2, func(int) []float64 { return dist }); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d slots from %s\n", len(rounds), logPath)
	for _, est := range append([]ope.Estimator{ope.OnPolicy}, ope.Estimators...) {
		e, err := ope.Evaluate(rounds, est, b)
		if err != nil {
			return err
		}
		name := string(est)
		if est == ope.OnPolicy {
			name = "logging policy (observed)"
		}
		fmt.Fprintf(w, "%-26s %.5f  [%.5f, %.5f] at %.0f%%\n", name, e.Value, e.Low, e.High, 100*e.Level)
	}
	return nil
}
