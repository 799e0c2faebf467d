package server

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aisle-ai/aisle/graphnn"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/tensor"
)

type goldenSession struct {
	Cart    []int64      `json:"cart"`
	Session []float32    `json:"session"`
	Top10   [][2]float64 `json:"top10"`
}

func readGoldenSessions(t *testing.T) []goldenSession {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "graphnn", "testdata", "session_golden.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []goldenSession
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		var g goldenSession
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
	}
	return out
}

// TestGNNGoldenSessions sends each golden cart's graph tensors through
// KServe ModelInfer (the GNN as a plain model) and compares the session
// embedding with torch's; then checks RecommendCart, whose graphs are padded
// to size buckets, scores the golden top items the same (the GNN alone:
// the ensemble's scores are blended ranks, see TestEnsembleGolden).
func TestGNNGoldenSessions(t *testing.T) {
	rc := startGNNOnly(t)
	ctx := testCtx(t)
	var b graphnn.Builder
	var batch graphnn.Batch
	for _, g := range readGoldenSessions(t) {
		if err := b.Build([][]int64{g.Cart}, &batch); err != nil {
			t.Fatal(err)
		}
		is, as, ss := batch.ItemsShape(), batch.AShape(), batch.SeqShape()
		raw := [][]byte{tensor.AsBytes(batch.Items), tensor.AsBytes(batch.A), tensor.AsBytes(batch.Alias), tensor.AsBytes(batch.Mask)}
		resp, err := rc.ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "cart-gnn",
			Inputs: []*pb.ModelInferRequest_InferInputTensor{
				{Name: "items", Datatype: "INT64", Shape: is[:]}, {Name: "A", Datatype: "FP32", Shape: as[:]},
				{Name: "alias", Datatype: "INT64", Shape: ss[:]}, {Name: "mask", Datatype: "INT64", Shape: ss[:]}},
			Outputs:          []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: "session"}},
			RawInputContents: raw})
		if err != nil {
			t.Fatalf("cart %v: %v", g.Cart, err)
		}
		if d := maxAbsDiff(tensor.View[float32](resp.RawOutputContents[0]), g.Session); d > 1e-4 {
			t.Errorf("cart %v: session differs from torch by %g", g.Cart, d)
		}

		rec, err := rc.c.RecommendCart(ctx, &aislepb.RecommendCartRequest{ItemIds: g.Cart, K: 1000})
		if err != nil {
			t.Fatal(err)
		}
		scores := map[int64]float32{}
		for _, it := range rec.Items {
			scores[it.Id] = it.Score
		}
		for _, top := range g.Top10 {
			if s, ok := scores[int64(top[0])]; ok && math.Abs(float64(s)-top[1]) > 1e-4 {
				t.Errorf("cart %v: item %v scored %v, torch %v", g.Cart, top[0], s, top[1])
			}
		}
	}
}

// TestGNNBeatsPopularity checks the shipped cart model on the held-out
// Groceries carts (testdata/groceries, made by scripts/gnn/export_holdout.py):
// its HR@10 must beat the most-popular baseline, which the test computes
// itself from the training baskets.
func TestGNNBeatsPopularity(t *testing.T) {
	var hold struct {
		TestLines []int `json:"test_lines"`
		Cases     []struct {
			Cart   []int64 `json:"cart"`
			Target int64   `json:"target"`
		} `json:"cases"`
	}
	data, err := os.ReadFile(filepath.Join("..", "testdata", "groceries", "holdout.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &hold); err != nil {
		t.Fatal(err)
	}
	pop := trainPopularity(t, hold.TestLines)
	rc := startPersonalization(t, "cart-gnn")
	ctx := testCtx(t)
	gnnHits, popHits := 0, 0
	for _, c := range hold.Cases {
		resp, err := rc.c.RecommendCart(ctx, &aislepb.RecommendCartRequest{ItemIds: c.Cart, K: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range resp.Items {
			if it.Id == c.Target {
				gnnHits++
			}
		}
		if popularHit(pop, c.Cart, c.Target, 10) {
			popHits++
		}
	}
	n := float64(len(hold.Cases))
	t.Logf("HR@10 on %d held-out carts: GNN %.4f, most popular %.4f", len(hold.Cases), float64(gnnHits)/n, float64(popHits)/n)
	if gnnHits <= popHits {
		t.Fatalf("GNN HR@10 %.4f does not beat popularity %.4f", float64(gnnHits)/n, float64(popHits)/n)
	}
}

// trainPopularity returns Groceries item ids by basket count over the
// baskets outside the test split, most popular first.
func trainPopularity(t *testing.T, testLines []int) []int64 {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "groceries", "groceries.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	test := map[int]bool{}
	for _, l := range testLines {
		test[l] = true
	}
	var baskets [][]string
	names := map[string]bool{}
	sc := bufio.NewScanner(f)
	for line := 0; sc.Scan(); line++ {
		items := strings.Split(sc.Text(), ",")
		for _, it := range items {
			names[it] = true
		}
		if !test[line] {
			baskets = append(baskets, items)
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted) // byte order: the Groceries id rule
	id := map[string]int64{}
	for i, n := range sorted {
		id[n] = int64(i)
	}
	counts := make([]int, len(sorted))
	for _, b := range baskets {
		seen := map[string]bool{}
		for _, it := range b {
			if !seen[it] {
				seen[it] = true
				counts[id[it]]++
			}
		}
	}
	order := make([]int64, len(sorted))
	for i := range order {
		order[i] = int64(i)
	}
	sort.SliceStable(order, func(i, j int) bool { return counts[order[i]] > counts[order[j]] })
	return order
}

// popularHit reports whether target is among the k most popular items not
// in the cart.
func popularHit(pop, cart []int64, target int64, k int) bool {
	in := map[int64]bool{}
	for _, c := range cart {
		in[c] = true
	}
	for _, id := range pop {
		if k == 0 {
			return false
		}
		if in[id] {
			continue
		}
		if id == target {
			return true
		}
		k--
	}
	return false
}
