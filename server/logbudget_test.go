package server

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// TestFailureLogBudget: failed calls of one method are logged at most
// perSec times in a clock second, the rest counted in
// aisle_access_log_suppressed_total; the first line of the next second
// says how many were left out; another method has its own budget;
// successful calls are not bounded by it (the sample rate decides).
func TestFailureLogBudget(t *testing.T) {
	const perSec = 3
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	reg := prometheus.NewRegistry()
	logs := &logBuffer{}
	a := accessLog{log: slog.New(slog.NewJSONHandler(logs, nil)), rate: 1,
		failures: newLogBudget(perSec, reg, clk.now)}
	h := observer{access: a}.unary()
	refused := toStatus(errTooManyCalls)
	call := func(method string, err error) {
		h(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: method},
			func(context.Context, any) (any, error) { return nil, err })
	}
	for range 10 {
		call(adaptMethod, refused)
	}
	for range 2 {
		call("/aisle.v1.Personalization/EmbedQuery", refused)
	}
	for range 5 {
		call(adaptMethod, nil)
	}
	count := func() (fail, ok int, lines []map[string]any) {
		for _, l := range logs.calls(t) {
			if l["method"] == adaptMethod {
				if l["code"] == "OK" {
					ok++
				} else {
					fail++
					lines = append(lines, l)
				}
			}
		}
		return fail, ok, lines
	}
	if fail, ok, _ := count(); fail != perSec || ok != 5 {
		t.Fatalf("first second: %d failure lines (want %d), %d OK lines (want 5)", fail, perSec, ok)
	}
	if got := testutil.ToFloat64(a.failures.suppressed.WithLabelValues(adaptMethod)); got != 10-perSec {
		t.Errorf("aisle_access_log_suppressed_total = %v, want %d", got, 10-perSec)
	}
	if got := testutil.ToFloat64(a.failures.suppressed.WithLabelValues("/aisle.v1.Personalization/EmbedQuery")); got != 0 {
		t.Errorf("EmbedQuery's 2 failures: %v suppressed, want 0 (a budget of its own)", got)
	}
	clk.advance(time.Second)
	call(adaptMethod, refused)
	fail, _, lines := count()
	if fail != perSec+1 {
		t.Fatalf("next second: %d failure lines in all, want %d", fail, perSec+1)
	}
	if got := lines[len(lines)-1]["suppressed"]; got != float64(10-perSec) {
		t.Errorf("first line of the next second: suppressed = %v, want %d", got, 10-perSec)
	}
	if _, ok := lines[0]["suppressed"]; ok {
		t.Errorf("a line with nothing left out before it says suppressed: %v", lines[0])
	}
}

// TestFailureLogBudgetOff: no budget logs every failure.
func TestFailureLogBudgetOff(t *testing.T) {
	if b := newLogBudget(0, nil, time.Now); b != nil {
		t.Fatal("perSec 0 made a budget")
	}
	logs := &logBuffer{}
	a := accessLog{log: slog.New(slog.NewJSONHandler(logs, nil))}
	for range 50 {
		a.write(context.Background(), adaptMethod, "", codes.Unknown, errors.New("x"), 0)
	}
	if n := len(logs.calls(t)); n != 50 {
		t.Errorf("%d lines, want 50", n)
	}
}

// TestRefusalLogBudget: the auth interceptor's "call refused" warnings are
// bounded per method and second like the access log's failure lines, with
// counts of their own (a refused call's access line does not use up its
// warning's budget), the rest counted in aisle_access_log_suppressed_total.
func TestRefusalLogBudget(t *testing.T) {
	const perSec = 3
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	reg := prometheus.NewRegistry()
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	auth, err := NewAuthorizer(AuthConfig{TokenFile: writeFile(t, t.TempDir(), "tokens", []byte("tok\n"), 0)}, log)
	if err != nil {
		t.Fatal(err)
	}
	access := accessLog{log: log, failures: newLogBudget(perSec, reg, clk.now)}
	h := chainUnary(observer{access: access}.unary(), auth.unaryInterceptor(access.failures.sibling()))
	const unload = "/inference.GRPCInferenceService/RepositoryModelUnload"
	for range 10 {
		if _, err := h(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: unload},
			func(context.Context, any) (any, error) { t.Fatal("handler ran"); return nil, nil }); err == nil {
			t.Fatal("a call without a token was let through")
		}
	}
	refused := func() (lines []map[string]any) {
		for _, l := range logs.lines(t) {
			if l["msg"] == "call refused" {
				lines = append(lines, l)
			}
		}
		return lines
	}
	if n, a := len(refused()), len(logs.calls(t)); n != perSec || a != perSec {
		t.Fatalf("%d \"call refused\" and %d access lines for 10 refusals, want %d of each", n, a, perSec)
	}
	if got := testutil.ToFloat64(access.failures.suppressed.WithLabelValues(unload)); got != 2*(10-perSec) {
		t.Errorf("aisle_access_log_suppressed_total = %v, want %d (access and auth lines)", got, 2*(10-perSec))
	}
	clk.advance(time.Second)
	h(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: unload}, nil)
	lines := refused()
	if len(lines) != perSec+1 || lines[perSec]["suppressed"] != float64(10-perSec) {
		t.Fatalf("next second: %d warnings (want %d), the last %v (want suppressed %d)", len(lines), perSec+1, lines[len(lines)-1], 10-perSec)
	}
}

// chainUnary runs the interceptors in order around a handler, as
// grpc.ChainUnaryInterceptor does.
func chainUnary(ics ...grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		next := h
		for i := len(ics) - 1; i >= 0; i-- {
			ic, inner := ics[i], next
			next = func(ctx context.Context, req any) (any, error) { return ic(ctx, req, info, inner) }
		}
		return next(ctx, req)
	}
}
