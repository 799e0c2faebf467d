package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/aisle-ai/aisle/internal/reliability"
)

func readyz(h http.Handler) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	return rec.Code
}

// TestReadyzFirstInDrain: once Stop begins, /readyz answers 503 while
// in-flight calls are still being waited for (here an open health Watch
// stream holds GracefulStop), so a load balancer stops sending traffic
// before connections close.
func TestReadyzFirstInDrain(t *testing.T) {
	ts := startServer(t, identRepo(t), 0)
	h := NewHTTPHandler(ts.reg, ts.srv.CheckReady)
	if code := readyz(h); code != http.StatusOK {
		t.Fatalf("/readyz before shutdown: %d", code)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	watch, err := healthpb.NewHealthClient(ts.conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := watch.Recv(); err != nil || st.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first health status %v, %v", st, err)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		ts.srv.Stop(context.Background())
	}()
	// NOT_SERVING on the stream means Stop has begun; the open stream keeps
	// it from finishing.
	for {
		st, err := watch.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if st.Status == healthpb.HealthCheckResponse_NOT_SERVING {
			break
		}
	}
	if code := readyz(h); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz during drain: %d, want 503", code)
	}
	select {
	case <-stopped:
		t.Fatal("Stop returned with a call in flight")
	default:
	}
	cancel()
	<-stopped
	reliability.Write(t, reliability.Record{Package: "server", Load: "1 health Watch stream in flight", Faults: "shutdown begun with the stream open: /readyz must answer 503 and Stop must wait for the stream", Calls: 1})
}
