package annbaseline

import (
	"context"
	"fmt"
	randv1 "math/rand"
	"math/rand/v2"
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

// clustered is the generator of ann's benchmark (ann/helpers_test.go),
// repeated here because test helpers cannot be imported: the same seeds give
// the same vectors.
func clustered(n, dim, clusters int, seed uint64) []float32 {
	crng := rand.New(rand.NewPCG(uint64(clusters), uint64(dim)))
	centres := make([]float32, clusters*dim)
	for i := range centres {
		centres[i] = float32(crng.NormFloat64())
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]float32, n*dim)
	for r := range n {
		c := rng.IntN(clusters)
		for d := range dim {
			out[r*dim+d] = centres[c*dim+d] + 0.4*float32(rng.NormFloat64())
		}
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

func compare(b *testing.B, n, dim int) {
	ctx := context.Background()
	clusters := max(10, n/200)
	vecs := clustered(n, dim, clusters, 1)
	nq := 200
	qflat := clustered(nq, dim, clusters, 2)
	queries := make([][]float32, nq)
	for i := range queries {
		queries[i] = qflat[i*dim : (i+1)*dim]
	}
	exact, err := ann.Build(ctx, vecs, dim, ann.Config{Metric: ann.L2, Kind: ann.Flat})
	if err != nil {
		b.Fatal(err)
	}
	truth := make([]map[int]bool, nq)
	for i, q := range queries {
		res, err := exact.Search(ann.Query{Vector: q, K: 10})
		if err != nil {
			b.Fatal(err)
		}
		truth[i] = map[int]bool{}
		for _, r := range res {
			truth[i][r.Row] = true
		}
	}

	m0 := heapMiB()
	t0, c0 := time.Now(), cpuSeconds()
	ours, err := ann.Build(ctx, vecs, dim, ann.Config{Metric: ann.L2, Kind: ann.Graph, Seed: 1, EfConstruction: efConstruction})
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("aisle ann: build %.1fs wall, %.1fs CPU on %d cores, heap +%.0f MiB\n",
		time.Since(t0).Seconds(), cpuSeconds()-c0, runtime.GOMAXPROCS(0), heapMiB()-m0)

	m0 = heapMiB()
	t0, c0 = time.Now(), cpuSeconds()
	g := hnsw.NewGraph[int]()
	g.M, g.Ml, g.EfSearch = 16, 0.25, efConstruction
	g.Distance = hnsw.EuclideanDistance
	g.Rng = randv1.New(randv1.NewSource(1)) //nolint:gosec // level draws, not secrets
	for r := range n {
		g.Add(hnsw.MakeNode(r, vecs[r*dim:(r+1)*dim]))
	}
	fmt.Printf("coder/hnsw: build %.1fs wall, %.1fs CPU on 1 goroutine (it has no parallel insert), heap +%.0f MiB\n",
		time.Since(t0).Seconds(), cpuSeconds()-c0, heapMiB()-m0)

	score := func(i int, rows []int) float64 {
		hit := 0
		for _, r := range rows {
			if truth[i][r] {
				hit++
			}
		}
		return float64(hit) / float64(len(truth[i]))
	}
	for _, ef := range []int{16, 32, 64, 96, 128, 256} {
		b.Run(fmt.Sprintf("aisle/ef=%d", ef), func(b *testing.B) {
			rec := 0.0
			for i, q := range queries {
				res, _ := ours.Search(ann.Query{Vector: q, K: 10, Ef: ef})
				rows := make([]int, len(res))
				for j, r := range res {
					rows[j] = r.Row
				}
				rec += score(i, rows)
			}
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c0 := threadCPU()
			b.ResetTimer()
			for i := range b.N {
				if _, err := ours.Search(ann.Query{Vector: queries[i%nq], K: 10, Ef: ef}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((threadCPU()-c0)*1e9/float64(b.N), "cpu-ns/op")
			b.ReportMetric(rec/float64(nq), "recall@10")
		})
		b.Run(fmt.Sprintf("coder/ef=%d", ef), func(b *testing.B) {
			g.EfSearch = ef
			rec := 0.0
			for i, q := range queries {
				res := g.Search(q, 10)
				rows := make([]int, len(res))
				for j, r := range res {
					rows[j] = r.Key
				}
				rec += score(i, rows)
			}
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c0 := threadCPU()
			b.ResetTimer()
			for i := range b.N {
				g.Search(queries[i%nq], 10)
			}
			b.ReportMetric((threadCPU()-c0)*1e9/float64(b.N), "cpu-ns/op")
			b.ReportMetric(rec/float64(nq), "recall@10")
		})
	}
}
