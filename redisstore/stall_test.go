package redisstore

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
	// The last round's warning may come after its fold is visible.
	if n := logs.count("aggregate: messages left pending"); n < 2 {
		t.Fatalf("%d warnings of messages left pending, want at least 2", n)
	}
}

// A message delivered far more often than MaxFailures without being
// charged (a failure causedByMessage does not recognise) is reported when
// claimed: an Error line and StuckClaims, but it is not dead-lettered.
// Its delivery count is set with XCLAIM RETRYCOUNT as another consumer's.
func TestStuckMessageIsReported(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.Addr(), nil, guesttest.Config(), func(o *Options) {
		o.Partitions, o.MaxFailures, o.MinIdle, o.ClaimEvery = 1, 2, 10*time.Millisecond, 5*time.Millisecond
	})
	ctx := t.Context()
	stream := s.keys.stream(0)
	if err := s.rdb.XGroupCreateMkStream(ctx, stream, s.opts.Group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	guesttest.Send(t, s, guesttest.Ev("st-1", "stuck", "s", event.TypeView, time.Now(), "1"))
	res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: s.opts.Group, Consumer: "other", Streams: []string{stream, ">"}, Count: 1}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) != 1 {
		t.Fatalf("read as another consumer: %v %v", res, err)
	}
	id := res[0].Messages[0].ID
	if err := s.rdb.Do(ctx, "XCLAIM", stream, s.opts.Group, "other", 0, id, "RETRYCOUNT", 500).Err(); err != nil {
		t.Fatal(err)
	}
	var logs logSink
	startWorker(t, s.NewWorker(guesttest.TestCatalog(), logs.logger()))
	guesttest.WaitEvents(t, s, "stuck", 1) // claimed (and checked), then folded
	if n := s.StuckClaims(); n != 1 {
		t.Fatalf("StuckClaims = %d, want 1", n)
	}
	if n := logs.count("level=ERROR msg=\"aggregate: events delivered again and again"); n != 1 {
		t.Fatalf("%d stuck-message errors logged, want 1:\n%s", n, logs.buf.String())
	}
	if n, err := s.DeadLetters(ctx); err != nil || n != 0 {
		t.Fatalf("%d dead letters (%v), want 0", n, err)
	}
}
