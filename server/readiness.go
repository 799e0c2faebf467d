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

func (r *readiness) ready() bool {
	if r.stopping.Load() {
		return false
	}
	if r.mode == ReadyServing {
		return true
	}
	return r.repo.AllReady()
}

// The reasons CheckReady gives (/readyz's 503 body).
var (
	errShuttingDown   = errors.New("shutting down")
	errModelsNotReady = errors.New("a model is not ready (" + ReadyAllModels.String() + ")")
)

// CheckReady is Ready for NewHTTPHandler's /readyz: nil when ready, else
// the reason. It reads only the server's state; ctx is unused.
func (s *Server) CheckReady(context.Context) error {
	switch {
	case s.ready.stopping.Load():
		return errShuttingDown
	case !s.ready.ready():
		return errModelsNotReady
	}
	return nil
}
