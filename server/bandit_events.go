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
// credits the arms, a whole call's events at once: the outcomes in order,
// and Late for an impression too old to join. *bandit.Learner (in process,
// one at a time) and *redisstore.Join (shared by the replicas on one Redis:
// one pipeline for the join, one Add per surface) are two.
type BanditJoin interface {
	JoinBatch(ctx context.Context, ops []bandit.JoinOp) []bandit.JoinResult
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
// its click in one batch join. A join that implements JoinBatch gets the
// whole call's bandit events at once: measured before, each event cost 1–2
// Redis round trips inside the call's AppendTimeout, which a
// 1,000-impression call to a remote Redis could exceed.
func (b *BanditEvents) Accepted(ctx context.Context, events []event.Event) {
	ops := make([]bandit.JoinOp, 0, len(events))
	for i := range events {
		op, o := joinOp(&events[i])
		switch {
		case o != "":
			b.outcome.WithLabelValues(o).Inc()
		case op != (bandit.JoinOp{}):
			ops = append(ops, op)
		}
	}
	if len(ops) == 0 {
		return
	}
	for k, r := range b.join.JoinBatch(ctx, ops) {
		b.outcome.WithLabelValues(outcomeName(ops[k], r)).Inc()
	}
}

// joinOp turns one event into its join step, or names its outcome at once
// ("invalid"); both are empty for events that are no bandit's.
func joinOp(e *event.Event) (bandit.JoinOp, string) {
	if e.ImpressionID == "" {
		return bandit.JoinOp{}, ""
	}
	slotID := e.ImpressionID + "#" + strconv.Itoa(int(e.Slot))
	switch e.Type {
	case event.TypeImpression:
		arm, ok := e.Attributes[AttrArm]
		if !ok {
			return bandit.JoinOp{}, "" // an impression no bandit chose
		}
		p, err := strconv.ParseFloat(e.Attributes[AttrPropensity], 64)
		if err != nil || e.Surface == "" || arm == "" {
			return bandit.JoinOp{}, "invalid"
		}
		return bandit.JoinOp{Impression: &bandit.Impression{ID: slotID, Surface: e.Surface, Guest: e.GuestID, At: e.Time,
			Slots: []bandit.Slot{{Arm: arm, Propensity: p}}}}, ""
	case event.TypeClick, event.TypeAddToCart:
		typ := bandit.Click
		if e.Type == event.TypeAddToCart {
			typ = bandit.AddToCart
		}
		return bandit.JoinOp{Feedback: &bandit.Feedback{ImpressionID: slotID, Type: typ, At: e.Time}}, ""
	}
	return bandit.JoinOp{}, ""
}

// outcomeName names what a join step did, for aisle_bandit_events_total.
func outcomeName(op bandit.JoinOp, r bandit.JoinResult) string {
	if op.Impression != nil {
		switch {
		case errors.Is(r.Err, bandit.ErrInvalid) || errors.Is(r.Err, bandit.ErrUnknownSurface):
			return "invalid"
		case r.Err != nil:
			return "failed"
		case r.Outcome == bandit.Late:
			return "late" // older than twice the window: no pull
		}
		return "impression"
	}
	if r.Err != nil {
		if errors.Is(r.Err, bandit.ErrInvalid) {
			return "invalid"
		}
		return "failed"
	}
	return [...]string{bandit.Credited: "credited", bandit.Duplicate: "duplicate", bandit.Late: "late",
		bandit.Unknown: "unknown", bandit.Ignored: "invalid"}[r.Outcome]
}
