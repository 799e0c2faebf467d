package event

import (
	"context"
	"fmt"
)

// MemoryLog is the in-process Log used when no Redis is configured: a
// bounded buffer that one aggregation loop drains. It is not durable (a
// restart loses what was not folded yet) and serves one process only.
type MemoryLog struct {
	ch chan Event
}

// DefaultMemoryCapacity is MemoryLog's buffer when none is given: about a
// tenth of a second of the 30k events/s target, so a stalled fold is
// refused quickly instead of growing memory.
const DefaultMemoryCapacity = 4096

// NewMemoryLog returns a log buffering at most capacity events (<= 0 takes
// DefaultMemoryCapacity).
func NewMemoryLog(capacity int) *MemoryLog {
	if capacity <= 0 {
		capacity = DefaultMemoryCapacity
	}
	return &MemoryLog{ch: make(chan Event, capacity)}
}

// Append implements Log: each event is buffered or refused with
// ErrOverloaded, never waited for.
func (m *MemoryLog) Append(ctx context.Context, events []Event) []error {
	errs := make([]error, len(events))
	for i, e := range events {
		if err := ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("%w: %w", ErrUnavailable, err)
			continue
		}
		select {
		case m.ch <- e:
		default:
			errs[i] = fmt.Errorf("%w: %d events buffered", ErrOverloaded, cap(m.ch))
		}
	}
	return errs
}

// Events is the stream the aggregation loop drains; it is never closed.
func (m *MemoryLog) Events() <-chan Event { return m.ch }

// Backlog is the number of events buffered now.
func (m *MemoryLog) Backlog() int { return len(m.ch) }
