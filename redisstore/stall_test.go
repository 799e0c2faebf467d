package redisstore

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest/guesttest"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// logSink is a log destination tests read while the worker writes.
type logSink struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// count is how many lines contain sub.
func (s *logSink) count(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for line := range strings.SplitSeq(s.buf.String(), "\n") {
		if strings.Contains(line, sub) {
			n++
		}
	}
	return n
}

func (s *logSink) logger() *slog.Logger { return slog.New(slog.NewTextHandler(s, nil)) }

// One guest whose features key has the wrong type fails its message in
// every batch, but the rest of each batch folds, so the partition loop
// does not back off: the failed message stays pending for claim. (Before,
// each such batch paused the loop, 100 ms doubling to 5 s, and the whole
// partition fell behind until append refused every guest of it.) Each
// round's read happens after the previous round's pause, so a pause
// would be logged before the last round's event is folded.
func TestPoisonGuestDoesNotStallPartition(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.Addr(), nil, guesttest.Config(), func(o *Options) {
		// Never claimed nor dead-lettered within the test: reads only.
		o.Partitions, o.MaxFailures, o.MinIdle = 1, 1000, time.Hour
	})
	if err := s.rdb.Set(t.Context(), s.keys.realTime("poison"), "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var logs logSink
	startWorker(t, s.NewWorker(guesttest.TestCatalog(), logs.logger()))
	for i := range 3 {
		n := strconv.Itoa(i)
		// One Append, one partition: one append.lua call, so one read
		// gets both messages.
		guesttest.Send(t, s, guesttest.Ev("p"+n, "poison", "s", event.TypeView, time.Now(), "1"),
			guesttest.Ev("h"+n, "healthy", "s", event.TypeView, time.Now(), "1"))
		guesttest.WaitEvents(t, s, "healthy", int64(i+1))
	}
	if n := logs.count("aggregate: partition loop"); n != 0 {
		t.Fatalf("the loop backed off %d times for one guest's failures:\n%s", n, logs.buf.String())
	}
	if n := logs.count("aggregate: messages left pending"); n != 3 {
		t.Fatalf("%d warnings of messages left pending, want 3", n)
	}
}
