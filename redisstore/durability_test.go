package redisstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest/guesttest"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// Each setting that breaks the promise is refused by name, with its fix;
// the test harness's own servers (AOF, appendfsync always, noeviction)
// and everysec pass; a server without CONFIG is reported as such.
func TestCheckDurability(t *testing.T) {
	for _, c := range []struct {
		args []string
		want error
		name string
	}{
		{nil, nil, ""},
		{[]string{"--appendfsync", "everysec"}, nil, ""},
		{[]string{"--appendonly", "no"}, ErrNotDurable, `appendonly on 127.0.0.1:`},
		{[]string{"--appendfsync", "no"}, ErrNotDurable, `appendfsync on 127.0.0.1:`},
		{[]string{"--maxmemory-policy", "allkeys-lru"}, ErrNotDurable, `maxmemory-policy on 127.0.0.1:`},
		{[]string{"--rename-command", "CONFIG", ""}, ErrConfigUnavailable, "CONFIG"},
	} {
		srv := redistest.Start(t, c.args...)
		s := newStore(t, srv.Addr(), nil, guesttest.Config(), nil)
		err := s.CheckDurability(t.Context())
		if !errors.Is(err, c.want) || (c.want != nil && !strings.Contains(err.Error(), c.name)) {
			t.Errorf("%v: %v, want %v naming %q", c.args, err, c.want, c.name)
		}
		if c.want == ErrNotDurable && !strings.Contains(err.Error(), "fix: CONFIG SET") {
			t.Errorf("%v: %v does not give the fix", c.args, err)
		}
	}
}

// Every master of a Cluster is checked: one node without the AOF fails
// the check.
func TestCheckDurabilityCluster(t *testing.T) {
	cl := redistest.StartCluster(t)
	s := newStore(t, "", cl.Addrs(), guesttest.Config(), nil)
	if err := s.CheckDurability(t.Context()); err != nil {
		t.Fatal(err)
	}
	one := redis.NewClient(&redis.Options{Addr: cl.Nodes[1].Addr()})
	defer one.Close()
	if err := one.ConfigSet(context.Background(), "appendonly", "no").Err(); err != nil {
		t.Fatal(err)
	}
	err := s.CheckDurability(t.Context())
	if !errors.Is(err, ErrNotDurable) || !strings.Contains(err.Error(), "appendonly on "+cl.Nodes[1].Addr()) {
		t.Fatalf("%v, want ErrNotDurable naming appendonly on %s", err, cl.Nodes[1].Addr())
	}
}

// Only a refusal of CONFIG itself is ErrConfigUnavailable: an ACL without
// it (NOPERM) is, a Redis busy with a long script (BUSY, like LOADING
// after a restart) is not ready: event.ErrUnavailable naming the reply.
// (Before, any error reply read as "CONFIG GET refused".)
func TestCheckDurabilityRedisNotReady(t *testing.T) {
	srv := redistest.Start(t, "--busy-reply-threshold", "10")
	s := newStore(t, srv.Addr(), nil, guesttest.Config(), nil)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer admin.Close()
	busy := make(chan error, 1)
	go func() { busy <- admin.Eval(ctx, "while true do end", nil).Err() }()
	for {
		err := s.rdb.Ping(ctx).Err()
		if err != nil && strings.HasPrefix(err.Error(), "BUSY") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("redis never got busy: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	err := s.CheckDurability(ctx)
	if !errors.Is(err, event.ErrUnavailable) || errors.Is(err, ErrConfigUnavailable) || !strings.Contains(err.Error(), "BUSY") {
		t.Errorf("busy redis: %v, want event.ErrUnavailable naming BUSY", err)
	}
	other := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer other.Close()
	if err := other.ScriptKill(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	<-busy
	if err := other.Do(ctx, "ACL", "SETUSER", "default", "-config").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckDurability(ctx); !errors.Is(err, ErrConfigUnavailable) || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("CONFIG denied by ACL: %v, want ErrConfigUnavailable naming NOPERM", err)
	}
}
