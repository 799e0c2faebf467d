package cart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aisle-ai/aisle/repository"
)

// TestNewReadsDeclaredShapes: scores, num_items and embedding_dim are read
// and checked against the model's outputs and item table.
func TestNewReadsDeclaredShapes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "items.tsv"), []byte("id\tname\n0\ta\n1\tb\n2\tc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		params  string
		wantErr string
	}{
		{`{items: items, num_items: "3", embedding_dim: "4", scores: dot}`, ""},
		{`{items: items, scores: log_prob}`, ""},
		{`{items: items, scores: cosine}`, `parameter scores "cosine": want dot or log_prob`},
		{`{items: items, num_items: "169"}`, "parameter num_items is 169 but the item table's items is 3"},
		{`{items: items, embedding_dim: "64"}`, "parameter embedding_dim is 64 but the session output's size is 4"},
		{`{items: items, embedding_dim: x}`, `parameter embedding_dim "x" must be an integer`},
	} {
		cfg, err := repository.ParseConfig([]byte("max_batch_size: 8\noutputs: [{name: session, data_type: FP32, dims: [4]}, {name: scores, data_type: FP32, dims: [3]}]\nparameters: " + tc.params))
		if err != nil {
			t.Fatal(err)
		}
		r, err := New(dir, cfg)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.params, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: got %v, want %q", tc.params, err, tc.wantErr)
		case err == nil && r.SessionDim() != 4:
			t.Errorf("%s: session dim %d", tc.params, r.SessionDim())
		}
	}
}

// TestNewZeroDimOutputs: an output with no dims in the config (a scalar,
// or one value per batch row under max_batch_size) is refused or ignored,
// never a panic: loading ran in the repository's goroutine, where an index
// out of range ended the server.
func TestNewZeroDimOutputs(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "items.tsv"), []byte("id\tname\n0\ta\n1\tb\n2\tc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		outputs string
		wantErr string
	}{
		{`[{name: scores, data_type: FP32, dims: [3]}, {name: length, data_type: INT64, dims: []}]`, ""},
		{`[{name: scores, data_type: FP32, dims: [3]}, {name: session, data_type: FP32, dims: []}]`, ""},
		{`[{name: scores, data_type: FP32, dims: []}]`, "output scores has no item dimension"},
	} {
		cfg, err := repository.ParseConfig([]byte("max_batch_size: 8\noutputs: " + tc.outputs + "\nparameters: {items: items}"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = New(dir, cfg)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.outputs, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: got %v, want %q", tc.outputs, err, tc.wantErr)
		}
	}
}
