package server

import (
	"context"
	"errors"
	"strconv"
	"time"

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

// EventClaimer marks an event id as handled, once across every replica
// sharing it: Claim is true for the first caller only. The Redis store is
// one; without one, the Learner's own dedupe (impression id, slot) holds
// within the process.
type EventClaimer interface {
	Claim(ctx context.Context, eventID string, ttl time.Duration) (bool, error)
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
// and slot credit the slot's arm, through a bandit.Learner. Every outcome
// is counted in aisle_bandit_events_total; none is an error to the
// caller.
//
// Each slot is joined as its own one-slot impression "<impression id>#<slot>",
// so the slots of one slate may arrive as separate events, in any order
// relative to each other.
type BanditEvents struct {
	learner *bandit.Learner
	claim   EventClaimer
	ttl     time.Duration
	outcome *prometheus.CounterVec
}

// NewBanditEvents returns the observer; claim may be nil (one replica),
// window is the Learner's join window (claims are kept twice as long, as
// the Learner keeps impressions), reg may be nil.
func NewBanditEvents(l *bandit.Learner, claim EventClaimer, window time.Duration, reg prometheus.Registerer) *BanditEvents {
	if window <= 0 {
		window = bandit.DefaultWindow
	}
	b := &BanditEvents{learner: l, claim: claim, ttl: 2 * window,
		outcome: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_bandit_events_total",
			Help: "Bandit impressions and feedback from the event stream by outcome: impression, credited, duplicate (slot already rewarded), replayed (event id already handled), late, unknown (impression id not pending), invalid (bad arm, propensity, surface or slot), failed (store error).",
		}, []string{"outcome"})}
	for _, o := range []string{"impression", "credited", "duplicate", "replayed", "late", "unknown", "invalid", "failed"} {
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
		if o := b.claimed(ctx, e.ID); o != "" {
			return o
		}
		switch err := b.learner.Impression(ctx, imp); {
		case errors.Is(err, bandit.ErrInvalid) || errors.Is(err, bandit.ErrUnknownSurface):
			return "invalid"
		case err != nil:
			return "failed"
		}
		return "impression"
	case event.TypeClick, event.TypeAddToCart:
		if o := b.claimed(ctx, e.ID); o != "" {
			return o
		}
		typ := bandit.Click
		if e.Type == event.TypeAddToCart {
			typ = bandit.AddToCart
		}
		out, err := b.learner.Feedback(ctx, bandit.Feedback{ImpressionID: slotID, Type: typ, At: e.Time})
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

// claimed returns "" when this replica may handle the event, else the
// outcome to count: replayed (handled before) or failed (claim store
// down: the event is skipped, so a credit is lost rather than doubled).
func (b *BanditEvents) claimed(ctx context.Context, id string) string {
	if b.claim == nil {
		return ""
	}
	ok, err := b.claim.Claim(ctx, id, b.ttl)
	switch {
	case err != nil:
		return "failed"
	case !ok:
		return "replayed"
	}
	return ""
}
