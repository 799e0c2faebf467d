package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest"
)

// Store is the Redis event log, guest feature store and fold workers'
// shared client. It is safe for concurrent use.
type Store struct {
	rdb  redis.UniversalClient
	opts Options
	keys keys
	// stuck counts claims of messages delivered more than stuckAfter
	// times (StuckClaims).
	stuck atomic.Int64
	// folded counts the messages this process's workers folded or acked
	// as duplicates (Folded).
	folded atomic.Int64
}

// New connects (lazily) to the configured Redis.
func New(opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return &Store{rdb: newClient(opts), opts: opts, keys: keys{prefix: opts.Prefix, partitions: opts.Partitions}}, nil
}

// Close closes the client's connections.
func (s *Store) Close() error { return s.rdb.Close() }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() })
	}
	return s.rdb.Ping(ctx).Err()
}

var (
	_ event.Log            = (*Store)(nil)
	_ guest.Store          = (*Store)(nil)
	_ guest.LongTermWriter = (*Store)(nil)
)

// Append implements event.Log: one append.lua per partition in one
// pipeline; an event's error is nil once Redis has replied, which is after
// its AOF write.
func (s *Store) Append(ctx context.Context, events []event.Event) []error {
	errs := make([]error, len(events))
	byPart := map[int][]int{}
	for i := range events {
		p := s.keys.partition(events[i].GuestID)
		byPart[p] = append(byPart[p], i)
	}
	calls := make([]*scriptCall, 0, len(byPart))
	idx := make([][]int, 0, len(byPart))
	for p, ix := range byPart {
		args := make([]any, 0, len(ix)+1)
		args = append(args, s.opts.MaxBacklog)
		for _, i := range ix {
			b, err := json.Marshal(&events[i])
			if err != nil {
				panic(fmt.Sprintf("redisstore: encode event: %v", err)) // plain structs always encode
			}
			args = append(args, b)
		}
		calls = append(calls, &scriptCall{script: appendScript, keys: []string{s.keys.stream(p)}, args: args})
		idx = append(idx, ix)
	}
	s.runScripts(ctx, calls)
	for c, call := range calls {
		err := call.cmd.Err()
		switch {
		case err == nil:
			continue
		case strings.HasPrefix(err.Error(), "BACKLOG"):
			err = fmt.Errorf("%w: %s", event.ErrOverloaded, strings.TrimPrefix(err.Error(), "BACKLOG "))
		default:
			err = classify(err, event.ErrOverloaded, event.ErrUnavailable)
		}
		for _, i := range idx[c] {
			errs[i] = err
		}
	}
	return errs
}

// Folded counts the messages this process's workers have finished: folded,
// or acknowledged as duplicates (serve and aisle aggregate export it as
// aisle_events_folded_total). Other processes sharing the consumer group
// count their own.
func (s *Store) Folded() int64 { return s.folded.Load() }

// ErrNoGroup means a partition's stream has no consumer group yet: no
// worker has reached this Redis since it was empty (or it restarted
// without its AOF), so nothing is being folded there.
var ErrNoGroup = errors.New("redis consumer group missing")

// CheckGroups checks, in one pipeline of XINFO GROUPS (groupPending),
// that every partition's stream has the workers' consumer group: nil once
// a worker has reached Redis and made them (aisle aggregate's readiness),
// ErrNoGroup naming the first partition without one, or the store's
// event.ErrUnavailable when Redis does not answer.
func (s *Store) CheckGroups(ctx context.Context) error {
	pipe := s.rdb.Pipeline()
	cmds := s.queueGroups(ctx, pipe)
	_, _ = pipe.Exec(ctx)
	for p, c := range cmds {
		if _, err := s.groupPending(p, c); err != nil {
			return err
		}
	}
	return nil
}

// queueGroups queues XINFO GROUPS of every partition's stream on pipe.
// XINFO GROUPS, not an XPENDING summary: it reads the group's pending
// count without walking its consumers, whose number grows with every
// restart (a consumer is named host-pid and never deleted).
func (s *Store) queueGroups(ctx context.Context, pipe redis.Pipeliner) []*redis.XInfoGroupsCmd {
	cmds := make([]*redis.XInfoGroupsCmd, s.opts.Partitions)
	for p := range cmds {
		cmds[p] = pipe.XInfoGroups(ctx, s.keys.stream(p))
	}
	return cmds
}

// groupPending reads partition p's XINFO GROUPS reply: the workers'
// group's pending count, ErrNoGroup naming p when the group (or the
// stream) does not exist, or the error classified as the package's
// others are (event.ErrUnavailable, event.ErrOverloaded for a full pool).
func (s *Store) groupPending(p int, c *redis.XInfoGroupsCmd) (int64, error) {
	groups, err := c.Result()
	switch {
	case err == nil:
	case redis.HasErrorPrefix(err, "no such key"): // "ERR no such key" (a missing stream; never nil): HasErrorPrefix drops the "ERR "
		return 0, fmt.Errorf("%w: partition %d", ErrNoGroup, p)
	default:
		return 0, classify(err, event.ErrOverloaded, event.ErrUnavailable)
	}
	for _, g := range groups {
		if g.Name == s.opts.Group {
			return g.Pending, nil
		}
	}
	return 0, fmt.Errorf("%w: partition %d", ErrNoGroup, p)
}

// sumPending sums groupPending over cmds, a missing group counting 0 (no
// worker has made it yet, so nothing is pending there).
func (s *Store) sumPending(cmds []*redis.XInfoGroupsCmd) (int64, error) {
	var n int64
	for p, c := range cmds {
		k, err := s.groupPending(p, c)
		if err != nil && !errors.Is(err, ErrNoGroup) {
			return 0, err
		}
		n += k
	}
	return n, nil
}

// Stats is one reading of the streams, for the metrics a scrape exports.
type Stats struct {
	// Backlog is the unfolded events over all partitions (XLEN: the fold
	// XDELs what it acks).
	Backlog int64
	// Pending is the part of Backlog delivered to a worker of the group
	// and not acknowledged yet: events a live worker is folding or a dead
	// one held (claimed again after MinIdle).
	Pending int64
	// DeadLetters is the entries in the dead-letter streams.
	DeadLetters int64
}

// ReadStats reads Backlog, Pending and DeadLetters in one pipeline (per
// partition: XLEN of the event stream, XLEN of the dead-letter stream,
// XINFO GROUPS), one round trip per scrape however many partitions. A
// missing stream or group counts 0; an error is classified as the
// package's others are.
func (s *Store) ReadStats(ctx context.Context) (Stats, error) {
	pipe := s.rdb.Pipeline()
	live := make([]*redis.IntCmd, s.opts.Partitions)
	dead := make([]*redis.IntCmd, s.opts.Partitions)
	for p := range live {
		live[p] = pipe.XLen(ctx, s.keys.stream(p))
		dead[p] = pipe.XLen(ctx, s.keys.dead(p))
	}
	groups := s.queueGroups(ctx, pipe)
	_, _ = pipe.Exec(ctx)
	var st Stats
	// XLEN of a missing stream is 0, never nil.
	for p := range live {
		if err := live[p].Err(); err != nil {
			return Stats{}, classify(err, event.ErrOverloaded, event.ErrUnavailable)
		}
		if err := dead[p].Err(); err != nil {
			return Stats{}, classify(err, event.ErrOverloaded, event.ErrUnavailable)
		}
		st.Backlog += live[p].Val()
		st.DeadLetters += dead[p].Val()
	}
	var err error
	if st.Pending, err = s.sumPending(groups); err != nil {
		return Stats{}, err
	}
	return st, nil
}
