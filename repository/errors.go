package repository

import "errors"

// Errors a caller maps to a status; each message names what was wrong.
var (
	// ErrModelNotFound reports a model the repository does not have.
	ErrModelNotFound = errors.New("model not found")
	// ErrVersionNotFound reports a version the model does not serve.
	ErrVersionNotFound = errors.New("model version not found")
	// ErrNotReady reports a model that exists but is loading, failed to
	// load or is being unloaded.
	ErrNotReady = errors.New("model not ready")
	// ErrInvalidInput reports a request that does not fit the model.
	ErrInvalidInput = errors.New("invalid input")
	// ErrOutsideRepository reports a model file that resolves, through a
	// symbolic link, to a place outside the repository directory.
	ErrOutsideRepository = errors.New("path leaves the model repository")
)
