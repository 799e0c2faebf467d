package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aisle-ai/aisle/bandit"
)

// Join is the bandit impression–feedback join kept in Redis, the shared
// twin of bandit.Learner: every replica on the same Redis joins the
// events any of them accepted, so a click reaching another replica than
// its impression still credits the arm, and a slot earns at most one
// reward whichever replicas its events reach.
//
// Each impression is one slot (the server's convention: impression id
// "<id>#<slot>"), kept in <prefix>:bandit-imp:<id> for twice the window,
// as the Learner keeps its pending impressions. join.lua registers it
// (SET-if-absent, so a repeated impression adds no pull) and, for
// feedback, checks the window and marks the slot rewarded atomically;
// the pull or reward then goes to the Recorder (the Bandits, over Arms).
// The two steps are separate keys, possibly on separate Cluster nodes:
// if the second fails, the first is undone (best effort), so a failure
// loses a pull or a reward rather than doubling one.
type Join struct {
	s      *Store
	rec    bandit.Recorder
	window time.Duration
}

// Join returns the shared join recording into rec with the given window
// (default bandit.DefaultWindow).
func (s *Store) Join(rec bandit.Recorder, window time.Duration) *Join {
	if window <= 0 {
		window = bandit.DefaultWindow
	}
	return &Join{s: s, rec: rec, window: window}
}

func (j *Join) key(impressionID string) string {
	return j.s.keys.prefix + ":bandit-imp:" + impressionID
}

// Impression registers a one-slot impression and records its pull; a
// repeated id is ignored (nil error), as by bandit.Learner.
func (j *Join) Impression(ctx context.Context, imp bandit.Impression) error {
	if imp.ID == "" || imp.Surface == "" || imp.At.IsZero() || len(imp.Slots) != 1 ||
		imp.Slots[0].Arm == "" || !(imp.Slots[0].Propensity > 0 && imp.Slots[0].Propensity <= 1) {
		return fmt.Errorf("%w: impression %q needs an id, a surface, a time and one slot with an arm and a propensity in (0, 1]", bandit.ErrInvalid, imp.ID)
	}
	slot := imp.Slots[0]
	res, err := j.run(ctx, imp.ID, "impression", imp.Surface, slot.Arm, imp.At.UnixMicro(), (2 * j.window).Milliseconds())
	if err != nil {
		return fmt.Errorf("impression %q: %w", imp.ID, err)
	}
	if n, _ := res.(int64); n == 0 {
		return nil
	}
	if err := j.rec.Add(ctx, imp.Surface, bandit.Increment{Arm: slot.Arm, Pulls: 1, At: imp.At}); err != nil {
		_ = j.s.rdb.Del(context.WithoutCancel(ctx), j.key(imp.ID)).Err()
		return fmt.Errorf("impression %q: %w", imp.ID, err)
	}
	return nil
}

// Feedback credits the impression's arm for the first click or
// add-to-cart within the window; unknown, late and repeated feedback is
// an outcome, not an error. fb.Slot must be 0 (one slot per impression).
func (j *Join) Feedback(ctx context.Context, fb bandit.Feedback) (bandit.Outcome, error) {
	if fb.Type != bandit.Click && fb.Type != bandit.AddToCart {
		return bandit.Ignored, nil
	}
	if fb.Slot != 0 {
		return bandit.Ignored, fmt.Errorf("%w: impression %q has 1 slot, feedback cites slot %d", bandit.ErrInvalid, fb.ImpressionID, fb.Slot)
	}
	res, err := j.run(ctx, fb.ImpressionID, "feedback", fb.At.UnixMicro(), j.window.Microseconds())
	if err != nil {
		return bandit.Unknown, fmt.Errorf("feedback on %q: %w", fb.ImpressionID, err)
	}
	reply, _ := res.([]any)
	out := make([]string, len(reply))
	for i, v := range reply {
		out[i], _ = v.(string)
	}
	switch {
	case len(out) == 1 && out[0] == "unknown":
		return bandit.Unknown, nil
	case len(out) == 1 && out[0] == "late":
		return bandit.Late, nil
	case len(out) == 1 && out[0] == "duplicate":
		return bandit.Duplicate, nil
	case len(out) != 4 || out[0] != "credited":
		return bandit.Unknown, fmt.Errorf("feedback on %q: unexpected join reply %q", fb.ImpressionID, out)
	}
	us, err := strconv.ParseInt(out[3], 10, 64)
	if err != nil {
		return bandit.Unknown, fmt.Errorf("feedback on %q: impression time %q: %w", fb.ImpressionID, out[3], err)
	}
	// The reward is dated with its pull, as by bandit.Learner.
	inc := bandit.Increment{Arm: out[2], Rewards: 1, At: time.UnixMicro(us)}
	if err := j.rec.Add(ctx, out[1], inc); err != nil {
		_, _ = j.run(context.WithoutCancel(ctx), fb.ImpressionID, "undo")
		return bandit.Credited, fmt.Errorf("feedback on %q: %w", fb.ImpressionID, err)
	}
	return bandit.Credited, nil
}

// run calls join.lua on one impression's key.
func (j *Join) run(ctx context.Context, impressionID string, args ...any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	call := &scriptCall{script: joinScript, keys: []string{j.key(impressionID)}, args: args}
	j.s.runScripts(ctx, []*scriptCall{call})
	res, err := call.cmd.Result()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("redis: %v", err)
	}
	return res, nil
}
