package annbaseline

import (
	"context"
	"fmt"
	randv1 "math/rand"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/coder/hnsw"

	"github.com/aisle-ai/aisle/ann"
	"github.com/aisle-ai/aisle/internal/synthvec"
)

// efConstruction is the same for both libraries: coder/hnsw has one
// EfSearch for build and search, so it is set to this while adding and
// lowered for the queries.
const efConstruction = 200

// sizes reads AISLE_ANN_BENCH as ann's own benchmark does (NxDIM, comma
// separated); unset, one tiny set.
func sizes(b *testing.B) [][2]int {
	env := os.Getenv("AISLE_ANN_BENCH")
	if env == "" {
		return [][2]int{{2000, 32}}
	}
	var out [][2]int
	for f := range strings.SplitSeq(env, ",") {
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
		out = append(out, [2]int{n * mult, d})
	}
	return out
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
// (CLOCK_THREAD_CPUTIME_ID, 3 on Linux); the caller locks its goroutine to
// the thread. Latencies are compared as CPU time per query: wall time swings
// with the neighbours' load on the shared machine.
func threadCPU() float64 {
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return float64(ts.Nano()) / 1e9
}

func heapMiB() float64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

func BenchmarkBaseline(b *testing.B) {
	for _, sz := range sizes(b) {
		n, dim := sz[0], sz[1]
		b.Run(fmt.Sprintf("n=%d/dim=%d", n, dim), func(b *testing.B) { compare(b, n, dim) })
	}
}

// coderLimit bounds coder/hnsw's single-threaded build
// (AISLE_ANN_CODER_LIMIT, a Go duration, default 40m): past it the build
// stops, the rows added and the rate are printed, and its queries are
// skipped (a graph over a prefix is not comparable).
func coderLimit(b *testing.B) time.Duration {
	env := os.Getenv("AISLE_ANN_CODER_LIMIT")
	if env == "" {
		return 40 * time.Minute
	}
	d, err := time.ParseDuration(env)
	if err != nil || d <= 0 {
		b.Fatalf("AISLE_ANN_CODER_LIMIT: %q is not a positive duration", env)
	}
	return d
}

func compare(b *testing.B, n, dim int) {
	limit := coderLimit(b) // a bad AISLE_ANN_CODER_LIMIT fails before minutes of building
	ctx := context.Background()
	clusters := synthvec.Clusters(n)
	vecs := synthvec.Clustered(n, dim, clusters, 1)
	nq := synthvec.Queries(n)
	qflat := synthvec.Clustered(nq, dim, clusters, 2)
	queries := make([][]float32, nq)
	for i := range queries {
		queries[i] = qflat[i*dim : (i+1)*dim]
	}
	exact, err := ann.Build(ctx, vecs, dim, ann.Config{Metric: ann.L2, Kind: ann.Flat})
	if err != nil {
		b.Fatal(err)
	}
	// truth[p] holds the exact top 10 per query among p% of the rows (-1:
	// all rows); exactCPU[p] the querying thread's CPU seconds per exact
	// query, the denominator of "x exact" (and, filtered, the cost of the
	// scan strategy: ann's filtered scan is this same exact search).
	truth, exactCPU := map[int][]map[int]bool{}, map[int]float64{}
	for _, p := range []int{-1, 1, 2, 5, 10} {
		var allow func(int) bool
		if p >= 0 {
			allow = synthvec.AllowPercent(p)
		}
		t := make([]map[int]bool, nq)
		runtime.LockOSThread()
		c0 := threadCPU()
		for i, q := range queries {
			res, err := exact.Search(ann.Query{Vector: q, K: 10, Allow: allow})
			if err != nil {
				b.Fatal(err)
			}
			t[i] = map[int]bool{}
			for _, r := range res {
				t[i][r.Row] = true
			}
		}
		exactCPU[p] = (threadCPU() - c0) / float64(nq)
		runtime.UnlockOSThread()
		truth[p] = t
	}
	fmt.Printf("n=%d dim=%d: exact query %.2f ms CPU (allowed 1%%/2%%/5%%/10%%: %.2f/%.2f/%.2f/%.2f ms), %d queries\n",
		n, dim, exactCPU[-1]*1e3, exactCPU[1]*1e3, exactCPU[2]*1e3, exactCPU[5]*1e3, exactCPU[10]*1e3, nq)

	m0 := heapMiB()
	t0, c0 := time.Now(), cpuSeconds()
	ours, err := ann.Build(ctx, vecs, dim, ann.Config{Metric: ann.L2, Kind: ann.Graph, Seed: 1, EfConstruction: efConstruction})
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("aisle ann: build %.1fs wall, %.1fs CPU on %d cores, heap +%.0f MiB (Bytes %.0f MiB)\n",
		time.Since(t0).Seconds(), cpuSeconds()-c0, runtime.GOMAXPROCS(0), heapMiB()-m0, float64(ours.Bytes())/(1<<20))

	m0 = heapMiB()
	t0, c0 = time.Now(), cpuSeconds()
	g := hnsw.NewGraph[int]()
	g.M, g.Ml, g.EfSearch = 16, 0.25, efConstruction
	g.Distance = hnsw.EuclideanDistance
	g.Rng = randv1.New(randv1.NewSource(1)) //nolint:gosec // level draws, not secrets
	added := 0
	for r := range n {
		if r%1000 == 0 && time.Since(t0) > limit {
			break
		}
		g.Add(hnsw.MakeNode(r, vecs[r*dim:(r+1)*dim]))
		added++
	}
	fmt.Printf("coder/hnsw: build %.1fs wall, %.1fs CPU on 1 goroutine (it has no parallel insert), heap +%.0f MiB, %d of %d rows\n",
		time.Since(t0).Seconds(), cpuSeconds()-c0, heapMiB()-m0, added, n)
	if added < n {
		fmt.Printf("coder/hnsw: build stopped at the %v bound (AISLE_ANN_CODER_LIMIT); its queries are skipped\n", limit)
	}

	score := func(p, i int, rows []int) float64 {
		hit := 0
		for _, r := range rows {
			if truth[p][i][r] {
				hit++
			}
		}
		return float64(hit) / float64(len(truth[p][i]))
	}
	// measure reports recall@10 (one pass over the queries), then CPU ns per
	// query of the locked thread over b.N queries, and the ratio to exact.
	measure := func(b *testing.B, p int, search func(q []float32) []int) {
		rec := 0.0
		for i, q := range queries {
			rec += score(p, i, search(q))
		}
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		c0 := threadCPU()
		b.ResetTimer()
		for i := range b.N {
			search(queries[i%nq])
		}
		cpu := (threadCPU() - c0) / float64(b.N)
		b.ReportMetric(cpu*1e9, "cpu-ns/op")
		b.ReportMetric(rec/float64(nq), "recall@10")
		b.ReportMetric(exactCPU[-1]/cpu, "x_exact")
	}
	// b is the sub-benchmark's: FailNow must run on its own goroutine.
	oursSearch := func(b *testing.B, ef, p int) func(q []float32) []int {
		var allow func(int) bool
		if p >= 0 {
			allow = synthvec.AllowPercent(p)
		}
		return func(q []float32) []int {
			res, err := ours.Search(ann.Query{Vector: q, K: 10, Ef: ef, Allow: allow})
			if err != nil {
				b.Fatal(err)
			}
			rows := make([]int, len(res))
			for j, r := range res {
				rows[j] = r.Row
			}
			return rows
		}
	}
	for _, ef := range []int{16, 32, 64, 96, 128, 256} {
		b.Run(fmt.Sprintf("aisle/ef=%d", ef), func(b *testing.B) { measure(b, -1, oursSearch(b, ef, -1)) })
		if added < n {
			continue
		}
		b.Run(fmt.Sprintf("coder/ef=%d", ef), func(b *testing.B) {
			g.EfSearch = ef
			measure(b, -1, func(q []float32) []int {
				res := g.Search(q, 10)
				rows := make([]int, len(res))
				for j, r := range res {
					rows[j] = r.Key
				}
				return rows
			})
		})
	}
	// aisle's filtered search at the default ef, by the index's own choice
	// between walking the graph and scanning the allowed rows; x_exact is
	// against the unfiltered exact query, and the scan's own cost is the
	// filtered exact figure printed above. coder/hnsw has no filter.
	for _, p := range []int{1, 2, 5, 10} {
		b.Run(fmt.Sprintf("aisle/filter=%d%%/auto", p), func(b *testing.B) { measure(b, p, oursSearch(b, 0, p)) })
	}
}
