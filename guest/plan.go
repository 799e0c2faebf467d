package guest

import (
	"github.com/aisle-ai/aisle/event"
)

// ItemAttributes looks up a catalogue item's attributes (category, aisle,
// department, brand, flavour, size, on_promotion); false means an unknown
// item. It must be safe for concurrent use and must not modify the map it
// returns.
type ItemAttributes interface {
	ItemAttributes(id string) (map[string]string, bool)
}

// Update is what one event does to a guest's State: the stores apply it
// (the memory store in Go, the Redis store in Lua) and nothing else decides
// semantics.
type Update struct {
	GuestID, EventID, SessionID string
	// AtMs is the event time in Unix milliseconds.
	AtMs int64
	// Affinity lists the decayed counts to bump by one, each with its
	// half-life in milliseconds.
	Affinity []AffinityOp
	// Counters are session counters to add to (names without the "s|").
	Counters []CounterOp
	// Cart changes the live cart; Delta ClearLine removes the line.
	Cart []CounterOp
	// Recent are items to put at the front of the recent list.
	Recent []string
}

// AffinityOp bumps one decayed count.
type AffinityOp struct {
	Field      string
	HalfLifeMs int64
}

// CounterOp adds Delta to a named counter.
type CounterOp struct {
	Name  string
	Delta int64
}

// ClearLine as a cart delta removes the line whatever its quantity (a
// purchase empties the purchased lines).
const ClearLine = -1 << 40

// Counter names of the session.
const (
	CounterViews         = "views"
	CounterClicks        = "clicks"
	CounterAddToCarts    = "add_to_carts"
	CounterPurchases     = "purchases"
	CounterSearches      = "searches"
	CounterPromotedViews = "promoted_views"
	counterCategoryPre   = "cat|"
)

// Plan computes the Update of one valid event. Items the catalogue does not
// know fold into counters and the cart but no affinity.
func Plan(e *event.Event, attrs ItemAttributes, cfg Config) Update {
	u := Update{GuestID: e.GuestID, EventID: e.ID, SessionID: e.SessionID, AtMs: e.Time.UnixMilli()}
	n := int64(len(e.ItemIDs))
	switch e.Type {
	case event.TypeView:
		u.Counters = append(u.Counters, CounterOp{CounterViews, n})
		var promoted int64
		for _, it := range e.ItemIDs {
			if a, ok := attrs.ItemAttributes(it); ok && a["on_promotion"] == "true" {
				promoted++
			}
		}
		if promoted > 0 {
			u.Counters = append(u.Counters, CounterOp{CounterPromotedViews, promoted})
		}
	case event.TypeClick:
		u.Counters = append(u.Counters, CounterOp{CounterClicks, n})
		for _, it := range e.ItemIDs {
			if a, ok := attrs.ItemAttributes(it); ok && a["category"] != "" {
				u.Counters = append(u.Counters, CounterOp{counterCategoryPre + a["category"], 1})
			}
		}
	case event.TypeAddToCart:
		u.Counters = append(u.Counters, CounterOp{CounterAddToCarts, n})
		for _, it := range e.ItemIDs {
			u.Cart = append(u.Cart, CounterOp{it, 1})
		}
	case event.TypeRemoveFromCart:
		for _, it := range e.ItemIDs {
			u.Cart = append(u.Cart, CounterOp{it, -1})
		}
	case event.TypePurchase:
		u.Counters = append(u.Counters, CounterOp{CounterPurchases, 1})
		for _, it := range e.ItemIDs {
			u.Cart = append(u.Cart, CounterOp{it, ClearLine})
		}
	case event.TypeSearch:
		u.Counters = append(u.Counters, CounterOp{CounterSearches, 1})
	}
	if isSignal(e.Type) {
		hl := cfg.HalfLife[e.Type].Milliseconds()
		for _, it := range e.ItemIDs {
			u.Recent = append(u.Recent, it)
			a, ok := attrs.ItemAttributes(it)
			if !ok {
				continue
			}
			for _, name := range Attributes {
				if v := a[name]; v != "" {
					u.Affinity = append(u.Affinity, AffinityOp{AffinityField(e.Type, name, v), hl})
				}
			}
		}
	}
	return u
}
