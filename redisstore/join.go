package redisstore

import (
	"context"
	"errors"
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
// loses a pull or a reward rather than doubling one; if the second's
// outcome is unknown (the caller's deadline passed: it may have run), the
// first is kept, so the client's retry is a repeat and credits nothing
// twice (TestJoinTimeoutKeepsJoinStep).
//
// JoinBatch does this for a whole batch of events in order with one
// pipelined round trip for the join steps and one Recorder.Add per surface
// (one arms.lua call each), plus one round trip of undos if an Add fails:
// a 1,000-impression RecordEvents to a remote Redis costs 2 round trips,
// not 2,000. The rewarded mark is still set by one join.lua call per slot,
// atomically, so a slot is credited at most once across replicas.
type Join struct {
	s      *Store
	rec    bandit.Recorder
	window time.Duration
	now    func() time.Time // time.Now; tests move it
}

// Join returns the shared join recording into rec with the given window
// (default bandit.DefaultWindow).
func (s *Store) Join(rec bandit.Recorder, window time.Duration) *Join {
	if window <= 0 {
		window = bandit.DefaultWindow
	}
	return &Join{s: s, rec: rec, window: window, now: time.Now}
}

func (j *Join) key(impressionID string) string {
	return j.s.keys.prefix + ":bandit-imp:" + impressionID
}

// Impression registers a one-slot impression and records its pull; a
// repeated id is ignored (nil error), as by bandit.Learner.
func (j *Join) Impression(ctx context.Context, imp bandit.Impression) error {
	return j.JoinBatch(ctx, []bandit.JoinOp{{Impression: &imp}})[0].Err
}

// Feedback credits the impression's arm for the first click or
// add-to-cart within the window; unknown, late and repeated feedback is
// an outcome, not an error. fb.Slot must be 0 (one slot per impression).
func (j *Join) Feedback(ctx context.Context, fb bandit.Feedback) (bandit.Outcome, error) {
	r := j.JoinBatch(ctx, []bandit.JoinOp{{Feedback: &fb}})[0]
	return r.Outcome, r.Err
}

// credit is a pull or reward a join step earned, waiting for its Add.
type credit struct {
	op       int // index in the batch
	surface  string
	inc      bandit.Increment
	undo     *scriptCall // join.lua call that takes the join step back
	describe string      // `impression "x"` or `feedback on "x"`, for errors
}

// JoinBatch joins ops in order, with the outcomes and errors that
// Impression and Feedback one at a time would give: the join steps go in
// one pipeline (Redis runs a node's pipelined scripts in order, and both
// events of a slot are one key, so an impression and its click in one
// batch join), then the pulls and rewards earned go to the Recorder, one
// Add per surface. If a surface's Add fails, its join steps are undone in
// one more round trip; if it fails as invalid (an arm the surface does not
// have), its credits are added arm by arm so that only the bad arm's fail.
func (j *Join) JoinBatch(ctx context.Context, ops []bandit.JoinOp) []bandit.JoinResult {
	res := make([]bandit.JoinResult, len(ops))
	calls := make([]*scriptCall, 0, len(ops))
	idx := make([]int, 0, len(ops))
	now := j.now()
	for i, op := range ops {
		if imp := op.Impression; imp != nil && !imp.At.IsZero() && now.Sub(imp.At) > 2*j.window {
			// Older than its key would be kept: a retry of an impression
			// whose key expired would register its pull a second time, and
			// a first one could never earn its reward (feedback past the
			// window is late). No pull, as bandit.Learner.
			res[i] = bandit.JoinResult{Outcome: bandit.Late}
			continue
		}
		args, err := j.joinArgs(op)
		if err != nil || args == nil {
			res[i] = bandit.JoinResult{Outcome: bandit.Ignored, Err: err}
			continue
		}
		calls = append(calls, &scriptCall{script: joinScript, keys: []string{j.key(opID(op))}, args: args})
		idx = append(idx, i)
	}
	if len(calls) == 0 {
		return res
	}
	if err := ctx.Err(); err != nil {
		for _, i := range idx {
			res[i] = bandit.JoinResult{Outcome: bandit.Unknown, Err: err}
		}
		return res
	}
	j.s.runScripts(ctx, calls)
	var credits []credit
	for k, c := range calls {
		i := idx[k]
		cr, out, err := j.joined(ctx, ops[i], c)
		res[i] = bandit.JoinResult{Outcome: out, Err: err}
		if cr != nil {
			cr.op = i
			credits = append(credits, *cr)
		}
	}
	j.record(ctx, credits, res)
	return res
}

// joinArgs validates op and returns its join.lua arguments; nil arguments
// and a nil error mean nothing to join (a feedback type that earns no
// reward).
func (j *Join) joinArgs(op bandit.JoinOp) ([]any, error) {
	switch {
	case op.Impression != nil:
		imp := op.Impression
		if imp.ID == "" || imp.Surface == "" || imp.At.IsZero() || len(imp.Slots) != 1 ||
			imp.Slots[0].Arm == "" || !(imp.Slots[0].Propensity > 0 && imp.Slots[0].Propensity <= 1) {
			return nil, fmt.Errorf("%w: impression %q needs an id, a surface, a time and one slot with an arm and a propensity in (0, 1]", bandit.ErrInvalid, imp.ID)
		}
		return []any{"impression", imp.Surface, imp.Slots[0].Arm, imp.At.UnixMicro(), (2 * j.window).Milliseconds()}, nil
	case op.Feedback != nil:
		fb := op.Feedback
		if fb.Type != bandit.Click && fb.Type != bandit.AddToCart {
			return nil, nil
		}
		if fb.Slot != 0 {
			return nil, fmt.Errorf("%w: impression %q has 1 slot, feedback cites slot %d", bandit.ErrInvalid, fb.ImpressionID, fb.Slot)
		}
		return []any{"feedback", fb.At.UnixMicro(), j.window.Microseconds()}, nil
	}
	return nil, fmt.Errorf("%w: join op with neither an impression nor a feedback", bandit.ErrInvalid)
}

func opID(op bandit.JoinOp) string {
	if op.Impression != nil {
		return op.Impression.ID
	}
	return op.Feedback.ImpressionID
}

// joined reads one join step's reply: the outcome, its error, and the
// credit it earned, if any.
func (j *Join) joined(ctx context.Context, op bandit.JoinOp, c *scriptCall) (*credit, bandit.Outcome, error) {
	res, err := c.cmd.Result()
	if op.Impression != nil {
		imp := op.Impression
		if err != nil {
			return nil, bandit.Unknown, fmt.Errorf("impression %q: %w", imp.ID, redisErr(ctx, err))
		}
		if n, _ := res.(int64); n == 0 {
			return nil, bandit.Unknown, nil // a repeat: no pull
		}
		return &credit{surface: imp.Surface, inc: bandit.Increment{Arm: imp.Slots[0].Arm, Pulls: 1, At: imp.At},
			undo:     &scriptCall{script: joinScript, keys: c.keys, args: []any{"forget"}},
			describe: fmt.Sprintf("impression %q", imp.ID)}, bandit.Unknown, nil
	}
	id := op.Feedback.ImpressionID
	if err != nil {
		return nil, bandit.Unknown, fmt.Errorf("feedback on %q: %w", id, redisErr(ctx, err))
	}
	reply, _ := res.([]any)
	out := make([]string, len(reply))
	for i, v := range reply {
		out[i], _ = v.(string)
	}
	switch {
	case len(out) == 1 && out[0] == "unknown":
		return nil, bandit.Unknown, nil
	case len(out) == 1 && out[0] == "late":
		return nil, bandit.Late, nil
	case len(out) == 1 && out[0] == "duplicate":
		return nil, bandit.Duplicate, nil
	case len(out) != 4 || out[0] != "credited":
		return nil, bandit.Unknown, fmt.Errorf("feedback on %q: unexpected join reply %q", id, out)
	}
	undo := &scriptCall{script: joinScript, keys: c.keys, args: []any{"undo"}}
	us, err := strconv.ParseInt(out[3], 10, 64)
	if err != nil {
		j.s.runScripts(context.WithoutCancel(ctx), []*scriptCall{undo})
		return nil, bandit.Unknown, fmt.Errorf("feedback on %q: impression time %q: %w", id, out[3], err)
	}
	// The reward is dated with its pull, as by bandit.Learner.
	return &credit{surface: out[1], inc: bandit.Increment{Arm: out[2], Rewards: 1, At: time.UnixMicro(us)},
		undo: undo, describe: fmt.Sprintf("feedback on %q", id)}, bandit.Credited, nil
}

// record adds the credits, one Add per surface in the order surfaces first
// appear, and undoes the join steps of those whose Add failed, setting
// their errors in res.
func (j *Join) record(ctx context.Context, credits []credit, res []bandit.JoinResult) {
	var surfaces []string
	bySurface := map[string][]credit{}
	for _, c := range credits {
		if _, ok := bySurface[c.surface]; !ok {
			surfaces = append(surfaces, c.surface)
		}
		bySurface[c.surface] = append(bySurface[c.surface], c)
	}
	var undo []*scriptCall
	fail := func(c credit, err error) {
		res[c.op].Err = fmt.Errorf("%s: %w", c.describe, err)
		undo = append(undo, c.undo)
	}
	for _, s := range surfaces {
		group := bySurface[s]
		incs := make([]bandit.Increment, len(group))
		for i, c := range group {
			incs[i] = c.inc
		}
		err := j.rec.Add(ctx, s, incs...)
		switch {
		case err == nil:
		case errors.Is(err, bandit.ErrInvalid) && len(group) > 1:
			// An arm the surface lacks: add arm by arm, so that only
			// the credits of the bad arm fail (a few Adds, not one per
			// event).
			for _, arm := range byArm(group) {
				incs := make([]bandit.Increment, len(arm))
				for i, c := range arm {
					incs[i] = c.inc
				}
				if err := j.rec.Add(ctx, s, incs...); err != nil {
					for _, c := range arm {
						fail(c, err)
					}
				}
			}
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
			// The outcome is unknown: arms.lua may have run and only its
			// reply been lost. Undoing the join step would let the
			// client's retry credit it twice; keeping it loses the credit
			// at worst (the doc's promise: lose a credit, never double it).
			for _, c := range group {
				res[c.op].Err = fmt.Errorf("%s: %w", c.describe, err)
			}
		default:
			for _, c := range group {
				fail(c, err)
			}
		}
	}
	if len(undo) > 0 {
		j.s.runScripts(context.WithoutCancel(ctx), undo)
	}
}

// byArm splits credits by arm, in the order arms first appear.
func byArm(credits []credit) [][]credit {
	var out [][]credit
	at := map[string]int{}
	for _, c := range credits {
		i, ok := at[c.inc.Arm]
		if !ok {
			i = len(out)
			at[c.inc.Arm] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], c)
	}
	return out
}

// redisErr is a failed join call's error: the context's, if it ended.
func redisErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("redis: %v", err)
}
