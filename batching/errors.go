package batching

import "errors"

// Errors returned by Infer. Context errors (context.Canceled,
// context.DeadlineExceeded) are returned unchanged, and runner errors are
// wrapped with the model name and the failing step.
var (
	// ErrQueueFull reports that the request's priority level already holds
	// QueuePolicy.MaxQueueSize requests. It is returned at once, without
	// queueing. The server maps it, like ErrOverloaded, to
	// RESOURCE_EXHAUSTED (Triton answers UNAVAILABLE, which clients retry at
	// once and so add to the overload).
	ErrQueueFull = errors.New("exceeds maximum queue size")
	// ErrOverloaded reports a request refused at admission because the
	// latency it should expect behind the queue exceeds its context's
	// deadline or the model's LatencyObjective target. It is returned at
	// once, without queueing.
	ErrOverloaded = errors.New("overloaded: expected latency exceeds the request's budget")
	// ErrClosed reports that the scheduler no longer admits requests, or that
	// Close gave up on a request still queued when its context ended.
	ErrClosed = errors.New("model version is unloading")
	// ErrQueueTimeout reports a request whose queue timeout expired before it
	// was scheduled, under the Reject timeout action.
	ErrQueueTimeout = errors.New("request timed out in the queue")
	// ErrInvalidInput reports a request that does not fit the Config (input
	// count, data size, batch rows, ragged lengths). The server validates
	// requests first, so this signals a caller bug or a racing config change.
	ErrInvalidInput = errors.New("invalid inference request")
	// ErrPanic reports a request whose batch step panicked even when run
	// alone. The panic value and stack are logged, never returned: the
	// error names only the model, the version and the step.
	ErrPanic = errors.New("internal error (recovered panic, logged by the server)")
)
