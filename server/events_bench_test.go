package server

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/aisle-ai/aisle/guest"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
)

// Event benchmarks: RecordEvents over loopback gRPC into the in-process
// store and into a real redis-server (AOF, appendfsync always) with one
// in-process fold worker. Cheap at -benchtime 1x (one batch).

var eventBackends = []struct {
	name  string
	start func(testing.TB) (aislepb.EventsClient, guest.Store)
}{
	{"memory", memoryEventsStore},
	{"redis", func(t testing.TB) (aislepb.EventsClient, guest.Store) { return redisEventsStore(t) }},
	// The price of "acknowledged = fsynced": everysec acknowledges what a
	// process crash keeps but a power loss may not.
	{"redis-everysec", func(t testing.TB) (aislepb.EventsClient, guest.Store) {
		return redisEventsStore(t, "--appendfsync", "everysec")
	}},
}

const benchGuests = 100

func benchBatch(prefix string, n int, at time.Time) []*aislepb.Event {
	evs := make([]*aislepb.Event, n)
	types := []aislepb.EventType{aislepb.EventType_EVENT_TYPE_VIEW, aislepb.EventType_EVENT_TYPE_CLICK, aislepb.EventType_EVENT_TYPE_ADD_TO_CART}
	for i := range evs {
		evs[i] = &aislepb.Event{EventId: prefix + "-" + strconv.Itoa(i), GuestId: "bench-" + strconv.Itoa(i%benchGuests),
			SessionId: "s", Type: types[i%len(types)], ItemIds: []string{strconv.Itoa(1 + i%6)}, Timestamp: timestamppb.New(at)}
	}
	return evs
}

// BenchmarkEventsIngest: events/s from RecordEvents (batches of 100, four
// concurrent senders) until every event is folded into the aggregates.
func BenchmarkEventsIngest(b *testing.B) {
	for _, be := range eventBackends {
		b.Run(be.name, func(b *testing.B) {
			c, store := be.start(b)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			before := foldedTotal(ctx, b, store)
			const senders, size = 4, 100
			at := time.Now()
			var accepted, failed atomic.Int64
			b.ResetTimer()
			var wg sync.WaitGroup
			for s := range senders {
				wg.Go(func() {
					for i := s; i < b.N; i += senders {
						// A failed batch (UNAVAILABLE when the shared machine
						// stalls Redis past the append timeout) is counted,
						// not retried.
						resp, err := c.RecordEvents(ctx, &aislepb.RecordEventsRequest{Events: benchBatch(fmt.Sprintf("%s-%d-%d", b.Name(), b.N, i), size, at)})
						if err != nil {
							failed.Add(1)
							continue
						}
						accepted.Add(int64(resp.Accepted))
					}
				})
			}
			wg.Wait()
			want := before + accepted.Load()
			for !b.Failed() && foldedTotal(ctx, b, store) < want && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(accepted.Load())/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(failed.Load()), "failed-batches")
		})
	}
}

// foldedTotal sums the folded-event counts of the benchmark guests.
func foldedTotal(ctx context.Context, b *testing.B, s guest.Store) int64 {
	var n int64
	for g := range benchGuests {
		snap, err := s.Snapshot(ctx, "bench-"+strconv.Itoa(g))
		if err != nil {
			b.Fatal(err)
		}
		n += snap.RealTime.Events
	}
	return n
}

// BenchmarkEventsFreshness: at 5,000 events/s (batches of 50 every 10 ms),
// the time from a batch's acknowledgement until its probe guest's event is
// visible in features. One op is one batch; -benchtime 500x is 5 s of load.
func BenchmarkEventsFreshness(b *testing.B) {
	for _, be := range eventBackends {
		b.Run(be.name, func(b *testing.B) {
			c, store := be.start(b)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			lat := make([]time.Duration, b.N)
			var wg sync.WaitGroup
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			run := strconv.FormatInt(time.Now().UnixNano(), 36)
			failed := 0
			b.ResetTimer()
			for i := range b.N {
				<-tick.C
				evs := benchBatch(run+"-"+strconv.Itoa(i), 50, time.Now())
				probe := "probe-" + run + "-" + strconv.Itoa(i)
				evs[49].GuestId = probe
				resp, err := c.RecordEvents(ctx, &aislepb.RecordEventsRequest{Events: evs})
				if err != nil || resp.Accepted != 50 {
					failed++ // see BenchmarkEventsIngest
					lat[i] = -1
					continue
				}
				acked := time.Now()
				wg.Go(func() {
					for ctx.Err() == nil {
						if snap, err := store.Snapshot(ctx, probe); err == nil && snap.RealTime.Events > 0 {
							lat[i] = time.Since(acked)
							return
						}
						time.Sleep(100 * time.Microsecond)
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			lat = slices.DeleteFunc(lat, func(d time.Duration) bool { return d < 0 })
			b.ReportMetric(float64(failed), "failed-batches")
			if len(lat) == 0 {
				return
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkFeatureRead: one guest's features through the ranking reader
// (one round trip, decay and merge), the guest having folded 300 events.
func BenchmarkFeatureRead(b *testing.B) {
	for _, be := range eventBackends {
		b.Run(be.name, func(b *testing.B) {
			c, store := be.start(b)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			for i := range 3 {
				if _, err := c.RecordEvents(ctx, &aislepb.RecordEventsRequest{Events: benchBatch("read-"+strconv.Itoa(i), 100, time.Now())}); err != nil {
					b.Fatal(err)
				}
			}
			for foldedTotal(ctx, b, store) < 300 {
				time.Sleep(time.Millisecond)
			}
			r := guest.NewReader(store, guest.Config{}, time.Second, nil)
			lat := make([]time.Duration, b.N)
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				f, err := r.Features(ctx, "bench-7")
				lat[i] = time.Since(start)
				if err != nil || !f.Found {
					b.Fatalf("read: %v", err)
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "p50-µs")
			b.ReportMetric(float64(lat[(len(lat)*99)/100].Nanoseconds())/1000, "p99-µs")
		})
	}
}
