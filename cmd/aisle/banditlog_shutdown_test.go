package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aisle-ai/aisle/bandit"
)

// nopRecorder is a Learner's arm store that takes every pull.
type nopRecorder struct{}

func (nopRecorder) Add(context.Context, string, ...bandit.Increment) error { return nil }

// pendingLearner is a Learner writing to l with n impressions pending.
func pendingLearner(t *testing.T, l *banditLog, n int) *bandit.Learner {
	t.Helper()
	learner := bandit.NewLearner(nopRecorder{}, bandit.LearnerConfig{Window: time.Hour, MaxPending: 2 * n, OnClose: l.onClose})
	now := time.Now()
	for i := range n {
		imp := bandit.Impression{ID: "i" + strconv.Itoa(i), Surface: "home", At: now, Slots: []bandit.Slot{{Arm: "a", Propensity: 0.5}}}
		if err := learner.Impression(t.Context(), imp); err != nil {
			t.Fatal(err)
		}
	}
	return learner
}

// countLines reads r to the end and sends how many lines it held.
func countLines(r io.Reader) <-chan int {
	lines := make(chan int, 1)
	go func() {
		n := 0
		for sc := bufio.NewScanner(r); sc.Scan(); n++ {
		}
		lines <- n
	}()
	return lines
}

// At shutdown every pending impression is written although they far
// outnumber the queue: the flush waits for the writer instead of
// dropping. (Before, Learner.Flush went through the non-blocking queue
// and all but about a queue's worth were dropped.)
func TestBanditLogShutdownWritesEveryPending(t *testing.T) {
	pr, pw := io.Pipe()
	l := newBanditLog(pw, 1, nil, slog.New(slog.DiscardHandler))
	learner := pendingLearner(t, l, 200)
	lines := countLines(pr)
	l.shutdown(t.Context(), learner.Flush)
	if n, dropped := <-lines, testutil.ToFloat64(l.dropped); n != 200 || dropped != 0 {
		t.Fatalf("%d of 200 pending impressions written, %v dropped", n, dropped)
	}
}

// A writer stuck for good (a dead disk) does not hang shutdown: once ctx
// ends the rest is dropped and counted.
func TestBanditLogShutdownHonoursDeadline(t *testing.T) {
	pr, pw := io.Pipe() // never read until the end: the writer blocks
	l := newBanditLog(pw, 1, nil, slog.New(slog.DiscardHandler))
	learner := pendingLearner(t, l, 50)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	l.shutdown(ctx, learner.Flush)
	if dropped := testutil.ToFloat64(l.dropped); dropped < 47 {
		t.Fatalf("%v dropped of 50 with a stuck writer past the deadline, want at least 47", dropped)
	}
	_ = pr.Close() // releases the writer goroutine
	<-l.done
}

// flakyWriter fails the writes whose (1-based) number is in fail and
// reports each write on calls.
type flakyWriter struct {
	fail  map[int]bool
	n     int
	calls chan struct{}
	out   bytes.Buffer
}

func (w *flakyWriter) Write(p []byte) (int, error) {
	defer func() { w.calls <- struct{}{} }()
	w.n++
	if w.fail[w.n] {
		return 0, errors.New("no space left on device")
	}
	return w.out.Write(p)
}

// Records a failed write takes with it are counted, and a failure after
// a successful write is logged again. (Before, they were counted nowhere
// and only the first failure of the process was ever logged.) Each
// record is sent after the previous write: one write per record.
func TestBanditLogCountsWriteFailures(t *testing.T) {
	w := &flakyWriter{fail: map[int]bool{1: true, 3: true}, calls: make(chan struct{}, 3)}
	var logs bytes.Buffer // read after close: the writer has stopped
	l := newBanditLog(w, 4, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	imp := bandit.Impression{ID: "i", Surface: "home", At: time.Now(), Slots: []bandit.Slot{{Arm: "a", Propensity: 0.5}}}
	for range 3 {
		l.onClose(imp, []bool{false})
		<-w.calls
	}
	l.close()
	if lost, dropped := testutil.ToFloat64(l.lost), testutil.ToFloat64(l.dropped); lost != 2 || dropped != 0 {
		t.Errorf("lost %v, dropped %v; want 2 lost (writes 1 and 3 failed), 0 dropped", lost, dropped)
	}
	if n := bytes.Count(w.out.Bytes(), []byte("\n")); n != 1 {
		t.Errorf("%d records written, want 1", n)
	}
	if n := strings.Count(logs.String(), "bandit-log: write failed"); n != 2 {
		t.Errorf("%d write failures logged, want 2 (one per failure spell):\n%s", n, logs.String())
	}
}
