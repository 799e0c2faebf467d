package server

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// Readiness chooses what "ready" means for ServerReady, the gRPC health
// service and /readyz, as Triton's --strict-readiness does.
type Readiness int

const (
	// ReadyAllModels, the default (Triton's --strict-readiness=true),
	// reports ready while every model in the repository serves a version.
	// One refused model takes the replica out of its load balancer until
	// the model is fixed or removed.
	ReadyAllModels Readiness = iota
	// ReadyServing (--strict-readiness=false) reports ready while the
	// server takes calls, whatever its models' state: with hundreds of
	// models, one bad one should fail its own requests (UNAVAILABLE), not
	// take the replica and every good model with it out of service.
	ReadyServing
)

// ParseStrictReadiness maps the --strict-readiness flag to a Readiness.
func ParseStrictReadiness(strict bool) Readiness {
	if strict {
		return ReadyAllModels
	}
	return ReadyServing
}

// String returns the flag spelling of r.
func (r Readiness) String() string {
	switch r {
	case ReadyAllModels:
		return "strict-readiness=true"
	case ReadyServing:
		return "strict-readiness=false"
	}
	return fmt.Sprintf("Readiness(%d)", int(r))
}

// readiness answers "is the server ready" for every endpoint that asks.
type readiness struct {
	mode     Readiness
	repo     Repository
	stopping atomic.Bool // set by Stop: never ready again
}

// check is nil while the server is ready, else the reason (/readyz's 503
// body): ErrShuttingDown once Stop has begun, for good.
func (r *readiness) check() error {
	switch {
	case r.stopping.Load():
		return ErrShuttingDown
	case r.mode == ReadyAllModels && !r.repo.AllReady():
		return errModelsNotReady
	}
	return nil
}

// ErrShuttingDown is the not-ready reason once shutdown has begun, for
// every /readyz (aisle aggregate's too).
var ErrShuttingDown = errors.New("shutting down")

// errModelsNotReady is the not-ready reason of ReadyAllModels.
var errModelsNotReady = errors.New("a model is not ready (" + ReadyAllModels.String() + ")")

// CheckReady is NewHTTPHandler's /readyz check for the server: nil while
// it is ready by Config.Readiness, else the reason; never ready again
// once Stop begins. It reads only the server's state; ctx is unused.
func (s *Server) CheckReady(context.Context) error { return s.ready.check() }
