package bandit_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/bandit"
)

// switchRecorder fails every Add while down is set.
type switchRecorder struct {
	down atomic.Bool
}

func (r *switchRecorder) Add(context.Context, string, ...bandit.Increment) error {
	if r.down.Load() {
		return errors.New("store down")
	}
	return nil
}

// TestLearnerBoundedWhileStoreFails records a few impressions, then 20,000
// while the store fails every pull, all within the window: the Learner's
// memory (its arrival order included) stays bounded, every failure is
// returned and counted as Dropped, and the impressions recorded before
// still join their feedback.
func TestLearnerBoundedWhileStoreFails(t *testing.T) {
	const maxPending = 10
	rec := &switchRecorder{}
	l := bandit.NewLearner(rec, bandit.LearnerConfig{MaxPending: maxPending})
	ctx := testContext(t)
	for i := range 5 {
		if err := l.Impression(ctx, imp(fmt.Sprint("ok", i), t0, "a")); err != nil {
			t.Fatal(err)
		}
	}
	rec.down.Store(true)
	const failing = 20_000
	for i := range failing {
		if err := l.Impression(ctx, imp(fmt.Sprint("f", i), t0.Add(time.Duration(i)*time.Millisecond), "a")); err == nil {
			t.Fatalf("impression %d: nil error with the store down", i)
		}
	}
	// 2·MaxPending plus the fewest holes compacted (1,024), plus one.
	if n := bandit.OrderLen(l); n > 2*maxPending+1024+1 {
		t.Errorf("arrival order holds %d ids after %d failed impressions; want it bounded", n, failing)
	}
	st := l.Stats()
	if st.Dropped != failing || st.Impressions != 5 {
		t.Errorf("stats %+v: want %d dropped, 5 impressions", st, failing)
	}
	rec.down.Store(false)
	for i := range 5 {
		o, err := l.Feedback(ctx, bandit.Feedback{ImpressionID: fmt.Sprint("ok", i), Type: bandit.Click, At: t0.Add(time.Second)})
		if err != nil || o != bandit.Credited {
			t.Errorf("feedback on ok%d = %v, %v; want credited", i, o, err)
		}
	}
	if o, _ := l.Feedback(ctx, bandit.Feedback{ImpressionID: "f0", Type: bandit.Click, At: t0.Add(time.Second)}); o != bandit.Unknown {
		t.Errorf("feedback on a dropped impression = %v, want unknown", o)
	}
}
