// Package guesttest is the contract suite every guest feature backend
// passes: the in-process store, a single redis-server and a Redis Cluster
// run the same Run. It checks the fold against guest.State.Apply (the Go
// twin of the Redis Lua fold), exactly-once under resent events, order
// independence, sessions, the cart, and the long-term merge.
package guesttest

import (
	"context"
	"fmt"
	"maps"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest"
)

// Backend is what the suite drives. Its aggregation must be running.
type Backend struct {
	Log      event.Log
	Store    guest.Store
	LongTerm guest.LongTermWriter
}

// Factory builds a fresh backend folding with attrs and cfg; the suite
// uses distinct guest ids per test, so one server may back several.
type Factory func(t *testing.T, attrs guest.ItemAttributes, cfg guest.Config) Backend

// Catalog is a tiny catalogue for the suite: items "1".."6".
type Catalog map[string]map[string]string

// TestCatalog returns the suite's catalogue.
func TestCatalog() Catalog {
	return Catalog{
		"1": {"category": "whole milk", "aisle": "milk", "department": "dairy", "brand": "acme", "size": "1l"},
		"2": {"category": "yogurt", "aisle": "yogurt", "department": "dairy", "flavour": "strawberry", "on_promotion": "true"},
		"3": {"category": "rolls/buns", "aisle": "bread", "department": "bakery"},
		"4": {"category": "tropical fruit", "aisle": "fruit", "department": "produce", "on_promotion": "true"},
		"5": {"category": "soda", "aisle": "drinks", "department": "beverages", "brand": "fizz"},
		"6": {"category": "beef", "aisle": "meat", "department": "meat"},
	}
}

// ItemAttributes implements guest.ItemAttributes.
func (c Catalog) ItemAttributes(id string) (map[string]string, bool) {
	a, ok := c[id]
	return a, ok
}

// Known implements event.Catalog.
func (c Catalog) Known(id string) bool { _, ok := c[id]; return ok }

// Config is the suite's feature config: short half-lives so decay shows.
func Config() guest.Config {
	return guest.Config{HalfLife: map[guest.Signal]time.Duration{
		event.TypeView: time.Minute, event.TypeClick: 2 * time.Minute,
		event.TypeAddToCart: 10 * time.Minute, event.TypePurchase: time.Hour,
	}, RecentItems: 4}.WithDefaults()
}

// Run runs the contract suite against backends from f.
func Run(t *testing.T, f Factory) {
	cat, cfg := TestCatalog(), Config()
	b := f(t, cat, cfg)
	base := time.Now().Add(-30 * time.Minute).Truncate(time.Millisecond)
	t.Run("FoldMatchesReference", func(t *testing.T) { testFold(t, b, cat, cfg, base) })
	t.Run("ExactlyOnceUnderResend", func(t *testing.T) { testResend(t, b, base) })
	t.Run("OrderIndependent", func(t *testing.T) { testOrder(t, b, cat, cfg, base) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, b, base) })
	t.Run("LongTermMerge", func(t *testing.T) { testLongTerm(t, b, cfg, base) })
	t.Run("UnknownGuest", func(t *testing.T) {
		snap, err := b.Store.Snapshot(ctx(t), "nobody-"+t.Name())
		if err != nil {
			t.Fatal(err)
		}
		if f := guest.Compute("nobody", snap, time.Now(), cfg); f.Found || f.Events != 0 {
			t.Fatalf("unknown guest: %+v", f)
		}
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// Ev builds an event at base+offset.
func Ev(id, guestID, session string, typ event.Type, at time.Time, items ...string) event.Event {
	e := event.Event{ID: id, GuestID: guestID, SessionID: session, Type: typ, Time: at, ItemIDs: items}
	if typ == event.TypeSearch {
		e.Query = "milk"
	}
	return e
}

// Send appends events and fails the test if any is not stored.
func Send(t testing.TB, l event.Log, events ...event.Event) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, err := range l.Append(c, events) {
		if err != nil {
			t.Fatalf("append event %d (%s): %v", i, events[i].ID, err)
		}
	}
}

// WaitEvents polls until the guest's folded-event count reaches n and
// returns the snapshot.
func WaitEvents(t testing.TB, s guest.Store, guestID string, n int64) guest.Snapshot {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		snap, err := s.Snapshot(c, guestID)
		if err == nil && snap.RealTime.Events >= n {
			return snap
		}
		select {
		case <-c.Done():
			t.Fatalf("guest %s: %d events folded, want %d (last error %v)", guestID, snap.RealTime.Events, n, err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func script(g string, base time.Time) []event.Event {
	at := func(min float64) time.Time { return base.Add(time.Duration(min * float64(time.Minute))) }
	return []event.Event{
		Ev(g+"-1", g, "s1", event.TypeView, at(0), "1", "2"),
		Ev(g+"-2", g, "s1", event.TypeClick, at(1), "2"),
		Ev(g+"-3", g, "s1", event.TypeAddToCart, at(2), "2"),
		Ev(g+"-4", g, "s1", event.TypeAddToCart, at(2.5), "2", "3"),
		Ev(g+"-5", g, "s1", event.TypeRemoveFromCart, at(3), "2"),
		Ev(g+"-6", g, "s1", event.TypeSearch, at(3.5)),
		Ev(g+"-7", g, "s1", event.TypeView, at(4), "4", "5", "6"),
		Ev(g+"-8", g, "s1", event.TypeImpression, at(4.2), "1", "2", "3"),
		Ev(g+"-9", g, "s1", event.TypeAddToCart, at(5), "6"),
		Ev(g+"-10", g, "s1", event.TypePurchase, at(6), "2", "6"),
		Ev(g+"-11", g, "s1", event.TypeClick, at(7), "1"),
	}
}

// reference folds events with the Go twin.
func reference(events []event.Event, cat Catalog, cfg guest.Config) guest.State {
	var s guest.State
	for i := range events {
		u := guest.Plan(&events[i], cat, cfg)
		s.Apply(&u, cfg.RecentItems)
	}
	return s
}

func testFold(t *testing.T, b Backend, cat Catalog, cfg guest.Config, base time.Time) {
	g := "fold-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	events := script(g, base)
	Send(t, b.Log, events...)
	snap := WaitEvents(t, b.Store, g, int64(len(events)))
	want := reference(events, cat, cfg)
	CompareStates(t, snap.RealTime, want)
	f := guest.Compute(g, snap, base.Add(8*time.Minute), cfg)
	// Hand-checked: the cart kept one roll (2 was added twice, removed
	// once, then bought; 6 was bought).
	if len(f.Cart) != 1 || f.Cart[0] != (guest.CartLine{ItemID: "3", Quantity: 1}) {
		t.Errorf("cart = %+v, want [{3 1}]", f.Cart)
	}
	s := f.Session
	if s.Views != 5 || s.Clicks != 2 || s.AddToCarts != 4 || s.Purchases != 1 || s.Searches != 1 || s.PromotedViews != 2 {
		t.Errorf("session = %+v", s)
	}
	if s.CategoryClicks["yogurt"] != 1 || s.CategoryClicks["whole milk"] != 1 || math.Abs(s.DealSeeking-0.4) > 1e-12 || math.Abs(s.AddToCartRate-0.8) > 1e-12 {
		t.Errorf("session rates/categories = %+v", s)
	}
	if len(f.Recent) != 4 || f.Recent[0].ItemID != "1" || f.Recent[1].ItemID != "2" || f.Recent[2].ItemID != "6" {
		t.Errorf("recent = %+v, want 1, 2, 6, ... (newest first, capped at 4)", f.Recent)
	}
	if f.Affinities[0].Attribute != "department" || f.Affinities[0].Value != "dairy" {
		t.Errorf("top affinity = %+v, want department=dairy", f.Affinities[0])
	}
}

func testResend(t *testing.T, b Backend, base time.Time) {
	g := "resend-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	events := script(g, base)
	Send(t, b.Log, events...)
	Send(t, b.Log, events...) // a client retry after a lost acknowledgement
	Send(t, b.Log, events[:3]...)
	marker := Ev(g+"-marker", g, "s1", event.TypeView, base.Add(9*time.Minute), "5")
	Send(t, b.Log, marker)
	want := int64(len(events) + 1)
	snap := WaitEvents(t, b.Store, g, want)
	// The marker was sent last, but folds of one guest may run in any
	// order on several consumers: wait for it, then check nothing more came.
	if snap.RealTime.Events != want {
		t.Fatalf("folded %d events, want %d: duplicates counted", snap.RealTime.Events, want)
	}
}

func testOrder(t *testing.T, b Backend, cat Catalog, cfg guest.Config, base time.Time) {
	g1 := "order-a-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	g2 := "order-b-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	evA := []event.Event{
		Ev(g1+"-1", g1, "", event.TypeView, base, "1"),
		Ev(g1+"-2", g1, "", event.TypeView, base.Add(30*time.Second), "1"),
		Ev(g1+"-3", g1, "", event.TypeView, base.Add(90*time.Second), "1"),
	}
	var evB []event.Event
	for i := len(evA) - 1; i >= 0; i-- {
		e := evA[i]
		e.GuestID, e.ID = g2, g2+e.ID[len(g1):]
		evB = append(evB, e)
	}
	for _, e := range evB { // one by one so the order is the log's
		Send(t, b.Log, e)
	}
	Send(t, b.Log, evA...)
	a, bb := WaitEvents(t, b.Store, g1, 3), WaitEvents(t, b.Store, g2, 3)
	now := base.Add(2 * time.Minute)
	fa, fb := guest.Compute(g1, a, now, cfg), guest.Compute(g2, bb, now, cfg)
	// Hand-computed with a 1-minute view half-life: at 90 s the count is
	// 2^-1.5 + 2^-1 + 1, then decayed 30 s more to 2 min.
	want := (math.Exp2(-1.5) + math.Exp2(-1) + 1) * math.Exp2(-0.5)
	for _, f := range []guest.Features{fa, fb} {
		if got := affinity(f, "brand", "acme"); math.Abs(got-want) > 1e-9 {
			t.Errorf("%s brand=acme = %.12f, want %.12f", f.GuestID, got, want)
		}
	}
}

func affinity(f guest.Features, attr, value string) float64 {
	for _, a := range f.Affinities {
		if a.Attribute == attr && a.Value == value {
			return a.Score
		}
	}
	return 0
}

func testSessions(t *testing.T, b Backend, base time.Time) {
	g := "sess-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	Send(t, b.Log, Ev(g+"-1", g, "s1", event.TypeView, base, "1"), Ev(g+"-2", g, "s1", event.TypeView, base.Add(time.Minute), "2"))
	WaitEvents(t, b.Store, g, 2)
	Send(t, b.Log, Ev(g+"-3", g, "s2", event.TypeClick, base.Add(2*time.Minute), "3"))
	WaitEvents(t, b.Store, g, 3)
	// A late event of s1 changes affinities but no session counter.
	Send(t, b.Log, Ev(g+"-4", g, "s1", event.TypeView, base.Add(90*time.Second), "4"))
	snap := WaitEvents(t, b.Store, g, 4)
	s := guest.Compute(g, snap, base.Add(3*time.Minute), Config()).Session
	if s.ID != "s2" || s.Views != 0 || s.Clicks != 1 || s.CategoryClicks["rolls/buns"] != 1 {
		t.Fatalf("session after switch = %+v, want s2 with one click", s)
	}
}

func testLongTerm(t *testing.T, b Backend, cfg guest.Config, base time.Time) {
	g := "lt-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	err := b.LongTerm.PutLongTerm(ctx(t), []guest.LongTerm{{GuestID: g, Affinities: []guest.LongTermAffinity{
		{Attribute: "department", Value: "produce", Score: 12, LastMs: base.UnixMilli()},
		{Attribute: "department", Value: "dairy", Score: 2, LastMs: base.UnixMilli()},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	Send(t, b.Log, Ev(g+"-1", g, "s1", event.TypePurchase, base, "1"))
	snap := WaitEvents(t, b.Store, g, 1)
	f := guest.Compute(g, snap, base, cfg)
	if len(f.Affinities) == 0 || f.Affinities[0].Value != "produce" || f.Affinities[0].LongTerm != 12 {
		t.Fatalf("affinities = %+v, want produce (long-term 12) first", f.Affinities)
	}
	if d := affinity(f, "department", "dairy"); d != 2+8 { // long-term 2 + purchase weight 8 × 1
		t.Fatalf("dairy = %v, want 10", d)
	}
}

// CompareStates fails t unless got equals want, scores within 1e-9
// relative (Lua's pow and Go's Exp2 may differ in the last bits).
func CompareStates(t testing.TB, got, want guest.State) {
	t.Helper()
	if len(got.Affinity) != len(want.Affinity) {
		t.Errorf("affinity fields: got %d, want %d\n got %v\nwant %v", len(got.Affinity), len(want.Affinity), got.Affinity, want.Affinity)
	}
	for k, w := range want.Affinity {
		g, ok := got.Affinity[k]
		if !ok || g.LastMs != w.LastMs || math.Abs(g.Score-w.Score) > 1e-9*math.Max(1, w.Score) {
			t.Errorf("affinity %s: got %+v, want %+v", k, g, w)
		}
	}
	check := func(name string, eq bool, g, w any) {
		if !eq {
			t.Errorf("%s: got %v, want %v", name, g, w)
		}
	}
	check("cart", maps.Equal(got.Cart, want.Cart), got.Cart, want.Cart)
	check("counters", maps.Equal(got.Counters, want.Counters), got.Counters, want.Counters)
	check("recent", fmt.Sprint(got.Recent) == fmt.Sprint(want.Recent), got.Recent, want.Recent)
	check("session", got.SessionID == want.SessionID && got.SessionLastMs == want.SessionLastMs, got.SessionID, want.SessionID)
	check("events", got.Events == want.Events && got.UpdatedMs == want.UpdatedMs, got.Events, want.Events)
}
