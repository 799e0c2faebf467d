package cart

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/graphnn"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/tensor"
)

func TestBucket(t *testing.T) {
	for n, want := range map[int]int{1: 4, 4: 4, 5: 8, 9: 16, 33: 64, 50: 64} {
		if got := bucket(n); got != want {
			t.Errorf("bucket(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestBucketTensorsKeepGraph checks the padded tensors hold the original
// graph: same items, in/out halves moved to the bucket layout, extra rows
// and positions empty.
func TestBucketTensorsKeepGraph(t *testing.T) {
	var b graphnn.Builder
	var batch graphnn.Batch
	if err := b.Build([][]int64{{5, 2, 5, 9, 1}}, &batch); err != nil {
		t.Fatal(err)
	}
	ts := bucketTensors(&batch)
	n, bn := batch.Nodes, bucket(batch.Nodes)
	if ts[0].Shape[1] != int64(bn) || ts[1].Shape[2] != int64(2*bn) || ts[2].Shape[1] != 8 {
		t.Fatalf("shapes %v %v %v", ts[0].Shape, ts[1].Shape, ts[2].Shape)
	}
	a := tensor.View[float32](ts[1].Data)
	for i := range bn {
		for j := range bn {
			var in, out float32
			if i < n && j < n {
				in, out = batch.A[i*2*n+j], batch.A[i*2*n+n+j]
			}
			if a[i*2*bn+j] != in || a[i*2*bn+bn+j] != out {
				t.Fatalf("A[%d][%d] = %v/%v, want %v/%v", i, j, a[i*2*bn+j], a[i*2*bn+bn+j], in, out)
			}
		}
	}
	mask := tensor.View[int64](ts[3].Data)
	if mask[4] != 1 || mask[5] != 0 {
		t.Fatalf("mask %v", mask)
	}
}

func testRecommender(t *testing.T) *Recommender {
	t.Helper()
	r := &Recommender{items: &catalog.Table{}, maxCart: 3, excludeOwn: true, scores: "scores"}
	tab := "id\tname\n"
	for i, name := range []string{"milk", "eggs", "sugar", "flour", "bread"} {
		tab += string(rune('0'+i)) + "\t" + name + "\n"
	}
	items, err := catalog.ReadTable(writeTemp(t, tab))
	if err != nil {
		t.Fatal(err)
	}
	r.items = items
	r.popular = []int{0, 4, 1}
	r.pool.New = func() any { return &scratch{b: graphnn.Builder{NumItems: 5, MaxItems: 3}} }
	return r
}

// fakeRunner scores item r as r, checking the request it gets.
type fakeRunner struct {
	t     *testing.T
	calls int
}

func (f *fakeRunner) Infer(_ context.Context, req repository.Request) ([]tensor.Tensor, error) {
	f.calls++
	if len(req.Inputs) != 4 || req.Outputs[0] != "scores" {
		f.t.Errorf("request %+v", req)
	}
	return []tensor.Tensor{tensor.FromSlice("scores", []int64{1, 5}, []float32{0, 1, 2, 3, 4})}, nil
}

func TestRecommend(t *testing.T) {
	r := testRecommender(t)
	cases := []struct {
		name     string
		cart     Cart
		wantIDs  []int64
		fallback bool
		unknown  int
		used     int
	}{
		{"excludes cart", Cart{Names: []string{"bread"}, K: 2}, []int64{3, 2}, false, 0, 1},
		{"exclude ids", Cart{IDs: []int64{4}, K: 2, Exclude: []int64{3}}, []int64{2, 1}, false, 0, 1},
		{"k capped", Cart{IDs: []int64{0}, K: 99}, []int64{4, 3, 2, 1}, false, 0, 1},
		{"empty is popular", Cart{K: 2}, []int64{0, 4}, true, 0, 0},
		{"unknown only", Cart{IDs: []int64{-1, 42}, Names: []string{"caviar"}, K: 1}, []int64{0}, true, 3, 0},
		{"popular skips cart", Cart{Names: []string{"caviar"}, K: 3, Exclude: []int64{4}}, []int64{0, 1}, true, 1, 0},
		{"long cart keeps last", Cart{IDs: []int64{4, 3, 2, 1, 0, 0}, K: 1}, nil, false, 0, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := r.Recommend(t.Context(), &fakeRunner{t: t}, tc.cart)
			if err != nil {
				t.Fatal(err)
			}
			if res.Fallback != tc.fallback || len(res.Unknown) != tc.unknown || res.Used != tc.used {
				t.Fatalf("result %+v", res)
			}
			if tc.wantIDs == nil {
				return
			}
			if len(res.Items) != len(tc.wantIDs) {
				t.Fatalf("items %+v, want ids %v", res.Items, tc.wantIDs)
			}
			for i, id := range tc.wantIDs {
				if res.Items[i].ID != id {
					t.Fatalf("items %+v, want ids %v", res.Items, tc.wantIDs)
				}
			}
		})
	}
	if _, err := r.Recommend(t.Context(), &fakeRunner{t: t}, Cart{K: -1}); !errors.Is(err, ErrInvalidCart) {
		t.Fatalf("k=-1: %v", err)
	}
}

func writeTemp(t *testing.T, body string) string {
	t.Helper()
	p := t.TempDir() + "/items.tsv"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
