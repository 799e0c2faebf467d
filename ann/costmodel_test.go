package ann

import (
	"fmt"
	"math"
	"testing"

	"github.com/aisle-ai/aisle/internal/synthvec"
)

// The filter cost model's choice at the sizes BENCHMARKS.md measured: the
// 50k switch of §4b (about 22% at ef 96) stays where it was, and at 1M × 128
// a 2% filter scans (§4e measured the scan 3.8× cheaper) while 5% walks (the
// walk 2.4× cheaper).
func TestScanBeatsWalk(t *testing.T) {
	const m = DefaultM
	for _, c := range []struct {
		n, dim, ef int
		p          float64
		scan       bool
	}{
		{50000, 64, 96, 0.01, true},
		{50000, 64, 96, 0.10, true},
		{50000, 64, 96, 0.20, true},
		{50000, 64, 96, 0.30, false},
		{50000, 64, 96, 0.50, false},
		{50000, 64, 64, 0.15, true},
		{50000, 64, 64, 0.20, false},
		{50000, 129, 96, 0.225, false}, // the served 50k × 128 Dot catalogue (129 floats a row): walks as at 12 MiB
		{50000, 129, 96, 0.10, true},
		{200000, 128, 96, 0.05, true},
		{200000, 128, 96, 0.20, false},
		{1000000, 128, 64, 0.01, true},
		{1000000, 128, 64, 0.02, true},
		{1000000, 128, 64, 0.03, true},
		{1000000, 128, 64, 0.05, false},
		{1000000, 128, 64, 0.10, false},
		{1000000, 128, 256, 0.05, true},
		{2000, 32, 64, 0.50, true}, // small: the scan is cheap whatever p
		{5000000, 128, 64, 0.02, false},
	} {
		t.Run(fmt.Sprintf("n=%d/dim=%d/ef=%d/p=%g", c.n, c.dim, c.ef, c.p), func(t *testing.T) {
			if got := scanBeatsWalk(c.n, walkDistanceCost(c.n*c.dim*4), c.ef, m, c.p); got != c.scan {
				t.Errorf("scan = %v, want %v", got, c.scan)
			}
		})
	}
}

// The walk's per-distance factor is 1 in cache, grows with the vectors'
// size, and is held at its largest fitted value past 512 MiB.
func TestWalkDistanceCost(t *testing.T) {
	prev := 0.0
	for _, mib := range []int{1, 16, 32, 98, 256, 488, 512, 4096} {
		c := walkDistanceCost(mib << 20)
		if c < prev || c < 1 || c > 1.7 {
			t.Errorf("%d MiB: factor %.3f (previous %.3f), want non-decreasing in [1, 1.7]", mib, c, prev)
		}
		prev = c
	}
	if c := walkDistanceCost(50000 * 129 * 4); c != 1 {
		t.Errorf("50k × 128 Dot rows (129 floats, 24.6 MiB, the served catalogue): factor %.3f, want 1", c)
	}
	if c := walkDistanceCost(488 << 20); c < 1.65 {
		t.Errorf("488 MiB (1M × 128): factor %.3f, want ≈ 1.69", c)
	}
}

// shell is an index of n rows of stride floats without vectors or graph,
// enough for the filter cost model: its walk factor is set as newIndex sets
// it.
func shell(n, stride int, sample []uint32) *Index {
	return &Index{cfg: Config{M: DefaultM}, n: n, stride: stride, sample: sample, walkCost: walkDistanceCost(n * stride * 4)}
}

// Build computes the walk factor once, from the laid-out vectors (Dot adds
// a coordinate), and the strategy-forcing views keep it.
func TestIndexWalkCost(t *testing.T) {
	const n, dim = 300, 8
	for _, m := range []Metric{L2, Cosine, Dot} {
		ix := mustBuild(t, clustered(n, dim, 10, 1), dim, Config{Metric: m, Kind: Flat})
		if want := walkDistanceCost(n * ix.stride * 4); ix.walkCost != want || ix.forced(forceWalk).walkCost != want {
			t.Errorf("%v: walk factor %v (forced view %v), want %v", m, ix.walkCost, ix.forced(forceWalk).walkCost, want)
		}
	}
}

// The choice end to end at 1M × 128 with Build's own sample (seed 1, as in
// BENCHMARKS.md §4e/§4f), on an index shell without vectors: the estimate
// of a 2% filter, which 256 rows put at 3.5%, now scans; 5% and up walk.
func TestFilterChoiceAt1M(t *testing.T) {
	const n = 1000000
	ix := shell(n, 128, drawSample(buildRand(1), n, 1))
	if len(ix.sample) != 1000 {
		t.Fatalf("sample of %d rows at 1M, want 1000", len(ix.sample))
	}
	for p, scan := range map[int]bool{1: true, 2: true, 5: false, 10: false, 30: false} {
		allow := synthvec.AllowPercent(p)
		if got := ix.scanCheaper(func(r uint32) bool { return allow(int(r)) }, -1, DefaultEfSearch); got != scan {
			t.Errorf("%d%% allowed: scan = %v, want %v", p, got, scan)
		}
	}
}

// An exclude-only filter admits a known fraction, 1 − (distinct in-range
// excluded rows)/n, on both the short-list and the map paths; a predicate
// makes it unknown.
func TestExcludeFraction(t *testing.T) {
	ix := &Index{n: 100}
	long := []int{-1, 100, 5, 5}
	for r := range 40 { // past the linear-scan cut-off: the map path
		long = append(long, r)
	}
	all := make([]int, 100)
	for r := range all {
		all[r] = r
	}
	for _, c := range []struct {
		name    string
		pred    func(int) bool
		exclude []int
		want    float64
	}{
		{"none", nil, nil, 1},
		{"short", nil, []int{-1, 100, 3, 3, 7}, 0.98},
		{"long", nil, long, 0.60},
		{"all", nil, all, 0},
		{"predicate", func(int) bool { return true }, []int{3}, -1},
	} {
		if _, got := ix.allowFunc(c.pred, c.exclude); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: fraction %v, want %v", c.name, got, c.want)
		}
	}
}

// The choice for an exclude-only filter goes by its known fraction and
// calls the test on no sampled row. The shell's sample is all excluded
// rows, so a sampled estimate would be 0 and choose the scan; the known
// fraction (all but k rows of 1M) chooses the walk. Excluding every row scans
// (nothing to walk to).
func TestExcludeOnlyChoice(t *testing.T) {
	const n = 1000000
	for _, k := range []int{5, 32, 1000} { // the short-list and the map paths
		exclude := make([]int, k)
		sample := make([]uint32, k)
		for i := range k {
			exclude[i], sample[i] = i*13, uint32(i*13)
		}
		ix := shell(n, 128, sample)
		allow, frac := ix.allowFunc(nil, exclude)
		calls := 0
		counted := func(r uint32) bool { calls++; return allow(r) }
		if ix.scanCheaper(counted, frac, DefaultEfSearch) {
			t.Errorf("%d excluded of 1M: scan chosen, want the walk", k)
		}
		if calls != 0 {
			t.Errorf("%d excluded: %d predicate calls, want none (the fraction %v is known)", k, calls, frac)
		}
		if !ix.scanCheaper(counted, -1, DefaultEfSearch) {
			t.Errorf("%d excluded, sampled: walk chosen, want the scan (the sample is all excluded)", k)
		}
	}
	// Every row excluded: the search answers nothing without a scan.
	ix := mustBuild(t, clustered(100, 4, 2, 1), 4, Config{Metric: L2, Kind: Graph})
	all := make([]int, 100)
	for i := range all {
		all[i] = i
	}
	if res, err := ix.Search(Query{Vector: []float32{0, 0, 0, 0}, K: 5, Exclude: all}); err != nil || len(res) != 0 {
		t.Errorf("every row excluded: %v (%v), want nothing", res, err)
	}
}

// Small indexes keep the 256 rows drawn from the build's generator, which
// then stands where it did before samples grew (the graph's level draws
// follow); large ones add rows from a stream of their own, up to
// maxSampleSize.
func TestDrawSample(t *testing.T) {
	for _, c := range []struct{ n, want int }{{100, 100}, {50000, 256}, {256000, 256}, {1000000, 1000}, {10000000, maxSampleSize}} {
		got, ref := buildRand(7), buildRand(7)
		s := drawSample(got, c.n, 7)
		if len(s) != c.want {
			t.Errorf("n=%d: %d rows, want %d", c.n, len(s), c.want)
		}
		for i := range min(c.n, sampleSize) {
			if want := uint32(ref.IntN(c.n)); s[i] != want {
				t.Fatalf("n=%d: row %d is %d, want %d from the build generator", c.n, i, s[i], want)
			}
		}
		for _, r := range s {
			if int(r) >= c.n {
				t.Fatalf("n=%d: row %d out of range", c.n, r)
			}
		}
		if got.Uint64() != ref.Uint64() {
			t.Errorf("n=%d: the build generator advanced past the first %d rows", c.n, sampleSize)
		}
	}
}
