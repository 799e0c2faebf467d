package graphnn

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"testing"
)

func TestBuild(t *testing.T) {
	const third = float32(1.0 / 3.0)
	tests := []struct {
		name  string
		carts [][]int64
		want  Batch
	}{
		{
			name:  "single item",
			carts: [][]int64{{4}},
			want: Batch{Size: 1, Nodes: 1, SeqLen: 1,
				Items: []int64{5}, A: []float32{0, 0}, Alias: []int64{0}, Mask: []int64{1}},
		},
		{
			// 3 1 3 2 -> ids 4 2 4 3 -> nodes [2 3 4]; edges 4->2, 2->4, 4->3.
			name:  "revisit",
			carts: [][]int64{{3, 1, 3, 2}},
			want: Batch{Size: 1, Nodes: 3, SeqLen: 4,
				Items: []int64{2, 3, 4},
				A: []float32{
					0, 0, 1, 0, 0, 1, // node 2: in from 4; out to 4
					0, 0, 1, 0, 0, 0, // node 3: in from 4
					1, 0, 0, 0.5, 0.5, 0, // node 4: in from 2; out to 2 and 3
				},
				Alias: []int64{2, 0, 2, 1}, Mask: []int64{1, 1, 1, 1}},
		},
		{
			// Repeated transitions count once; a self-loop is an edge.
			name:  "duplicates",
			carts: [][]int64{{5, 5, 5}},
			want: Batch{Size: 1, Nodes: 1, SeqLen: 3,
				Items: []int64{6}, A: []float32{1, 1}, Alias: []int64{0, 0, 0}, Mask: []int64{1, 1, 1}},
		},
		{
			// 1 2 1 2 1 2 -> ids 2 3: edges 2->3 and 3->2 only.
			name:  "duplicate transitions",
			carts: [][]int64{{1, 2, 1, 2, 1, 2}},
			want: Batch{Size: 1, Nodes: 2, SeqLen: 6,
				Items: []int64{2, 3}, A: []float32{0, 1, 0, 1, 1, 0, 1, 0},
				Alias: []int64{0, 1, 0, 1, 0, 1}, Mask: []int64{1, 1, 1, 1, 1, 1}},
		},
		{
			// Node 0 (id 1) has in-edges from ids 2, 3 and 4 (A_in 1/3 each)
			// and out-edges to ids 3 and 4 (A_out 1/2 each).
			name:  "fan in",
			carts: [][]int64{{1, 0, 2, 0, 3, 0}},
			want: Batch{Size: 1, Nodes: 4, SeqLen: 6,
				Items: []int64{1, 2, 3, 4},
				A: []float32{
					0, third, third, third, 0, 0, 0.5, 0.5,
					0, 0, 0, 0, 1, 0, 0, 0,
					1, 0, 0, 0, 1, 0, 0, 0,
					1, 0, 0, 0, 1, 0, 0, 0,
				},
				Alias: []int64{1, 0, 2, 0, 3, 0}, Mask: []int64{1, 1, 1, 1, 1, 1}},
		},
		{
			// The short cart is padded: it gains the padding node 0 (node index
			// 0) and its padding positions alias to it; the longest cart has no
			// padding node. n_node is the larger count (2 vs 2).
			name:  "padding",
			carts: [][]int64{{7, 8, 7}, {2}},
			want: Batch{Size: 2, Nodes: 2, SeqLen: 3,
				Items: []int64{8, 9, 0, 3},
				A: []float32{
					0, 1, 0, 1,
					1, 0, 1, 0,
					0, 0, 0, 0,
					0, 0, 0, 0,
				},
				Alias: []int64{0, 1, 0, 1, 0, 0}, Mask: []int64{1, 1, 1, 1, 0, 0}},
		},
		{
			// Padding to the largest graph: the single-item cart gets zero rows.
			name:  "pad to largest graph",
			carts: [][]int64{{0}, {1, 2}},
			want: Batch{Size: 2, Nodes: 2, SeqLen: 2,
				Items: []int64{0, 1, 2, 3},
				A: []float32{
					0, 0, 0, 0,
					0, 0, 0, 0,
					0, 0, 0, 1,
					1, 0, 0, 0,
				},
				Alias: []int64{1, 0, 0, 1}, Mask: []int64{1, 0, 1, 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Builder
			var got Batch
			if err := b.Build(tt.carts, &got); err != nil {
				t.Fatalf("Build: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Build(%v)\n got %+v\nwant %+v", tt.carts, got, tt.want)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name  string
		b     Builder
		carts [][]int64
		want  error
	}{
		{"no carts", Builder{}, nil, ErrEmptyBatch},
		{"empty cart", Builder{}, [][]int64{{}}, ErrEmptyCart},
		{"empty cart in batch", Builder{}, [][]int64{{1, 2}, nil}, ErrEmptyCart},
		{"negative index", Builder{}, [][]int64{{1, -1}}, ErrInvalidItem},
		{"index past NumItems", Builder{NumItems: 169}, [][]int64{{169}}, ErrInvalidItem},
		{"index overflows", Builder{}, [][]int64{{math.MaxInt64}}, ErrInvalidItem},
		{"too long", Builder{MaxItems: 2}, [][]int64{{1, 2, 3}}, ErrCartTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dst Batch
			if err := tt.b.Build(tt.carts, &dst); !errors.Is(err, tt.want) {
				t.Errorf("Build(%v) = %v, want %v", tt.carts, err, tt.want)
			}
		})
	}
}

func TestBuildLimitsAccept(t *testing.T) {
	b := Builder{NumItems: 169, MaxItems: 2}
	var dst Batch
	if err := b.Build([][]int64{{0, 168}}, &dst); err != nil {
		t.Fatalf("Build at the limits: %v", err)
	}
}

func TestBuildDoesNotModifyCarts(t *testing.T) {
	carts := [][]int64{{3, 1, 3, 2}, {5}}
	var b Builder
	var dst Batch
	if err := b.Build(carts, &dst); err != nil {
		t.Fatal(err)
	}
	if want := [][]int64{{3, 1, 3, 2}, {5}}; !reflect.DeepEqual(carts, want) {
		t.Errorf("carts changed to %v", carts)
	}
}

func TestLast(t *testing.T) {
	tests := []struct {
		cart []int64
		n    int
		want []int64
	}{
		{[]int64{1, 2, 3}, 2, []int64{2, 3}},
		{[]int64{1, 2, 3}, 3, []int64{1, 2, 3}},
		{[]int64{1, 2, 3}, 5, []int64{1, 2, 3}},
		{[]int64{1, 2, 3}, 0, []int64{1, 2, 3}},
	}
	for _, tt := range tests {
		if got := Last(tt.cart, tt.n); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Last(%v, %d) = %v, want %v", tt.cart, tt.n, got, tt.want)
		}
	}
}

// TestBuildIndependentOfBatch checks that a cart's real nodes, edges and
// positions do not depend on its batch mates: the padded layout only adds the
// isolated padding node.
func TestBuildIndependentOfBatch(t *testing.T) {
	cart := []int64{9, 4, 9, 1}
	var b Builder
	var alone, batched Batch
	if err := b.Build([][]int64{cart}, &alone); err != nil {
		t.Fatal(err)
	}
	if err := b.Build([][]int64{{1, 2, 3, 4, 5, 6, 7}, cart}, &batched); err != nil {
		t.Fatal(err)
	}
	n, m := alone.Nodes, batched.Nodes
	off := 1 // the padding node shifts the real nodes by one
	for i := range n {
		if got, want := batched.Items[m+off+i], alone.Items[i]; got != want {
			t.Fatalf("items[1][%d] = %d, want %d", off+i, got, want)
		}
		for j := range n {
			for h := range 2 {
				got := batched.A[(m+off+i)*2*m+h*m+off+j]
				want := alone.A[i*2*n+h*n+j]
				if got != want {
					t.Fatalf("A[1][%d][%d] (half %d) = %g, want %g", off+i, off+j, h, got, want)
				}
			}
		}
	}
	for p := range cart {
		if got, want := batched.Alias[batched.SeqLen+p], alone.Alias[p]+int64(off); got != want {
			t.Fatalf("alias[1][%d] = %d, want %d", p, got, want)
		}
	}
}

func TestBuildSteadyStateAllocs(t *testing.T) {
	carts := [][]int64{{3, 1, 3, 2}, {5}, {7, 8, 9, 10, 11, 12}, {0, 0}}
	small := [][]int64{{1}}
	var b Builder
	var dst Batch
	if err := b.Build(carts, &dst); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := b.Build(carts, &dst); err != nil {
			t.Fatal(err)
		}
		if err := b.Build(small, &dst); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Build allocates %.1f times per call in steady state, want 0", allocs)
	}
}

// checkInvariants verifies properties every built batch must have.
func checkInvariants(t *testing.T, carts [][]int64, b *Batch) {
	t.Helper()
	n, s := b.Nodes, b.SeqLen
	for i, c := range carts {
		if len(c) > s {
			t.Fatalf("cart %d longer than SeqLen", i)
		}
		for p := range s {
			a, m := b.Alias[i*s+p], b.Mask[i*s+p]
			if a < 0 || a >= int64(n) {
				t.Fatalf("alias[%d][%d] = %d out of [0, %d)", i, p, a, n)
			}
			if p < len(c) {
				if m != 1 || b.Items[i*n+int(a)] != c[p]+1 {
					t.Fatalf("position %d of cart %d: mask %d, item %d, want 1, %d", p, i, m, b.Items[i*n+int(a)], c[p]+1)
				}
			} else if m != 0 || b.Items[i*n+int(a)] != 0 {
				t.Fatalf("padding position %d of cart %d: mask %d, item %d", p, i, m, b.Items[i*n+int(a)])
			}
		}
		for r := range n {
			for h := range 2 {
				sum := 0.0
				for j := range n {
					v := b.A[(i*n+r)*2*n+h*n+j]
					if v < 0 || v > 1 || math.IsNaN(float64(v)) {
						t.Fatalf("A[%d][%d] half %d has %g", i, r, h, v)
					}
					sum += float64(v)
				}
				if sum != 0 && math.Abs(sum-1) > 1e-5 {
					t.Fatalf("A[%d][%d] half %d sums to %g, want 0 or 1", i, r, h, sum)
				}
			}
		}
	}
}

func FuzzBuild(f *testing.F) {
	f.Add([]byte{3, 1, 3, 2}, uint8(1))
	f.Add([]byte{5, 5, 5, 0, 1}, uint8(2))
	f.Add([]byte{}, uint8(0))
	f.Add([]byte{200, 255, 0, 0, 0, 0, 0, 128}, uint8(3))
	b := Builder{NumItems: 300, MaxItems: 60}
	var dst Batch
	f.Fuzz(func(t *testing.T, raw []byte, split uint8) {
		// Decode carts: 2 bytes an item (little-endian, so some ids fall
		// outside [0, NumItems)), a new cart every split+1 items.
		var carts [][]int64
		var cur []int64
		for i := 0; i+1 < len(raw); i += 2 {
			cur = append(cur, int64(int16(binary.LittleEndian.Uint16(raw[i:])))%400)
			if len(cur) > int(split) {
				carts = append(carts, cur)
				cur = nil
			}
		}
		if cur != nil || len(carts) == 0 {
			carts = append(carts, cur)
		}
		err := b.Build(carts, &dst)
		switch {
		case err == nil:
			checkInvariants(t, carts, &dst)
		case errors.Is(err, ErrEmptyCart), errors.Is(err, ErrInvalidItem),
			errors.Is(err, ErrCartTooLong), errors.Is(err, ErrEmptyBatch):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}
