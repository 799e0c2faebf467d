package guest

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/aisle-ai/aisle/event"
)

// Features is one guest's features at a moment, what ranking reads.
type Features struct {
	GuestID string
	// Found is false when neither real-time nor long-term features exist.
	Found bool
	// Degraded names why the features are empty although the guest may
	// have some ("timeout", "unavailable"); "" when the read succeeded.
	Degraded string
	// Affinities are sorted by Score, highest first, at most
	// Config.TopPerAttribute per attribute.
	Affinities []Affinity
	Recent     []RecentItem
	// Cart lines sorted by item id.
	Cart    []CartLine
	Session Session
	// Events folded so far; Updated is the newest event's time.
	Events  int64
	Updated time.Time
}

// Affinity is a merged preference for one attribute value.
type Affinity struct {
	Attribute, Value string
	// Score = RealTimeWeight·RealTime + LongTermWeight·LongTerm.
	Score, RealTime, LongTerm float64
}

// CartLine is one live-cart line.
type CartLine struct {
	ItemID   string
	Quantity int64
}

// Session are the current session's counters and the rates derived from them.
type Session struct {
	ID                                             string
	Views, Clicks, AddToCarts, Purchases, Searches int64
	PromotedViews                                  int64
	CategoryClicks                                 map[string]int64
	AddToCartRate, DealSeeking                     float64
}

// Snapshot is what a store returns for one guest: both records as stored.
type Snapshot struct {
	RealTime, LongTerm State
}

// Compute decays and merges a snapshot at now.
func Compute(guestID string, snap Snapshot, now time.Time, cfg Config) Features {
	f := Features{GuestID: guestID}
	rt, lt := &snap.RealTime, &snap.LongTerm
	nowMs := now.UnixMilli()
	if rt.UpdatedMs > 0 && nowMs-rt.UpdatedMs > cfg.Expiry.Milliseconds() {
		rt = &State{} // expired: the memory store's twin of the Redis key TTL
	}
	f.Found = !rt.Empty() || !lt.Empty()
	f.Affinities = affinities(rt, lt, nowMs, cfg)
	f.Recent = slices.Clone(rt.Recent)
	for id, q := range rt.Cart {
		f.Cart = append(f.Cart, CartLine{id, q})
	}
	slices.SortFunc(f.Cart, func(a, b CartLine) int { return strings.Compare(a.ItemID, b.ItemID) })
	f.Session = session(rt)
	f.Events = rt.Events
	if rt.UpdatedMs > 0 {
		f.Updated = time.UnixMilli(rt.UpdatedMs).UTC()
	}
	return f
}

type attrValue struct{ attr, value string }

func affinities(rt, lt *State, nowMs int64, cfg Config) []Affinity {
	acc := map[attrValue]*Affinity{}
	get := func(attr, value string) *Affinity {
		k := attrValue{attr, value}
		if a := acc[k]; a != nil {
			return a
		}
		a := &Affinity{Attribute: attr, Value: value}
		acc[k] = a
		return a
	}
	for field, d := range rt.Affinity {
		sig, attr, value, ok := splitAffinity(field)
		t := signalByName(sig)
		if !ok || t == event.TypeUnspecified {
			continue
		}
		get(attr, value).RealTime += cfg.Weight[t] * d.At(nowMs, cfg.HalfLife[t].Milliseconds())
	}
	for field, d := range lt.Affinity {
		_, attr, value, ok := splitAffinity(field)
		if ok {
			get(attr, value).LongTerm += d.At(nowMs, cfg.LongTermHalfLife.Milliseconds())
		}
	}
	all := make([]Affinity, 0, len(acc))
	for _, a := range acc {
		a.Score = cfg.RealTimeWeight*a.RealTime + cfg.LongTermWeight*a.LongTerm
		all = append(all, *a)
	}
	slices.SortFunc(all, func(a, b Affinity) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(a.Attribute, b.Attribute), strings.Compare(a.Value, b.Value))
	})
	perAttr := map[string]int{}
	out := all[:0]
	for _, a := range all {
		if perAttr[a.Attribute] < cfg.TopPerAttribute {
			perAttr[a.Attribute]++
			out = append(out, a)
		}
	}
	return out
}

func signalByName(name string) event.Type {
	for _, s := range Signals {
		if s.String() == name {
			return s
		}
	}
	return event.TypeUnspecified
}

func session(s *State) Session {
	out := Session{ID: s.SessionID, CategoryClicks: map[string]int64{}}
	c := s.Counters
	out.Views, out.Clicks, out.AddToCarts = c[CounterViews], c[CounterClicks], c[CounterAddToCarts]
	out.Purchases, out.Searches, out.PromotedViews = c[CounterPurchases], c[CounterSearches], c[CounterPromotedViews]
	for k, v := range c {
		if cat, ok := strings.CutPrefix(k, counterCategoryPre); ok {
			out.CategoryClicks[cat] = v
		}
	}
	if out.Views > 0 {
		out.AddToCartRate = float64(out.AddToCarts) / float64(out.Views)
		out.DealSeeking = float64(out.PromotedViews) / float64(out.Views)
	}
	return out
}
