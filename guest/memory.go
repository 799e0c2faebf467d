package guest

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aisle-ai/aisle/event"
)

// Memory is the in-process store used when no Redis is configured: the
// same fold, dedupe and decay as the Redis store, in one process, not
// durable (a restart forgets everything). It is safe for concurrent use.
type Memory struct {
	cfg   Config
	attrs ItemAttributes
	now   func() time.Time

	mu sync.Mutex // guards guests, longTerm, seen and sweepAt
	// guests and longTerm hold each guest's records; seen maps
	// guest+"\x00"+event id to the Unix ms its dedupe entry expires.
	guests, longTerm map[string]*State
	seen             map[string]int64
	// sweepAt is the size of seen that triggers the next sweep of expired
	// entries, twice the size left by the last one, so sweeps cost O(1)
	// amortised per fold.
	sweepAt int
}

// NewMemory returns an empty store folding with cfg and attrs.
func NewMemory(cfg Config, attrs ItemAttributes) *Memory {
	return &Memory{cfg: cfg.WithDefaults(), attrs: attrs, now: time.Now,
		guests: map[string]*State{}, longTerm: map[string]*State{}, seen: map[string]int64{}, sweepAt: 1024}
}

// Run folds events from the in-memory log until ctx ends.
func (m *Memory) Run(ctx context.Context, events <-chan event.Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-events:
			u := Plan(&e, m.attrs, m.cfg)
			m.Fold(&u)
		}
	}
}

// Fold applies u once per (guest, event id) within DedupeTTL and reports
// whether it was applied (false = a duplicate).
func (m *Memory) Fold(u *Update) bool {
	nowMs := m.now().UnixMilli()
	key := u.GuestID + "\x00" + u.EventID
	m.mu.Lock()
	defer m.mu.Unlock()
	if exp, ok := m.seen[key]; ok && exp > nowMs {
		return false
	}
	m.seen[key] = nowMs + m.cfg.DedupeTTL.Milliseconds()
	if len(m.seen) >= m.sweepAt {
		m.sweep(nowMs)
	}
	s := m.guests[u.GuestID]
	if s == nil {
		s = &State{}
		m.guests[u.GuestID] = s
	}
	s.Apply(u, m.cfg.RecentItems)
	return true
}

// sweep drops expired dedupe entries and expired guests. Callers hold mu.
func (m *Memory) sweep(nowMs int64) {
	maps.DeleteFunc(m.seen, func(_ string, exp int64) bool { return exp <= nowMs })
	maps.DeleteFunc(m.guests, func(_ string, s *State) bool { return nowMs-s.UpdatedMs > m.cfg.Expiry.Milliseconds() })
	m.sweepAt = max(1024, 2*len(m.seen))
}

// Snapshot implements Store with copies the caller owns.
func (m *Memory) Snapshot(ctx context.Context, guestID string) (Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return Snapshot{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var snap Snapshot
	if s := m.guests[guestID]; s != nil {
		snap.RealTime = s.clone()
	}
	if s := m.longTerm[guestID]; s != nil {
		snap.LongTerm = s.clone()
	}
	return snap, nil
}

// PutLongTerm implements LongTermWriter: each record replaces the guest's
// long-term features.
func (m *Memory) PutLongTerm(ctx context.Context, recs []LongTerm) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range recs {
		s := recs[i].State()
		m.longTerm[recs[i].GuestID] = &s
	}
	return nil
}

func (s *State) clone() State {
	c := *s
	c.Affinity, c.Cart, c.Counters = maps.Clone(s.Affinity), maps.Clone(s.Cart), maps.Clone(s.Counters)
	c.Recent = slices.Clone(s.Recent)
	return c
}
