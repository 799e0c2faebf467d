package guest_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest"
	"github.com/aisle-ai/aisle/guest/guesttest"
)

// memoryBackend is the in-process backend: MemoryLog drained by Memory.Run.
func memoryBackend(t *testing.T, attrs guest.ItemAttributes, cfg guest.Config) guesttest.Backend {
	m := guest.NewMemory(cfg, attrs)
	l := event.NewMemoryLog(0)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { m.Run(ctx, l.Events()) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return guesttest.Backend{Log: l, Store: m, LongTerm: m}
}

func TestMemoryContract(t *testing.T) { guesttest.Run(t, memoryBackend) }

func TestDecayHandComputed(t *testing.T) {
	const hl = int64(30 * 60 * 1000) // 30 min
	t0 := int64(1_700_000_000_000)
	tests := []struct {
		name  string
		folds []int64 // fold times
		at    int64
		want  float64
	}{
		{"one event read at its time", []int64{t0}, t0, 1},
		{"one half-life later", []int64{t0}, t0 + hl, 0.5},
		{"two half-lives later", []int64{t0}, t0 + 2*hl, 0.25},
		{"second event one half-life later", []int64{t0, t0 + hl}, t0 + hl, 1.5},
		{"the same, folded out of order", []int64{t0 + hl, t0}, t0 + hl, 1.5},
		{"then read another half-life later", []int64{t0, t0 + hl}, t0 + 2*hl, 0.75},
		{"three at once", []int64{t0, t0, t0}, t0 + hl/2, 3 / math.Sqrt2},
		{"read before the last event does not grow", []int64{t0}, t0 - hl, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d guest.Decayed
			for _, f := range tt.folds {
				d = d.Add(f, hl)
			}
			if got := d.At(tt.at, hl); math.Abs(got-tt.want) > 1e-12 {
				t.Fatalf("got %.15f, want %.15f", got, tt.want)
			}
		})
	}
}

func TestMergeWeights(t *testing.T) {
	cfg := guest.Config{RealTimeWeight: 0.25, LongTermWeight: 2}.WithDefaults()
	now := time.UnixMilli(1_700_000_000_000)
	f := guest.AffinityField(event.TypeClick, "brand", "acme")
	snap := guest.Snapshot{
		RealTime: guest.State{Events: 1, UpdatedMs: now.UnixMilli(), Affinity: map[string]guest.Decayed{f: {Score: 3, LastMs: now.UnixMilli()}}},
		LongTerm: guest.State{Affinity: map[string]guest.Decayed{
			guest.AffinityField(event.TypePurchase, "brand", "acme"): {Score: 4, LastMs: now.Add(-90 * 24 * time.Hour).UnixMilli()},
		}},
	}
	got := guest.Compute("g", snap, now, cfg).Affinities
	// real time: click weight 2 × 3 = 6; long term: 4 one 90-day half-life ago = 2.
	want := guest.Affinity{Attribute: "brand", Value: "acme", RealTime: 6, LongTerm: 2, Score: 0.25*6 + 2*2}
	if len(got) != 1 || math.Abs(got[0].Score-want.Score) > 1e-12 || math.Abs(got[0].LongTerm-2) > 1e-12 || got[0].RealTime != 6 {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestMemoryExpiresGuests(t *testing.T) {
	cfg := guest.Config{Expiry: time.Hour}.WithDefaults()
	now := time.Now()
	snap := guest.Snapshot{RealTime: guest.State{Events: 3, UpdatedMs: now.Add(-2 * time.Hour).UnixMilli()}}
	if f := guest.Compute("g", snap, now, cfg); f.Found || f.Events != 0 {
		t.Fatalf("expired guest served: %+v", f)
	}
}

type slowStore struct{ err error }

func (s slowStore) Snapshot(ctx context.Context, _ string) (guest.Snapshot, error) {
	if s.err != nil {
		return guest.Snapshot{}, s.err
	}
	<-ctx.Done()
	return guest.Snapshot{}, ctx.Err()
}

func TestReaderDegrades(t *testing.T) {
	reg := prometheus.NewRegistry()
	for _, tt := range []struct {
		store  guest.Store
		reason string
	}{
		{slowStore{}, "timeout"},
		{slowStore{err: errors.New("connection refused")}, "unavailable"},
	} {
		r := guest.NewReader(tt.store, guest.Config{}, time.Millisecond, reg)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		f, err := r.Features(ctx, "g1")
		cancel()
		if !errors.Is(err, guest.ErrUnavailable) || f.Degraded != tt.reason || f.Found {
			t.Fatalf("%s: got %+v, %v", tt.reason, f, err)
		}
	}
	want := `
# HELP aisle_guest_features_degraded_total Guest feature reads answered with no features because the store was slow (timeout) or failed (unavailable).
# TYPE aisle_guest_features_degraded_total counter
aisle_guest_features_degraded_total{reason="timeout"} 1
aisle_guest_features_degraded_total{reason="unavailable"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "aisle_guest_features_degraded_total"); err != nil {
		t.Fatal(err)
	}
}

func TestReadLongTermRejectsBadLines(t *testing.T) {
	for _, in := range []string{`{"affinities":[]}`, `{"guest_id":"u","affinities":[{"attribute":"","value":"x","score":1}]}`, `not json`} {
		err := guest.ReadLongTerm(strings.NewReader(in), func(guest.LongTerm) error { return nil })
		if !errors.Is(err, guest.ErrBadLongTerm) {
			t.Errorf("%s: err = %v, want ErrBadLongTerm", in, err)
		}
	}
}
