package server

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/batching"
	"github.com/aisle-ai/aisle/cart"
	"github.com/aisle-ai/aisle/embedding"
	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/excerpt"
	"github.com/aisle-ai/aisle/guest"
	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/recommend"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/tensor"
)

// toStatus decides a gRPC status for err; it is the only place that does.
// Messages keep the wrapped context, which names the model and input, and
// pass through clientMessage.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(statusCode(err), clientMessage(err.Error()))
}

// statusCode is toStatus's code for err, without building the message:
// the per-model request metrics need only the code, and building the
// message (two regexps over it) for them was 5% of the server's CPU while it
// refused calls under overload (pprof, `aisle serve --pprof`, ghz at 3×
// capacity on the bench encoder).
func statusCode(err error) codes.Code {
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	var code codes.Code
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, ErrUnauthenticated):
		code = codes.Unauthenticated
	case errors.Is(err, ErrPermissionDenied):
		code = codes.PermissionDenied
	case errors.Is(err, repository.ErrModelNotFound), errors.Is(err, repository.ErrVersionNotFound),
		errors.Is(err, recommend.ErrUnknownSurface):
		code = codes.NotFound
	case errors.Is(err, repository.ErrInvalidInput), errors.Is(err, errBadTensor),
		errors.Is(err, tensor.ErrShape), errors.Is(err, errBadRequest), errors.Is(err, batching.ErrInvalidInput),
		errors.Is(err, embedding.ErrInvalidText), errors.Is(err, embedding.ErrNotEncoder),
		errors.Is(err, cart.ErrInvalidCart), errors.Is(err, cart.ErrNotRecommender),
		errors.Is(err, recommend.ErrInvalidRequest), errors.Is(err, bandit.ErrInvalid),
		errors.Is(err, event.ErrInvalid):
		code = codes.InvalidArgument
	case errors.Is(err, event.ErrOverloaded):
		// The event log's backlog or the in-flight bound is full: the
		// sender should slow down, not just retry.
		code = codes.ResourceExhausted
	case errors.Is(err, errStreamFull):
		// Like a batch the log could not take: the client resends from
		// the index named, on a new stream.
		code = codes.ResourceExhausted
	case errors.Is(err, event.ErrUnavailable), errors.Is(err, guest.ErrUnavailable), errors.Is(err, bandit.ErrUnavailable):
		code = codes.Unavailable
	case errors.Is(err, bandit.ErrUnknownSurface):
		code = codes.NotFound
	case errors.Is(err, errNoPipeline):
		code = codes.Unimplemented
	case errors.Is(err, recommend.ErrNoCandidates):
		// The popular model has never been ready: like a model not
		// ready, a retry later succeeds.
		code = codes.Unavailable
	case errors.Is(err, batching.ErrOverloaded), errors.Is(err, batching.ErrQueueFull), errors.Is(err, errTooManyCalls):
		// Load shedding: refused at once, before any work, because the
		// request would wait longer than its deadline or the model's
		// latency objective, or its queue or its RPC's in-flight limit is
		// full. RESOURCE_EXHAUSTED, not Triton's UNAVAILABLE for a full
		// queue: gRPC clients and proxies retry UNAVAILABLE as "server
		// down" (at once, on another connection, often transparently),
		// which multiplies the overload being shed; RESOURCE_EXHAUSTED is
		// retried only by a client that opts in, with its own back-off.
		code = codes.ResourceExhausted
	case errors.Is(err, batching.ErrQueueTimeout):
		code = codes.DeadlineExceeded
	case errors.Is(err, repository.ErrNotReady), errors.Is(err, batching.ErrClosed),
		errors.Is(err, inference.ErrSessionClosed):
		code = codes.Unavailable
	case errors.Is(err, inference.ErrOutOfMemory):
		// The runtime could not allocate for the batch: the server is
		// short of a resource, not broken, and the batch was failed
		// whole (batching does not split failures no input caused).
		code = codes.ResourceExhausted
	case errors.Is(err, errUnsupported):
		code = codes.Unimplemented
	case errors.Is(err, inference.ErrRun), errors.Is(err, batching.ErrPanic), errors.Is(err, errPanic):
		// A request that failed in the runtime even when run alone
		// (batching isolates it): the model or the server is at fault.
		code = codes.Internal
	default:
		code = codes.Internal
	}
	return code
}

// maxMessage bounds a status message. It travels in the grpc-message
// trailer, and clients cap headers at 8–16 KB: a 2 MB message (a 1M-dim
// shape quoted whole) reached them as a stream reset instead of its status.
// Client input is already quoted at most 64 bytes at a time (package
// excerpt); this is the backstop for everything else.
const maxMessage = 512

var (
	// sourceLocation matches a runtime source location, such as ONNX
	// Runtime's "/onnxruntime_src/onnxruntime/core/providers/cpu/tensor/
	// gather_elements.cc:150", and the C++ signature that follows it
	// ("void onnxruntime::core_impl(...) [with Tin = long int; ...]").
	// sourceFile is sourceLocation's anchor alone (a source extension and
	// a line number): a cheap test of whether sourceLocation, whose
	// optional signature makes it slow on long messages, can match at all.
	sourceFile     = regexp.MustCompile(`\.(?:cc|cpp|cxx|c|h|hpp|go):\d`)
	sourceLocation = regexp.MustCompile(`[\w./+-]*\.(?:cc|cpp|cxx|c|h|hpp|go):\d+(?::\d+)?(?: [\w:<>,&*~ ]*?\([^)]*\)(?: const)?)?(?:\s*\[with [^\]]*\])?\s*`)
	// filePath matches an absolute path to a file (its last element has an
	// extension), so ONNX node names such as "/encoder/layer.0/Add" stay.
	// Only a path that starts a word is absolute ("broken/1/model.onnx"
	// is already relative to the repository).
	filePath = regexp.MustCompile(`(^|[\s'"(=:])/(?:[^\s/'"():]+/)+([^\s/'"():]+\.[A-Za-z][A-Za-z0-9]*)($|[\s'"():,;])`)
)

// clientMessage makes msg fit to send to a client: runtime source
// locations removed, absolute file paths cut to their base name, at most
// maxMessage bytes.
func clientMessage(msg string) string {
	// Cut first (with room for what the filters remove), so a message
	// quoting a huge client input costs the regexps nothing more.
	msg = excerpt.Text(msg, 4*maxMessage)
	// Most messages (every refusal under load) hold neither a source
	// location nor a path: the regexps run only when one could match.
	if strings.Contains(msg, ":") && sourceFile.MatchString(msg) {
		msg = sourceLocation.ReplaceAllString(msg, "")
	}
	if strings.Contains(msg, "/") {
		msg = filePath.ReplaceAllString(msg, "$1$2$3")
	}
	return excerpt.Text(msg, maxMessage)
}

// errNoPipeline reports a server built without the recommendation pipeline.
var errNoPipeline = errors.New("this server has no recommendation pipeline")

// errBadRequest reports a malformed request outside tensor decoding.
var errBadRequest = errors.New("bad request")

// errPanic reports a handler panic recovered by the interceptors; the panic
// itself is logged, never sent.
var errPanic = errors.New("internal error (recovered panic, logged by the server)")

// errUnsupported reports a Triton feature aisle does not provide (shared
// memory, tracing).
var errUnsupported = errors.New("not supported")
