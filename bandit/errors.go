package bandit

import "errors"

// Errors returned by Bandits and Learner. Store errors are wrapped with the
// surface they concern; context errors pass through unchanged.
var (
	// ErrUnknownSurface reports a surface no configuration names. The
	// server maps it to NOT_FOUND.
	ErrUnknownSurface = errors.New("unknown bandit surface")
	// ErrInvalid reports a malformed decision request, impression,
	// feedback or configuration (empty impression id, slot count out of
	// range, unknown arm, propensity outside (0, 1]). The server maps it to
	// INVALID_ARGUMENT.
	ErrInvalid = errors.New("invalid bandit request")
	// ErrUnavailable reports a store that could not be reached or answer
	// (Redis down or overloaded). The server maps it to UNAVAILABLE.
	ErrUnavailable = errors.New("bandit store unavailable")
)
