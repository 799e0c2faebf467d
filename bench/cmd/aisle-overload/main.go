// Command aisle-overload drives one unary RPC of a running aisle server,
// closed loop (--c workers, each sending its next call when the last one
// answers) or open loop (--rps: calls started on a fixed schedule whatever
// the answers, as a crowd of independent clients would), over several
// gRPC connections, and prints one line of results:
//
//	sent ok resource_exhausted other ok_rps ok_p50_ms ok_p99_ms refused_p50_ms refused_p99_ms lag_ms unsent
//
// ok_rps is the OK calls over the time from the first call to the last
// answer (ghz's "total"); lag_ms is how far behind its schedule the open
// loop started a call, at most (the client's own CPU shortfall: a large lag
// means the offered rate was not reached); unsent counts the open loop's
// calls not sent because --c were already outstanding (ghz's workers cap
// it the same way, without saying so). It is the compiled counterpart
// of the ghz runs in scripts/bench/overload.sh (LOADGEN=go), for a load
// generator that takes less of the cores it shares with the server:
// the request is the same protojson (-d) ghz sends.
//
// aisle-load (../aisle-load) is the scenario suite; it starts its own
// server and sweeps closed-loop concurrencies, so the overload script's
// phases (capacity, before, 3× open loop, recovery against one server it
// started itself) have this separate, smaller command.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	pb "github.com/aisle-ai/aisle/proto/inference"
)

// methods are the RPCs it can send: full method name → fresh request and
// response messages.
var methods = map[string]func() (req, resp proto.Message){
	"/inference.GRPCInferenceService/ModelInfer": func() (proto.Message, proto.Message) {
		return &pb.ModelInferRequest{}, &pb.ModelInferResponse{}
	},
	"/aisle.v1.Personalization/RecommendCart": func() (proto.Message, proto.Message) {
		return &aislepb.RecommendCartRequest{}, &aislepb.RecommendCartResponse{}
	},
	"/aisle.v1.Personalization/EmbedQuery": func() (proto.Message, proto.Message) {
		return &aislepb.EmbedQueryRequest{}, &aislepb.EmbedQueryResponse{}
	},
}

// unsent marks a call the open loop did not send (not a gRPC code).
const unsent = codes.Code(1000)

// result is one call: its latency and code.
type result struct {
	lat  time.Duration
	code codes.Code
}

func main() {
	addr := flag.String("addr", "", "server host:port (required)")
	call := flag.String("call", "", "full method, e.g. /aisle.v1.Personalization/RecommendCart")
	data := flag.String("d", "", "the request as protojson")
	rps := flag.Float64("rps", 0, "open loop: calls started per second (0: closed loop of --c workers)")
	conc := flag.Int("c", 16, "closed loop: workers; open loop: most calls outstanding (past it a call is not sent and counts as unsent)")
	dur := flag.Duration("z", 2*time.Second, "how long calls are started")
	conns := flag.Int("conns", 4, "gRPC connections, shared round-robin")
	timeout := flag.Duration("t", 20*time.Second, "deadline of one call")
	flag.Parse()
	if *conns < 1 || *conc < 1 {
		log.Fatalf("aisle-overload: -conns %d, -c %d: want at least 1 each", *conns, *conc)
	}
	mk, ok := methods[*call]
	if *addr == "" || !ok {
		log.Fatalf("aisle-overload: need --addr and --call, one of %v", slices.Sorted(maps.Keys(methods)))
	}
	req, _ := mk()
	if err := protojson.Unmarshal([]byte(*data), req); err != nil {
		log.Fatalf("aisle-overload: -d: %v", err)
	}
	ccs := make([]*grpc.ClientConn, *conns)
	for i := range ccs {
		cc, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			log.Fatal(err)
		}
		defer cc.Close()
		cc.Connect()
		ccs[i] = cc
	}
	one := func(i int) result {
		_, resp := mk()
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		st := time.Now()
		err := ccs[i%len(ccs)].Invoke(ctx, *call, req, resp)
		return result{time.Since(st), status.Code(err)}
	}
	var res []result
	var lag time.Duration
	t0 := time.Now()
	if *rps > 0 {
		res, lag = openLoop(one, *rps, *dur, *conc)
	} else {
		res = closedLoop(one, *conc, *dur)
	}
	span := time.Since(t0)
	fmt.Println(summary(res, span, lag))
}

// openLoop starts call i at t0 + i/rps for dur, each in its own goroutine,
// at most limit outstanding; it returns when every call has answered.
func openLoop(one func(int) result, rps float64, dur time.Duration, limit int) ([]result, time.Duration) {
	n := int(rps * dur.Seconds())
	res := make([]result, n)
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	t0 := time.Now()
	var lag time.Duration
	for i := range n {
		due := t0.Add(time.Duration(float64(i) / rps * 1e9))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		} else {
			lag = max(lag, -d)
		}
		select {
		case sem <- struct{}{}:
		default:
			res[i] = result{code: unsent} // limit calls outstanding
			continue
		}
		wg.Go(func() {
			res[i] = one(i)
			<-sem
		})
	}
	wg.Wait()
	return res, lag
}

// closedLoop runs c workers for dur.
func closedLoop(one func(int) result, c int, dur time.Duration) []result {
	per := make([][]result, c)
	var next atomic.Int64
	end := time.Now().Add(dur)
	var wg sync.WaitGroup
	for w := range c {
		wg.Go(func() {
			for time.Now().Before(end) {
				per[w] = append(per[w], one(int(next.Add(1))))
			}
		})
	}
	wg.Wait()
	return slices.Concat(per...)
}

func summary(res []result, span time.Duration, lag time.Duration) string {
	var ok, re []time.Duration
	other, notSent := 0, 0
	for _, r := range res {
		switch r.code {
		case unsent:
			notSent++
		case codes.OK:
			ok = append(ok, r.lat)
		case codes.ResourceExhausted:
			re = append(re, r.lat)
		default:
			other++
		}
	}
	slices.Sort(ok)
	slices.Sort(re)
	return fmt.Sprintf("%d %d %d %d %.0f %.1f %.1f %.2f %.2f %.1f %d", len(res)-notSent, len(ok), len(re), other,
		float64(len(ok))/span.Seconds(), pct(ok, 50), pct(ok, 99), pct(re, 50), pct(re, 99),
		float64(lag)/1e6, notSent)
}

// pct is the p-th percentile in ms (the script's rule: index p/100·n).
func pct(sorted []time.Duration, p int) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	return float64(sorted[min(len(sorted)-1, len(sorted)*p/100)]) / 1e6
}
