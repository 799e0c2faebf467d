package server

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/types/known/emptypb"
)

const adaptMethod = "/aisle.v1.Personalization/RecommendCart"

// fakeClock is the adaptive limit's clock, moved by the test only.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestAdaptive(t *testing.T, max int) (*adaptiveLimit, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	return newAdaptiveLimit(50*time.Millisecond, max, prometheus.NewRegistry(), clk.now), clk
}

// window runs one closed window on method: inFlight calls taken at once
// (all must be admitted), then released with latency each, the clock moved
// past the window before the last release. It returns the limit after.
func (a *adaptiveLimit) testWindow(t *testing.T, clk *fakeClock, inFlight int, latency time.Duration) int {
	t.Helper()
	for i := range inFlight {
		if err := a.acquire(adaptMethod); err != nil {
			t.Fatalf("call %d of %d refused: %v", i+1, inFlight, err)
		}
	}
	for i := range inFlight {
		if i == inFlight-1 {
			clk.advance(adaptWindow)
		}
		a.release(adaptMethod, latency, true)
	}
	return a.limitOf(adaptMethod)
}

func (a *adaptiveLimit) limitOf(method string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return int(a.methods[method].limit)
}

// TestAdaptiveLimitAIMD: a used limit grows by √limit per window under the
// target, shrinks ×0.9 per window over it, never below adaptMin, never past
// the static cap, and does not grow when the calls in flight stay far
// below it (an idle method keeps the limit it earned).
func TestAdaptiveLimitAIMD(t *testing.T) {
	a, clk := newTestAdaptive(t, 100)
	if got := a.testWindow(t, clk, 64, 10*time.Millisecond); got != 72 { // 64 + √64
		t.Fatalf("after a full window under target: limit %d, want 72", got)
	}
	if got := a.testWindow(t, clk, 20, 10*time.Millisecond); got != 72 {
		t.Fatalf("after a window using 20 of 72: limit %d, want 72 (no growth)", got)
	}
	if got := a.testWindow(t, clk, 72, 80*time.Millisecond); got != 64 { // 72 × 0.9 = 64.8
		t.Fatalf("after a window over target: limit %d, want 64", got)
	}
	for range 10 {
		a.testWindow(t, clk, a.limitOf(adaptMethod), 10*time.Millisecond)
	}
	if got := a.limitOf(adaptMethod); got != 100 {
		t.Fatalf("after 10 good windows: limit %d, want the static cap 100", got)
	}
	for range 60 {
		a.testWindow(t, clk, min(a.limitOf(adaptMethod), 20), time.Second)
	}
	if got := a.limitOf(adaptMethod); got != adaptMin {
		t.Fatalf("after 60 slow windows: limit %d, want the floor %d", got, adaptMin)
	}
	if got := testutil.ToFloat64(a.limitG.WithLabelValues(adaptMethod)); got != adaptMin {
		t.Errorf("aisle_concurrency_limit = %v, want %d", got, adaptMin)
	}
}

// TestAdaptiveLimitP99: the decision follows the window's p99, so one slow
// call in a hundred is tolerated and two are not.
func TestAdaptiveLimitP99(t *testing.T) {
	a, clk := newTestAdaptive(t, 0)
	// 64 in flight for the whole window (the limit in use), 200 calls
	// completing, the slow ones first.
	run := func(slow int) int {
		for range 64 {
			a.acquire(adaptMethod)
		}
		for i := range 200 {
			d := 5 * time.Millisecond
			if i < slow {
				d = 200 * time.Millisecond
			}
			if i == 199 {
				clk.advance(adaptWindow)
			}
			a.release(adaptMethod, d, true)
			a.acquire(adaptMethod)
		}
		for range 64 {
			a.release(adaptMethod, time.Millisecond, true)
		}
		return a.limitOf(adaptMethod)
	}
	before := adaptInitial
	if got := run(1); got <= before {
		t.Fatalf("1 slow call in 200: limit %d, want growth from %d", got, before)
	}
	before = a.limitOf(adaptMethod)
	if got := run(3); got >= before {
		t.Fatalf("3 slow calls in 200: limit %d, want a cut from %d", got, before)
	}
}

// TestAdaptiveLimitWindowNeedsSamples: a window does not close on time
// alone; fewer than adaptMinSamples calls decide nothing.
func TestAdaptiveLimitWindowNeedsSamples(t *testing.T) {
	a, clk := newTestAdaptive(t, 0)
	for range 5 {
		a.acquire(adaptMethod)
		clk.advance(time.Second)
		a.release(adaptMethod, time.Second, true)
	}
	if got := a.limitOf(adaptMethod); got != adaptInitial {
		t.Fatalf("after 5 slow calls: limit %d, want %d unchanged", got, adaptInitial)
	}
}

// TestAdaptiveLimitRefuses: past the limit the tap refuses before the
// message is read, and the interceptor refuses what passed the tap, both
// RESOURCE_EXHAUSTED naming the method; health checks, unknown methods
// and other methods pass; a returned call frees a place.
func TestAdaptiveLimitRefuses(t *testing.T) {
	a, clk := newTestAdaptive(t, 0)
	ctx := context.Background()
	info := &tap.Info{FullMethodName: adaptMethod}
	if _, err := a.tapHandle(ctx, info); err != nil {
		t.Fatalf("tap before any call: %v", err)
	}
	for range adaptInitial {
		a.acquire(adaptMethod)
	}
	_, err := a.tapHandle(ctx, info)
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "RecommendCart") {
		t.Fatalf("tap at the limit: %v, want ResourceExhausted naming the method", err)
	}
	if got := testutil.ToFloat64(a.shed.WithLabelValues(adaptMethod)); got != 1 {
		t.Errorf("aisle_concurrency_shed_total = %v, want 1", got)
	}
	ran := false
	h := func(context.Context, any) (any, error) { ran = true; return "ok", nil }
	_, err = a.unary()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: adaptMethod}, h)
	if status.Code(err) != codes.ResourceExhausted || ran {
		t.Fatalf("interceptor at the limit: %v (handler ran: %v), want ResourceExhausted without the handler", err, ran)
	}
	for _, m := range []string{"/grpc.health.v1.Health/Check", "/aisle.v1.Personalization/EmbedQuery", "/no.such/Method"} {
		if _, err := a.tapHandle(ctx, &tap.Info{FullMethodName: m}); err != nil {
			t.Errorf("tap %s: %v", m, err)
		}
		if strings.HasPrefix(m, "/no.such") {
			continue // gRPC reaches interceptors for registered methods only
		}
		if _, err := a.unary()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: m}, h); err != nil {
			t.Errorf("interceptor %s: %v", m, err)
		}
	}
	a.release(adaptMethod, time.Millisecond, true)
	tctx, err := a.tapHandle(ctx, info)
	if err != nil {
		t.Fatalf("tap after a call returned: %v", err)
	}
	// The tap's stamp is the start the interceptor measures from.
	clk.advance(30 * time.Millisecond)
	var seen time.Duration
	a.unary()(tctx, nil, &grpc.UnaryServerInfo{FullMethod: adaptMethod}, func(context.Context, any) (any, error) {
		clk.advance(10 * time.Millisecond)
		return nil, nil
	})
	a.mu.Lock()
	if s := a.methods[adaptMethod].samples; len(s) > 0 {
		seen = s[len(s)-1]
	}
	a.mu.Unlock()
	if seen != 40*time.Millisecond {
		t.Errorf("recorded latency %v, want 40ms (tap to return)", seen)
	}
	a.mu.Lock()
	n := len(a.methods)
	a.mu.Unlock()
	if n != 2 {
		t.Errorf("%d methods tracked, want 2 (RecommendCart, EmbedQuery: no entry for health or unknown names)", n)
	}
}

// TestAdaptiveLimitOff: a zero target is no adaptive limit at all.
func TestAdaptiveLimitOff(t *testing.T) {
	a := newAdaptiveLimit(0, 512, prometheus.NewRegistry(), time.Now)
	if a != nil {
		t.Fatal("target 0 made a limit")
	}
	if _, err := a.unary()(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: adaptMethod},
		func(context.Context, any) (any, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
}

// TestAdaptiveLimitLoopback: through a real gRPC server on loopback, with
// adaptInitial calls of a unary method held in its handler, the next call
// is refused by the tap (counted in aisle_concurrency_shed_total, the
// handler never entered) with RESOURCE_EXHAUSTED naming the method, and a
// call is served again once the held ones return.
func TestAdaptiveLimitLoopback(t *testing.T) {
	a := newAdaptiveLimit(50*time.Millisecond, 512, prometheus.NewRegistry(), time.Now)
	entered, release := make(chan struct{}, adaptInitial+1), make(chan struct{})
	desc := grpc.ServiceDesc{ServiceName: "test.Slow", HandlerType: (*any)(nil), Methods: []grpc.MethodDesc{{
		MethodName: "Hold",
		Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			return ic(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/test.Slow/Hold"},
				func(ctx context.Context, _ any) (any, error) {
					entered <- struct{}{}
					select {
					case <-release:
					case <-ctx.Done():
					}
					return &emptypb.Empty{}, nil
				})
		},
	}}}
	gs := grpc.NewServer(grpc.InTapHandle(a.tapHandle), grpc.ChainUnaryInterceptor(a.unary()))
	gs.RegisterService(&desc, struct{}{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(ln)
	defer gs.Stop()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := testCtx(t)
	call := func() error { return conn.Invoke(ctx, "/test.Slow/Hold", &emptypb.Empty{}, new(emptypb.Empty)) }
	var wg sync.WaitGroup
	for range adaptInitial {
		wg.Go(func() {
			if err := call(); err != nil {
				t.Errorf("held call: %v", err)
			}
		})
	}
	for range adaptInitial {
		<-entered
	}
	err = call()
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "/test.Slow/Hold") {
		t.Fatalf("call %d: %v, want ResourceExhausted naming the method", adaptInitial+1, err)
	}
	if got := testutil.ToFloat64(a.shed.WithLabelValues("/test.Slow/Hold")); got != 1 {
		t.Errorf("aisle_concurrency_shed_total = %v, want 1 (refused by the tap)", got)
	}
	close(release)
	wg.Wait()
	if err := call(); err != nil {
		t.Fatalf("call after the held ones returned: %v", err)
	}
}
