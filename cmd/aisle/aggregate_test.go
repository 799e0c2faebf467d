package main

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest/guesttest"
	"github.com/aisle-ai/aisle/redisstore"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// aisle aggregate folds what an ingest-only replica (no worker) appended,
// and it waits for Redis when started before it.
func TestAggregateCommandFolds(t *testing.T) {
	srv := redistest.Start(t)
	srv.Kill() // aggregate starts first and must wait
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	actx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := aggregateCmd(actx, []string{"--redis-addr", srv.Addr(), "--models", filepath.Join("..", "..", "models"), "--log-level", "error"}); err != nil {
			t.Error(err)
		}
	})
	defer func() { stop(); wg.Wait() }()
	srv.Restart()
	ingest, err := redisstore.New(redisstore.Options{Addr: srv.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer ingest.Close()
	now := time.Now()
	guesttest.Send(t, ingest,
		guesttest.Ev("a1", "guest-agg", "s1", event.TypeClick, now, "166"),
		guesttest.Ev("a2", "guest-agg", "s1", event.TypeAddToCart, now, "167"))
	snap := guesttest.WaitEvents(t, ingest, "guest-agg", 2)
	if snap.RealTime.Cart["167"] != 1 || snap.RealTime.Counters["cat|whole milk"] != 1 {
		t.Fatalf("folded state %+v: want the Groceries attributes from models/", snap.RealTime)
	}
}
