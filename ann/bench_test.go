package ann

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/aisle-ai/aisle/internal/synthvec"
)

// Benchmark sizes come from AISLE_ANN_BENCH, a comma-separated list of
// NxDIM (N with k or M suffix), e.g.
//
//	AISLE_ANN_BENCH=50kx64,1Mx128 go test -run '^$' -bench Index -benchtime 2000x -timeout 2h ./ann/
//
// plus the word "crossover" for the exact-versus-graph sizes behind
// DefaultFlatBelow. Unset, one 2k×32 set keeps `make test`'s -benchtime 1x
// smoke run under a few seconds. AISLE_ANN_EFC sets EfConstruction (default
// DefaultEfConstruction).
func benchSpecs(b *testing.B) (sizes [][2]int, crossover bool) {
	env := os.Getenv("AISLE_ANN_BENCH")
	if env == "" {
		return [][2]int{{2000, 32}}, false
	}
	for f := range strings.SplitSeq(env, ",") {
		if f == "crossover" {
			crossover = true
			continue
		}
		ns, ds, ok := strings.Cut(strings.ToLower(f), "x")
		mult := 1
		switch {
		case strings.HasSuffix(ns, "k"):
			mult, ns = 1000, strings.TrimSuffix(ns, "k")
		case strings.HasSuffix(ns, "m"):
			mult, ns = 1000000, strings.TrimSuffix(ns, "m")
		}
		n, err1 := strconv.Atoi(ns)
		d, err2 := strconv.Atoi(ds)
		if !ok || err1 != nil || err2 != nil {
			b.Fatalf("AISLE_ANN_BENCH: %q is not NxDIM", f)
		}
		sizes = append(sizes, [2]int{n * mult, d})
	}
	return sizes, crossover
}

// BenchmarkIndex builds a graph over clustered synthetic vectors (100
// clusters per 20k items, L2) and reports, per search ef and filter, the
// single-thread query latency (ns/op), recall@10 against exact search and
// the speed-up over exact search ("x_exact"). Build time and memory are
// logged.
func BenchmarkIndex(b *testing.B) {
	sizes, _ := benchSpecs(b)
	for _, sz := range sizes {
		n, dim := sz[0], sz[1]
		b.Run(fmt.Sprintf("n=%d/dim=%d", n, dim), func(b *testing.B) { benchIndex(b, n, dim) })
	}
}

func benchIndex(b *testing.B, n, dim int) {
	clusters := synthvec.Clusters(n)
	vecs := clustered(n, dim, clusters, 1)
	nq := synthvec.Queries(n)
	queries := rows(clustered(nq, dim, clusters, 2), dim)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	t0, c0 := time.Now(), cpuSeconds()
	efc, _ := strconv.Atoi(os.Getenv("AISLE_ANN_EFC"))
	ix := mustBuild(b, vecs, dim, Config{Metric: L2, Kind: Graph, Seed: 1, EfConstruction: efc})
	build, buildCPU := time.Since(t0), cpuSeconds()-c0
	runtime.GC()
	runtime.ReadMemStats(&after)
	ex := mustBuild(b, vecs, dim, Config{Metric: L2, Kind: Flat})
	vecs = nil
	runtime.LockOSThread()
	t0, c0 = time.Now(), threadCPU()
	for _, q := range queries {
		if _, err := ex.Search(Query{Vector: q, K: 10}); err != nil {
			b.Fatal(err)
		}
	}
	exactNs, exactCPU := float64(time.Since(t0).Nanoseconds())/float64(nq), (threadCPU()-c0)*1e9/float64(nq)
	runtime.UnlockOSThread()
	// Printed, not logged: a parent benchmark's log is dropped.
	fmt.Printf("n=%d dim=%d efConstruction=%d: build %.1fs wall, %.1fs CPU on %d workers, heap +%.0f MiB (Bytes %.0f MiB), exact query %.2f ms wall, %.2f ms CPU\n",
		n, dim, ix.cfg.EfConstruction, build.Seconds(), buildCPU, ix.cfg.Workers, float64(after.HeapAlloc-before.HeapAlloc)/(1<<20),
		float64(ix.Bytes())/(1<<20), exactNs/1e6, exactCPU/1e6)

	// The exact answers are computed once per filter and shared by the
	// sub-benchmarks: at 1M each costs ~50 ms.
	truths := map[int][]map[int]bool{}
	truth := func(p int) []map[int]bool {
		if t, ok := truths[p]; ok {
			return t
		}
		t := make([]map[int]bool, nq)
		for i, v := range queries {
			q := Query{Vector: v, K: 10}
			if p >= 0 {
				q.Allow = synthvec.AllowPercent(p)
			}
			res, err := ex.Search(q)
			if err != nil {
				b.Fatal(err)
			}
			t[i] = map[int]bool{}
			for _, r := range res {
				t[i][r.Row] = true
			}
		}
		truths[p] = t
		return t
	}
	run := func(name string, ix *Index, ef, p int) {
		mk := func(v []float32) Query {
			q := Query{Vector: v, K: 10, Ef: ef}
			if p >= 0 {
				q.Allow = synthvec.AllowPercent(p)
			}
			return q
		}
		want := truth(p)
		b.Run(name, func(b *testing.B) {
			hits, total := 0, 0
			for i, v := range queries {
				res, err := ix.Search(mk(v))
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range res {
					if want[i][r.Row] {
						hits++
					}
				}
				total += len(want[i])
			}
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c0 := threadCPU()
			b.ResetTimer()
			for i := range b.N {
				if _, err := ix.Search(mk(queries[i%nq])); err != nil {
					b.Fatal(err)
				}
			}
			cpu := (threadCPU() - c0) * 1e9 / float64(b.N)
			b.ReportMetric(float64(hits)/float64(total), "recall@10")
			b.ReportMetric(cpu, "cpu-ns/op")
			b.ReportMetric(exactCPU/cpu, "x_exact")
		})
	}
	for _, ef := range []int{16, 32, 64, 96, 128, 256} {
		run(fmt.Sprintf("ef=%d", ef), ix, ef, -1) // no filter
	}
	// Filtered queries at the default ef: the index's own choice, then each
	// strategy forced, to check the cost model of scanCheaper. 100% is a
	// predicate that allows everything (the walk with a filter's overhead).
	walk, scan := ix.forced(forceWalk), ix.forced(forceScan)
	for _, p := range []int{1, 2, 5, 10, 20, 30, 50, 100} {
		run(fmt.Sprintf("filter=%d%%/auto", p), ix, 0, p)
		if p <= 30 {
			run(fmt.Sprintf("filter=%d%%/walk", p), walk, 0, p)
			run(fmt.Sprintf("filter=%d%%/scan", p), scan, 0, p)
		}
	}
}

// cpuSeconds is the process's user+system CPU time: on the shared machine
// wall time depends on the neighbours' load, CPU time much less.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// threadCPU is the calling OS thread's CPU time in seconds
// (CLOCK_THREAD_CPUTIME_ID, 3 on Linux: nanosecond-exact, where rusage is
// tick-sampled); the caller locks its goroutine to the thread. Query
// speed-ups are ratios of CPU times: on the shared 2-core machine, wall
// time per query swung 10x with the neighbours' load, CPU time far less.
func threadCPU() float64 {
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return float64(ts.Nano()) / 1e9
}

// BenchmarkCrossover compares exact search with the graph at the default ef
// on small catalogues, to place DefaultFlatBelow. Only with
// AISLE_ANN_BENCH=crossover.
func BenchmarkCrossover(b *testing.B) {
	if _, on := benchSpecs(b); !on {
		b.Skip("set AISLE_ANN_BENCH=crossover")
	}
	for _, dim := range []int{64, 128} {
		for _, n := range []int{500, 1000, 2000, 5000, 10000, 20000} {
			vecs := clustered(n, dim, max(5, n/200), 1)
			queries := rows(clustered(200, dim, max(5, n/200), 2), dim)
			ix := mustBuild(b, vecs, dim, Config{Metric: Cosine, Kind: Graph, Seed: 1})
			ex := mustBuild(b, vecs, dim, Config{Metric: Cosine, Kind: Flat})
			for name, idx := range map[string]*Index{"graph": ix, "exact": ex} {
				b.Run(fmt.Sprintf("dim=%d/n=%d/%s", dim, n, name), func(b *testing.B) {
					r := recall(b, idx, ex, queries, 10, func() Query { return Query{} })
					b.ResetTimer()
					for i := range b.N {
						if _, err := idx.Search(Query{Vector: queries[i%len(queries)], K: 10}); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(r, "recall@10")
				})
			}
		}
	}
}
