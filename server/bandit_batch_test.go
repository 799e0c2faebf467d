package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/event"
)

// batchJoin records the JoinBatch calls; its one-at-a-time methods fail
// the test.
type batchJoin struct {
	t     *testing.T
	calls [][]bandit.JoinOp
}

func (j *batchJoin) Impression(context.Context, bandit.Impression) error {
	j.t.Error("Impression called one event at a time")
	return nil
}

func (j *batchJoin) Feedback(context.Context, bandit.Feedback) (bandit.Outcome, error) {
	j.t.Error("Feedback called one event at a time")
	return bandit.Unknown, nil
}

func (j *batchJoin) JoinBatch(_ context.Context, ops []bandit.JoinOp) []bandit.JoinResult {
	j.calls = append(j.calls, ops)
	res := make([]bandit.JoinResult, len(ops))
	for i := range res {
		res[i].Outcome = bandit.Credited
	}
	return res
}

// TestBanditEventsOneJoinPerCall hands 1,000 impressions, their clicks,
// an event that is no bandit's and an invalid impression to BanditEvents
// over a join that takes batches: the join gets one call holding every
// bandit event in order, and the outcomes are counted.
func TestBanditEventsOneJoinPerCall(t *testing.T) {
	j := &batchJoin{t: t}
	reg := prometheus.NewRegistry()
	b := NewBanditEvents(j, reg)
	now := time.Now()
	var events []event.Event
	for i := range 1000 {
		id := fmt.Sprint("imp", i)
		events = append(events,
			event.Event{Type: event.TypeImpression, ImpressionID: id, Surface: "home", Time: now,
				Attributes: map[string]string{AttrArm: "gnn", AttrPropensity: "0.5"}},
			event.Event{Type: event.TypeClick, ImpressionID: id, Time: now})
	}
	events = append(events, event.Event{Type: event.TypeClick, Time: now}, // no impression id: no bandit's
		event.Event{Type: event.TypeImpression, ImpressionID: "x", Surface: "home", Time: now,
			Attributes: map[string]string{AttrArm: "gnn", AttrPropensity: "two"}})
	b.Accepted(t.Context(), events)
	if len(j.calls) != 1 || len(j.calls[0]) != 2000 {
		t.Fatalf("%d JoinBatch calls, want 1 with 2,000 ops", len(j.calls))
	}
	for i, op := range j.calls[0] {
		if (op.Impression != nil) != (i%2 == 0) {
			t.Fatalf("op %d out of order: %+v", i, op)
		}
	}
	for outcome, want := range map[string]float64{"impression": 1000, "credited": 1000, "invalid": 1} {
		if got := counterValue(reg, "aisle_bandit_events_total", outcome); got != want {
			t.Errorf("aisle_bandit_events_total{outcome=%q} = %g, want %g", outcome, got, want)
		}
	}
}
