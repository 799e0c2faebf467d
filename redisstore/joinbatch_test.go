package redisstore

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/guest"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// roundTrips counts the commands and pipelines a client sends.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

// TestJoinBatchRoundTrips joins 1,000 impressions, clicks on 10 of them, a
// repeated impression, a repeated click and an impression of an unknown arm
// in one JoinBatch: the join client sends one pipeline and the arms client
// one Add for the surface, not one or two round trips per event, and the
// outcomes are those of the one-at-a-time calls. A second replica's join
// of the same clicks then credits none of them again.
func TestJoinBatchRoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	armsStore := newStore(t, srv.Addr(), nil, guest.Config{}, nil)
	b, err := bandit.New(bandit.Config{Surfaces: []bandit.SurfaceConfig{{Name: "home", Arms: []string{"gnn", "popular"}}}}, armsStore.Arms())
	if err != nil {
		t.Fatal(err)
	}
	joinStore := newStore(t, srv.Addr(), nil, guest.Config{}, nil)
	j := joinStore.Join(b, time.Minute)
	now := time.Now()
	imp := func(id, arm string) bandit.JoinOp {
		return bandit.JoinOp{Impression: &bandit.Impression{ID: id, Surface: "home", At: now, Slots: []bandit.Slot{{Arm: arm, Propensity: 0.5}}}}
	}
	click := func(id string) bandit.JoinOp {
		return bandit.JoinOp{Feedback: &bandit.Feedback{ImpressionID: id, Type: bandit.Click, At: now.Add(time.Second)}}
	}
	// Load the scripts first, so the counts below are steady state.
	if r := j.JoinBatch(ctx, []bandit.JoinOp{imp("warm#0", "popular")}); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	var ops []bandit.JoinOp
	for i := range 1000 {
		ops = append(ops, imp(fmt.Sprintf("i%d#0", i), "gnn"))
	}
	for i := range 10 {
		ops = append(ops, click(fmt.Sprintf("i%d#0", i)))
	}
	ops = append(ops, imp("i0#0", "gnn"), click("i0#0"), imp("bad#0", "nosuch"))
	var joinTrips, armsTrips roundTrips
	joinStore.rdb.AddHook(&joinTrips)
	armsStore.rdb.AddHook(&armsTrips)
	res := j.JoinBatch(ctx, ops)
	if n := joinTrips.n.Load(); n != 2 {
		// One pipeline of join steps, and one of undos (for the bad arm).
		t.Errorf("join client: %d round trips for %d events, want 2", n, len(ops))
	}
	// One Add for the surface, refused before Redis for the bad arm, then
	// one Add per arm: one round trip for "gnn", none for "nosuch".
	if n := armsTrips.n.Load(); n != 1 {
		t.Errorf("arms client: %d round trips, want 1", n)
	}
	for i, r := range res[:1000] {
		if r.Err != nil {
			t.Fatalf("impression %d: %v", i, r.Err)
		}
	}
	for i, r := range res[1000:1010] {
		if r.Err != nil || r.Outcome != bandit.Credited {
			t.Errorf("click %d: %v, %v; want credited", i, r.Outcome, r.Err)
		}
	}
	if r := res[1010]; r.Err != nil {
		t.Errorf("repeated impression: %v", r.Err)
	}
	if r := res[1011]; r.Err != nil || r.Outcome != bandit.Duplicate {
		t.Errorf("repeated click: %v, %v; want duplicate", r.Outcome, r.Err)
	}
	if r := res[1012]; r.Err == nil {
		t.Error("impression of an unknown arm: no error")
	}
	checkState(ctx, t, b, map[string][2]float64{"gnn": {1000, 10}, "popular": {1, 0}})

	// Without a bad event: one round trip each.
	joinTrips.n.Store(0)
	armsTrips.n.Store(0)
	var more []bandit.JoinOp
	for i := range 500 {
		more = append(more, imp(fmt.Sprintf("m%d#0", i), "popular"), click(fmt.Sprintf("m%d#0", i)))
	}
	for i, r := range j.JoinBatch(ctx, more) {
		if r.Err != nil {
			t.Fatalf("op %d: %v", i, r.Err)
		}
	}
	if jn, an := joinTrips.n.Load(), armsTrips.n.Load(); jn != 1 || an != 1 {
		t.Errorf("%d join and %d arms round trips for 1,000 events, want 1 and 1", jn, an)
	}

	// Another replica's join of the same clicks credits nothing again.
	other := newStore(t, srv.Addr(), nil, guest.Config{}, nil).Join(b, time.Minute)
	for i, r := range other.JoinBatch(ctx, ops[1000:1010]) {
		if r.Err != nil || r.Outcome != bandit.Duplicate {
			t.Errorf("click %d on another replica: %v, %v; want duplicate", i, r.Outcome, r.Err)
		}
	}
	checkState(ctx, t, b, map[string][2]float64{"gnn": {1000, 10}, "popular": {501, 500}})
}

// lateRecorder applies each Add and then reports that the caller's
// deadline passed, as when arms.lua ran but its reply came too late.
type lateRecorder struct{ rec bandit.Recorder }

func (l lateRecorder) Add(ctx context.Context, surface string, incs ...bandit.Increment) error {
	if err := l.rec.Add(ctx, surface, incs...); err != nil {
		return err
	}
	return fmt.Errorf("add to bandit surface %q: %w", surface, context.DeadlineExceeded)
}

// TestJoinTimeoutKeepsJoinStep: an Add whose outcome is unknown (deadline)
// does not undo the join step, so the client's retry of the same events is
// a repeat and credits nothing twice.
func TestJoinTimeoutKeepsJoinStep(t *testing.T) {
	srv := redistest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	store := newStore(t, srv.Addr(), nil, guest.Config{}, nil)
	b, err := bandit.New(bandit.Config{Surfaces: []bandit.SurfaceConfig{{Name: "home", Arms: []string{"gnn"}}}}, store.Arms())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ops := []bandit.JoinOp{
		{Impression: &bandit.Impression{ID: "t#0", Surface: "home", At: now, Slots: []bandit.Slot{{Arm: "gnn", Propensity: 0.5}}}},
		{Feedback: &bandit.Feedback{ImpressionID: "t#0", Type: bandit.Click, At: now.Add(time.Second)}},
	}
	late := store.Join(lateRecorder{b}, time.Minute)
	for i, r := range late.JoinBatch(ctx, ops) {
		if r.Err == nil {
			t.Fatalf("op %d: no error from a late Add", i)
		}
	}
	// The retry, with a recorder that answers in time.
	for i, r := range store.Join(b, time.Minute).JoinBatch(ctx, ops) {
		if r.Err != nil {
			t.Fatalf("retry op %d: %v", i, r.Err)
		}
	}
	checkState(ctx, t, b, map[string][2]float64{"gnn": {1, 1}})
}
