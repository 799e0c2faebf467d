package recommend

import "errors"

// Errors callers map to a status.
var (
	// ErrInvalidRequest reports a request that cannot be answered as asked
	// (unknown surface, k out of range, a malformed filter).
	ErrInvalidRequest = errors.New("invalid recommend request")
	// ErrSurfaces reports an invalid surfaces file.
	ErrSurfaces = errors.New("invalid surfaces config")
)

// ErrUnknownSurface reports a surface the surfaces file does not define.
var ErrUnknownSurface = errors.New("unknown surface")

// ErrNotLogged is what an EventLog returns for an impression it does not
// log by design (one no feedback could cite): the answer stands, without
// an impression id and without a rung.
var ErrNotLogged = errors.New("impression not logged")

// ErrNoCandidates reports a call for which not even the popular back-fill
// could answer: the popular model has never been ready.
var ErrNoCandidates = errors.New("no candidates")
