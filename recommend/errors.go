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
