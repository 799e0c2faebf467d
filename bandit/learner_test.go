package bandit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/bandit"
)

func imp(id string, at time.Time, arms ...string) bandit.Impression {
	im := bandit.Impression{ID: id, Surface: "home", Guest: "g", At: at}
	for _, a := range arms {
		im.Slots = append(im.Slots, bandit.Slot{Arm: a, Propensity: 0.5})
	}
	return im
}

func TestLearnerJoin(t *testing.T) {
	b, _ := newBandits(t, bandit.Thompson, nil)
	var mu sync.Mutex
	closed := map[string][]bool{}
	l := bandit.NewLearner(b, bandit.LearnerConfig{Window: 10 * time.Minute, OnClose: func(im bandit.Impression, r []bool) {
		mu.Lock()
		closed[im.ID] = r
		mu.Unlock()
	}})
	ctx := testContext(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(l.Impression(ctx, imp("i1", t0, "a", "a", "b")))
	must(l.Impression(ctx, imp("i1", t0, "a", "a", "b"))) // a retried request
	must(l.Impression(ctx, imp("i2", t0.Add(time.Minute), "c")))

	feedback := []struct {
		fb   bandit.Feedback
		want bandit.Outcome
	}{
		{bandit.Feedback{ImpressionID: "i1", Slot: 1, Type: bandit.Click, At: t0.Add(time.Minute)}, bandit.Credited},
		{bandit.Feedback{ImpressionID: "i1", Slot: 1, Type: bandit.AddToCart, At: t0.Add(2 * time.Minute)}, bandit.Duplicate},
		{bandit.Feedback{ImpressionID: "i1", Slot: 2, Type: bandit.AddToCart, At: t0.Add(2 * time.Minute)}, bandit.Credited},
		{bandit.Feedback{ImpressionID: "i2", Slot: 0, Type: bandit.Click, At: t0.Add(12 * time.Minute)}, bandit.Late},
		{bandit.Feedback{ImpressionID: "nope", Slot: 0, Type: bandit.Click, At: t0}, bandit.Unknown},
		{bandit.Feedback{ImpressionID: "i1", Slot: 0, Type: "view", At: t0}, bandit.Ignored},
	}
	for _, tt := range feedback {
		got, err := l.Feedback(ctx, tt.fb)
		if err != nil || got != tt.want {
			t.Errorf("Feedback(%+v) = %v, %v; want %v", tt.fb, got, err, tt.want)
		}
	}
	if _, err := l.Feedback(ctx, bandit.Feedback{ImpressionID: "i1", Slot: 3, Type: bandit.Click, At: t0}); !errors.Is(err, bandit.ErrInvalid) {
		t.Errorf("feedback on slot 3 of 3 = %v, want ErrInvalid", err)
	}

	st, err := b.State(ctx, "home")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]float64{}
	for _, a := range st.Arms {
		got[a.Arm] = [2]float64{a.Pulls, a.Rewards}
	}
	want := map[string][2]float64{"a": {2, 1}, "b": {1, 1}, "c": {1, 0}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("arm (pulls, rewards) = %v, want %v", got, want)
	}
	wantStats := bandit.LearnerStats{Impressions: 2, DuplicateImpressions: 1, Credited: 2, Duplicate: 1, Late: 1, Unknown: 1, Ignored: 1}
	if s := l.Stats(); s != wantStats {
		t.Errorf("stats = %+v, want %+v", s, wantStats)
	}

	// An impression 2 windows later expires i1 and i2 and hands them to
	// OnClose with their rewards.
	must(l.Impression(ctx, imp("i3", t0.Add(25*time.Minute), "a")))
	if fmt.Sprint(closed) != "map[i1:[false true true] i2:[false]]" {
		t.Errorf("closed = %v", closed)
	}
	if o, _ := l.Feedback(ctx, bandit.Feedback{ImpressionID: "i1", Slot: 0, Type: bandit.Click, At: t0.Add(25 * time.Minute)}); o != bandit.Unknown {
		t.Errorf("feedback on an expired impression = %v, want Unknown", o)
	}
	l.Flush()
	if _, ok := closed["i3"]; !ok {
		t.Error("Flush did not close i3")
	}
}

func TestLearnerBadImpressions(t *testing.T) {
	b, _ := newBandits(t, bandit.Thompson, nil)
	l := bandit.NewLearner(b, bandit.LearnerConfig{})
	ctx := testContext(t)
	bad := []bandit.Impression{
		imp("", t0, "a"),
		imp("i", time.Time{}, "a"),
		imp("i", t0),
		{ID: "i", Surface: "home", At: t0, Slots: []bandit.Slot{{Arm: "a", Propensity: 0}}},
		{ID: "i", Surface: "home", At: t0, Slots: []bandit.Slot{{Arm: "a", Propensity: 1.5}}},
	}
	for _, im := range bad {
		if err := l.Impression(ctx, im); !errors.Is(err, bandit.ErrInvalid) {
			t.Errorf("Impression(%+v) = %v, want ErrInvalid", im, err)
		}
	}
	// An arm the surface does not have is refused by the store side, and
	// the impression is not kept.
	if err := l.Impression(ctx, imp("i9", t0, "zzz")); !errors.Is(err, bandit.ErrInvalid) {
		t.Errorf("impression with an unknown arm = %v", err)
	}
	if o, _ := l.Feedback(ctx, bandit.Feedback{ImpressionID: "i9", Type: bandit.Click, At: t0}); o != bandit.Unknown {
		t.Errorf("feedback on a refused impression = %v, want Unknown", o)
	}
}

func TestLearnerEvicts(t *testing.T) {
	b, _ := newBandits(t, bandit.Thompson, nil)
	l := bandit.NewLearner(b, bandit.LearnerConfig{MaxPending: 2})
	ctx := testContext(t)
	for i := range 4 {
		if err := l.Impression(ctx, imp(fmt.Sprint("i", i), t0, "a")); err != nil {
			t.Fatal(err)
		}
	}
	if s := l.Stats(); s.Evicted != 2 {
		t.Errorf("evicted %d, want 2", s.Evicted)
	}
	if o, _ := l.Feedback(ctx, bandit.Feedback{ImpressionID: "i0", Type: bandit.Click, At: t0}); o != bandit.Unknown {
		t.Errorf("feedback on an evicted impression = %v", o)
	}
	if o, _ := l.Feedback(ctx, bandit.Feedback{ImpressionID: "i3", Type: bandit.Click, At: t0}); o != bandit.Credited {
		t.Errorf("feedback on a kept impression = %v", o)
	}
}

// TestLearnerConcurrent runs impressions and feedback from many goroutines
// (for the race detector) and checks that no credit is lost.
func TestLearnerConcurrent(t *testing.T) {
	b, _ := newBandits(t, bandit.Thompson, nil)
	l := bandit.NewLearner(b, bandit.LearnerConfig{})
	ctx := testContext(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 100 {
				id := fmt.Sprint(w, "-", i)
				if err := l.Impression(ctx, imp(id, t0, "a", "b")); err != nil {
					t.Error(err)
					return
				}
				if _, err := l.Feedback(ctx, bandit.Feedback{ImpressionID: id, Slot: i % 2, Type: bandit.Click, At: t0}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st, err := b.State(context.WithoutCancel(ctx), "home")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range st.Arms[:2] {
		if a.Pulls != 400 || a.Rewards != 200 {
			t.Errorf("arm %s: %v pulls, %v rewards; want 400, 200", a.Arm, a.Pulls, a.Rewards)
		}
	}
}

// TestLearnerLateImpression: an impression older than twice the window
// before the newest event (a retry of one that already expired) gets no
// pull: the Learner would expire it at once, and its pull was counted.
func TestLearnerLateImpression(t *testing.T) {
	b, _ := newBandits(t, bandit.Thompson, nil)
	l := bandit.NewLearner(b, bandit.LearnerConfig{Window: 10 * time.Minute})
	ctx := testContext(t)
	for _, im := range []bandit.Impression{imp("i1", t0, "a"), imp("i2", t0.Add(30*time.Minute), "b"), imp("i1", t0, "a")} {
		if err := l.Impression(ctx, im); err != nil {
			t.Fatal(err)
		}
	}
	st, err := b.State(ctx, "home")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range st.Arms {
		if a.Arm == "a" && (a.Pulls < 0.99 || a.Pulls > 1.01) {
			t.Errorf("arm a: %v pulls after an impression and its retry past the horizon, want 1", a.Pulls)
		}
	}
	if s := l.Stats(); s.LateImpressions != 1 || s.Impressions != 2 {
		t.Errorf("stats %+v, want 1 late impression of 3", s)
	}
}

// TestLearnerJoinBatch: JoinBatch gives the one-at-a-time calls' outcomes,
// in order, and says which impression was late (Impression returns nil for
// it), as redisstore.Join's JoinBatch does: an impression, a newer one that
// moves the clock past twice the window, a retry of the first (late), a
// click on the second (credited) and on the late one (unknown).
func TestLearnerJoinBatch(t *testing.T) {
	b, _ := newBandits(t, bandit.Thompson, nil)
	l := bandit.NewLearner(b, bandit.LearnerConfig{Window: 10 * time.Minute})
	i1, i2 := imp("i1", t0, "a"), imp("i2", t0.Add(30*time.Minute), "b")
	click := func(id string, at time.Time) bandit.JoinOp {
		return bandit.JoinOp{Feedback: &bandit.Feedback{ImpressionID: id, Slot: 0, Type: bandit.Click, At: at}}
	}
	ops := []bandit.JoinOp{{Impression: &i1}, {Impression: &i2}, {Impression: &i1},
		click("i2", t0.Add(31*time.Minute)), click("i1", t0.Add(time.Minute))}
	want := []bandit.Outcome{bandit.Unknown, bandit.Unknown, bandit.Late, bandit.Credited, bandit.Unknown}
	res := l.JoinBatch(testContext(t), ops)
	for i, r := range res {
		if r.Err != nil || r.Outcome != want[i] {
			t.Errorf("op %d: outcome %v, err %v; want %v", i, r.Outcome, r.Err, want[i])
		}
	}
	if s := l.Stats(); s.Impressions != 2 || s.LateImpressions != 1 || s.Credited != 1 || s.Unknown != 1 {
		t.Errorf("stats %+v, want 2 impressions, 1 late, 1 credited, 1 unknown", s)
	}
}
