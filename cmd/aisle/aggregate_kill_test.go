package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest"
	"github.com/aisle-ai/aisle/guest/guesttest"
	"github.com/aisle-ai/aisle/redisstore"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// aggregateProcessEnv makes TestAggregateProcess run "aisle aggregate"
// with the arguments in aggregateArgsEnv, as main does.
const (
	aggregateProcessEnv = "TEST_AISLE_AGGREGATE_PROCESS"
	aggregateArgsEnv    = "TEST_AISLE_AGGREGATE_ARGS"
)

// TestAggregateProcess is the child process of TestAggregateKilledMidBatch.
func TestAggregateProcess(t *testing.T) {
	if os.Getenv(aggregateProcessEnv) != "1" {
		t.Skip("child process of TestAggregateKilledMidBatch")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, append([]string{"aggregate"}, strings.Fields(os.Getenv(aggregateArgsEnv))...)); err != nil {
		fmt.Fprintln(os.Stderr, "aisle:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// startAggregate runs "aisle aggregate" in a child process (this test
// binary re-executed) that dies with the test.
func startAggregate(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAggregateProcess$")
	cmd.Env = append(os.Environ(), aggregateProcessEnv+"=1", aggregateArgsEnv+"="+strings.Join(args, " "))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, &stderr
}

// killEvents is a click-stream of n events over guests guests: views,
// clicks and adds to cart (no removals or purchases, whose cart effect
// depends on the order of folding, which a crash changes), sessions
// changing every 25 events of a guest, one millisecond apart.
func killEvents(n, guests int, base time.Time) []event.Event {
	types := []event.Type{event.TypeView, event.TypeView, event.TypeClick, event.TypeAddToCart}
	evs := make([]event.Event, n)
	for i := range evs {
		g := i % guests
		session := "s" + strconv.Itoa(i/guests/25)
		item := strconv.Itoa((i*7 + g) % 169)
		evs[i] = guesttest.Ev("k"+strconv.Itoa(i), "guest-"+strconv.Itoa(g), session, types[(i/guests+g)%len(types)],
			base.Add(time.Duration(i)*time.Millisecond), item)
	}
	return evs
}

// A real "aisle aggregate" process is killed with SIGKILL while it folds
// a backlog (some events folded, a batch read but not acknowledged); a
// second process takes over the dead one's pending events. Every event is
// counted exactly once: each guest's features equal a fold of the same
// events by the in-process store.
func TestAggregateKilledMidBatch(t *testing.T) {
	srv := redistest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	models := filepath.Join("..", "..", "models")
	ff := featureFlags{rtWeight: 1, ltWeight: 1} // aisle aggregate's defaults
	cfg := ff.config()
	items, err := openCatalog(models, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	attrs, _ := itemSource(items)
	ingest, err := redisstore.New(redisstore.Options{Addr: srv.Addr(), Features: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer ingest.Close()

	const n, guests = 12_000, 240
	evs := killEvents(n, guests, time.Now().Add(-time.Hour))
	for i := 0; i < n; i += 500 {
		guesttest.Send(t, ingest, evs[i:i+500]...)
	}
	args := []string{"--redis-addr", srv.Addr(), "--models", models, "--log-level", "error", "--claim-idle", "300ms"}

	// Kill the first worker once a quarter of the backlog is folded.
	first, stderr := startAggregate(t, args...)
	for {
		st, err := ingest.ReadStats(ctx)
		backlog := st.Backlog
		if err == nil && backlog <= n*3/4 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("first worker never folded a quarter of the events (backlog %d, %v): %s", backlog, err, stderr)
		}
		time.Sleep(time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	st, err := ingest.ReadStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	backlog, pending := st.Backlog, st.Pending
	if backlog == 0 || pending == 0 {
		t.Fatalf("after the kill: backlog %d, pending %d: the kill did not land mid-batch", backlog, pending)
	}
	t.Logf("killed with %d of %d events folded, %d read and not acknowledged", n-backlog, n, pending)

	// The dead worker's events become claimable after --claim-idle; the
	// second worker claims them at its start.
	time.Sleep(600 * time.Millisecond)
	second, stderr2 := startAggregate(t, args...)
	for {
		st, err := ingest.ReadStats(ctx)
		if err == nil && st.Backlog == 0 && st.Pending == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("second worker left backlog %d, pending %d (%v): %s", st.Backlog, st.Pending, err, stderr2)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := second.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Fatalf("second aisle aggregate after SIGTERM: %v\n%s", err, stderr2)
	}

	ref := guest.NewMemory(cfg, attrs)
	for i := range evs {
		u := guest.Plan(&evs[i], attrs, cfg)
		ref.Fold(&u)
	}
	for g := range guests {
		id := "guest-" + strconv.Itoa(g)
		got, err := ingest.Snapshot(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ref.Snapshot(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.RealTime.Events != int64(n/guests) {
			t.Fatalf("guest %s: %d events folded, want %d", id, got.RealTime.Events, n/guests)
		}
		guesttest.CompareStates(t, got.RealTime, want.RealTime)
		if t.Failed() {
			t.Fatalf("guest %s differs from the in-process fold", id)
		}
	}
}
