package redisstore

import (
	"strconv"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest/guesttest"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// One guest whose batch touches thousands of hash fields (40 add-to-carts
// of 100 distinct items each: 4,000 cart fields) is folded whole. The
// field lists once went to HMGET/HSET through one Lua unpack, which fails
// past about 8,000 values after the events' dedupe markers were written:
// the retried events then counted as duplicates and were lost.
func TestWideGuestBatchIsFolded(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.Addr(), nil, guesttest.Config(), func(o *Options) { o.Partitions = 1 })
	at := time.Now().Add(-time.Minute)
	evs := make([]event.Event, 40)
	for i := range evs {
		items := make([]string, 100)
		for j := range items {
			items[j] = "w" + strconv.Itoa(i*100+j)
		}
		evs[i] = guesttest.Ev("wide-"+strconv.Itoa(i), "wide", "s", event.TypeAddToCart, at.Add(time.Duration(i)*time.Millisecond), items...)
	}
	guesttest.Send(t, s, evs...) // before the worker starts: one batch
	startWorker(t, s.NewWorker(guesttest.TestCatalog(), nil))
	snap := guesttest.WaitEvents(t, s, "wide", int64(len(evs)))
	if len(snap.RealTime.Cart) != 4000 {
		t.Fatalf("cart holds %d items, want 4000", len(snap.RealTime.Cart))
	}
	waitBacklogZero(t, s)
}
