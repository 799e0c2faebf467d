package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/aisle-ai/aisle/inference"
	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/repository"
)

// TestReadiness serves a repository with one good and one refused model
// and checks ServerReady, gRPC health and /readyz under both readiness
// modes: strict (the default) is not ready while a model is refused;
// --strict-readiness=false is ready while the server serves; neither is
// ready once Stop began.
func TestReadiness(t *testing.T) {
	root := t.TempDir()
	writeConfig(t, root, "ident", identConfig)
	modelFile(t, root, "ident", 1, "identity_fp32.onnx")
	writeConfig(t, root, "broken", "max_batch_size: 4\n")
	writeAtomic(t, root+"/broken/1/model.onnx", []byte("not a model"))
	for _, tc := range []struct {
		mode  Readiness
		ready bool
	}{{ReadyAllModels, false}, {ReadyServing, true}} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			ctx := testCtx(t)
			srv, conn := serveReadiness(t, root, tc.mode)
			c := pb.NewGRPCInferenceServiceClient(conn)
			if r, err := c.ServerReady(ctx, &pb.ServerReadyRequest{}); err != nil || r.Ready != tc.ready {
				t.Errorf("ServerReady = %v, %v; want %v", r, err, tc.ready)
			}
			want := healthpb.HealthCheckResponse_NOT_SERVING
			if tc.ready {
				want = healthpb.HealthCheckResponse_SERVING
			}
			waitHealth(ctx, t, healthpb.NewHealthClient(conn), want)
			h := httptest.NewServer(NewHTTPHandler(prometheus.NewRegistry(), srv.CheckReady))
			defer h.Close()
			if code := getStatus(ctx, t, h.URL+"/readyz"); (code == http.StatusOK) != tc.ready {
				t.Errorf("/readyz = %d, want ready %v", code, tc.ready)
			}
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			srv.Stop(sctx)
			if srv.CheckReady(ctx) == nil || getStatus(ctx, t, h.URL+"/readyz") != http.StatusServiceUnavailable {
				t.Error("still ready after Stop")
			}
		})
	}
}

// serveReadiness serves root with the given Readiness on loopback.
func serveReadiness(t *testing.T, root string, mode Readiness) (*Server, *grpc.ClientConn) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	repo, err := repository.New(repository.Options{Root: root, Session: inference.SessionOptions{IntraOpThreads: 1, InterOpThreads: 1},
		Logger: log, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Config{HealthInterval: 10 * time.Millisecond, Readiness: mode}, repo, reg, log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), ln) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Stop(ctx)
		<-served
		if err := repo.Close(ctx); err != nil {
			t.Errorf("close repository: %v", err)
		}
	})
	return srv, conn
}

// waitHealth polls the health service until it reports want; the context
// bounds the wait against hangs.
func waitHealth(ctx context.Context, t *testing.T, c healthpb.HealthClient, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	for {
		r, err := c.Check(ctx, &healthpb.HealthCheckRequest{})
		if err == nil && r.Status == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("health never reported %v (last %v, %v)", want, r, err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func getStatus(ctx context.Context, t *testing.T, url string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
