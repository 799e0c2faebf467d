package ann

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// Errors a caller can test for with errors.Is; every one is a bad input, so
// a server maps them all to InvalidArgument.
var (
	// ErrBadConfig reports a Config that Validate refuses.
	ErrBadConfig = errors.New("ann: bad config")
	// ErrDimension reports vectors whose length is not the index's dimension.
	ErrDimension = errors.New("ann: dimension mismatch")
	// ErrBadVector reports a NaN or infinite component, or a zero query under
	// Cosine (its angle to anything is undefined).
	ErrBadVector = errors.New("ann: bad vector")
	// ErrBadQuery reports a query asking for K < 1 results or a negative Ef.
	ErrBadQuery = errors.New("ann: bad query")
)

// Kind chooses the search structure Build makes.
type Kind int

const (
	// Auto searches exactly below Config.FlatBelow items and builds a graph
	// otherwise.
	Auto Kind = iota
	// Flat always searches exactly.
	Flat
	// Graph always builds an HNSW graph.
	Graph
)

// Defaults, chosen by the measurements in BENCHMARKS.md ("Candidate index").
const (
	// DefaultM is the number of links a node keeps per upper layer (2M on the
	// bottom layer), the value of the HNSW paper for dims 64–128.
	DefaultM = 16
	// DefaultEfConstruction is the candidate list size while building.
	DefaultEfConstruction = 200
	// DefaultEfSearch is the candidate list size of a query. On clustered
	// synthetic vectors ef 32 already gave recall@10 0.995 at 50k×64 and 0.99
	// at 200k×128; 64 (0.9995–1.0, 50× faster than exact at 200k) leaves
	// margin for larger catalogues, where recall at a fixed ef falls slowly.
	DefaultEfSearch = 64
	// DefaultFlatBelow is the catalogue size below which Auto searches
	// exactly: exact search and the graph at ef 96 cross between 1,000 and
	// 2,000 items at dims 64 and 128 (BENCHMARKS.md).
	DefaultFlatBelow = 1500
)

// Config says how to build an index. The zero value plus a Metric is valid:
// Build fills the zero fields with the defaults above.
type Config struct {
	// Metric compares queries and items. Required.
	Metric Metric
	// Kind picks exact search, a graph, or (Auto, the default) by size.
	Kind Kind
	// FlatBelow is the item count under which Auto searches exactly.
	// Default DefaultFlatBelow.
	FlatBelow int
	// M is the links per node on the upper layers (2M on layer 0). Default
	// DefaultM; 4–64.
	M int
	// EfConstruction is the candidate list size while inserting. Default
	// DefaultEfConstruction; at least M.
	EfConstruction int
	// EfSearch is the candidate list size of a query unless Query.Ef says
	// otherwise. Default DefaultEfSearch.
	EfSearch int
	// Seed draws the node levels. The same vectors, Config and Seed build the
	// same graph whatever Workers is.
	Seed uint64
	// Workers is the number of goroutines inserting in parallel. Default
	// GOMAXPROCS.
	Workers int
}

func (c *Config) withDefaults() Config {
	d := *c
	if d.FlatBelow == 0 {
		d.FlatBelow = DefaultFlatBelow
	}
	if d.M == 0 {
		d.M = DefaultM
	}
	if d.EfConstruction == 0 {
		d.EfConstruction = DefaultEfConstruction
	}
	if d.EfSearch == 0 {
		d.EfSearch = DefaultEfSearch
	}
	if d.Workers == 0 {
		d.Workers = runtime.GOMAXPROCS(0)
	}
	return d
}

// Validate reports the first field out of range, after defaults.
func (c Config) Validate() error {
	d := c.withDefaults()
	switch {
	case d.Metric < Cosine || d.Metric > L2:
		return fmt.Errorf("%w: metric %d (want Cosine, Dot or L2)", ErrBadConfig, int(d.Metric))
	case d.Kind < Auto || d.Kind > Graph:
		return fmt.Errorf("%w: kind %d", ErrBadConfig, int(d.Kind))
	case d.FlatBelow < 0:
		return fmt.Errorf("%w: flat_below %d < 0", ErrBadConfig, d.FlatBelow)
	case d.M < 4 || d.M > 64:
		return fmt.Errorf("%w: m %d outside 4..64", ErrBadConfig, d.M)
	case d.EfConstruction < d.M:
		return fmt.Errorf("%w: ef_construction %d < m %d", ErrBadConfig, d.EfConstruction, d.M)
	case d.EfSearch < 1:
		return fmt.Errorf("%w: ef_search %d < 1", ErrBadConfig, d.EfSearch)
	case d.Workers < 1:
		return fmt.Errorf("%w: workers %d < 1", ErrBadConfig, d.Workers)
	}
	return nil
}

// Index answers nearest-neighbour queries over a fixed set of item vectors.
// Items are identified by their row in the matrix given to Build (0..Len-1),
// which is the model's item axis; mapping rows to catalogue ids is the
// caller's (catalog.Table).
//
// An Index is immutable after Build: any number of goroutines may call its
// methods at once, with no locking on the search path.
type Index struct {
	cfg    Config
	dim, n int
	// vecs holds n rows of stride floats: the item vectors, unit length
	// under Cosine; under Dot one more coordinate, sqrt(maxNorm² - |x|²),
	// turns maximum inner product into nearest L2 neighbour (Bachrach et
	// al., 2014), which the graph heuristics assume: a raw inner-product
	// graph kept recall@10 at 0.85 on the cart GNN's items where this keeps
	// it at 1.
	vecs   []float32
	stride int
	inner  Metric   // the metric the graph is built and walked with
	g      *graph   // nil: exact search only
	sample []uint32 // rows for estimating a filter's allowed fraction
	// walkCost is walkDistanceCost of the vectors' size, which depends on
	// the index only: set once by newIndex, not per filtered query.
	walkCost float64
	force    strategy  // tests and benchmarks only: overrides the filter cost model
	seen     sync.Pool // *scratch, one per concurrent graph search
}

// sampleSize rows estimate a filter's selectivity: at a true fraction of 5%
// the estimate's standard error is 1.4 points, enough to choose between two
// strategies whose costs cross smoothly. Large indexes sample one row per
// thousand, up to maxSampleSize: there the switch sits at a few percent
// (scanBeatsWalk), where 256 rows are too few — at 1M items a 2% filter
// drew 9 of 256 (3.5%, the switch itself); 1,000 rows halve the error, and
// the extra predicate calls cost about 2 µs against a query's 250 µs or more.
const (
	sampleSize    = 256
	maxSampleSize = 4096
)

// buildRand is the generator of Build's random draws (sample, then levels).
func buildRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x616e6e)) }

// drawSample picks the rows of an index of n items that filters are
// estimated on. The first sampleSize come from the build's generator, ahead
// of the graph's level draws as they always have; the rest from a stream of
// their own, so that a larger sample leaves the graph as it was.
func drawSample(rng *rand.Rand, n int, seed uint64) []uint32 {
	s := make([]uint32, min(n, max(sampleSize, min(maxSampleSize, n/1000))))
	extra := rand.New(rand.NewPCG(seed, 0x73616d70))
	for i := range s {
		if i < sampleSize {
			s[i] = uint32(rng.IntN(n))
		} else {
			s[i] = uint32(extra.IntN(n))
		}
	}
	return s
}

// Build indexes n = len(vectors)/dim rows of a row-major matrix (the
// items.f32 layout of catalog.Matrix). It copies the vectors, so the caller
// may reuse the slice. It returns ctx's error if ctx ends mid-build.
func Build(ctx context.Context, vectors []float32, dim int, cfg Config) (*Index, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if dim < 1 || len(vectors)%dim != 0 {
		return nil, fmt.Errorf("%w: %d floats are not rows of dim %d", ErrDimension, len(vectors), dim)
	}
	if !finite(vectors) {
		return nil, fmt.Errorf("%w: item vectors hold NaN or Inf", ErrBadVector)
	}
	ix := newIndex(vectors, dim, cfg)
	rng := buildRand(cfg.Seed)
	if ix.n > 0 {
		ix.sample = drawSample(rng, ix.n, cfg.Seed)
	}
	if cfg.Kind == Graph || (cfg.Kind == Auto && ix.n >= cfg.FlatBelow) {
		g, err := build(ctx, ix, rng)
		if err != nil {
			return nil, err
		}
		ix.g = g
	}
	return ix, nil
}

// newIndex lays the vectors out for the inner metric (see Index.vecs).
func newIndex(vectors []float32, dim int, cfg Config) *Index {
	ix := &Index{cfg: cfg, dim: dim, n: len(vectors) / dim, stride: dim, inner: cfg.Metric}
	switch cfg.Metric {
	case Cosine:
		ix.inner = Dot
		ix.vecs = slices.Clone(vectors)
		for r := range ix.n {
			normalize(ix.row(uint32(r)))
		}
	case Dot:
		ix.inner, ix.stride = L2, dim+1
		ix.vecs = make([]float32, ix.n*ix.stride)
		var maxSq float32
		for r := range ix.n {
			x := vectors[r*dim : (r+1)*dim]
			copy(ix.vecs[r*ix.stride:], x)
			maxSq = max(maxSq, dot(x, x))
		}
		for r := range ix.n {
			x := ix.row(uint32(r))
			x[dim] = float32(math.Sqrt(float64(max(0, maxSq-dot(x[:dim], x[:dim])))))
		}
	default:
		ix.vecs = slices.Clone(vectors)
	}
	ix.walkCost = walkDistanceCost(ix.n * ix.stride * 4)
	return ix
}

// row returns row r as the graph sees it (stride floats).
func (ix *Index) row(r uint32) []float32 {
	o := int(r) * ix.stride
	return ix.vecs[o : o+ix.stride : o+ix.stride]
}

// score is the public score of row r for a query q of dim floats
// (normalised under Cosine).
func (ix *Index) score(q []float32, r uint32) float32 {
	x := ix.row(r)[:ix.dim]
	if ix.cfg.Metric == L2 {
		return -l2sq(q, x)
	}
	return dot(q, x)
}

// Len returns the number of items.
func (ix *Index) Len() int { return ix.n }

// Dim returns the vector dimension.
func (ix *Index) Dim() int { return ix.dim }

// Metric returns the metric scores are computed with.
func (ix *Index) Metric() Metric { return ix.cfg.Metric }

// Exact reports whether every query is answered by exact search (no graph).
func (ix *Index) Exact() bool { return ix.g == nil }

// Bytes approximates the memory the index holds: vectors plus links.
func (ix *Index) Bytes() int64 {
	b := int64(len(ix.vecs)) * 4
	if ix.g != nil {
		b += ix.g.bytes()
	}
	return b
}

// visited marks the nodes one search has seen. Marks hold the epoch of the
// search that set them, so reuse costs no clearing until the epoch wraps.
type visited struct {
	marks []uint32
	epoch uint32
}

func (v *visited) next() {
	v.epoch++
	if v.epoch == 0 {
		clear(v.marks)
		v.epoch = 1
	}
}

// see marks id and reports whether it was already marked.
func (v *visited) see(id uint32) bool {
	if v.marks[id] == v.epoch {
		return true
	}
	v.marks[id] = v.epoch
	return false
}
