package redisstore

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aisle-ai/aisle/guest/guesttest"
	"github.com/aisle-ai/aisle/redisstore/redistest"
)

// BenchmarkRedisCPUPerEvent appends batches of 100 events (no gRPC) and
// waits until one worker has folded them, then reports redis-server's own
// CPU time per event (INFO cpu, user+sys of the server process): the
// figure that bounds throughput per Redis core whatever else the machine
// runs. One op is one batch. Guests: "new" makes every event a new
// guest's (the worst case: every fold creates keys); "100" spreads the
// events over 100 guests, as the server benchmarks do, so a batch holds
// several events of one guest.
func BenchmarkRedisCPUPerEvent(b *testing.B) {
	for _, fsync := range []string{"always", "everysec"} {
		for _, guests := range []string{"new", "100"} {
			b.Run(fsync+"/guests="+guests, func(b *testing.B) { benchRedisCPU(b, fsync, guests) })
		}
	}
}

func benchRedisCPU(b *testing.B, fsync, guests string) {
	srv := redistest.Start(b, "--appendfsync", fsync)
	s := newStore(b, srv.Addr(), nil, guesttest.Config(), func(o *Options) { o.Partitions = 16 })
	startWorker(b, s.NewWorker(guesttest.TestCatalog(), nil))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cpu0 := serverCPU(ctx, b, s)
	at := time.Now().Add(-time.Minute)
	b.ResetTimer()
	for i := range b.N {
		evs := batch("cpu"+strconv.Itoa(i), 100, 100, at.Add(time.Duration(i)*100*time.Millisecond))
		if guests != "new" {
			for j := range evs {
				evs[j].GuestID = "cpu-g" + strconv.Itoa(j)
			}
		}
		guesttest.Send(b, s, evs...)
	}
	for {
		n, err := s.Backlog(ctx)
		if err == nil && n == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	events := float64(b.N * 100)
	b.ReportMetric((serverCPU(ctx, b, s)-cpu0)*1e6/events, "redis-cpu-µs/event")
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
}

// serverCPU is redis-server's used_cpu_user + used_cpu_sys in seconds.
func serverCPU(ctx context.Context, b *testing.B, s *Store) float64 {
	info, err := s.rdb.Info(ctx, "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			f, _ := strconv.ParseFloat(v, 64)
			sum += f
		}
	}
	return sum
}
