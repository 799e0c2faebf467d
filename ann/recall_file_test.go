package ann

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aisle-ai/aisle/catalog"
)

// TestRecallFile measures the graph's recall@200 against exact search on
// item and query vectors read from files, as aisle serve builds the index
// (Config{Metric: Dot}, everything else default: a graph above
// DefaultFlatBelow items, a query's ef raised to its K). It answers how far
// the hybrid search's served cosine list (K = C = 200, recommend's
// hybridTop) is from the exact list the evaluation takes (MODELS.md,
// "Hybrid search"). Skipped unless AISLE_ANN_RECALL names the two files,
// "items.f32,queries.f32" (catalog.ReadMatrix's format; paths relative to
// ann/), for instance the Instacart encoder's, written to build/ by
// scripts/eval/ann_recall_vectors.py (derived from Instacart, so never
// committed).
func TestRecallFile(t *testing.T) {
	spec := os.Getenv("AISLE_ANN_RECALL")
	if spec == "" {
		t.Skip("AISLE_ANN_RECALL unset")
	}
	paths := strings.Split(spec, ",")
	if len(paths) != 2 {
		t.Fatalf("AISLE_ANN_RECALL %q: want items.f32,queries.f32", spec)
	}
	items, err := catalog.ReadMatrix(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	qs, err := catalog.ReadMatrix(paths[1])
	if err != nil {
		t.Fatal(err)
	}
	if qs.Dim != items.Dim {
		t.Fatalf("queries are %d-d, items %d-d", qs.Dim, items.Dim)
	}
	const k = 200
	ix := mustBuild(t, items.Data, items.Dim, Config{Metric: Dot})
	ex := mustBuild(t, items.Data, items.Dim, Config{Metric: Dot, Kind: Flat})
	if ix.Exact() {
		t.Fatalf("%d items are searched exactly: no graph to measure", items.Rows)
	}
	per := make([]float64, 0, qs.Rows)
	for _, q := range rows(qs.Data, qs.Dim) {
		per = append(per, recall(t, ix, ex, [][]float32{q}, k, func() Query { return Query{} }))
	}
	slices.Sort(per)
	mean := 0.0
	for _, r := range per {
		mean += r / float64(len(per))
	}
	t.Logf("%d items × %d-d, %d queries: recall@%d mean %.4f, min %.4f, p1 %.4f, p10 %.4f, median %.4f",
		items.Rows, items.Dim, len(per), k, mean, per[0], per[len(per)/100], per[len(per)/10], per[len(per)/2])
}
