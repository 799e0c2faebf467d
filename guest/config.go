package guest

import (
	"fmt"
	"time"

	"github.com/aisle-ai/aisle/event"
)

// Signal is an event type that moves affinities.
type Signal = event.Type

// Signals are the event types folded into affinities, in the order they
// are reported.
var Signals = []Signal{event.TypeView, event.TypeClick, event.TypeAddToCart, event.TypePurchase}

// Attributes are the item attributes affinities are kept for.
var Attributes = []string{"category", "aisle", "department", "brand", "flavour", "size"}

// Config holds the feature maths; zero fields take the defaults.
type Config struct {
	// HalfLife is the decay half-life per signal. Defaults: view 30m, click
	// 2h, add_to_cart 24h, purchase 30 days; a view says what the guest
	// looks at now, a purchase what they buy for weeks.
	HalfLife map[Signal]time.Duration
	// Weight is each signal's weight in the real-time score. Defaults:
	// view 1, click 2, add_to_cart 4, purchase 8.
	Weight map[Signal]float64
	// LongTermHalfLife decays long-term purchase counts (default 90 days).
	LongTermHalfLife time.Duration
	// RealTimeWeight and LongTermWeight merge the two on read (defaults 1
	// and 1).
	RealTimeWeight, LongTermWeight float64
	// RecentItems caps the recent-items list (default 20).
	RecentItems int
	// TopPerAttribute caps the affinities returned per attribute (default 10).
	TopPerAttribute int
	// DedupeTTL is how long folded event ids are remembered (default
	// 15m, between MinDedupeTTL and MaxDedupeTTL): a client retry or a
	// redelivery later than this counts again.
	DedupeTTL time.Duration
	// Expiry drops a guest's real-time features this long after their last
	// event (default 30 days, event.DefaultRetention).
	Expiry time.Duration
}

// Defaults of Config.
const (
	DefaultRecentItems     = 20
	DefaultTopPerAttribute = 10
	// DefaultDedupeTTL covers every way an event id comes back: a
	// client's retries of a FAILED event (gRPC retry policies back off to
	// at most 2 min between attempts by default; aisle events send is
	// re-run by hand within minutes), a duplicate copy in the Redis stream
	// from a retried append (folded after the backlog ahead of it, about
	// 3 s at MaxBacklog, or after a worker's claim-idle, 30 s) and a Redis
	// restart from its AOF (seconds to minutes). Each remembered id costs
	// about 100 bytes, so the markers take rate × TTL × 100 B: 2.7 GB at
	// 30k events/s for 15 minutes, where 24 hours took about 250 GB.
	DefaultDedupeTTL = 15 * time.Minute
	// MinDedupeTTL keeps a stream duplicate reclaimed after a worker's
	// claim-idle (30 s) a duplicate; MaxDedupeTTL is the retention
	// (event.DefaultRetention): an older event is refused anyway.
	MinDedupeTTL            = time.Minute
	MaxDedupeTTL            = event.DefaultRetention
	DefaultLongTermHalfLife = 90 * 24 * time.Hour
)

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{}.WithDefaults() }

// WithDefaults fills zero fields.
func (c Config) WithDefaults() Config {
	hl := map[Signal]time.Duration{event.TypeView: 30 * time.Minute, event.TypeClick: 2 * time.Hour,
		event.TypeAddToCart: 24 * time.Hour, event.TypePurchase: 30 * 24 * time.Hour}
	w := map[Signal]float64{event.TypeView: 1, event.TypeClick: 2, event.TypeAddToCart: 4, event.TypePurchase: 8}
	for s, d := range c.HalfLife {
		hl[s] = d
	}
	for s, v := range c.Weight {
		w[s] = v
	}
	c.HalfLife, c.Weight = hl, w
	if c.LongTermHalfLife <= 0 {
		c.LongTermHalfLife = DefaultLongTermHalfLife
	}
	if c.RealTimeWeight == 0 && c.LongTermWeight == 0 {
		c.RealTimeWeight, c.LongTermWeight = 1, 1
	}
	if c.RecentItems <= 0 {
		c.RecentItems = DefaultRecentItems
	}
	if c.TopPerAttribute <= 0 {
		c.TopPerAttribute = DefaultTopPerAttribute
	}
	if c.DedupeTTL <= 0 {
		c.DedupeTTL = DefaultDedupeTTL
	}
	if c.Expiry <= 0 {
		c.Expiry = event.DefaultRetention
	}
	return c
}

// Validate reports a config the maths cannot use.
func (c Config) Validate() error {
	for _, s := range Signals {
		if c.HalfLife[s] <= 0 {
			return fmt.Errorf("guest config: half-life of %s must be positive", s)
		}
	}
	for s := range c.HalfLife {
		if !isSignal(s) {
			return fmt.Errorf("guest config: %s is not an affinity signal", s)
		}
	}
	if c.DedupeTTL != 0 && (c.DedupeTTL < MinDedupeTTL || c.DedupeTTL > MaxDedupeTTL) {
		return fmt.Errorf("guest config: dedupe TTL %v is outside [%v, %v]", c.DedupeTTL, MinDedupeTTL, MaxDedupeTTL)
	}
	if c.RealTimeWeight < 0 || c.LongTermWeight < 0 {
		return fmt.Errorf("guest config: negative merge weight")
	}
	return nil
}

func isSignal(t event.Type) bool {
	for _, s := range Signals {
		if s == t {
			return true
		}
	}
	return false
}
