package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aisle-ai/aisle/internal/servetest"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
)

// startGNNOnly serves models/cart-gnn without its ensemble_* parameters:
// RecommendCart then ranks by the GNN's own scores.
func startGNNOnly(t *testing.T) recommendClient {
	t.Helper()
	root := t.TempDir()
	servetest.CopyModel(t, root, "cart-gnn", servetest.WithoutParameters(
		"ensemble_sessions", "ensemble_weights", "ensemble_knn_k", "ensemble_cooccurrence"))
	ts := startServerWith(t, root, func(repo Repository) []Service {
		return []Service{NewPersonalization(repo, PersonalizationConfig{})}
	})
	return recommendClient{ts: ts, c: aislepb.NewPersonalizationClient(ts.conn)}
}

// TestEnsembleGolden checks served = evaluated for the A11 ensemble: the
// top 20 RecommendCart serves for held-out Groceries carts (models/cart-gnn
// with its ensemble_* parameters, GNN through ONNX Runtime) equals the top
// 20 of scripts/eval/run_ensemble.py's Blend, written by
// scripts/eval/ensemble_golden.py (60 carts committed; AISLE_ENSEMBLE_GOLDEN
// names a larger one).
func TestEnsembleGolden(t *testing.T) {
	path := filepath.Join("..", "cart", "testdata", "ensemble_golden.json")
	if p := os.Getenv("AISLE_ENSEMBLE_GOLDEN"); p != "" {
		path = p // a larger one from ensemble_golden.py --n --out
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Cases []struct {
			Cart   []int64   `json:"cart"`
			Top20  []int64   `json:"top20"`
			Scores []float64 `json:"scores"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Cases) < 50 {
		t.Fatalf("golden has %d carts, want >= 50", len(golden.Cases))
	}
	rc := startPersonalization(t, "cart-gnn")
	ctx := testCtx(t)
	for _, g := range golden.Cases {
		resp, err := rc.c.RecommendCart(ctx, &aislepb.RecommendCartRequest{ItemIds: g.Cart, K: 20})
		if err != nil {
			t.Fatal(err)
		}
		got := make([]int64, len(resp.Items))
		for i, it := range resp.Items {
			got[i] = it.Id
		}
		if !slices.Equal(got, g.Top20) {
			t.Errorf("cart %v: served %v, evaluated %v", g.Cart, got, g.Top20)
			for i, it := range resp.Items {
				if i < len(g.Scores) {
					t.Logf("  %d: served %d %.9f evaluated %d %.9f", i, it.Id, it.Score, g.Top20[i], g.Scores[i])
				}
			}
		}
	}
}
