package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/ope"
	"github.com/aisle-ai/aisle/server"
)

// banditLogQueue bounds the closed impressions waiting for the writer:
// about 1 s of a busy surface's slates (4,096 × ~150 bytes = 600 KB).
// A full queue drops, never blocks: closing happens on the join path of
// RecordEvents. The shutdown flush alone waits for room (shutdown).
const banditLogQueue = 4096

// banditLog is --bandit-log: the off-policy log of closed impressions,
// one ope.ImpressionRecord per line (the format aisle ope --log reads),
// appended to a file by one writer goroutine it owns (stopped by close).
type banditLog struct {
	ch      chan ope.ImpressionRecord
	dropped prometheus.Counter
	// lost counts the records a failed write took with it.
	lost prometheus.Counter
	log  *slog.Logger
	done chan struct{}

	mu     sync.RWMutex // guards closed and draining, and sends on ch against close(ch)
	closed bool
	// draining, set by shutdown, makes onClose wait for room in the queue
	// until it ends instead of dropping: the pending impressions flushed
	// at shutdown come in one burst, far more than the queue holds.
	draining context.Context
	// lateWarned: the drain deadline's drops were logged (once).
	lateWarned atomic.Bool
}

// openBanditLog appends to path (created if absent) and starts the writer.
func openBanditLog(path string, reg prometheus.Registerer, log *slog.Logger) (*banditLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("bandit-log: %w", err)
	}
	l := newBanditLog(f, banditLogQueue, reg, log)
	return l, nil
}

// newBanditLog starts the writer over w (closed by close when it is an
// io.Closer) with a queue of size records.
func newBanditLog(w io.Writer, size int, reg prometheus.Registerer, log *slog.Logger) *banditLog {
	l := &banditLog{ch: make(chan ope.ImpressionRecord, size), log: log, done: make(chan struct{}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "aisle_bandit_log_dropped_total",
			Help: "Closed bandit impressions not written to --bandit-log because its queue was full (or it was closed)."}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{Name: "aisle_bandit_log_lost_total",
			Help: "Closed bandit impressions not written to --bandit-log because the write failed (logged)."})}
	if reg != nil {
		reg.MustRegister(l.dropped, l.lost)
	}
	go l.run(w)
	return l
}

// onClose is the Learner's OnClose: each slot becomes one record slot with
// reward 1 when it earned one. The server joins every slot as its own
// one-slot impression "<impression id>#<slot>", so a line holds one slot.
func (l *banditLog) onClose(imp bandit.Impression, rewarded []bool) {
	rec := ope.ImpressionRecord{ImpressionID: imp.ID, Surface: imp.Surface, At: imp.At.UTC(),
		Slots: make([]ope.SlotRecord, len(imp.Slots))}
	for i, s := range imp.Slots {
		rec.Slots[i] = ope.SlotRecord{Arm: s.Arm, Propensity: s.Propensity}
		if i < len(rewarded) && rewarded[i] {
			rec.Slots[i].Reward = 1
		}
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.dropped.Inc()
		return
	}
	if l.draining != nil {
		select {
		case l.ch <- rec:
		case <-l.draining.Done():
			l.dropped.Inc()
			if !l.lateWarned.Swap(true) {
				l.log.Warn("bandit-log: shutdown deadline passed; the impressions still pending are dropped (aisle_bandit_log_dropped_total)")
			}
		}
		return
	}
	select {
	case l.ch <- rec:
	default:
		l.dropped.Inc()
	}
}

// banditLogBatch bounds one write of a burst (about 400 records).
const banditLogBatch = 64 << 10

// run writes records until ch is closed, one write whenever the queue is
// empty or banditLogBatch bytes are waiting (a burst is one write), then
// closes w. A failed write loses its records (counted in lost) and the
// next batch is tried; the failure is logged once until a write works
// again.
func (l *banditLog) run(w io.Writer) {
	defer close(l.done)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	batch := 0       // records in buf
	failing := false // the last write failed (and was logged)
	fail := func(err error, lost int) {
		l.lost.Add(float64(lost))
		if !failing { // once per failure spell: a full disk would log every batch
			l.log.Error("bandit-log: write failed; records are lost until it recovers (aisle_bandit_log_lost_total)", "err", err, "lost", lost)
		}
		failing = true
	}
	write := func() {
		if buf.Len() == 0 {
			return
		}
		n, err := w.Write(buf.Bytes())
		if err != nil {
			// Records wholly written before the error are not lost.
			fail(err, batch-bytes.Count(buf.Bytes()[:n], []byte("\n")))
		} else if failing {
			l.log.Info("bandit-log: writing again")
			failing = false
		}
		buf.Reset()
		batch = 0
	}
	for rec := range l.ch {
		if err := enc.Encode(&rec); err != nil { // encodes nothing on error
			fail(err, 1)
			continue
		}
		batch++
		if len(l.ch) == 0 || buf.Len() >= banditLogBatch {
			write()
		}
	}
	write()
	if c, ok := w.(io.Closer); ok {
		if err := c.Close(); err != nil {
			l.log.Error("bandit-log: close", "err", err)
		}
	}
}

// close stops the writer after it has written what is queued; later
// records are dropped.
func (l *banditLog) close() { l.closeWithin(context.Background()) }

// closeWithin is close that stops waiting for the writer when ctx ends
// (a write stuck on a dead disk must not hang shutdown).
func (l *banditLog) closeWithin(ctx context.Context) {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.ch)
	}
	l.mu.Unlock()
	select {
	case <-l.done:
	case <-ctx.Done():
		l.log.Error("bandit-log: the writer did not finish by the shutdown deadline; the records still queued are lost", "queued", len(l.ch))
	}
}

// shutdown runs flush (Learner.Flush: every pending impression through
// onClose) with onClose waiting for room in the queue rather than
// dropping, then closes the log once the writer has written everything;
// both waits end with ctx (the server's drain timeout), so shutdown
// cannot hang on a slow disk.
func (l *banditLog) shutdown(ctx context.Context, flush func()) {
	l.mu.Lock()
	l.draining = ctx
	l.mu.Unlock()
	flush()
	l.closeWithin(ctx)
}

// wireBanditLog opens the off-policy log and makes b's in-process join a
// Learner that writes every impression it closes there. flush, for
// shutdown after the gRPC server has stopped, closes the impressions
// still pending (Learner.Flush) and stops the writer once they are
// written, waiting until ctx ends at most (banditLog.shutdown).
func wireBanditLog(b *featureBackend, path string, reg prometheus.Registerer, log *slog.Logger) (flush func(context.Context), err error) {
	bl, err := openBanditLog(path, reg, log)
	if err != nil {
		return nil, err
	}
	var learner *bandit.Learner // set once by join, read by flush after the server stopped
	b.join = func(rec *bandit.Bandits, window time.Duration) server.BanditJoin {
		learner = bandit.NewLearner(rec, bandit.LearnerConfig{Window: window, OnClose: bl.onClose})
		return learner
	}
	return func(ctx context.Context) {
		bl.shutdown(ctx, func() {
			if learner != nil {
				learner.Flush()
			}
		})
	}, nil
}
