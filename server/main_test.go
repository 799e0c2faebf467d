package server

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"google.golang.org/grpc"

	"github.com/aisle-ai/aisle/cart"
	"github.com/aisle-ai/aisle/embedding"
	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/internal/servetest"
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
// in a temp dir, with a real gRPC client (internal/servetest).
type testServer struct {
	root   string
	addr   string
	client pb.GRPCInferenceServiceClient
	conn   *grpc.ClientConn
	repo   *repository.Manager
	reg    *prometheus.Registry
	srv    *Server
}

// modelFile copies a test model into root/<name>/<version>/model.onnx.
func modelFile(t testing.TB, root, name string, version int, src string) {
	t.Helper()
	servetest.TestModel(t, root, name, version, src)
}

func writeAtomic(t testing.TB, path string, data []byte) {
	t.Helper()
	servetest.WriteFile(t, path, data)
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

// testExtensions are the pipelines aisle serve prepares.
func testExtensions() map[string]repository.Extension {
	return map[string]repository.Extension{
		embedding.ExtensionName:      embedding.Extension{},
		cart.ExtensionName:           cart.Extension{},
		recommend.ItemsExtensionName: recommend.ItemsExtension{},
	}
}

func startServerOpts(t testing.TB, root string, poll time.Duration, services func(Repository) []Service) *testServer {
	t.Helper()
	return startServerConfig(t, root, poll, Config{}, services)
}

// startServerConfig serves root with cfg (HealthInterval defaults to 20ms)
// and dials it with dial options (default: plaintext).
func startServerConfig(t testing.TB, root string, poll time.Duration, cfg Config, services func(Repository) []Service, dial ...grpc.DialOption) *testServer {
	t.Helper()
	r := servetest.Repository(t, root, servetest.Options{Extensions: testExtensions(), Poll: poll})
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = 20 * time.Millisecond
	}
	srv := New(cfg, r.Manager, r.Reg, r.Log, services(r.Manager)...)
	conn, addr := servetest.ServeAddr(t, srv, dial...)
	return &testServer{root: root, addr: addr, client: pb.NewGRPCInferenceServiceClient(conn), conn: conn, repo: r.Manager, reg: r.Reg, srv: srv}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
