package server

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
)

func (a *adaptiveLimit) inFlightOf(method string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.methods[method].inFlight
}

// TestAdaptiveTapReserves: calls the tap admits hold their places before
// any interceptor runs (the handler goroutines gRPC has yet to start), so
// the call past the limit is refused by the tap, not later after its
// message is read; the interceptor takes a reserved place over and gives
// it back on return; a stream that ends before its interceptor runs gives
// its place back.
func TestAdaptiveTapReserves(t *testing.T) {
	a, _ := newTestAdaptive(t, 0)
	info := &tap.Info{FullMethodName: adaptMethod}
	h := func(context.Context, any) (any, error) { return "ok", nil }
	// The first call registers the method (the tap knows no entry yet).
	if _, err := a.unary()(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: adaptMethod}, h); err != nil {
		t.Fatal(err)
	}
	ctxs := make([]context.Context, adaptInitial)
	cancels := make([]context.CancelFunc, adaptInitial)
	for i := range adaptInitial {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var err error
		if ctxs[i], err = a.tapHandle(ctx, info); err != nil {
			t.Fatalf("tap %d of %d: %v", i+1, adaptInitial, err)
		}
		cancels[i] = cancel
	}
	if n := a.inFlightOf(adaptMethod); n != adaptInitial {
		t.Fatalf("%d in flight after %d taps, want %d (reserved by the tap)", n, adaptInitial, adaptInitial)
	}
	_, err := a.tapHandle(context.Background(), info)
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("tap past the limit with no interceptor run: %v, want ResourceExhausted", err)
	}
	// A reserved call runs on its place: still 64 in flight inside, one
	// fewer after it returns.
	inside := -1
	a.unary()(ctxs[0], nil, &grpc.UnaryServerInfo{FullMethod: adaptMethod}, func(context.Context, any) (any, error) {
		inside = a.inFlightOf(adaptMethod)
		return nil, nil
	})
	if inside != adaptInitial {
		t.Errorf("%d in flight in the handler of a reserved call, want %d (no second place)", inside, adaptInitial)
	}
	if n := a.inFlightOf(adaptMethod); n != adaptInitial-1 {
		t.Errorf("%d in flight after it returned, want %d", n, adaptInitial-1)
	}
	cancels[0]() // its stream ends after the call: nothing more to give back
	// A stream that ends before its interceptor gives its place back (from
	// context.AfterFunc's goroutine: wait for it, no time bound).
	cancels[1]()
	for a.inFlightOf(adaptMethod) != adaptInitial-2 {
		if n := a.inFlightOf(adaptMethod); n < adaptInitial-2 {
			t.Fatalf("%d in flight, want %d: a place given back twice", n, adaptInitial-2)
		}
		runtime.Gosched()
	}
	// Its interceptor, should gRPC still reach it, runs the handler
	// without taking or giving back a place.
	ran := false
	a.unary()(ctxs[1], nil, &grpc.UnaryServerInfo{FullMethod: adaptMethod}, func(context.Context, any) (any, error) {
		ran = true
		return nil, nil
	})
	if n := a.inFlightOf(adaptMethod); !ran || n != adaptInitial-2 {
		t.Errorf("late interceptor of an ended stream: handler ran %v, %d in flight after, want true, %d", ran, n, adaptInitial-2)
	}
}

// TestAdaptiveRefusalBuiltOnce: the tap's refusal status is built once
// per limit value, not per refused call (toStatus's regexps were 15% of
// the server's CPU under overload), and names the method and the limit.
func TestAdaptiveRefusalBuiltOnce(t *testing.T) {
	a, clk := newTestAdaptive(t, 0)
	a.testWindow(t, clk, 1, time.Millisecond) // registers the method
	for range adaptInitial {
		if err := a.acquire(adaptMethod); err != nil {
			t.Fatal(err)
		}
	}
	info := &tap.Info{FullMethodName: adaptMethod}
	_, e1 := a.tapHandle(context.Background(), info)
	_, e2 := a.tapHandle(context.Background(), info)
	if e1 == nil || e1 != e2 {
		t.Fatalf("two refusals at one limit: %p, %p; want the same status error", e1, e2)
	}
	if !strings.Contains(e1.Error(), adaptMethod) || !strings.Contains(e1.Error(), "adaptive limit 64") {
		t.Errorf("refusal %q: want the method and the limit", e1)
	}
	// A window over the target lowers the limit; the refusal says the new one.
	for range adaptInitial {
		clk.advance(adaptWindow)
		a.release(adaptMethod, time.Second, true)
	}
	for a.inFlightOf(adaptMethod) < a.limitOf(adaptMethod) {
		a.acquire(adaptMethod)
	}
	_, e3 := a.tapHandle(context.Background(), info)
	if lim := a.limitOf(adaptMethod); e3 == e1 || !strings.Contains(e3.Error(), "adaptive limit "+strconv.Itoa(lim)) {
		t.Errorf("refusal after the limit fell to %d: %q", lim, e3)
	}
}

// TestStaticLimitSkippedWhenAdaptive: with the adaptive limit on, the
// static in-flight interceptor is not in the chain (the adaptive one caps
// at the same value): a call past the cap is refused by the adaptive
// limit, and without it by the static one.
func TestStaticLimitSkippedWhenAdaptive(t *testing.T) {
	for _, tc := range []struct {
		adaptive *adaptiveLimit
		want     string
	}{
		{newAdaptiveLimit(50*time.Millisecond, 1, nil, time.Now), "adaptive limit 1"},
		{nil, "(limit 1)"},
	} {
		limit := limitUnary(1, tc.adaptive)
		info := &grpc.UnaryServerInfo{FullMethod: adaptMethod}
		var err error
		limit(context.Background(), nil, info, func(ctx context.Context, _ any) (any, error) {
			_, err = limit(ctx, nil, info, func(context.Context, any) (any, error) { return nil, nil })
			return nil, nil
		})
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("adaptive %v: second call %v, want ResourceExhausted with %q", tc.adaptive != nil, err, tc.want)
		}
	}
}
