package ope

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// ErrBadLog reports a log round that no estimator can use: a propensity
// outside (0, 1], a target probability outside [0, 1], a reward that is
// not finite, or a malformed file line. The message names the round.
var ErrBadLog = errors.New("bad bandit log")

// Round is one logged decision: the action (arm, item) shown at a
// position, the reward it earned, and the probabilities that the logging
// policy and the evaluated policy give that action at that position.
type Round struct {
	Action, Position int
	Reward           float64
	// Propensity is the logging policy's π_b(action | context, position),
	// as logged, in (0, 1].
	Propensity float64
	// Target is the evaluated policy's π_e(action | context, position),
	// in [0, 1].
	Target float64
	// Direct and Predicted are the doubly robust estimator's reward-model
	// terms (see FillDR): Σ_a π_e(a | x, position)·q̂(x, a, position) and
	// q̂(x, Action, Position).
	Direct, Predicted float64
}

// weight is the importance weight π_e/π_b.
func (r Round) weight() float64 { return r.Target / r.Propensity }

// Estimator names an off-policy estimator.
type Estimator string

// The estimators. Each is a ratio Σ num_t / Σ den_t over rounds, which is
// what the bootstrap resamples.
const (
	// OnPolicy is the plain mean reward: the logging policy's own value
	// (num = r, den = 1).
	OnPolicy Estimator = "on-policy"
	// IPS is inverse propensity scoring (num = w·r, den = 1, w = π_e/π_b):
	// unbiased when every propensity is right and positive wherever π_e is.
	IPS Estimator = "IPS"
	// SNIPS is self-normalised IPS (num = w·r, den = w): biased by O(1/n)
	// but with lower variance, and invariant to a constant reward shift.
	SNIPS Estimator = "SNIPS"
	// DR is doubly robust (num = Direct + w·(r − Predicted), den = 1):
	// unbiased if the propensities are right, whatever the reward model;
	// lower variance the better the model.
	DR Estimator = "DR"
)

// Estimators lists every estimator of a policy other than the logger.
var Estimators = []Estimator{IPS, SNIPS, DR}

// Estimate is an estimated policy value with its bootstrap interval.
type Estimate struct {
	Estimator Estimator
	Value     float64
	// Low and High bound the percentile bootstrap interval at Level.
	Low, High, Level float64
	Rounds           int
}

// Bootstrap configures the confidence intervals.
type Bootstrap struct {
	// Resamples is the number of bootstrap resamples; default 1000.
	Resamples int
	// Level is the interval's coverage; default 0.95.
	Level float64
	// Seed seeds the resampling, so reports are reproducible.
	Seed uint64
}

func (b Bootstrap) withDefaults() Bootstrap {
	if b.Resamples <= 0 {
		b.Resamples = 1000
	}
	if !(b.Level > 0 && b.Level < 1) { // NaN too: it indexed quantile at MinInt64
		b.Level = 0.95
	}
	return b
}

// Validate checks every round's probabilities and reward.
func Validate(rounds []Round) error {
	for i, r := range rounds {
		if !(r.Propensity > 0 && r.Propensity <= 1) {
			return fmt.Errorf("%w: round %d: propensity %g outside (0, 1]", ErrBadLog, i, r.Propensity)
		}
		if !(r.Target >= 0 && r.Target <= 1) {
			return fmt.Errorf("%w: round %d: target probability %g outside [0, 1]", ErrBadLog, i, r.Target)
		}
		if math.IsNaN(r.Reward) || math.IsInf(r.Reward, 0) {
			return fmt.Errorf("%w: round %d: reward %g", ErrBadLog, i, r.Reward)
		}
	}
	return nil
}

// Evaluate computes est over rounds with a percentile bootstrap interval:
// it resamples the rounds with replacement b.Resamples times and takes the
// (1−Level)/2 and (1+Level)/2 quantiles of the resampled estimates.
// Rounds are resampled independently; for logs where one impression
// contributes several positions, that ignores their correlation, as the
// Open Bandit Pipeline does.
func Evaluate(rounds []Round, est Estimator, b Bootstrap) (Estimate, error) {
	if len(rounds) == 0 {
		return Estimate{}, fmt.Errorf("%w: no rounds", ErrBadLog)
	}
	if err := Validate(rounds); err != nil {
		return Estimate{}, err
	}
	num, den, err := terms(rounds, est)
	if err != nil {
		return Estimate{}, err
	}
	b = b.withDefaults()
	out := Estimate{Estimator: est, Value: ratio(num, den, nil), Level: b.Level, Rounds: len(rounds)}
	rng := rand.New(rand.NewPCG(b.Seed, 0x6f7065))
	idx := make([]int, len(rounds))
	vals := make([]float64, b.Resamples)
	for i := range vals {
		for j := range idx {
			idx[j] = rng.IntN(len(rounds))
		}
		vals[i] = ratio(num, den, idx)
	}
	slices.Sort(vals)
	out.Low = quantile(vals, (1-b.Level)/2)
	out.High = quantile(vals, (1+b.Level)/2)
	return out, nil
}

// terms returns the per-round numerator and denominator of est.
func terms(rounds []Round, est Estimator) (num, den []float64, err error) {
	num = make([]float64, len(rounds))
	den = make([]float64, len(rounds))
	for i, r := range rounds {
		w := r.weight()
		switch est {
		case OnPolicy:
			num[i], den[i] = r.Reward, 1
		case IPS:
			num[i], den[i] = w*r.Reward, 1
		case SNIPS:
			num[i], den[i] = w*r.Reward, w
		case DR:
			num[i], den[i] = r.Direct+w*(r.Reward-r.Predicted), 1
		default:
			return nil, nil, fmt.Errorf("unknown estimator %q", est)
		}
	}
	return num, den, nil
}

// ratio is Σnum/Σden over idx (all rounds when idx is nil); 0 when the
// denominator is 0 (SNIPS with no weight on the log).
func ratio(num, den []float64, idx []int) float64 {
	var n, d float64
	if idx == nil {
		for i := range num {
			n += num[i]
			d += den[i]
		}
	} else {
		for _, i := range idx {
			n += num[i]
			d += den[i]
		}
	}
	if d == 0 {
		return 0
	}
	return n / d
}

// quantile is the q-quantile of sorted values, linearly interpolated.
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}
