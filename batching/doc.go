// Package batching is aisle's dynamic micro-batching scheduler, modelled on
// Triton's dynamic batcher: one Scheduler per loaded model version queues
// inference requests and runs them in batches on the version's model
// instances (one Runner each, Triton's instance_group count).
//
// # Scheduling
//
// Each Runner has a worker goroutine. A free worker takes the formation token
// (one worker forms at a time), builds a batch from the queue, hands the
// token on and runs the batch, so other instances form the next batches
// while it computes. A batch starts at the head of the queue (highest
// priority level first, oldest first) and takes, in the same order, every
// request that may share a batch with the head, up to MaxBatchSize rows. It
// is dispatched
//
//   - at once if it reached one of PreferredBatchSizes (cut back to the
//     largest one reached) or cannot grow any more;
//   - at once if the worker was idle with an empty queue when the request
//     arrived: there is no idle penalty, an unloaded server runs every
//     request immediately;
//   - otherwise once MaxQueueDelay has passed since the head arrived. This
//     only happens to requests that arrived while every instance was busy:
//     they wait for more requests to batch with, "behind" the running
//     batches, as in Triton.
//
// With Dynamic nil or MaxBatchSize 0 each request runs alone, in order; with
// MaxBatchSize 0 the tensors go to the Runner unchanged (no batch
// dimension). Close dispatches without waiting for the delay.
//
// # Compatibility and length buckets
//
// Requests share a batch only if every input has the same type and the same
// non-batch dimensions. Ragged inputs (InputSpec.Ragged) may differ in
// dimension 1: the batch is padded to its longest length with PadValue, and
// ragged outputs are trimmed back to each request's own length. To bound
// padding, ragged requests are grouped by length bucket: lengths 1 to 8 are
// each their own bucket, and each longer range (2^k, 2^(k+1)] is split into
// four equal buckets (9–10, 11–12, 13–14, 15–16, 17–20, ..., 113–128, ...).
// A batch holds one bucket, so padding adds less than 25% to any request's
// length; a queue of mixed lengths is served bucket by bucket, in the order
// of each bucket's oldest request.
//
// # Memory and ownership
//
// A request's input tensors are only read. A batch of one request runs on
// them directly; otherwise each input is concatenated into a buffer the
// worker owns and reuses for every batch (grown to the largest batch seen),
// so gathering allocates nothing in steady state. The Runner must not keep
// its inputs after Run returns, and may reuse its output buffers: every
// output is copied before the worker's next Run. The copies of one batch
// share one allocation, sub-sliced per request with capped capacity; the
// caller of Infer owns its outputs.
//
// # Back-pressure, deadlines and priorities
//
// Each priority level's queue holds at most QueuePolicy.MaxQueueSize
// requests; a request arriving at a full level fails at once with
// ErrQueueFull. A request whose context ends while queued is removed
// and Infer returns ctx.Err(); a worker also skips such requests when forming
// a batch. A queue timeout (QueuePolicy) either rejects the request with
// ErrQueueTimeout or, with the Delay action, moves it behind every
// non-timed-out request of its level. Levels are served strictly in order,
// 1 first.
//
// # Admission and latency objectives
//
// The scheduler fits each model version's batch cost as a + b·rows from
// the batches it runs (exponentially weighted least squares), and refuses a
// request at once with ErrOverloaded when the latency it should expect (the
// batches queued ahead of it and its own, shared by the instances, plus the
// running batch) exceeds the time left before its context's deadline, or,
// under a LatencyObjective, the objective's target. A request that finds
// the model idle is always admitted, and under an objective so is one that
// fits in the next batch of each instance, so admission never leaves an
// instance idle or a batch short. The server maps both refusals, like
// ErrQueueFull, to RESOURCE_EXHAUSTED.
//
// With Dynamic.Objective set, the scheduler also chooses the batch size
// limit (at most MaxBatchSize) and the queue delay: the largest batch whose
// worst case, waiting for a running batch and then running, 2·cost(n) plus
// the delay, fits the target times a slack; the delay is the fixed cost a,
// at most a tenth of that. The slack starts at 1 and is adjusted by
// additive increase, multiplicative decrease on the share of requests
// within the target, every 100 completed requests, against the objective's
// percentile. When the slack's budget fits no row but the target does, the
// limit is sized for the target; if even one row cannot meet the target,
// the limit is MaxBatchSize: the objective is out of reach at any load, so
// throughput comes first. With rows queued, a batch may exceed the chosen
// limit up to the backlog's share per instance (never MaxBatchSize): the
// limit bounds the batch a lone arrival waits behind, and splitting a
// backlog into more rounds only adds fixed costs to every queued request's
// wait. Tuning reports the current choices; admission.go has the reasons
// and measurements.
//
// # Failures stay with the request that caused them
//
// A Runner error or panic fails a batch; a request that would fail on its
// own (a token id past the vocabulary, an index out of range) must not fail
// the others batched with it. So a failed batch of several requests is split
// in halves and each half run again, recursively, until every failing
// request runs alone: the others get their outputs, the failing ones the
// error (wrapped with the model, version and step: "gather inputs", "run" or
// "split outputs"). One poisoned request in a batch of n costs at most
// 2·log2(n) extra runs; aisle_batch_splits_total counts the splits. Callers
// should still reject what they can before queueing (the repository checks
// declared value ranges), since every split costs runs.
//
// Only a failure that a request's data may have caused is split. A context
// error (context.Canceled, context.DeadlineExceeded), any failure after
// Close gave up, and a runner error that reports InputFault() false
// (package inference's ErrSessionClosed, ErrUnsupported:
// the same for any input) fail every request of the batch at once with that
// error, wrapped as above: splitting would cost 2n−1 runs that all fail.
// Errors that do not say, and recovered panics, are split.
//
// A panic in any step is recovered, counted (aisle_batch_panics_total) and
// treated as a failure of that batch; a request whose run panics alone gets
// ErrPanic, which names no panic text, and the panic is logged once for it,
// with its stack. Failure log lines are structured (model, version, step,
// requests), their error text is cut to 512 bytes, and each scheduler
// writes at most 5 at once and one a second after that, reporting how many
// it suppressed.
//
// # Shutdown
//
// Close stops admission (ErrClosed), lets the workers drain the queue and
// the running batches, and returns when every goroutine of the scheduler has
// exited, so the caller may then destroy the runners' sessions. If Close's
// context ends first, the requests still queued fail with ErrClosed and the
// runners' context is cancelled.
//
// # Observability
//
// Stats returns Triton ModelStatistics-style counters; NewMetrics provides
// the aisle_* Prometheus series (batch size, queue depth, queue and compute
// durations, rejections by reason, inference and execution counts, batch
// splits and recovered panics, the batch size limit, and requests completed
// within a latency objective), labelled by model and version.
package batching
