package batching

import (
	"context"
	"sync"
	"time"

	"github.com/aisle-ai/aisle/tensor"
)

// result is what Infer receives for one request.
type result struct {
	outs []tensor.Tensor
	err  error
}

// entry is one queued request. Its queue links are guarded by Scheduler.mu,
// its ordering fields by Scheduler.orderMu; everything else is written before
// it is queued and read-only afterwards.
type entry struct {
	//nolint:containedctx // a queued work item carries its request's context so the worker can skip cancelled work (style §6).
	ctx      context.Context
	inputs   []tensor.Tensor
	rows     int // batch rows (1 for a model without a batch dimension)
	length   int // dimension 1 of the ragged inputs, 0 when there are none
	bucket   int // lengthBucket(length)
	level    int // priority level index, 0 = highest
	action   TimeoutAction
	enqueued time.Time
	timeout  time.Time // zero: no queue timeout

	// Guarded by Scheduler.mu.
	list       *fifo // the list holding the entry, nil once it left the queue
	prev, next *entry
	delayed    bool // moved behind the level's non-timed-out requests
	immediate  bool // arrived when a free instance could take it: never waits for MaxQueueDelay
	dispatched time.Time

	// Guarded by Scheduler.orderMu (PreserveOrdering only).
	ordNext  *entry
	finished bool
	res      result

	done chan result // capacity 1; receives exactly one result
}

// fifo is an intrusive doubly linked list of entries, so a cancelled request
// leaves the middle of the queue in O(1).
type fifo struct {
	head, tail *entry
}

func (l *fifo) push(e *entry) {
	e.list, e.prev, e.next = l, l.tail, nil
	if l.tail != nil {
		l.tail.next = e
	} else {
		l.head = e
	}
	l.tail = e
}

func (l *fifo) remove(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.list, e.prev, e.next = nil, nil, nil
}

// entryPool recycles entries and their result channels. An entry goes back
// only when Infer has received its result, the one point where no worker,
// queue or ordering list can still reach it.
var entryPool = sync.Pool{New: func() any { return &entry{done: make(chan result, 1)} }}

func getEntry() *entry { return entryPool.Get().(*entry) }

func putEntry(e *entry) {
	done := e.done
	*e = entry{done: done}
	entryPool.Put(e)
}
