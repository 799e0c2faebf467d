package cart

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aisle-ai/aisle/internal/servetest"
	"github.com/aisle-ai/aisle/repository"
)

// TestEnsembleBadSessionsKeepsServing: a reload whose sessions file names
// an item the table lacks refuses the new version with a message naming
// the file and line, and the version already serving keeps answering with
// its ensemble.
func TestEnsembleBadSessionsKeepsServing(t *testing.T) {
	root := t.TempDir()
	servetest.CopyModel(t, root, "cart-gnn", nil)
	repo := servetest.Repository(t, root, servetest.Options{
		Extensions: map[string]repository.Extension{ExtensionName: Extension{}}})
	v1 := repo.Version(t, "cart-gnn")
	if r, ok := repository.PipelineOf[*Recommender](v1); !ok || !r.Blends() {
		t.Fatal("models/cart-gnn does not serve the ensemble")
	}

	dir := filepath.Join(root, "cart-gnn")
	servetest.WriteFile(t, filepath.Join(dir, "bad.txt"), []byte("# bad\n1 2\n3 999\n"))
	cfg, err := os.ReadFile(filepath.Join(dir, repository.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(cfg), "ensemble_sessions: sessions.txt", "ensemble_sessions: bad.txt", 1)
	if edited == string(cfg) {
		t.Fatal("config has no ensemble_sessions: sessions.txt line")
	}
	servetest.WriteFile(t, filepath.Join(dir, repository.ConfigFile), []byte(edited))
	if err := os.CopyFS(filepath.Join(dir, "2"), os.DirFS(filepath.Join(dir, "1"))); err != nil {
		t.Fatal(err)
	}
	_ = repo.Manager.LoadModel(context.Background(), "cart-gnn")

	var reason string
	for _, e := range repo.Manager.Index() {
		if e.Name == "cart-gnn" && e.Version == "2" {
			reason = e.Reason
		}
	}
	if !strings.Contains(reason, "bad.txt line 3: item 999 is not in the item table") || strings.Contains(reason, root) {
		t.Errorf("version 2's refusal: %q", reason)
	}
	v, err := repo.Manager.Get("cart-gnn", "")
	if err != nil {
		t.Fatalf("no version serving after the bad reload: %v", err)
	}
	defer v.Release()
	r, ok := repository.PipelineOf[*Recommender](v)
	if !ok || !r.Blends() {
		t.Fatalf("serving version %d lost its ensemble", v.Number)
	}
	res, err := r.Recommend(context.Background(), v, Cart{Names: []string{"whole milk"}, K: 5})
	if err != nil || len(res.Items) != 5 {
		t.Fatalf("serving version %d: %v, %v", v.Number, res, err)
	}
}
