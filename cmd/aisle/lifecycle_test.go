package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/aisle-ai/aisle/inference"
	pb "github.com/aisle-ai/aisle/proto/inference"
)

// idsRepo is a repository serving identity_int64.onnx as model "ids".
func idsRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "onnx", "identity_int64.onnx"))
	must(t, err)
	must(t, os.MkdirAll(filepath.Join(root, "ids", "1"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "ids", "1", "model.onnx"), data, 0o644))
	return root
}

func idsInfer(ctx context.Context, c pb.GRPCInferenceServiceClient) error {
	_, err := c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "ids", Inputs: []*pb.ModelInferRequest_InferInputTensor{{
		Name: "x", Datatype: "INT64", Shape: []int64{1, 4},
		Contents: &pb.InferTensorContents{Int64Contents: []int64{1, 2, 3, 4}},
	}}})
	return err
}

// cleanRefusal reports whether err is how a call may end once shutdown
// has begun: UNAVAILABLE (connection closing or refused) or CANCELLED.
func cleanRefusal(err error) bool {
	c := status.Code(err)
	return c == codes.Unavailable || c == codes.Canceled
}

// startServe runs runServer in-process on free ports until stop is called;
// done yields its error.
func startServe(t *testing.T, args ...string) (grpcAddr, httpAddr string, stop context.CancelFunc, done <-chan error) {
	t.Helper()
	grpcAddr, httpAddr = freeAddr(t), freeAddr(t)
	cfg, _, _, err := loadServeConfig(append([]string{"--grpc-addr", grpcAddr, "--http-addr", httpAddr}, args...), envOf(nil), io.Discard)
	must(t, err)
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- runServer(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	return grpcAddr, httpAddr, stop, served
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(t, err)
	return conn
}

// waitReady polls ServerReady until it answers true.
func waitReady(ctx context.Context, t *testing.T, c pb.GRPCInferenceServiceClient) {
	t.Helper()
	for {
		r, err := c.ServerReady(ctx, &pb.ServerReadyRequest{})
		if err == nil && r.Ready {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("server never ready: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readyzCode(t *testing.T, hc *http.Client, addr string) int {
	t.Helper()
	resp, err := hc.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestShutdownUnderLoad is SIGTERM (the serve context cancelled) while
// clients keep calling: readiness turns false (gRPC health NOT_SERVING,
// /readyz 503) while a call is still in flight, that call and every
// accepted one complete, calls after the drain are refused cleanly
// (UNAVAILABLE or CANCELLED, never another code), runServer returns nil,
// and no goroutine is left behind.
func TestShutdownUnderLoad(t *testing.T) {
	must(t, inference.Init(ortLib(t)))
	defer inference.Shutdown()
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	grpcAddr, httpAddr, stop, served := startServe(t, "--models", idsRepo(t), "--poll-interval", "20ms", "--drain-timeout", "30s")
	defer stop()
	conn := dial(t, grpcAddr)
	defer conn.Close()
	client := pb.NewGRPCInferenceServiceClient(conn)
	waitReady(ctx, t, client)
	hc := &http.Client{}
	defer hc.CloseIdleConnections()
	if code := readyzCode(t, hc, httpAddr); code != http.StatusOK {
		t.Fatalf("/readyz before shutdown: %d", code)
	}

	// An open health Watch is a call in flight that only the client ends:
	// it holds the drain open so the test can look at the server mid-drain.
	watchCtx, endWatch := context.WithCancel(ctx)
	defer endWatch()
	watch, err := healthpb.NewHealthClient(conn).Watch(watchCtx, &healthpb.HealthCheckRequest{Service: pb.GRPCInferenceService_ServiceDesc.ServiceName})
	must(t, err)
	if st, err := watch.Recv(); err != nil || st.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health before shutdown: %v, %v", st, err)
	}

	// Load: workers call until a call is refused; each uses its own
	// connection half the time, so both open and new connections are seen.
	const workers = 8
	var ok, refused, bad atomic.Int64
	var firstBad atomic.Value
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			c := client
			if w%2 == 1 {
				own := dial(t, grpcAddr)
				defer own.Close()
				c = pb.NewGRPCInferenceServiceClient(own)
			}
			for ctx.Err() == nil {
				err := idsInfer(ctx, c)
				switch {
				case err == nil:
					ok.Add(1)
					continue
				case cleanRefusal(err):
					refused.Add(1)
				default:
					bad.Add(1)
					firstBad.CompareAndSwap(nil, err.Error())
				}
				return
			}
		})
	}
	for ok.Load() < 200 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}

	stop() // SIGTERM

	// Readiness goes false first: the watch (still in flight) sees
	// NOT_SERVING and /readyz answers 503 while the drain waits for it.
	for {
		st, err := watch.Recv()
		if err != nil {
			t.Fatalf("health stream ended before NOT_SERVING: %v", err)
		}
		if st.Status == healthpb.HealthCheckResponse_NOT_SERVING {
			break
		}
	}
	if code := readyzCode(t, hc, httpAddr); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz during the drain: %d, want 503", code)
	}
	select {
	case err := <-served:
		t.Fatalf("runServer returned (%v) with a call in flight", err)
	default:
	}
	// New calls are refused cleanly while the drain goes on.
	fresh := dial(t, grpcAddr)
	var countFresh int64
	for ctx.Err() == nil {
		err := idsInfer(ctx, pb.NewGRPCInferenceServiceClient(fresh))
		if err == nil {
			countFresh++ // accepted just before the listener closed: it completed
			continue
		}
		if !cleanRefusal(err) {
			t.Fatalf("new call during the drain: %v, want UNAVAILABLE", err)
		}
		break
	}
	fresh.Close()
	wg.Wait()
	// Every call the server took, it completed: its count of ModelInfer
	// calls is the clients' count of successes, all OK (a call cut by the
	// drain would be OK on the server and UNAVAILABLE on the client).
	okServed, otherServed := servedCalls(t, hc, httpAddr, "/inference.GRPCInferenceService/ModelInfer")
	if okServed != ok.Load()+countFresh || otherServed != 0 {
		t.Fatalf("server counted %d OK and %d failed ModelInfer calls; clients got %d OK", okServed, otherServed, ok.Load()+countFresh)
	}

	endWatch() // the last call in flight ends; the drain completes
	if err := <-served; err != nil {
		t.Fatalf("runServer: %v", err)
	}
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d calls failed other than by a clean refusal, first: %v", n, firstBad.Load())
	}
	if refused.Load() != workers {
		t.Fatalf("%d of %d workers saw a clean refusal", refused.Load(), workers)
	}
	t.Logf("%d calls served, %d refused cleanly after shutdown", ok.Load(), refused.Load())
}

// servedCalls reads aisle_grpc_requests_total of method from /metrics:
// the OK count and the count of every other code.
func servedCalls(t *testing.T, hc *http.Client, addr, method string) (ok, other int64) {
	t.Helper()
	resp, err := hc.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must(t, err)
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "aisle_grpc_requests_total{") || !strings.Contains(line, `method="`+method+`"`) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		n, err := strconv.ParseFloat(line[i+1:], 64)
		must(t, err)
		if strings.Contains(line, `code="OK"`) {
			ok += int64(n)
		} else {
			other += int64(n)
		}
	}
	return ok, other
}

// TestShutdownDrainDeadline: a call that never ends does not hold the
// process: past --drain-timeout the server closes it (UNAVAILABLE or
// CANCELLED on the client) and runServer returns, leaving no goroutine.
func TestShutdownDrainDeadline(t *testing.T) {
	must(t, inference.Init(ortLib(t)))
	defer inference.Shutdown()
	defer verifyNoLeaks(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	grpcAddr, _, stop, served := startServe(t, "--models", idsRepo(t), "--drain-timeout", "200ms")
	defer stop()
	conn := dial(t, grpcAddr)
	defer conn.Close()
	client := pb.NewGRPCInferenceServiceClient(conn)
	waitReady(ctx, t, client)
	watch, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	must(t, err)
	if _, err := watch.Recv(); err != nil {
		t.Fatal(err)
	}
	stop()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("runServer: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("runServer did not return after the drain deadline")
	}
	for {
		_, err := watch.Recv()
		if err == nil {
			continue // NOT_SERVING
		}
		if !cleanRefusal(err) {
			t.Fatalf("stream cut at the deadline: %v, want UNAVAILABLE or CANCELLED", err)
		}
		break
	}
}

// serveProcessEnv makes TestServeProcess run "aisle serve" as main does.
const serveProcessEnv = "TEST_AISLE_SERVE_PROCESS"

// TestServeProcess is the child process of TestSIGTERM: "aisle serve"
// configured by AISLE_* variables, stopped by a signal as main is.
func TestServeProcess(t *testing.T) {
	if os.Getenv(serveProcessEnv) != "1" {
		t.Skip("child process of TestSIGTERM")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, []string{"serve"}); err != nil {
		fmt.Fprintln(os.Stderr, "aisle:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestSIGTERM sends a real SIGTERM to a serving process under load,
// configured only through the environment: every call succeeds or is
// refused cleanly, and the process exits 0 after logging its stop.
func TestSIGTERM(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestServeProcess$")
	cmd.Env = append(os.Environ(), serveProcessEnv+"=1", "AISLE_MODELS="+idsRepo(t), "AISLE_GRPC_ADDR="+grpcAddr,
		"AISLE_HTTP_ADDR="+httpAddr, "AISLE_ORT_LIB="+ortLib(t), "AISLE_DRAIN_TIMEOUT=20s", "AISLE_LOG_JSON=true")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	must(t, cmd.Start())
	conn := dial(t, grpcAddr)
	defer conn.Close()
	client := pb.NewGRPCInferenceServiceClient(conn)
	waitReady(ctx, t, client)

	var ok atomic.Int64
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				err := idsInfer(ctx, client)
				if err == nil {
					ok.Add(1)
					continue
				}
				errs <- err
				return
			}
		})
	}
	for ok.Load() < 100 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	must(t, cmd.Process.Signal(syscall.SIGTERM))
	wg.Wait()
	close(errs)
	for err := range errs {
		if !cleanRefusal(err) {
			t.Errorf("call during shutdown: %v, want UNAVAILABLE or CANCELLED", err)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("aisle serve after SIGTERM: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), `"msg":"aisle stopped"`) {
		t.Fatalf("no stop logged:\n%s", stderr.String())
	}
}

// verifyNoLeaks is goleak.VerifyNone with a longer grace: the goroutines
// of just-closed connections can take more than goleak's own retries
// (about 0.4 s) to exit on a starved machine, so it first waits up to 10 s
// for none to be left, then verifies (and reports what is left).
func verifyNoLeaks(t *testing.T, opts ...goleak.Option) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for goleak.Find(opts...) != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	goleak.VerifyNone(t, opts...)
}
