package graphnn

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// graphGolden is one line of graph_golden.jsonl (scripts/gnn/golden.py).
type graphGolden struct {
	Name  string        `json:"name"`
	Carts [][]int64     `json:"carts"`
	Items [][]int64     `json:"items"`
	A     [][][]float64 `json:"A"`
	Alias [][]int64     `json:"alias"`
	Mask  [][]int64     `json:"mask"`
}

// readJSONL decodes every line of path into a T.
func readJSONL[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open golden: %v", err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s line %d: %v", path, len(out)+1, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return out
}

// compareGolden checks b against g element by element, A bit for bit.
func compareGolden(g *graphGolden, b *Batch) error {
	size, nodes, seq := len(g.Items), len(g.Items[0]), len(g.Alias[0])
	if b.Size != size || b.Nodes != nodes || b.SeqLen != seq {
		return fmt.Errorf("shape (size, n_node, seq) = (%d, %d, %d), want (%d, %d, %d)",
			b.Size, b.Nodes, b.SeqLen, size, nodes, seq)
	}
	if len(b.Items) != size*nodes || len(b.A) != size*nodes*2*nodes ||
		len(b.Alias) != size*seq || len(b.Mask) != size*seq {
		return fmt.Errorf("slice lengths %d/%d/%d/%d do not match the shape",
			len(b.Items), len(b.A), len(b.Alias), len(b.Mask))
	}
	for i := range size {
		for j := range nodes {
			if got, want := b.Items[i*nodes+j], g.Items[i][j]; got != want {
				return fmt.Errorf("items[%d][%d] = %d, want %d", i, j, got, want)
			}
			for k := range 2 * nodes {
				got := b.A[(i*nodes+j)*2*nodes+k]
				want := float32(g.A[i][j][k])
				if math.Float32bits(got) != math.Float32bits(want) {
					return fmt.Errorf("A[%d][%d][%d] = %g, want %g", i, j, k, got, want)
				}
			}
		}
		for p := range seq {
			if got, want := b.Alias[i*seq+p], g.Alias[i][p]; got != want {
				return fmt.Errorf("alias[%d][%d] = %d, want %d", i, p, got, want)
			}
			if got, want := b.Mask[i*seq+p], g.Mask[i][p]; got != want {
				return fmt.Errorf("mask[%d][%d] = %d, want %d", i, p, got, want)
			}
		}
	}
	return nil
}

func TestBuildMatchesGolden(t *testing.T) {
	golden := readJSONL[graphGolden](t, filepath.Join("testdata", "graph_golden.jsonl"))
	if len(golden) < 500 {
		t.Fatalf("graph_golden.jsonl has %d records, want >= 500", len(golden))
	}
	// One Builder and one Batch for all records: also checks that reused
	// buffers never leak values from a previous, larger batch.
	b := Builder{NumItems: 169, MaxItems: 50}
	var dst Batch
	for _, g := range golden {
		t.Run(g.Name, func(t *testing.T) {
			if err := b.Build(g.Carts, &dst); err != nil {
				t.Fatalf("Build: %v", err)
			}
			if err := compareGolden(&g, &dst); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestBuildMatchesLocalGoldens checks the git-ignored goldens that golden.py
// writes for Instacart and Diginetica (their data may not be committed).
func TestBuildMatchesLocalGoldens(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "build", "gnn", "*", "graph_golden.jsonl"))
	if len(paths) == 0 {
		t.Skip("no build/gnn/*/graph_golden.jsonl (run scripts/gnn/train.sh)")
	}
	var b Builder
	var dst Batch
	for _, p := range paths {
		for _, g := range readJSONL[graphGolden](t, p) {
			if err := b.Build(g.Carts, &dst); err != nil {
				t.Fatalf("%s %s: Build: %v", p, g.Name, err)
			}
			if err := compareGolden(&g, &dst); err != nil {
				t.Fatalf("%s %s: %v", p, g.Name, err)
			}
		}
	}
}
