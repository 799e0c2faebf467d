package bandit

import (
	"hash/fnv"
	"math/rand/v2"
	"sync"
)

// Selector chooses arms for one surface from fixed statistics, and knows
// the exact probability of each choice. It is safe for concurrent use;
// Choose's randomness comes only from the generator it is given.
type Selector struct {
	policy  Policy
	epsilon float64
	post    []Beta // per arm: prior + rewards, prior + pulls − rewards
	best    []int  // arms with the highest posterior mean (epsilon_greedy)

	once    sync.Once // computes probs and probErr on first use
	probs   []float64
	probErr float64
}

// NewSelector returns the selector of cfg (validated) over counts, one per
// arm of cfg.Arms in order. Rewards are clamped to [0, Pulls]: a reward
// credited after a Reset, or rounding under decay, must not make a
// posterior parameter fall below the prior.
func NewSelector(cfg *SurfaceConfig, counts []Counts) *Selector {
	s := &Selector{policy: cfg.Policy, epsilon: cfg.epsilon(), post: make([]Beta, len(counts))}
	bestMean := -1.0
	for i, c := range counts {
		pulls := max(c.Pulls, 0)
		rewards := min(max(c.Rewards, 0), pulls)
		s.post[i] = Beta{Alpha: cfg.Prior.Alpha + rewards, Beta: cfg.Prior.Beta + pulls - rewards}
		switch m := s.post[i].Mean(); {
		case m > bestMean:
			bestMean, s.best = m, append(s.best[:0], i)
		case m == bestMean:
			s.best = append(s.best, i)
		}
	}
	return s
}

// Posterior returns arm i's Beta posterior.
func (s *Selector) Posterior(i int) Beta { return s.post[i] }

// Probabilities returns the probability that Choose picks each arm, and a
// bound on the absolute error of each: 0 for uniform and epsilon_greedy
// (closed forms), WinProbabilities' bound for thompson. They sum to 1.
// The returned slice must not be modified.
func (s *Selector) Probabilities() ([]float64, float64) {
	s.once.Do(func() {
		k := len(s.post)
		switch s.policy {
		case Thompson:
			s.probs, s.probErr = WinProbabilities(s.post)
		case EpsilonGreedy:
			s.probs = make([]float64, k)
			for i := range s.probs {
				s.probs[i] = s.epsilon / float64(k)
			}
			for _, i := range s.best {
				s.probs[i] += (1 - s.epsilon) / float64(len(s.best))
			}
		default:
			s.probs = make([]float64, k)
			for i := range s.probs {
				s.probs[i] = 1 / float64(k)
			}
		}
	})
	return s.probs, s.probErr
}

// Choose picks one arm:
//   - thompson: draw a rate from every arm's posterior, take the largest;
//   - epsilon_greedy: with probability epsilon a uniformly random arm,
//     otherwise the arm with the highest posterior mean (ties broken
//     uniformly at random);
//   - uniform: a uniformly random arm.
func (s *Selector) Choose(rng *rand.Rand) int {
	k := len(s.post)
	switch s.policy {
	case Thompson:
		best, bestX := 0, -1.0
		for i, d := range s.post {
			if x := d.Sample(rng); x > bestX {
				best, bestX = i, x
			}
		}
		return best
	case EpsilonGreedy:
		if rng.Float64() < s.epsilon {
			return rng.IntN(k)
		}
		if len(s.best) == 1 {
			return s.best[0]
		}
		return s.best[rng.IntN(len(s.best))]
	}
	return rng.IntN(k)
}

// DecisionRand returns the generator a decision draws from: PCG seeded by
// an FNV-1a hash of surface, guest and impression id, so the same request
// retried against the same statistics gets the same slate. (PCG's output
// is fixed by its specification; the rand.Rand methods built on it may in
// principle change between Go releases.)
func DecisionRand(surface, guest, impressionID string) *rand.Rand {
	h := fnv.New128a()
	for _, s := range []string{surface, guest, impressionID} {
		_, _ = h.Write([]byte(s))
		_, _ = h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	var hi, lo uint64
	for i := range 8 {
		hi = hi<<8 | uint64(sum[i])
		lo = lo<<8 | uint64(sum[8+i])
	}
	return rand.New(rand.NewPCG(hi, lo))
}
