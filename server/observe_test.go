package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/internal/servetest"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	pb "github.com/aisle-ai/aisle/proto/inference"
)

// logBuffer collects JSON log lines; the server writes from its handler
// goroutines.
type logBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// calls returns the access log lines ("grpc call") as maps.
func (b *logBuffer) calls(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range b.lines(t) {
		if m["msg"] == "grpc call" {
			out = append(out, m)
		}
	}
	return out
}

// lines returns every log line as a map.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		var m map[string]any
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// panicService is a service whose one method panics.
type panicService struct{}

const panicMethod = "/aisle.test.Panic/Boom"

func (panicService) Register(s grpc.ServiceRegistrar) {
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: "aisle.test.Panic",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Boom", Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: panicMethod}, func(context.Context, any) (any, error) {
				panic("boom at /secret/path")
			})
		}}},
	}, panicService{})
}

// observedServer serves identRepo with Personalization, Bandits and the
// panicking service, logging JSON to the returned buffer.
func observedServer(t *testing.T, cfg Config) (*grpc.ClientConn, *prometheus.Registry, *logBuffer, *Server, string) {
	t.Helper()
	b, err := bandit.New(bandit.Config{Surfaces: []bandit.SurfaceConfig{{Name: "home", Arms: []string{"a"}, Policy: bandit.Uniform}}}, bandit.NewMemStore())
	if err != nil {
		t.Fatal(err)
	}
	auth, tok := tokenAuth(t)
	cfg.Auth = auth
	cfg.HealthInterval = 20 * time.Millisecond
	r := servetest.Repository(t, identRepo(t), servetest.Options{Extensions: testExtensions()})
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	srv := New(cfg, r.Manager, r.Reg, log, NewPersonalization(r.Manager, PersonalizationConfig{}), NewBandits(b, nil), panicService{})
	conn, _ := servetest.ServeAddr(t, srv)
	return conn, r.Reg, logs, srv, tok
}

// TestEveryRPCCounted: KServe, Personalization, Bandits and health calls
// are all counted by method and by the code the client got, and timed.
func TestEveryRPCCounted(t *testing.T) {
	conn, reg, _, _, _ := observedServer(t, Config{})
	ctx := testCtx(t)
	kc, pc, bc := pb.NewGRPCInferenceServiceClient(conn), aislepb.NewPersonalizationClient(conn), aislepb.NewBanditsClient(conn)
	calls := map[string]func() error{
		"/inference.GRPCInferenceService/ModelInfer": func() error { return infer(ctx, kc) },
		"/inference.GRPCInferenceService/ServerLive": func() error { _, err := kc.ServerLive(ctx, &pb.ServerLiveRequest{}); return err },
		"/aisle.v1.Personalization/EmbedQuery": func() error {
			_, err := pc.EmbedQuery(ctx, &aislepb.EmbedQueryRequest{Texts: []string{"milk"}})
			return err
		},
		"/aisle.v1.Personalization/RecommendCart": func() error {
			_, err := pc.RecommendCart(ctx, &aislepb.RecommendCartRequest{ItemNames: []string{"milk"}})
			return err
		},
		"/aisle.v1.Personalization/Recommend": func() error {
			_, err := pc.Recommend(ctx, &aislepb.RecommendRequest{Surface: "home"})
			return err
		},
		"/aisle.v1.Bandits/GetBanditState": func() error {
			_, err := bc.GetBanditState(ctx, &aislepb.GetBanditStateRequest{Surface: "home"})
			return err
		},
		"/aisle.v1.Bandits/ResetBandit": func() error { // refused by auth: still counted
			_, err := bc.ResetBandit(ctx, &aislepb.ResetBanditRequest{Surface: "home"})
			return err
		},
		"/grpc.health.v1.Health/Check": func() error {
			_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			return err
		},
	}
	for method, call := range calls {
		code := status.Code(call()).String()
		if got := counterValue(reg, "aisle_grpc_requests_total", code, method); got != 1 {
			t.Errorf("%s: aisle_grpc_requests_total{code=%q} = %v, want 1", method, code, got)
		}
		if n := histogramCount(t, reg, "aisle_grpc_request_duration_seconds", method); n < 1 {
			t.Errorf("%s: no duration observed", method)
		}
	}
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name, method string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == method {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

// TestPanicCountedAndLogged: a panicking handler is answered INTERNAL,
// counted as INTERNAL, and logged at error level without the panic text.
func TestPanicCountedAndLogged(t *testing.T) {
	conn, reg, logs, _, _ := observedServer(t, Config{})
	err := conn.Invoke(testCtx(t), panicMethod, &emptypb.Empty{}, &emptypb.Empty{})
	if status.Code(err) != codes.Internal {
		t.Fatalf("panic answered %v, want INTERNAL", err)
	}
	want := `
# HELP aisle_grpc_requests_total gRPC calls handled, by full method and status code.
# TYPE aisle_grpc_requests_total counter
aisle_grpc_requests_total{code="Internal",method="/aisle.test.Panic/Boom"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "aisle_grpc_requests_total"); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, l := range logs.calls(t) {
		if l["method"] == panicMethod {
			found = true
			if l["level"] != "ERROR" || l["code"] != "Internal" || strings.Contains(l["error"].(string), "/secret/path") {
				t.Fatalf("access log of a panic: %v", l)
			}
		}
	}
	if !found {
		t.Fatal("panicking call not in the access log")
	}
}

// TestAccessLogSampling: at rate 0 only failed calls are logged; at rate 1
// every call is. No line holds the bearer token.
func TestAccessLogSampling(t *testing.T) {
	for _, tc := range []struct {
		rate   float64
		wantOK int
	}{{0, 0}, {1, 3}} {
		conn, _, logs, _, tok := observedServer(t, Config{AccessLogSampleRate: tc.rate})
		ctx := withToken(testCtx(t), tok)
		kc := pb.NewGRPCInferenceServiceClient(conn)
		for range 3 {
			if err := infer(ctx, kc); err != nil {
				t.Fatal(err)
			}
		}
		_, err := kc.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "no-such-model"})
		wantCode(t, "unknown model", err, codes.NotFound)
		var ok, failed int
		for _, l := range logs.calls(t) {
			if l["method"] != "/inference.GRPCInferenceService/ModelInfer" {
				continue
			}
			switch l["code"] {
			case "OK":
				ok++
				if l["model"] != "ident" || l["level"] != "INFO" {
					t.Errorf("OK line: %v", l)
				}
			case "NotFound":
				failed++
				if l["level"] != "WARN" || l["error"] == "" || l["peer"] == "" {
					t.Errorf("failed-call line: %v", l)
				}
			}
		}
		if ok != tc.wantOK || failed != 1 {
			t.Errorf("rate %v: %d OK lines (want %d), %d failed (want 1)", tc.rate, ok, tc.wantOK, failed)
		}
		logs.mu.Lock()
		if strings.Contains(logs.buf.String(), tok) {
			t.Error("the bearer token reached the log")
		}
		logs.mu.Unlock()
	}
}

// TestHealthPerService: every registered service reports the server's
// readiness, and all turn NOT_SERVING when Stop begins.
func TestHealthPerService(t *testing.T) {
	conn, _, _, srv, _ := observedServer(t, Config{})
	ctx := testCtx(t)
	hc := healthpb.NewHealthClient(conn)
	names := []string{"", "inference.GRPCInferenceService", "aisle.v1.Personalization", "aisle.v1.Bandits", "aisle.test.Panic"}
	for _, name := range names {
		for {
			resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: name})
			if err == nil && resp.Status == healthpb.HealthCheckResponse_SERVING {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("service %q never SERVING: %v, %v", name, resp, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	srv.Stop(ctx)
	for _, name := range names {
		resp, err := srv.health.Check(ctx, &healthpb.HealthCheckRequest{Service: name})
		if err != nil || resp.Status != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("service %q after Stop: %v, %v", name, resp, err)
		}
	}
}
