package batching

import (
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/aisle-ai/aisle/tensor"
)

// worker is one model instance: its Runner and the buffers it reuses from
// batch to batch. Only its own goroutine touches it.
type worker struct {
	runner  Runner
	batch   []*entry // the batch being formed or run, in queue order
	results []result // per batch entry
	dropped []dropped
	// latencies of the batch's successful requests, for the objective
	latencies []time.Duration
	timer     *time.Timer

	// Gather buffers, one per input, grown to the largest batch seen and
	// reused: a worker runs one batch at a time, so these are a pool of
	// exactly the right size and a warmed-up worker gathers without
	// allocating.
	in     []tensor.Tensor
	bufs   [][]byte
	strs   [][][]byte
	shapes [][]int64
}

// dropped is an entry the forming worker removed without running it.
type dropped struct {
	e      *entry
	err    error
	reason string
}

func newWorker(s *Scheduler, r Runner) *worker {
	n := len(s.cfg.Inputs)
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &worker{
		runner: r,
		timer:  t,
		in:     make([]tensor.Tensor, n),
		bufs:   make([][]byte, n),
		strs:   make([][][]byte, n),
		shapes: make([][]int64, n),
	}
}

// nextBatch fills w.batch with the next batch to run, waiting as the
// batching rules say. It returns false once the scheduler is closed and its
// queue empty. Only the holder of s.token calls it.
func (s *Scheduler) nextBatch(w *worker) bool {
	for {
		s.mu.Lock()
		wait, ready := s.form(w, time.Now())
		done := s.queued == 0 && s.closed
		s.mu.Unlock()
		s.drop(w)
		if ready {
			return true
		}
		if done {
			return false
		}
		var fire <-chan time.Time
		if wait > 0 {
			w.timer.Reset(wait)
			fire = w.timer.C
		}
		select {
		case <-s.wake:
		case <-fire:
		case <-s.closing:
		}
		w.timer.Stop()
	}
}

// form picks the next batch into w.batch and removes it from the queue, or
// returns how long to wait before looking again (0: until the queue
// changes). mu must be held.
//
// The batch starts at the head: the oldest request of the highest level,
// non-timed-out requests before delayed ones. It takes, in the same order,
// the requests that may share a batch with the head (compatible), stopping
// before the first one that would exceed MaxBatchSize. The batch is sent
// when it reached a preferred size (cut back to the largest one reached),
// when it cannot grow, when one of its requests arrived while an instance
// was free (immediate), when another instance is free too (waiting would
// idle both), when MaxQueueDelay is 0 or has passed since the head arrived,
// or when the scheduler is closing. So the delay only holds requests that
// queued while every instance was busy, and only while the others still
// are.
//
// The scan stops after scanLimit entries, so a deep queue of mixed shapes
// costs bounded work per formation rather than a pass over the whole queue
// at every arrival; requests further back batch once they come closer to
// the head (Infer removes cancelled ones itself).
func (s *Scheduler) form(w *worker, now time.Time) (time.Duration, bool) {
	var head *entry
	rows, best, full, immediate := 0, 0, false, false
	budget := s.scanLimit
	limit := s.batchLimit(s.queuedRows)
scan:
	for i := range s.lists {
		for e := s.lists[i].head; e != nil; {
			next := e.next
			if err := e.ctx.Err(); err != nil {
				s.unlink(e)
				w.dropped = append(w.dropped, dropped{e: e, err: err, reason: reasonCancelled})
				e = next
				continue
			}
			if rejected, moved := s.expireLocked(e, now); rejected || moved {
				// A moved entry is met again in the level's delayed list,
				// which comes next in scan order.
				if rejected {
					w.dropped = append(w.dropped, dropped{e: e, err: ErrQueueTimeout, reason: reasonTimeout})
				}
				e = next
				continue
			}
			// Only live entries count: each dropped one is dropped once.
			if budget--; budget < 0 {
				break scan
			}
			if head == nil {
				head = e
			} else if !s.compatible(head, e) {
				e = next
				continue
			}
			// The head always goes in: it may hold more rows than a
			// limit chosen under an objective (never than maxRows).
			if len(w.batch) > 0 && rows+e.rows > limit {
				full = true
				break scan
			}
			w.batch = append(w.batch, e)
			rows += e.rows
			immediate = immediate || e.immediate
			if s.preferred[rows] {
				best = len(w.batch)
			}
			if rows >= limit || !s.batching {
				full = true
				break scan
			}
			e = next
		}
	}
	if head == nil {
		return 0, false
	}
	switch {
	case best > 0:
		clear(w.batch[best:])
		w.batch = w.batch[:best]
	case full, immediate, s.closed, s.delay <= 0, s.running < s.instances-1:
	default:
		if left := head.enqueued.Add(s.delay).Sub(now); left > 0 {
			clear(w.batch)
			w.batch = w.batch[:0]
			return left, false
		}
	}
	for _, e := range w.batch {
		s.unlink(e)
		e.dispatched = now
	}
	s.running++
	return 0, true
}

// drop finishes the entries form removed without running them.
func (s *Scheduler) drop(w *worker) {
	for i, d := range w.dropped {
		s.recordFail(d.e.enqueued)
		err := d.err
		if d.reason == reasonTimeout {
			err = fmt.Errorf("%s: %w", s.name, err)
		} else {
			s.inst.reject(d.reason)
		}
		s.finish(d.e, result{err: err})
		w.dropped[i] = dropped{}
	}
	w.dropped = w.dropped[:0]
}

// compatible reports whether e may share a batch with head: every input has
// the same type and the same non-batch dimensions, except dimension 1 of
// ragged inputs, where both lengths must fall in the same bucket.
func (s *Scheduler) compatible(head, e *entry) bool {
	if head.bucket != e.bucket {
		return false
	}
	for i := range head.inputs {
		a, b := &head.inputs[i], &e.inputs[i]
		if a.DType != b.DType || len(a.Shape) != len(b.Shape) {
			return false
		}
		from := 1
		if s.cfg.Inputs[i].Ragged {
			from = 2
		}
		if !slices.Equal(a.Shape[from:], b.Shape[from:]) {
			return false
		}
	}
	return true
}

// lengthBucket maps a ragged length to its bucket: lengths up to 8 are
// their own bucket, and each longer power-of-two range (2^k, 2^(k+1)] is cut
// into four equal buckets (9–10, 11–12, ..., 17–20, ..., 113–128, ...). A
// batch holds one bucket, so padding never reaches 25% of a request's own
// length while nearby lengths still share batches. It returns the bucket's
// upper bound.
func lengthBucket(n int) int {
	if n <= 8 {
		return n
	}
	step := 1 << (bits.Len(uint(n-1)) - 3)
	return (n + step - 1) / step * step
}
