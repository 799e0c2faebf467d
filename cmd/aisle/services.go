package main

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/cart"
	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/embedding"
	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest"
	"github.com/aisle-ai/aisle/recommend"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/server"
)

// extensions returns the pre/post-processing pipelines a model config can
// ask for; a config parameter none of them reads refuses the version.
func extensions() map[string]repository.Extension {
	return map[string]repository.Extension{
		embedding.ExtensionName:      embedding.Extension{},
		cart.ExtensionName:           cart.Extension{},
		recommend.ItemsExtensionName: recommend.ItemsExtension{NewIndex: newANNIndex},
	}
}

// services returns aisle's own gRPC services.
// logOpen logs unauthenticated Recommend answers (--recommend-log-open).
func services(repo *repository.Manager, lim server.Limits, pipe server.Pipeline, events *server.Events, logOpen bool) []server.Service {
	return []server.Service{server.NewPersonalization(repo, server.PersonalizationConfig{Limits: lim, Pipeline: pipe, RecommendLogOpen: logOpen}), events}
}

// pipelineDeps are the real components newPipeline plugs in; a nil one
// switches its part off visibly (recommend.Options).
type pipelineDeps struct {
	catalog  *catalogAdapter // attributes and economics, hybrid search's text signals
	features *guest.Reader   // guest affinities, --features-timeout per read
	bandits  *bandit.Bandits // slates of the surfaces it names
	events   event.Log       // impressions, one IMPRESSION event per slot
	// observer joins the logged impressions for the bandits (nil: none).
	observer server.EventObserver
}

// newPipeline builds the recommendation pipeline over the repository, its
// surfaces file and the real components of deps.
func newPipeline(models string, repo *repository.Manager, deps pipelineDeps, reg prometheus.Registerer, log *slog.Logger) (*recommend.Pipeline, *recommend.SurfaceStore, error) {
	store, err := recommend.NewSurfaceStore(filepath.Join(models, recommend.SurfacesFile), log)
	if err != nil {
		return nil, nil, err
	}
	opts := recommend.Options{Logger: log, Registerer: reg}
	if deps.catalog != nil {
		opts.Catalog, opts.Text = deps.catalog, text{deps.catalog}
	}
	if deps.features != nil {
		opts.Features = guestFeatures{deps.features}
	}
	if deps.bandits != nil {
		opts.Bandit = sourceBandit{deps.bandits}
	}
	if deps.events != nil {
		opts.Events = impressionLog{log: deps.events, bandits: deps.bandits, observer: deps.observer}
	}
	return recommend.New(repo, store, opts), store, nil
}

// openCatalog opens the repository's catalogue (catalog.DefaultFile at its
// root); nil and no error when the repository has none. interval 0 takes
// the store's default; reg may be nil.
func openCatalog(models string, log *slog.Logger, reg prometheus.Registerer) (*catalogAdapter, error) {
	path := filepath.Join(models, catalog.DefaultFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	s, err := catalog.Open(catalog.StoreOptions{Path: path, Logger: log, Registerer: reg})
	if err != nil {
		return nil, err
	}
	return newCatalogAdapter(s)
}

// banditsFile is the bandit config serve reads from the repository when
// --bandits is empty, beside surfaces.yaml and catalog.jsonl.
const banditsFile = "bandits.yaml"

// banditsPath is --bandits, else the repository's bandits.yaml if present.
func banditsPath(flag, models string) string {
	if flag != "" {
		return flag
	}
	p := filepath.Join(models, banditsFile)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}
