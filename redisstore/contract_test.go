package redisstore

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/guest"
	"github.com/aisle-ai/aisle/guest/guesttest"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// startWorker runs w until the test ends.
func startWorker(t testing.TB, w *Worker) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = w.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// newStore connects to a single server (addr) or a cluster (addrs).
func newStore(t testing.TB, addr string, cluster []string, cfg guest.Config, tweak func(*Options)) *Store {
	t.Helper()
	o := Options{Addr: addr, ClusterAddrs: cluster, Features: cfg, Partitions: 8, MinIdle: 200 * time.Millisecond,
		ClaimEvery: 50 * time.Millisecond, Block: 50 * time.Millisecond}
	if tweak != nil {
		tweak(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func backend(s *Store) guesttest.Backend {
	return guesttest.Backend{Log: s, Store: s, LongTerm: s}
}

func TestContractSingle(t *testing.T) {
	srv := redistest.Start(t)
	guesttest.Run(t, func(t *testing.T, attrs guest.ItemAttributes, cfg guest.Config) guesttest.Backend {
		s := newStore(t, srv.Addr(), nil, cfg, nil)
		startWorker(t, s.NewWorker(attrs, nil))
		return backend(s)
	})
}

func TestContractCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	guesttest.Run(t, func(t *testing.T, attrs guest.ItemAttributes, cfg guest.Config) guesttest.Backend {
		s := newStore(t, "", c.Addrs(), cfg, nil)
		// Two workers in one group, as two aisle aggregate processes.
		startWorker(t, s.NewWorker(attrs, nil))
		s2 := newStore(t, "", c.Addrs(), cfg, func(o *Options) { o.Consumer = "second" })
		startWorker(t, s2.NewWorker(attrs, nil))
		return backend(s)
	})
}

func TestCheckPartitions(t *testing.T) {
	srv := redistest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	a := newStore(t, srv.Addr(), nil, guest.Config{}, func(o *Options) { o.Partitions = 16 })
	b := newStore(t, srv.Addr(), nil, guest.Config{}, func(o *Options) { o.Partitions = 8 })
	if err := a.CheckPartitions(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.CheckPartitions(ctx); err != nil {
		t.Fatalf("same count again: %v", err)
	}
	if err := b.CheckPartitions(ctx); !errors.Is(err, ErrPartitions) {
		t.Fatalf("different count: %v, want ErrPartitions", err)
	}
}

// Backlog, Pending and DeadLetters are the tests' readings of one of
// ReadStats's figures.
func (s *Store) Backlog(ctx context.Context) (int64, error) {
	st, err := s.ReadStats(ctx)
	return st.Backlog, err
}

func (s *Store) Pending(ctx context.Context) (int64, error) {
	st, err := s.ReadStats(ctx)
	return st.Pending, err
}

func (s *Store) DeadLetters(ctx context.Context) (int64, error) {
	st, err := s.ReadStats(ctx)
	return st.DeadLetters, err
}
