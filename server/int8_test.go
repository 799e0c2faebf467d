package server

import (
	"os"
	"path/filepath"
	"testing"

	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
)

// int8Model is the INT8 dynamic-quantization export of an encoder,
// written beside model.onnx by scripts/encoder/quantize.py.
const int8Model = "model.int8.onnx"

// TestEmbedQueryINT8 serves each encoder's INT8 export through the config
// switch an operator uses (default_model_filename: model.int8.onnx) and
// checks its embeddings of the golden texts against the FP32 model's torch
// goldens: quantizing the weights to int8 and the activations to uint8
// moves each vector a little, not its direction. Measured: cosine mean
// 0.999996, minimum 0.999989 on both the committed Groceries encoder and
// the Instacart one; the bounds leave room for another training run.
func TestEmbedQueryINT8(t *testing.T) {
	for _, dir := range encoderDirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(dir, "1", int8Model)); err != nil {
				t.Skipf("%s has no %s (scripts/encoder/quantize.py)", dir, int8Model)
			}
			root := t.TempDir()
			name := filepath.Base(dir)
			copyDir(t, dir, filepath.Join(root, name))
			cfgPath := filepath.Join(root, name, "config.yaml")
			cfg, err := os.ReadFile(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			cfg = append([]byte("default_model_filename: "+int8Model+"\n"), cfg...)
			if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
				t.Fatal(err)
			}
			ts := startServerWith(t, root, func(repo Repository) []Service {
				return []Service{NewPersonalization(repo, PersonalizationConfig{})}
			})
			c := aislepb.NewPersonalizationClient(ts.conn)
			golden := readGoldenEmbeddings(t, filepath.Join(dir, "golden_embeddings.jsonl"))
			texts := make([]string, len(golden))
			for i, g := range golden {
				texts[i] = g.Text
			}
			resp, err := c.EmbedQuery(testCtx(t), &aislepb.EmbedQueryRequest{Model: name, Texts: texts})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Embeddings) != len(golden) {
				t.Fatalf("got %d embeddings for %d texts", len(resp.Embeddings), len(golden))
			}
			sum, lo := 0.0, 1.0
			for i, g := range golden {
				c := cosine(resp.Embeddings[i].Values, g.Embedding)
				sum += c
				lo = min(lo, c)
				if c < 0.999 {
					t.Errorf("%q: INT8 vs FP32 cosine %.4f", g.Text, c)
				}
			}
			// One text per call runs alone in its batch, as the emulation
			// behind the quality figures (scripts/encoder/quantize.py) did:
			// ONNX Runtime's INT8 kernels must compute the same thing.
			// Measured: max abs difference 2.5e-7 (INT8 vs FP32: 1e-3).
			if emu := filepath.Join(dir, "golden_embeddings.int8.jsonl"); fileExists(emu) {
				for _, g := range readGoldenEmbeddings(t, emu) {
					r, err := c.EmbedQuery(testCtx(t), &aislepb.EmbedQueryRequest{Model: name, Texts: []string{g.Text}})
					if err != nil {
						t.Fatal(err)
					}
					if d := maxAbsDiff(r.Embeddings[0].Values, g.Embedding); d > 1e-4 {
						t.Errorf("%q: served INT8 differs from the emulated INT8 by %.3g", g.Text, d)
					}
				}
			}
			mean := sum / float64(len(golden))
			t.Logf("INT8 vs FP32 cosine over %d golden texts: mean %.6f, min %.6f", len(golden), mean, lo)
			if mean < 0.9995 {
				t.Errorf("INT8 vs FP32 mean cosine %.6f < 0.9995", mean)
			}
		})
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
