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
	h := a.unary()
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
		a.write(context.Background(), adaptMethod, "", errors.New("x"), true, 0)
	}
	if n := len(logs.calls(t)); n != 50 {
		t.Errorf("%d lines, want 50", n)
	}
}
