package main

import (
	"github.com/aisle-ai/aisle/embedding"
	"github.com/aisle-ai/aisle/recommend"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/server"
)

// extensions returns the pre/post-processing pipelines a model config can
// ask for.
func extensions() map[string]repository.Extension {
	return map[string]repository.Extension{
		embedding.ExtensionName: embedding.Extension{},
		recommend.ExtensionName: recommend.Extension{},
	}
}

// services returns aisle's own gRPC services.
func services(repo *repository.Manager, events *server.Events) []server.Service {
	return []server.Service{server.NewPersonalization(repo, server.PersonalizationConfig{}), events}
}
