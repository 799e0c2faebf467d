package recommend

import (
	"context"
	"errors"
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
