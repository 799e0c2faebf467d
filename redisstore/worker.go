package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
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
// fold. Redis errors are logged and retried after a pause, so a restarted
// Redis is picked up again.
func (w *Worker) loop(ctx context.Context, p int) error {
	stream := w.s.keys.stream(p)
	var nextClaim time.Time
	grouped := false
	for ctx.Err() == nil {
		if !grouped {
			err := w.s.rdb.XGroupCreateMkStream(ctx, stream, w.s.opts.Group, "0").Err()
			if grouped = err == nil || redis.HasErrorPrefix(err, "BUSYGROUP"); !grouped {
				w.pause(ctx, p, err)
				continue
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
			err = w.fold(ctx, p, msgs)
		}
		if err == errCrash {
			return err
		}
		if err != nil {
			w.pause(ctx, p, err)
		}
	}
	return nil
}

// pause logs a Redis error and waits a little before the loop retries.
func (w *Worker) pause(ctx context.Context, p int, err error) {
	if ctx.Err() != nil {
		return
	}
	w.log.Warn("aggregate: partition loop", "partition", p, "err", err)
	select {
	case <-ctx.Done():
	case <-time.After(100 * time.Millisecond):
	}
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

// claim dead-letters messages delivered MaxDeliveries times, then takes
// over messages idle past MinIdle (a dead or stuck consumer's).
func (w *Worker) claim(ctx context.Context, p int) ([]redis.XMessage, error) {
	stream := w.s.keys.stream(p)
	pending, err := w.s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: stream, Group: w.s.opts.Group, Idle: w.s.opts.MinIdle, Start: "-", End: "+", Count: int64(w.s.opts.BatchSize),
	}).Result()
	if err != nil {
		return nil, err
	}
	for _, pe := range pending {
		if pe.RetryCount >= int64(w.s.opts.MaxDeliveries) {
			w.deadLetter(ctx, p, pe.ID, "delivered "+strconv.FormatInt(pe.RetryCount, 10)+" times without a fold", "")
		}
	}
	msgs, _, err := w.s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: stream, Group: w.s.opts.Group, MinIdle: w.s.opts.MinIdle, Start: "0-0",
		Count: int64(w.s.opts.BatchSize), Consumer: w.s.opts.Consumer,
	}).Result()
	return msgs, err
}

func (w *Worker) deadLetter(ctx context.Context, p int, id, reason, payload string) {
	call := &scriptCall{script: deadScript, keys: []string{w.s.keys.stream(p), w.s.keys.dead(p)},
		args: []any{w.s.opts.Group, id, reason, payload}}
	w.s.runScripts(ctx, []*scriptCall{call})
	if err := call.cmd.Err(); err != nil {
		w.log.Warn("aggregate: dead-letter", "partition", p, "id", id, "err", err)
		return
	}
	w.log.Warn("aggregate: message dead-lettered", "partition", p, "id", id, "reason", reason)
}

// fold runs fold.lua once for the whole batch. A message that does not
// decode is dead-lettered at once; one whose fold fails stays pending
// (fold.lua acks the others) and comes back through claim.
func (w *Worker) fold(ctx context.Context, p int, msgs []redis.XMessage) error {
	cfg := w.s.opts.Features
	keys := make([]string, 1, 1+2*len(msgs))
	keys[0] = w.s.keys.stream(p)
	args := make([]any, 0, 4+16*len(msgs))
	args = append(args, w.s.opts.Group, cfg.DedupeTTL.Milliseconds(), cfg.Expiry.Milliseconds(), cfg.RecentItems)
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		if w.crashAfter > 0 && len(ids) == w.crashAfter {
			break
		}
		payload, _ := m.Values["e"].(string)
		var e event.Event
		if err := json.Unmarshal([]byte(payload), &e); err != nil || e.GuestID == "" || e.ID == "" {
			w.deadLetter(ctx, p, m.ID, "undecodable event", payload)
			continue
		}
		u := guest.Plan(&e, w.attrs, cfg)
		keys = append(keys, w.s.keys.realTime(u.GuestID), w.s.keys.seen(u.GuestID, u.EventID))
		args = appendFoldArgs(args, m.ID, &u)
		ids = append(ids, m.ID)
	}
	if len(ids) > 0 {
		call := &scriptCall{script: foldScript, keys: keys, args: args}
		w.s.runScripts(ctx, []*scriptCall{call})
		res, err := call.cmd.Slice()
		if err != nil {
			return err
		}
		var failed error
		for i, r := range res {
			if msg, ok := r.(string); ok && failed == nil && i < len(ids) {
				failed = fmt.Errorf("fold of message %s: %s", ids[i], msg)
			}
		}
		if failed != nil {
			return failed
		}
	}
	if w.crashAfter > 0 && len(msgs) > w.crashAfter {
		return errCrash
	}
	return nil
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
