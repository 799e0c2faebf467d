package repository

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestScanRootSkipsFiles pins what lets the catalogue (models/catalog.jsonl)
// and its notes live at the repository root: only directories are models, so
// such files never appear as a model that fails to load and readiness is
// untouched by them.
func TestScanRootSkipsFiles(t *testing.T) {
	root := t.TempDir()
	for _, dir := range []string{"cart-gnn", ".hidden"} {
		if err := os.Mkdir(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"catalog.jsonl", "CATALOG.md", "surfaces.yaml"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("{}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	names, err := scanRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"cart-gnn"}) {
		t.Errorf("scanRoot = %v, want [cart-gnn]", names)
	}
}
