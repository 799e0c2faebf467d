package guest

import (
	"context"
	"errors"
)

// Store reads one guest's records in one round trip. Snapshot returns the
// zero Snapshot for an unknown guest; it is safe for concurrent use and
// honours ctx's deadline.
type Store interface {
	Snapshot(ctx context.Context, guestID string) (Snapshot, error)
}

// LongTermWriter replaces guests' long-term features (bulk load). It is
// safe for concurrent use.
type LongTermWriter interface {
	PutLongTerm(ctx context.Context, recs []LongTerm) error
}

// ErrUnavailable means a store did not answer in time or at all; the
// features are empty and the caller should degrade.
var ErrUnavailable = errors.New("guest features unavailable")
