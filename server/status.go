package server

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aisle-ai/aisle/batching"
	"github.com/aisle-ai/aisle/embedding"
	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest"
	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/recommend"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/tensor"
)

// toStatus decides a gRPC status for err; it is the only place that does.
// Messages keep the wrapped context, which names the model and input.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var code codes.Code
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, repository.ErrModelNotFound), errors.Is(err, repository.ErrVersionNotFound):
		code = codes.NotFound
	case errors.Is(err, repository.ErrInvalidInput), errors.Is(err, errBadTensor),
		errors.Is(err, tensor.ErrShape), errors.Is(err, errBadRequest), errors.Is(err, batching.ErrInvalidInput),
		errors.Is(err, embedding.ErrInvalidText), errors.Is(err, embedding.ErrNotEncoder),
		errors.Is(err, recommend.ErrInvalidCart), errors.Is(err, recommend.ErrNotRecommender),
		errors.Is(err, event.ErrInvalid):
		code = codes.InvalidArgument
	case errors.Is(err, event.ErrOverloaded):
		// The event log's backlog or the in-flight bound is full: the
		// sender should slow down, not just retry.
		code = codes.ResourceExhausted
	case errors.Is(err, event.ErrUnavailable), errors.Is(err, guest.ErrUnavailable):
		code = codes.Unavailable
	case errors.Is(err, batching.ErrQueueFull):
		// Triton answers a full queue with UNAVAILABLE, which clients
		// already retry with back-off.
		code = codes.Unavailable
	case errors.Is(err, batching.ErrQueueTimeout):
		code = codes.DeadlineExceeded
	case errors.Is(err, repository.ErrNotReady), errors.Is(err, batching.ErrClosed):
		code = codes.Unavailable
	case errors.Is(err, inference.ErrRun):
		code = codes.Internal
	default:
		code = codes.Internal
	}
	return status.Error(code, err.Error())
}

// errBadRequest reports a malformed request outside tensor decoding.
var errBadRequest = errors.New("bad request")
