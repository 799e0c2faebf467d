package bandit

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Bandits decides slates for every configured surface from the statistics
// in a Store, and records pulls and rewards into it. It is safe for
// concurrent use.
type Bandits struct {
	store    Store
	refresh  time.Duration
	now      func() time.Time
	surfaces map[string]*surface // fixed at New
	names    []string            // sorted
}

// surface is one surface's configuration and its cached statistics.
type surface struct {
	cfg SurfaceConfig
	mu  sync.Mutex // guards view, viewAt, loading, gen, failures, retryAt and lastErr; never held during store calls
	// view is the selector over the statistics read at viewAt.
	view   *Selector
	viewAt time.Time
	// loading is true while one caller refreshes the view; others keep
	// using the old one meanwhile instead of queueing behind the store.
	loading bool
	// gen counts resets, so that a refresh begun before a reset does not
	// install pre-reset statistics.
	gen uint64
	// failures counts the refreshes that failed in a row; until retryAt
	// no call reads the store again, and lastErr is the last failure.
	failures int
	retryAt  time.Time
	lastErr  error
}

// maxBackoffRefreshes caps the retry interval of a failing store at this
// many refresh intervals (32 s at the default 1 s): a store back up is
// read again within that, and a down one costs each replica one call per
// surface in that time instead of one per refresh interval and caller.
const maxBackoffRefreshes = 32

// backoff is how long to wait after the failures-th refresh in a row
// failed: the refresh interval, doubled per failure after the first, at
// most maxBackoffRefreshes intervals.
func backoff(refresh time.Duration, failures int) time.Duration {
	n := min(failures-1, 5) // 2^5 = maxBackoffRefreshes
	return min(refresh<<n, maxBackoffRefreshes*refresh)
}

// Request asks for a slate.
type Request struct {
	Surface string
	// Guest and ImpressionID seed the draws: the same request against the
	// same statistics gets the same slate. ImpressionID is required; it is
	// what feedback events cite.
	Guest, ImpressionID string
	// Slots is how many slots to fill, 1 to MaxSlots.
	Slots int
}

// Slot is one filled slot: the arm that fills it and the probability that
// the policy chose that arm for this slot.
type Slot struct {
	Arm        string
	Propensity float64
}

// Decision is a filled slate. Slots are drawn independently from the same
// statistics, so an arm may fill several slots (that is how a slate splits
// its slots between candidate sources), each slot's Propensity is its
// marginal probability, and the slate's probability is their product.
type Decision struct {
	Surface, ImpressionID string
	Policy                Policy
	Slots                 []Slot
	// ProbError bounds the absolute error of each Propensity: 0 for
	// uniform and epsilon_greedy, the integration bound for thompson.
	ProbError float64
	// StatsAt is when the statistics used were read from the store.
	StatsAt time.Time
	// Stale is true when the store could not be read and the decision
	// used older statistics (its propensities are still exact for them).
	Stale bool
}

// New returns the bandits of cfg over store. cfg is validated.
func New(cfg Config, store Store) (*Bandits, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Bandits{store: store, refresh: cfg.Refresh, now: time.Now, surfaces: map[string]*surface{}}
	for _, sc := range cfg.Surfaces {
		sc.Arms = slices.Clone(sc.Arms)
		b.surfaces[sc.Name] = &surface{cfg: sc}
		b.names = append(b.names, sc.Name)
	}
	slices.Sort(b.names)
	return b, nil
}

// Surfaces returns the configured surface names, sorted.
func (b *Bandits) Surfaces() []string { return slices.Clone(b.names) }

// Config returns a surface's configuration.
func (b *Bandits) Config(name string) (SurfaceConfig, error) {
	s, ok := b.surfaces[name]
	if !ok {
		return SurfaceConfig{}, fmt.Errorf("%w: %q", ErrUnknownSurface, name)
	}
	return s.cfg, nil
}

// Decide fills req.Slots slots of a surface. It reads the store at most
// once per Config.Refresh per surface; if that read fails and older
// statistics exist, it decides from them and marks the decision Stale.
// After a failed read the store is not read again before the refresh
// interval has passed, doubled for each failure in a row after the first
// and capped at 32 intervals; meanwhile decisions use the last statistics
// read (Stale), or, if none was ever read, fail at once with the last
// read's error.
func (b *Bandits) Decide(ctx context.Context, req Request) (Decision, error) {
	s, ok := b.surfaces[req.Surface]
	if !ok {
		return Decision{}, fmt.Errorf("%w: %q", ErrUnknownSurface, req.Surface)
	}
	if req.ImpressionID == "" {
		return Decision{}, fmt.Errorf("%w: empty impression id", ErrInvalid)
	}
	if req.Slots < 1 || req.Slots > MaxSlots {
		return Decision{}, fmt.Errorf("%w: %d slots, want 1 to %d", ErrInvalid, req.Slots, MaxSlots)
	}
	view, at, stale, err := b.view(ctx, s)
	if err != nil {
		return Decision{}, err
	}
	probs, probErr := view.Probabilities()
	rng := DecisionRand(req.Surface, req.Guest, req.ImpressionID)
	d := Decision{Surface: req.Surface, ImpressionID: req.ImpressionID, Policy: s.cfg.Policy,
		Slots: make([]Slot, req.Slots), ProbError: probErr, StatsAt: at, Stale: stale}
	for i := range d.Slots {
		arm := view.Choose(rng)
		d.Slots[i] = Slot{Arm: s.cfg.Arms[arm], Propensity: probs[arm]}
	}
	return d, nil
}

// view returns the surface's selector, reading the store when the cached
// one is older than the refresh interval and no failure's back-off is
// running (see Decide). While one caller reads, the others use the
// previous selector, so no request waits on another's store call; the
// store call itself honours ctx.
func (b *Bandits) view(ctx context.Context, s *surface) (*Selector, time.Time, bool, error) {
	now := b.now()
	s.mu.Lock()
	if s.view != nil && (now.Sub(s.viewAt) < b.refresh || s.loading) {
		defer s.mu.Unlock()
		return s.view, s.viewAt, s.failures > 0, nil
	}
	if now.Before(s.retryAt) {
		defer s.mu.Unlock()
		if s.view != nil {
			return s.view, s.viewAt, true, nil
		}
		return nil, time.Time{}, false, s.lastErr
	}
	s.loading = true
	gen := s.gen
	s.mu.Unlock()

	sel, err := b.read(ctx, s, now)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.loading = false
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up, which says nothing of the store.
			return nil, time.Time{}, false, err
		}
		s.failures++
		s.retryAt, s.lastErr = now.Add(backoff(b.refresh, s.failures)), err
		if s.view != nil {
			return s.view, s.viewAt, true, nil
		}
		return nil, time.Time{}, false, err
	}
	s.failures, s.retryAt, s.lastErr = 0, time.Time{}, nil
	if gen == s.gen {
		s.view, s.viewAt = sel, now
	}
	return sel, now, false, nil
}

// read loads a surface's statistics, discounted to now, as a selector.
func (b *Bandits) read(ctx context.Context, s *surface, now time.Time) (*Selector, error) {
	counts, err := b.counts(ctx, s, now)
	if err != nil {
		return nil, err
	}
	return NewSelector(&s.cfg, counts), nil
}

// counts loads a surface's statistics, one per configured arm in order,
// discounted to now. Arms in the store that the configuration no longer
// names are ignored.
func (b *Bandits) counts(ctx context.Context, s *surface, now time.Time) ([]Counts, error) {
	stored, err := b.store.Load(ctx, s.cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("load bandit %q: %w", s.cfg.Name, err)
	}
	counts := make([]Counts, len(s.cfg.Arms))
	for i, arm := range s.cfg.Arms {
		counts[i] = stored[arm].DecayedTo(now, s.cfg.HalfLife)
	}
	return counts, nil
}

// ArmState is one arm's statistics and what the policy makes of them.
type ArmState struct {
	Arm            string
	Pulls, Rewards float64 // discounted to State.At
	Posterior      Beta
	// Probability is the chance that the policy puts this arm in a slot.
	Probability float64
}

// State is a surface's statistics read fresh from the store.
type State struct {
	Surface  string
	Policy   Policy
	HalfLife time.Duration
	At       time.Time
	Arms     []ArmState
	// ProbError bounds each Probability's absolute error.
	ProbError float64
}

// State reads a surface's statistics from the store (not the decision
// cache).
func (b *Bandits) State(ctx context.Context, name string) (State, error) {
	s, ok := b.surfaces[name]
	if !ok {
		return State{}, fmt.Errorf("%w: %q", ErrUnknownSurface, name)
	}
	now := b.now()
	counts, err := b.counts(ctx, s, now)
	if err != nil {
		return State{}, err
	}
	sel := NewSelector(&s.cfg, counts)
	probs, probErr := sel.Probabilities()
	st := State{Surface: name, Policy: s.cfg.Policy, HalfLife: s.cfg.HalfLife, At: now, ProbError: probErr}
	for i, arm := range s.cfg.Arms {
		st.Arms = append(st.Arms, ArmState{Arm: arm, Pulls: counts[i].Pulls, Rewards: counts[i].Rewards,
			Posterior: sel.Posterior(i), Probability: probs[i]})
	}
	return st, nil
}

// Reset forgets every pull and reward of a surface, in the store (so for
// every replica sharing it) and in this process's decision cache. Other
// replicas' caches catch up within Config.Refresh.
func (b *Bandits) Reset(ctx context.Context, name string) error {
	s, ok := b.surfaces[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownSurface, name)
	}
	if err := b.store.Reset(ctx, name); err != nil {
		return fmt.Errorf("reset bandit %q: %w", name, err)
	}
	s.mu.Lock()
	s.view = nil
	s.gen++
	s.failures, s.retryAt, s.lastErr = 0, time.Time{}, nil // the store just answered
	s.mu.Unlock()
	return nil
}

// Add records pulls and rewards of a surface's arms, with the surface's
// half-life. Every arm must be configured.
func (b *Bandits) Add(ctx context.Context, name string, incs ...Increment) error {
	s, ok := b.surfaces[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownSurface, name)
	}
	for _, inc := range incs {
		if !slices.Contains(s.cfg.Arms, inc.Arm) {
			return fmt.Errorf("%w: surface %q has no arm %q", ErrInvalid, name, inc.Arm)
		}
		if !(inc.Pulls >= 0 && inc.Rewards >= 0) || inc.At.IsZero() {
			return fmt.Errorf("%w: increment %+v needs non-negative counts and a time", ErrInvalid, inc)
		}
	}
	if err := b.store.Add(ctx, name, s.cfg.HalfLife, incs...); err != nil {
		return fmt.Errorf("record bandit %q: %w", name, err)
	}
	return nil
}
