package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// report writes results.json (every point), results.md (tables) and the plots.
func report(o options, ss []*scenario, pts []point) error {
	j, err := json.MarshalIndent(pts, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "results.json"), j, 0o644); err != nil {
		return err
	}
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "# aisle load test\n\n%s, %d cores visible to the client (host %s), %s per point, closed-loop compiled Go client sharing the server's cores.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), numCPU(), host, o.dur)
	fmt.Fprintf(&b, "| scenario | RPC | c | ok rps | p50 ms | p99 ms | server cores | server CPU µs/req | rps per server core | rows/batch | errors |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	rpc := map[string]string{}
	for _, s := range ss {
		rpc[s.name] = s.rpc
	}
	for _, p := range pts {
		perCore := 0.0
		if p.ServerCores > 0 {
			perCore = p.RPS / p.ServerCores
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %s | %s | %.2f | %.0f | %.0f | %.1f | %s |\n",
			p.Scenario, rpc[p.Scenario], p.Concurrency, p.RPS, ms(p, p.P50), ms(p, p.P99), p.ServerCores, p.CPUPerReq, perCore, p.RowsPerBat, errText(p.Errors))
	}
	b.WriteString("\n## Best rate with p99 ≤ 50 ms\n\n| scenario | c | ok rps | p99 ms | rps per server core |\n|---|---:|---:|---:|---:|\n")
	for _, s := range ss {
		var best *point
		for i := range pts {
			p := &pts[i]
			if p.Scenario == s.name && p.OK > 0 && p.P99 <= 50 && len(p.Errors) == 0 && (best == nil || p.RPS > best.RPS) {
				best = p
			}
		}
		if best != nil {
			fmt.Fprintf(&b, "| %s | %d | %.0f | %.2f | %.0f |\n", s.name, best.Concurrency, best.RPS, best.P99, best.RPS/max(best.ServerCores, 1e-9))
		}
	}
	eventsTable(&b, ss, pts)
	catalogTable(&b, pts)
	errorSamples(&b, pts)
	files, err := plots(o.out, ss, pts)
	if err != nil {
		return err
	}
	b.WriteString("\n## Plots\n\n")
	for _, f := range files {
		fmt.Fprintf(&b, "- [%s](%s)\n", f, f)
	}
	return os.WriteFile(filepath.Join(o.out, "results.md"), []byte(b.String()), 0o644)
}

// ms formats a latency of p in ms, "–" when p had no OK call to measure.
func ms(p point, v float64) string {
	if p.OK == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", v)
}

func errText(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	ks := make([]string, 0, len(m))
	for k, v := range m {
		ks = append(ks, fmt.Sprintf("%s %d", k, v))
	}
	slices.Sort(ks)
	return strings.Join(ks, ", ")
}

// eventsTable adds the RecordEvents points: events per second and the
// server's CPU per event besides the per-call figures.
func eventsTable(b *strings.Builder, ss []*scenario, pts []point) {
	ev := map[string]bool{}
	for _, s := range ss {
		ev[s.name] = s.units != nil
	}
	head := false
	for _, p := range pts {
		if !ev[p.Scenario] {
			continue
		}
		if !head {
			b.WriteString("\n## RecordEvents\n\nEvents/s count the events of OK calls (acknowledged: in the event log; folding follows). Redis: redis-server's own CPU.\n\n" +
				"| scenario | c | ok calls/s | events/s | p50 ms | p99 ms | server cores | server CPU µs/event | redis cores | redis CPU µs/event | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
			head = true
		}
		perEvent, redisPerEvent := 0.0, 0.0
		if p.Events > 0 {
			perEvent = p.ServerCores * p.Seconds / float64(p.Events) * 1e6
			redisPerEvent = p.SideCores * p.Seconds / float64(p.Events) * 1e6
		}
		redis := " | "
		if p.SideCores > 0 {
			redis = fmt.Sprintf("%.2f | %.1f", p.SideCores, redisPerEvent)
		}
		fmt.Fprintf(b, "| %s | %d | %.0f | %.0f | %s | %s | %.2f | %.1f | %s | %s |\n",
			p.Scenario, p.Concurrency, p.RPS, p.EventsPerS, ms(p, p.P50), ms(p, p.P99), p.ServerCores, perEvent, redis, errText(p.Errors))
	}
}

// catalogTable adds the catalogue sweep, smallest catalogue first.
func catalogTable(b *strings.Builder, pts []point) {
	var cs []point
	for _, p := range pts {
		if p.Items > 0 {
			cs = append(cs, p)
		}
	}
	if len(cs) == 0 {
		return
	}
	slices.SortStableFunc(cs, func(x, y point) int { return x.Items - y.Items })
	b.WriteString("\n## Cost vs catalogue size (Recommend, search surface)\n\n| items | c | ok rps | p50 ms | p99 ms | server cores | server CPU µs/req | errors |\n|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, p := range cs {
		fmt.Fprintf(b, "| %d | %d | %.0f | %s | %s | %.2f | %.0f | %s |\n",
			p.Items, p.Concurrency, p.RPS, ms(p, p.P50), ms(p, p.P99), p.ServerCores, p.CPUPerReq, errText(p.Errors))
	}
}

// errorSamples lists one message per scenario and error code (the first
// point that had it), so refusals can be told apart.
func errorSamples(b *strings.Builder, pts []point) {
	seen := map[string]bool{}
	head := false
	for _, p := range pts {
		codes := make([]string, 0, len(p.ErrorSample))
		for c := range p.ErrorSample {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		for _, c := range codes {
			if k := p.Scenario + "/" + c; !seen[k] {
				seen[k] = true
				if !head {
					b.WriteString("\n## Errors (one message per scenario and code)\n\n| scenario | code | first at c | message |\n|---|---|---:|---|\n")
					head = true
				}
				fmt.Fprintf(b, "| %s | %s | %d | %s |\n", p.Scenario, c, p.Concurrency, strings.ReplaceAll(p.ErrorSample[c], "|", "\\|"))
			}
		}
	}
}
