package main

import (
	"log/slog"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/aisle-ai/aisle/bandit"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// TestServeBanditsShareRedis is serve's wiring twice over one
// redis-server (two replicas): both keep their arms and the join in
// Redis, so an impression recorded on A and an add-to-cart on B credit
// the arm, in B's state.
func TestServeBanditsShareRedis(t *testing.T) {
	srv := redistest.Start(t)
	bc, err := loadBanditConfig(filepath.Join("..", "..", "testdata", "bandits.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	items, err := openCatalog(filepath.Join("..", "..", "models"), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	replica := func() *eventsWiring {
		ff := featureFlags{redisAddr: srv.Addr(), partitions: 16, rtWeight: 1, ltWeight: 1, banditWindow: bandit.DefaultWindow}
		w, err := startEvents(t.Context(), &ff, items, bc, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.stop)
		return w
	}
	a, b := replica(), replica()
	ev := func(id string, typ aislepb.EventType, attrs map[string]string) *aislepb.Event {
		return &aislepb.Event{EventId: id, GuestId: "g", Type: typ, ItemIds: []string{"1"}, Surface: "home",
			ImpressionId: "imp", Slot: 2, Attributes: attrs, Timestamp: timestamppb.New(time.Now().Add(-time.Second))}
	}
	for _, r := range []struct {
		w *eventsWiring
		e *aislepb.Event
	}{
		{a, ev("e1", aislepb.EventType_EVENT_TYPE_IMPRESSION, map[string]string{"arm": "popular", "propensity": "0.25"})},
		{b, ev("e2", aislepb.EventType_EVENT_TYPE_ADD_TO_CART, nil)},
	} {
		resp, err := r.w.service.RecordEvents(t.Context(), &aislepb.RecordEventsRequest{Events: []*aislepb.Event{r.e}})
		if err != nil || resp.Accepted != 1 {
			t.Fatalf("RecordEvents: %v, %v", resp, err)
		}
	}
	st, err := b.bandits.State(t.Context(), "home")
	if err != nil {
		t.Fatal(err)
	}
	for _, arm := range st.Arms {
		want := [2]float64{}
		if arm.Arm == "popular" {
			want = [2]float64{1, 1}
		}
		// Discounted to now with a 168h half-life: a second's age is a
		// factor of 1 - 1.1e-6.
		if math.Abs(arm.Pulls-want[0]) > 1e-4 || math.Abs(arm.Rewards-want[1]) > 1e-4 {
			t.Errorf("replica B, arm %s: pulls %g rewards %g, want %v", arm.Arm, arm.Pulls, arm.Rewards, want)
		}
	}
}
