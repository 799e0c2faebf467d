package bandit

import "context"

// JoinOp is one step of a batched join (redisstore.Join.JoinBatch):
// exactly one of Impression and Feedback is set.
type JoinOp struct {
	Impression *Impression
	Feedback   *Feedback
}

// JoinResult is what a JoinOp did: for a feedback, its Outcome, as
// Learner.Feedback returns it; for an impression, Late when it was too old
// to join (no pull was recorded), else Unknown. Err is the op's error, as
// the one-at-a-time call would return it.
type JoinResult struct {
	Outcome Outcome
	Err     error
}

// JoinBatch joins ops one at a time, in order, as Impression and Feedback
// do, with each impression's outcome too (Impression returns nil for a
// late one): the server counts a late impression "late" in
// aisle_bandit_events_total with this join as with redisstore.Join's.
func (l *Learner) JoinBatch(ctx context.Context, ops []JoinOp) []JoinResult {
	res := make([]JoinResult, len(ops))
	for i, op := range ops {
		switch {
		case op.Impression != nil:
			res[i].Outcome, res[i].Err = l.impression(ctx, *op.Impression)
		case op.Feedback != nil:
			res[i].Outcome, res[i].Err = l.Feedback(ctx, *op.Feedback)
		}
	}
	return res
}
