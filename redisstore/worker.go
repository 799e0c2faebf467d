package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest"
)

// Worker folds the streams into guest features: one loop per partition in
// the consumer group. Many workers (in-process or `aisle aggregate`
// processes) may share the group; each message goes to one of them.
type Worker struct {
	s     *Store
	attrs guest.ItemAttributes
	log   *slog.Logger
	// crashAfter, when > 0, makes the worker stop after folding that many
	// messages of a batch without acking the rest: a test's stand-in for a
	// worker killed mid-batch.
	crashAfter int
	// stuckLogged and retryLogged are when (Unix ns) the last
	// stuck-message error and the last whole-batch failure were logged,
	// bounding each to one line per logEvery (logDue).
	stuckLogged, retryLogged atomic.Int64
}

// NewWorker returns a worker folding with attrs.
func (s *Store) NewWorker(attrs guest.ItemAttributes, log *slog.Logger) *Worker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{s: s, attrs: attrs, log: log}
}

// errCrash ends a worker made to crash by crashAfter.
var errCrash = errors.New("worker crashed on purpose")

// Run folds until ctx ends, creating the consumer groups as needed (and
// waiting for Redis when it is down); it returns once every partition loop
// has stopped.
func (w *Worker) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	crashed := make(chan struct{}, w.s.opts.Partitions)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for p := range w.s.opts.Partitions {
		wg.Go(func() {
			if w.loop(ctx, p) == errCrash {
				crashed <- struct{}{}
				cancel()
			}
		})
	}
	wg.Wait()
	select {
	case <-crashed:
		return errCrash
	default:
		return nil
	}
}

// loop serves one partition: claim stale pending messages, read new ones,
// fold. Redis errors are logged and retried after a pause that doubles
// while they last (backoff), so a restarted Redis is picked up again and
// a stalled one is not hammered.
func (w *Worker) loop(ctx context.Context, p int) error {
	stream := w.s.keys.stream(p)
	var nextClaim time.Time
	grouped := false
	delay := minPause
	for ctx.Err() == nil {
		if !grouped {
			// Once: a failure here (Redis down, or out of memory, which
			// refuses XGROUP CREATE but not reads of an existing group) is
			// not fatal; read makes the group when it answers NOGROUP.
			err := w.s.rdb.XGroupCreateMkStream(ctx, stream, w.s.opts.Group, "0").Err()
			grouped = true
			if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
				w.log.Warn("aggregate: create consumer group", "partition", p, "err", err)
			}
		}
		var msgs []redis.XMessage
		var err error
		if now := time.Now(); now.After(nextClaim) {
			nextClaim = now.Add(w.s.opts.ClaimEvery)
			msgs, err = w.claim(ctx, p)
		}
		if err == nil && len(msgs) == 0 {
			msgs, err = w.read(ctx, stream)
		}
		if err == nil && len(msgs) > 0 {
			var folded int
			folded, err = w.fold(ctx, p, msgs)
			w.s.folded.Add(int64(folded))
			if err != nil && err != errCrash && folded > 0 {
				// The call worked and the rest of the batch folded: the
				// failed messages stay pending (charged when they are at
				// fault) and come back through claim. Backing off here
				// would let one guest with a wrong-typed key throttle
				// its whole partition to a batch per 5 s until append
				// refuses every guest of it (BACKLOG).
				w.log.Warn("aggregate: messages left pending", "partition", p, "folded", folded, "err", err)
				err = nil
			}
		}
		if err == errCrash {
			return err
		}
		if err != nil {
			delay = w.pause(ctx, p, err, delay)
		} else {
			delay = minPause
		}
	}
	return nil
}

// Pauses after a failed round: 100 ms doubling to 5 s, so a worker retries
// a Redis that is back within a tenth of a second of a blip but sends at
// most one call per partition every 5 s into a long outage.
const (
	minPause = 100 * time.Millisecond
	maxPause = 5 * time.Second
)

// pause logs a Redis error, waits delay and returns the next delay.
func (w *Worker) pause(ctx context.Context, p int, err error, delay time.Duration) time.Duration {
	if ctx.Err() != nil {
		return delay
	}
	w.log.Warn("aggregate: partition loop", "partition", p, "err", err, "retry_in", delay)
	select {
	case <-ctx.Done():
	case <-time.After(delay):
	}
	return min(2*delay, maxPause)
}

func (w *Worker) read(ctx context.Context, stream string) ([]redis.XMessage, error) {
	res, err := w.s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: w.s.opts.Group, Consumer: w.s.opts.Consumer, Streams: []string{stream, ">"},
		Count: int64(w.s.opts.BatchSize), Block: w.s.opts.Block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		if redis.HasErrorPrefix(err, "NOGROUP") {
			// Redis restarted without the group (no AOF): make it again.
			_ = w.s.rdb.XGroupCreateMkStream(ctx, stream, w.s.opts.Group, "0").Err()
		}
		return nil, err
	}
	if len(res) == 0 {
		return nil, nil
	}
	return res[0].Messages, nil
}

// claim takes over messages idle past MinIdle (a dead or stuck consumer's,
// or ones whose fold failed). Their delivery count is not a failure count:
// a message delivered again after a Redis outage has done nothing wrong
// (see charge); a very high one is reported (checkStuck).
func (w *Worker) claim(ctx context.Context, p int) ([]redis.XMessage, error) {
	msgs, _, err := w.s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: w.s.keys.stream(p), Group: w.s.opts.Group, MinIdle: w.s.opts.MinIdle, Start: "0-0",
		Count: int64(w.s.opts.BatchSize), Consumer: w.s.opts.Consumer,
	}).Result()
	if err == nil && len(msgs) > 0 {
		w.checkStuck(ctx, p, msgs)
	}
	return msgs, err
}

// fold runs fold.lua once for the whole batch and returns how many
// messages it folded or acked as duplicates. A message that does not
// decode is dead-lettered at once; one whose fold fails stays pending
// (fold.lua acks the others) and comes back through claim, charged when
// the failure is its own (causedByMessage). A script error of the whole
// call is retried one message at a time, so that only the message that
// causes it is charged: one call per message, all in one pipeline, on
// the messages decoded once; the whole call's error is logged (Warn, with
// the partition, one line a minute at most). The charges and dead letters
// of a round go in one pipeline too (one round trip however many messages
// failed). A failed message that the charge drops as a duplicate (its
// event folded from another copy meanwhile) counts as folded, not failed.
// The error is the first failure: with folded = 0 the round failed (a
// Redis error, or every message failed) and the loop backs off; with
// folded > 0 only some messages did.
func (w *Worker) fold(ctx context.Context, p int, msgs []redis.XMessage) (folded int, err error) {
	ds, moves := w.decode(p, msgs)
	var calls []*scriptCall
	var parts [][]decoded
	if len(ds) > 0 {
		calls, parts = []*scriptCall{w.foldCall(p, ds)}, [][]decoded{ds}
		w.s.runScripts(ctx, calls)
	}
	if len(ds) > 1 && callCausedByMessage(calls[0].cmd.Err()) {
		// No known trigger remains (fold.lua fails a guest's messages
		// alone and runs its partition-level writes after the acks
		// through pcall; see TestWrongTypedFailureCountsDoNotFailFold):
		// kept as a guard for an unknown one.
		// Said once a minute at most: a lasting cause (a wrong-typed key
		// of the partition's, not a guest's) fails every batch, and the
		// retries' own failures reach the loop's log as before.
		if logDue(&w.retryLogged) {
			w.log.Warn("aggregate: batch failed as a whole; its messages are retried one at a time",
				"partition", p, "messages", len(ds), "err", calls[0].cmd.Err())
		}
		calls, parts = make([]*scriptCall, len(ds)), make([][]decoded, len(ds))
		for i := range ds {
			parts[i] = ds[i : i+1]
			calls[i] = w.foldCall(p, parts[i])
		}
		w.s.runScripts(ctx, calls)
	}
	var failed error
	failures := 0 // messages whose fold failed (a failed call fails all its part)
	for i, c := range calls {
		part := parts[i]
		res, err := c.cmd.Slice()
		if err != nil {
			if failed == nil {
				failed = err
			}
			failures += len(part)
			if callCausedByMessage(err) && len(part) == 1 {
				moves = append(moves, w.chargeMove(p, part[0].id, part[0].seen, err.Error()))
			}
			continue
		}
		for j, r := range res {
			if j >= len(part) {
				break
			}
			msg, ok := r.(string)
			if !ok { // 1 folded, 0 duplicate, 2 gone: done either way
				folded++
				continue
			}
			if failed == nil {
				failed = fmt.Errorf("fold of message %s: %s", part[j].id, msg)
			}
			failures++
			if causedByMessage(msg) {
				moves = append(moves, w.chargeMove(p, part[j].id, part[j].seen, msg))
			}
		}
	}
	// A failed message dropped as a duplicate is finished: when every
	// failure was, the round did not fail (it would back off for
	// messages that are gone).
	dropped := w.moveDead(ctx, p, moves)
	folded += dropped
	if dropped == failures {
		failed = nil
	}
	if failed != nil {
		return folded, failed
	}
	if w.crashAfter > 0 && len(msgs) > w.crashAfter {
		return folded, errCrash
	}
	return folded, nil
}

// decoded is a message ready for fold.lua.
type decoded struct {
	id   string
	seen string // its event's dedupe key
	u    guest.Update
}

// decode plans each message's fold, once per batch (the one-at-a-time
// retry reuses it), and returns the moves that dead-letter those that do
// not decode. A worker made to crash by crashAfter decodes that many.
func (w *Worker) decode(p int, msgs []redis.XMessage) (ds []decoded, moves []deadMove) {
	ds = make([]decoded, 0, len(msgs))
	for _, m := range msgs {
		if w.crashAfter > 0 && len(ds) == w.crashAfter {
			break
		}
		payload, _ := m.Values["e"].(string)
		var e event.Event
		if err := json.Unmarshal([]byte(payload), &e); err != nil || e.GuestID == "" || e.ID == "" {
			moves = append(moves, w.undecodableMove(p, m.ID, payload))
			continue
		}
		u := guest.Plan(&e, w.attrs, w.s.opts.Features)
		ds = append(ds, decoded{id: m.ID, seen: w.s.keys.seen(u.GuestID, u.EventID), u: u})
	}
	return ds, moves
}

// foldCall is fold.lua's call for ds; its reply has one entry per message.
func (w *Worker) foldCall(p int, ds []decoded) *scriptCall {
	cfg := w.s.opts.Features
	keys := make([]string, 3, 3+2*len(ds))
	keys[0], keys[1], keys[2] = w.s.keys.stream(p), w.s.keys.fails(p), w.s.keys.deadSeen(p)
	args := make([]any, 0, 4+16*len(ds))
	args = append(args, w.s.opts.Group, cfg.DedupeTTL.Milliseconds(), cfg.Expiry.Milliseconds(), cfg.RecentItems)
	for i := range ds {
		keys = append(keys, w.s.keys.realTime(ds[i].u.GuestID), ds[i].seen)
		args = appendFoldArgs(args, ds[i].id, &ds[i].u)
	}
	return &scriptCall{script: foldScript, keys: keys, args: args}
}

// appendFoldArgs lays out one message's part of fold.lua's ARGV.
func appendFoldArgs(a []any, msgID string, u *guest.Update) []any {
	a = append(a, msgID, u.AtMs, u.SessionID)
	a = append(a, len(u.Affinity))
	for _, op := range u.Affinity {
		a = append(a, op.Field, op.HalfLifeMs)
	}
	a = append(a, len(u.Counters))
	for _, c := range u.Counters {
		a = append(a, c.Name, c.Delta)
	}
	a = append(a, len(u.Cart))
	for _, c := range u.Cart {
		a = append(a, c.Name, c.Delta)
	}
	a = append(a, len(u.Recent))
	for _, it := range u.Recent {
		a = append(a, it)
	}
	return a
}
