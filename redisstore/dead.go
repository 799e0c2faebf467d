package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aisle-ai/aisle/event"
)

// causedByMessage reports whether a fold's error reply is the message's
// own doing, the only kind that counts toward MaxFailures: a key of the
// wrong type (WRONGTYPE: the guest's features hash holds something else)
// or a Lua error in fold.lua ("user_script:", e.g. a stored value it
// cannot parse, or an event too large to unpack). Everything else is
// Redis's or the deployment's and passes: network errors, timeouts and
// a full pool (not Redis replies at all), OOM under maxmemory, BUSY,
// LOADING, TRYAGAIN, CLUSTERDOWN, MASTERDOWN, READONLY, MISCONF, an ACL
// refusal (NOPERM) or "ERR max number of clients reached"; such a
// message stays pending and is retried with backoff, uncounted, so a
// Redis outage never turns acknowledged events into dead letters. An
// unknown reply passes too: a message retried every claim-idle costs
// little, a systemic error dead-lettering every event would cost all.
func causedByMessage(msg string) bool {
	return strings.HasPrefix(msg, "WRONGTYPE") || strings.Contains(msg, "user_script:")
}

// callCausedByMessage is causedByMessage for a whole call's error.
func callCausedByMessage(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && causedByMessage(rerr.Error())
}

// deadMove is one dead.lua call: a charge or a dead letter at once.
type deadMove struct {
	id, reason string
	call       *scriptCall
}

// chargeMove counts a failure the message caused itself and dead-letters
// it at MaxFailures (dead.lua, atomic with the count). seen is its event's
// dedupe key: a message whose event has been folded meanwhile (from
// another copy) is dropped as a duplicate instead, and a dead letter
// records the key for the redrive.
func (w *Worker) chargeMove(p int, id, seen, reason string) deadMove {
	reason = "fold failed " + strconv.Itoa(w.s.opts.MaxFailures) + " times: " + describe(errors.New(reason))
	return w.deadCall(p, id, seen, reason, "", w.s.opts.MaxFailures)
}

// undecodableMove moves a message that does not decode to the dead-letter
// stream at once.
func (w *Worker) undecodableMove(p int, id, payload string) deadMove {
	return w.deadCall(p, id, "", "undecodable event", payload, 0)
}

func (w *Worker) deadCall(p int, id, seen, reason, payload string, limit int) deadMove {
	keys := []string{w.s.keys.stream(p), w.s.keys.dead(p), w.s.keys.fails(p), w.s.keys.deadSeen(p)}
	if seen != "" {
		keys = append(keys, seen)
	}
	return deadMove{id: id, reason: reason,
		call: &scriptCall{script: deadScript, keys: keys, args: []any{w.s.opts.Group, id, reason, payload, limit}}}
}

// moveDead runs a round's moves in one pipeline, logs what each did and
// returns how many it dropped as duplicates (acknowledged: finished, as
// Folded counts them; the caller adds them to its folded count).
func (w *Worker) moveDead(ctx context.Context, p int, moves []deadMove) (dropped int) {
	if len(moves) == 0 {
		return 0
	}
	calls := make([]*scriptCall, len(moves))
	for i := range moves {
		calls[i] = moves[i].call
	}
	w.s.runScripts(ctx, calls)
	for _, m := range moves {
		did, err := m.call.cmd.Int()
		switch {
		case err != nil:
			w.log.Warn("aggregate: dead-letter", "partition", p, "id", m.id, "err", err)
		case did == 1:
			w.log.Warn("aggregate: message dead-lettered", "partition", p, "id", m.id, "reason", m.reason)
		case did == 2:
			dropped++
			w.log.Info("aggregate: failed message dropped: its event was folded from another copy", "partition", p, "id", m.id)
		}
	}
	return dropped
}

// stuckFactor × MaxFailures deliveries make a pending message stuck
// (100 by default: 50 minutes of claims at the default MinIdle). Such a
// message fails in a way causedByMessage does not count (or Redis has
// been failing for that long) and would be redelivered forever without a
// word. It is reported, never dead-lettered: the count also grows under
// OOM, and dead-lettering on it would turn an outage into dead letters.
const stuckFactor = 20

// logEvery bounds each of a worker's logs that a lasting cause would
// repeat every round (a stuck message, a batch failing as a whole): one
// line a minute says it, a line per round would drown the rest.
const logEvery = time.Minute

// logDue reports whether the log whose last line (Unix ns) is *last may
// write a line now, and if so records it: one line per logEvery across
// the worker's partition loops.
func logDue(last *atomic.Int64) bool {
	now, prev := time.Now().UnixNano(), last.Load()
	return now-prev >= int64(logEvery) && last.CompareAndSwap(prev, now)
}

// checkStuck reads the delivery counts of the messages claim took (one
// XPENDING over their range, this consumer's) and reports those past
// stuckFactor × MaxFailures: counted (Store.StuckClaims) and logged at
// Error, one line a minute at most.
func (w *Worker) checkStuck(ctx context.Context, p int, msgs []redis.XMessage) {
	// 2×: this consumer's other pending messages in the range (failed,
	// not idle long enough) may take some of the entries.
	pend, err := w.s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: w.s.keys.stream(p), Group: w.s.opts.Group,
		Start: msgs[0].ID, End: msgs[len(msgs)-1].ID, Count: int64(2 * len(msgs)), Consumer: w.s.opts.Consumer}).Result()
	if err != nil {
		return // the fold meets the same Redis and reports it
	}
	limit := int64(stuckFactor * w.s.opts.MaxFailures)
	stuck, most, first := 0, int64(0), ""
	for _, e := range pend {
		if e.RetryCount > limit {
			if stuck == 0 {
				first = e.ID
			}
			stuck++
			most = max(most, e.RetryCount)
		}
	}
	if stuck == 0 {
		return
	}
	w.s.stuck.Add(int64(stuck))
	if logDue(&w.stuckLogged) {
		w.log.Error("aggregate: events delivered again and again without folding (not dead-lettered: the failure is not recognised as the event's own); find the cause in the partition loop's warnings",
			"partition", p, "messages", stuck, "first", first, "deliveries", most, "limit", limit)
	}
}

// StuckClaims counts the claims of pending messages already delivered more
// than 20 × MaxFailures times, by this process's workers (serve exports
// it as aisle_events_stuck_claims_total).
func (s *Store) StuckClaims() int64 { return s.stuck.Load() }

// redriveBatch is how many dead letters one redrive.lua call moves: a
// short script (about 1 ms) so that Redis is not blocked.
const redriveBatch = 100

// Redrive moves every partition's dead letters back to its live stream to
// be folded again (after the cause is fixed, e.g. a wrong-typed key
// deleted), and returns how many it moved and how many it dropped because
// their event had been folded since they were dead-lettered (from a
// resent copy: fold.lua records such folds for as long as the dead letter
// exists, so the drop does not depend on DedupeTTL). Only the entries
// present when it starts are taken, so a message that fails again goes
// back to the dead-letter stream and stays there. Each entry's move or
// drop is atomic and happens once, so running Redrive again is harmless.
// One bound remains, the dedupe's own: a copy of the event folded more
// than Features.DedupeTTL before this one was dead-lettered is unknown to
// it (as it would be to a live duplicate that late), and then the event
// counts twice; dead letters written before the record existed (no 'k'
// field) are moved whatever happened since. A partition whose
// dead-letter stream is empty, before or after, loses its record of them
// (fields left by dead letters deleted another way). A full stream
// (MaxBacklog) stops it with event.ErrOverloaded: run it again once the
// backlog has drained.
func (s *Store) Redrive(ctx context.Context) (moved, dropped int, err error) {
	for p := range s.opts.Partitions {
		last, err := s.rdb.XRevRangeN(ctx, s.keys.dead(p), "+", "-", 1).Result()
		if err != nil {
			return moved, dropped, classify(err, event.ErrOverloaded, event.ErrUnavailable)
		}
		// An empty partition is called too (nothing to move): the script
		// deletes the dead letters' record it may have left behind.
		lastID := "0-0"
		if len(last) > 0 {
			lastID = last[0].ID
		}
		for {
			call := &scriptCall{script: redriveScript, keys: []string{s.keys.dead(p), s.keys.stream(p), s.keys.deadSeen(p)},
				args: []any{s.opts.MaxBacklog, lastID, redriveBatch}}
			s.runScripts(ctx, []*scriptCall{call})
			n, err := call.cmd.Int64Slice()
			if err != nil && strings.HasPrefix(err.Error(), "BACKLOG") {
				return moved, dropped, fmt.Errorf("%w: partition %d: %s", event.ErrOverloaded, p, err)
			}
			if err != nil {
				return moved, dropped, classify(err, event.ErrOverloaded, event.ErrUnavailable)
			}
			if len(n) != 2 {
				return moved, dropped, fmt.Errorf("%w: partition %d: redrive replied %v", event.ErrUnavailable, p, n)
			}
			moved += int(n[0])
			dropped += int(n[1])
			if n[0]+n[1] < redriveBatch {
				break
			}
		}
	}
	return moved, dropped, nil
}
