package recommend

import (
	"container/heap"
	"context"
	"fmt"
	"sort"

	"github.com/aisle-ai/aisle/catalog"
)

// Hit is one item an Index found: its row in the item table the index was
// built over, and its similarity (higher is nearer).
type Hit struct {
	Row   int
	Score float32
}

// Allow reports whether the item at row may be returned; a nil Allow
// admits every row. It is called from the searching goroutine only.
type Allow func(row int) bool

// Index finds the items nearest a query vector. It is the consumer-side
// seam for the ann package: Search must be safe for concurrent use, return
// at most k hits best first, honour ctx, and never return a row that allow
// rejects, however selective allow is (an approximate index falls back to
// exact search over the allowed rows when too few pass). The index belongs
// to the model version that shipped its vectors and is closed with it.
type Index interface {
	Search(ctx context.Context, query []float32, k int, allow Allow) ([]Hit, error)
}

// NewIndex builds an Index over the rows of an item-embedding matrix.
type NewIndex func(m *catalog.Matrix) (Index, error)

// FlatIndex is exact inner-product search over every row: the stand-in until
// the ann package's index is plugged in, and exact enough to be its
// reference. At 169 items × 64 dims a search is a few microseconds.
type FlatIndex struct {
	m *catalog.Matrix
}

// NewFlatIndex is a NewIndex that builds a FlatIndex.
func NewFlatIndex(m *catalog.Matrix) (Index, error) {
	if m == nil || m.Dim <= 0 || m.Rows < 0 || len(m.Data) != m.Rows*m.Dim {
		return nil, fmt.Errorf("flat index: malformed matrix")
	}
	return &FlatIndex{m: m}, nil
}

// flatCheckEvery is how many rows a FlatIndex search scans between two
// checks of its context: with 64 dims, 4096 rows are about 260k
// multiply-adds, so a search of 10^5 or more rows (a catalogue's new items
// before a retrain, newitems.go) ends soon after its deadline instead of
// at the end of the scan, and a check costs nothing beside the rows.
const flatCheckEvery = 4096

// Search implements Index. It checks ctx before the scan and every
// flatCheckEvery rows.
func (f *FlatIndex) Search(ctx context.Context, q []float32, k int, allow Allow) ([]Hit, error) {
	if len(q) != f.m.Dim {
		return nil, fmt.Errorf("%w: query has %d dims, index %d", ErrInvalidRequest, len(q), f.m.Dim)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h := make(hitHeap, 0, k+1)
	// Blocks of flatCheckEvery rows, ctx checked between two: no per-row
	// test of the row number.
	for lo := 0; lo < f.m.Rows; lo += flatCheckEvery {
		if lo > 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		for r := lo; r < min(lo+flatCheckEvery, f.m.Rows); r++ {
			if allow != nil && !allow(r) {
				continue
			}
			var s float32
			for j, x := range f.m.Row(r) {
				s += x * q[j]
			}
			pushTop(&h, Hit{Row: r, Score: s}, k)
		}
	}
	return sortHits(h), nil
}

// pushTop keeps the k best hits in h, the worst on top.
func pushTop(h *hitHeap, x Hit, k int) {
	if k <= 0 {
		return
	}
	if len(*h) < k {
		heap.Push(h, x)
	} else if x.Score > (*h)[0].Score || x.Score == (*h)[0].Score && x.Row < (*h)[0].Row {
		(*h)[0] = x
		heap.Fix(h, 0)
	}
}

// sortHits orders hits best first, ties by row.
func sortHits(h []Hit) []Hit {
	sort.Slice(h, func(i, j int) bool {
		if h[i].Score != h[j].Score {
			return h[i].Score > h[j].Score
		}
		return h[i].Row < h[j].Row
	})
	return h
}

type hitHeap []Hit

func (h hitHeap) Len() int { return len(h) }
func (h hitHeap) Less(i, j int) bool {
	return h[i].Score < h[j].Score || h[i].Score == h[j].Score && h[i].Row > h[j].Row
}
func (h hitHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)   { *h = append(*h, x.(Hit)) }
func (h *hitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
