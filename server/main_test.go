package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/aisle-ai/aisle/embedding"
	"github.com/aisle-ai/aisle/inference"
	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/recommend"
	"github.com/aisle-ai/aisle/repository"
)

func TestMain(m *testing.M) {
	if err := inference.Init(inference.LibraryPath("")); err != nil {
		panic(err)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		_ = inference.Shutdown()
		os.Exit(code)
	}))
}

// testServer is a real aisle server on a loopback port over a repository
// in a temp dir, with a real gRPC client.
type testServer struct {
	root   string
	client pb.GRPCInferenceServiceClient
	conn   *grpc.ClientConn
	repo   *repository.Manager
	reg    *prometheus.Registry
}

// modelFile copies a test model into root/<name>/<version>/model.onnx.
func modelFile(t testing.TB, root, name string, version int, src string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "onnx", src))
	if err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, filepath.Join(root, name, itoa(version), "model.onnx"), data)
}

func writeAtomic(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func writeConfig(t *testing.T, root, name, yaml string) {
	t.Helper()
	writeAtomic(t, filepath.Join(root, name, "config.yaml"), []byte(yaml))
}

func itoa(v int) string { return string(rune('0' + v%10)) } // versions in tests are single digits

// startServer serves root until the test ends; poll > 0 enables the
// repository poller.
func startServer(t *testing.T, root string, poll time.Duration, extra ...Service) *testServer {
	t.Helper()
	return startServerOpts(t, root, poll, func(Repository) []Service { return extra })
}

// startServerWith serves root with the default extensions and the services
// services builds.
func startServerWith(t *testing.T, root string, services func(Repository) []Service) *testServer {
	t.Helper()
	return startServerOpts(t, root, 0, services)
}

func startServerOpts(t testing.TB, root string, poll time.Duration, services func(Repository) []Service) *testServer {
	t.Helper()
	return startServerConfig(t, root, poll, Config{}, services)
}

// startServerConfig is startServerOpts with a server Config (its
// HealthInterval is set for tests).
func startServerConfig(t testing.TB, root string, poll time.Duration, cfg Config, services func(Repository) []Service) *testServer {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	repo, err := repository.New(repository.Options{Root: root, Session: inference.SessionOptions{IntraOpThreads: 1, InterOpThreads: 1},
		DrainTimeout: 5 * time.Second, Logger: log, Registerer: reg,
		Extensions: map[string]repository.Extension{
			embedding.ExtensionName: embedding.Extension{},
			recommend.ExtensionName: recommend.Extension{},
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := repo.Load(ctx); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.HealthInterval = 20 * time.Millisecond
	srv := New(cfg, repo, reg, log, services(repo)...)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		if poll > 0 {
			repo.Poll(ctx, poll)
		}
	}()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		srv.Stop(sctx)
		cancel()
		<-served
		<-polled
		if err := repo.Close(sctx); err != nil {
			t.Errorf("close repository: %v", err)
		}
	})
	return &testServer{root: root, client: pb.NewGRPCInferenceServiceClient(conn), conn: conn, repo: repo, reg: reg}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
