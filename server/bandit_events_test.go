package server

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest"
	"github.com/aisle-ai/aisle/guest/guesttest"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	"github.com/aisle-ai/aisle/redisstore"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// banditReplica is one server with Events (crediting bandit arms) and
// Bandits over a store.
type banditReplica struct {
	events  aislepb.EventsClient
	bandits aislepb.BanditsClient
	reg     *prometheus.Registry
}

// startBanditReplica serves one replica; join builds its BanditJoin over
// its Bandits.
func startBanditReplica(t *testing.T, log event.Log, fs guest.Store, store bandit.Store, join func(*bandit.Bandits) BanditJoin) banditReplica {
	t.Helper()
	b, err := bandit.New(bandit.Config{Surfaces: []bandit.SurfaceConfig{{Name: "home", Arms: []string{"gnn", "popular"}}}}, store)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	obs := NewBanditEvents(join(b), reg)
	svc := NewEvents(EventsConfig{Validator: event.NewValidator(event.Limits{}, guesttest.TestCatalog()), Log: log,
		Features: guest.NewReader(fs, guesttest.Config(), time.Second, nil), Observer: obs}, reg)
	ts := startServerAuthed(t, t.TempDir(), func(Repository) []Service { return []Service{svc, NewBandits(b, reg)} })
	return banditReplica{events: aislepb.NewEventsClient(ts.conn), bandits: aislepb.NewBanditsClient(ts.conn), reg: reg}
}

// slotEvent is an impression (with arm and propensity) or feedback event
// on slot 1 of an impression.
func slotEvent(id string, typ aislepb.EventType, imp, arm string) *aislepb.Event {
	e := &aislepb.Event{EventId: id, GuestId: "g1", SessionId: "s1", Type: typ, ItemIds: []string{"1"},
		Timestamp: timestamppb.New(time.Now().Add(-time.Second)), Surface: "home", ImpressionId: imp, Slot: 1}
	if arm != "" {
		e.Attributes = map[string]string{AttrArm: arm, AttrPropensity: "0.5"}
	}
	return e
}

func (r banditReplica) record(t *testing.T, evs ...*aislepb.Event) {
	t.Helper()
	resp, err := r.events.RecordEvents(t.Context(), &aislepb.RecordEventsRequest{Events: evs})
	if err != nil || resp.Accepted != int32(len(evs)) {
		t.Fatalf("RecordEvents: %v, %v", resp, err)
	}
}

// arm returns an arm's pulls and rewards from GetBanditState.
func (r banditReplica) arm(t *testing.T, name string) (pulls, rewards float64) {
	t.Helper()
	st, err := r.bandits.GetBanditState(t.Context(), &aislepb.GetBanditStateRequest{Surface: "home"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range st.Arms {
		if a.Arm == name {
			return a.Pulls, a.Rewards
		}
	}
	t.Fatalf("no arm %q in %v", name, st)
	return 0, 0
}

func (r banditReplica) wantArm(t *testing.T, name string, pulls, rewards float64) {
	t.Helper()
	if p, rw := r.arm(t, name); p != pulls || rw != rewards {
		t.Errorf("arm %s: pulls %g rewards %g, want %g %g", name, p, rw, pulls, rewards)
	}
}

func (r banditReplica) wantOutcome(t *testing.T, outcome string, n float64) {
	t.Helper()
	if got := counterValue(r.reg, "aisle_bandit_events_total", outcome); got != n {
		t.Errorf("aisle_bandit_events_total{outcome=%q} = %g, want %g", outcome, got, n)
	}
}

// TestBanditEventsCreditInMemory: an impression then a click credit the
// arm once; the same click again, or another click on the slot, does not;
// unknown impression ids and bad impressions are counted.
func TestBanditEventsCreditInMemory(t *testing.T) {
	l, m := memoryLogStore(t)
	r := startBanditReplica(t, l, m, bandit.NewMemStore(), func(b *bandit.Bandits) BanditJoin {
		return bandit.NewLearner(b, bandit.LearnerConfig{})
	})

	r.record(t, slotEvent("e1", aislepb.EventType_EVENT_TYPE_IMPRESSION, "imp1", "gnn"))
	r.wantArm(t, "gnn", 1, 0)
	r.record(t, slotEvent("e2", aislepb.EventType_EVENT_TYPE_CLICK, "imp1", ""))
	r.wantArm(t, "gnn", 1, 1)
	// Retried click (same event), and an add-to-cart on the same slot.
	r.record(t, slotEvent("e2", aislepb.EventType_EVENT_TYPE_CLICK, "imp1", ""),
		slotEvent("e3", aislepb.EventType_EVENT_TYPE_ADD_TO_CART, "imp1", ""))
	r.wantArm(t, "gnn", 1, 1)
	r.wantOutcome(t, "duplicate", 2)
	// Feedback on an impression never registered.
	r.record(t, slotEvent("e4", aislepb.EventType_EVENT_TYPE_CLICK, "nope", ""))
	r.wantOutcome(t, "unknown", 1)
	// Bad impressions: an unknown arm, a propensity that is no number.
	bad := slotEvent("e6", aislepb.EventType_EVENT_TYPE_IMPRESSION, "imp3", "gnn")
	bad.Attributes[AttrPropensity] = "high"
	r.record(t, slotEvent("e5", aislepb.EventType_EVENT_TYPE_IMPRESSION, "imp2", "nosuch"), bad)
	r.wantOutcome(t, "invalid", 2)
	r.wantOutcome(t, "credited", 1)
	r.wantOutcome(t, "impression", 1)
	r.wantArm(t, "popular", 0, 0)
}

// TestBanditEventsLateImpressionInMemory: an impression older than twice
// the in-process Learner's window before the newest one it has seen gets no
// pull and is counted "late", as with the Redis join (which compares with
// the wall clock), not "impression".
func TestBanditEventsLateImpressionInMemory(t *testing.T) {
	l, m := memoryLogStore(t)
	r := startBanditReplica(t, l, m, bandit.NewMemStore(), func(b *bandit.Bandits) BanditJoin {
		return bandit.NewLearner(b, bandit.LearnerConfig{Window: time.Minute})
	})
	old := slotEvent("e2", aislepb.EventType_EVENT_TYPE_IMPRESSION, "imp2", "popular")
	old.Timestamp = timestamppb.New(time.Now().Add(-10 * time.Minute))
	r.record(t, slotEvent("e1", aislepb.EventType_EVENT_TYPE_IMPRESSION, "imp1", "gnn"), old)
	r.wantOutcome(t, "impression", 1)
	r.wantOutcome(t, "late", 1)
	r.wantArm(t, "gnn", 1, 0)
	r.wantArm(t, "popular", 0, 0)
}

// TestBanditEventsTwoReplicasRedis: two servers share one redis-server for
// events, arms and the join. An impression on A and its click on B credit
// the arm, in both replicas' state; events retried to the other replica
// (same ids), or a second feedback on the slot, credit nothing twice.
func TestBanditEventsTwoReplicasRedis(t *testing.T) {
	srv := redistest.Start(t)
	replica := func(consumer string) banditReplica {
		s, err := redisstore.New(redisstore.Options{Addr: srv.Addr(), Features: guesttest.Config(), Consumer: consumer})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = s.NewWorker(guesttest.TestCatalog(), nil).Run(ctx) })
		t.Cleanup(func() { cancel(); wg.Wait(); _ = s.Close() })
		return startBanditReplica(t, s, s, s.Arms(), func(b *bandit.Bandits) BanditJoin { return s.Join(b, 0) })
	}
	a, b := replica("a"), replica("b")

	imp := slotEvent("e1", aislepb.EventType_EVENT_TYPE_IMPRESSION, "imp1", "popular")
	click := slotEvent("e2", aislepb.EventType_EVENT_TYPE_CLICK, "imp1", "")
	a.record(t, imp)
	b.record(t, click)
	a.wantArm(t, "popular", 1, 1)
	b.wantArm(t, "popular", 1, 1)
	b.wantOutcome(t, "credited", 1)
	// The client retries both to the other replica, then adds to cart.
	b.record(t, imp)
	a.record(t, click, slotEvent("e3", aislepb.EventType_EVENT_TYPE_ADD_TO_CART, "imp1", ""))
	a.wantOutcome(t, "duplicate", 2)
	a.wantArm(t, "popular", 1, 1)
	b.wantArm(t, "popular", 1, 1)
	// Unknown impression ids and unknown arms are counted, never credited.
	b.record(t, slotEvent("e4", aislepb.EventType_EVENT_TYPE_CLICK, "nope", ""),
		slotEvent("e5", aislepb.EventType_EVENT_TYPE_IMPRESSION, "imp2", "nosuch"))
	b.wantOutcome(t, "unknown", 1)
	b.wantOutcome(t, "invalid", 1)
	b.wantArm(t, "gnn", 0, 0)
}
