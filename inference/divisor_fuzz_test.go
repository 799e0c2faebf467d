package inference

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzInspectDivisions feeds arbitrary bytes to the graph reader and the
// division inspection, which read untrusted model files before the
// runtime does: they must return guards or an error, never panic or
// recurse without end. Seeds: the served cart model (integer divisions by
// constants) and small test models.
func FuzzInspectDivisions(f *testing.F) {
	for _, p := range []string{
		filepath.Join("..", "models", "cart-gnn", "1", "model.onnx"),
		filepath.Join("..", "testdata", "onnx", "seq_sum.onnx"),
		filepath.Join("..", "testdata", "onnx", "two_inputs.onnx"),
	} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := parseGraph(data)
		if err != nil {
			return
		}
		guards, err := inspectDivisions(g)
		if err != nil {
			return
		}
		for _, g := range guards {
			if g.Input == "" || !(g.Zero || g.MinusOne || g.Min) {
				t.Fatalf("guard %+v checks nothing", g)
			}
		}
	})
}
