package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/aisle-ai/aisle/proto/inference"
)

// maxStreamInFlight bounds the requests of one ModelStreamInfer stream that
// are running or waiting to be sent. It equals the default models'
// max_batch_size, so one stream alone can fill a batch; past it the server
// stops reading the stream and HTTP/2 flow control holds the client back,
// so a client that sends without reading cannot grow the server's memory.
const maxStreamInFlight = 64

// ModelStreamInfer is Triton's bidirectional streaming inference. Requests
// of one stream run concurrently (so they can share batches) and are
// answered in the order they arrived, each with its id. A request that
// fails is answered with its error in error_message and the stream goes
// on; only a broken stream ends it. When the client half-closes, the
// answers still due are sent before the call returns; when it cancels,
// the requests in flight are cancelled with it.
func (s *inferenceService) ModelStreamInfer(stream pb.GRPCInferenceService_ModelStreamInferServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()

	// pending holds each request's answer channel in arrival order; its
	// capacity (plus the one answer the writer is sending) is the in-flight
	// bound.
	pending := make(chan chan *pb.ModelStreamInferResponse, maxStreamInFlight-1)
	var sendErr error // written by the writer goroutine, read after written is closed
	written := make(chan struct{})
	go func() {
		defer close(written)
		sendErr = s.writeStream(stream, pending, cancel)
	}()

	var running sync.WaitGroup
	var recvErr error
read:
	for {
		req, err := stream.Recv()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				recvErr = err
			}
			break
		}
		answer := make(chan *pb.ModelStreamInferResponse, 1)
		select {
		case pending <- answer:
		case <-ctx.Done():
			break read
		}
		running.Add(1)
		go func() {
			defer running.Done()
			answer <- s.streamOne(ctx, req)
		}()
	}
	close(pending)
	<-written
	running.Wait()
	switch {
	case sendErr != nil:
		return sendErr
	case recvErr != nil:
		return recvErr
	}
	return toStatus(stream.Context().Err())
}

// writeStream sends the answers in order. After a failed Send the stream
// is gone (grpc-go ends a stream whose Send fails), so it cancels the
// requests still running and drains their answers.
func (s *inferenceService) writeStream(stream pb.GRPCInferenceService_ModelStreamInferServer,
	pending <-chan chan *pb.ModelStreamInferResponse, cancel context.CancelFunc,
) error {
	var err error
	for answer := range pending {
		resp := <-answer
		if err != nil {
			continue
		}
		if err = stream.Send(resp); err != nil {
			cancel()
		}
	}
	return err
}

// streamOne answers one streamed request. Its errors are messages, never
// the end of the stream: a panic is recovered and logged, and a response
// too large to send is replaced by an error, since grpc-go would otherwise
// end the whole stream with RESOURCE_EXHAUSTED.
func (s *inferenceService) streamOne(ctx context.Context, req *pb.ModelInferRequest) (out *pb.ModelStreamInferResponse) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("stream request panic", "panic", r, "stack", string(debug.Stack()))
			out = streamError(req, errors.New("internal error in ModelStreamInfer"))
		}
	}()
	start := time.Now()
	resp, version, err := s.infer(ctx, req)
	s.metrics.observe(req.ModelName, version, err, time.Since(start))
	if err != nil {
		return streamError(req, err)
	}
	if finalResponseFlag(req) {
		// Triton marks each response of a request that asked for it; a
		// non-decoupled model's one response is its final one.
		if resp.Parameters == nil {
			resp.Parameters = map[string]*pb.InferParameter{}
		}
		resp.Parameters["triton_final_response"] = &pb.InferParameter{ParameterChoice: &pb.InferParameter_BoolParam{BoolParam: true}}
	}
	out = &pb.ModelStreamInferResponse{InferResponse: resp}
	if s.maxSend > 0 {
		if n := proto.Size(out); n > s.maxSend {
			return streamError(req, fmt.Errorf("%w: response of %d bytes is larger than the server's max send message size %d",
				errBadRequest, n, s.maxSend))
		}
	}
	return out
}

// finalResponseFlag reports whether a streamed request set Triton's
// triton_enable_empty_final_response, which asks for triton_final_response
// on its responses (tritonclient sets it for decoupled-aware streaming).
func finalResponseFlag(req *pb.ModelInferRequest) bool {
	p, ok := req.Parameters["triton_enable_empty_final_response"].GetParameterChoice().(*pb.InferParameter_BoolParam)
	return ok && p.BoolParam
}

// streamError is Triton's answer to a failed streamed request: the status
// message in error_message and the request's id, so that a client can
// match it to its request.
func streamError(req *pb.ModelInferRequest, err error) *pb.ModelStreamInferResponse {
	msg := status.Convert(toStatus(err)).Message()
	return &pb.ModelStreamInferResponse{
		ErrorMessage:  strings.ToValidUTF8(msg, "\uFFFD"),
		InferResponse: &pb.ModelInferResponse{Id: req.Id},
	}
}
