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

// copyOptions are what a test changes in serveCopy's wiring; the zero
// value serves the copy as serve would, less its pollers.
type copyOptions struct {
	// newIndex builds the item indexes (nil: serve's newANNIndex).
	newIndex recommend.NewIndex
	// repoPoll is how often the repository is polled for new versions
	// (0: never; serve: --poll).
	repoPoll time.Duration
	// catalogPoll is how often the catalogue store polls its file (0: the
	// store reads it once; serve: catalog.DefaultInterval).
	catalogPoll time.Duration
}

// servedCopy is what serveCopy started: the copy's root, a client of its
// Personalization service and its catalogue store.
type servedCopy struct {
	root    string
	client  aislepb.PersonalizationClient
	catalog *catalog.Store
}

// serveCopy serves a copy of the default repository as aisle serve wires it
// (extensions, catalogue adapter, pipeline, Personalization service; not
// the Events service) on loopback, changed by opts. Stage budgets are
// raised to a minute so that a loaded test machine takes no timeout rung
// and answers stay comparable (tests hold no timed assertions). Everything
// it starts stops at the test's cleanup.
func serveCopy(t *testing.T, opts copyOptions) servedCopy {
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
	exts := extensions()
	if opts.newIndex != nil {
		exts[recommend.ItemsExtensionName] = recommend.ItemsExtension{NewIndex: opts.newIndex}
	}
	repo, err := repository.New(repository.Options{Root: root, Extensions: exts, Logger: log, Registerer: reg,
		Session: inference.SessionOptions{IntraOpThreads: 1, InterOpThreads: 1}})
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var pollers sync.WaitGroup // the repository's and the catalogue's pollers
	lctx, lcancel := context.WithTimeout(ctx, time.Minute)
	defer lcancel()
	if err := repo.Load(lctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	if opts.repoPoll > 0 {
		pollers.Go(func() { repo.Poll(ctx, opts.repoPoll) })
	}
	t.Cleanup(func() {
		cancel()
		pollers.Wait()
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		if err := repo.Close(cctx); err != nil {
			t.Errorf("close repository: %v", err)
		}
	})
	store, err := catalog.Open(catalog.StoreOptions{Path: filepath.Join(root, catalog.DefaultFile),
		Interval: opts.catalogPoll, Logger: log, Registerer: reg})
	must(t, err)
	if opts.catalogPoll > 0 {
		pollers.Go(func() { _ = store.Run(ctx) })
	}
	cat, err := newCatalogAdapter(store)
	must(t, err)
	pipe, _, err := newPipeline(root, repo, pipelineDeps{catalog: cat}, reg, log)
	must(t, err)
	srv := server.New(server.Config{}, repo, reg, log,
		server.NewPersonalization(repo, server.PersonalizationConfig{Pipeline: pipe}))
	conn := servetest.Serve(t, srv)
	return servedCopy{root: root, client: aislepb.NewPersonalizationClient(conn), catalog: store}
}
