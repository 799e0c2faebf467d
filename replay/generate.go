package replay

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"
)

// Options shape the generated sessions (package doc).
type Options struct {
	// Seed drives every random choice.
	Seed uint64
	// Now is the end of the history: every event is at or before it.
	Now time.Time
	// Window, when positive (at least MinWindow), compresses each guest's
	// history into [Now − Window, Now]; zero keeps the recorded spacing.
	Window time.Duration
	// SearchShare is the share of bought items found through a search, in [0, 1].
	SearchShare float64
	// BrowseViews is the mean number of views of items not bought per
	// bought item, in [0, 5].
	BrowseViews float64
	// RemoveShare is the share of sessions that add an item and remove it
	// again, in [0, 1].
	RemoveShare float64
}

// MinWindow is the shortest Window: the last order may fall a day before
// Now and its session needs time to run.
const MinWindow = 48 * time.Hour

// DefaultOptions are the rates the demos use: a quarter of the items
// searched for, 0.6 views of other items per item bought (Instacart's
// public figures do not give browse rates; this keeps views a minority of
// non-purchase signals), one session in ten with a removal, and the
// history compressed into a week so that a server keeping a week of
// events accepts all of it.
func DefaultOptions(now time.Time) Options {
	return Options{Seed: 1, Now: now, Window: 7 * 24 * time.Hour, SearchShare: 0.25, BrowseViews: 0.6, RemoveShare: 0.1}
}

// Validate reports options out of range.
func (o Options) Validate() error {
	switch {
	case o.Now.IsZero():
		return fmt.Errorf("replay: Now is not set")
	case o.Window != 0 && o.Window < MinWindow:
		return fmt.Errorf("replay: window %v shorter than %v", o.Window, MinWindow)
	case !(o.SearchShare >= 0 && o.SearchShare <= 1), !(o.RemoveShare >= 0 && o.RemoveShare <= 1):
		return fmt.Errorf("replay: search share %v and remove share %v must be in [0, 1]", o.SearchShare, o.RemoveShare)
	case !(o.BrowseViews >= 0 && o.BrowseViews <= 5):
		return fmt.Errorf("replay: browse views %v must be in [0, 5]", o.BrowseViews)
	}
	return nil
}

// Generate replays every guest of src through emit, guest by guest, each
// guest's events in time order.
func Generate(src *Source, opt Options, emit func(Event) error) error {
	if err := opt.Validate(); err != nil {
		return err
	}
	for _, g := range src.Guests {
		if err := generateGuest(src, g, opt, emit); err != nil {
			return err
		}
	}
	return nil
}

// sessionLimit is the room left between the last session's start and Now.
const sessionLimit = 2 * time.Hour

func generateGuest(src *Source, g Guest, opt Options, emit func(Event) error) error {
	if len(g.Orders) == 0 {
		return nil
	}
	var events []Event
	keep := func(e Event) error { events = append(events, e); return nil }
	var end time.Time
	for i, start := range guestTimeline(g, opt) {
		if i > 0 && start.Before(end.Add(time.Minute)) {
			start = end.Add(time.Minute) // compressed sessions must not overlap
		}
		s := session{src: src, guest: g.ID, order: g.Orders[i], opt: opt, rng: sessionRNG(opt.Seed, g.Orders[i].ID), t: start, emit: keep}
		if err := s.run(); err != nil {
			return err
		}
		end = events[len(events)-1].Timestamp.Time
	}
	// Pushed-apart sessions may run past Now; then the guest moves back.
	if over := end.Sub(opt.Now); over > 0 {
		for i := range events {
			events[i].Timestamp.Time = events[i].Timestamp.Add(-over)
		}
	}
	for _, e := range events {
		if err := emit(e); err != nil {
			return err
		}
	}
	return nil
}

// guestTimeline plans each order's session start (package doc, "Time").
func guestTimeline(g Guest, opt Options) []time.Time {
	rel := make([]time.Duration, len(g.Orders)) // since the first order's day, midnight
	for i, o := range g.Orders {
		minute := time.Duration(sessionRNG(opt.Seed^0x6d696e, o.ID).IntN(3600)) * time.Second
		rel[i] = time.Duration(o.Day*24*float64(time.Hour)) + time.Duration(o.Hour)*time.Hour + minute
	}
	last := len(rel) - 1
	now := opt.Now.UTC()
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	lastStart := midnight.Add(rel[last] - time.Duration(math.Floor(g.Orders[last].Day))*24*time.Hour)
	for lastStart.Add(sessionLimit).After(opt.Now) {
		lastStart = lastStart.Add(-24 * time.Hour)
	}
	f := 1.0
	if span := rel[last] - rel[0]; opt.Window > 0 && span > 0 {
		room := lastStart.Sub(opt.Now.Add(-opt.Window))
		f = math.Min(1, float64(room)/float64(span))
	}
	starts := make([]time.Time, len(rel))
	for i := range rel {
		starts[i] = lastStart.Add(-time.Duration(float64(rel[last]-rel[i]) * f))
	}
	return starts
}

func sessionRNG(seed uint64, orderID string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(orderID))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// session generates one order's events.
type session struct {
	src   *Source
	guest string
	order Order
	opt   Options
	rng   *rand.Rand
	t     time.Time
	seq   int
	emit  func(Event) error
}

func (s *session) id() string { return "s-" + s.order.ID }

// event emits one event at the current time, then advances the clock by a
// pause of lo to hi seconds.
func (s *session) event(typ, surface, query string, lo, hi int, items ...string) error {
	s.seq++
	e := Event{
		EventID: fmt.Sprintf("%s-%03d", s.id(), s.seq), GuestID: s.guest, SessionID: s.id(), Type: typ,
		ItemIDs: items, Query: query, Timestamp: Timestamp{s.t.UTC().Truncate(time.Millisecond)}, Surface: surface,
	}
	if typ == TypePurchase {
		e.Attributes = map[string]string{"order_id": s.order.ID, "source": s.src.Name}
	}
	s.t = s.t.Add(time.Duration(lo)*time.Second + time.Duration(s.rng.IntN((hi-lo)*1000+1))*time.Millisecond)
	return s.emit(e)
}

func (s *session) run() error {
	items := s.order.Items
	bought := map[string]bool{}
	for _, it := range items {
		bought[it] = true
	}
	removeAt, removed := -1, ""
	if s.rng.Float64() < s.opt.RemoveShare {
		removeAt = s.rng.IntN(len(items))
	}
	for i, item := range items {
		surface, aisle := "browse", s.src.Aisle[item]
		if aisle != "" && s.rng.Float64() < s.opt.SearchShare {
			if err := s.event(TypeSearch, "search", aisle, 3, 15); err != nil {
				return err
			}
			surface = "search"
		}
		views := int(s.opt.BrowseViews)
		if s.rng.Float64() < s.opt.BrowseViews-float64(views) {
			views++
		}
		for range views {
			if other := s.other(aisle, bought); other != "" {
				if err := s.event(TypeView, surface, "", 5, 40, other); err != nil {
					return err
				}
			}
		}
		if err := s.event(TypeView, surface, "", 5, 45, item); err != nil {
			return err
		}
		if err := s.event(TypeAddToCart, "product", "", 15, 90, item); err != nil {
			return err
		}
		if i == removeAt {
			if removed = s.other(aisle, bought); removed != "" {
				if err := s.event(TypeAddToCart, "product", "", 15, 90, removed); err != nil {
					return err
				}
			}
		}
	}
	if removed != "" {
		if err := s.event(TypeRemoveFromCart, "cart", "", 10, 30, removed); err != nil {
			return err
		}
	}
	return s.event(TypePurchase, "checkout", "", 0, 0, items...)
}

// other picks an item of the aisle that the order does not buy, or "".
func (s *session) other(aisle string, bought map[string]bool) string {
	ids := s.src.byAisle[aisle]
	for range 8 { // small aisles may hold only bought items
		if len(ids) == 0 {
			return ""
		}
		if id := ids[s.rng.IntN(len(ids))]; !bought[id] {
			return id
		}
	}
	return ""
}
