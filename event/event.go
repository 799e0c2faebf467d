package event

import (
	"context"
	"errors"
	"time"
)

// Type is what the guest did.
type Type int

// Event types, numbered as aisle.v1.EventType.
const (
	TypeUnspecified Type = iota
	TypeView
	TypeClick
	TypeAddToCart
	TypeRemoveFromCart
	TypePurchase
	TypeImpression
	TypeSearch
)

var typeNames = [...]string{"unspecified", "view", "click", "add_to_cart", "remove_from_cart", "purchase", "impression", "search"}

// String returns the snake-case name used in feature keys and logs.
func (t Type) String() string {
	if t < 0 || int(t) >= len(typeNames) {
		return "unknown"
	}
	return typeNames[t]
}

// Known reports whether t is one of the seven event types.
func (t Type) Known() bool { return t > TypeUnspecified && int(t) < len(typeNames) }

// Event is one guest interaction. JSON tags are the Redis log's encoding.
type Event struct {
	ID           string            `json:"id"`
	GuestID      string            `json:"g"`
	SessionID    string            `json:"s,omitempty"`
	Type         Type              `json:"t"`
	ItemIDs      []string          `json:"i,omitempty"`
	Query        string            `json:"q,omitempty"`
	Time         time.Time         `json:"ts"`
	Surface      string            `json:"sf,omitempty"`
	ImpressionID string            `json:"im,omitempty"`
	Slot         int32             `json:"sl,omitempty"`
	Attributes   map[string]string `json:"a,omitempty"`
}

// Log is where accepted events go before aggregation.
//
// Append stores events (already validated) and returns one error per
// event, in order: nil means the event is durably stored (as the Log
// defines durable) and will be folded exactly once; a non-nil error wraps
// ErrOverloaded or ErrUnavailable and the event was not stored. Append is
// safe for concurrent use and honours ctx's deadline. It never blocks on a
// full buffer: it refuses instead.
type Log interface {
	Append(ctx context.Context, events []Event) []error
}

// Sentinel errors of the event path.
var (
	// ErrInvalid marks an event that fails validation.
	ErrInvalid = errors.New("invalid event")
	// ErrOverloaded means the log's backlog is full; retry later.
	ErrOverloaded = errors.New("event log overloaded")
	// ErrUnavailable means the log could not be reached in time; retry later.
	ErrUnavailable = errors.New("event log unavailable")
)
