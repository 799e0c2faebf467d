package bandit

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// FeedbackType is what a guest did with a shown item.
type FeedbackType string

// Feedback types the event stream carries.
const (
	Click     FeedbackType = "click"
	AddToCart FeedbackType = "add_to_cart"
)

// DefaultWindow is how long after an impression its feedback still
// credits the arm: long enough for a browse-then-add session, short enough
// that the pending impressions of a busy surface fit in memory.
const DefaultWindow = 30 * time.Minute

// DefaultMaxPending bounds the impressions a Learner keeps for joining;
// at about 200 bytes each, 10^6 is about 200 MB.
const DefaultMaxPending = 1_000_000

// Impression is one decision as shown: its slots' arms and propensities.
type Impression struct {
	ID, Surface, Guest string
	Slots              []Slot
	At                 time.Time
}

// Feedback is a click or add-to-cart on one slot of an impression.
type Feedback struct {
	ImpressionID string
	Slot         int
	Type         FeedbackType
	At           time.Time
}

// Outcome says what a Feedback did.
type Outcome int

// Feedback outcomes, counted in LearnerStats.
const (
	Credited  Outcome = iota // the slot's arm got a reward
	Duplicate                // the slot was already rewarded
	Late                     // after the window
	Unknown                  // no pending impression has this id
	Ignored                  // a feedback type that is not rewarded
)

// LearnerStats counts what the Learner saw.
type LearnerStats struct {
	Impressions, DuplicateImpressions, Evicted int64
	// LateImpressions counts impressions older than twice the window
	// before the newest impression seen (the Learner's event-time clock;
	// redisstore.Join compares with the wall clock instead, see the package
	// doc): they would be expired at once, so their pull could never earn
	// its reward (and a retried impression that had expired would be
	// pulled twice). No pull is recorded; JoinBatch reports them Late.
	LateImpressions                             int64
	Credited, Duplicate, Late, Unknown, Ignored int64
	// Dropped counts impressions whose pull the Recorder failed to take:
	// the Learner forgets them (their feedback is then Unknown), so a
	// failing store costs no memory. What is lost is the pull and any
	// reward of that impression, not the event: the caller got the error,
	// and the server hands the Learner only events its log already stored.
	Dropped int64
}

// Recorder is where a Learner records pulls and rewards; *Bandits is one.
type Recorder interface {
	Add(ctx context.Context, surface string, incs ...Increment) error
}

// LearnerConfig configures a Learner.
type LearnerConfig struct {
	// Window is how long after an impression feedback credits it; default
	// DefaultWindow. Impressions are kept for twice the window, so
	// feedback up to 2·Window late is counted Late rather than Unknown.
	Window time.Duration
	// MaxPending bounds the pending impressions; the oldest are evicted
	// first. Default DefaultMaxPending.
	MaxPending int
	// OnClose, if set, is called with every impression that leaves the
	// join (expired, evicted or flushed) and which of its slots earned a
	// reward: the joined log that off-policy evaluation reads. It is
	// called without the Learner's lock held, from the goroutine whose
	// call closed the impression.
	OnClose func(Impression, []bool)
}

// Learner joins impressions with the feedback that cites them and credits
// the arms: each shown slot is one pull of its arm at impression time, and
// the first click or add-to-cart on the slot within the window is one
// reward (Bernoulli rewards: a slot earns at most 1). Event time, not
// arrival time, drives the window: the clock is the newest impression
// time seen. It is safe for concurrent use; store calls happen outside its
// lock.
type Learner struct {
	rec Recorder
	cfg LearnerConfig

	mu      sync.Mutex          // guards pending, order, clock, stats
	pending map[string]*pending // impression id → pending impression
	// order holds the ids in arrival order, for expiry and eviction: every
	// pending id, and holes, len(order) − len(pending) of them: ids no
	// longer pending (dropped after a store failure) or repeated (an id
	// re-added after its failure). order is compacted when the holes
	// outnumber the pending ids, so it holds at most
	// 2·MaxPending+minCompact ids even while the store fails every
	// impression.
	order []string
	clock time.Time // newest impression time seen
	stats LearnerStats
}

// minCompact is the fewest holes worth compacting order for.
const minCompact = 1024

type pending struct {
	imp      Impression
	rewarded []bool
}

// NewLearner returns a Learner recording into rec.
func NewLearner(rec Recorder, cfg LearnerConfig) *Learner {
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	return &Learner{rec: rec, cfg: cfg, pending: map[string]*pending{}}
}

// Impression records the pulls of a shown slate and keeps it for joining.
// A repeated impression id is counted and ignored (a retried request), and
// so is one too old to join (LearnerStats.LateImpressions).
func (l *Learner) Impression(ctx context.Context, imp Impression) error {
	_, err := l.impression(ctx, imp)
	return err
}

// impression is Impression, saying Late for an impression too old to join
// and Unknown otherwise (the outcome redisstore.Join gives for both).
func (l *Learner) impression(ctx context.Context, imp Impression) (Outcome, error) {
	if err := validImpression(imp); err != nil {
		return Unknown, err
	}
	l.mu.Lock()
	if _, dup := l.pending[imp.ID]; dup {
		l.stats.DuplicateImpressions++
		l.mu.Unlock()
		return Unknown, nil
	}
	if imp.At.Before(l.clock.Add(-2 * l.cfg.Window)) {
		l.stats.LateImpressions++
		l.mu.Unlock()
		return Late, nil
	}
	l.pending[imp.ID] = &pending{imp: imp, rewarded: make([]bool, len(imp.Slots))}
	l.order = append(l.order, imp.ID)
	l.stats.Impressions++
	if imp.At.After(l.clock) {
		l.clock = imp.At
	}
	closed := l.expireLocked()
	l.mu.Unlock()
	l.close(closed)

	pulls := map[string]float64{}
	var incs []Increment
	for _, s := range imp.Slots {
		if pulls[s.Arm] == 0 {
			incs = append(incs, Increment{Arm: s.Arm, At: imp.At})
		}
		pulls[s.Arm]++
	}
	for i := range incs {
		incs[i].Pulls = pulls[incs[i].Arm]
	}
	if err := l.rec.Add(ctx, imp.Surface, incs...); err != nil {
		l.mu.Lock()
		if l.pending[imp.ID] != nil {
			delete(l.pending, imp.ID) // left in order as a hole; expiry skips it
			l.compactLocked()
		}
		l.stats.Impressions--
		l.stats.Dropped++
		l.mu.Unlock()
		return Unknown, fmt.Errorf("impression %q: %w", imp.ID, err)
	}
	return Unknown, nil
}

func validImpression(imp Impression) error {
	if imp.ID == "" || imp.Surface == "" || imp.At.IsZero() || len(imp.Slots) == 0 || len(imp.Slots) > MaxSlots {
		return fmt.Errorf("%w: impression needs an id, a surface, a time and 1 to %d slots", ErrInvalid, MaxSlots)
	}
	for i, s := range imp.Slots {
		if s.Arm == "" || !(s.Propensity > 0 && s.Propensity <= 1) {
			return fmt.Errorf("%w: impression %q slot %d: arm %q propensity %g (want an arm and a propensity in (0, 1])",
				ErrInvalid, imp.ID, i, s.Arm, s.Propensity)
		}
	}
	return nil
}

// Feedback credits the arm of the cited slot if the feedback is in the
// window and the slot has not been rewarded yet. Unknown, late and
// repeated feedback is counted and returns a nil error; only a bad slot
// number (ErrInvalid) or a store failure is an error.
func (l *Learner) Feedback(ctx context.Context, fb Feedback) (Outcome, error) {
	l.mu.Lock()
	if fb.Type != Click && fb.Type != AddToCart {
		l.stats.Ignored++
		l.mu.Unlock()
		return Ignored, nil
	}
	p, ok := l.pending[fb.ImpressionID]
	switch {
	case !ok:
		l.stats.Unknown++
		l.mu.Unlock()
		return Unknown, nil
	case fb.Slot < 0 || fb.Slot >= len(p.rewarded):
		l.mu.Unlock()
		return Ignored, fmt.Errorf("%w: impression %q has %d slots, feedback cites slot %d", ErrInvalid, fb.ImpressionID, len(p.rewarded), fb.Slot)
	case fb.At.Sub(p.imp.At) > l.cfg.Window:
		l.stats.Late++
		l.mu.Unlock()
		return Late, nil
	case p.rewarded[fb.Slot]:
		l.stats.Duplicate++
		l.mu.Unlock()
		return Duplicate, nil
	}
	p.rewarded[fb.Slot] = true
	l.stats.Credited++
	imp := p.imp
	l.mu.Unlock()

	// The reward is dated with its pull, so discounting weighs both alike.
	inc := Increment{Arm: imp.Slots[fb.Slot].Arm, Rewards: 1, At: imp.At}
	if err := l.rec.Add(ctx, imp.Surface, inc); err != nil {
		l.mu.Lock()
		p.rewarded[fb.Slot] = false
		l.stats.Credited--
		l.mu.Unlock()
		return Credited, fmt.Errorf("feedback on %q: %w", fb.ImpressionID, err)
	}
	return Credited, nil
}

// closedImp is an impression leaving the join, with a copy of its
// rewards taken under the lock.
type closedImp struct {
	imp      Impression
	rewarded []bool
}

// expireLocked removes impressions older than twice the window before the
// clock, and the oldest beyond MaxPending, and returns them.
func (l *Learner) expireLocked() []closedImp {
	var closed []closedImp
	cutoff := l.clock.Add(-2 * l.cfg.Window)
	n := 0
	for ; n < len(l.order); n++ {
		p, ok := l.pending[l.order[n]]
		if !ok {
			continue // a hole
		}
		if len(l.pending) <= l.cfg.MaxPending && !p.imp.At.Before(cutoff) {
			break
		}
		if len(l.pending) > l.cfg.MaxPending {
			l.stats.Evicted++
		}
		delete(l.pending, l.order[n])
		closed = append(closed, closedImp{p.imp, slices.Clone(p.rewarded)})
	}
	l.order = l.order[n:]
	return closed
}

// compactLocked drops the holes from order once they outnumber the
// pending ids (and minCompact), keeping each pending id's first place, so
// compaction costs O(1) per hole over time.
func (l *Learner) compactLocked() {
	if holes := len(l.order) - len(l.pending); holes < minCompact || holes <= len(l.pending) {
		return
	}
	seen := make(map[string]bool, len(l.pending))
	kept := make([]string, 0, len(l.pending))
	for _, id := range l.order {
		if _, ok := l.pending[id]; ok && !seen[id] {
			seen[id] = true
			kept = append(kept, id)
		}
	}
	l.order = kept
}

// Flush closes every pending impression (at shutdown), passing each to
// OnClose.
func (l *Learner) Flush() {
	l.mu.Lock()
	var closed []closedImp
	for _, id := range l.order {
		if p, ok := l.pending[id]; ok {
			closed = append(closed, closedImp{p.imp, slices.Clone(p.rewarded)})
		}
	}
	l.pending, l.order = map[string]*pending{}, nil
	l.mu.Unlock()
	l.close(closed)
}

func (l *Learner) close(closed []closedImp) {
	if l.cfg.OnClose == nil {
		return
	}
	for _, c := range closed {
		l.cfg.OnClose(c.imp, c.rewarded)
	}
}

// Stats returns the counts so far.
func (l *Learner) Stats() LearnerStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}
