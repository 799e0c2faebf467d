package bandit

// JoinOp is one step of a batched join (redisstore.Join.JoinBatch):
// exactly one of Impression and Feedback is set.
type JoinOp struct {
	Impression *Impression
	Feedback   *Feedback
}

// JoinResult is what a JoinOp did: for a feedback, its Outcome, as
// Learner.Feedback returns it; for an impression, Outcome is unused. Err is
// the op's error, as the one-at-a-time call would return it.
type JoinResult struct {
	Outcome Outcome
	Err     error
}
