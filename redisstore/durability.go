package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/aisle-ai/aisle/event"
)

// ErrNotDurable means a Redis server's configuration breaks the store's
// promise that an acknowledged event survives a crash of Redis.
var ErrNotDurable = errors.New("redis is not configured for durable events")

// ErrConfigUnavailable means Redis refuses CONFIG GET (managed services
// often rename or forbid it), so the durability settings cannot be
// checked.
var ErrConfigUnavailable = errors.New("redis CONFIG GET is not available")

// durabilityRule is one setting the store's promise needs.
type durabilityRule struct {
	name string
	ok   []string
	// why is what goes wrong otherwise; fix is the remedy.
	why, fix string
}

// durabilityRules: an append is acknowledged after Redis wrote it to the
// AOF (appendonly yes) and fsynced it (appendfsync always; everysec, as
// documented, loses at most the last second in a power cut but not in a
// crash of Redis alone), and Redis never evicts the streams, the dedupe
// markers or the features to make room (noeviction: a full Redis refuses
// writes with OOM, which the store reports and the workers retry).
var durabilityRules = []durabilityRule{
	{"appendonly", []string{"yes"},
		"acknowledged events live only in memory and are lost when Redis restarts",
		"CONFIG SET appendonly yes and appendonly yes in redis.conf"},
	{"appendfsync", []string{"always", "everysec"},
		"acknowledged events may be lost in a crash of the host (the AOF is not fsynced)",
		"CONFIG SET appendfsync always (or everysec) and the same in redis.conf"},
	{"maxmemory-policy", []string{"noeviction"},
		"a full Redis evicts unfolded events, dedupe markers and features instead of refusing writes",
		"CONFIG SET maxmemory-policy noeviction and the same in redis.conf"},
}

// configRefused reports whether err is Redis refusing CONFIG GET itself:
// an ACL without it (NOPERM) or CONFIG renamed away (ERR unknown command).
// Any other reply (LOADING right after a restart from the AOF, BUSY under
// a long script, OOM...) is Redis not ready, not the command missing: the
// check must say so rather than warn that CONFIG is unavailable.
func configRefused(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	msg := rerr.Error()
	return strings.HasPrefix(msg, "NOPERM") || strings.HasPrefix(msg, "ERR unknown command") ||
		strings.HasPrefix(msg, "ERR unknown subcommand")
}

// CheckDurability reads appendonly, appendfsync and maxmemory-policy with
// CONFIG GET on the server (on every master of a Cluster) and fails with
// ErrNotDurable, naming each setting, the server and the fix, when one
// contradicts the store's durability promise (see durabilityRules). It
// fails with ErrConfigUnavailable when a server refuses CONFIG GET
// (configRefused), and with event.ErrUnavailable when one cannot be
// reached or answers with any other error (loading, busy).
func (s *Store) CheckDurability(ctx context.Context) error {
	var mu sync.Mutex // guards problems and refused (ForEachMaster runs nodes concurrently)
	var problems []string
	var refused error
	check := func(ctx context.Context, c *redis.Client) error {
		pipe := c.Pipeline()
		cmds := make([]*redis.MapStringStringCmd, len(durabilityRules))
		for i, r := range durabilityRules {
			cmds[i] = pipe.ConfigGet(ctx, r.name)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			if configRefused(err) {
				mu.Lock()
				refused = fmt.Errorf("%w on %s: %v", ErrConfigUnavailable, c.Options().Addr, err)
				mu.Unlock()
				return nil
			}
			return classify(err, event.ErrUnavailable, event.ErrUnavailable)
		}
		for i, r := range durabilityRules {
			got := cmds[i].Val()[r.name]
			if !slices.Contains(r.ok, got) {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s on %s is %q, want %s: %s; fix: %s",
					r.name, c.Options().Addr, got, strings.Join(r.ok, " or "), r.why, r.fix))
				mu.Unlock()
			}
		}
		return nil
	}
	var err error
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, check)
	} else {
		err = check(ctx, s.rdb.(*redis.Client))
	}
	switch {
	case err != nil:
		return err
	case len(problems) > 0:
		return fmt.Errorf("%w: %s", ErrNotDurable, strings.Join(problems, "; "))
	}
	return refused
}
