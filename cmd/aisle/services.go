package main

import (
	"log/slog"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/cart"
	"github.com/aisle-ai/aisle/embedding"
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
		recommend.ItemsExtensionName: recommend.ItemsExtension{},
	}
}

// services returns aisle's own gRPC services.
func services(repo *repository.Manager, lim server.Limits, pipe server.Pipeline, events *server.Events) []server.Service {
	return []server.Service{server.NewPersonalization(repo, server.PersonalizationConfig{Limits: lim, Pipeline: pipe}), events}
}

// newPipeline builds the recommendation pipeline over the repository and
// its surfaces file. Its collaborators are the in-memory stand-ins until
// the feature store, catalogue, lexical index and bandit are plugged in
// here; impressions go to an in-memory log of the last impressionCap.
func newPipeline(models string, repo *repository.Manager, reg prometheus.Registerer, log *slog.Logger) (*recommend.Pipeline, *recommend.SurfaceStore, error) {
	store, err := recommend.NewSurfaceStore(filepath.Join(models, recommend.SurfacesFile), log)
	if err != nil {
		return nil, nil, err
	}
	const impressionCap = 1000
	pipe := recommend.New(repo, store, recommend.Options{
		Events: &recommend.MemoryEventLog{Cap: impressionCap}, Logger: log, Registerer: reg,
	})
	return pipe, store, nil
}
