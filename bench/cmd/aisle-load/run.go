package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// point is one scenario at one concurrency: closed-loop clients, each
// sending its next request when the last one answers.
type point struct {
	Scenario    string         `json:"scenario"`
	Concurrency int            `json:"concurrency"`
	Seconds     float64        `json:"seconds"`
	OK          int            `json:"ok"`
	Errors      map[string]int `json:"errors,omitempty"` // by gRPC code
	// ErrorSample is one error message per code, to tell refusals apart
	// (the adaptive limit, a full queue or event buffer).
	ErrorSample map[string]string `json:"error_samples,omitempty"`
	RPS         float64           `json:"rps"`    // OK responses per second
	P50         float64           `json:"p50_ms"` // over OK responses; 0 when none (OK = 0)
	P99         float64           `json:"p99_ms"`
	ServerCores float64           `json:"server_cores"` // server CPU seconds / wall seconds
	CPUPerReq   float64           `json:"server_cpu_us_per_request"`
	Batches     map[string]int64  `json:"batch_size_hist,omitempty"` // le bucket → batches in the point
	RowsPerBat  float64           `json:"rows_per_batch,omitempty"`
	// Events and EventsPerS count the events of OK RecordEvents calls.
	Events     int     `json:"events,omitempty"`
	EventsPerS float64 `json:"events_per_s,omitempty"`
	// SideCores is the CPU of the process behind the server (redis-server),
	// CPU seconds / wall seconds.
	SideCores float64 `json:"redis_cores,omitempty"`
	// Items is the catalogue size of a catalogue-sweep point.
	Items int `json:"catalog_items,omitempty"`
}

// runPoint drives s at concurrency c for d over conns (clients share them
// round-robin) and measures the server process pid, its metrics and the
// CPU of side (the redis-server; 0 = none).
func runPoint(ctx context.Context, conns []*grpc.ClientConn, s *scenario, c int, d time.Duration, pid, side int, metrics string) (point, error) {
	p := point{Scenario: s.name, Concurrency: c, Errors: map[string]int{}, Items: s.items}
	h0, _ := scrape(metrics, s.model)
	cpu0, side0 := procCPU(pid), procCPU(side)
	lat := make([][]time.Duration, c)
	errs := make([]map[string]int, c)
	units := make([]int, c)
	samples := make([]map[string]string, c)
	var next atomic.Int64
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	t0 := time.Now()
	var wg sync.WaitGroup
	for w := range c {
		errs[w], samples[w] = map[string]int{}, map[string]string{}
		wg.Go(func() {
			cc := conns[w%len(conns)]
			for ctx.Err() == nil {
				m := s.reqs[int(next.Add(1))%len(s.reqs)]
				// Each call has its own deadline past the point's end, so
				// the calls in flight when the point ends finish and count.
				cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
				st := time.Now()
				err := s.call(cctx, cc, m)
				ccancel()
				if err != nil {
					code := status.Code(err).String()
					if errs[w][code]++; errs[w][code] == 1 {
						samples[w][code] = status.Convert(err).Message()
					}
					continue
				}
				lat[w] = append(lat[w], time.Since(st))
				if s.units != nil {
					units[w] += s.units(m)
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(t0).Seconds()
	cpu, sideCPU := procCPU(pid)-cpu0, procCPU(side)-side0
	h1, _ := scrape(metrics, s.model)
	var all []time.Duration
	for w := range c {
		all = append(all, lat[w]...)
		p.Events += units[w]
		for k, v := range errs[w] {
			p.Errors[k] += v
			if _, ok := p.ErrorSample[k]; !ok {
				if p.ErrorSample == nil {
					p.ErrorSample = map[string]string{}
				}
				p.ErrorSample[k] = samples[w][k]
			}
		}
	}
	slices.Sort(all)
	p.Seconds, p.OK = wall, len(all)
	p.RPS = float64(len(all)) / wall
	p.EventsPerS = float64(p.Events) / wall
	p.P50, p.P99 = quantile(all, 0.50), quantile(all, 0.99)
	p.ServerCores, p.SideCores = cpu/wall, sideCPU/wall
	if n := len(all) + sum(p.Errors); n > 0 {
		p.CPUPerReq = cpu / float64(n) * 1e6
	}
	p.Batches, p.RowsPerBat = diffHist(h0, h1)
	if len(p.Errors) == 0 {
		p.Errors = nil
	}
	return p, nil
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// quantile is the q-quantile of sorted in ms, 0 for none: JSON has no NaN,
// and a NaN here made results.json, so the whole report, fail to write
// when a point had no OK call (the tables print "–" for it).
func quantile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(int(math.Ceil(q*float64(len(sorted))))-1, len(sorted)-1)
	return float64(sorted[max(i, 0)]) / 1e6
}

// procCPU is pid's user + system CPU seconds (/proc/<pid>/stat), 0 when
// unreadable or pid is 0.
func procCPU(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100 // USER_HZ is 100 on Linux
}

// hist is one model's aisle_batch_size histogram: cumulative bucket
// counts by le, plus _sum and _count.
type hist struct {
	buckets    map[string]float64
	sum, count float64
}

// scrape reads model's aisle_batch_size series from the /metrics URL.
func scrape(url, model string) (hist, error) {
	h := hist{buckets: map[string]float64{}}
	if model == "" {
		return h, nil
	}
	resp, err := http.Get(url)
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	sel := `model="` + model + `"`
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "aisle_batch_size") || !strings.Contains(l, sel) {
			continue
		}
		sp := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[sp+1:], 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(l, "aisle_batch_size_bucket"):
			i := strings.Index(l, `le="`)
			le := l[i+4 : i+4+strings.IndexByte(l[i+4:], '"')]
			h.buckets[le] += v
		case strings.HasPrefix(l, "aisle_batch_size_sum"):
			h.sum += v
		case strings.HasPrefix(l, "aisle_batch_size_count"):
			h.count += v
		}
	}
	return h, sc.Err()
}

// diffHist turns two cumulative scrapes into batches per bucket (not
// cumulative: "8" = batches of 5–8 rows) and the mean rows per batch.
func diffHist(a, b hist) (map[string]int64, float64) {
	if b.count-a.count <= 0 {
		return nil, 0
	}
	les := make([]string, 0, len(b.buckets))
	for le := range b.buckets {
		les = append(les, le)
	}
	slices.SortFunc(les, func(x, y string) int { return compareLE(x, y) })
	out := map[string]int64{}
	prev := 0.0
	for _, le := range les {
		cum := b.buckets[le] - a.buckets[le]
		if n := cum - prev; n > 0 {
			out[le] = int64(n)
		}
		prev = cum
	}
	return out, (b.sum - a.sum) / (b.count - a.count)
}

func compareLE(x, y string) int {
	fx, _ := strconv.ParseFloat(x, 64) // "+Inf" parses to +Inf
	fy, _ := strconv.ParseFloat(y, 64)
	switch {
	case fx < fy:
		return -1
	case fx > fy:
		return 1
	}
	return 0
}
