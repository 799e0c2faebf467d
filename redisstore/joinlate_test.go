package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/guest"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// TestJoinLateImpressionNoPull: an impression older than twice the window
// (a client's retry after its key expired) registers no second pull and is
// reported Late; a fresh one still registers.
func TestJoinLateImpressionNoPull(t *testing.T) {
	srv := redistest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s := newStore(t, srv.Addr(), nil, guest.Config{}, nil)
	b, err := bandit.New(bandit.Config{Surfaces: []bandit.SurfaceConfig{{Name: "home", Arms: []string{"gnn"}}}}, s.Arms())
	if err != nil {
		t.Fatal(err)
	}
	j := s.Join(b, time.Minute)
	at := time.Now()
	op := bandit.JoinOp{Impression: &bandit.Impression{ID: "i#0", Surface: "home", At: at, Slots: []bandit.Slot{{Arm: "gnn", Propensity: 0.5}}}}
	if r := j.JoinBatch(ctx, []bandit.JoinOp{op}); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	// Three minutes later its key (kept two) has expired; the client retries.
	if err := s.rdb.Del(ctx, j.key("i#0")).Err(); err != nil {
		t.Fatal(err)
	}
	j.now = func() time.Time { return at.Add(3 * time.Minute) }
	if r := j.JoinBatch(ctx, []bandit.JoinOp{op}); r[0].Err != nil || r[0].Outcome != bandit.Late {
		t.Fatalf("retried expired impression: %+v, want Late and no error", r[0])
	}
	st, err := b.State(ctx, "home")
	if err != nil {
		t.Fatal(err)
	}
	if p := st.Arms[0].Pulls; p < 0.99 || p > 1.01 {
		t.Errorf("pulls after an impression and its expired retry = %v, want 1", p)
	}
}
