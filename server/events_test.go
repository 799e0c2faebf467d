package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest"
	"github.com/aisle-ai/aisle/guest/guesttest"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	"github.com/aisle-ai/aisle/redisstore"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// eventsServer serves Events over log and store on loopback.
// Batches are limited to 20 events of at most 3 items (small, to test the
// limits) unless limits says otherwise.
func eventsServer(t testing.TB, log event.Log, store guest.Store, limits ...event.Limits) aislepb.EventsClient {
	t.Helper()
	cat := guesttest.TestCatalog()
	lim := event.Limits{MaxBatch: 20, MaxItems: 3}
	if len(limits) > 0 {
		lim = limits[0]
	}
	svc := NewEvents(EventsConfig{
		Validator: event.NewValidator(lim, cat),
		Log:       log,
		Features:  guest.NewReader(store, guesttest.Config(), time.Second, nil),
	}, nil)
	ts := startServerAuthed(t, t.TempDir(), func(Repository) []Service { return []Service{svc} })
	return aislepb.NewEventsClient(ts.conn)
}

// memoryEvents runs the in-process log and store until the test ends.
func memoryEvents(t testing.TB) aislepb.EventsClient {
	c, _ := memoryEventsStoreLimits(t, event.Limits{MaxBatch: 20, MaxItems: 3})
	return c
}

// memoryEventsStore also returns the store, for benchmarks that watch it;
// it takes the default limits.
func memoryEventsStore(t testing.TB) (aislepb.EventsClient, guest.Store) {
	return memoryEventsStoreLimits(t, event.Limits{})
}

func memoryEventsStoreLimits(t testing.TB, lim event.Limits) (aislepb.EventsClient, guest.Store) {
	l, m := memoryLogStore(t)
	return eventsServer(t, l, m, lim), m
}

// memoryLogStore returns an in-process event log and the feature store
// that folds it (over guesttest's config and catalogue), folding until
// the test ends.
func memoryLogStore(t testing.TB) (*event.MemoryLog, *guest.Memory) {
	m := guest.NewMemory(guesttest.Config(), guesttest.TestCatalog())
	l := event.NewMemoryLog(0)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { m.Run(ctx, l.Events()) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return l, m
}

// redisEventsStore serves Events over a fresh redis-server with one
// in-process fold worker.
func redisEventsStore(t testing.TB, redisArgs ...string) (aislepb.EventsClient, guest.Store) {
	srv := redistest.Start(t, redisArgs...)
	s, err := redisstore.New(redisstore.Options{Addr: srv.Addr(), Features: guesttest.Config()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.NewWorker(guesttest.TestCatalog(), nil).Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait(); _ = s.Close() })
	return eventsServer(t, s, s, event.Limits{}), s
}

func pev(id, guestID string, typ aislepb.EventType, items ...string) *aislepb.Event {
	return &aislepb.Event{EventId: id, GuestId: guestID, SessionId: "s1", Type: typ, ItemIds: items,
		Timestamp: timestamppb.New(time.Now().Add(-time.Second))}
}

func TestRecordEventsAnswersEachBadEvent(t *testing.T) {
	c := memoryEvents(t)
	ctx := testCtx(t)
	mod := func(f func(*aislepb.Event)) *aislepb.Event {
		e := pev("x", "g-bad", aislepb.EventType_EVENT_TYPE_VIEW, "1")
		f(e)
		return e
	}
	cases := []struct {
		ev     *aislepb.Event
		reason string
	}{
		{pev("ok-1", "g-bad", aislepb.EventType_EVENT_TYPE_VIEW, "1"), ""},
		{mod(func(e *aislepb.Event) { e.Type = 99 }), "unknown type 99"},
		{mod(func(e *aislepb.Event) { e.Type = 0 }), "unknown type 0"},
		{mod(func(e *aislepb.Event) { e.GuestId = "" }), "missing guest_id"},
		{mod(func(e *aislepb.Event) { e.EventId = "" }), "missing event_id"},
		{mod(func(e *aislepb.Event) { e.ItemIds = nil }), "view without item_ids"},
		{mod(func(e *aislepb.Event) { e.ItemIds = []string{"404"} }), `unknown item "404"`},
		{mod(func(e *aislepb.Event) { e.ItemIds = []string{"1", "2", "3", "4"} }), "4 item_ids, the limit is 3"},
		{mod(func(e *aislepb.Event) { e.Timestamp = timestamppb.New(time.Now().Add(time.Hour)) }), "in the future"},
		{mod(func(e *aislepb.Event) { e.Timestamp = timestamppb.New(time.Now().Add(-40 * 24 * time.Hour)) }), "older than the retention"},
		{mod(func(e *aislepb.Event) { e.GuestId = strings.Repeat("g", 200) }), "guest_id is 200 bytes, the limit is 128"},
		{mod(func(e *aislepb.Event) { e.GuestId = "a|b" }), "contains '|'"},
		{mod(func(e *aislepb.Event) { e.Type = aislepb.EventType_EVENT_TYPE_SEARCH; e.ItemIds = nil }), "search without query"},
		{mod(func(e *aislepb.Event) { e.Query = strings.Repeat("q", 600) }), "query is longer than 512 bytes"},
		{mod(func(e *aislepb.Event) { e.Slot = -1 }), "negative slot"},
		{mod(func(e *aislepb.Event) { e.Attributes = map[string]string{"k": strings.Repeat("v", 300)} }), `attribute "k" value is longer`},
		{pev("ok-2", "g-bad", aislepb.EventType_EVENT_TYPE_SEARCH), "search without query"},
		{&aislepb.Event{EventId: "ok-3", GuestId: "g-bad", Type: aislepb.EventType_EVENT_TYPE_SEARCH, Query: "milk"}, ""},
	}
	req := &aislepb.RecordEventsRequest{}
	for _, c := range cases {
		req.Events = append(req.Events, c.ev)
	}
	// The 21st event is past the batch limit of 20.
	req.Events = append(req.Events, pev("ok-4", "g-bad", aislepb.EventType_EVENT_TYPE_VIEW, "1"), pev("over-1", "g-bad", aislepb.EventType_EVENT_TYPE_VIEW, "1"), pev("over-2", "g-bad", aislepb.EventType_EVENT_TYPE_VIEW, "1"))
	for _, r := range []string{"", "", "batch has 21 events, the limit is 20"} {
		cases = append(cases, struct {
			ev     *aislepb.Event
			reason string
		}{nil, r})
	}
	resp, err := c.RecordEvents(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Accepted != 4 || int(resp.Rejected) != len(req.Events)-4 || resp.Failed != 0 {
		t.Fatalf("accepted %d rejected %d failed %d", resp.Accepted, resp.Rejected, resp.Failed)
	}
	for i, c := range cases {
		r := resp.Results[i]
		if c.reason == "" && r.Status != aislepb.EventStatus_EVENT_STATUS_ACCEPTED {
			t.Errorf("event %d: %v %q, want accepted", i, r.Status, r.Reason)
		}
		if c.reason != "" && (r.Status != aislepb.EventStatus_EVENT_STATUS_REJECTED || !strings.Contains(r.Reason, c.reason)) {
			t.Errorf("event %d: %v %q, want rejected with %q", i, r.Status, r.Reason, c.reason)
		}
	}
	_, err = c.RecordEvents(ctx, &aislepb.RecordEventsRequest{})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("empty batch: %v, want InvalidArgument", err)
	}
	_, err = c.GetGuestFeatures(ctx, &aislepb.GetGuestFeaturesRequest{})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("features without guest: %v, want InvalidArgument", err)
	}
}

// failingLog refuses every event with err.
type failingLog struct{ err error }

func (f failingLog) Append(_ context.Context, evs []event.Event) []error {
	errs := make([]error, len(evs))
	for i := range errs {
		errs[i] = fmt.Errorf("%w: test", f.err)
	}
	return errs
}

func TestRecordEventsBackPressure(t *testing.T) {
	for _, tt := range []struct {
		err  error
		code codes.Code
	}{{event.ErrOverloaded, codes.ResourceExhausted}, {event.ErrUnavailable, codes.Unavailable}} {
		c := eventsServer(t, failingLog{tt.err}, guest.NewMemory(guesttest.Config(), nil))
		_, err := c.RecordEvents(testCtx(t), &aislepb.RecordEventsRequest{Events: []*aislepb.Event{pev("e1", "g", aislepb.EventType_EVENT_TYPE_VIEW, "1")}})
		if status.Code(err) != tt.code {
			t.Fatalf("%v: got %v, want %v", tt.err, err, tt.code)
		}
		stream, err := c.RecordEventStream(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		_ = stream.Send(&aislepb.RecordEventsRequest{Events: []*aislepb.Event{pev("e1", "g", aislepb.EventType_EVENT_TYPE_VIEW, "1")}})
		if _, err := stream.CloseAndRecv(); status.Code(err) != tt.code || !strings.Contains(err.Error(), "stream index 0") {
			t.Fatalf("stream %v: got %v, want %v naming index 0", tt.err, err, tt.code)
		}
	}
}

func TestEventsRoundTripInMemory(t *testing.T) {
	c := memoryEvents(t)
	ctx := testCtx(t)
	stream, err := c.RecordEventStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		id := fmt.Sprint(i)
		if err := stream.Send(&aislepb.RecordEventsRequest{Events: []*aislepb.Event{
			pev("v"+id, "g-rt", aislepb.EventType_EVENT_TYPE_VIEW, "1"),
			pev("a"+id, "g-rt", aislepb.EventType_EVENT_TYPE_ADD_TO_CART, "2"),
			pev("bad"+id, "g-rt", aislepb.EventType_EVENT_TYPE_VIEW, "404"),
		}}); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if sum.Accepted != 6 || sum.Rejected != 3 || len(sum.NotAccepted) != 3 || sum.NotAccepted[2].Index != 8 {
		t.Fatalf("summary %+v", sum)
	}
	f := waitFeatures(t, c, "g-rt", 6)
	if len(f.Cart) != 1 || f.Cart[0].ItemId != "2" || f.Cart[0].Quantity != 3 || f.Session.Views != 3 || !f.Found {
		t.Fatalf("features %+v", f)
	}
}

func waitFeatures(t *testing.T, c aislepb.EventsClient, guestID string, events int64) *aislepb.GuestFeatures {
	t.Helper()
	ctx := testCtx(t)
	for {
		resp, err := c.GetGuestFeatures(ctx, &aislepb.GetGuestFeaturesRequest{GuestId: guestID})
		if err == nil && resp.Features.Events >= events {
			return resp.Features
		}
		if ctx.Err() != nil {
			t.Fatalf("guest %s never reached %d events: %v", guestID, events, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Two aisle replicas share one Redis Cluster: events recorded on A show in
// the features B serves.
func TestTwoReplicasShareACluster(t *testing.T) {
	cluster := redistest.StartCluster(t)
	replica := func(name string) aislepb.EventsClient {
		s, err := redisstore.New(redisstore.Options{ClusterAddrs: cluster.Addrs(), Consumer: name, Features: guesttest.Config()})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = s.NewWorker(guesttest.TestCatalog(), nil).Run(ctx) })
		t.Cleanup(func() { cancel(); wg.Wait(); _ = s.Close() })
		return eventsServer(t, s, s)
	}
	a, b := replica("a"), replica("b")
	ctx := testCtx(t)
	resp, err := a.RecordEvents(ctx, &aislepb.RecordEventsRequest{Events: []*aislepb.Event{
		pev("e1", "g-shared", aislepb.EventType_EVENT_TYPE_CLICK, "1"),
		pev("e2", "g-shared", aislepb.EventType_EVENT_TYPE_ADD_TO_CART, "2"),
	}})
	if err != nil || resp.Accepted != 2 {
		t.Fatalf("record on A: %v %+v", err, resp)
	}
	f := waitFeatures(t, b, "g-shared", 2)
	if f.Session.Clicks != 1 || len(f.Cart) != 1 || f.Affinities[0].Value == "" {
		t.Fatalf("features on B: %+v", f)
	}
	if _, err := b.GetGuestFeatures(ctx, &aislepb.GetGuestFeaturesRequest{GuestId: "g-nobody"}); err != nil {
		t.Fatal(err)
	}
}

// A batch far past the limit (more than twice MaxBatch) is refused whole,
// before any work, on both the batch and the streaming call: answering its
// events one by one would cost more than the batch.
func TestRecordEventsRefusesHugeBatch(t *testing.T) {
	c := memoryEvents(t) // MaxBatch 20
	ctx := testCtx(t)
	req := &aislepb.RecordEventsRequest{Events: make([]*aislepb.Event, 41)}
	for i := range req.Events {
		req.Events[i] = pev("huge-"+strconv.Itoa(i), "g-huge", aislepb.EventType_EVENT_TYPE_VIEW, "1")
	}
	_, err := c.RecordEvents(ctx, req)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "batch has 41 events") {
		t.Fatalf("RecordEvents(41 events): %v, want InvalidArgument naming the size", err)
	}
	stream, err := c.RecordEventStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(req); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.CloseAndRecv(); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("RecordEventStream(41 events): %v, want InvalidArgument", err)
	}
	// Nothing of the refused batch was stored.
	resp, err := c.GetGuestFeatures(ctx, &aislepb.GetGuestFeaturesRequest{GuestId: "g-huge"})
	if err != nil || resp.GetFeatures().GetFound() {
		t.Fatalf("guest of a refused batch: %v, %v", resp, err)
	}
}
