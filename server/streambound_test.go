package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/repository"
)

// endlessStream is a client that never stops sending and never reads: Recv
// always has a request, Send blocks until the stream's context ends.
type endlessStream struct {
	grpc.ServerStream
	ctx   context.Context
	recvd int
}

func (s *endlessStream) Context() context.Context { return s.ctx }

func (s *endlessStream) Recv() (*pb.ModelInferRequest, error) {
	if s.ctx.Err() != nil {
		return nil, io.EOF
	}
	s.recvd++
	return &pb.ModelInferRequest{ModelName: "absent"}, nil
}

func (s *endlessStream) Send(*pb.ModelStreamInferResponse) error {
	<-s.ctx.Done()
	return s.ctx.Err()
}

// absentRepo has no models; only Get is called.
type absentRepo struct{ Repository }

func (absentRepo) Get(name, _ string) (*repository.Version, error) {
	return nil, repository.ErrModelNotFound
}

// TestModelStreamInferBound: against a client that sends without reading,
// the server reads maxStreamInFlight+1 requests (one being sent, the rest
// queued, one waiting for a slot) and then stops reading, so the client's
// requests wait in HTTP/2 flow control instead of server memory. synctest
// tells when every goroutine of the call is blocked.
func TestModelStreamInferBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		stream := &endlessStream{ctx: ctx}
		svc := &inferenceService{repo: absentRepo{}, metrics: newMetrics(prometheus.NewRegistry()),
			log: slog.New(slog.DiscardHandler)}
		done := make(chan error, 1)
		go func() { done <- svc.ModelStreamInfer(stream) }()
		synctest.Wait()
		if want := maxStreamInFlight + 1; stream.recvd != want {
			t.Errorf("the server read %d requests from a client that reads nothing, want %d", stream.recvd, want)
		}
		cancel()
		if err := <-done; err == nil {
			t.Error("a cancelled stream ended without an error")
		}
	})
}
