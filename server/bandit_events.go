package server

import (
	"context"
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/event"
)

// EventObserver sees the events the log has accepted, after the append
// and before RecordEvents answers. It must not fail the call: the events
// are stored already.
type EventObserver interface {
	Accepted(ctx context.Context, events []event.Event)
}

// BanditJoin joins bandit impressions with the feedback citing them and
// credits the arms: *bandit.Learner (in process) and *redisstore.Join
// (shared by the replicas on one Redis) are two.
type BanditJoin interface {
	Impression(ctx context.Context, imp bandit.Impression) error
	Feedback(ctx context.Context, fb bandit.Feedback) (bandit.Outcome, error)
}

// Event attributes of a bandit impression (see BANDITS.md): an IMPRESSION
// event with an impression id, a surface, a slot and these attributes is
// one shown slot of a bandit's slate.
const (
	AttrArm        = "arm"
	AttrPropensity = "propensity"
)

// BanditEvents credits bandit arms from the event stream: impression
// events register pulls, clicks and add-to-carts citing an impression id
// and slot credit the slot's arm, through a BanditJoin. Every outcome
// is counted in aisle_bandit_events_total; none is an error to the
// caller.
//
// Each slot is joined as its own one-slot impression "<impression id>#<slot>",
// so the slots of one slate may arrive as separate events, in any order
// relative to each other.
type BanditEvents struct {
	join    BanditJoin
	outcome *prometheus.CounterVec
}

// NewBanditEvents returns the observer over j; reg may be nil.
func NewBanditEvents(j BanditJoin, reg prometheus.Registerer) *BanditEvents {
	b := &BanditEvents{join: j,
		outcome: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_bandit_events_total",
			Help: "Bandit impressions and feedback from the event stream by outcome: impression, credited, duplicate (slot already rewarded), late, unknown (impression id not pending), invalid (bad arm, propensity, surface or slot), failed (store error).",
		}, []string{"outcome"})}
	for _, o := range []string{"impression", "credited", "duplicate", "late", "unknown", "invalid", "failed"} {
		b.outcome.WithLabelValues(o)
	}
	if reg != nil {
		reg.MustRegister(b.outcome)
	}
	return b
}

// Accepted implements EventObserver, in order, so that an impression and
// its click in one batch join.
func (b *BanditEvents) Accepted(ctx context.Context, events []event.Event) {
	for i := range events {
		if o := b.observe(ctx, &events[i]); o != "" {
			b.outcome.WithLabelValues(o).Inc()
		}
	}
}

// observe handles one event and names its outcome ("" for events that
// are no bandit's).
func (b *BanditEvents) observe(ctx context.Context, e *event.Event) string {
	if e.ImpressionID == "" {
		return ""
	}
	slotID := e.ImpressionID + "#" + strconv.Itoa(int(e.Slot))
	switch e.Type {
	case event.TypeImpression:
		arm, ok := e.Attributes[AttrArm]
		if !ok {
			return "" // an impression no bandit chose
		}
		p, err := strconv.ParseFloat(e.Attributes[AttrPropensity], 64)
		if err != nil || e.Surface == "" || arm == "" {
			return "invalid"
		}
		imp := bandit.Impression{ID: slotID, Surface: e.Surface, Guest: e.GuestID, At: e.Time,
			Slots: []bandit.Slot{{Arm: arm, Propensity: p}}}
		switch err := b.join.Impression(ctx, imp); {
		case errors.Is(err, bandit.ErrInvalid) || errors.Is(err, bandit.ErrUnknownSurface):
			return "invalid"
		case err != nil:
			return "failed"
		}
		return "impression"
	case event.TypeClick, event.TypeAddToCart:
		typ := bandit.Click
		if e.Type == event.TypeAddToCart {
			typ = bandit.AddToCart
		}
		out, err := b.join.Feedback(ctx, bandit.Feedback{ImpressionID: slotID, Type: typ, At: e.Time})
		if err != nil {
			if errors.Is(err, bandit.ErrInvalid) {
				return "invalid"
			}
			return "failed"
		}
		return [...]string{bandit.Credited: "credited", bandit.Duplicate: "duplicate", bandit.Late: "late",
			bandit.Unknown: "unknown", bandit.Ignored: "invalid"}[out]
	}
	return ""
}
