package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aisle-ai/aisle/bandit"
)

// Arms is the shared bandit.Store: every replica whose Arms use the same
// Redis (and Prefix) learns from the same statistics. It shares the
// Store's client. Safe for concurrent use.
//
// Layout: one hash per surface, <prefix>:bandit:{<surface>}, one field
// per arm holding "pulls:rewards:at_µs". The surface is the hash tag, so
// any key a surface may add later lands in the same Cluster slot.
//
//   - Add runs arms.lua: one HMGET, the Counts.Plus maths (half-life
//     discounting included) in Lua, one HSET; atomic, so concurrent Adds
//     from any number of replicas never lose an update.
//   - Load is one HGETALL and Reset one DEL: single commands, atomic
//     without a script.
//
// Times are kept to the microsecond (a double holds Unix µs exactly until
// 2255); counts as %.17g, which round-trips a float64.
type Arms struct{ s *Store }

// Arms returns the Redis bandit.Store over s's client.
func (s *Store) Arms() *Arms { return &Arms{s: s} }

var _ bandit.Store = (*Arms)(nil)

func (a *Arms) key(surface string) string {
	return a.s.keys.prefix + ":bandit:{" + surface + "}"
}

// Load implements bandit.Store.
func (a *Arms) Load(ctx context.Context, surface string) (map[string]bandit.Counts, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	raw, err := a.s.rdb.HGetAll(ctx, a.key(surface)).Result()
	if err != nil {
		return nil, a.fail(ctx, "load", surface, err)
	}
	out := make(map[string]bandit.Counts, len(raw))
	for arm, v := range raw {
		c, err := parseCounts(v)
		if err != nil {
			return nil, fmt.Errorf("bandit surface %q arm %q: %w", surface, arm, err)
		}
		out[arm] = c
	}
	return out, nil
}

// Add implements bandit.Store. Every increment needs a time: Redis keeps
// it as Unix µs, which has no zero time.
func (a *Arms) Add(ctx context.Context, surface string, halfLife time.Duration, incs ...bandit.Increment) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(incs) == 0 {
		return nil
	}
	args := make([]any, 0, 1+4*len(incs))
	args = append(args, max(halfLife, 0).Microseconds())
	for _, inc := range incs {
		if inc.At.IsZero() {
			return fmt.Errorf("%w: increment of arm %q has no time", bandit.ErrInvalid, inc.Arm)
		}
		args = append(args, inc.Arm, ftoa(inc.Pulls), ftoa(inc.Rewards), inc.At.UnixMicro())
	}
	call := &scriptCall{script: armsScript, keys: []string{a.key(surface)}, args: args}
	a.s.runScripts(ctx, []*scriptCall{call})
	if err := call.cmd.Err(); err != nil {
		return a.fail(ctx, "add to", surface, err)
	}
	return nil
}

// Reset implements bandit.Store.
func (a *Arms) Reset(ctx context.Context, surface string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := a.s.rdb.Del(ctx, a.key(surface)).Err(); err != nil {
		return a.fail(ctx, "reset", surface, err)
	}
	return nil
}

// fail wraps a Redis error; an ended context is passed through so that
// callers see context.Canceled or DeadlineExceeded.
func (a *Arms) fail(ctx context.Context, op, surface string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s bandit surface %q: %w", op, surface, ctxErr)
	}
	if errors.Is(err, redis.ErrPoolTimeout) {
		return fmt.Errorf("%s bandit surface %q: %w: redis overloaded: %s", op, surface, bandit.ErrUnavailable, describe(err))
	}
	return fmt.Errorf("%s bandit surface %q: %w: redis: %s", op, surface, bandit.ErrUnavailable, describe(err))
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// parseCounts reads "pulls:rewards:at_µs".
func parseCounts(v string) (bandit.Counts, error) {
	parts := strings.Split(v, ":")
	if len(parts) != 3 {
		return bandit.Counts{}, fmt.Errorf("malformed counts %q", v)
	}
	p, err1 := strconv.ParseFloat(parts[0], 64)
	r, err2 := strconv.ParseFloat(parts[1], 64)
	at, err3 := strconv.ParseInt(parts[2], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return bandit.Counts{}, fmt.Errorf("malformed counts %q: %w", v, err)
	}
	return bandit.Counts{Pulls: p, Rewards: r, At: time.UnixMicro(at).UTC()}, nil
}
