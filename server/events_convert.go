package server

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
)

// eventFromProto converts without judging; the validator judges. An unset
// timestamp stays zero (the validator fills in now).
func eventFromProto(p *aislepb.Event) event.Event {
	e := event.Event{ID: p.EventId, GuestID: p.GuestId, SessionID: p.SessionId, Type: event.Type(p.Type),
		ItemIDs: p.ItemIds, Query: p.Query, Surface: p.Surface, ImpressionID: p.ImpressionId, Slot: p.Slot,
		Attributes: p.Attributes}
	if p.Timestamp != nil {
		e.Time = p.Timestamp.AsTime()
	}
	return e
}

func featuresToProto(f *guest.Features) *aislepb.GuestFeatures {
	out := &aislepb.GuestFeatures{GuestId: f.GuestID, Found: f.Found, Events: f.Events}
	if !f.Updated.IsZero() {
		out.Updated = timestamppb.New(f.Updated)
	}
	for _, a := range f.Affinities {
		out.Affinities = append(out.Affinities, &aislepb.Affinity{Attribute: a.Attribute, Value: a.Value,
			Score: a.Score, RealTime: a.RealTime, LongTerm: a.LongTerm})
	}
	for _, r := range f.Recent {
		out.RecentItems = append(out.RecentItems, &aislepb.RecentItem{ItemId: r.ItemID, Timestamp: timestamppb.New(time.UnixMilli(r.AtMs))})
	}
	for _, c := range f.Cart {
		out.Cart = append(out.Cart, &aislepb.CartLine{ItemId: c.ItemID, Quantity: int32(c.Quantity)})
	}
	s := f.Session
	out.Session = &aislepb.SessionCounters{SessionId: s.ID, Views: s.Views, Clicks: s.Clicks, AddToCarts: s.AddToCarts,
		Purchases: s.Purchases, Searches: s.Searches, PromotedViews: s.PromotedViews, CategoryClicks: s.CategoryClicks,
		AddToCartRate: s.AddToCartRate, DealSeeking: s.DealSeeking}
	return out
}
