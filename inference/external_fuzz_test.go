package inference

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzExternalRefs feeds arbitrary bytes to the model reader, which
// reads untrusted model files before the runtime does: it must return refs
// or an error, never panic or recurse without end. Seeds are the extdata
// models and an ordinary model.
func FuzzExternalRefs(f *testing.F) {
	for _, p := range []string{
		filepath.Join(extdataDir, "legit", "model.onnx"),
		filepath.Join(extdataDir, "escape", "model.onnx"),
		filepath.Join(extdataDir, "absolute", "model.onnx"),
		filepath.Join("..", "testdata", "onnx", "seq_sum.onnx"),
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
		for _, r := range g.refs {
			if len(r.Location) > len(data) || len(r.Tensor) > len(data) {
				t.Fatalf("ref %q/%q longer than the input", r.Tensor, r.Location)
			}
		}
	})
}
