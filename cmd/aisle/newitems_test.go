package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/inference"
	"github.com/aisle-ai/aisle/internal/servetest"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	"github.com/aisle-ai/aisle/recommend"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/server"
)

// sparklingWater is the product a retailer adds: an aisle the cart model
// knows (non-alc. drinks), a name sharing "water" with bottled water, so
// A13's rule gives it bottled water's vector (S1).
const sparklingWater = `{"id":"9001","name":"sparkling water","category":"sparkling water","aisle":"non-alc. drinks","department":"drinks","price":0.59,"stock":100}` + "\n"

// serveFollowingCatalog serves a copy of the default repository as aisle
// serve wires it (extensions, catalogue adapter, pipeline, Personalization
// service) with its catalogue store polling the file every 10 ms (serve:
// every 5 s), stage budgets raised to a minute (no timed assertions). It
// returns the repository's root, the client and the catalogue store.
func serveFollowingCatalog(t *testing.T) (string, aislepb.PersonalizationClient, *catalog.Store) {
	t.Helper()
	must(t, inference.Init(ortLib(t)))
	t.Cleanup(func() { _ = inference.Shutdown() }) // after the repository's and server's cleanups
	root := t.TempDir()
	must(t, os.CopyFS(root, os.DirFS(filepath.Join("..", "..", "models"))))
	surfaces := filepath.Join(root, recommend.SurfacesFile)
	data, err := os.ReadFile(surfaces)
	must(t, err)
	data = regexp.MustCompile(`budgets: \{[^}]*\}`).ReplaceAll(data,
		[]byte("budgets: {features: 1m, embeddings: 1m, candidates: 1m, slate: 1m}"))
	servetest.WriteFile(t, surfaces, data)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	repo, err := repository.New(repository.Options{Root: root, Extensions: extensions(), Logger: log, Registerer: reg,
		Session: inference.SessionOptions{IntraOpThreads: 1, InterOpThreads: 1}})
	must(t, err)
	lctx, lcancel := context.WithTimeout(t.Context(), time.Minute)
	defer lcancel()
	must(t, repo.Load(lctx))
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		if err := repo.Close(cctx); err != nil {
			t.Errorf("close repository: %v", err)
		}
	})
	store, err := catalog.Open(catalog.StoreOptions{Path: filepath.Join(root, catalog.DefaultFile),
		Interval: 10 * time.Millisecond, Logger: log, Registerer: reg})
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var polled sync.WaitGroup
	polled.Go(func() { _ = store.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		polled.Wait()
	})
	cat, err := newCatalogAdapter(store)
	must(t, err)
	pipe, _, err := newPipeline(root, repo, pipelineDeps{catalog: cat}, reg, log)
	must(t, err)
	srv := server.New(server.Config{}, repo, reg, log,
		server.NewPersonalization(repo, server.PersonalizationConfig{Pipeline: pipe}))
	conn := servetest.Serve(t, srv)
	return root, aislepb.NewPersonalizationClient(conn), store
}

// TestNewProductServedBeforeRetrain: through the real server on loopback,
// the shipped home surface (which lists a new_items source) returns no
// new_items item for the default catalogue (every item has a vector);
// after a product is appended to the catalogue file and the store reloads
// it, the same request returns that product with source new_items.
func TestNewProductServedBeforeRetrain(t *testing.T) {
	root, client, store := serveFollowingCatalog(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	req := &aislepb.RecommendRequest{Surface: "home", Cart: []string{"bottled beer", "soda"}, K: 10}
	sources := func() map[string]string {
		t.Helper()
		resp, err := client.Recommend(ctx, req)
		must(t, err)
		out := map[string]string{}
		for _, it := range resp.Items {
			out[it.Id] = it.Source
		}
		return out
	}
	for id, src := range sources() {
		if src == recommend.SourceNewItems {
			t.Fatalf("item %s from new_items on the default catalogue", id)
		}
	}

	path := filepath.Join(root, catalog.DefaultFile)
	data, err := os.ReadFile(path)
	must(t, err)
	before := store.Catalog()
	servetest.WriteFile(t, path, append(data, sparklingWater...))
	waitSwap(ctx, t, "the catalogue reload", func() bool { return store.Catalog() != before })
	if _, ok := store.Catalog().Item("9001"); !ok {
		t.Fatal("the reloaded catalogue lacks the new product")
	}
	if src, ok := sources()["9001"]; !ok || src != recommend.SourceNewItems {
		t.Fatalf("new product: returned %v, source %q; want source new_items", ok, src)
	}
}
