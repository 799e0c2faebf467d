package server

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
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
// to size buckets, scores the golden top items the same.
func TestGNNGoldenSessions(t *testing.T) {
	rc := startPersonalization(t, "cart-gnn")
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
