package batching

import (
	"slices"
	"time"
)

// Duration is a count of events and their summed duration, as Triton's
// StatisticDuration.
type Duration struct {
	Count uint64
	Total time.Duration
}

func (d *Duration) add(n uint64, total time.Duration) {
	d.Count += n
	d.Total += total
}

// BatchStats accumulates the executions of one batch size, as Triton's
// InferBatchStatistics: each execution counts once.
type BatchStats struct {
	// Size is the batch size in rows.
	Size int
	// ComputeInput is gathering inputs, ComputeInfer the Runner call,
	// ComputeOutput splitting the outputs per request.
	ComputeInput, ComputeInfer, ComputeOutput Duration
}

// Stats are a Scheduler's cumulative statistics, shaped like Triton's
// ModelStatistics so the server can fill the KServe ModelStatistics reply.
type Stats struct {
	// Success counts requests that got outputs, with their time from Infer
	// to completion. A request whose context ended while its batch ran
	// counts here: it was computed.
	Success Duration
	// Fail counts requests that got an error, with their time in Infer.
	Fail Duration
	// Queue counts requests that left the queue for a batch, with their
	// waiting time.
	Queue Duration
	// ComputeInput, ComputeInfer and ComputeOutput count successful requests
	// with the durations of the batch that carried them (Triton attributes a
	// batch's time to each of its requests).
	ComputeInput, ComputeInfer, ComputeOutput Duration
	// InferenceCount is rows inferred successfully; ExecutionCount is
	// successful batch executions. Their ratio is the average batch size.
	InferenceCount, ExecutionCount uint64
	// LastInference is when the last successful batch finished (zero if
	// none).
	LastInference time.Time
	// Batches holds per-batch-size statistics, by ascending Size.
	Batches []BatchStats
}

// statsAcc is the mutable form of Stats.
type statsAcc struct {
	Stats
	bySize map[int]*BatchStats
}

// batchTiming is one executed batch, as recorded in statsAcc.
type batchTiming struct {
	rows                    int
	input, infer, output    time.Duration
	queued, success, failed Duration
	ok                      bool
	attempts                int // runs of the batch or its halves (1: ran once, unsplit)
	end                     time.Time
}

func (a *statsAcc) record(b *batchTiming) {
	a.Queue.add(b.queued.Count, b.queued.Total)
	a.Success.add(b.success.Count, b.success.Total)
	a.Fail.add(b.failed.Count, b.failed.Total)
	if !b.ok {
		return
	}
	n := b.success.Count
	a.ComputeInput.add(n, time.Duration(n)*b.input)
	a.ComputeInfer.add(n, time.Duration(n)*b.infer)
	a.ComputeOutput.add(n, time.Duration(n)*b.output)
	a.InferenceCount += uint64(b.rows)
	a.ExecutionCount++
	a.LastInference = b.end
	if a.bySize == nil {
		a.bySize = make(map[int]*BatchStats)
	}
	bs := a.bySize[b.rows]
	if bs == nil {
		bs = &BatchStats{Size: b.rows}
		a.bySize[b.rows] = bs
	}
	bs.ComputeInput.add(1, b.input)
	bs.ComputeInfer.add(1, b.infer)
	bs.ComputeOutput.add(1, b.output)
}

func (a *statsAcc) snapshot() Stats {
	s := a.Stats
	s.Batches = make([]BatchStats, 0, len(a.bySize))
	for _, bs := range a.bySize {
		s.Batches = append(s.Batches, *bs)
	}
	slices.SortFunc(s.Batches, func(x, y BatchStats) int { return x.Size - y.Size })
	return s
}

// Stats returns a snapshot of the scheduler's statistics.
func (s *Scheduler) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return s.stats.snapshot()
}

func (s *Scheduler) recordFail(since time.Time) {
	d := time.Since(since)
	s.statsMu.Lock()
	s.stats.Fail.add(1, d)
	s.statsMu.Unlock()
}
