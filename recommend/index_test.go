package recommend

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aisle-ai/aisle/catalog"
)

func TestFlatIndex(t *testing.T) {
	m := &catalog.Matrix{Rows: 4, Dim: 2, Data: []float32{1, 0, 0, 1, 0.5, 0.5, -1, 0}}
	idx, err := NewFlatIndex(m)
	if err != nil {
		t.Fatal(err)
	}
	hits, err := idx.Search(t.Context(), []float32{1, 0.1}, 3, nil)
	if err != nil || len(hits) != 3 || hits[0].Row != 0 || hits[1].Row != 2 || hits[2].Row != 1 {
		t.Fatalf("hits %+v, %v", hits, err)
	}
	hits, _ = idx.Search(t.Context(), []float32{1, 0.1}, 3, func(r int) bool { return r != 0 })
	if len(hits) != 3 || hits[0].Row != 2 {
		t.Fatalf("filtered hits %+v", hits)
	}
	if _, err := idx.Search(t.Context(), []float32{1}, 3, nil); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("dim mismatch: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := idx.Search(ctx, []float32{1, 0}, 3, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if hits, _ := idx.Search(t.Context(), []float32{1, 0}, 0, nil); len(hits) != 0 {
		t.Fatalf("k=0: %+v", hits)
	}
}

// TestFlatIndexTies: equal scores go to the lower row, and k beyond the
// rows returns them all, best first (test_coldstart.py's test_top_new: the
// new_items source searches its table with a FlatIndex, so this is A13's
// tie rule).
func TestFlatIndexTies(t *testing.T) {
	idx, err := NewFlatIndex(&catalog.Matrix{Rows: 3, Dim: 2, Data: []float32{1, 0, 0, 1, 1, 0}})
	if err != nil {
		t.Fatal(err)
	}
	rows := func(q []float32, k int, allow Allow) []int {
		t.Helper()
		hits, err := idx.Search(t.Context(), q, k, allow)
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		for _, h := range hits {
			out = append(out, h.Row)
		}
		return out
	}
	if got := rows([]float32{1, 0}, 2, nil); !slices.Equal(got, []int{0, 2}) {
		t.Errorf("tie: %v, want [0 2] (lower row first)", got)
	}
	if got := rows([]float32{1, 0}, 2, func(r int) bool { return r != 0 }); !slices.Equal(got, []int{2, 1}) {
		t.Errorf("without row 0: %v, want [2 1]", got)
	}
	if got := rows([]float32{0, 1}, 10, nil); !slices.Equal(got, []int{1, 0, 2}) {
		t.Errorf("k beyond the rows: %v, want [1 0 2]", got)
	}
}

// TestFlatIndexDeadlineInScan: a context that ends during the scan (here:
// cancelled from allow, at row 10) ends the search at the next check, with
// the context's error, not at the end of the rows.
func TestFlatIndexDeadlineInScan(t *testing.T) {
	rows := 3 * flatCheckEvery
	idx, err := NewFlatIndex(&catalog.Matrix{Rows: rows, Dim: 1, Data: make([]float32, rows)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	seen := 0
	_, err = idx.Search(ctx, []float32{1}, 5, func(r int) bool {
		seen++
		if r == 10 {
			cancel()
		}
		return true
	})
	if !errors.Is(err, context.Canceled) || seen != flatCheckEvery {
		t.Fatalf("cancelled at row 10: err %v after %d rows; want context.Canceled after %d", err, seen, flatCheckEvery)
	}
}
