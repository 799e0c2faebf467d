package bandit

import (
	"context"
	"math"
	"sync"
	"time"
)

// Counts are one arm's statistics: how often it was shown (Pulls) and how
// often that earned a reward (Rewards), both discounted to time At when the
// surface has a half-life. Rewards never exceed Pulls.
type Counts struct {
	Pulls, Rewards float64
	// At is the time the counts are discounted to: the newest increment's
	// time. Zero for counts never added to.
	At time.Time
}

// Increment adds Pulls and Rewards to one arm as of time At.
type Increment struct {
	Arm            string
	Pulls, Rewards float64
	At             time.Time
}

// Store holds arm statistics per surface, shared by every replica that
// uses the same store. Implementations are safe for concurrent use.
//
// Contract (checked by bandittest.TestStore, which every implementation's
// tests run):
//   - Add applies all its increments atomically: concurrent Adds never lose
//     an update, and a Load sees an Add whole or not at all. Each arm's new
//     value is Counts.Plus(inc, halfLife), the same maths in every
//     implementation (a Redis store runs it in one Lua script over a hash
//     whose key carries the surface as hash tag, e.g. "bandit:{home}").
//   - Load returns every arm of the surface that was ever added to since
//     the last Reset, undecayed (Counts.At says as of when); a surface
//     never added to is an empty map, not an error.
//   - Reset removes every arm of the surface and no other surface.
//   - A context that has ended makes the call fail with an error wrapping
//     ctx.Err().
type Store interface {
	Load(ctx context.Context, surface string) (map[string]Counts, error)
	Add(ctx context.Context, surface string, halfLife time.Duration, incs ...Increment) error
	Reset(ctx context.Context, surface string) error
}

// DecayedTo returns c discounted to time t: both counts are multiplied by
// 2^(−(t−c.At)/halfLife). A zero halfLife, or t not after c.At, leaves c
// unchanged.
func (c Counts) DecayedTo(t time.Time, halfLife time.Duration) Counts {
	if halfLife <= 0 || c.At.IsZero() || !t.After(c.At) {
		return c
	}
	f := decayFactor(t.Sub(c.At), halfLife)
	return Counts{Pulls: c.Pulls * f, Rewards: c.Rewards * f, At: t}
}

// Plus returns c with inc added. With a half-life, the sum is kept as of
// the later of c.At and inc.At: an increment newer than c first decays c to
// its time; an older one (a late event) is itself decayed to c.At. Without
// one, the counts are plain sums and At is the later time.
func (c Counts) Plus(inc Increment, halfLife time.Duration) Counts {
	switch {
	case c.At.IsZero() || !inc.At.Before(c.At):
		c = c.DecayedTo(inc.At, halfLife)
		return Counts{Pulls: c.Pulls + inc.Pulls, Rewards: c.Rewards + inc.Rewards, At: inc.At}
	case halfLife <= 0:
		return Counts{Pulls: c.Pulls + inc.Pulls, Rewards: c.Rewards + inc.Rewards, At: c.At}
	}
	f := decayFactor(c.At.Sub(inc.At), halfLife)
	return Counts{Pulls: c.Pulls + f*inc.Pulls, Rewards: c.Rewards + f*inc.Rewards, At: c.At}
}

func decayFactor(age, halfLife time.Duration) float64 {
	return math.Exp2(-age.Seconds() / halfLife.Seconds())
}

// MemStore is the in-process Store: the embedded default, shared only by
// the Bandits and Learner of one process.
type MemStore struct {
	mu       sync.Mutex                   // guards surfaces and the maps in it
	surfaces map[string]map[string]Counts // surface → arm → counts
}

// NewMemStore returns an empty in-process store.
func NewMemStore() *MemStore {
	return &MemStore{surfaces: map[string]map[string]Counts{}}
}

// Load implements Store.
func (m *MemStore) Load(ctx context.Context, surface string) (map[string]Counts, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]Counts, len(m.surfaces[surface]))
	for arm, c := range m.surfaces[surface] {
		out[arm] = c
	}
	return out, nil
}

// Add implements Store.
func (m *MemStore) Add(ctx context.Context, surface string, halfLife time.Duration, incs ...Increment) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	arms := m.surfaces[surface]
	if arms == nil {
		arms = map[string]Counts{}
		m.surfaces[surface] = arms
	}
	for _, inc := range incs {
		arms[inc.Arm] = arms[inc.Arm].Plus(inc, halfLife)
	}
	return nil
}

// Reset implements Store.
func (m *MemStore) Reset(ctx context.Context, surface string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.surfaces, surface)
	return nil
}
